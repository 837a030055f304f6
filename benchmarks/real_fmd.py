"""Real-noise benchmark: Noise2Noise trained on real capture pairs vs ZS-N2N vs BM3D on FMD.

Data: ../shared/data/real/FMD_Confocal_BPAE_B (FMD, Zhang et al. CVPR 2019; confocal, BPAE
cells, blue channel): 20 fields of view, 10 real noisy 8-bit captures each in ``raw/<fov>/``,
and FMD's ground truth ``gt/<fov>/avg50.png`` (the mean of 50 captures, 8-bit).

1. **Train** Noise2Noise (the paper's U-Net ``net=unet_n2n``, L2 loss, the default precision:
   bf16 autocast where the CPU has it) with ``noise2x train data=captures`` on fields 1-16:
   each step draws 8 random 64x64 crops, each from a random ordered pair of two captures of a
   field. Fields 15-16 are held out for validation (``data.val_count=2``; a noisy-target PSNR
   that picks ``best.ckpt``), so the net is trained on fields 1-14. Fields 17-20 are never
   seen in training or model selection. The *last* checkpoint is evaluated (chosen before
   looking at test numbers; the rate ramps down to 0 at the end); ``best.ckpt`` is evaluated
   too and kept in the JSON only.
2. **Evaluate** on fields 17-20, on the *first* capture of each field
   (``HV110_P0500510000.png``), against avg50:

   - ``raw``: the capture itself;
   - ``n2n``: ``noise2x.denoise(raw, checkpoint=last.ckpt)``;
   - ``zsn2n``: ``noise2x.denoise(raw, method="zsn2n")``, the library defaults (2000 steps);
   - ``bm3d``: ``bm3d.bm3d(raw, sigma)`` with sigma from ``skimage.restoration.estimate_sigma``
     of the capture (one sigma for the whole image: no noise model, no Anscombe transform,
     although FMD's noise is Poisson-Gaussian);
   - ``avg``: the mean of the field's 10 captures, a reference point (not a single-image
     method). These 10 captures are 10 of the 50 that make avg50, so it is optimistic.

   Images are read with ``noise2x.data.io.read_image`` (uint8 / 255, i.e. the [0, 1] scale);
   ``noise2x.denoise`` keeps them on that scale (``normalize="auto"``: they already are). Every
   result is clipped to [0, 1]; PSNR (dB) and SSIM use data range 1.0. Seconds are wall time
   per image with one torch thread per worker process (``--workers`` of them side by side).

Usage::

    python benchmarks/real_fmd.py                          # train --steps, evaluate, ~45 min
    python benchmarks/real_fmd.py --quick                  # smoke test, < 3 min, writes to /tmp
    python benchmarks/real_fmd.py --table-only             # re-render table and figure from JSON

Threads: with the CPU shared with other work, two torch threads for training were measured at
0.5-2.6 s per step here against 0.22-0.24 s with one thread (two threads wait for each other
when one of them is descheduled), so on a busy machine pass ``--threads 1``.

Writes ``benchmarks/results/real_fmd.json`` (config, machine, date, training, per-image rows,
and the rendering ``noise2x report`` shows: ``markdown`` and chart specs, from
``benchmarks/real_fmd_report.py``; ``real_fmd.partial.json`` during evaluation),
``real_fmd.md`` and ``real_fmd.png`` (crops of field 19). Training runs and the denoised
images (``.npy``) go to ``--runs`` (default ``runs/bench-fmd``, git-ignored).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import real_fmd_report  # benchmarks/real_fmd_report.py: the rendering of this script's results

from noise2x.report.machine import machine

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("NOISE2X_DATA", HERE.parent.parent / "shared" / "data"))
FMD = DATA / "real" / "FMD_Confocal_BPAE_B"
RESULTS = HERE / "results"
TRAIN_FIELDS = [str(i) for i in range(1, 17)]  # the last VAL_COUNT of them validate
VAL_COUNT = 2
TEST_FIELDS = ["17", "18", "19", "20"]
FIGURE_FIELD = "19"  # FMD's own test field of view
CROP = 192


# --- training --------------------------------------------------------------------------------
def training_overrides(steps: int, threads: int, runs: Path) -> list[str]:
    every = max(1, steps // 10)
    return [
        "data=captures",
        f"data.root={FMD / 'raw'}",
        f"data.fields=[{','.join(TRAIN_FIELDS)}]",
        f"data.val_count={VAL_COUNT}",
        "data.patch_size=64",
        "data.batch_size=8",
        "data.num_workers=0",
        "net=unet_n2n",
        "loss=l2",
        f"trainer.max_steps={steps}",
        f"trainer.val_every_n_steps={every}",
        f"trainer.checkpoint_every_n_steps={every}",
        f"trainer.threads={threads}",
        "trainer.progress_bar=false",
        "logger=none",
        f"run.root={runs}",
    ]


def train_n2n(steps: int, threads: int, runs: Path) -> dict:
    from noise2x.train.checkpoint import load_denoiser
    from noise2x.train.runs import train

    overrides = training_overrides(steps, threads, runs)
    result = train(overrides)
    best = result.best_checkpoint
    return {
        "overrides": overrides,
        "run_dir": str(result.run_dir),
        "steps": result.steps,
        "seconds": round(result.seconds, 1),
        "seconds_per_step": round(result.seconds / max(1, result.steps), 4),
        "val_psnr_db_last": result.val_psnr_db,
        "val_ssim_last": result.val_ssim,
        "last_checkpoint": str(result.last_checkpoint),
        "best_checkpoint": str(best) if best else None,
        "best_step": load_denoiser(best).step if best else None,
    }


# --- evaluation ------------------------------------------------------------------------------
def first_capture(field: str) -> Path:
    from noise2x.data.pairs import list_captures

    return list_captures(FMD / "raw", [field])[field][0]


def run_bm3d(raw: np.ndarray) -> tuple[np.ndarray, float]:
    import bm3d
    from skimage.restoration import estimate_sigma

    image = raw[0].astype(np.float64)
    sigma = float(estimate_sigma(image))
    return np.asarray(bm3d.bm3d(image, sigma), np.float32)[None], sigma


def eval_job(job: tuple) -> dict:
    """Denoise the first capture of one field with one method; score it against avg50."""
    import torch

    import noise2x
    from noise2x.data.io import read_image
    from noise2x.data.pairs import list_captures
    from noise2x.metrics import psnr_np, ssim_np

    field, method, checkpoint, zsn2n_steps, outputs = job
    torch.set_num_threads(1)
    path = first_capture(field)
    raw, _ = read_image(path)
    gt, _ = read_image(FMD / "gt" / field / "avg50.png")
    row: dict = {"field": field, "method": method, "capture": path.name}
    if method.startswith("n2n"):  # load (and cache) the net outside the timed call
        noise2x.denoise(raw[:, :64, :64], checkpoint=checkpoint, device="cpu")
    start = time.perf_counter()
    if method == "raw":
        out = raw
    elif method in ("n2n", "n2n_best"):
        out = noise2x.denoise(raw, checkpoint=checkpoint, device="cpu")
    elif method == "zsn2n":
        params = {} if zsn2n_steps is None else {"steps": zsn2n_steps}
        out = noise2x.denoise(raw, method="zsn2n", device="cpu", **params)
        from noise2x.methods.zsn2n import ZSN2NConfig

        row["steps"] = zsn2n_steps or ZSN2NConfig().steps
    elif method == "bm3d":
        out, sigma = run_bm3d(raw)
        row["sigma_estimated"] = round(sigma, 6)
        row["sigma_estimated_255"] = round(sigma * 255.0, 3)
    elif method == "avg":
        files = list_captures(FMD / "raw", [field])[field]
        out = np.mean([read_image(p)[0] for p in files], axis=0, dtype=np.float64)
        out = out.astype(np.float32)
        row["captures"] = len(files)
    else:
        raise ValueError(f"unknown method {method!r}")
    seconds = time.perf_counter() - start
    out = np.clip(out, 0.0, 1.0).astype(np.float32)
    row["psnr_db"] = round(psnr_np(out, gt, data_range=1.0), 3)
    row["ssim"] = round(ssim_np(out, gt, data_range=1.0), 4)
    row["seconds"] = round(seconds, 2) if method != "raw" else 0.0
    folder = Path(outputs) / field
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / f"{method}.npy", out)
    print(
        f"field {field} {method}: {row['psnr_db']:.2f} dB {row['ssim']:.4f} {seconds:.1f} s",
        flush=True,
    )
    return row


def build_jobs(fields: list[str], training: dict, zsn2n_steps, outputs: Path) -> list[tuple]:
    checkpoints = {
        "n2n": training["last_checkpoint"],
        "n2n_best": training["best_checkpoint"],
    }
    methods = ["zsn2n", "bm3d", "n2n", "n2n_best", "avg", "raw"]  # longest first
    return [
        (field, m, checkpoints.get(m), zsn2n_steps, str(outputs))
        for m in methods
        for field in fields
        if not (m == "n2n_best" and checkpoints["n2n_best"] is None)
    ]


# --- figure ----------------------------------------------------------------------------------
def crop_window(gt: np.ndarray, size: int) -> tuple[int, int]:
    """Top-left corner of the size x size window (stride size/4) with the brightest mean."""
    step = size // 4
    h, w = gt.shape
    best, corner = -1.0, (0, 0)
    for y in range(0, h - size + 1, step):
        for x in range(0, w - size + 1, step):
            value = float(gt[y : y + size, x : x + size].mean())
            if value > best:
                best, corner = value, (y, x)
    return corner


def figure(report: dict, path: Path) -> bool:
    """Crops of one test field: raw / N2N / ZS-N2N / BM3D / mean of captures / avg50."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from noise2x.data.io import read_image

    fields = sorted({r["field"] for r in report["rows"]}, key=int)
    field = FIGURE_FIELD if FIGURE_FIELD in fields else fields[0]
    folder = Path(report["outputs"]) / field
    panels = [m for m in real_fmd_report.METHODS if (folder / f"{m}.npy").is_file()]
    if not panels:
        print(f"no denoised images in {folder}: figure not drawn", file=sys.stderr)
        return False
    gt = read_image(FMD / "gt" / field / "avg50.png")[0][0]
    y, x = crop_window(gt, CROP)
    window = (slice(y, y + CROP), slice(x, x + CROP))
    vmax = float(np.percentile(gt[window], 99.5))
    images = [(m, np.load(folder / f"{m}.npy")[0]) for m in panels] + [("avg50", gt)]
    cols = 3
    rows = -(-len(images) // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.2 * cols, 3.5 * rows + 0.5), squeeze=False, layout="constrained"
    )
    for ax in axes.ravel()[len(images) :]:
        ax.axis("off")
    for ax, (name, image) in zip(axes.ravel(), images, strict=False):
        ax.imshow(image[window], cmap="gray", vmin=0.0, vmax=vmax, interpolation="nearest")
        score = real_fmd_report.method_rows(report, name, field)
        title = real_fmd_report.LABELS[name]
        if score:
            title += f"\n{score[0]['psnr_db']:.2f} dB / {score[0]['ssim']:.3f}"
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.suptitle(
        f"FMD Confocal BPAE_B, field {field}, capture {report['config']['capture']}\n"
        f"{CROP}×{CROP} crop at row {y}, col {x}; display 0–{vmax * 255:.0f} of 255 "
        "(stretched); PSNR / SSIM of the whole 512×512 image vs avg50",
        fontsize=9,
    )
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_outputs(report: dict, out: Path) -> None:
    text = real_fmd_report.save(report, out)
    figure(report, out.with_suffix(".png"))
    print(text, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="training steps (default 5000)")
    parser.add_argument("--threads", type=int, default=2, help="training threads (1 if busy)")
    parser.add_argument("--workers", type=int, default=2, help="evaluation processes (1 thread)")
    parser.add_argument("--runs", type=Path, default=None, help="default runs/bench-fmd")
    parser.add_argument("--out", type=Path, default=None, help="JSON path (default: results)")
    parser.add_argument("--quick", action="store_true", help="30 steps, field 17, ZS-N2N 100 steps")
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args(argv)
    if args.out is None:
        quick_dir = Path(tempfile.gettempdir()) / "noise2x-real_fmd-quick"
        args.out = quick_dir / "real_fmd.json" if args.quick else RESULTS / "real_fmd.json"
    if args.runs is None:
        args.runs = args.out.parent / "runs" if args.quick else Path("runs/bench-fmd")
    if args.table_only:
        write_outputs(json.loads(args.out.read_text()), args.out)
        return 0
    if not (FMD / "raw").is_dir() or not (FMD / "gt").is_dir():
        print(f"data folder {FMD} not found (set NOISE2X_DATA)", file=sys.stderr)
        return 1
    steps = args.steps or (30 if args.quick else 5000)
    fields = TEST_FIELDS[:1] if args.quick else TEST_FIELDS
    zsn2n_steps = 100 if args.quick else None
    load_start = os.getloadavg()[0]
    from noise2x.methods.zsn2n import ZSN2NConfig
    from noise2x.train.runs import resolve_precision

    report = {
        "benchmark": "real_fmd",
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "command": " ".join(["python", *sys.argv]),
        "load_start": load_start,
        "cpu_shared": load_start > 2.0,
        "workers": args.workers,
        "config": {
            "data": str(FMD),
            "train_fields": TRAIN_FIELDS[:-VAL_COUNT],
            "val_fields": TRAIN_FIELDS[-VAL_COUNT:],
            "test_fields": fields,
            "capture": first_capture(fields[0]).name,
            "net": "unet_n2n",
            "loss": "l2",
            "patch_size": 64,
            "batch_size": 8,
            "steps": steps,
            "precision": resolve_precision("auto", "cpu"),
            "train_threads": args.threads,
            "evaluated_checkpoint": "last",
            "zsn2n": {**ZSN2NConfig().__dict__, **({"steps": zsn2n_steps} if zsn2n_steps else {})},
            "bm3d": "bm3d.bm3d(capture, sigma=skimage.restoration.estimate_sigma(capture))",
            "scale": "read_image: uint8 / 255; results clipped to [0, 1]; data_range 1.0",
            "quick": args.quick,
        },
        "rows": [],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    print(f"training {steps} steps ({args.threads} thread(s)), load {load_start:.2f}", flush=True)
    report["training"] = train_n2n(steps, args.threads, args.runs)
    print(json.dumps(report["training"]), flush=True)
    outputs = Path(report["training"]["run_dir"]) / "outputs"
    report["outputs"] = str(outputs)
    jobs = build_jobs(fields, report["training"], zsn2n_steps, outputs)
    partial = args.out.with_suffix(".partial.json")
    started = time.perf_counter()
    with mp.get_context("spawn").Pool(args.workers) as pool:
        for row in pool.imap_unordered(eval_job, jobs):
            report["rows"].append(row)
            partial.write_text(json.dumps(report, indent=1))
    report["rows"].sort(key=lambda r: (int(r["field"]), r["method"]))
    report["eval_seconds"] = round(time.perf_counter() - started, 1)
    report["load_end"] = os.getloadavg()[0]
    write_outputs(report, args.out)
    partial.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
