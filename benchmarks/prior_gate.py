"""Choose how to combine two prior candidates by the estimated noise level (validation only).

The second stages of the grey prior (``benchmarks/train_prior.py --init``) moved PSNR between
noise levels instead of adding it: one gains at low and middle sigma, another at high sigma
(``prior_validation.json``). This script measures, on the validation images of
``benchmarks/prior_validation.py`` (scikit-image sample images, in no test set), whether
picking the net per image from its estimated noise level keeps the gains of both:

- every candidate denoises the same noisy crops (Gaussian sigma 5, 10, ..., 50 on the 0-255
  scale, and Poisson lambda 10, 30, 100 photons at intensity 1; one pass, no self-ensemble),
  and the noise level of every noisy crop is estimated from the crop alone
  (``noise2x.methods.bm3d.estimate_sigma``: wavelet MAD, 0-255 scale);
- a **gate** at threshold T uses the ``low`` candidate when the estimate is below T and the
  ``high`` one otherwise; a **blend** mixes the two outputs with a weight ramped linearly
  from 0 to 1 between T0 and T1 (two passes, one per net);
- T (and T0, T1) are chosen to maximise the mean PSNR over every noise and image.

Usage::

    python benchmarks/prior_gate.py grey shipped=src/noise2x/weights/prior_grey.safetensors \
        low=RUN_A/best.ckpt high=RUN_B/best.ckpt --low low --high high

Writes ``benchmarks/results/prior_gate.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np
from prior_validation import IMAGES, images  # benchmarks/: the script's folder is on sys.path

from noise2x.metrics import psnr_np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SIGMAS = (5, 10, 15, 20, 25, 30, 35, 40, 45, 50)
LAMBDAS = (10, 30, 100)
NOISES = (*map(str, SIGMAS), *(f"poisson{lam}" for lam in LAMBDAS))
"""Noise labels: a Gaussian sigma (0-255 scale) or ``poisson<lambda>``."""
THRESHOLDS = tuple(range(10, 61))


def load(path: str):
    """Return the net of a ``.ckpt`` (``noise2x train``) or ``.safetensors`` (shipped) file."""
    if path.endswith(".safetensors"):
        from noise2x.weights import load_net

        return load_net(path)[0]
    from noise2x.api import load_checkpoint

    return load_checkpoint(path, "cpu").net


def denoise_all(kind: str, candidates: dict[str, str]) -> tuple[dict, list, dict]:
    """Return outputs[name][noise] (list per image), the clean crops and the estimates.

    Estimates are on the 0-255 scale: estimates[noise] is one value per image.
    """
    import torch

    from noise2x.methods.bm3d import estimate_sigma

    nets = {name: load(path) for name, path in candidates.items()}
    crops = list(images(kind).values())
    outputs: dict[str, dict[str, list[np.ndarray]]] = {name: {} for name in nets}
    estimates: dict[str, list[float]] = {}
    for noise in NOISES:
        for k, clean in enumerate(crops):
            noisy = add_noise(noise, clean, k)
            chw = noisy[None] if noisy.ndim == 2 else noisy
            estimates.setdefault(noise, []).append(round(255 * estimate_sigma(chw), 3))
            x = torch.from_numpy(chw)[None]
            for name, net in nets.items():
                with torch.inference_mode():
                    out = net(x)[0].clamp(0, 1).numpy()
                outputs[name].setdefault(noise, []).append(out)
    clean = [c[None] if c.ndim == 2 else c for c in crops]
    return outputs, clean, estimates


def add_noise(noise: str, clean: np.ndarray, k: int) -> np.ndarray:
    """Return the noisy view of the k-th clean crop (float32, not clipped) for a noise label.

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
    for noise in NOISES:
        row = []
        for k, ref in enumerate(clean):
            w = blend_weight(estimates[noise][k], t0, t1)
            out = (1 - w) * outputs[low][noise][k] + w * outputs[high][noise][k]
            row.append(round(psnr_np(out, ref, 1.0), 3))
        table[noise] = row
    return table


def mean_over(table: dict) -> float:
    """Mean PSNR over every noise and image of a table psnr[noise] = list per image."""
    return float(np.mean([v for row in table.values() for v in row]))


def render(report: dict) -> str:
    """Return the Markdown table of `report`."""
    rows = report["psnr_db"]
    chosen = report["chosen"]
    heads = [f"lambda {n[7:]}" if n.startswith("poisson") else f"sigma {n}" for n in NOISES]
    lines = [
        f"Combining two prior candidates by the estimated noise level, {report['date']} "
        f"({report['kind']}): {len(report['images'])} validation images (scikit-image samples, "
        "in no test set), 256x256 centre crops, Gaussian noise (sigma) and Poisson noise (lambda), "
        "one pass; PSNR (dB), mean over "
        f"the images. Low-noise net `{report['low']}`, high-noise net `{report['high']}`; "
        f"gate: the high-noise net where the estimated sigma >= {chosen['gate']:g}; blend: "
        f"weight of the high-noise net ramped from 0 at {chosen['blend'][0]:g} to 1 at "
        f"{chosen['blend'][1]:g} (both chosen here, maximising the mean over every noise).",
        "",
        "| candidate | " + " | ".join(heads) + " | mean |",
        "| --- " * (2 + len(NOISES)) + "|",
    ]
    for name, table in rows.items():
        means = [f"{np.mean(table[n]):.2f}" for n in NOISES]
        lines.append(f"| {name} | " + " | ".join(means) + f" | {mean_over(table):.3f} |")
    estimates = report["estimated_sigma"]
    means = [f"{np.mean(estimates[n]):.1f}" for n in NOISES]
    lines.append("| (estimated sigma, mean) | " + " | ".join(means) + " | |")
    return "\n".join(lines) + "\n"


def main() -> None:
    from noise2x.report import write_result
    from noise2x.report.machine import machine

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=list(IMAGES))
    parser.add_argument("candidates", nargs="+", help="NAME=FILE (.ckpt or .safetensors)")
    parser.add_argument("--low", required=True, help="candidate used at low estimated sigma")
    parser.add_argument("--high", required=True, help="candidate used at high estimated sigma")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS / "prior_gate.json")
    args = parser.parse_args()
    bad = [c for c in args.candidates if "=" not in c]
    if bad:
        parser.error(f"candidates are NAME=FILE, got {bad[0]!r}")
    candidates = dict(c.split("=", 1) for c in args.candidates)
    for name in (args.low, args.high):
        if name not in candidates:
            parser.error(f"--low/--high name a candidate, got {name!r}")
    import torch

    torch.set_num_threads(args.threads)
    outputs, clean, estimates = denoise_all(args.kind, candidates)
    psnr_db = {
        name: {
            n: [round(psnr_np(o, c, 1.0), 3) for o, c in zip(outs[n], clean, strict=True)]
            for n in NOISES
        }
        for name, outs in outputs.items()
    }
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
            for a, b, c in zip(outputs[args.low][n], outputs[args.high][n], clean, strict=True)
        ]
        for n in NOISES
    }
    report = {
        "benchmark": "prior_gate",
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "kind": args.kind,
        "candidates": candidates,
        "low": args.low,
        "high": args.high,
        "images": list(IMAGES[args.kind]),
        "noises": list(NOISES),
        "estimated_sigma": estimates,
        "psnr_db": psnr_db,
        "gate_mean_db": {str(t): round(v, 4) for t, v in gates.items()},
        "chosen": {"gate": gate, "blend": list(blend)},
    }
    report["markdown"] = render(report)
    write_result(report, args.out)
    print(report["markdown"])


if __name__ == "__main__":
    main()
