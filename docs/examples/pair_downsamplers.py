"""The pair downsamplers of Zero-Shot Noise2Noise: the two half-size images each one cuts."""

import matplotlib.pyplot as plt
import numpy as np
import torch
from skimage import data

from noise2x.ops.downsamplers import DOWNSAMPLERS

crop = torch.from_numpy(data.camera()[160:352, 160:352].astype(np.float32) / 255.0)[None, None]
names = ["diagonal", "random_neighbor", "vertical_stripes", "max_avg"]
fig, axes = plt.subplots(2, len(names), figsize=(10, 5))
for column, name in enumerate(names):
    first, second = DOWNSAMPLERS.get(name)(crop, torch.Generator().manual_seed(0))
    for row, image in enumerate((first, second)):
        axes[row, column].imshow(image[0, 0].numpy(), cmap="gray", vmin=0, vmax=1)
        axes[row, column].set_title(f"{name} ({'first' if row == 0 else 'second'})", fontsize=8)
        axes[row, column].axis("off")
fig.tight_layout()
fig.savefig(OUTPUT, dpi=72, bbox_inches="tight")  # noqa: F821 (OUTPUT: docs/hooks.py)
