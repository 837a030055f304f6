"""Training on data sets with PyTorch Lightning: configs, the LightningModule, runs.

Importing this package is light; Lightning and Hydra are loaded by the functions that need them.
"""

from noise2x.train.config import ConfigError, compose_config, group_options, validate_config

__all__ = ["ConfigError", "compose_config", "group_options", "validate_config"]
