"""Seeded noise models on (B, C, H, W) tensors, registered by name in `NOISES`.

Importing this package registers every model: ``gaussian``, ``poisson``,
``poisson_gaussian``, ``bernoulli``, ``impulse``, ``text``, ``lines`` and ``structured``.
Build one by name with `build_noise`, or add noise in one call with `add_noise`.
"""

from noise2x.noise.base import (
    NOISES,
    MaskedNoiseModel,
    NoiseModel,
    add_noise,
    build_noise,
    register_noise,
)
from noise2x.noise.bernoulli import BernoulliNoise
from noise2x.noise.gaussian import GaussianNoise
from noise2x.noise.impulse import ImpulseNoise
from noise2x.noise.levels import LEVEL_RANGES, draw_levels, parse_level
from noise2x.noise.lines import MissingLines
from noise2x.noise.poisson import PoissonGaussianNoise, PoissonNoise
from noise2x.noise.structured import StructuredNoise
from noise2x.noise.text import TextNoise

__all__ = [
    "LEVEL_RANGES",
    "NOISES",
    "BernoulliNoise",
    "GaussianNoise",
    "ImpulseNoise",
    "MaskedNoiseModel",
    "MissingLines",
    "NoiseModel",
    "PoissonGaussianNoise",
    "PoissonNoise",
    "StructuredNoise",
    "TextNoise",
    "add_noise",
    "build_noise",
    "draw_levels",
    "parse_level",
    "register_noise",
]
