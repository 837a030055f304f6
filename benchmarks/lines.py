"""Dead-line restoration benchmark: noise2x's restore_lines vs interpolation and inpainting.

For every image of Set12 (default subset: 01; ``--full``: all twelve) and every condition,
whole rows or columns are lost (``noise2x.noise.MissingLines``: exactly round(fraction * H) rows or
round(fraction * W) columns, set to black = 0 or white = 1), with or without Gaussian noise
sigma = 25 first (clipped to [0, 1], the range of a real sensor, so that dead lines sit at the
image's minimum or maximum). Black and white versions share the line positions (same seed);
both are planted and must be detected exactly (Set12/03, only in ``--full``, has a black
first row and column in the file, which are found too). No method reads a dead pixel, so
the two versions restore identically and the methods run once, on the black one:

- ``noise2x``: ``RestoreLines`` with the library's defaults, dead lines found by
  ``detect_dead_lines`` (axis "auto"); with noise, ``denoise=True`` with its default BM3D
  denoiser at the true sigma (``sigma=25``, as the baselines get): fill, then filter;
- ``noise2x_net`` (only with ``--net``, with noise, for ``NET_CONDITIONS``: 20 % of the
  rows): the same with ``denoiser="self2self"``, the network denoising every pixel itself;
- ``interp``: linear interpolation across the missing lines (``numpy.interp`` along each
  column for rows, along each row for columns), followed by BM3D (true sigma) with noise;
- ``biharmonic``: ``skimage.restoration.inpaint_biharmonic`` on the dead pixels, followed by
  BM3D (true sigma) with noise.

PSNR (dB) / SSIM against the clean image (every result clipped to [0, 1]), plus PSNR on the
dead lines alone (JSON). The detection is checked against the planted lines. Seconds are
wall time per image with ``--threads`` torch threads per worker.

Usage::

    python benchmarks/lines.py                   # Set12/01 x 10 conditions, ~55 min
    python benchmarks/lines.py --full            # all 12 images (five are 512x512), ~20 h
    python benchmarks/lines.py --net             # + the net denoiser on 20 % rows, ~10 min more
    python benchmarks/lines.py --quick --out /tmp/lines.json    # smoke run, ~2 minutes
    python benchmarks/lines.py --table-only      # re-render the Markdown from the JSON

Times are for this project's 2-core CPU with nothing else running: one job (one image, one
condition) costs about 9 minutes on one core, almost all of it noise2x's training.

Writes ``benchmarks/results/lines.json`` (every job, machine, date, command, and the rendering
``noise2x report`` shows: ``markdown`` and chart specs, from ``benchmarks/lines_report.py``),
``lines.md`` and ``lines.png`` (damaged | restored | clean for two examples).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

import lines_report  # benchmarks/lines_report.py: the rendering of this script's results
import numpy as np
from lines_report import METHODS, NOISES, VALUES

from noise2x.report.machine import machine

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("NOISE2X_DATA", HERE.parent.parent / "shared" / "data"))
RESULTS = HERE / "results"
SIGMA = 25.0
# (axis, fraction) of the issue: 10/20/30 % rows, 10/30 % columns; each with and without noise
DAMAGE = [("rows", 0.1), ("rows", 0.2), ("rows", 0.3), ("cols", 0.1), ("cols", 0.3)]
SUBSETS = {
    "default": ["01.png"],
    "full": [f"{i:02d}.png" for i in range(1, 13)],
    "quick": ["01.png"],
}
# The README figure: (image, axis, fraction, value, noise)
FIGURE = [("01.png", "rows", 0.2, "black", "none"), ("01.png", "cols", 0.3, "white", "gauss25")]
QUICK = dict(crop=64, steps=20, passes=4, conditions=[("rows", 0.2), ("cols", 0.3)])
# Conditions where ``--net`` also runs noise2x with its network as denoiser (--denoiser
# self2self): a second training per job (~10 more minutes), so not in the default run.
NET_CONDITIONS = [("rows", 0.2, "gauss25")]


# --- baselines -------------------------------------------------------------------------------
def interpolate(damaged: np.ndarray, dead_rows: np.ndarray, dead_cols: np.ndarray) -> np.ndarray:
    """Linear interpolation across dead rows (along columns), then dead columns (along rows)."""
    out = damaged.astype(np.float64).copy()
    if dead_rows.any():
        lost, known = np.flatnonzero(dead_rows), np.flatnonzero(~dead_rows)
        for c in range(out.shape[0]):
            for x in range(out.shape[2]):
                out[c, lost, x] = np.interp(lost, known, out[c, known, x])
    if dead_cols.any():
        lost, known = np.flatnonzero(dead_cols), np.flatnonzero(~dead_cols)
        for c in range(out.shape[0]):
            for y in range(out.shape[1]):
                out[c, y, lost] = np.interp(lost, known, out[c, y, known])
    return out.astype(np.float32)


def biharmonic(damaged: np.ndarray, dead: np.ndarray) -> np.ndarray:
    from skimage.restoration import inpaint_biharmonic

    return inpaint_biharmonic(damaged[0].astype(np.float64), dead)[None].astype(np.float32)


def run_bm3d(image: np.ndarray, sigma: float) -> np.ndarray:
    import bm3d

    return np.asarray(bm3d.bm3d(image[0].astype(np.float64), sigma), np.float32)[None]


# --- one job: one image, one condition, every method -----------------------------------------
def job_seed(name: str, axis: str, fraction: float, noise: str) -> int:
    return sum(map(ord, f"Set12/{name}/{axis}/{fraction}/{noise}")) % 10_000


def damage(clean: np.ndarray, axis: str, fraction: float, noise: str, seed: int):
    """Return {value: damaged (C, H, W)} for black and white at the same lines, and the lines."""
    import torch

    from noise2x.noise import add_noise, build_noise

    x = torch.from_numpy(clean)[None]
    if noise == "gauss25":
        x = add_noise(x, "gaussian", seed=seed + 1, sigma=SIGMA).clamp(0.0, 1.0)
    damaged = {}
    for value in VALUES:
        model = build_noise("lines", fraction=fraction, axis=axis, value=value)
        image, keep = model.sample_with_mask(x, torch.Generator().manual_seed(seed))
        damaged[value] = image[0].numpy()
    return damaged, (keep[0, 0] == 0).numpy()


def run_job(job: dict) -> dict:
    import torch

    from noise2x.data.io import read_image
    from noise2x.methods.lines import RestoreLines, detect_dead_lines
    from noise2x.metrics import psnr_np, ssim_np

    torch.set_num_threads(job["threads"])
    name, axis, fraction, noise = (job[k] for k in ("image", "axis", "fraction", "noise"))
    clean, _ = read_image(DATA / "Set12" / name)
    if job.get("crop"):
        clean = np.ascontiguousarray(clean[:, : job["crop"], : job["crop"]])
    versions, planted = damage(clean, axis, fraction, noise, job_seed(name, axis, fraction, noise))
    row = dict(image=name, axis=axis, fraction=fraction, noise=noise, shape=list(clean.shape))
    for value, image in versions.items():
        found = detect_dead_lines(torch.from_numpy(image), "auto")
        row[f"damaged_{value}"] = dict(
            psnr_db=psnr_np(image, clean, 1.0),
            ssim=ssim_np(image, clean, 1.0),
            detected=bool(np.array_equal(found.mask.numpy(), planted)),
            dead_rows=len(found.rows),
            dead_cols=len(found.cols),
        )
    # No method reads the dead pixels (noise2x hides them from the net and from the
    # interpolation under it), so black and white give the same restoration: run once.
    damaged = versions["black"]
    dead = detect_dead_lines(torch.from_numpy(damaged), "auto").mask
    outputs = dict(versions)
    sigma = SIGMA / 255.0
    net = bool(job.get("net")) and (axis, fraction, noise) in NET_CONDITIONS
    for method in [*METHODS, "noise2x_net"] if net else METHODS:
        start = time.perf_counter()
        if method in ("noise2x", "noise2x_net"):
            settings = dict(job.get("params", {}))
            if noise != "none":  # BM3D at the true sigma, as the baselines get
                settings.update(denoise=True, denoiser="bm3d", sigma=SIGMA)
                if method == "noise2x_net":
                    settings.update(denoiser="self2self", sigma=None)
            method_obj = RestoreLines(**settings)
            result = method_obj.fit(torch.from_numpy(damaged)[None], dead=dead, device="cpu")
            out = result.denoised[0].numpy()
            row["steps"], row["passes"] = method_obj.config.steps, method_obj.config.passes
        elif method == "interp":
            out = interpolate(damaged, dead.numpy().all(axis=1), dead.numpy().all(axis=0))
            out = run_bm3d(out, sigma) if noise != "none" else out
        elif method == "biharmonic":
            out = biharmonic(damaged, dead.numpy())
            out = run_bm3d(out, sigma) if noise != "none" else out
        else:
            raise ValueError(f"unknown method {method!r}")
        seconds = time.perf_counter() - start
        out = np.clip(out, 0.0, 1.0)
        outputs[method] = out
        lines = np.broadcast_to(dead.numpy(), out.shape)
        row[method] = dict(
            psnr_db=psnr_np(out, clean, 1.0),
            ssim=ssim_np(out, clean, 1.0),
            psnr_lines_db=psnr_np(out[lines], clean[lines], 1.0),
            seconds=seconds,
        )
    for image, fig_axis, fig_fraction, value, fig_noise in FIGURE:
        if (image, fig_axis, fig_fraction, fig_noise) == (name, axis, fraction, noise):
            if job.get("examples"):
                folder = Path(job["examples"])
                folder.mkdir(parents=True, exist_ok=True)
                stem = f"{Path(name).stem}_{axis}{round(fraction * 100)}_{value}_{noise}"
                np.savez_compressed(
                    folder / f"{stem}.npz",
                    clean=clean,
                    damaged=outputs[value],
                    noise2x=outputs["noise2x"],
                )
    print(
        f"Set12/{name} {axis} {fraction:.0%} {noise}: "
        + ", ".join(f"{m} {row[m]['psnr_db']:.2f} dB" for m in METHODS)
        + f" (noise2x {row['noise2x']['seconds']:.0f} s)",
        flush=True,
    )
    return row


def build_jobs(args, examples: Path) -> list[dict]:
    subset = "quick" if args.quick else "full" if args.full else "default"
    conditions = QUICK["conditions"] if args.quick else DAMAGE
    common = dict(threads=args.threads, examples=str(examples), net=args.net)
    if args.quick:
        common.update(crop=QUICK["crop"], params=dict(steps=QUICK["steps"], passes=QUICK["passes"]))
    return [
        dict(common, image=name, axis=axis, fraction=fraction, noise=noise)
        for name in SUBSETS[subset]
        for noise in NOISES
        for axis, fraction in conditions
    ]


# --- report ----------------------------------------------------------------------------------
def figure(examples: Path, path: Path) -> Path | None:
    files = sorted(examples.glob("*.npz"))
    if not files:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(files), 3, figsize=(9, 3.1 * len(files)), squeeze=False)
    for row, file in zip(axes, files, strict=True):
        data = np.load(file)
        for ax, key, title in zip(
            row, ("damaged", "noise2x", "clean"), ("damaged", "noise2x", "clean"), strict=True
        ):
            ax.imshow(data[key][0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_title(f"{title} ({file.stem})" if key == "damaged" else title, fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="all 12 Set12 images (hours)")
    parser.add_argument("--quick", action="store_true", help="smoke test on a 64x64 crop")
    parser.add_argument("--net", action="store_true", help="also the net denoiser (20%% rows)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    parser.add_argument("--out", type=Path, default=RESULTS / "lines.json")
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args(argv)
    examples = Path("runs/bench-lines/examples")  # restored images of the figure (not committed)
    if args.table_only:
        text = lines_report.save(json.loads(args.out.read_text()), args.out)
        figure(examples, args.out.with_suffix(".png"))
        print(text)
        return 0
    if not (DATA / "Set12").is_dir():
        print(f"data folder {DATA / 'Set12'} not found (set NOISE2X_DATA)", file=sys.stderr)
        return 1
    import torch

    jobs = build_jobs(args, examples)
    result = dict(
        benchmark="lines",
        subset="quick" if args.quick else "full" if args.full else "default",
        date=dt.date.today().isoformat(),
        machine=machine(),
        torch=torch.__version__,
        command=" ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        workers=args.workers,
        threads=args.threads,
        rows=[],
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_suffix(".partial.json")
    started = time.perf_counter()
    with mp.get_context("spawn").Pool(args.workers, maxtasksperchild=1) as pool:
        for row in pool.imap_unordered(run_job, jobs):
            result["rows"].append(row)
            partial.write_text(json.dumps(result, indent=1))
    result["total_seconds"] = time.perf_counter() - started
    text = lines_report.save(result, args.out)
    partial.unlink(missing_ok=True)
    figure(examples, args.out.with_suffix(".png"))
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
