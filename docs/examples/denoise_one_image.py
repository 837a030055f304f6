"""One noisy image: the shipped prior (told nothing) against BM3D (told the true sigma)."""

import matplotlib.pyplot as plt
import numpy as np
from skimage import data

import noise2x
from noise2x.methods.bm3d import bm3d_denoise
from noise2x.metrics import psnr_np

clean = data.camera()[128:384, 128:384].astype(np.float32) / 255.0
noisy = clean + 25 / 255 * np.random.default_rng(0).standard_normal(clean.shape).astype(np.float32)

prior = noise2x.denoise(noisy, normalize="none")  # the default of `noise2x denoise`
bm3d = np.clip(bm3d_denoise(noisy[None], 25 / 255)[0], 0, 1)

panels = {"clean": clean, "noisy": noisy, "BM3D (true sigma)": bm3d, "noise2x (default)": prior}
fig, axes = plt.subplots(1, 4, figsize=(12, 3.4))
for ax, (name, image) in zip(axes, panels.items(), strict=True):
    score = "" if name == "clean" else f"\n{psnr_np(np.clip(image, 0, 1), clean, 1.0):.2f} dB"
    ax.imshow(np.clip(image, 0, 1), cmap="gray", vmin=0, vmax=1)
    ax.set_title(name + score, fontsize=9)
    ax.axis("off")
fig.tight_layout()
fig.savefig(OUTPUT, dpi=72, bbox_inches="tight")  # noqa: F821 (OUTPUT: docs/hooks.py)
