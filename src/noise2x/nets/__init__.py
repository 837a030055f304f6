"""Networks, registered by name in ``NETS``."""

from noise2x.nets import zsn2n_cnn  # noqa: F401  (registers)
from noise2x.nets.base import NETS, count_parameters, init_weights
from noise2x.nets.zsn2n_cnn import ZSN2NNet

__all__ = ["NETS", "ZSN2NNet", "count_parameters", "init_weights"]
