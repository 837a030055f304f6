"""A fixed convex combination of two denoisers' outputs (the adapted prior and the prior).

Test-time adaptation on one image moves the prior's errors rather than only removing them: on
the FMD validation captures of ``benchmarks/prior_blend.py`` the adapted net alone (100 steps)
gained up to 0.94 dB on some fields and lost up to 0.45 dB on others, while a weighted mean of
its output and the prior's gained on nearly every field. Averaging two estimators whose errors
are partly independent lowers the variance of the result (the reasoning of self-ensembles and
of model averaging); the weight was chosen on those validation captures.

References
----------
L. Breiman, "Bagging predictors", Machine Learning 24, 1996 (averaging estimators lowers
their variance). R. Timofte et al., "Seven ways to improve example-based single image super
resolution", CVPR 2016 (averaging a denoiser's outputs at inference).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["Blend"]


class Blend(nn.Module):
    """``weight * first(x) + (1 - weight) * second(x)`` for two nets of the same shapes.

    Parameters
    ----------
    first, second : nn.Module
        Nets mapping (B, C, H, W) to (B, C, H, W); held as given (copy a shared net first).
    weight : float
        Weight of `first`'s output, in [0, 1].

    Raises
    ------
    ValueError
        If `weight` is not in [0, 1].

    Notes
    -----
    ``size_multiple`` is the least common multiple of the two nets' (1 when absent) and
    ``peak_bytes_per_pixel`` the larger of theirs (1600 when absent), for
    ``noise2x.ops.tiling.denoise_tiled``: the two nets run one after the other on a tile.

    Examples
    --------
    >>> import torch
    >>> blend = Blend(nn.Identity(), nn.Identity(), 0.5)
    >>> x = torch.rand(1, 1, 8, 8)
    >>> bool(torch.equal(blend(x), x))
    True
    """

    def __init__(self, first: nn.Module, second: nn.Module, weight: float) -> None:
        super().__init__()
        if not (math.isfinite(weight) and 0.0 <= weight <= 1.0):
            raise ValueError(f"blend: weight must be in [0, 1], got {weight!r}")
        self.first, self.second, self.weight = first, second, float(weight)
        self.size_multiple = math.lcm(
            int(getattr(first, "size_multiple", 1)), int(getattr(second, "size_multiple", 1))
        )
        self.peak_bytes_per_pixel = max(
            float(getattr(net, "peak_bytes_per_pixel", 1600.0)) for net in (first, second)
        )

    def forward(self, x: Tensor) -> Tensor:
        """Return the weighted sum of the two nets' outputs for (B, C, H, W) `x`.

        The outputs are summed in float32 (they are bfloat16 under autocast), in `x`'s dtype
        when it is wider.
        """
        dtype = torch.promote_types(x.dtype, torch.float32)
        first, second = self.first(x).to(dtype), self.second(x).to(dtype)
        return self.weight * first + (1.0 - self.weight) * second
