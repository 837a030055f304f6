"""The LightningDataModule of dataset training, and a sampler that makes resuming exact.

Training samples are indexed globally (``SyntheticNoiseDataset[k]`` is a pure function of the
seed and k). `StepSampler` yields, for the process of rank r of W at global step g, the indices
``(g * W + r) * B + j`` for j < B. It reads g from the trainer whenever an epoch starts, so a
run resumed from a checkpoint at step g sees exactly the batches it would have seen, with no
random state to restore, and the W processes of a DDP run see different samples.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path

import lightning.pytorch as pl
from torch.utils.data import DataLoader, Sampler

from noise2x.data.synthetic import (
    NoisyValidationSet,
    SyntheticNoiseDataset,
    check_patch_size,
    load_images,
)


class StepSampler(Sampler[int]):
    """Sample indices of the global steps from ``start_step()`` on, for one process.

    Parameters
    ----------
    steps_per_epoch : int
        Batches in one epoch; ``len(sampler) == steps_per_epoch * batch_size``.
    batch_size : int
        Samples per batch and process.
    start_step : callable returning int
        The global step at which iteration starts (the trainer's ``global_step``).
    rank, world_size : int
        This process and the number of processes.

    Examples
    --------
    >>> list(StepSampler(2, 3, lambda: 5, rank=1, world_size=2))
    [33, 34, 35, 39, 40, 41]
    """

    def __init__(
        self,
        steps_per_epoch: int,
        batch_size: int,
        start_step: Callable[[], int],
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.steps_per_epoch, self.batch_size = steps_per_epoch, batch_size
        self.start_step, self.rank, self.world_size = start_step, rank, world_size

    def __len__(self) -> int:
        return self.steps_per_epoch * self.batch_size

    def __iter__(self) -> Iterator[int]:
        first = self.start_step()
        for step in range(first, first + self.steps_per_epoch):
            base = (step * self.world_size + self.rank) * self.batch_size
            yield from range(base, base + self.batch_size)


def split_train_val(data: dict) -> tuple[list[Path], list[Path]]:
    """Return the training and validation image files of a ``data`` config node.

    Without ``val_root`` the last ``val_count`` images of ``root`` (sorted by name) are held
    out for validation and not trained on.

    Raises
    ------
    ValueError
        If ``root`` is not set, or nothing is left for training.
    FileNotFoundError, ImageError
        If a folder does not exist or holds no images (``noise2x.data.io.list_images``).
    """
    from noise2x.data.io import list_images

    if not data["root"]:
        raise ValueError("set data.root to a folder of training images, e.g. data.root=DIR")
    train = list_images([data["root"]])
    if data["val_root"]:
        val = list_images([data["val_root"]])
    else:
        if len(train) <= data["val_count"]:
            raise ValueError(
                f"{data['root']}: {len(train)} image(s); need more than data.val_count="
                f"{data['val_count']} to hold some out for validation (or set data.val_root)"
            )
        train, val = train[: -data["val_count"]], train[-data["val_count"] :]
    if data["val_max_images"]:
        val = val[: data["val_max_images"]]
    return train, val


class SyntheticDataModule(pl.LightningDataModule):
    """Clean images + synthetic noise: training crops and whole validation images.

    Parameters
    ----------
    config : dict
        A validated config; reads ``data``, ``noise``, ``seed``.
    """

    def __init__(self, config: dict) -> None:
        super().__init__()
        self.config = config
        self.train_set: SyntheticNoiseDataset | None = None
        self.val_set: NoisyValidationSet | None = None

    def setup(self, stage: str | None = None) -> None:
        """Read the images and draw the fixed noise (once per process)."""
        if self.train_set is not None:
            return
        from noise2x.noise import build_noise

        data = self.config["data"]
        noise_params = {k: v for k, v in self.config["noise"].items() if k != "name"}
        noise = build_noise(self.config["noise"]["name"], **noise_params)
        train_files, val_files = split_train_val(data)
        train_images = load_images(train_files, channels=data["channels"])
        val_images = load_images(val_files, channels=data["channels"])
        check_patch_size(
            [(p, tuple(im.shape)) for p, im in zip(train_files, train_images, strict=True)],
            [(p, tuple(im.shape)) for p, im in zip(val_files, val_images, strict=True)],
            data["patch_size"],
        )
        self.train_set = SyntheticNoiseDataset(
            train_images,
            noise,
            patch_size=data["patch_size"],
            mode=data["mode"],
            fixed_noise=data["fixed_noise"],
            samples_per_epoch=data["samples_per_epoch"],
            seed=self.config["seed"],
        )
        self.val_set = NoisyValidationSet(val_images, noise, seed=data["val_seed"])

    def steps_per_epoch(self, world_size: int) -> int:
        """Return the batches per epoch of each of `world_size` processes (at least 1)."""
        per_step = self.config["data"]["batch_size"] * world_size
        return max(1, math.ceil(len(self.train_set) / per_step))

    def train_dataloader(self) -> DataLoader:
        """Batches of (noisy, target, clean) crops, (B, C, P, P) each, in global-step order."""
        trainer = self.trainer
        world, rank = (trainer.world_size, trainer.global_rank) if trainer else (1, 0)
        sampler = StepSampler(
            self.steps_per_epoch(world),
            self.config["data"]["batch_size"],
            start_step=(lambda: trainer.global_step) if trainer else (lambda: 0),
            rank=rank,
            world_size=world,
        )
        workers = self.config["data"]["num_workers"]
        return DataLoader(
            self.train_set,
            batch_size=self.config["data"]["batch_size"],
            sampler=sampler,
            num_workers=workers,
            persistent_workers=workers > 0,
        )

    def val_dataloader(self) -> DataLoader:
        """Whole validation images (sizes differ), one per batch: (noisy, clean)."""
        return DataLoader(self.val_set, batch_size=1, shuffle=False)
