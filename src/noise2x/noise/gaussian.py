"""Additive white Gaussian noise.

noisy = clean + n, n ~ N(0, std^2) i.i.d. per pixel and channel, std = sigma / 255, as in the
Noise2Noise paper's additive Gaussian experiments (Lehtinen et al. 2018, Sec. 3.1), which
use sigma in [0, 50] for training and sigma = 25 for testing. Departure: no clipping unless
asked for (``clip=True``), so the noise stays zero-mean.
"""

from __future__ import annotations

import torch
from torch import Tensor

from noise2x.noise.base import NoiseModel, check_bool, check_number, register_noise

__all__ = ["GaussianNoise"]


@register_noise("gaussian")
class GaussianNoise(NoiseModel):
    """Add zero-mean Gaussian noise of standard deviation ``sigma / 255``.

    noisy = clean + std * z, z ~ N(0, 1) i.i.d. over (B, C, H, W), std = sigma / 255.

    Parameters
    ----------
    sigma : float
        Standard deviation on the 0-255 scale; must be finite and >= 0.
    clip : bool
        Clamp the output to [0, 1]. Off by default: clamping biases the noise.

    Raises
    ------
    ValueError
        If `sigma` is negative or not finite, or `clip` is not a bool.

    References
    ----------
    J. Lehtinen et al., "Noise2Noise: Learning Image Restoration without Clean Data",
    ICML 2018, arXiv:1803.04189, Sec. 3.1.

    Examples
    --------
    >>> import torch
    >>> noise = GaussianNoise(sigma=25)
    >>> clean = torch.full((2, 3, 8, 8), 0.5)
    >>> noisy = noise(clean, torch.Generator().manual_seed(0))
    >>> noisy.shape
    torch.Size([2, 3, 8, 8])
    """

    def __init__(self, sigma: float, clip: bool = False) -> None:
        self.sigma = check_number("sigma", sigma, 0.0)
        self.clip = check_bool("clip", clip)

    @property
    def std(self) -> float:
        """Standard deviation on the tensor's [0, 1] scale, ``sigma / 255``."""
        return self.sigma / 255.0

    def _apply(self, clean: Tensor, generator: torch.Generator | None) -> Tensor:
        noise = torch.randn(
            clean.shape, generator=generator, device=clean.device, dtype=clean.dtype
        )
        return clean + self.std * noise
