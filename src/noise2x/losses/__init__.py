"""Training losses, registered by name in `LOSSES`.

Importing this package registers ``l2``, ``l1``, ``l0`` (annealed), ``symmetric``,
``l2_level``, ``perceptual`` and ``l1_perceptual``; build one by name with `build_loss`.
Importing reads no file: the VGG-16 weights of the perceptual losses are read when one is
constructed.
"""

from noise2x.losses.base import LOSSES, Loss, build_loss, register_loss
from noise2x.losses.level import LevelWeightedL2Loss, pair_noise_variance
from noise2x.losses.perceptual import L1PerceptualLoss, PerceptualLoss
from noise2x.losses.pixel import (
    AnnealedL0Loss,
    L1Loss,
    L2Loss,
    SymmetricN2NLoss,
    symmetric_n2n_loss,
)
from noise2x.losses.vgg16 import (
    VGG16_FILENAME,
    VGG16_LAYERS,
    VGG16Features,
    default_vgg16_path,
    load_vgg16_features,
    vgg16_layer_index,
)

__all__ = [
    "LOSSES",
    "VGG16_FILENAME",
    "VGG16_LAYERS",
    "AnnealedL0Loss",
    "L1Loss",
    "L1PerceptualLoss",
    "L2Loss",
    "LevelWeightedL2Loss",
    "Loss",
    "PerceptualLoss",
    "SymmetricN2NLoss",
    "VGG16Features",
    "build_loss",
    "default_vgg16_path",
    "load_vgg16_features",
    "pair_noise_variance",
    "register_loss",
    "symmetric_n2n_loss",
    "vgg16_layer_index",
]
