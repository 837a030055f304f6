"""Poisson (shot) noise and Poisson-Gaussian noise.

noisy = Poisson(lam * clean) / lam, where ``lam`` is the expected photon count at intensity
1.0, so the output has mean ``clean`` and variance ``clean / lam``; Poisson-Gaussian adds
N(0, (sigma / 255)^2) read-out noise on top. This is the parameterisation of the Poisson
experiments of Noise2Noise (Lehtinen et al. 2018, Sec. 3.2) and of Laine et al. 2019.
Departures: negative clean values are clamped to 0 before sampling (a rate cannot be
negative); the output is not clipped unless ``clip=True``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from noise2x.noise.base import NoiseModel, check_bool, check_number, register_noise

__all__ = ["PoissonGaussianNoise", "PoissonNoise"]


def _sample_poisson(clean: Tensor, lam: float, generator: torch.Generator | None) -> Tensor:
    rate = clean.clamp(min=0.0) * lam
    return torch.poisson(rate, generator=generator) / lam


@register_noise("poisson")
class PoissonNoise(NoiseModel):
    """Replace each value by a Poisson photon count, rescaled to the input's range.

    noisy = Poisson(lam * max(clean, 0)) / lam, independently per pixel and channel: mean
    ``clean``, variance ``clean / lam``. Smaller ``lam`` means fewer photons and more noise.

    Parameters
    ----------
    lam : float
        Expected photon count at intensity 1.0; must be finite and > 0.
    clip : bool
        Clamp the output to [0, 1]. Off by default; the output is >= 0 anyway, but can
        exceed 1.

    Raises
    ------
    ValueError
        If `lam` is not a finite number > 0, or `clip` is not a bool.

    References
    ----------
    J. Lehtinen et al., "Noise2Noise: Learning Image Restoration without Clean Data",
    ICML 2018, arXiv:1803.04189, Sec. 3.2.
    S. Laine, T. Karras, J. Lehtinen and T. Aila, "High-Quality Self-Supervised Deep Image
    Denoising", NeurIPS 2019, arXiv:1901.10277.

    Examples
    --------
    >>> import torch
    >>> noise = PoissonNoise(lam=30)
    >>> clean = torch.full((2, 1, 8, 8), 0.5)
    >>> noisy = noise(clean, torch.Generator().manual_seed(0))
    >>> noisy.shape
    torch.Size([2, 1, 8, 8])
    """

    def __init__(self, lam: float, clip: bool = False) -> None:
        self.lam = check_number("lam", lam, 0.0, low_open=True)
        self.clip = check_bool("clip", clip)

    def _apply(self, clean: Tensor, generator: torch.Generator | None) -> Tensor:
        return _sample_poisson(clean, self.lam, generator)


@register_noise("poisson_gaussian")
class PoissonGaussianNoise(NoiseModel):
    """Poisson shot noise followed by additive Gaussian read-out noise.

    noisy = Poisson(lam * max(clean, 0)) / lam + std * z, z ~ N(0, 1), std = sigma / 255;
    mean ``clean``, variance ``clean / lam + std^2``.

    Parameters
    ----------
    lam : float
        Expected photon count at intensity 1.0; must be finite and > 0.
    sigma : float
        Standard deviation of the Gaussian part on the 0-255 scale; finite and >= 0.
    clip : bool
        Clamp the output to [0, 1]. Off by default.

    Raises
    ------
    ValueError
        If `lam` is not > 0, `sigma` is negative, either is not finite, or `clip` is not a
        bool.

    References
    ----------
    A. Foi, M. Trimeche, V. Katkovnik and K. Egiazarian, "Practical Poissonian-Gaussian Noise
    Modeling and Fitting for Single-Image Raw-Data", IEEE Trans. Image Process. 17(10), 2008.

    Examples
    --------
    >>> import torch
    >>> noise = PoissonGaussianNoise(lam=30, sigma=10)
    >>> clean = torch.full((1, 3, 4, 4), 0.5)
    >>> noise(clean, torch.Generator().manual_seed(0)).shape
    torch.Size([1, 3, 4, 4])
    """

    def __init__(self, lam: float, sigma: float, clip: bool = False) -> None:
        self.lam = check_number("lam", lam, 0.0, low_open=True)
        self.sigma = check_number("sigma", sigma, 0.0)
        self.clip = check_bool("clip", clip)

    @property
    def std(self) -> float:
        """Standard deviation of the Gaussian part on the [0, 1] scale, ``sigma / 255``."""
        return self.sigma / 255.0

    def _apply(self, clean: Tensor, generator: torch.Generator | None) -> Tensor:
        noisy = _sample_poisson(clean, self.lam, generator)
        noise = torch.randn(
            clean.shape, generator=generator, device=clean.device, dtype=clean.dtype
        )
        return noisy + self.std * noise
