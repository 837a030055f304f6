"""Pair downsamplers (kept for imports): the code lives in `noise2x.ops.downsamplers`.

``from noise2x.ops.downsample import pair_downsample`` keeps working; every downsampler and
the `DOWNSAMPLERS` registry are importable from here too.
"""

from noise2x.ops.downsamplers import (
    DOWNSAMPLERS,
    PairDownsampler,
    Split,
    avg_stochastic_downsample,
    cross_corner_downsample,
    max_avg_downsample,
    max_stochastic_downsample,
    neighbor_subsample,
    pair_downsample,
    register_downsampler,
    stochastic_pool,
    stripe_downsample,
    weighted_pair_downsample,
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
