"""Pair-downsampler study: ZS-N2N with every downsampler, and Neighbor2Neighbor vs N2N vs N2C.

Part 1, the study. For every image, Gaussian sigma in {25, 50, 100} (0-255 scale, noise drawn
once per image and sigma with the seed formula of ``benchmarks/zsn2n.py``, not clipped) and
every pair downsampler of ``noise2x.ops.downsamplers.DOWNSAMPLERS``: ZS-N2N with the library's
defaults (the paper's 2000 steps, lr 1e-3 halved at 1500, seed 0) and only the downsampler
changed. PSNR (dB) / SSIM of the denoised image against the clean one (clipped to [0, 1]),
and the PSNR every ``--log-every`` steps (the training curves). Every downsampler sees the
same noisy input and starts from the same initial weights.

Part 2, Neighbor2Neighbor (``--ne2ne``, on by default). ``noise2x train method=ne2ne`` on
Train400 with exactly the training of ``benchmarks/n2n.py`` (the paper's U-Net, 6000 steps of
8 crops of 64x64, Gaussian sigma = 25, the fixed noisy set, one thread; Ne2Ne reads only the
first noisy version of each image), evaluated on BSD68 on the same noisy inputs as
``benchmarks/n2n.py`` (checked: the noisy PSNR of every image must equal the one in
``results/n2n.json``). N2N and N2C are that benchmark's measured numbers (read from
``results/n2n.json``, not re-run).

Usage::

    python benchmarks/downsamplers.py             # default subset, ~1 h on 2 cores
    python benchmarks/downsamplers.py --full      # Set12 + first 12 CBSD68, whole (~2 days)
    python benchmarks/downsamplers.py --no-ne2ne  # the study only
    python benchmarks/downsamplers.py --quick --out /tmp/ds.json   # smoke run, ~1 minute
    python benchmarks/downsamplers.py --table-only   # re-render the Markdown from the JSON

Default subset: Set12/01 (256x256) whole, and the first CBSD68 image (101085.png, colour)
cropped to its central 128x128, so that 2 x 27 ZS-N2N trainings and one Ne2Ne training fit in
about an hour on this project's 2-core CPU (ZS-N2N: ~2.4 minutes per 256x256 grey image on
one core). Jobs run in ``--workers`` processes with ``--threads`` torch threads each.

Writes ``benchmarks/results/downsamplers.json`` (every job, with its PSNR curve; machine, date,
command; and the rendering ``noise2x report`` shows: ``markdown`` and chart specs, from
``benchmarks/downsamplers_report.py``), ``downsamplers.md`` (the tables),
``downsamplers_curves.png`` (PSNR per step, one panel per noise level, one line per
downsampler) and ``downsamplers_grid.png`` (clean / noisy / every downsampler's result for one
image at every sigma).
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

import downsamplers_report  # benchmarks/downsamplers_report.py: this script's rendering
import numpy as np

from noise2x.report.machine import machine

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("NOISE2X_DATA", HERE.parent.parent / "shared" / "data"))
RESULTS = HERE / "results"
SIGMAS = (25, 50, 100)
# (dataset, image, centre crop or None)
SUBSETS = {
    "default": [("Set12", "01.png", None), ("CBSD68", "101085.png", 128)],
    "full": None,  # all of Set12 and the first 12 of CBSD68, whole
    "quick": [("Set12", "01.png", 64)],
}
FIGURE = ("Set12", "01.png")  # the image of the figure grid
NE2NE_STEPS = 6000  # benchmarks/n2n.py's training, whose N2N/N2C numbers are compared


# --- part 1: one ZS-N2N training -------------------------------------------------------------
def job_seed(dataset: str, name: str, noise: str) -> int:
    """Return the noise seed of ``benchmarks/zsn2n.py`` (same noisy gauss25 / gauss50 inputs)."""
    return sum(map(ord, f"{dataset}/{name}/{noise}")) % 10_000


def load_clean(dataset: str, name: str, crop: int | None) -> np.ndarray:
    from noise2x.data.io import read_image

    clean, _ = read_image(DATA / dataset / name)
    if crop:
        _, h, w = clean.shape
        top, left = (h - crop) // 2, (w - crop) // 2
        clean = clean[:, top : top + crop, left : left + crop]
    return np.ascontiguousarray(clean)


def study_job(job: dict) -> dict:
    import torch

    from noise2x.methods.zsn2n import ZeroShotNoise2Noise
    from noise2x.metrics import psnr_np, ssim_np
    from noise2x.noise import add_noise

    torch.set_num_threads(job["threads"])
    dataset, name, crop, sigma = job["dataset"], job["image"], job["crop"], job["sigma"]
    clean = load_clean(dataset, name, crop)
    noise = f"gauss{sigma}"
    seed = job_seed(dataset, name, noise)
    noisy = add_noise(torch.from_numpy(clean)[None], "gaussian", seed=seed, sigma=float(sigma))
    method = ZeroShotNoise2Noise(downsampler=job["downsampler"], **job.get("params", {}))
    result = method.fit(
        noisy, reference=torch.from_numpy(clean)[None], device="cpu", log_every=job["log_every"]
    )
    out = np.clip(result.denoised[0].numpy(), 0.0, 1.0)
    if job.get("examples") and (dataset, name) == FIGURE:
        folder = Path(job["examples"])
        folder.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            folder / f"{noise}_{job['downsampler']}.npz",
            clean=clean,
            noisy=noisy[0].numpy(),
            denoised=out,
        )
    row = dict(
        part="study",
        dataset=dataset,
        image=name,
        crop=crop,
        shape=list(clean.shape),
        noise=noise,
        downsampler=job["downsampler"],
        steps=method.config.steps,
        noisy_psnr_db=psnr_np(np.clip(noisy[0].numpy(), 0, 1), clean, 1.0),
        psnr_db=psnr_np(out, clean, 1.0),
        ssim=ssim_np(out, clean, 1.0),
        psnr_history=[[int(s), float(p)] for s, p in result.psnr_history],
        seconds=result.seconds,
    )
    print(
        f"{dataset}/{name} {noise} {job['downsampler']}: {row['psnr_db']:.2f} dB, "
        f"{row['seconds']:.0f} s",
        flush=True,
    )
    return row


# --- part 2: Neighbor2Neighbor on Train400, evaluated like benchmarks/n2n.py ------------------
def ne2ne_job(job: dict) -> dict:
    import n2n as n2n_bench  # benchmarks/n2n.py: the script's folder is on sys.path
    import torch

    from noise2x.data.io import list_images, read_image
    from noise2x.metrics import psnr_np, ssim_np
    from noise2x.train.checkpoint import load_denoiser
    from noise2x.train.runs import train

    torch.set_num_threads(job["threads"])
    overrides = n2n_bench.training_overrides("gauss25", "n2n", job["steps"], Path(job["runs"]))
    overrides += ["method=ne2ne"]
    trained = train(overrides)
    denoiser = load_denoiser(trained.last_checkpoint)
    images = []
    paths = list_images([DATA / "BSD68"])[: job.get("limit")]
    for i, path in enumerate(paths):
        clean, _ = read_image(path)
        if clean.shape[0] == 3:
            clean = np.tensordot(np.array([0.299, 0.587, 0.114], np.float32), clean, axes=1)[None]
        noisy = n2n_bench.noisy_image(clean, "gauss25", i)  # benchmarks/n2n.py's seed
        start = time.perf_counter()
        with torch.inference_mode():
            out = denoiser(torch.from_numpy(noisy)[None])[0].numpy()
        seconds = time.perf_counter() - start
        out = np.clip(out, 0.0, 1.0)
        images.append(
            dict(
                image=Path(path).name,
                noisy_psnr_db=round(psnr_np(np.clip(noisy, 0, 1), clean, 1.0), 3),
                psnr_db=round(psnr_np(out, clean, 1.0), 3),
                ssim=round(ssim_np(out, clean, 1.0), 4),
                seconds=round(seconds, 2),
            )
        )
    print(f"ne2ne: {np.mean([r['psnr_db'] for r in images]):.2f} dB on BSD68", flush=True)
    return dict(
        part="ne2ne",
        noise="gauss25",
        set="BSD68",
        steps=trained.steps,
        train_seconds=round(trained.seconds, 1),
        val_psnr_db=trained.val_psnr_db,
        checkpoint=str(trained.last_checkpoint),
        images=images,
    )


def attach_n2n(row: dict, n2n_json: Path) -> dict:
    """Add benchmarks/n2n.py's N2N and N2C numbers of the same images; check the inputs agree.

    The noisy PSNR is computed here on the clipped noisy image; n2n.json stores it on the
    clipped one too (``score`` clips every result), so they must agree to rounding.
    """
    reference = json.loads(n2n_json.read_text())
    by_image = {
        r["image"]: r
        for r in reference["images"]
        if r["noise"] == row["noise"] and r["set"] == row["set"]
    }
    for image in row["images"]:
        ref = by_image.get(image["image"])
        if ref is None:
            raise SystemExit(f"{n2n_json}: no {row['set']}/{image['image']} {row['noise']} row")
        if abs(ref["noisy"]["psnr_db"] - image["noisy_psnr_db"]) > 2e-3:
            raise SystemExit(
                f"{n2n_json}: noisy input of {image['image']} differs "
                f"({ref['noisy']['psnr_db']} vs {image['noisy_psnr_db']} dB)"
            )
        for mode in ("n2n", "n2c", "bm3d"):
            image[mode] = {k: ref[mode][k] for k in ("psnr_db", "ssim")}
    row["reference"] = dict(
        file=str(n2n_json.relative_to(HERE.parent))
        if n2n_json.is_relative_to(HERE.parent)
        else str(n2n_json),
        date=reference["date"],
        steps=reference["steps"],
    )
    return row


# --- jobs, machine, figures ------------------------------------------------------------------
def build_jobs(args, examples: Path) -> list[dict]:
    from noise2x.data.io import list_images
    from noise2x.ops.downsamplers import DOWNSAMPLERS

    subset = "quick" if args.quick else "full" if args.full else "default"
    images = SUBSETS[subset]
    if images is None:
        images = [("Set12", p.name, None) for p in list_images([DATA / "Set12"])]
        images += [("CBSD68", p.name, None) for p in list_images([DATA / "CBSD68"])[:12]]
    sigmas = (25,) if args.quick else SIGMAS
    common = dict(threads=args.threads, examples=str(examples), log_every=args.log_every)
    if args.quick:
        common.update(params=dict(steps=20, decay_every=15), log_every=5)
    jobs = []
    if args.ne2ne:
        jobs.append(
            dict(
                part="ne2ne",
                threads=args.threads,
                steps=20 if args.quick else NE2NE_STEPS,
                limit=3 if args.quick else None,
                runs=str(args.runs),
            )
        )
    for sigma in sigmas:
        for dataset, name, crop in images:
            for downsampler in DOWNSAMPLERS.names():
                jobs.append(
                    dict(
                        common,
                        part="study",
                        dataset=dataset,
                        image=name,
                        crop=crop,
                        sigma=sigma,
                        downsampler=downsampler,
                    )
                )
    return jobs


def run_job(job: dict) -> dict:
    return ne2ne_job(job) if job["part"] == "ne2ne" else study_job(job)


def grid_figure(examples: Path, path: Path) -> Path | None:
    """Clean / noisy / every downsampler's result, one row per sigma."""
    files = sorted(examples.glob("gauss*_*.npz")) if examples.is_dir() else []
    if not files:
        return None
    from matplotlib.figure import Figure

    noises = sorted({f.stem.split("_", 1)[0] for f in files}, key=lambda n: int(n[5:]))
    names = sorted({f.stem.split("_", 1)[1] for f in files}, key=lambda n: (n != "diagonal", n))
    cols = 2 + len(names)
    fig = Figure(figsize=(1.9 * cols, 2.4 * len(noises)), layout="constrained")
    axes = fig.subplots(len(noises), cols, squeeze=False)
    from noise2x.metrics import psnr_np

    for row, noise in zip(axes, noises, strict=True):
        first = np.load(examples / f"{noise}_{names[0]}.npz")
        clean = first["clean"]
        panels = [("clean", clean), (f"noisy {noise}", np.clip(first["noisy"], 0, 1))]
        for name in names:
            file = examples / f"{noise}_{name}.npz"
            if file.exists():
                out = np.load(file)["denoised"]
                panels.append((f"{name}\n{psnr_np(out, clean, 1.0):.2f} dB", out))
        for ax, (title, image) in zip(row, panels, strict=False):
            shown = image[0] if image.shape[0] == 1 else np.moveaxis(image, 0, -1)
            ax.imshow(shown, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_title(title, fontsize=7)
        for ax in row:
            ax.axis("off")
    fig.savefig(path, dpi=80)
    return path


def write_outputs(result: dict, out: Path, examples: Path | None) -> None:
    from noise2x.report.figures import matplotlib_missing

    downsamplers_report.save(result, out)
    reason = matplotlib_missing()
    if reason:
        print(f"figures skipped: {reason}", file=sys.stderr)
        return
    prefix = f"curves_{FIGURE[0]}_".lower()
    curves = [c for c in downsamplers_report.charts(result) if c.name.startswith(prefix)]
    if curves:
        _curve_panels(curves, out.with_name(out.stem + "_curves.png"))
    if examples is not None:
        grid_figure(examples, out.with_name(out.stem + "_grid.png"))


def _curve_panels(curves: list, path: Path) -> None:
    """Draw the report's curve charts side by side in one PNG (the README figure)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.2 * len(curves), 4.0))
    axes = fig.subplots(1, len(curves), squeeze=False)[0]
    for ax, chart in zip(axes, curves, strict=True):
        for label, (xs, ys) in chart.series.items():
            ax.plot(xs, ys, label=label, linewidth=1.2)
        ax.set_title(chart.title, fontsize=9)
        ax.set_xlabel(chart.xlabel)
        ax.set_ylabel(chart.ylabel)
        ax.grid(alpha=0.3)
    axes[-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="Set12 + 12 CBSD68, whole (days)")
    parser.add_argument("--quick", action="store_true", help="smoke test, meaningless numbers")
    parser.add_argument("--ne2ne", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--log-every", type=int, default=100, help="PSNR curve period (steps)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    parser.add_argument("--runs", type=Path, default=Path("runs/bench-downsamplers"))
    parser.add_argument("--n2n-json", type=Path, default=RESULTS / "n2n.json")
    parser.add_argument("--out", type=Path, default=RESULTS / "downsamplers.json")
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args(argv)
    if args.table_only:
        result = json.loads(args.out.read_text())
        write_outputs(result, args.out, args.runs / "examples")
        print(args.out.with_suffix(".md").read_text())
        return 0
    for folder in ("Set12", "CBSD68") + (("Train400", "BSD68") if args.ne2ne else ()):
        if not (DATA / folder).is_dir():
            print(f"data folder {DATA / folder} not found (set NOISE2X_DATA)", file=sys.stderr)
            return 1
    if args.ne2ne and not args.n2n_json.is_file():
        print(f"{args.n2n_json}: missing (run benchmarks/n2n.py first)", file=sys.stderr)
        return 1
    import torch

    examples = args.runs / "examples"  # denoised images of the grid (not committed)
    jobs = build_jobs(args, examples)
    result = dict(
        benchmark="downsamplers",
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
            if row["part"] == "ne2ne" and not args.quick:
                row = attach_n2n(row, args.n2n_json)
            result["rows"].append(row)
            partial.write_text(json.dumps(result, indent=1))
    result["total_seconds"] = time.perf_counter() - started
    write_outputs(result, args.out, examples)
    partial.unlink(missing_ok=True)
    print(args.out.with_suffix(".md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
