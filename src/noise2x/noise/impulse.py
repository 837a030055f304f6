"""Random-valued impulse noise: some pixels replaced by random colours.

With probability p a pixel is replaced by a colour drawn uniformly from [0, 1]^C; otherwise
it keeps its value. This is the "random-valued impulse noise" of Noise2Noise (Lehtinen et al.
2018, Sec. 3.2), a harder variant of salt-and-pepper noise. Choice made here: the decision
to replace is per pixel (all channels together) and the replacement colour has an
independent uniform value in each channel. ``clip`` (off by default) only matters for input
values outside [0, 1].
"""

from __future__ import annotations

import torch
from torch import Tensor

from noise2x.noise.base import MaskedNoiseModel, check_bool, check_number, register_noise

__all__ = ["ImpulseNoise"]


@register_noise("impulse")
class ImpulseNoise(MaskedNoiseModel):
    """Replace each pixel, with probability `p`, by a uniformly random colour.

    noisy = mask * clean + (1 - mask) * u, mask ~ Bernoulli(1 - p) i.i.d. over (B, 1, H, W)
    and broadcast over channels, u ~ U[0, 1) i.i.d. over (B, C, H, W).

    Parameters
    ----------
    p : float
        Probability that a pixel is replaced; in [0, 1].
    clip : bool
        Clamp the output to [0, 1]. Off by default; replaced values are already in [0, 1],
        so this only affects input values outside [0, 1].

    Raises
    ------
    ValueError
        If `p` is not a number in [0, 1] or `clip` is not a bool.

    References
    ----------
    J. Lehtinen et al., "Noise2Noise: Learning Image Restoration without Clean Data",
    ICML 2018, arXiv:1803.04189, Sec. 3.2 (random-valued impulse noise).

    Examples
    --------
    >>> import torch
    >>> noise = ImpulseNoise(p=0.3)
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
        options = {"generator": generator, "device": clean.device, "dtype": clean.dtype}
        kept = torch.rand((batch, 1, height, width), **options) >= self.p
        colours = torch.rand(clean.shape, **options)
        return torch.where(kept, clean, colours), kept.to(clean.dtype)
