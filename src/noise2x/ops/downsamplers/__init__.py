"""Pair downsamplers: split a noisy image into two smaller images, registered by name.

Importing this package registers every downsampler in `DOWNSAMPLERS` (``noise2x list`` names
them); each is called as ``first, second = DOWNSAMPLERS.get(name)(noisy, generator)`` on a
(B, C, H, W) floating-point tensor and returns two (B, C, H // k, W // k) tensors, k = 2 (3 for
``cross_corners``). H and W that are not multiples of k raise a ValueError quoting the shape;
nothing is cropped or padded here.

=================  ===========  ===========  ================================================
name               cell         random       noise of the two outputs (pixel-independent noise)
=================  ===========  ===========  ================================================
diagonal           2x2          no           independent (disjoint diagonals); the paper's
positive_edges     2x2          no           correlated, +0.38 (every pixel feeds both)
negative_edges     2x2          no           correlated, -0.38 (every pixel feeds both)
cross_corners      3x3          no           nearly independent, 2.5e-5 (shared centre)
vertical_stripes   2x2          no           independent (disjoint columns)
max_avg            2x2          no           correlated, 0.71 (same four pixels)
max_stochastic     2x2          yes          correlated, ~0.4 (the pick is often the max)
avg_stochastic     2x2          yes          correlated, ~0.5 (the pick is averaged too)
random_neighbor    2x2          yes          independent (two different pixels per cell)
=================  ===========  ===========  ================================================

References
----------
Y. Mansour and R. Heckel, "Zero-Shot Noise2Noise", CVPR 2023, arXiv:2303.11253 (``diagonal``).
T. Huang et al., "Neighbor2Neighbor", CVPR 2021, arXiv:2101.02824 (``random_neighbor``).
M. D. Zeiler and R. Fergus, "Stochastic Pooling", ICLR 2013, arXiv:1301.3557.
"""

from noise2x.ops.downsamplers.base import (
    DOWNSAMPLERS,
    PairDownsampler,
    Split,
    register_downsampler,
)
from noise2x.ops.downsamplers.fixed import (
    cross_corner_downsample,
    max_avg_downsample,
    pair_downsample,
    stripe_downsample,
    weighted_pair_downsample,
)
from noise2x.ops.downsamplers.stochastic import (
    avg_stochastic_downsample,
    max_stochastic_downsample,
    neighbor_subsample,
    stochastic_pool,
)

__all__ = [
    "DOWNSAMPLERS",
    "PairDownsampler",
    "Split",
    "avg_stochastic_downsample",
    "cross_corner_downsample",
    "max_avg_downsample",
    "max_stochastic_downsample",
    "neighbor_subsample",
    "pair_downsample",
    "register_downsampler",
    "stochastic_pool",
    "stripe_downsample",
    "weighted_pair_downsample",
]
