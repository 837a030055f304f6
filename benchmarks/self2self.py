"""Self2Self benchmark: noise2x's Self2Self vs ZS-N2N vs BM3D on Set12, same noisy inputs.

For every (image, noise) job the same noisy input (fixed seed per image and noise, Gaussian
noise not clipped) goes to:

- ``self2self``: ``noise2x.denoise(noisy, method="self2self")`` with the library's CPU-sized
  default schedule (``Self2SelfConfig``); its PSNR every ``--log-every`` steps is kept in the
  JSON (the ensemble of ``passes`` passes against the clean image);
- ``zsn2n``: ``noise2x.denoise(noisy, method="zsn2n")`` with the library's defaults;
- ``bm3d``: the ``bm3d`` package with the true sigma;
- ``paper`` (only with ``--paper``): Self2Self with the paper's schedule (150,000 steps at
  lr 1e-4, 100 passes) on noise2x's fast implementation (bf16 autocast, channels-last where
  native; ``--paper-fp32`` for the paper's exact fp32), with its PSNR logged every
  ``--paper-log-every`` steps: the curve that says what the default schedule gives up. It
  costs about 21 hours per 256x256 image on one core of this machine (0.5 s per step), so it
  runs on ``--paper-images`` (default 01) at sigma = 25 only, in one worker while the other
  works through the rest; ``--paper-steps`` stops it early (30,000 steps: about 4 hours).

PSNR (dB) / SSIM against the clean image after clipping to [0, 1]; seconds are wall time per
image with ``--threads`` torch threads per worker process (``--workers 2 --threads 1``: two
jobs side by side, one core each).

Usage::

    python benchmarks/self2self.py                  # Set12 01, 02, 05 at sigma 25 and 50, ~40 min
    python benchmarks/self2self.py --full           # all of Set12 (five are 512x512), ~4 h
    python benchmarks/self2self.py --paper          # + the paper's schedule on 01, ~21 h
    python benchmarks/self2self.py --paper --paper-steps 30000   # its first 30k steps, ~4 h
    python benchmarks/self2self.py --quick --out /tmp/s2s.json   # smoke run, ~2 minutes
    python benchmarks/self2self.py --table-only     # re-render the Markdown from the JSON

Times are for this project's 2-core CPU with nothing else running: Self2Self's default
(1,000 steps, 32 passes) takes about 9 minutes per 256x256 image on one core, ZS-N2N about
2.5 minutes, BM3D 6 seconds.

Writes ``benchmarks/results/self2self.json`` (every job, machine, date, command, and the
rendering ``noise2x report`` shows: ``markdown`` and chart specs, from
``benchmarks/self2self_report.py``) and ``self2self.md``.
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

import numpy as np
import self2self_report  # benchmarks/self2self_report.py: the rendering of this script's results

from noise2x.report.machine import machine

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("NOISE2X_DATA", HERE.parent.parent / "shared" / "data"))
RESULTS = HERE / "results"
SIGMAS = {"gauss25": 25.0, "gauss50": 50.0}
SUBSETS = {
    # the images of benchmarks/lines.py: one 256x256 of each kind (smooth, texture, edges)
    "default": (["01.png", "02.png", "05.png"], ["gauss25", "gauss50"]),
    "full": ([f"{i:02d}.png" for i in range(1, 13)], ["gauss25", "gauss50"]),
    # smoke test: one 64x64 crop, a few steps (numbers meaningless)
    "quick": (["01.png"], ["gauss25"]),
}
METHODS = ["noisy", "self2self", "zsn2n", "bm3d"]
QUICK = dict(crop=64, self2self=dict(steps=20, passes=4), zsn2n=dict(steps=20))


def load_clean(name: str, crop: int | None) -> np.ndarray:
    from noise2x.data.io import read_image

    clean, _ = read_image(DATA / "Set12" / name)
    if crop:
        clean = np.ascontiguousarray(clean[:, :crop, :crop])
    return clean


def make_noisy(clean: np.ndarray, noise: str, seed: int) -> np.ndarray:
    import torch

    from noise2x.noise import add_noise

    noisy = add_noise(torch.from_numpy(clean)[None], "gaussian", seed=seed, sigma=SIGMAS[noise])
    return noisy[0].numpy()


def job_seed(name: str, noise: str) -> int:
    return sum(map(ord, f"Set12/{name}/{noise}")) % 10_000


def run_bm3d(noisy: np.ndarray, sigma: float) -> np.ndarray:
    import bm3d

    return np.asarray(bm3d.bm3d(noisy[0].astype(np.float64), sigma), np.float32)[None]


def run_job(job: dict) -> dict:
    from dataclasses import replace

    import torch

    import noise2x
    from noise2x.methods.self2self import Self2Self, Self2SelfConfig
    from noise2x.metrics import psnr_np, ssim_np

    torch.set_num_threads(job["threads"])
    name, noise, method = job["image"], job["noise"], job["method"]
    seed = job_seed(name, noise)
    clean = load_clean(name, job.get("crop"))
    noisy = make_noisy(clean, noise, seed)
    row = dict(image=name, noise=noise, method=method, shape=list(clean.shape))
    start = time.perf_counter()
    if method == "noisy":
        out = noisy
    elif method == "self2self":
        params = job.get("params", {})
        s2s = Self2Self(**params)
        result = s2s.fit(
            torch.from_numpy(noisy)[None],
            reference=torch.from_numpy(clean)[None],
            device="cpu",
            log_every=job["log_every"],
        )
        out = result.denoised[0].numpy()
        row.update(
            steps=s2s.config.steps,
            passes=s2s.config.passes,
            psnr_history=result.psnr_history,
        )
    elif method == "paper":
        config = Self2SelfConfig.paper()
        if not job["paper_fp32"]:
            config = Self2SelfConfig.paper(precision="auto", channels_last=True)
        if job.get("paper_steps"):
            config = replace(config, steps=job["paper_steps"])
        result = Self2Self(config).fit(
            torch.from_numpy(noisy)[None],
            reference=torch.from_numpy(clean)[None],
            device="cpu",
            log_every=job["paper_log_every"],
            progress=lambda done, total: (
                print(f"paper {name} {noise}: step {done}/{total}", flush=True)
                if done % 5000 == 0
                else None
            ),
        )
        out = result.denoised[0].numpy()
        row.update(
            steps=config.steps,
            passes=config.passes,
            precision=config.precision,
            psnr_history=result.psnr_history,
        )
    elif method == "zsn2n":
        out = noise2x.denoise(noisy, "zsn2n", device="cpu", **job.get("params", {}))
    elif method == "bm3d":
        out = run_bm3d(noisy, SIGMAS[noise] / 255.0)
    else:
        raise ValueError(f"unknown method {method!r}")
    seconds = time.perf_counter() - start
    out = np.clip(out, 0.0, 1.0)
    row.update(
        psnr_db=psnr_np(out, clean, 1.0),
        ssim=ssim_np(out, clean, 1.0),
        seconds=0.0 if method == "noisy" else seconds,
    )
    print(
        f"Set12/{name} {noise} {method}: {row['psnr_db']:.2f} dB {row['ssim']:.4f} {seconds:.1f} s",
        flush=True,
    )
    return row


def build_jobs(args) -> list[dict]:
    subset = "quick" if args.quick else "full" if args.full else "default"
    names, noises = SUBSETS[subset]
    common = dict(threads=args.threads, log_every=args.log_every)
    if args.quick:
        common["crop"] = QUICK["crop"]
        common["log_every"] = 10
    jobs = []
    for noise in noises:
        for name in names:
            for method in METHODS:
                job = dict(common, image=name, noise=noise, method=method)
                if args.quick and method in ("self2self", "zsn2n"):
                    job["params"] = QUICK[method]
                jobs.append(job)
            if args.paper and name[:2] in args.paper_images and noise == "gauss25":
                jobs.append(
                    dict(
                        common,
                        image=name,
                        noise=noise,
                        method="paper",
                        paper_fp32=args.paper_fp32,
                        paper_steps=args.paper_steps or (30 if args.quick else None),
                        paper_log_every=10 if args.quick else args.paper_log_every,
                    )
                )
    order = {"paper": 0, "self2self": 1, "zsn2n": 2, "bm3d": 3, "noisy": 4}
    return sorted(jobs, key=lambda j: order[j["method"]])  # longest first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="all of Set12 (hours)")
    parser.add_argument("--quick", action="store_true", help="smoke test on a 64x64 crop")
    parser.add_argument("--paper", action="store_true", help="also the paper's schedule")
    parser.add_argument("--paper-images", nargs="+", default=["01"], help="e.g. 01 02")
    parser.add_argument("--paper-steps", type=int, default=None, help="stop the paper run early")
    parser.add_argument("--paper-log-every", type=int, default=10_000)
    parser.add_argument("--paper-fp32", action="store_true", help="the paper's exact fp32")
    parser.add_argument("--log-every", type=int, default=500, help="PSNR log of the default")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    parser.add_argument("--out", type=Path, default=RESULTS / "self2self.json")
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args(argv)
    if args.table_only:
        print(self2self_report.save(json.loads(args.out.read_text()), args.out))
        return 0
    if not (DATA / "Set12").is_dir():
        print(f"data folder {DATA / 'Set12'} not found (set NOISE2X_DATA)", file=sys.stderr)
        return 1
    import torch

    jobs = build_jobs(args)
    result = dict(
        benchmark="self2self",
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
    text = self2self_report.save(result, args.out)
    partial.unlink(missing_ok=True)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
