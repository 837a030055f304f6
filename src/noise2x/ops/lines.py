"""Dead sensor lines as tensor operations: detection, line masks, interpolation across them.

Pure functions on tensors, used by ``noise2x.methods.lines`` (the line-restoring Self2Self)
and by its benchmark:

- :func:`detect_dead_lines`: rows/columns constant at the image's minimum or maximum;
- :func:`dead_lines_from_mask`: the same description from a user's dead-pixel mask;
- :func:`line_mask`: random keep masks that hide whole lines (Self2Self's Bernoulli sampling,
  by lines);
- :func:`interpolate_lines`: linear interpolation across hidden lines (a baseline, and the
  base that the network corrects).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = [
    "AXES",
    "DeadLines",
    "dead_lines_from_mask",
    "detect_dead_lines",
    "interpolate_lines",
    "line_mask",
]

AXES = ("rows", "cols", "both")


@dataclass(frozen=True)
class DeadLines:
    """Dead pixels of one image and the whole lines among them.

    Attributes
    ----------
    mask : Tensor, shape (H, W), bool
        True where the pixel is dead (on a dead line, or marked by a user mask).
    rows : Tensor, shape (n_rows,), int64
        Indices of the rows that are dead end to end, ascending.
    cols : Tensor, shape (n_cols,), int64
        Indices of the dead columns, ascending.
    """

    mask: Tensor
    rows: Tensor
    cols: Tensor

    @property
    def axis(self) -> str | None:
        """The orientation of the damage: "rows", "cols", "both", or None if no whole line."""
        if len(self.rows) and len(self.cols):
            return "both"
        if len(self.rows):
            return "rows"
        if len(self.cols):
            return "cols"
        return None


def _as_chw(image: Tensor) -> Tensor:
    if image.ndim == 2:
        return image[None]
    if image.ndim == 3:
        return image
    if image.ndim == 4 and image.shape[0] == 1:
        return image[0]
    raise ValueError(
        f"expected one image (H, W), (C, H, W) or (1, C, H, W), got shape {tuple(image.shape)}"
    )


def dead_lines_from_mask(mask: Tensor) -> DeadLines:
    """Describe a user's dead-pixel mask: the mask itself and its complete rows and columns.

    Parameters
    ----------
    mask : Tensor, shape (H, W), (C, H, W) or (1, C, H, W), bool or numeric
        Nonzero where a pixel is dead (in any channel).

    Returns
    -------
    DeadLines

    Raises
    ------
    ValueError
        If `mask` has another rank; the message quotes the shape.

    Examples
    --------
    >>> mask = torch.zeros(4, 5, dtype=torch.bool)
    >>> mask[1] = True
    >>> dead_lines_from_mask(mask).rows.tolist(), dead_lines_from_mask(mask).axis
    ([1], 'rows')
    """
    dead = (_as_chw(mask) != 0).any(dim=0)
    rows = dead.all(dim=1).nonzero().flatten()
    cols = dead.all(dim=0).nonzero().flatten()
    return DeadLines(mask=dead, rows=rows, cols=cols)


def detect_dead_lines(image: Tensor, axis: str = "both", atol: float = 0.0) -> DeadLines:
    """Find the rows and/or columns that are constant at the image's minimum or maximum.

    A row is dead when every pixel of it, in every channel, is within `atol` of the image's
    minimum, or every pixel within `atol` of its maximum (a burnt-out line reads all black or
    all white), except where it crosses a column that is itself all at the minimum or maximum
    (the shared pixel can only hold one of the two values); likewise a column. A constant
    image, or one whose every pixel is at the minimum or maximum (a binary image), has no
    dead lines (nothing tells them apart). Lines stuck at another value are not found: pass a
    mask (:func:`dead_lines_from_mask`) for those. A clean image may have a genuinely
    saturated or black line (Set12/03.png has a black first row and column): it is reported
    too.

    Parameters
    ----------
    image : Tensor, shape (H, W), (C, H, W) or (1, C, H, W), any real dtype and range
        The damaged image (raw values: the test is on its own minimum and maximum).
    axis : {"rows", "cols", "both", "auto"}
        Which lines to look for; "auto" is "both".
    atol : float
        Tolerance on "equal to the minimum / maximum", in the image's units (>= 0).

    Returns
    -------
    DeadLines
        The dead-pixel mask (H, W) and the indices of the dead rows and columns.

    Raises
    ------
    ValueError
        If `image` has another rank, `axis` is unknown or `atol` is negative.

    Examples
    --------
    >>> image = torch.rand(1, 6, 8) * 0.8 + 0.1
    >>> image[0, 2] = 0.0
    >>> image[0, :, 5] = 1.0
    >>> found = detect_dead_lines(image)
    >>> found.rows.tolist(), found.cols.tolist(), found.axis, found.mask.shape
    ([2], [5], 'both', torch.Size([6, 8]))
    """
    if axis not in (*AXES, "auto"):
        raise ValueError(f"axis must be one of rows, cols, both, auto; got {axis!r}")
    if not atol >= 0:
        raise ValueError(f"atol must be >= 0, got {atol}")
    chw = _as_chw(image)
    h, w = chw.shape[-2:]
    lo, hi = chw.min(), chw.max()
    empty = torch.zeros(0, dtype=torch.int64, device=chw.device)
    if float(hi - lo) <= atol:
        return DeadLines(torch.zeros((h, w), dtype=torch.bool, device=chw.device), empty, empty)
    at_lo = ((chw - lo).abs() <= atol).all(dim=0)
    at_hi = ((hi - chw).abs() <= atol).all(dim=0)
    extreme = at_lo | at_hi
    # Lines whose every pixel is extreme; where a dead row crosses a dead column the shared
    # pixel holds one of the two values, so each line may differ from its own value there.
    row_candidates, col_candidates = extreme.all(dim=1), extreme.all(dim=0)
    rows = torch.zeros(h, dtype=torch.bool, device=chw.device)
    cols = torch.zeros(w, dtype=torch.bool, device=chw.device)
    if axis in ("rows", "both", "auto"):
        crossing = col_candidates[None, :]
        rows = (at_lo | crossing).all(dim=1) | (at_hi | crossing).all(dim=1)
        rows &= row_candidates & ~col_candidates.all()
    if axis in ("cols", "both", "auto"):
        crossing = row_candidates[:, None]
        cols = (at_lo | crossing).all(dim=0) | (at_hi | crossing).all(dim=0)
        cols &= col_candidates & ~row_candidates.all()
    mask = rows[:, None] | cols[None, :]
    return DeadLines(mask=mask, rows=rows.nonzero().flatten(), cols=cols.nonzero().flatten())


def _pick(batch: int, length: int, count: int, generator, device) -> Tensor:
    """(batch, length) bool with exactly `count` True per row, chosen uniformly."""
    order = torch.rand((batch, length), generator=generator, device=device).argsort(dim=1)
    picked = torch.zeros((batch, length), dtype=torch.bool, device=device)
    return picked.scatter_(1, order[:, :count], True)


def line_mask(
    shape: tuple[int, int, int, int],
    fraction: float,
    axis: str = "rows",
    generator: torch.Generator | None = None,
    device: str | torch.device | None = None,
) -> Tensor:
    """Return a keep mask that hides whole lines: ``round(fraction * H)`` rows per image.

    For ``axis="rows"`` each image of the batch loses exactly ``round(fraction * H)`` distinct
    rows, chosen uniformly; ``"cols"`` loses ``round(fraction * W)`` columns; ``"both"`` loses
    both sets (their union is hidden).

    Parameters
    ----------
    shape : tuple (B, C, H, W)
        Shape of the images (C is ignored: the mask has one channel).
    fraction : float
        Fraction of the lines hidden, in [0, 1].
    axis : {"rows", "cols", "both"}
        Orientation of the hidden lines.
    generator : torch.Generator or None
        Source of randomness, on `device`; None uses torch's global state.
    device : str or torch.device or None
        Device of the mask (default: the generator's, else the CPU).

    Returns
    -------
    Tensor, shape (B, 1, H, W), float32, values in {0, 1}
        0 on the hidden lines, 1 elsewhere.

    Raises
    ------
    ValueError
        If `fraction` is not in [0, 1] or `axis` is unknown.

    Examples
    --------
    >>> keep = line_mask((2, 1, 10, 6), 0.3, "rows", torch.Generator().manual_seed(0))
    >>> keep.shape, int((keep[0, 0, :, 0] == 0).sum()), bool((keep[0, 0].std(dim=1) == 0).all())
    (torch.Size([2, 1, 10, 6]), 3, True)
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    if axis not in AXES:
        raise ValueError(f"axis must be one of {', '.join(AXES)}; got {axis!r}")
    if device is None:
        device = generator.device if generator is not None else "cpu"
    b, _, h, w = shape
    hidden = torch.zeros((b, 1, h, w), dtype=torch.bool, device=device)
    if axis in ("rows", "both"):
        hidden |= _pick(b, h, round(fraction * h), generator, device)[:, None, :, None]
    if axis in ("cols", "both"):
        hidden |= _pick(b, w, round(fraction * w), generator, device)[:, None, None, :]
    return (~hidden).float()


def _interpolate_along(image: Tensor, known: Tensor, dim: int) -> tuple[Tensor, Tensor]:
    """Linear interpolation along `dim` between the nearest known entries; and where defined."""
    n = image.shape[dim]
    shape = [1] * image.ndim
    shape[dim] = n
    index = torch.arange(n, device=image.device).view(shape).expand_as(known)
    prev = torch.where(known, index, -1).cummax(dim).values
    flipped = torch.where(known, n - 1 - index, -1).flip(dim).cummax(dim).values.flip(dim)
    nxt = torch.where(flipped >= 0, n - 1 - flipped, -1)
    has_prev, has_next = prev >= 0, nxt >= 0
    v_prev = image.gather(dim, prev.clamp_min(0))
    v_next = image.gather(dim, nxt.clamp_min(0))
    span = (nxt - prev).clamp_min(1).to(image.dtype)
    t = (index - prev).to(image.dtype) / span
    both = v_prev + (v_next - v_prev) * t
    out = torch.where(has_prev & has_next, both, torch.where(has_prev, v_prev, v_next))
    out = torch.where(known, image, out)
    return out, has_prev | has_next


def interpolate_lines(image: Tensor, keep: Tensor, axis: str = "rows") -> Tensor:
    """Fill hidden pixels by linear interpolation across the hidden lines.

    For ``axis="rows"`` (missing rows) each hidden pixel gets the linear interpolation, along
    its column, between the nearest kept pixels above and below (the nearest one alone at the
    top or bottom); ``"cols"`` interpolates along rows; ``"both"`` averages the two where both
    are defined. Kept pixels are returned unchanged; a pixel with no kept pixel on its
    line(s) gets 0.

    Parameters
    ----------
    image : Tensor, shape (B, C, H, W), float
        The image; values under hidden pixels are ignored.
    keep : Tensor, shape (B, 1, H, W) or (B, C, H, W), values in {0, 1}
        1 where the pixel is kept.
    axis : {"rows", "cols", "both"}
        Orientation of the missing lines.

    Returns
    -------
    Tensor, shape (B, C, H, W), dtype of `image`

    Raises
    ------
    ValueError
        If `axis` is unknown or the shapes do not match.

    Examples
    --------
    >>> image = torch.tensor([[[[0.0], [9.0], [9.0], [3.0]]]])  # (1, 1, 4, 1): rows 1, 2 lost
    >>> keep = torch.tensor([[[[1.0], [0.0], [0.0], [1.0]]]])
    >>> interpolate_lines(image, keep, "rows").flatten().tolist()
    [0.0, 1.0, 2.0, 3.0]
    """
    if axis not in AXES:
        raise ValueError(f"axis must be one of {', '.join(AXES)}; got {axis!r}")
    if image.ndim != 4 or keep.ndim != 4 or keep.shape[-2:] != image.shape[-2:]:
        raise ValueError(
            f"interpolate_lines needs (B, C, H, W) images and masks of the same H, W, got "
            f"{tuple(image.shape)} and {tuple(keep.shape)}"
        )
    known = (keep > 0.5).expand_as(image)
    if axis == "rows":
        return _interpolate_along(image, known, -2)[0]
    if axis == "cols":
        return _interpolate_along(image, known, -1)[0]
    down, has_down = _interpolate_along(image, known, -2)
    across, has_across = _interpolate_along(image, known, -1)
    mean = torch.where(
        has_down & has_across, 0.5 * (down + across), down * has_down + across * has_across
    )
    return torch.where(known, image, mean)
