"""Zero-Shot Noise2Noise benchmark: noise2x vs the paper's procedure vs BM3D, side by side.

For every (image, noise) job the same noisy input (fixed seed) goes to:

- ``noise2x``: ``noise2x.denoise(noisy, method="zsn2n")`` with the library's defaults;
- ``paper``: the paper's procedure as written (2000 steps, Adam lr 1e-3 halved at step 1500,
  fp32, default layout, the paper's conv-based pair downsampler), transcribed below from
  Mansour & Heckel, CVPR 2023 (arXiv:2303.11253) and their public notebook;
- ``bm3d``: the ``bm3d`` package with the true sigma for Gaussian noise, and with sigma
  estimated by ``skimage.restoration.estimate_sigma`` for Poisson noise.

PSNR/SSIM are computed against the clean image after clipping every result to [0, 1] (the
paper's procedure clips; an 8-bit output file clips too). Gaussian noise is not clipped.
Seconds are wall time per image, with ``--threads`` torch threads per worker process; with
``--workers 2 --threads 1`` two jobs share the two cores, one core each, for every method.

Usage::

    python benchmarks/zsn2n.py                 # default subset (see SUBSETS), ~1 h here
    python benchmarks/zsn2n.py --full          # every image of Set12 and CBSD68
    python benchmarks/zsn2n.py --table-only    # re-render the Markdown table from the JSON

Writes ``benchmarks/results/zsn2n.json`` (every job, machine, date, and the rendering
``noise2x report`` shows: ``markdown`` and chart specs, from ``benchmarks/zsn2n_report.py``)
and ``zsn2n.md``.
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
import zsn2n_report  # benchmarks/zsn2n_report.py: the rendering of this script's results

from noise2x.report.machine import machine

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("NOISE2X_DATA", HERE.parent.parent / "shared" / "data"))
RESULTS = HERE / "results"
NOISES = {
    "gauss25": ("gaussian", {"sigma": 25.0}),
    "gauss50": ("gaussian", {"sigma": 50.0}),
    "poisson50": ("poisson", {"lam": 50.0}),
}
SET12_256 = [f"{i:02d}.png" for i in range(1, 8)]
# The default subset, sized for about an hour on 2 cores (the paper's procedure costs ~9
# minutes per 256x256 image on one core here): every method on the seven 256x256 Set12 images
# at sigma=25 (the target), on Set12/01 at sigma=50 and Poisson lambda=50, and on one CBSD68
# color image at sigma=25.
SUBSETS = {
    "default": [
        ("Set12", SET12_256, ["gauss25"]),
        ("Set12", ["01.png"], ["gauss50", "poisson50"]),
        ("CBSD68", ["101085.png"], ["gauss25"]),
    ],
    "full": [
        ("Set12", [f"{i:02d}.png" for i in range(1, 13)], list(NOISES)),
        ("CBSD68", None, list(NOISES)),
    ],
}
METHODS = ["noise2x", "paper", "bm3d"]


# --- the paper's procedure, transcribed (Mansour & Heckel 2023) -----------------------------
def paper_zsn2n(noisy_chw: np.ndarray, seed: int) -> np.ndarray:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.manual_seed(seed)  # benchmark script, not library code
    device = "cpu"
    noisy_img = torch.from_numpy(noisy_chw)[None].to(device)
    n_chan = noisy_img.shape[1]

    class Network(nn.Module):
        def __init__(self, n_chan, chan_embed=48):
            super().__init__()
            self.act = nn.LeakyReLU(negative_slope=0.2, inplace=True)
            self.conv1 = nn.Conv2d(n_chan, chan_embed, 3, padding=1)
            self.conv2 = nn.Conv2d(chan_embed, chan_embed, 3, padding=1)
            self.conv3 = nn.Conv2d(chan_embed, n_chan, 1)

        def forward(self, x):
            x = self.act(self.conv1(x))
            x = self.act(self.conv2(x))
            return self.conv3(x)

    def pair_downsampler(img):
        c = img.shape[1]
        filter1 = torch.tensor([[[[0, 0.5], [0.5, 0]]]], device=device).repeat(c, 1, 1, 1)
        filter2 = torch.tensor([[[[0.5, 0], [0, 0.5]]]], device=device).repeat(c, 1, 1, 1)
        return (
            F.conv2d(img, filter1, stride=2, groups=c),
            F.conv2d(img, filter2, stride=2, groups=c),
        )

    def mse(gt, pred):
        return F.mse_loss(gt, pred)

    model = Network(n_chan).to(device)

    def loss_func(noisy_img):
        noisy1, noisy2 = pair_downsampler(noisy_img)
        pred1 = noisy1 - model(noisy1)
        pred2 = noisy2 - model(noisy2)
        loss_res = 1 / 2 * (mse(noisy1, pred2) + mse(noisy2, pred1))
        noisy_denoised = noisy_img - model(noisy_img)
        denoised1, denoised2 = pair_downsampler(noisy_denoised)
        loss_cons = 1 / 2 * (mse(pred1, denoised1) + mse(pred2, denoised2))
        return loss_res + loss_cons

    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1500, gamma=0.5)
    for _ in range(2000):
        loss = loss_func(noisy_img)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
    with torch.no_grad():
        pred = torch.clamp(noisy_img - model(noisy_img), 0, 1)
    return pred[0].numpy()


def run_bm3d(noisy_chw: np.ndarray, sigma: float | None) -> np.ndarray:
    import bm3d
    from skimage.restoration import estimate_sigma

    color = noisy_chw.shape[0] == 3
    image = np.moveaxis(noisy_chw, 0, -1) if color else noisy_chw[0]
    if sigma is None:
        sigma = float(
            estimate_sigma(image, channel_axis=-1 if color else None, average_sigmas=True)
        )
    out = bm3d.bm3d_rgb(image, sigma) if color else bm3d.bm3d(image, sigma)
    out = np.asarray(out, np.float32)
    return np.moveaxis(out, -1, 0) if color else out[None]


# --- jobs ------------------------------------------------------------------------------------
def load_clean(dataset: str, name: str) -> np.ndarray:
    from noise2x.data.io import read_image

    clean, _ = read_image(DATA / dataset / name)
    return clean


def make_noisy(clean: np.ndarray, noise: str, seed: int) -> np.ndarray:
    import torch

    from noise2x.noise import add_noise

    model, params = NOISES[noise]
    return add_noise(torch.from_numpy(clean)[None], model, seed=seed, **params)[0].numpy()


def job_seed(dataset: str, name: str, noise: str) -> int:
    return sum(map(ord, f"{dataset}/{name}/{noise}")) % 10_000


def run_job(job: tuple[str, str, str, str, int]) -> dict:
    import torch

    import noise2x
    from noise2x.metrics import psnr_np, ssim_np

    dataset, name, noise, method, threads = job
    torch.set_num_threads(threads)
    seed = job_seed(dataset, name, noise)
    clean = load_clean(dataset, name)
    noisy = make_noisy(clean, noise, seed)
    start = time.perf_counter()
    if method == "noisy":
        out = noisy
    elif method == "noise2x":
        out = noise2x.denoise(noisy, "zsn2n", device="cpu")
    elif method == "paper":
        out = paper_zsn2n(noisy, seed)
    elif method == "bm3d":
        sigma = NOISES[noise][1].get("sigma")
        out = run_bm3d(noisy, None if sigma is None else sigma / 255.0)
    else:
        raise ValueError(f"unknown method {method!r}")
    seconds = time.perf_counter() - start
    out = np.clip(out, 0.0, 1.0)
    row = dict(
        dataset=dataset,
        image=name,
        noise=noise,
        method=method,
        psnr_db=psnr_np(out, clean, 1.0),
        ssim=ssim_np(out, clean, 1.0),
        seconds=seconds if method != "noisy" else 0.0,
        shape=list(clean.shape),
    )
    if method == "noise2x":
        from noise2x.methods.zsn2n import ZSN2NConfig

        row["steps"] = ZSN2NConfig().steps
    elif method == "paper":
        row["steps"] = 2000
    print(
        f"{dataset}/{name} {noise} {method}: {row['psnr_db']:.2f} dB "
        f"{row['ssim']:.4f} {seconds:.1f} s",
        flush=True,
    )
    return row


def build_jobs(subset: str, threads: int) -> list[tuple]:
    jobs = []
    for dataset, names, noises in SUBSETS[subset]:
        if names is None:
            names = sorted(p.name for p in (DATA / dataset).glob("*.png"))
        for noise in noises:
            for name in names:
                for method in ["noisy", *METHODS]:
                    jobs.append((dataset, name, noise, method, threads))
    # Longest first, so the two workers finish together.
    order = {"paper": 0, "noise2x": 1, "bm3d": 2, "noisy": 3}
    return sorted(jobs, key=lambda j: order[j[3]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="every image (hours)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    parser.add_argument("--out", type=Path, default=RESULTS / "zsn2n.json")
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args(argv)
    if args.table_only:
        print(zsn2n_report.save(json.loads(args.out.read_text()), args.out))
        return 0
    if not DATA.exists():
        print(f"data folder {DATA} not found (set NOISE2X_DATA)", file=sys.stderr)
        return 1
    subset = "full" if args.full else "default"
    jobs = build_jobs(subset, args.threads)
    result = dict(
        benchmark="zsn2n",
        subset=subset,
        date=dt.date.today().isoformat(),
        machine=machine(),
        workers=args.workers,
        threads=args.threads,
        rows=[],
    )
    partial = args.out.with_suffix(".partial.json")
    started = time.perf_counter()
    with mp.get_context("spawn").Pool(args.workers, maxtasksperchild=1) as pool:
        for row in pool.imap_unordered(run_job, jobs):
            result["rows"].append(row)
            partial.write_text(json.dumps(result, indent=1))
    result["total_seconds"] = time.perf_counter() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = zsn2n_report.save(result, args.out)
    partial.unlink(missing_ok=True)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
