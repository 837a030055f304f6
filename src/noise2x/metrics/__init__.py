"""Image-quality metrics: PSNR (dB) and SSIM, on tensors and on numpy arrays.

The tensor functions take (B, C, H, W) and return one value per image, shape (B,); the
``*_np`` functions take one image and return a float. ``METRICS`` maps a name to the tensor
function, ``metric(x, reference, data_range=1.0) -> Tensor (B,)``. LPIPS is optional (it
needs the ``lpips`` package and pretrained weights on disk) and so is not in ``METRICS``:
use :func:`lpips_or_none`, which returns the values or the one-line reason they are missing.
:func:`frc` and :func:`frc_resolution` (``noise2x.metrics.frc``) need no clean image: the
Fourier ring correlation of two noisy halves of one scene and its 1/7-threshold resolution.

Examples
--------
>>> import torch
>>> METRICS.names()
['psnr', 'ssim']
>>> clean = torch.zeros(1, 1, 16, 16)
>>> round(METRICS.get("psnr")(clean + 0.1, clean).item(), 4)
20.0
"""

from noise2x.metrics.frc import frc, frc_resolution
from noise2x.metrics.lpips import LPIPS, lpips_or_none, lpips_status
from noise2x.metrics.psnr import psnr, psnr_np
from noise2x.metrics.ssim import ssim, ssim_np
from noise2x.registry import Registry

__all__ = [
    "LPIPS",
    "METRICS",
    "frc",
    "frc_resolution",
    "lpips_or_none",
    "lpips_status",
    "psnr",
    "psnr_np",
    "ssim",
    "ssim_np",
]

METRICS = Registry("metric")
"""Tensor metrics by name: ``"psnr"`` (dB) and ``"ssim"``."""
METRICS.register("psnr")(psnr)
METRICS.register("ssim")(ssim)
