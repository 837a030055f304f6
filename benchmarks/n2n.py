"""Noise2Noise benchmark: N2N vs N2C (same net, steps, seed) vs BM3D on BSD68 and Set12.

For each noise (Gaussian sigma=25, Poisson lambda=30):

1. train the paper's U-Net (``net=unet_n2n``, 988,609 parameters) on ../shared/data/Train400
   (400 images; the last 4 are held out for validation) with noisy targets (``data.mode=n2n``)
   and with clean targets (``data.mode=n2c``): same steps, batch, crops, seed, and the fixed
   noisy training set of ``noise2x train`` (each image's two noisy versions drawn once). The
   two trainings run side by side, one process and one torch thread each;
2. denoise every image of BSD68 and Set12 (noise drawn once per image, seed = image index,
   not clipped) with the last checkpoint of each, and with BM3D (true sigma for Gaussian
   noise; sigma from ``skimage.restoration.estimate_sigma`` for Poisson noise);
3. PSNR (dB) / SSIM against the clean image, every result clipped to [0, 1].

Usage::

    python benchmarks/n2n.py                       # both noises, --steps per training
    python benchmarks/n2n.py --noises gauss25 --steps 500
    python benchmarks/n2n.py --table-only          # re-render the Markdown from the JSON

Writes ``benchmarks/results/n2n.json`` (config, machine, date, per-image numbers, training
times, and the rendering ``noise2x report`` shows: ``markdown`` and chart specs) and
``n2n.md``. Training runs go to ``--runs`` (default ``runs/bench-n2n``).

JSON: ``{"benchmark": "n2n", "date", "machine", "steps", "precision", "noises": [...],
"training": [{"noise", "mode", "steps", "seconds", "val_psnr_db", ...}], "images": [{"noise",
"set", "image", "noisy": {...}, "n2n": {...}, "n2c": {...}, "bm3d": {...}}]}``, each method
``{"psnr_db", "ssim", ...}``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from noise2x.report import BarChart, with_rendering, write_result
from noise2x.report.figures import Chart
from noise2x.report.tables import mean, psnr_ssim, table_lines

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("NOISE2X_DATA", HERE.parent.parent / "shared" / "data"))
RESULTS = HERE / "results"
NOISES = {
    "gauss25": ("gaussian", {"sigma": 25.0}),
    "poisson30": ("poisson", {"lam": 30.0}),
}
SETS = ["BSD68", "Set12"]


def training_overrides(noise: str, mode: str, steps: int, runs: Path) -> list[str]:
    name, params = NOISES[noise]
    return [
        f"data.root={DATA / 'Train400'}",
        f"data.mode={mode}",
        "data.patch_size=64",
        "data.batch_size=8",
        "data.num_workers=0",
        "data.val_count=4",
        f"noise={name}",
        *[f"noise.{k}={v}" for k, v in params.items()],
        "net=unet_n2n",
        "loss=l2",
        f"trainer.max_steps={steps}",
        f"trainer.val_every_n_steps={max(1, steps // 4)}",
        f"trainer.checkpoint_every_n_steps={max(1, steps // 4)}",
        "trainer.threads=1",
        "trainer.progress_bar=false",
        "logger=none",
        f"run.root={runs / noise / mode}",
    ]


def train_job(job: tuple[str, str, int, str]) -> dict:
    noise, mode, steps, runs = job
    from noise2x.train.runs import train

    result = train(training_overrides(noise, mode, steps, Path(runs)))
    return {
        "noise": noise,
        "mode": mode,
        "steps": result.steps,
        "seconds": round(result.seconds, 1),
        "val_psnr_db": result.val_psnr_db,
        "checkpoint": str(result.last_checkpoint),
        "precision": _precision(),
    }


def _precision() -> str:
    import torch

    from noise2x.train.runs import resolve_precision

    return resolve_precision("auto", "cpu") + f" (torch {torch.__version__})"


# --- evaluation ------------------------------------------------------------------------------
_DENOISERS: dict = {}


def _init_eval(checkpoints: dict) -> None:
    import torch

    from noise2x.train.checkpoint import load_denoiser

    torch.set_num_threads(1)
    for key, path in checkpoints.items():
        _DENOISERS[key] = load_denoiser(path)


def noisy_image(clean: np.ndarray, noise: str, seed: int) -> np.ndarray:
    import torch

    from noise2x.noise import build_noise

    name, params = NOISES[noise]
    model = build_noise(name, **params)
    noisy = model(torch.from_numpy(clean)[None], torch.Generator().manual_seed(seed))
    return noisy[0].numpy()


def run_bm3d(noisy: np.ndarray, sigma: float | None) -> np.ndarray:
    import bm3d
    from skimage.restoration import estimate_sigma

    image = noisy[0].astype(np.float64)
    if sigma is None:
        sigma = float(estimate_sigma(image))
    return bm3d.bm3d(image, sigma)[None].astype(np.float32)


def eval_job(job: tuple[str, str, str, int]) -> dict:
    import torch

    from noise2x.data.io import read_image
    from noise2x.metrics import psnr_np, ssim_np

    noise, dataset, path, seed = job
    clean, _ = read_image(path)
    if clean.shape[0] == 3:
        clean = np.tensordot(np.array([0.299, 0.587, 0.114], np.float32), clean, axes=1)[None]
    noisy = noisy_image(clean, noise, seed)
    row = {"noise": noise, "set": dataset, "image": Path(path).name}

    def score(name: str, out: np.ndarray, seconds: float | None) -> None:
        out = np.clip(out, 0.0, 1.0)
        row[name] = {
            "psnr_db": round(psnr_np(out, clean, data_range=1.0), 3),
            "ssim": round(ssim_np(out, clean, data_range=1.0), 4),
        }
        if seconds is not None:
            row[name]["seconds"] = round(seconds, 2)

    score("noisy", noisy, None)
    for mode in ("n2n", "n2c"):
        start = time.perf_counter()
        with torch.inference_mode():
            out = _DENOISERS[(noise, mode)](torch.from_numpy(noisy)[None])[0].numpy()
        score(mode, out, time.perf_counter() - start)
    sigma = NOISES[noise][1].get("sigma")
    start = time.perf_counter()
    score(
        "bm3d",
        run_bm3d(noisy, None if sigma is None else sigma / 255.0),
        time.perf_counter() - start,
    )
    return row


# --- report ----------------------------------------------------------------------------------
TITLE = "Noise2Noise vs Noise2Clean vs BM3D"
LABELS = {
    "noisy": "noisy",
    "n2n": "N2N (noisy targets)",
    "n2c": "N2C (clean targets)",
    "bm3d": "BM3D",
}


def _groups(report: dict) -> dict[tuple[str, str], list[dict]]:
    """Per-image rows by (set, noise): noises in the JSON's order, then sets."""
    sets = list(dict.fromkeys([*SETS, *(r["set"] for r in report["images"])]))
    groups = {}
    for noise in report["noises"]:
        for dataset in sets:
            rows = [r for r in report["images"] if r["noise"] == noise and r["set"] == dataset]
            if rows:
                groups[dataset, noise] = rows
    return groups


def _mean(rows: list[dict], method: str, key: str) -> float:
    return mean(r[method][key] for r in rows)


def markdown(report: dict) -> str:
    """Return the tables written to ``n2n.md`` (and shown in the README).

    Parameters
    ----------
    report : dict
        The parsed ``n2n.json``.

    Returns
    -------
    str
        A caption, the test-set table and the training table; ends with a newline.
    """
    lines = [
        f"Noise2Noise benchmark, {report['date']}, {report['machine']}; "
        f"U-Net of the paper trained on Train400 ({report['steps']} steps of 8 crops of "
        f"64x64, one thread each, {report['precision']}); PSNR (dB) / SSIM, mean over n images.",
        "",
    ]
    body = []
    for (dataset, noise), rows in _groups(report).items():
        cells = [psnr_ssim(_mean(rows, m, "psnr_db"), _mean(rows, m, "ssim")) for m in LABELS]
        gap = _mean(rows, "n2n", "psnr_db") - _mean(rows, "n2c", "psnr_db")
        body.append([dataset, noise, str(len(rows)), *cells[:3], f"{gap:+.2f} dB", cells[3]])
    header = ["set", "noise", "n", *list(LABELS.values())[:3], "N2N − N2C", "BM3D"]
    lines += table_lines(header, body)
    lines.append("")
    training = [
        [
            job["noise"],
            job["mode"],
            str(job["steps"]),
            f"{job['seconds'] / 60:.1f} min",
            f"{job['val_psnr_db']:.2f} dB",
        ]
        for job in report["training"]
    ]
    header = ["noise", "targets", "steps", "training time", "val PSNR (4 held-out Train400)"]
    lines += table_lines(header, training)
    return "\n".join(lines) + "\n"


def charts(report: dict) -> list[Chart]:
    """Return the N2N vs N2C vs BM3D bar chart of mean PSNR per test set and noise.

    Parameters
    ----------
    report : dict
        The parsed ``n2n.json``.

    Returns
    -------
    list of BarChart
    """
    groups = _groups(report)
    return [
        BarChart(
            "psnr",
            "Noise2Noise vs Noise2Clean vs BM3D: mean PSNR",
            [f"{dataset} {noise} (n={len(rows)})" for (dataset, noise), rows in groups.items()],
            {
                label: [_mean(rows, m, "psnr_db") for rows in groups.values()]
                for m, label in LABELS.items()
            },
            "PSNR (dB)",
        )
    ]


def save(report: dict, out: Path) -> str:
    """Render `report` into itself; write it to `out` and the ``.md`` beside it; return that."""
    report = {"benchmark": "n2n", **report}
    rendered = with_rendering(report, title=TITLE, markdown=markdown(report), charts=charts(report))
    return write_result(rendered, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--noises", nargs="+", default=list(NOISES), choices=list(NOISES))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=Path, default=Path("runs/bench-n2n"))
    parser.add_argument("--out", type=Path, default=RESULTS / "n2n.json")
    parser.add_argument("--limit", type=int, default=None, help="images per test set (smoke runs)")
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    if args.table_only:
        print(save(json.loads(args.out.read_text()), args.out))
        return
    for folder in ["Train400", *SETS]:
        if not (DATA / folder).is_dir():
            sys.exit(f"missing data folder {DATA / folder} (set NOISE2X_DATA)")
    import torch

    report = {
        "benchmark": "n2n",
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{args.workers} worker(s) x 1 thread",
        "torch": torch.__version__,
        "steps": args.steps,
        "noises": args.noises,
        "command": " ".join(sys.argv),
        "training": [],
        "images": [],
    }
    from noise2x.data.io import list_images
    from noise2x.train.runs import resolve_precision

    report["precision"] = resolve_precision("auto", "cpu")
    ctx = mp.get_context("spawn")
    for noise in args.noises:
        jobs = [(noise, mode, args.steps, str(args.runs)) for mode in ("n2n", "n2c")]
        with ctx.Pool(args.workers) as pool:
            trained = pool.map(train_job, jobs)
        report["training"] += trained
        print(json.dumps(trained), flush=True)
        checkpoints = {(noise, t["mode"]): t["checkpoint"] for t in trained}
        eval_jobs = [
            (noise, dataset, str(path), i)
            for dataset in SETS
            for i, path in enumerate(list_images([DATA / dataset])[: args.limit])
        ]
        with ctx.Pool(args.workers, initializer=_init_eval, initargs=(checkpoints,)) as pool:
            for row in pool.imap(eval_job, eval_jobs):
                report["images"].append(row)
                args.out.write_text(json.dumps(report, indent=1))
        print(markdown(report), flush=True)
    save(report, args.out)


if __name__ == "__main__":
    main()
