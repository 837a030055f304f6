"""Noise2Void's blind spots and structN2V's line mask on a 64x64 crop (hidden pixels in red)."""

import matplotlib.pyplot as plt
import numpy as np
import torch
from skimage import data

from noise2x.ops.blind_spot import mask_blind_spots

crop = torch.from_numpy(data.camera()[200:264, 200:264].astype(np.float32) / 255.0)[None, None]
fig, axes = plt.subplots(1, 2, figsize=(7, 3.6))
cases = [("Noise2Void (ratio 1 %)", 1), ("structN2V, line of 7", 7)]
for ax, (title, length) in zip(axes, cases, strict=True):
    generator = torch.Generator().manual_seed(0)
    masked, mask = mask_blind_spots(crop, ratio=0.01, struct_length=length, generator=generator)
    changed = (masked != crop)[0, 0].numpy()
    rgb = np.repeat(masked[0, 0].numpy()[..., None], 3, axis=-1)
    rgb[changed] = [1.0, 0.2, 0.2]
    rgb[mask[0, 0].numpy()] = [1.0, 1.0, 0.0]  # the scored blind spots
    ax.imshow(rgb, interpolation="nearest")
    ax.set_title(f"{title}: {int(mask.sum())} scored (yellow)", fontsize=9)
    ax.axis("off")
fig.tight_layout()
fig.savefig(OUTPUT, dpi=72, bbox_inches="tight")  # noqa: F821 (OUTPUT: docs/hooks.py)
