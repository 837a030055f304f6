"""Training and validation data made from clean images with synthetic noise.

For research on Noise2Noise: the clean images (e.g. ``../shared/data/Train400``) are known, and
the method sees only noisy versions of them.

- ``mode="n2n"`` gives two independent noisy views (input, target) of each crop, the
  Noise2Noise setting; ``mode="n2c"`` gives (noisy, clean), the comparison of the paper.
- ``fixed_noise=True`` (the default) draws the two noisy versions of every image once, from
  ``seed``: the network sees a fixed noisy training set, as a user with a folder of noisy pairs
  has, and it cannot average fresh noise over epochs (which makes results look better than a
  real data set allows). ``fixed_noise=False`` draws fresh noise for every sample.
- Random crops of ``patch_size`` pixels, random flips and 90-degree rotations, all drawn from
  a generator seeded by (seed, epoch, index), so an epoch is reproducible and workers agree.
- Indices are *global*: sample k of training is ``dataset[k]``, in epoch
  ``k // samples_per_epoch``. A sample is a pure function of (seed, k): no random state has to
  be saved for a resumed training to see exactly the samples it would have seen.

References
----------
J. Lehtinen et al., "Noise2Noise: Learning Image Restoration without Clean Data", ICML 2018,
arXiv:1803.04189, Sec. 3.1 (fixed vs fresh noise is discussed in its Sec. 3.1 and 3.2).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from noise2x.noise.base import NoiseModel

Mode = Literal["n2n", "n2c"]


def check_patch_size(
    train: Sequence[tuple[object, tuple[int, ...]]],
    held_out: Sequence[tuple[object, tuple[int, ...]]],
    patch_size: int,
) -> None:
    """Refuse training images smaller than the crop, naming them and counting both splits.

    Parameters
    ----------
    train, held_out : sequence of (name, shape)
        Each training and held-out image (a path, or a path and frame) with its (..., H, W)
        shape. Held-out images are validated whole, so only the training ones must fit.
    patch_size : int
        The training crop side in pixels.

    Raises
    ------
    ValueError
        If a training image is smaller than `patch_size` in H or W: the message names up to
        three of them with their sizes, and counts the small images of both splits.

    Examples
    --------
    >>> check_patch_size([("a.png", (1, 40, 40))], [("b.png", (1, 20, 20))], 32)
    >>> try:
    ...     check_patch_size([("a.png", (1, 20, 40))], [], 32)
    ... except ValueError as err:
    ...     print(str(err)[:71])
    1 of the 1 training image(s) are smaller than data.patch_size=32: a.png
    """

    def small(items):
        return [(n, s) for n, s in items if min(s[-2:]) < patch_size]

    bad, bad_val = small(train), small(held_out)
    if bad:
        shown = ", ".join(f"{n} ({s[-2]}x{s[-1]})" for n, s in bad[:3])
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        raise ValueError(
            f"{len(bad)} of the {len(train)} training image(s) are smaller than "
            f"data.patch_size={patch_size}: {shown}{more}; {len(bad_val)} of the "
            f"{len(held_out)} held out; lower data.patch_size or remove them"
        )


def load_images(paths: Sequence[Path], channels: int | None = None) -> list[Tensor]:
    """Read image files into float32 tensors (C, H, W) in [0, 1].

    Parameters
    ----------
    paths : sequence of Path
        Image files (see ``noise2x.data.io``); stacks are not accepted here.
    channels : {1, 3} or None
        Convert to grey (luma, ITU-R 601) or RGB (grey repeated); None keeps each file's.

    Returns
    -------
    list of Tensor, each (C, H, W) float32

    Raises
    ------
    ValueError
        If a file is a stack, or `channels` is not 1, 3 or None; the message names the file.
    """
    from noise2x.data.io import read_image

    if channels not in (None, 1, 3):
        raise ValueError(f"channels must be 1, 3 or None, got {channels!r}")
    images = []
    for path in paths:
        array, meta = read_image(path)
        if meta.is_stack:
            raise ValueError(f"{path}: is a stack of {array.shape[0]} images; expected one image")
        if channels == 1 and array.shape[0] == 3:
            array = np.tensordot(np.array([0.299, 0.587, 0.114], np.float32), array, axes=1)[None]
        elif channels == 3 and array.shape[0] == 1:
            array = np.repeat(array, 3, axis=0)
        images.append(torch.from_numpy(np.ascontiguousarray(array)))
    return images


def augment(image: Tensor, generator: torch.Generator) -> Tensor:
    """Apply one of the 8 flips/90-degree rotations, drawn from `generator`; shape (C, H, W)."""
    k, flip = (
        torch.randint(0, 4, (1,), generator=generator).item(),
        torch.rand(1, generator=generator).item() < 0.5,
    )
    image = torch.rot90(image, int(k), dims=(-2, -1))
    return image.flip(-1) if flip else image


def random_crop(images: Sequence[Tensor], size: int, generator: torch.Generator) -> list[Tensor]:
    """Crop the same random `size` x `size` window out of each (C, H, W) tensor.

    Raises
    ------
    ValueError
        If the images are smaller than `size`; the message quotes the shape.
    """
    h, w = images[0].shape[-2:]
    if h < size or w < size:
        raise ValueError(
            f"image of shape {tuple(images[0].shape)} is smaller than the {size}px crop"
        )
    top = int(torch.randint(0, h - size + 1, (1,), generator=generator))
    left = int(torch.randint(0, w - size + 1, (1,), generator=generator))
    return [im[..., top : top + size, left : left + size] for im in images]


class SyntheticNoiseDataset(Dataset):
    """Noisy training crops of clean images: (input, target, clean) triples.

    Parameters
    ----------
    images : list of Tensor, each (C, H, W) float32 in [0, 1]
        Clean images (see `load_images`), all with the same C.
    noise : NoiseModel
        Any model of ``noise2x.noise``.
    patch_size : int
        Side of the square crops, in pixels.
    mode : {"n2n", "n2c"}
        Target is a second noisy view (Noise2Noise) or the clean crop (Noise2Clean).
    fixed_noise : bool
        Draw each image's two noisy versions once (True) or fresh for every sample (False).
    samples_per_epoch : int or None
        Length of an epoch; None means one crop per image.
    seed : int
        Seeds the fixed noise, the crops and the augmentation.

    Examples
    --------
    >>> from noise2x.noise import build_noise
    >>> data = SyntheticNoiseDataset([torch.rand(1, 40, 40)], build_noise("gaussian", sigma=25),
    ...                              patch_size=32)
    >>> noisy, target, clean = data[0]
    >>> noisy.shape, torch.equal(noisy, target)
    (torch.Size([1, 32, 32]), False)
    """

    def __init__(
        self,
        images: list[Tensor],
        noise: NoiseModel,
        patch_size: int = 64,
        mode: Mode = "n2n",
        fixed_noise: bool = True,
        samples_per_epoch: int | None = None,
        seed: int = 0,
    ) -> None:
        if not images:
            raise ValueError("no training images")
        if mode not in ("n2n", "n2c"):
            raise ValueError(f"mode must be 'n2n' or 'n2c', got {mode!r}")
        if len({im.shape[0] for im in images}) != 1:
            raise ValueError("training images have different channel counts; set data.channels")
        small = [tuple(im.shape) for im in images if min(im.shape[-2:]) < patch_size]
        if small:
            raise ValueError(
                f"{len(small)} image(s) smaller than patch_size={patch_size}, e.g. {small[0]}"
            )
        self.images, self.noise, self.patch_size, self.mode = images, noise, patch_size, mode
        self.fixed_noise, self.seed = fixed_noise, seed
        self.samples_per_epoch = samples_per_epoch or len(images)
        self._fixed: list[tuple[Tensor, Tensor]] | None = None
        if fixed_noise:
            self._fixed = [
                self._draw_pair(im, self._generator("fixed", i)) for i, im in enumerate(images)
            ]

    def __len__(self) -> int:
        """Return the number of samples in one epoch (indices go on beyond it)."""
        return self.samples_per_epoch

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor, Tensor]:
        """Return sample `index` of training: (input, target, clean), each (C, P, P) float32.

        Any index >= 0 is valid: index k is sample ``k % samples_per_epoch`` of epoch
        ``k // samples_per_epoch`` (new crops, and new noise unless ``fixed_noise``).
        """
        if index < 0:
            raise IndexError(f"sample index must be >= 0, got {index}")
        epoch, index = divmod(index, self.samples_per_epoch)
        which = index % len(self.images)
        generator = self._generator("sample", epoch, index)
        clean = self.images[which]
        if self._fixed is not None:
            first, second = self._fixed[which]
        else:
            first, second = self._draw_pair(clean, generator)
        stack = torch.cat(random_crop([first, second, clean], self.patch_size, generator))
        first, second, clean = augment(stack, generator).split(clean.shape[0])
        target = second if self.mode == "n2n" else clean
        return first.contiguous(), target.contiguous(), clean.contiguous()

    def _draw_pair(self, clean: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        first = self.noise(clean[None], generator)[0]
        second = self.noise(clean[None], generator)[0]
        return first, second

    def _generator(self, *key: object) -> torch.Generator:
        text = "/".join(map(str, (self.seed, *key))).encode()
        return torch.Generator().manual_seed(int.from_bytes(hashlib.sha256(text).digest()[:7]))


class NoisyValidationSet(Dataset):
    """Whole clean images with fixed-seed noise, for validation PSNR/SSIM: (noisy, clean).

    Examples
    --------
    >>> from noise2x.noise import build_noise
    >>> val = NoisyValidationSet([torch.rand(1, 20, 24)], build_noise("gaussian", sigma=25))
    >>> [tuple(t.shape) for t in val[0]]
    [(1, 20, 24), (1, 20, 24)]
    """

    def __init__(self, images: list[Tensor], noise: NoiseModel, seed: int = 12345) -> None:
        self.clean = images
        self.noisy = [
            noise(im[None], torch.Generator().manual_seed(seed + i))[0]
            for i, im in enumerate(images)
        ]

    def __len__(self) -> int:
        return len(self.clean)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        """Return (noisy, clean), each (C, H, W) float32."""
        return self.noisy[index], self.clean[index]
