"""Self-ensemble: the mean of a denoiser's outputs over flips and 90-degree rotations.

The 8 symmetries of the square (the dihedral group D4) are applied to the input, the
denoiser runs on each, each output is transformed back, and the results are averaged. A
denoiser trained on augmented patches is (nearly) equivariant to them, so the average keeps
the image and averages out part of the estimator's variance; it costs one forward pass per
transform. The first 4 transforms of the ensemble order (identity, horizontal flip, half
turn, vertical flip) keep rows as rows, so they also suit noise correlated along rows or
columns (structN2V); the 8-fold ensemble adds the quarter turns.

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

__all__ = ["ENSEMBLE_ORDER", "ENSEMBLE_SIZES", "check_ensemble", "dihedral", "self_ensemble"]

# The order in which transforms join the ensemble: identity, horizontal flip, half turn, its
# flip (rows stay rows up to here), then the quarter turns.
ENSEMBLE_ORDER = (0, 4, 2, 6, 1, 5, 3, 7)
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


def self_ensemble(fn: Callable[[Tensor], Tensor], noisy: Tensor, n: int) -> Tensor:
    """Return the mean of ``T_k^-1(fn(T_k(noisy)))`` over the first `n` transforms.

    Parameters
    ----------
    fn : callable (B, C, H, W) -> (B, C, H, W)
        The denoiser; it must accept the transposed (B, C, W, H) input when n = 8.
    noisy : Tensor, shape (B, C, H, W), float
    n : {1, 2, 4, 8}
        Transforms averaged: 1 is ``fn(noisy)`` itself, 2 adds the horizontal flip, 4 the
        half turn and the vertical flip (rows stay rows), 8 all of them.

    Returns
    -------
    Tensor, shape (B, C, H, W), float32

    Raises
    ------
    ValueError
        If `n` is not 1, 2, 4 or 8.
    """
    check_ensemble(n)
    total = None
    for k in ENSEMBLE_ORDER[:n]:
        out = dihedral(fn(dihedral(noisy, k)), k, inverse=True).float()
        total = out if total is None else total + out
    return total / n
