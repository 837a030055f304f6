"""noise2x: remove noise from images without clean training data.

Importing noise2x is light: it loads torch and numpy, never lightning, hydra or matplotlib.

Examples
--------
>>> import numpy as np, noise2x
>>> noisy = np.random.default_rng(0).random((16, 16), dtype=np.float32)
>>> noise2x.denoise(noisy, method="zsn2n", steps=2).shape
(16, 16)
"""

from noise2x.api import build_method, denoise, evaluate, list_methods, restore_lines
from noise2x.batch import denoise_files
from noise2x.pair import finetune

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "build_method",
    "denoise",
    "denoise_files",
    "evaluate",
    "finetune",
    "list_methods",
    "restore_lines",
]
