# size: one benchmark: denoise the validation noises, search two-net gates, blends and bands, report
"""Choose how to combine prior candidates by the estimated noise level (validation only).

The second stages of the grey prior (``benchmarks/train_prior.py --init``) moved PSNR between
noise levels instead of adding it: one gains at low and middle sigma, another at high sigma
(``prior_validation.json``). This script measures, on the validation images of
``benchmarks/prior_validation.py`` (scikit-image sample images, in no test set), whether
picking the net per image from its estimated noise level keeps the gains of both:

- every candidate denoises the same noisy crops (Gaussian sigma 5, 10, ..., 50 on the 0-255
  scale, and Poisson lambda 10, 30, 100 photons at intensity 1; one pass, no self-ensemble),
  and the noise level of every noisy crop is estimated from the crop alone
  (``noise2x.noise.estimate.estimate_sigma``: wavelet MAD, 0-255 scale);
- a **gate** at threshold T uses the ``low`` candidate when the estimate is below T and the
  ``high`` one otherwise; a **blend** mixes the two outputs with a weight ramped linearly
  from 0 to 1 between T0 and T1 (two passes, one per net);
- with ``--bands A,B,C,...`` (candidate names from low to high noise; a name may come back),
  a **banded gate** at thresholds T1 < T2 < ... uses A below T1, B from T1 to T2, and so on
  (a hard switch; every increasing tuple of thresholds from 2 to 60 is tried); ``--bands``
  may be repeated with other orders of the candidates: each order's best gate is a row of
  the table, and the order with the best mean is chosen;
- with ``--fmd``, the first raw captures of FMD fields 15 and 16 (the validation fields of
  ``benchmarks/real_fmd.py``, real microscope noise; against their avg50) are one more noise,
  ``fmd``, so that the gate is also chosen for real noise;
- T (T1, T2, ...; T0, T1 of the blend) are chosen to maximise the mean PSNR over every noise
  and image.

Usage::

    python benchmarks/prior_gate.py grey shipped=src/noise2x/weights/prior_grey.safetensors \
        low=RUN_A/best.ckpt high=RUN_B/best.ckpt --low low --high high
    W=src/noise2x/weights   # this run's table: the nets shipped before the 128x128-crop stages
    R=runs                  # of every band (new candidates: best.ckpt of train_prior's runs)
    python benchmarks/prior_gate.py grey grey=$W/prior_grey.safetensors \
        low=$W/prior_grey_low.safetensors mid=$W/prior_grey_mid.safetensors \
        high=$W/prior_grey_high.safetensors low128=$R/d-low128/.../best.ckpt \
        mid128=$R/d-mid128/.../best.ckpt high128=$R/d-high128/.../best.ckpt \
        --bands grey,low,mid,high --bands grey,low128,mid,high --bands grey,low,mid128,high \
        --bands grey,low,mid,high128 --bands grey,low128,mid128,high \
        --bands grey,low128,mid128,high128 --bands grey,low128,mid,high128 \
        --compare grey,low,mid,high@7,17,52 --fmd --threads 2

Writes ``benchmarks/results/prior_gate.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
from pathlib import Path

import numpy as np
from prior_settings import FMD, FMD_FIELDS, adapt_rows  # benchmarks/ is on sys.path
from prior_validation import IMAGES, images

from noise2x.metrics import psnr_np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SIGMAS = (5, 10, 15, 20, 25, 30, 35, 40, 45, 50)
LAMBDAS = (10, 30, 100)
NOISES = (*map(str, SIGMAS), *(f"poisson{lam}" for lam in LAMBDAS))
"""Noise labels: a Gaussian sigma (0-255 scale) or ``poisson<lambda>``."""
THRESHOLDS = tuple(range(10, 61))
"""Thresholds tried for the two-net gate and blend (0-255 scale)."""
BAND_THRESHOLDS = tuple(range(2, 61))
"""Thresholds tried for a banded gate (0-255 scale)."""
FMD_CAPTURES = 3
"""Raw captures per FMD validation field (independent noise of the same scene)."""


def load(path: str):
    """Return the net of a ``.ckpt`` (``noise2x train``) or ``.safetensors`` (shipped) file."""
    if path.endswith(".safetensors"):
        from noise2x.weights import load_net

        return load_net(path)[0]
    from noise2x.api import load_checkpoint

    return load_checkpoint(path, "cpu").net


def describe(path: str) -> dict:
    """Return what identifies a candidate file beyond its local path: sha256 and steps.

    ``steps``: the optimiser steps of a ``.ckpt`` (its ``global_step``) or of a shipped
    ``.safetensors`` file (its metadata's ``steps``, counting every stage); ``sha256``: the
    first 16 hex digits of the file's hash.
    """
    import hashlib

    import torch

    if path.endswith(".safetensors"):
        from noise2x.weights import read_metadata

        steps = int(read_metadata(path)["steps"])
    else:
        steps = int(torch.load(path, map_location="cpu", weights_only=False)["global_step"])
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    return {"steps": steps, "sha256": digest}


def fmd_pairs() -> list[tuple[np.ndarray, np.ndarray]]:
    """Return (noisy, clean) of the first raw captures of each FMD validation field, (1, H, W).

    `FMD_CAPTURES` captures per field of `FMD_FIELDS`, float32 in [0, 1]; clean is avg50.

    Raises
    ------
    FileNotFoundError
        If the FMD folder is missing (set NOISE2X_DATA).
    """
    if not FMD.is_dir():
        raise FileNotFoundError(f"missing {FMD} (set NOISE2X_DATA)")
    return adapt_rows(FMD_CAPTURES, lambda field, capture, noisy, clean: [(noisy, clean)])


def validation_inputs(
    kind: str, fmd: bool = False, channel_axis: bool = True
) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """Return inputs[noise]: (noisy, clean) of every validation crop under each noise of `NOISES`.

    Crops of ``prior_validation.images(kind)``, noised by `add_noise` (float32, not clipped;
    clean in [0, 1]); with `fmd` also ``inputs["fmd"]``, the FMD validation captures
    (`fmd_pairs`). Arrays are (C, H, W), or (H, W) for grey without `channel_axis` (the same
    values either way).

    Raises
    ------
    FileNotFoundError
        With `fmd`, if the FMD folder is missing.
    """
    crops = list(images(kind).values())
    if channel_axis:
        crops = [c[None] if c.ndim == 2 else c for c in crops]
    inputs = {n: [(add_noise(n, c, k), c) for k, c in enumerate(crops)] for n in NOISES}
    if fmd:
        pairs = fmd_pairs()
        inputs["fmd"] = pairs if channel_axis else [(noisy[0], clean[0]) for noisy, clean in pairs]
    return inputs


def denoise_all(
    kind: str, candidates: dict[str, str], fmd: bool = False
) -> tuple[dict, dict, dict]:
    """Return outputs[name][noise] and clean[noise] (lists per image), and the estimates.

    Estimates are on the 0-255 scale: estimates[noise] is one value per image. With `fmd`,
    the noise ``fmd`` holds the FMD validation captures (`fmd_pairs`).
    """
    import torch

    from noise2x.noise.estimate import estimate_sigma

    nets = {name: load(path) for name, path in candidates.items()}
    outputs: dict[str, dict[str, list[np.ndarray]]] = {name: {} for name in nets}
    estimates: dict[str, list[float]] = {}
    clean: dict[str, list[np.ndarray]] = {}
    for noise, pairs in validation_inputs(kind, fmd).items():
        for noisy, reference in pairs:
            clean.setdefault(noise, []).append(reference)
            estimates.setdefault(noise, []).append(round(255 * estimate_sigma(noisy), 3))
            x = torch.from_numpy(noisy)[None]
            for name, net in nets.items():
                with torch.inference_mode():
                    out = net(x)[0].clamp(0, 1).numpy()
                outputs[name].setdefault(noise, []).append(out)
    return outputs, clean, estimates


def add_noise(noise: str, clean: np.ndarray, k: int) -> np.ndarray:
    """Return the noisy view of the k-th clean crop (float32, not clipped) for a noise label.

    `clean` is (H, W) or (C, H, W), float32 in [0, 1]; the result has its shape.

    Gaussian: seed ``1000 * sigma + k`` (the inputs of ``prior_validation.py``); Poisson:
    ``poisson(lambda * clean) / lambda`` with seed ``70000 + 100 * lambda + k``.
    """
    if noise.startswith("poisson"):
        lam = float(noise.removeprefix("poisson"))
        rng = np.random.default_rng(70000 + 100 * int(lam) + k)
        return (rng.poisson(lam * clean) / lam).astype(np.float32)
    sigma = float(noise)
    rng = np.random.default_rng(1000 * int(sigma) + k)
    return (clean + rng.normal(0, sigma / 255, clean.shape)).astype(np.float32)


def blend_weight(estimate: float, t0: float, t1: float) -> float:
    """Weight of the high-noise net: 0 below `t0`, 1 from `t1`, linear between (gate: t0 = t1)."""
    if t1 <= t0:
        return float(estimate >= t0)
    return float(np.clip((estimate - t0) / (t1 - t0), 0.0, 1.0))


def combined(outputs, clean, estimates, low: str, high: str, t0: float, t1: float) -> dict:
    """Return the PSNR per noise and image of the low/high combination at (t0, t1)."""
    table = {}
    for noise in clean:
        row = []
        for k, ref in enumerate(clean[noise]):
            w = blend_weight(estimates[noise][k], t0, t1)
            out = (1 - w) * outputs[low][noise][k] + w * outputs[high][noise][k]
            row.append(round(psnr_np(out, ref, 1.0), 3))
        table[noise] = row
    return table


def banded(psnr_db: dict, estimates: dict, bands: list[str], thresholds: tuple) -> dict:
    """Return the PSNR per noise and image of a hard gate over several nets.

    `bands` names the nets from low to high noise, `thresholds` the estimated sigma from which
    each next band is used (increasing, one fewer than `bands`); `psnr_db[name][noise]` holds
    each net's PSNR per image (a hard gate's PSNR is its chosen net's).
    """
    return {
        noise: [
            psnr_db[bands[sum(e >= t for t in thresholds)]][noise][k]
            for k, e in enumerate(estimates[noise])
        ]
        for noise in estimates
    }


def band_search(psnr_db: dict, estimates: dict, bands: list[str], keep: int = 50) -> dict:
    """Return the `keep` best banded gates over every increasing tuple of BAND_THRESHOLDS.

    The result maps thresholds (a tuple, one fewer than `bands`) to the mean PSNR over every
    noise and image of ``banded(psnr_db, estimates, bands, thresholds)``, best first (ties:
    the lowest thresholds first). A hard gate sends each image to one band, and the bands are
    contiguous in the estimate, so each gate's total is a sum of differences of per-net
    cumulative sums over the images sorted by their estimate (all tuples at once).
    """
    noises = list(estimates)
    est = np.array([e for n in noises for e in estimates[n]])
    order = np.argsort(est, kind="stable")
    cum = {
        name: np.concatenate(
            [[0.0], np.cumsum(np.array([v for n in noises for v in psnr_db[name][n]])[order])]
        )
        for name in set(bands)
    }
    # images with an estimate below each threshold: band j starts where e >= thresholds[j]
    below = np.searchsorted(est[order], np.array(BAND_THRESHOLDS, dtype=float), side="left")
    k = len(bands) - 1
    tuples = np.fromiter(
        itertools.chain.from_iterable(itertools.combinations(range(len(BAND_THRESHOLDS)), k)),
        dtype=np.int16,
    ).reshape(-1, k)
    edges = np.concatenate(
        [np.zeros((len(tuples), 1), np.int64), below[tuples], np.full((len(tuples), 1), len(est))],
        axis=1,
    )
    total = sum(cum[name][edges[:, j + 1]] - cum[name][edges[:, j]] for j, name in enumerate(bands))
    means = total / len(est)
    best = np.lexsort((np.arange(len(means)), -np.round(means, 9)))[:keep]
    return {tuple(BAND_THRESHOLDS[i] for i in tuples[b]): float(means[b]) for b in best.tolist()}


def mean_over(table: dict) -> float:
    """Mean PSNR over every noise and image of a table psnr[noise] = list per image."""
    return float(np.mean([v for row in table.values() for v in row]))


def render(report: dict) -> str:
    """Return the Markdown table of `report`."""
    rows = report["psnr_db"]
    chosen = report["chosen"]
    noises = list(report["estimated_sigma"])
    heads = [
        "FMD (real)"
        if n == "fmd"
        else f"lambda {n[7:]}"
        if n.startswith("poisson")
        else f"sigma {n}"
        for n in noises
    ]
    if report.get("bands"):
        bands, ts = report["bands"], chosen["gate"]
        spans = [f"`{bands[0]}` below {ts[0]:g}"]
        spans += [f"`{b}` from {t:g}" for b, t in zip(bands[1:], ts, strict=True)]
        how = (
            "Banded gate by the estimated sigma: " + ", ".join(spans) + " (thresholds chosen "
            "here, maximising the mean over every noise)."
        )
    else:
        how = (
            f"Low-noise net `{report['low']}`, high-noise net `{report['high']}`; gate: the "
            f"high-noise net where the estimated sigma >= {chosen['gate']:g}; blend: weight of "
            f"the high-noise net ramped from 0 at {chosen['blend'][0]:g} to 1 at "
            f"{chosen['blend'][1]:g} (both chosen here, maximising the mean over every noise)."
        )
    if report.get("shipped"):
        ship = report["shipped"]
        at = ", ".join(f"{t:g}" for t in ship["gate"])
        how += f" Shipped: `{', '.join(ship['bands'])}` at {at} ({ship['mean_db']:.4f} dB"
        if report.get("bands"):
            best = report["band_orders"][",".join(report["bands"])]["mean_db"]
            how += f"; the search's best above: {best:.4f} dB"
        how += ")."
    fmd = (
        f" FMD: the first {FMD_CAPTURES} raw captures of fields "
        f"{', '.join(FMD_FIELDS)} against avg50 (validation fields of real_fmd.py)."
        if "fmd" in noises
        else ""
    )
    lines = [
        f"Combining prior candidates by the estimated noise level, {report['date']} "
        f"({report['kind']}): {len(report['images'])} validation images (scikit-image samples, "
        "in no test set), 256x256 centre crops, Gaussian noise (sigma) and Poisson noise (lambda), "
        f"one pass; PSNR (dB), mean over the images.{fmd} {how}",
        "",
        "| candidate | " + " | ".join(heads) + " | mean |",
        "| --- " * (2 + len(noises)) + "|",
    ]
    for name, table in rows.items():
        means = [f"{np.mean(table[n]):.2f}" for n in noises]
        lines.append(f"| {name} | " + " | ".join(means) + f" | {mean_over(table):.3f} |")
    estimates = report["estimated_sigma"]
    means = [f"{np.mean(estimates[n]):.1f}" for n in noises]
    lines.append("| (estimated sigma, mean) | " + " | ".join(means) + " | |")
    return "\n".join(lines) + "\n"


def main() -> None:
    from noise2x.report import write_result
    from noise2x.report.machine import machine

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=list(IMAGES))
    parser.add_argument("candidates", nargs="+", help="NAME=FILE (.ckpt or .safetensors)")
    parser.add_argument("--low", help="two-net gate: the candidate used at low estimated sigma")
    parser.add_argument("--high", help="two-net gate: the candidate used at high estimated sigma")
    parser.add_argument(
        "--bands",
        action="append",
        help="banded gate: candidates from low to high noise, A,B,... (repeat: the best is chosen)",
    )
    parser.add_argument(
        "--compare",
        action="append",
        default=[],
        help="a fixed banded gate to score beside, A,B,...@T1,T2,... (e.g. the shipped one)",
    )
    parser.add_argument(
        "--shipped",
        help="the banded gate that ships, A,B,...@T1,...: scored beside and recorded as "
        "'shipped' (when it is not the search's best, e.g. a tie with a wider band)",
    )
    parser.add_argument("--fmd", action="store_true", help="add the FMD validation captures")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS / "prior_gate.json")
    args = parser.parse_args()
    bad = [c for c in args.candidates if "=" not in c]
    if bad:
        parser.error(f"candidates are NAME=FILE, got {bad[0]!r}")
    candidates = dict(c.split("=", 1) for c in args.candidates)
    if args.bands:
        orders = [order.split(",") for order in args.bands]
        if any(len(bands) < 2 or len(bands) > 6 for bands in orders):
            parser.error(f"--bands names 2 to 6 candidates, got {args.bands!r}")
    elif args.low and args.high:
        orders = [[args.low, args.high]]
    else:
        parser.error("give --low and --high (two-net gate and blend) or --bands")
    for name in (name for bands in orders for name in bands):
        if name not in candidates:
            parser.error(f"--low/--high/--bands name a candidate, got {name!r}")
    import torch

    torch.set_num_threads(args.threads)
    outputs, clean, estimates = denoise_all(args.kind, candidates, args.fmd)
    psnr_db = {
        name: {
            n: [round(psnr_np(o, c, 1.0), 3) for o, c in zip(outs[n], clean[n], strict=True)]
            for n in clean
        }
        for name, outs in outputs.items()
    }
    band_orders = {}
    if args.bands:
        searched = {",".join(bands): band_search(psnr_db, estimates, bands) for bands in orders}
        for order, best in searched.items():  # each order's best gate, as a row of the table
            gate = next(iter(best))
            label = f"{order.replace(',', ', ')} at {', '.join(map(str, gate))}"
            psnr_db[label] = banded(psnr_db, estimates, order.split(","), gate)
            band_orders[order] = {"gate": list(gate), "mean_db": round(best[gate], 4)}
        order = max(band_orders, key=lambda o: band_orders[o]["mean_db"])
        bands, gates = order.split(","), searched[order]  # the best 50 gates of that order kept
        chosen = {"gate": band_orders[order]["gate"]}
    else:
        combine = (outputs, clean, estimates, args.low, args.high)
        gates = {t: mean_over(combined(*combine, t, t)) for t in THRESHOLDS}
        gate = max(gates, key=gates.get)
        blends = {
            (t0, t1): mean_over(combined(*combine, t0, t1))
            for t0 in THRESHOLDS[::2]
            for t1 in THRESHOLDS[::2]
            if t1 > t0
        }
        blend = max(blends, key=blends.get)
        psnr_db[f"gate at {gate}"] = combined(*combine, gate, gate)
        psnr_db[f"blend {blend[0]}-{blend[1]}"] = combined(*combine, *blend)
        psnr_db["mean of both"] = {
            n: [
                round(psnr_np(0.5 * (a + b), c, 1.0), 3)
                for a, b, c in zip(
                    outputs[args.low][n], outputs[args.high][n], clean[n], strict=True
                )
            ]
            for n in clean
        }
        chosen = {"gate": gate, "blend": list(blend)}
    shipped = None
    for fixed in [*args.compare, *([args.shipped] if args.shipped else [])]:
        names, _, at = fixed.partition("@")
        names, at = names.split(","), tuple(float(t) for t in at.split(",") if t)
        if len(at) != len(names) - 1 or any(n not in candidates for n in names):
            parser.error(
                f"--compare/--shipped A,B,...@T1,...: one threshold fewer than names, got {fixed}"
            )
        label = f"{', '.join(names)} at {', '.join(f'{t:g}' for t in at)}"
        psnr_db[label] = banded(psnr_db, estimates, names, at)
        if fixed == args.shipped:
            shipped = {
                "bands": names,
                "gate": list(at),
                "mean_db": round(mean_over(psnr_db[label]), 4),
            }
    report = {
        "benchmark": "prior_gate",
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "kind": args.kind,
        "candidates": candidates,
        "candidate_files": {name: describe(path) for name, path in candidates.items()},
        "low": args.low,
        "high": args.high,
        **({"bands": bands, "band_orders": band_orders} if args.bands else {}),
        "images": list(IMAGES[args.kind]),
        "noises": list(clean),
        "estimated_sigma": estimates,
        "psnr_db": psnr_db,
        "gate_mean_db": {
            (",".join(map(str, t)) if isinstance(t, tuple) else str(t)): round(v, 4)
            for t, v in gates.items()
        },
        "chosen": chosen,
        **({"shipped": shipped} if shipped else {}),
    }
    report["markdown"] = render(report)
    write_result(report, args.out)
    print(report["markdown"])


if __name__ == "__main__":
    main()
