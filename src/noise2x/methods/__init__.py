"""Denoising methods, registered by name in ``METHODS``.

Every module of this package is imported here, so that a new method's file registers itself
with no edit of this file (``docs/development.md``, "Adding a method").
"""

import importlib
import pkgutil

from noise2x.methods.base import (
    METHODS,
    Batch,
    ClassicalFilter,
    FitResult,
    FittingMethod,
    Method,
    MethodBase,
    SingleImageMethod,
    SingleViewMethod,
    TrainableMethod,
)
from noise2x.methods.bm3d import BM3D, BM3DConfig
from noise2x.methods.lines import RestoreLines, RestoreLinesConfig
from noise2x.methods.n2n import N2NConfig, Noise2Noise
from noise2x.methods.n2v import N2V2, N2V2Config, N2VConfig, Noise2Void
from noise2x.methods.ne2ne import Ne2NeConfig, Neighbor2Neighbor
from noise2x.methods.prior import Prior, PriorConfig
from noise2x.methods.self2self import Self2Self, Self2SelfConfig
from noise2x.methods.zsn2n import ZeroShotNoise2Noise, ZSN2NConfig, zsn2n_loss

__all__ = [
    "BM3D",
    "METHODS",
    "BM3DConfig",
    "Batch",
    "ClassicalFilter",
    "FitResult",
    "FittingMethod",
    "Method",
    "MethodBase",
    "N2NConfig",
    "N2V2",
    "N2V2Config",
    "N2VConfig",
    "Ne2NeConfig",
    "Neighbor2Neighbor",
    "Noise2Noise",
    "Noise2Void",
    "Prior",
    "PriorConfig",
    "RestoreLines",
    "RestoreLinesConfig",
    "Self2Self",
    "Self2SelfConfig",
    "SingleImageMethod",
    "SingleViewMethod",
    "TrainableMethod",
    "ZSN2NConfig",
    "ZeroShotNoise2Noise",
    "zsn2n_loss",
]

for _module in pkgutil.iter_modules(__path__):  # a method file not imported above registers too
    importlib.import_module(f"{__name__}.{_module.name}")
del _module
