"""Self-ensemble: the mean of a denoiser's outputs over flips and 90-degree rotations.

The 8 symmetries of the square (the dihedral group D4) are applied to the input, the denoiser
runs on each, each output is transformed back, and the results are averaged. A denoiser trained
on augmented patches is (nearly) equivariant to them, so the average keeps the image and
averages out part of the estimator's variance; it costs one forward pass per transform. The
first 4 transforms of the ensemble order are the quarter turns (identity, quarter, half and
three-quarter turn): they swap rows and columns, so the net's orientation-specific errors
average out, where the mirror images and the half turn keep every edge in its direction (on the
prior's validation images the quarter turns gave 0.001-0.018 dB more grey and 0.008-0.032 dB
more colour at every Gaussian sigma 5-50, Poisson lambda 10-100 and on FMD, for the same 4
passes: ``benchmarks/ensemble_order.py``). With ``keep_rows=True`` the first 4 are instead
identity, horizontal flip, half turn and vertical flip, which keep rows as rows: for noise
correlated along rows or columns (structN2V's line mask). The 8-fold ensemble is the same set in
both orders. Any n from 1 to 8 averages the first n transforms of the order;
`ensemble_for_size` chooses n from an image's size within a budget of pixels (the prior's
default: more passes on a small image, where they are cheap).

References
----------
R. Timofte, R. Rothe and L. Van Gool, "Seven ways to improve example-based single image super
resolution", CVPR 2016 (self-ensemble). CAREamics predicts with the 8-fold ensemble by
default (``tta_transforms=True``).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import torch
from torch import Tensor

__all__ = [
    "ENSEMBLE_ORDER",
    "ENSEMBLE_SIZES",
    "ROW_ORDER",
    "check_ensemble",
    "dihedral",
    "ensemble_for_size",
    "is_ensemble_size",
    "self_ensemble",
]

# The order in which transforms join the ensemble: the quarter turns, then their mirror images.
ENSEMBLE_ORDER = (0, 1, 2, 3, 4, 5, 6, 7)
# For noise correlated along rows or columns: identity, horizontal flip, half turn, its flip
# (rows stay rows up to here), then the transposes.
ROW_ORDER = (0, 4, 2, 6, 1, 5, 3, 7)
ENSEMBLE_SIZES = (1, 2, 3, 4, 5, 6, 7, 8)


def dihedral(x: Tensor, k: int, inverse: bool = False) -> Tensor:
    """Apply the k-th of the 8 flips / 90-degree rotations to (B, C, H, W) `x` (or undo it).

    ``k = 4 * flip + turns``: `turns` quarter turns in the (H, W) plane, after a horizontal
    flip when ``flip`` is 1. k = 0 is the identity.

    Parameters
    ----------
    x : Tensor, shape (..., H, W), any dtype
    k : int in 0..7
    inverse : bool
        Undo the transform instead of applying it.

    Returns
    -------
    Tensor, shape (..., H, W), or (..., W, H) after an odd number of quarter turns.

    Raises
    ------
    ValueError
        If `k` is not in 0..7.

    Examples
    --------
    >>> x = torch.arange(6.0).reshape(1, 1, 2, 3)
    >>> all(torch.equal(dihedral(dihedral(x, k), k, inverse=True), x) for k in range(8))
    True
    """
    if not 0 <= k < 8:
        raise ValueError(f"dihedral index must be in 0..7, got {k}")
    turns, flip = k % 4, k // 4
    if inverse:
        x = torch.rot90(x, -turns, (-2, -1))
        return x.flip(-1) if flip else x
    x = x.flip(-1) if flip else x
    return torch.rot90(x, turns, (-2, -1))


def is_ensemble_size(n: object) -> bool:
    """Return True if `n` is a valid ensemble size: an int (or NumPy integer) 1-8, not a bool.

    Parameters
    ----------
    n : object
        A setting as given (any type; never raises).

    Returns
    -------
    bool

    Examples
    --------
    >>> [is_ensemble_size(n) for n in (1, 8, 0, 9, True, 4.0, "4")]
    [True, True, False, False, False, False, False]
    """
    return isinstance(n, numbers.Integral) and not isinstance(n, bool) and n in ENSEMBLE_SIZES


def check_ensemble(n: object, owner: str = "ensemble") -> int:
    """Return `n` if it is a valid ensemble size (an integer 1-8), else raise ValueError.

    Parameters
    ----------
    n : object
        The size to check; an int (or NumPy integer) 1-8, not a bool or a float.
    owner : str
        Named in the error (the setting or caller).

    Returns
    -------
    int, 1-8

    Raises
    ------
    ValueError
        Naming `owner` and the accepted sizes.
    """
    if not is_ensemble_size(n):
        raise ValueError(f"{owner}: ensemble must be an integer 1-8, got {n!r}")
    return int(n)


def ensemble_for_size(height: int, width: int, budget: int, least: int = 1, most: int = 8) -> int:
    """Return how many transforms to average on a (height, width) image within a pixel budget.

    Each transform is one pass of the denoiser over the image, so its time grows with the
    pixels: the result is the most passes whose pixels add up to at most `budget`, but no fewer
    than `least` and no more than `most`,
    ``n = max(least, min(most, budget // (height * width)))``; only the pixel count matters
    (100 x 700 pixels count as 265 x 265). A small image gets more transforms (more of the
    variance averaged out) where a large one keeps the time of `least` passes.

    Parameters
    ----------
    height, width : int
        One image's size in pixels (>= 1); for a stack, one frame's.
    budget : int
        Pixels of all passes together (>= 1), e.g. ``6 * 256 * 256``: six passes over a
        256 x 256 image.
    least : int
        Transforms averaged however large the image (1-8).
    most : int
        Transforms averaged however small the image (`least`-8).

    Returns
    -------
    int, in least..most

    Raises
    ------
    ValueError
        If a size or the budget is not an integer >= 1, `least` or `most` is not an integer
        1-8, or `most` is below `least`.

    Examples
    --------
    >>> [ensemble_for_size(s, s, 6 * 256 * 256, 4) for s in (64, 200, 256, 280, 300)]
    [8, 8, 6, 5, 4]
    >>> [ensemble_for_size(s, s, 6 * 256 * 256, 4, 6) for s in (64, 200, 256, 280, 300)]
    [6, 6, 6, 5, 4]
    """
    check_ensemble(least, "least")
    check_ensemble(most, "most")
    if most < least:
        raise ValueError(f"ensemble_for_size: most ({most}) is below least ({least})")
    sizes = (height, width, budget)
    if (
        any(isinstance(v, bool) or not isinstance(v, numbers.Integral) for v in sizes)
        or min(sizes) < 1
    ):
        raise ValueError(
            f"ensemble_for_size: sizes and budget must be integers >= 1, got "
            f"{height} x {width}, budget {budget}"
        )
    return max(least, min(most, budget // (height * width)))


def self_ensemble(
    fn: Callable[[Tensor], Tensor], noisy: Tensor, n: int, keep_rows: bool = False
) -> Tensor:
    """Return the mean of ``T_k^-1(fn(T_k(noisy)))`` over the first `n` transforms.

    Parameters
    ----------
    fn : callable (B, C, H, W) -> (B, C, H, W)
        The denoiser; it must accept the transposed (B, C, W, H) input (a quarter turn of a
        non-square image) unless `keep_rows` and n <= 4.
    noisy : Tensor, shape (B, C, H, W), float
    n : int, 1-8
        Transforms averaged, the first `n` of `ENSEMBLE_ORDER`: 1 is ``fn(noisy)`` itself, 2
        adds the quarter turn, 4 the half and three-quarter turns, 5-8 their mirror images
        (horizontal flip first), 8 all of them.
    keep_rows : bool
        Use `ROW_ORDER` instead: 2 adds the horizontal flip, 4 the half turn and the vertical
        flip, so that rows stay rows up to n = 4 (noise correlated along rows or columns);
        5-8 add the transposes, whose passes see row-correlated noise as column noise (a
        structN2V net then leaves part of it in: keep n <= 4 for such models).

    Returns
    -------
    Tensor, shape (B, C, H, W), float32

    Raises
    ------
    ValueError
        If `n` is not an integer 1-8.

    Examples
    --------
    >>> x = torch.rand(1, 1, 4, 6)
    >>> torch.allclose(self_ensemble(lambda t: t, x, 4), x)
    True
    >>> rows = []
    >>> _ = self_ensemble(lambda t: rows.append(t.shape[-2]) or t, x, 4, keep_rows=True)
    >>> rows
    [4, 4, 4, 4]
    """
    n = check_ensemble(n)
    total = None
    layout = (
        torch.channels_last
        if noisy.ndim == 4 and noisy.is_contiguous(memory_format=torch.channels_last)
        else torch.contiguous_format
    )
    for k in (ROW_ORDER if keep_rows else ENSEMBLE_ORDER)[:n]:
        # a quarter turn is a strided view: copied to the input's layout, as the nets expect
        # (the prior's U-Net ran 15 % longer on the view before its decoder wrote its own
        # layout with upsample_cat; about the same since: one CPU thread, 256 x 256, scratch)
        x = dihedral(noisy, k).contiguous(memory_format=layout)
        out = dihedral(fn(x), k, inverse=True).float()
        total = out if total is None else total + out
    return total / n
