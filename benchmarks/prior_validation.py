"""Choose between prior candidates on validation images only (never on a test set).

Each candidate (a ``noise2x train`` checkpoint of ``benchmarks/train_prior.py``) denoises the
same noisy inputs: scikit-image's sample images (none of them in Set12, BSD68, CBSD68 or FMD;
12 grey images, 7 colour), 256x256 centre crops, Gaussian noise of sigma 5, 15, 25 and 50
(0-255 scale, not clipped, seed ``1000 * sigma + k`` for the k-th image), one pass (no
self-ensemble), ``normalize="none"``; PSNR (dB) of the result clipped to [0, 1] against the
clean crop, mean over the images. It covers the low noise levels (sigma 5) the test sets leave
out, where the first prior was weakest.

Usage::

    python benchmarks/prior_validation.py grey l2=RUN_A/best.ckpt l2_level=RUN_B/best.ckpt

Writes ``benchmarks/results/prior_validation.json`` and ``.md`` (one model kind per run; a
run for the other kind is added to the same file; ``--add`` keeps the kind's earlier
candidates and adds the new ones).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SIGMAS = (5, 15, 25, 50)
IMAGES = {
    "grey": (
        "camera", "coins", "moon", "page", "brick", "grass", "gravel", "astronaut", "coffee",
        "chelsea", "rocket", "hubble_deep_field",
    ),
    "colour": (
        "astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "retina",
        "stereo_motorcycle",
    ),
}  # fmt: skip
CROP = 256


def start_run(
    doc: str, benchmark: str, add_options: Callable[[argparse.ArgumentParser], None] | None = None
) -> tuple[list[str], Path, dict]:
    """Parse a validation script's ``--kinds``, ``--threads`` and ``--out``; set the threads.

    Returns the kinds (grey, colour or both), the output path (default
    ``results/<benchmark>.json``) and the head of the report: benchmark, date, machine and the
    validation images of each kind. `add_options` may add the script's own options to the
    parser; their values are in the head's ``options``. An unknown kind is a usage error (exit 2).
    """
    from noise2x.report.machine import machine

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--kinds", default="grey,colour", help="grey, colour or both")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS / f"{benchmark}.json")
    common = set(vars(parser.parse_args([])))  # every common option has a default
    if add_options is not None:
        add_options(parser)
    args = parser.parse_args()
    kinds = args.kinds.split(",")
    if not kinds or any(k not in IMAGES for k in kinds):
        parser.error(f"--kinds is grey, colour or both, got {args.kinds!r}")
    import torch

    torch.set_num_threads(args.threads)
    head = {
        "benchmark": benchmark,
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "images": {kind: list(IMAGES[kind]) for kind in kinds},
    }
    options = {k: v for k, v in vars(args).items() if k not in common}
    if options:
        head["options"] = options
    return kinds, args.out, head


def images(kind: str) -> dict[str, np.ndarray]:
    """Return the clean validation crops: (H, W) grey or (3, H, W) colour, float32 in [0, 1]."""
    from skimage import color, data, img_as_float32

    out = {}
    for name in IMAGES[kind]:
        x = getattr(data, name)()
        x = img_as_float32(x[0] if isinstance(x, tuple) else x)  # stereo pairs: the left view
        if kind == "grey" and x.ndim == 3:
            x = img_as_float32(color.rgb2gray(x))
        h, w = x.shape[:2]
        s = min(CROP, h, w)
        x = x[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
        out[name] = x if x.ndim == 2 else np.ascontiguousarray(np.moveaxis(x, -1, 0))
    return out


def score(kind: str, checkpoints: dict[str, str]) -> dict[str, dict[str, list[float]]]:
    """Return the PSNR (dB) per candidate, sigma and image (in `IMAGES` order)."""
    import noise2x
    from noise2x.metrics import psnr_np

    psnr: dict[str, dict[str, list[float]]] = {name: {} for name in checkpoints}
    crops = list(images(kind).values())  # read once, noised afresh per sigma
    for sigma in SIGMAS:
        for k, clean in enumerate(crops):
            rng = np.random.default_rng(1000 * sigma + k)
            noisy = (clean + rng.normal(0, sigma / 255, clean.shape)).astype(np.float32)
            axis = {} if noisy.ndim == 2 else {"channel_axis": 0}
            for name, path in checkpoints.items():
                out = noise2x.denoise(noisy, checkpoint=path, normalize="none", **axis)
                value = psnr_np(np.clip(out, 0.0, 1.0), clean, 1.0)
                psnr[name].setdefault(str(sigma), []).append(round(float(value), 3))
    return psnr


def render(report: dict) -> str:
    """Return the Markdown table of every model kind in `report`."""
    lines = [
        f"Prior candidates on validation images, {report['date']}: scikit-image sample images "
        f"(not in any test set), {CROP}x{CROP} centre crops, Gaussian sigma "
        f"{', '.join(map(str, SIGMAS))}; PSNR (dB), mean over the images, one pass.",
        "",
        "| model | candidate | images | " + " | ".join(f"sigma {s}" for s in SIGMAS) + " |",
        "| --- " * (3 + len(SIGMAS)) + "|",
    ]
    for kind, entry in report["kinds"].items():
        for name, by_sigma in entry["psnr_db"].items():
            means = [f"{np.mean(by_sigma[str(s)]):.2f}" for s in SIGMAS]
            lines.append(f"| {kind} | {name} | {len(IMAGES[kind])} | " + " | ".join(means) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    from noise2x.report import write_result
    from noise2x.report.machine import machine

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=list(IMAGES))
    parser.add_argument("candidates", nargs="+", help="NAME=CHECKPOINT")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / "prior_validation.json")
    parser.add_argument(
        "--add",
        action="store_true",
        help="keep the kind's earlier candidates (their stored scores) and add these",
    )
    args = parser.parse_args()
    bad = [c for c in args.candidates if "=" not in c]
    if bad:
        parser.error(f"candidates are NAME=CHECKPOINT, got {bad[0]!r}")
    checkpoints = dict(c.split("=", 1) for c in args.candidates)
    import torch

    torch.set_num_threads(args.threads)
    report = json.loads(args.out.read_text()) if args.out.exists() else {"kinds": {}}
    report.update(benchmark="prior_validation", date=dt.date.today().isoformat(), machine=machine())
    earlier = report["kinds"].get(args.kind, {}) if args.add else {}
    report["kinds"][args.kind] = {
        **earlier,  # with --add, also the candidates' training records ("training")
        "checkpoints": {**earlier.get("checkpoints", {}), **checkpoints},
        "images": list(IMAGES[args.kind]),
        "psnr_db": {**earlier.get("psnr_db", {}), **score(args.kind, checkpoints)},
    }
    report["markdown"] = render(report)
    write_result(report, args.out)
    print(report["markdown"])


if __name__ == "__main__":
    main()
