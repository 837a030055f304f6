"""Networks, registered by name in ``NETS``."""

from noise2x.nets import red30, resunet, self2self_unet, unet_n2n, zsn2n_cnn  # noqa: F401
from noise2x.nets.base import NETS, build_net, count_parameters, init_weights
from noise2x.nets.red30 import RED30
from noise2x.nets.resunet import ResUNet
from noise2x.nets.unet_n2n import UNetN2N
from noise2x.nets.zsn2n_cnn import ZSN2NNet

__all__ = [
    "NETS",
    "RED30",
    "ResUNet",
    "UNetN2N",
    "ZSN2NNet",
    "build_net",
    "count_parameters",
    "init_weights",
]
