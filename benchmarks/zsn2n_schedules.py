"""ZS-N2N schedule study: final PSNR of training schedules on Set12 images at Gaussian sigma.

Usage: python benchmarks/zsn2n_schedules.py THREADS CONFIG[,CONFIG...] IMAGE[,IMAGE...] [SIGMA]
e.g.   python benchmarks/zsn2n_schedules.py 1 paper_bf16,cos2000_lr1e-3 01,02,05 25
A config prefixed with ``norm_`` stretches the noisy image from its [min, max] to [0, 1]
first. Prints one line per run; the committed log is results/zsn2n_schedules.log.
"""

import os
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch

from noise2x.methods.zsn2n import ZeroShotNoise2Noise, ZSN2NConfig

DATA = Path(os.environ.get("NOISE2X_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
torch.set_num_threads(int(sys.argv[1]))
imgs = sys.argv[3].split(",")
sig = float(sys.argv[4]) if len(sys.argv) > 4 else 25
configs = {
    "paper_fp32": ZSN2NConfig.paper(),
    "paper_bf16": ZSN2NConfig.paper(precision="bf16", channels_last=True),
    "paper_fp32cl": ZSN2NConfig.paper(channels_last=True),
    "cos1000_lr2e-3": ZSN2NConfig(steps=1000, lr=2e-3, schedule="cosine"),
    "cos2000_lr1e-3": ZSN2NConfig(steps=2000, lr=1e-3, schedule="cosine"),
    "cos1500_lr1.5e-3": ZSN2NConfig(steps=1500, lr=1.5e-3, schedule="cosine"),
    "step1200": ZSN2NConfig(steps=1200, lr=1e-3, schedule="step", decay_every=900),
    "step1000": ZSN2NConfig(steps=1000, lr=1e-3, schedule="step", decay_every=750),
    "step1000_2e-3": ZSN2NConfig(steps=1000, lr=2e-3, schedule="step", decay_every=750),
}
for name in sys.argv[2].split(","):
    norm = name.startswith("norm_")
    cfg = configs[name.removeprefix("norm_")]
    for im in imgs:
        clean = torch.from_numpy(iio.imread(DATA / "Set12" / f"{im}.png").astype(np.float32) / 255)[
            None, None
        ]
        g = torch.Generator().manual_seed(int(im))
        noisy = clean + sig / 255 * torch.randn(clean.shape, generator=g)
        lo, hi = (noisy.min(), noisy.max()) if norm else (0.0, 1.0)
        r = ZeroShotNoise2Noise(cfg).fit(
            (noisy - lo) / (hi - lo),
            reference=(clean - lo) / (hi - lo),
            device="cpu",
            log_every=100,
        )
        out = (r.denoised * (hi - lo) + lo).clamp(0, 1)
        final = 10 * np.log10(1 / torch.mean((out - clean) ** 2).item())
        print(
            name,
            im,
            round(final, 3),
            round(r.seconds, 1),
            [round(p, 2) for s, p in r.psnr_history],
            flush=True,
        )
