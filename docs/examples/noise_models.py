"""The synthetic noise models of `noise2x add-noise` on one crop (seeded, unclipped)."""

import matplotlib.pyplot as plt
import numpy as np
import torch
from skimage import data

from noise2x.noise import add_noise

clean = torch.from_numpy(data.camera()[192:320, 192:320].astype(np.float32) / 255.0)[None, None]
models = {
    "gaussian sigma=25": ("gaussian", {"sigma": 25}),
    "poisson lam=30": ("poisson", {"lam": 30}),
    "poisson_gaussian": ("poisson_gaussian", {"lam": 30, "sigma": 10}),
    "structured (rows)": ("structured", {"sigma": 5, "row_sigma": 10, "corr_sigma": 10}),
    "impulse p=0.2": ("impulse", {"p": 0.2}),
    "lines 10%": ("lines", {"fraction": 0.1}),
}
fig, axes = plt.subplots(1, len(models), figsize=(14, 2.8))
for ax, (title, (name, params)) in zip(axes, models.items(), strict=True):
    noisy = add_noise(clean, name, seed=0, **params)[0, 0].numpy()
    ax.imshow(np.clip(noisy, 0, 1), cmap="gray", vmin=0, vmax=1)
    ax.set_title(title, fontsize=9)
    ax.axis("off")
fig.tight_layout()
fig.savefig(OUTPUT, dpi=72, bbox_inches="tight")  # noqa: F821 (OUTPUT: docs/hooks.py)
