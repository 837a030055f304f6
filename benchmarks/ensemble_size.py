"""How many flips / rotations the prior's self-ensemble averages: PSNR (validation) and time.

Each further transform of the self-ensemble (``noise2x.ops.ensemble``) costs one more pass of
the net and lowers the variance of the result a little. This script measures both sides, for
the default prior (the gate, float32, tiling) with 1 to 8 transforms in ``ENSEMBLE_ORDER``:

- **PSNR** on the validation inputs of ``prior_gate.py`` (the scikit-image crops of
  ``prior_validation.py``, 256x256, in no test set; Gaussian sigma 5, 10, ..., 50 on the
  0-255 scale and Poisson lambda 10, 30, 100; grey also the first 3 raw captures of FMD fields
  15-16). The net runs once per transform; the n-fold result is the mean of the first n
  unclipped outputs, as ``self_ensemble`` averages them, so every size is scored on the same
  passes. PSNR (dB) of the mean clipped to [0, 1] against the clean crop (avg50 for FMD); the
  colour pass-through is off.
- **Seconds** of ``noise2x.denoise`` with 4 to 8 transforms and of BM3D given the true sigma,
  on one validation picture (``astronaut``, grey and colour) cropped to the shapes of the
  benchmark's inputs, sigma 25; the median of ``--repeats`` runs after a warm-up. Time it with
  nothing else on the CPU.

Usage::

    python benchmarks/ensemble_size.py --threads 1

Writes ``benchmarks/results/ensemble_size.json`` and ``.md``.
"""

from __future__ import annotations

import json
import statistics
import time
from functools import partial

import numpy as np
from prior_gate import NOISES, validation_inputs  # benchmarks/ is on sys.path
from prior_validation import start_run

SHAPES = {
    "grey": ((128, 128), (192, 192), (224, 224), (256, 256), (321, 481), (512, 512)),
    "colour": ((321, 481),),
}
"""(H, W) of the timed crops: the shapes of Set12, BSD68 / CBSD68 and FMD, and smaller ones."""
TIMED = (4, 5, 6, 7, 8)
"""Ensemble sizes timed."""
SIGMA = 25
"""Gaussian sigma of the timed inputs (0-255 scale)."""


def score(kind: str, fmd: bool) -> dict[str, dict[str, list[float]]]:
    """Return psnr_db[n][noise]: one PSNR per image, the default prior with n transforms."""
    import noise2x
    import noise2x.ops.ensemble as ensemble
    from noise2x.metrics import psnr_np

    inputs = validation_inputs(kind, fmd, channel_axis=False)
    psnr_db: dict[str, dict[str, list[float]]] = {str(n): {} for n in range(1, 9)}
    default = ensemble.ENSEMBLE_ORDER
    try:
        for noise, pairs in inputs.items():
            for noisy, clean in pairs:
                axis = {} if noisy.ndim == 2 else {"channel_axis": 0}
                outputs = []
                for k in default:  # the k-th transform alone: it goes first in the order
                    ensemble.ENSEMBLE_ORDER = (k, *(j for j in default if j != k))
                    out = noise2x.denoise(  # unclipped: the ensemble clips the mean
                        noisy,
                        normalize="none",
                        ensemble=1,
                        pass_through=False,
                        clip=False,
                        **axis,
                    )
                    outputs.append(out.astype(np.float64))
                for n in range(1, 9):
                    mean = np.clip(np.mean(outputs[:n], axis=0), 0.0, 1.0)
                    value = psnr_np(mean, clean, 1.0)
                    psnr_db[str(n)].setdefault(noise, []).append(round(float(value), 4))
            print(kind, noise, *(f"{n}: {np.mean(v[noise]):.4f}" for n, v in psnr_db.items()))
    finally:
        ensemble.ENSEMBLE_ORDER = default
    return psnr_db


def timed(fn, repeats: int) -> float:
    """Return the median seconds of `repeats` calls of `fn` after one warm-up call."""
    fn()
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return round(statistics.median(runs), 3)


def seconds(kind: str, repeats: int) -> list[dict]:
    """Return one row per shape: seconds of the prior per ensemble size and of BM3D."""
    from skimage import color, data, img_as_float32

    import noise2x
    from noise2x.methods.bm3d import bm3d_denoise

    picture = img_as_float32(data.astronaut())
    if kind == "grey":
        picture = img_as_float32(color.rgb2gray(picture))
    else:
        picture = np.ascontiguousarray(np.moveaxis(picture, -1, 0))
    rows = []
    for h, w in SHAPES[kind]:
        clean = picture[..., :h, :w]
        rng = np.random.default_rng(h * w)
        noisy = (clean + rng.normal(0, SIGMA / 255, clean.shape)).astype(np.float32)
        axis = {} if kind == "grey" else {"channel_axis": 0}
        row = {"shape": [h, w], "prior_seconds": {}}
        for n in TIMED:
            call = partial(noise2x.denoise, noisy, normalize="none", ensemble=n, **axis)
            row["prior_seconds"][str(n)] = timed(call, repeats)
        batch = noisy[None] if kind == "grey" else noisy
        row["bm3d_seconds"] = timed(partial(bm3d_denoise, batch, SIGMA / 255), repeats)
        print(kind, row, flush=True)
        rows.append(row)
    return rows


def render(report: dict) -> str:
    """Return the Markdown tables: mean PSNR per ensemble size, and seconds against BM3D."""
    lines = [
        f"The prior's self-ensemble by size, {report['date']}, {report['machine']['cpu']}: "
        "PSNR (dB) of the default prior (gate, float32) on the validation images of "
        "prior_validation.py (scikit-image samples, 256x256 crops, in no test set; grey also "
        "the first 3 raw captures of FMD fields 15-16), mean over the images, with the first "
        "n transforms of ENSEMBLE_ORDER (1-4: the quarter turns); 'all' is the mean over every "
        "noise.",
        "",
    ]
    sizes = [str(n) for n in range(1, 9)]
    for kind, table in report["psnr_db"].items():
        noises = [n for n in (*NOISES, "fmd") if n in table["1"]]
        label = {n: (f"σ {n}" if n.isdigit() else n.replace("poisson", "λ ")) for n in noises}
        lines += [
            f"| {kind} | " + " | ".join(label[n] for n in noises) + " | all |",
            "|---" * (len(noises) + 2) + "|",
        ]
        for size in sizes:
            means = [float(np.mean(table[size][n])) for n in noises]
            lines.append(
                f"| {size} | "
                + " | ".join(f"{m:.3f}" for m in means)
                + f" | {np.mean(means):.3f} |"
            )
        lines.append("")
    lines += [
        f"Seconds per image ({report['threads']} thread(s), median of {report['repeats']} runs "
        f"after a warm-up; skimage's astronaut cropped, Gaussian σ {SIGMA}); in brackets the "
        "fraction of BM3D's time (true σ).",
        "",
        "| input | BM3D | " + " | ".join(f"{n}-fold" for n in TIMED) + " |",
        "|---" * (len(TIMED) + 2) + "|",
    ]
    for kind, rows in report["seconds"].items():
        for row in rows:
            bm3d = row["bm3d_seconds"]
            cells = [
                f"{row['prior_seconds'][str(n)]:.2f} ({row['prior_seconds'][str(n)] / bm3d:.2f})"
                for n in TIMED
            ]
            shape = "×".join(map(str, row["shape"]))
            lines.append(f"| {kind} {shape} | {bm3d:.2f} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def add_options(parser) -> None:
    """Add this script's options to `start_run`'s parser."""
    parser.add_argument(
        "--parts", default="psnr,seconds", help="psnr, seconds or both (run seconds alone)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per input")


def main() -> int:
    import torch

    from noise2x.report import write_result

    kinds, out, report = start_run(__doc__, "ensemble_size", add_options)
    options = report.pop("options")
    parts = options["parts"].split(",")
    if out.exists():  # parts run separately (PSNR with 2 threads, seconds alone) share one file
        old = json.loads(out.read_text())
        report = {**old, **report, "images": {**old.get("images", {}), **report["images"]}}
    report.setdefault("psnr_db", {})
    report.setdefault("seconds", {})
    if "seconds" in parts:  # how the times were taken
        report["threads"], report["repeats"] = torch.get_num_threads(), options["repeats"]
    for kind in kinds:
        if "psnr" in parts:
            report["psnr_db"][kind] = score(kind, fmd=kind == "grey")
        if "seconds" in parts:
            report["seconds"][kind] = seconds(kind, options["repeats"])
    report["markdown"] = render(report)
    print(write_result(report, out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
