"""Blind-spot masking for Noise2Void, N2V2 and structN2V: pure functions on (B, C, H, W) tensors.

Noise2Void hides a few pixels of each training patch from the network and asks it to predict
them from their surroundings; with noise independent from pixel to pixel, the only thing the
neighbourhood says about a hidden pixel is its signal, so the loss at the hidden pixels trains
a denoiser from single noisy images.

- `blind_spot_coords`: about ``ratio`` of the pixels (0.2 % in the paper and CAREamics),
  stratified: one uniformly placed pixel in each cell of a grid of side ``round(1 / sqrt(ratio))``.
- `mask_blind_spots`: the input with each hidden pixel replaced, and the mask.

  - ``"uniform"``: the value of a pixel drawn uniformly from the (2r+1) x (2r+1) window around
    it, the centre excluded (N2V's default, r = 2: a 5 x 5 window);
  - ``"uniform_cp"``: the same window with its centre, so that a hidden pixel keeps its own
    value with probability 1 / (2r+1)^2 (``uniform_withCP``, the default of the authors' `n2v`
    code and of its BSD68 example);
  - ``"median"``: the median of that window without its centre (N2V2);
  - structN2V: with ``struct_length`` L > 1, the L - 1 pixels of a line through each hidden
    pixel (along ``struct_axis``: "rows" hides pixels of the same row, for noise correlated
    along rows) are hidden too, replaced by values drawn uniformly between the image's
    minimum and maximum, and never used as the hidden pixel's replacement, so that the net
    cannot read the correlated noise of the hidden pixel from them.
- `masked_mse`: the loss, read only at the hidden pixels.

All channels of a pixel are hidden together (the same coordinates and neighbour). Randomness
comes from the ``torch.Generator`` passed in.

References
----------
A. Krull, T.-O. Buchholz and F. Jug, "Noise2Void - Learning Denoising from Single Noisy
Images", CVPR 2019, arXiv:1811.10980. E. Höck et al., "N2V2 - Fixing Noise2Void Checkerboard
Artifacts with Modified Sampling Strategies and a Tweaked Network Architecture", ECCV Workshops
2022, arXiv:2211.08512. C. Broaddus et al., "Removing Structured Noise with Self-Supervised
Blind-Spot Networks", ISBI 2020, arXiv:1910.07479.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["REPLACEMENTS", "blind_spot_coords", "mask_blind_spots", "masked_mse", "struct_offsets"]

REPLACEMENTS = ("uniform", "uniform_cp", "median")
"""How a hidden pixel's value is replaced (N2V: uniform neighbour, without or with the centre;
N2V2: neighbourhood median)."""


def blind_spot_coords(
    batch: int, height: int, width: int, ratio: float, generator: torch.Generator | None = None
) -> Tensor:
    """Draw stratified blind-spot coordinates: one pixel per grid cell of each image.

    Parameters
    ----------
    batch, height, width : int
        Batch size and image size in pixels (>= 1).
    ratio : float in (0, 1]
        Fraction of the pixels to hide; the grid cell side is ``max(1, round(1 / sqrt(ratio)))``
        pixels (22 for 0.2 %), cells at the right and bottom border are cut to the image.
    generator : torch.Generator or None
        Source of the positions inside the cells (CPU).

    Returns
    -------
    Tensor, shape (K, 3), int64
        (image index, row, column) of each hidden pixel; K = batch x number of cells.

    Raises
    ------
    ValueError
        If `ratio` is not in (0, 1].

    Examples
    --------
    >>> coords = blind_spot_coords(2, 44, 44, 0.002, torch.Generator().manual_seed(0))
    >>> coords.shape, int(coords[:, 1].max()) < 44
    (torch.Size([8, 3]), True)
    """
    if not 0 < ratio <= 1:
        raise ValueError(f"blind-spot ratio must be in (0, 1], got {ratio!r}")
    cell = max(1, round(1 / math.sqrt(ratio)))
    rows = torch.arange(0, height, cell)
    cols = torch.arange(0, width, cell)
    b, r, c = torch.meshgrid(torch.arange(batch), rows, cols, indexing="ij")
    b, r, c = b.reshape(-1), r.reshape(-1), c.reshape(-1)
    span_r = (height - r).clamp(max=cell)
    span_c = (width - c).clamp(max=cell)
    u = torch.rand(len(b), 2, generator=generator)
    r = r + (u[:, 0] * span_r).long().clamp(max=span_r - 1)
    c = c + (u[:, 1] * span_c).long().clamp(max=span_c - 1)
    return torch.stack([b, r, c], dim=1)


def struct_offsets(length: int, axis: str) -> Tensor:
    """Return the (d_row, d_col) offsets of structN2V's line mask, the centre excluded.

    Parameters
    ----------
    length : int
        Pixels of the line, centre included (>= 1; 1 is plain N2V: no offsets).
    axis : {"rows", "cols"}
        "rows": the line runs along the row (noise correlated horizontally); "cols": along the
        column.

    Returns
    -------
    Tensor, shape (length - 1, 2), int64

    Raises
    ------
    ValueError
        If `length` < 1 or `axis` is unknown.

    Examples
    --------
    >>> struct_offsets(5, "rows").tolist()
    [[0, -2], [0, -1], [0, 1], [0, 2]]
    """
    if length < 1:
        raise ValueError(f"struct_length must be >= 1, got {length}")
    if axis not in ("rows", "cols"):
        raise ValueError(f"struct_axis must be 'rows' or 'cols', got {axis!r}")
    steps = [d for d in range(-(length // 2), length - length // 2) if d != 0]
    offsets = torch.tensor([[0, d] if axis == "rows" else [d, 0] for d in steps], dtype=torch.long)
    return offsets.reshape(-1, 2)


def _reflect(index: Tensor, size: int) -> Tensor:
    """Reflect indices at the border: -1 -> 1, size -> size - 2."""
    index = torch.where(index < 0, -index, index)
    index = torch.where(index > size - 1, 2 * (size - 1) - index, index)
    return index.clamp(0, size - 1)


def _neighbours(
    r: Tensor, c: Tensor, dr: Tensor, dc: Tensor, height: int, width: int
) -> tuple[Tensor, Tensor]:
    """Positions (r + dr, c + dc) reflected at the border, never (r, c) itself.

    A reflection can bring an offset back onto its centre (r = H - 2, dr = +2 -> H -> H - 2);
    those use the opposite offset, which then points inside the image.
    """
    rr, cc = _reflect(r + dr, height), _reflect(c + dc, width)
    back = (rr == r) & (cc == c)
    rr = torch.where(back, _reflect(r - dr, height), rr)
    cc = torch.where(back, _reflect(c - dc, width), cc)
    return rr, cc


def _window_offsets(radius: int, exclude: Tensor | None = None, centre: bool = False) -> Tensor:
    """(n, 2) offsets of the (2r+1)^2 window without `exclude`, and without its centre unless asked.

    structN2V's line is excluded so that a replacement never copies the noise that is
    correlated with the hidden pixel's.
    """
    span = torch.arange(-radius, radius + 1)
    dr, dc = torch.meshgrid(span, span, indexing="ij")
    keep = (dr != 0) | (dc != 0) | centre
    window = torch.stack([dr[keep], dc[keep]], dim=1)
    if exclude is not None and len(exclude):
        hit = (window[:, None, :] == exclude.cpu()[None, :, :]).all(-1).any(-1)
        window = window[~hit]
    return window


def mask_blind_spots(
    noisy: Tensor,
    ratio: float = 0.002,
    radius: int = 2,
    replacement: str = "uniform",
    struct_length: int = 1,
    struct_axis: str = "rows",
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """Hide blind-spot pixels of each image: the network's input and the loss mask.

    Parameters
    ----------
    noisy : Tensor, shape (B, C, H, W), float32, any range
        Training patches; left unchanged.
    ratio : float in (0, 1]
        Fraction of pixels hidden (`blind_spot_coords`).
    radius : int
        Neighbourhood half-size r (>= 1): replacements come from the (2r+1) x (2r+1) window.
    replacement : {"uniform", "uniform_cp", "median"}
        See the module docstring.
    struct_length : int
        structN2V's line length (>= 1; 1: no structured mask).
    struct_axis : {"rows", "cols"}
        Direction of the line (`struct_offsets`).
    generator : torch.Generator or None
        Source of every random choice (CPU).

    Returns
    -------
    masked : Tensor, shape (B, C, H, W)
        `noisy` with the hidden pixels replaced.
    mask : Tensor, shape (B, 1, H, W), bool
        True at the blind spots only (the structured line is hidden but not scored).

    Raises
    ------
    ValueError
        If `noisy` is not 4-D, `radius` < 1, or a choice is unknown.

    Examples
    --------
    >>> noisy = torch.rand(2, 1, 32, 32)
    >>> masked, mask = mask_blind_spots(noisy, ratio=0.01, generator=torch.Generator())
    >>> bool((masked[~mask.expand_as(masked)] == noisy[~mask.expand_as(noisy)]).all())
    True
    """
    if noisy.ndim != 4:
        raise ValueError(f"expected (B, C, H, W) patches, got shape {tuple(noisy.shape)}")
    if radius < 1:
        raise ValueError(f"blind-spot radius must be >= 1, got {radius}")
    if min(noisy.shape[-2:]) <= 2 * radius:
        raise ValueError(
            f"patches of {tuple(noisy.shape[-2:])} pixels are too small for radius {radius}"
        )
    if replacement not in REPLACEMENTS:
        raise ValueError(f"replacement must be one of {REPLACEMENTS}, got {replacement!r}")
    batch, channels, height, width = noisy.shape
    coords = blind_spot_coords(batch, height, width, ratio, generator).to(noisy.device)
    b, r, c = coords.unbind(1)
    offsets = struct_offsets(struct_length, struct_axis).to(noisy.device)
    centre = replacement == "uniform_cp"
    window = _window_offsets(radius, exclude=offsets, centre=centre).to(noisy.device)
    masked = noisy.clone()
    if replacement in ("uniform", "uniform_cp"):
        pick = torch.randint(len(window), (len(b),), generator=generator).to(noisy.device)
        rr, cc = _neighbours(r, c, window[pick, 0], window[pick, 1], height, width)
        values = noisy[b, :, rr, cc]  # (K, C)
    else:
        rr, cc = _neighbours(
            r[:, None], c[:, None], window[None, :, 0], window[None, :, 1], height, width
        )
        values = noisy[b[:, None], :, rr, cc].median(dim=1).values  # (K, n, C) -> (K, C)
    if len(offsets):
        sr, sc = _neighbours(
            r[:, None], c[:, None], offsets[None, :, 0], offsets[None, :, 1], height, width
        )
        sr, sc = sr.reshape(-1), sc.reshape(-1)
        sb = b[:, None].expand(-1, len(offsets)).reshape(-1)
        lo = noisy.amin(dim=(1, 2, 3))[sb]
        hi = noisy.amax(dim=(1, 2, 3))[sb]
        u = torch.rand(len(sb), channels, generator=generator).to(noisy.device, noisy.dtype)
        masked[sb, :, sr, sc] = lo[:, None] + u * (hi - lo)[:, None]
    masked[b, :, r, c] = values.to(noisy.dtype)
    mask = torch.zeros(batch, 1, height, width, dtype=torch.bool, device=noisy.device)
    mask[b, 0, r, c] = True
    return masked, mask


def masked_mse(prediction: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """Return the mean squared error over the masked pixels (all channels), in float32.

    Parameters
    ----------
    prediction, target : Tensor, shape (B, C, H, W)
    mask : Tensor, shape (B, 1, H, W), bool
        At least one True.

    Returns
    -------
    Tensor, shape ()

    Examples
    --------
    >>> mask = torch.zeros(1, 1, 2, 2, dtype=torch.bool); mask[0, 0, 0, 0] = True
    >>> float(masked_mse(torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 2, 2), mask))
    1.0
    """
    weight = mask.expand_as(prediction).float()
    error = (prediction.float() - target.float()).square() * weight
    return error.sum() / weight.sum().clamp(min=1.0)
