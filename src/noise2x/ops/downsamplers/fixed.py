"""Deterministic pair downsamplers: fixed weights on each 2x2 (or 3x3) cell, or pooling.

Each takes ``generator`` only to be called like the random ones, and ignores it. Each output
pixel is computed from one cell of the input; the docstrings say which pixels and with which
weights, and whether the two outputs have independent noise when the input's noise is
independent from pixel to pixel (they do exactly when no pixel feeds both outputs).
"""

from __future__ import annotations

from functools import partial

import torch
from torch import Tensor

from noise2x.ops.downsamplers.base import check_cells, quadrants, register_downsampler

__all__ = [
    "cross_corner_downsample",
    "max_avg_downsample",
    "pair_downsample",
    "stripe_downsample",
    "weighted_pair_downsample",
]


def pair_downsample(
    noisy: Tensor, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """Split each image into two half-size images with independent noise.

    Each output pixel is the mean of one diagonal of a 2x2 cell: the first output averages the
    anti-diagonal (top-right, bottom-left), i.e. a stride-2 convolution with the kernel
    [[0, 1/2], [1/2, 0]]; the second averages the main diagonal, kernel [[1/2, 0], [0, 1/2]].
    The two outputs use disjoint pixels, so under pixel-independent noise their noise is
    independent while their signal is nearly the same. Implemented with strided slicing, which
    is exact and cheaper than the convolution. Registered as ``diagonal``.

    Parameters
    ----------
    noisy : Tensor, shape (B, C, H, W), float32, any range
        Noisy images; H and W must be even.
    generator : torch.Generator or None
        Ignored (the downsampler is deterministic).

    Returns
    -------
    first, second : Tensor, shape (B, C, H // 2, W // 2), float32

    Raises
    ------
    ValueError
        If `noisy` is not 4-D floating point or H or W is odd; the message quotes the shape.

    References
    ----------
    Y. Mansour and R. Heckel, "Zero-Shot Noise2Noise: Efficient Image Denoising without any
    Data", CVPR 2023, arXiv:2303.11253, Sec. 3 (the pair downsampler).

    Examples
    --------
    >>> x = torch.arange(16.0).reshape(1, 1, 4, 4)
    >>> first, second = pair_downsample(x)
    >>> first.shape
    torch.Size([1, 1, 2, 2])
    >>> first[0, 0].tolist(), second[0, 0].tolist()
    ([[2.5, 4.5], [10.5, 12.5]], [[2.5, 4.5], [10.5, 12.5]])
    """
    check_cells(noisy, 2, "pair_downsample")
    first = (noisy[..., 0::2, 1::2] + noisy[..., 1::2, 0::2]) * 0.5
    second = (noisy[..., 0::2, 0::2] + noisy[..., 1::2, 1::2]) * 0.5
    return first, second


def weighted_pair_downsample(
    noisy: Tensor,
    generator: torch.Generator | None = None,
    *,
    diagonal: float = 0.5,
    edge: float = 0.1,
) -> tuple[Tensor, Tensor]:
    """Diagonal pair with weight on the other diagonal too: every pixel feeds both outputs.

    With d = `diagonal`, e = `edge` and s = 2 (d + e), the two stride-2 kernels are
    [[e, d], [d, e]] / s (first, centred on the anti-diagonal) and [[d, e], [e, d]] / s
    (second), so each sums to 1. ``edge=0`` is `pair_downsample`. Registered as
    ``positive_edges`` (d = 0.5, e = 0.1) and ``negative_edges`` (d = 0.5, e = -0.1).

    Noise: **not independent**. Each output mixes all four pixels of the cell, so for
    pixel-independent noise of variance v the two outputs have covariance 4de v / s^2 and
    correlation 2de / (d^2 + e^2): +0.38 for ``positive_edges``, -0.38 for ``negative_edges``.

    Parameters
    ----------
    noisy : Tensor, shape (B, C, H, W), floating point, any range
        Noisy images; H and W must be even.
    generator : torch.Generator or None
        Ignored (the downsampler is deterministic).
    diagonal, edge : float
        Weights before normalisation of the output's own diagonal and of the other one;
        ``diagonal + edge`` must not be 0.

    Returns
    -------
    first, second : Tensor, shape (B, C, H // 2, W // 2), dtype of `noisy`

    Raises
    ------
    ValueError
        If `noisy` is not 4-D floating point, H or W is odd (the message quotes the shape),
        or ``diagonal + edge == 0``.

    Examples
    --------
    >>> x = torch.tensor([[[[0.0, 6.0], [6.0, 0.0]]]])
    >>> first, second = weighted_pair_downsample(x, diagonal=0.5, edge=0.1)
    >>> first.shape, round(first.item(), 4), round(second.item(), 4)
    (torch.Size([1, 1, 1, 1]), 5.0, 1.0)
    """
    check_cells(noisy, 2, "weighted_pair_downsample")
    total = 2.0 * (diagonal + edge)
    if total == 0:
        raise ValueError(
            f"weighted_pair_downsample: diagonal + edge must not be 0, got {diagonal} + {edge}"
        )
    w_d, w_e = diagonal / total, edge / total
    main = noisy[..., 0::2, 0::2] + noisy[..., 1::2, 1::2]
    anti = noisy[..., 0::2, 1::2] + noisy[..., 1::2, 0::2]
    return w_d * anti + w_e * main, w_d * main + w_e * anti


def cross_corner_downsample(
    noisy: Tensor, generator: torch.Generator | None = None, *, centre: float = 0.01
) -> tuple[Tensor, Tensor]:
    """Split 3x3 cells (stride 3) into their cross and their corners: third-size images.

    With p(i, j) the pixel at row i, column j of a cell and c = `centre`::

        first  = (p(0,1) + p(1,0) + p(1,2) + p(2,1) + c p(1,1)) / (4 + c)   # the cross
        second = (p(0,0) + p(0,2) + p(2,0) + p(2,2) + c p(1,1)) / (4 + c)   # the corners

    Both outputs are centred on the cell's centre. Registered as ``cross_corners``
    (c = 0.01).

    Noise: **nearly, not exactly, independent**. The centre pixel feeds both outputs with
    weight c / (4 + c); for pixel-independent noise their correlation is c^2 / (4 + c^2),
    2.5e-5 for c = 0.01. With c = 0 they would be disjoint and independent.

    Parameters
    ----------
    noisy : Tensor, shape (B, C, H, W), floating point, any range
        Noisy images; H and W must be multiples of 3.
    generator : torch.Generator or None
        Ignored (the downsampler is deterministic).
    centre : float
        Weight of the centre pixel, relative to 1 for each cross or corner pixel; >= 0.

    Returns
    -------
    first, second : Tensor, shape (B, C, H // 3, W // 3), dtype of `noisy`

    Raises
    ------
    ValueError
        If `noisy` is not 4-D floating point, H or W is not a multiple of 3 (the message
        quotes the shape), or `centre` is negative.

    Examples
    --------
    >>> x = torch.arange(9.0).reshape(1, 1, 3, 3)
    >>> first, second = cross_corner_downsample(x, centre=0.0)
    >>> first.shape, first.item(), second.item()
    (torch.Size([1, 1, 1, 1]), 4.0, 4.0)
    """
    check_cells(noisy, 3, "cross_corner_downsample")
    if not centre >= 0:
        raise ValueError(f"cross_corner_downsample: centre must be >= 0, got {centre}")

    def p(i: int, j: int) -> Tensor:
        return noisy[..., i::3, j::3]

    middle = centre * p(1, 1)
    first = (p(0, 1) + p(1, 0) + p(1, 2) + p(2, 1) + middle) / (4.0 + centre)
    second = (p(0, 0) + p(0, 2) + p(2, 0) + p(2, 2) + middle) / (4.0 + centre)
    return first, second


def stripe_downsample(
    noisy: Tensor, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """Split each 2x2 cell into its left and right columns (vertical stripes).

    first = (top-left + bottom-left) / 2, second = (top-right + bottom-right) / 2: stride-2
    kernels [[1/2, 0], [1/2, 0]] and [[0, 1/2], [0, 1/2]]. The two outputs are offset by one
    pixel horizontally and none vertically. Registered as ``vertical_stripes``.

    Noise: **independent**. The two columns are disjoint pixels, so pixel-independent noise
    stays independent between the outputs.

    Parameters
    ----------
    noisy : Tensor, shape (B, C, H, W), floating point, any range
        Noisy images; H and W must be even.
    generator : torch.Generator or None
        Ignored (the downsampler is deterministic).

    Returns
    -------
    first, second : Tensor, shape (B, C, H // 2, W // 2), dtype of `noisy`

    Raises
    ------
    ValueError
        If `noisy` is not 4-D floating point or H or W is odd; the message quotes the shape.

    Examples
    --------
    >>> x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    >>> first, second = stripe_downsample(x)
    >>> first.shape, first.item(), second.item()
    (torch.Size([1, 1, 1, 1]), 2.0, 3.0)
    """
    check_cells(noisy, 2, "stripe_downsample")
    first = (noisy[..., 0::2, 0::2] + noisy[..., 1::2, 0::2]) * 0.5
    second = (noisy[..., 0::2, 1::2] + noisy[..., 1::2, 1::2]) * 0.5
    return first, second


def max_avg_downsample(
    noisy: Tensor, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """Max-pool versus average-pool of each 2x2 cell (stride 2).

    first = max of the four pixels, second = their mean. Registered as ``max_avg``.

    Noise: **not independent**. Both outputs are computed from the same four pixels (the
    maximum is one of the pixels the mean averages), so their noise is strongly correlated
    (0.71 for Gaussian noise, measured).
    The maximum is also biased upwards: for four independent N(0, v) noise values its mean is
    about 1.03 sqrt(v), so the two outputs do not even share the same expected signal.

    Parameters
    ----------
    noisy : Tensor, shape (B, C, H, W), floating point, any range
        Noisy images; H and W must be even.
    generator : torch.Generator or None
        Ignored (the downsampler is deterministic).

    Returns
    -------
    first, second : Tensor, shape (B, C, H // 2, W // 2), dtype of `noisy`

    Raises
    ------
    ValueError
        If `noisy` is not 4-D floating point or H or W is odd; the message quotes the shape.

    Examples
    --------
    >>> x = torch.tensor([[[[1.0, 2.0], [3.0, 6.0]]]])
    >>> first, second = max_avg_downsample(x)
    >>> first.shape, first.item(), second.item()
    (torch.Size([1, 1, 1, 1]), 6.0, 3.0)
    """
    check_cells(noisy, 2, "max_avg_downsample")
    cells = quadrants(noisy)
    return cells.amax(dim=-1), cells.mean(dim=-1)


register_downsampler(
    "diagonal",
    pair_downsample,
    cell=2,
    independent=True,
    summary="the paper's pair: mean of the anti-diagonal vs mean of the main diagonal of 2x2",
)
register_downsampler(
    "positive_edges",
    partial(weighted_pair_downsample, diagonal=0.5, edge=0.1),
    cell=2,
    independent=False,
    summary="diagonal pair with weight 0.1 (vs 0.5) on the other diagonal, normalised",
)
register_downsampler(
    "negative_edges",
    partial(weighted_pair_downsample, diagonal=0.5, edge=-0.1),
    cell=2,
    independent=False,
    summary="diagonal pair with weight -0.1 (vs 0.5) on the other diagonal, normalised",
)
register_downsampler(
    "cross_corners",
    cross_corner_downsample,
    cell=3,
    independent=False,
    summary="3x3 cells, stride 3: the cross vs the four corners, centre weight 0.01 in both",
)
register_downsampler(
    "vertical_stripes",
    stripe_downsample,
    cell=2,
    independent=True,
    summary="left column vs right column of each 2x2 cell",
)
register_downsampler(
    "max_avg",
    max_avg_downsample,
    cell=2,
    independent=False,
    summary="max-pool vs average-pool of each 2x2 cell",
)
