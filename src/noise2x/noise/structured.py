"""Structured noise: Gaussian noise correlated along rows or columns, as from sCMOS cameras.

noisy = clean + std * z + row_std * o + corr_std * (k * w), with, along ``axis``:

- z: white Gaussian noise, i.i.d. per pixel and channel (std = sigma / 255);
- o: one N(0, 1) offset per line (per row for ``axis="rows"``), shared by every pixel of the
  line: the fixed-pattern stripes of line-scanning and sCMOS detectors;
- k * w: white noise w convolved along the line with a box kernel of ``length`` pixels,
  normalised to unit variance: noise correlated over ``length`` neighbouring pixels.

Noise of this kind defeats the pixel-independent self-supervised methods (Noise2Void,
Neighbor2Neighbor, ZS-N2N learn to keep it); structN2V hides a line of pixels along ``axis``
to remove it.

References
----------
C. Broaddus, A. Krull, M. Weigert, U. Schmidt and G. Myers, "Removing Structured Noise with
Self-Supervised Blind-Spot Networks", ISBI 2020, arXiv:1910.07479.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from noise2x.noise.base import NoiseModel, check_bool, check_number, register_noise

__all__ = ["StructuredNoise"]


@register_noise("structured")
class StructuredNoise(NoiseModel):
    """Add white, per-line and line-correlated Gaussian noise (see the module docstring).

    Parameters
    ----------
    sigma : float
        White component's standard deviation on the 0-255 scale (>= 0).
    row_sigma : float
        Per-line offsets' standard deviation on the 0-255 scale (>= 0).
    corr_sigma : float
        Line-correlated component's standard deviation on the 0-255 scale (>= 0).
    length : int
        Box kernel length in pixels for the correlated component (>= 1).
    axis : {"rows", "cols"}
        "rows": offsets per row and correlation along each row (horizontal stripes).
    clip : bool
        Clamp the output to [0, 1] (off by default).

    Raises
    ------
    ValueError
        If a level is negative or not finite, `length` < 1 or `axis` is unknown.

    Examples
    --------
    >>> noise = StructuredNoise(sigma=10, row_sigma=10, corr_sigma=10, length=5)
    >>> noisy = noise(torch.zeros(1, 1, 64, 64), torch.Generator().manual_seed(0))
    >>> rows = noisy[0, 0].mean(1)  # per-row means vary: horizontal stripes
    >>> bool(rows.std() > 3 * noisy[0, 0].mean(0).std())
    True
    """

    def __init__(
        self,
        sigma: float = 10.0,
        row_sigma: float = 10.0,
        corr_sigma: float = 10.0,
        length: int = 7,
        axis: str = "rows",
        clip: bool = False,
    ) -> None:
        self.sigma = check_number("sigma", sigma, 0.0)
        self.row_sigma = check_number("row_sigma", row_sigma, 0.0)
        self.corr_sigma = check_number("corr_sigma", corr_sigma, 0.0)
        if isinstance(length, bool) or not isinstance(length, int) or length < 1:
            raise ValueError(f"noise 'structured': length must be an integer >= 1, got {length!r}")
        if axis not in ("rows", "cols"):
            raise ValueError(f"noise 'structured': axis must be 'rows' or 'cols', got {axis!r}")
        self.length, self.axis = length, axis
        self.clip = check_bool("clip", clip)

    def _apply(self, clean: Tensor, generator: torch.Generator | None) -> Tensor:
        x = clean if self.axis == "rows" else clean.transpose(-1, -2)
        b, c, h, w = x.shape

        def normal(*shape: int) -> Tensor:
            return torch.randn(shape, generator=generator, device=x.device, dtype=x.dtype)

        noise = self.sigma / 255.0 * normal(b, c, h, w)
        noise = noise + self.row_sigma / 255.0 * normal(b, c, h, 1)
        if self.corr_sigma > 0:
            white = normal(b * c * h, 1, w + self.length - 1)
            kernel = torch.ones(1, 1, self.length, device=x.device, dtype=x.dtype)
            corr = F.conv1d(white, kernel / self.length**0.5).reshape(b, c, h, w)
            noise = noise + self.corr_sigma / 255.0 * corr
        noisy = x + noise
        return noisy if self.axis == "rows" else noisy.transpose(-1, -2)
