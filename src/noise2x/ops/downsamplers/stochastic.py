"""Random pair downsamplers: stochastic pooling and Neighbor2Neighbor's random sub-sampler.

Every call draws afresh from the ``torch.Generator`` it is given (None: torch's default
generator); the same generator state gives the same draw. A loss that applies one draw to
several tensors uses ``DOWNSAMPLERS.get(name).draw(noisy, generator)``, which returns the split
for that draw (see ``noise2x.ops.downsamplers.base``). For stochastic pooling the drawn
*positions* are kept: applied to another tensor (a network's output), the split takes that
tensor's values at the pixels drawn from `noisy`'s values.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from noise2x.ops.downsamplers.base import (
    Split,
    check_cells,
    check_like,
    integers,
    pick,
    quadrants,
    register_downsampler,
    uniform,
)

__all__ = [
    "avg_stochastic_downsample",
    "max_stochastic_downsample",
    "neighbor_subsample",
    "stochastic_pool",
]

# For each 2x2 position (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right): its two
# edge-adjacent neighbours inside the cell.
_NEIGHBOURS = torch.tensor([[1, 2], [0, 3], [0, 3], [1, 2]])


def _stochastic_index(cells: Tensor, generator: torch.Generator | None) -> Tensor:
    """Draw one position per cell with probability max(value, 0) / sum; uniform if sum is 0.

    cells: (B, C, h, w, n); returns int64 (B, C, h, w, 1).
    """
    n = cells.shape[-1]
    weight = cells.detach().clamp(min=0)
    positive = weight.sum(dim=-1, keepdim=True) > 0
    weight = torch.where(positive, weight, torch.ones_like(weight))
    cumulative = weight.cumsum(dim=-1)
    threshold = uniform(cumulative.shape[:-1] + (1,), generator, cumulative)
    threshold = threshold * cumulative[..., -1:]
    index = (cumulative <= threshold).sum(dim=-1, keepdim=True)
    # rounding can put the threshold on the total: never go past the last drawable position
    positions = torch.arange(n, device=cells.device)
    last = torch.where(weight > 0, positions, torch.zeros_like(positions)).amax(-1, keepdim=True)
    return torch.minimum(index, last)


def stochastic_pool(noisy: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Stochastic pooling of each 2x2 cell: one pixel drawn with probability ∝ its value.

    In each cell and channel, pixel i is drawn with probability p_i = a_i / sum_j a_j with
    a_i = max(value_i, 0), and the output is the drawn pixel's own value (not clamped).
    Zeiler and Fergus pool non-negative ReLU activations; noisy images can have values <= 0,
    so non-positive pixels get probability 0, and a cell with no positive pixel is drawn
    uniformly. Expected output sum a_i^2 / sum a_i >= the cell's mean of positive values:
    larger values are drawn more often, so the pool is biased towards bright pixels.
    A fresh draw at every call.

    Parameters
    ----------
    noisy : Tensor, shape (B, C, H, W), floating point, any range
        Noisy images; H and W must be even.
    generator : torch.Generator or None
        Source of the draws (None: torch's default generator); any device, results are moved
        to `noisy`'s device.

    Returns
    -------
    pooled : Tensor, shape (B, C, H // 2, W // 2), dtype of `noisy`
        Each value is one of the four values of its cell.

    Raises
    ------
    ValueError
        If `noisy` is not 4-D floating point or H or W is odd; the message quotes the shape.

    References
    ----------
    M. D. Zeiler and R. Fergus, "Stochastic Pooling for Regularization of Deep Convolutional
    Neural Networks", ICLR 2013, arXiv:1301.3557.

    Examples
    --------
    >>> x = torch.tensor([[[[0.0, 0.0], [-1.0, 2.0]]]])
    >>> pooled = stochastic_pool(x, torch.Generator().manual_seed(0))
    >>> pooled.shape, pooled.item()
    (torch.Size([1, 1, 1, 1]), 2.0)
    """
    check_cells(noisy, 2, "stochastic_pool")
    cells = quadrants(noisy)
    return pick(cells, _stochastic_index(cells, generator))


def _pool_vs_stochastic(pool: Callable[[Tensor], Tensor], who: str):
    """Return a sampler: (noisy, generator) -> split giving pool(cells), stochastic pick."""

    def sampler(noisy: Tensor, generator: torch.Generator | None) -> Split:
        check_cells(noisy, 2, who)
        index = _stochastic_index(quadrants(noisy), generator)
        shape = noisy.shape

        def split(x: Tensor) -> tuple[Tensor, Tensor]:
            check_like(x, shape, who)
            cells = quadrants(x)
            return pool(cells), pick(cells, index)

        return split

    return sampler


_sample_max_stochastic = _pool_vs_stochastic(lambda c: c.amax(dim=-1), "max_stochastic")
_sample_avg_stochastic = _pool_vs_stochastic(lambda c: c.mean(dim=-1), "avg_stochastic")


def max_stochastic_downsample(
    noisy: Tensor, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """Max-pool versus stochastic pool of each 2x2 cell (a fresh draw at every call).

    first = the cell's maximum, second = `stochastic_pool` (one pixel drawn with probability
    proportional to its positive part). Registered as ``max_stochastic``.

    Noise: **not independent**. The stochastic pick is often the maximum itself (the largest
    value is the likeliest draw), and then one pixel feeds both outputs; the pick also
    depends on the noise through the probabilities (correlation 0.43 measured for Gaussian
    noise of standard deviation 0.1 around 0.5).

    Parameters
    ----------
    noisy : Tensor, shape (B, C, H, W), floating point, any range
        Noisy images; H and W must be even.
    generator : torch.Generator or None
        Source of the draws (None: torch's default generator).

    Returns
    -------
    first, second : Tensor, shape (B, C, H // 2, W // 2), dtype of `noisy`

    Raises
    ------
    ValueError
        If `noisy` is not 4-D floating point or H or W is odd; the message quotes the shape.

    References
    ----------
    M. D. Zeiler and R. Fergus, ICLR 2013, arXiv:1301.3557 (stochastic pooling).

    Examples
    --------
    >>> x = torch.rand(2, 3, 8, 6)
    >>> first, second = max_stochastic_downsample(x, torch.Generator().manual_seed(0))
    >>> first.shape, bool((second <= first).all())
    (torch.Size([2, 3, 4, 3]), True)
    """
    return _sample_max_stochastic(noisy, generator)(noisy)


def avg_stochastic_downsample(
    noisy: Tensor, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """Average-pool versus stochastic pool of each 2x2 cell (a fresh draw at every call).

    first = the cell's mean, second = `stochastic_pool`. Registered as ``avg_stochastic``.

    Noise: **not independent**. The drawn pixel is always one of the four the mean averages,
    so its noise enters both outputs: correlation 0.5 for pixel-independent noise and a pick
    that ignored the values (0.49 measured for Gaussian noise of standard deviation 0.1
    around 0.5).

    Parameters
    ----------
    noisy : Tensor, shape (B, C, H, W), floating point, any range
        Noisy images; H and W must be even.
    generator : torch.Generator or None
        Source of the draws (None: torch's default generator).

    Returns
    -------
    first, second : Tensor, shape (B, C, H // 2, W // 2), dtype of `noisy`

    Raises
    ------
    ValueError
        If `noisy` is not 4-D floating point or H or W is odd; the message quotes the shape.

    References
    ----------
    M. D. Zeiler and R. Fergus, ICLR 2013, arXiv:1301.3557 (stochastic pooling).

    Examples
    --------
    >>> x = torch.rand(1, 1, 4, 4)
    >>> first, second = avg_stochastic_downsample(x, torch.Generator().manual_seed(0))
    >>> first.shape, second.shape
    (torch.Size([1, 1, 2, 2]), torch.Size([1, 1, 2, 2]))
    """
    return _sample_avg_stochastic(noisy, generator)(noisy)


def _sample_neighbors(noisy: Tensor, generator: torch.Generator | None) -> Split:
    """Draw Neighbor2Neighbor's two positions per cell; return the split that applies them."""
    check_cells(noisy, 2, "neighbor_subsample")
    b, _, h, w = noisy.shape
    shape = (b, 1, h // 2, w // 2, 1)
    first_index = integers(4, shape, generator, noisy)
    side = integers(2, shape, generator, noisy)
    second_index = _NEIGHBOURS.to(noisy.device)[first_index, side]
    full_shape = noisy.shape

    def split(x: Tensor) -> tuple[Tensor, Tensor]:
        check_like(x, full_shape, "neighbor_subsample")
        cells = quadrants(x)
        return pick(cells, first_index), pick(cells, second_index)

    return split


def neighbor_subsample(
    noisy: Tensor, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """Neighbor2Neighbor's random neighbour sub-sampler (a fresh draw at every call).

    In each 2x2 cell one pixel is drawn uniformly for the first output, and one of its two
    edge-adjacent neighbours in the cell (up/down or left/right, never the diagonal one) is
    drawn uniformly for the second: 8 equally likely pairs per cell. The same positions are
    used for every channel of an image (as the paper's code does); cells and images draw
    independently. Registered as ``random_neighbor``.

    Noise: **independent**. The two outputs take two different pixels of every cell, so
    pixel-independent noise stays independent (their signals differ by one pixel's shift,
    which Neighbor2Neighbor's regulariser accounts for).

    Parameters
    ----------
    noisy : Tensor, shape (B, C, H, W), floating point, any range
        Noisy images; H and W must be even.
    generator : torch.Generator or None
        Source of the draws (None: torch's default generator); any device, results are moved
        to `noisy`'s device.

    Returns
    -------
    first, second : Tensor, shape (B, C, H // 2, W // 2), dtype of `noisy`
        Each value is a pixel of its cell; `first` and `second` never take the same pixel.

    Raises
    ------
    ValueError
        If `noisy` is not 4-D floating point or H or W is odd; the message quotes the shape.

    References
    ----------
    T. Huang, S. Li, X. Jia, H. Lu and J. Liu, "Neighbor2Neighbor: Self-Supervised Denoising
    from Single Noisy Images", CVPR 2021, arXiv:2101.02824, Sec. 3.2.

    Examples
    --------
    >>> x = torch.arange(16.0).reshape(1, 1, 4, 4)
    >>> first, second = neighbor_subsample(x, torch.Generator().manual_seed(0))
    >>> first.shape, bool((first != second).all())
    (torch.Size([1, 1, 2, 2]), True)
    """
    return _sample_neighbors(noisy, generator)(noisy)


register_downsampler(
    "max_stochastic",
    max_stochastic_downsample,
    cell=2,
    independent=False,
    summary="max-pool vs stochastic pool (pixel drawn with probability ∝ value) of 2x2",
    sampler=_sample_max_stochastic,
)
register_downsampler(
    "avg_stochastic",
    avg_stochastic_downsample,
    cell=2,
    independent=False,
    summary="average-pool vs stochastic pool (pixel drawn with probability ∝ value) of 2x2",
    sampler=_sample_avg_stochastic,
)
register_downsampler(
    "random_neighbor",
    neighbor_subsample,
    cell=2,
    independent=True,
    summary="Neighbor2Neighbor: a random pixel vs a random adjacent pixel of each 2x2 cell",
    sampler=_sample_neighbors,
)
