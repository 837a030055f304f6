"""Multiplicative Bernoulli noise: randomly lost pixels.

noisy = m * clean with m a per-pixel Bernoulli(1 - p) mask (1 = kept, 0 = lost), as in the
"multiplicative Bernoulli noise" experiment of Noise2Noise (Lehtinen et al. 2018, Sec. 3.2).
Choice made here: the mask is drawn per pixel and shared by all channels, so a lost pixel
loses every channel (the paper does not say). ``clip`` (off by default) only matters for
input values outside [0, 1].
"""

from __future__ import annotations

import torch
from torch import Tensor

from noise2x.noise.base import MaskedNoiseModel, check_bool, check_number, register_noise

__all__ = ["BernoulliNoise"]


@register_noise("bernoulli")
class BernoulliNoise(MaskedNoiseModel):
    """Set each pixel to 0 with probability `p`.

    noisy = mask * clean, mask ~ Bernoulli(1 - p) i.i.d. over (B, 1, H, W), broadcast over
    the channels: a lost pixel is 0 in every channel.

    Parameters
    ----------
    p : float
        Probability that a pixel is lost; in [0, 1].
    clip : bool
        Clamp the output to [0, 1]. Off by default; lost pixels are 0, already in [0, 1],
        so this only affects input values outside [0, 1].

    Raises
    ------
    ValueError
        If `p` is not a number in [0, 1] or `clip` is not a bool.

    References
    ----------
    J. Lehtinen et al., "Noise2Noise: Learning Image Restoration without Clean Data",
    ICML 2018, arXiv:1803.04189, Sec. 3.2 (multiplicative Bernoulli noise).

    Examples
    --------
    >>> import torch
    >>> noise = BernoulliNoise(p=0.5)
    >>> clean = torch.full((2, 3, 8, 8), 0.5)
    >>> noisy, mask = noise.sample_with_mask(clean, torch.Generator().manual_seed(0))
    >>> noisy.shape, mask.shape
    (torch.Size([2, 3, 8, 8]), torch.Size([2, 1, 8, 8]))
    """

    def __init__(self, p: float, clip: bool = False) -> None:
        self.p = check_number("p", p, 0.0, 1.0)
        self.clip = check_bool("clip", clip)

    def _sample(self, clean: Tensor, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
        batch, _, height, width = clean.shape
        uniform = torch.rand(
            (batch, 1, height, width), generator=generator, device=clean.device, dtype=clean.dtype
        )
        kept = uniform >= self.p
        noisy = torch.where(kept, clean, torch.zeros((), dtype=clean.dtype, device=clean.device))
        return noisy, kept.to(clean.dtype)
