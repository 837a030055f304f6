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
both orders.

References
----------
R. Timofte, R. Rothe and L. Van Gool, "Seven ways to improve example-based single image super
resolution", CVPR 2016 (self-ensemble). CAREamics predicts with the 8-fold ensemble by
default (``tta_transforms=True``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

__all__ = [
    "ENSEMBLE_ORDER",
    "ENSEMBLE_SIZES",
    "ROW_ORDER",
    "check_ensemble",
    "dihedral",
    "self_ensemble",
]

# The order in which transforms join the ensemble: the quarter turns, then their mirror images.
ENSEMBLE_ORDER = (0, 1, 2, 3, 4, 5, 6, 7)
# For noise correlated along rows or columns: identity, horizontal flip, half turn, its flip
# (rows stay rows up to here), then the transposes.
ROW_ORDER = (0, 4, 2, 6, 1, 5, 3, 7)
ENSEMBLE_SIZES = (1, 2, 4, 8)


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


def check_ensemble(n: object, owner: str = "ensemble") -> int:
    """Return `n` if it is a valid ensemble size (1, 2, 4 or 8), else raise ValueError.

    Raises
    ------
    ValueError
        Naming `owner` and the accepted sizes.
    """
    if isinstance(n, bool) or n not in ENSEMBLE_SIZES:
        raise ValueError(f"{owner}: ensemble must be 1, 2, 4 or 8, got {n!r}")
    return int(n)


def self_ensemble(
    fn: Callable[[Tensor], Tensor], noisy: Tensor, n: int, keep_rows: bool = False
) -> Tensor:
    """Return the mean of ``T_k^-1(fn(T_k(noisy)))`` over the first `n` transforms.

    Parameters
    ----------
    fn : callable (B, C, H, W) -> (B, C, H, W)
        The denoiser; it must accept the transposed (B, C, W, H) input (a quarter turn of a
        non-square image) unless `keep_rows` and n < 8.
    noisy : Tensor, shape (B, C, H, W), float
    n : {1, 2, 4, 8}
        Transforms averaged: 1 is ``fn(noisy)`` itself, 2 adds the quarter turn, 4 the half
        and three-quarter turns, 8 all of them (`ENSEMBLE_ORDER`).
    keep_rows : bool
        Use `ROW_ORDER` instead: 2 adds the horizontal flip, 4 the half turn and the vertical
        flip, so that rows stay rows up to n = 4 (noise correlated along rows or columns).

    Returns
    -------
    Tensor, shape (B, C, H, W), float32

    Raises
    ------
    ValueError
        If `n` is not 1, 2, 4 or 8.

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
    check_ensemble(n)
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
