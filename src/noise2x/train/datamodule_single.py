# size: one data mode: listing, splitting, checking and serving single noisy images
"""The data module of single noisy images: ``data=noisy_folder data.root=DIR``.

For methods that learn from one noisy view per scene (Neighbor2Neighbor, ``method=ne2ne``):
every file of ``data.root`` is one noisy image (each frame of a TIFF/MRC stack is one image),
and there are no pairs and no clean images. Images are read once per process, brought to
[0, 1] as ``noise2x denoise`` brings its input (``data.normalize``, one map per image), and
cut into random ``data.patch_size`` crops with one of the 8 flips/90-degree rotations; a sample
is a pure function of (seed, global sample index), as in ``noise2x.data.synthetic``, so a
resumed run sees exactly the samples it would have seen. Real noise is drawn once by the
camera, so this data is a fixed noisy set by nature (there is no ``fixed_noise`` switch).

Training batches are (noisy, NaN, NaN) crops, (B, C, P, P) float32: there is neither a second
view nor a clean image, and NaN makes sure that nothing mistakes one for them; methods that
need a target (``n2n``) are refused before training (`check_method`).

Validation uses the last ``data.val_count`` images (natural name order), never trained on:

- with ``data.val_clean=DIR`` (a folder of clean images with the same file stems, e.g. for
  noisy images written by ``noise2x add-noise``), ``val/psnr_db`` is the usual PSNR of f(y)
  against the clean image (mapped to [0, 1] with the noisy image's map);
- without it, the method says what to validate on (its ``validation_pair`` hook, seeded by
  ``data.val_seed`` + image index). Neighbor2Neighbor and Noise2Void both give (g1(y), g2(y)),
  one fixed draw of Neighbor2Neighbor's random neighbour sub-sampler of the held-out image y
  (cropped to even height and width), and ``val/psnr_db`` is the PSNR of f(g1(y)) against
  g2(y): Neighbor2Neighbor's reconstruction term on held-out data, in dB. Its target is
  noisy, so it is lower than a clean PSNR would be. Since the noise of g2(y) is independent
  of g1(y), E|f(g1(y)) - g2(y)|^2 = E|f(g1(y)) - g2(x)|^2 + noise variance, so it ranks
  models (and picks ``best.ckpt``) by their error against g2(x), the clean neighbour
  sub-image, which differs from g1(x) by up to one pixel's shift: a ranking signal, not an
  estimate of the clean PSNR.

References
----------
T. Huang et al., "Neighbor2Neighbor: Self-Supervised Denoising from Single Noisy Images",
CVPR 2021, arXiv:2101.02824.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from noise2x.data.pairs import PairingError, convert_channels, natural_key, sample_generator
from noise2x.data.synthetic import augment, check_patch_size, random_crop
from noise2x.train.config import ConfigError
from noise2x.train.datamodule import SyntheticDataModule

__all__ = [
    "NoisyFolderDataModule",
    "NoisyImageDataset",
    "build_datasets",
    "check_data",
    "check_method",
    "list_noisy_images",
]

#: One noisy image: its file and the frame of it (0 for a single image).
ImageRef = tuple[Path, int]


def list_noisy_images(root: str | Path) -> list[ImageRef]:
    """Return every image of a folder as (file, frame), files in natural name order.

    Reads only headers where the format has them (TIFF, MRC); PNG/JPEG are decoded.

    Parameters
    ----------
    root : str or Path
        A folder of noisy images (or one file).

    Returns
    -------
    list of (Path, int)
        One entry per image; a stack of N frames gives N entries.

    Raises
    ------
    FileNotFoundError, ImageError
        If `root` does not exist or holds no images.
    PairingError
        Listing every file that cannot be read.
    """
    from noise2x.data.io import list_images
    from noise2x.data.pairs import read_header

    paths = sorted(list_images([root]), key=lambda p: natural_key(p.name))
    images, problems = [], []
    for path in paths:
        try:
            (n, *_), _ = read_header(path)
        except (OSError, ValueError) as err:
            problems.append(" ".join(str(err).split()))
            continue
        images.extend((path, k) for k in range(n))
    if problems:
        raise PairingError(
            f"cannot use the images in {root}: {len(problems)} problem(s): " + "; ".join(problems),
            problems,
        )
    return images


def _split(images: list[ImageRef], data: dict) -> tuple[list[ImageRef], list[ImageRef]]:
    """Hold out the last ``data.val_count`` images, or a quarter of a folder too small for that."""
    count = data["val_count"]
    if len(images) < 2:
        raise ValueError(
            f"data=noisy_folder: {len(images)} image(s) in {data['root']}; need at least 2 "
            "(one to train on, one to hold out for validation)"
        )
    if len(images) <= count:
        allowed = max(1, len(images) // 4)
        warnings.warn(
            f"data=noisy_folder: {len(images)} images in {data['root']} cannot spare "
            f"data.val_count={count}; holding out {allowed} for validation",
            stacklevel=2,
        )
        count = allowed
    return images[:-count], images[-count:]


def _clean_matches(val: list[ImageRef], folder: str) -> dict[Path, Path]:
    """Map each held-out noisy file to the file of the same stem in `folder`; one error lists all.

    Raises
    ------
    PairingError
        If a stem has no clean file or more than one.
    """
    from noise2x.data.io import list_images

    by_stem: dict[str, list[Path]] = {}
    for path in list_images([folder]):
        by_stem.setdefault(path.stem, []).append(path)
    matches, problems = {}, []
    for path in dict.fromkeys(p for p, _ in val):
        found = by_stem.get(path.stem, [])
        if len(found) == 1:
            matches[path] = found[0]
        elif not found:
            problems.append(f"{path.name} has no clean image {path.stem}.* in {folder}")
        else:
            problems.append(
                f"{path.name} matches {len(found)} clean files: " + ", ".join(map(str, found))
            )
    if problems:
        raise PairingError(
            f"data.val_clean={folder}: {len(problems)} problem(s): " + "; ".join(problems),
            problems,
        )
    return matches


def check_method(method: str) -> None:
    """Raise a ConfigError unless `method` reads only the noisy input (``needs_target = False``).

    Raises
    ------
    ConfigError
        For a method that needs a second view or a clean target (``n2n``), that is unknown,
        or that has no ``validation_pair`` hook.
    """
    from noise2x.methods import METHODS

    try:
        cls = METHODS.get(method)
    except KeyError as err:
        raise ConfigError(f"config key 'method.name': {err.args[0]}") from None
    if cls.needs_target:
        raise ConfigError(
            f"data=noisy_folder gives single noisy images (no second view), but method "
            f"{method!r} needs a target: use method=ne2ne, or paired data (data=pairs, frames "
            "or captures)"
        )
    if cls.validation_pair is None:
        raise ConfigError(
            f"method {method!r} has no validation_pair hook (see noise2x.methods.base."
            "SingleViewMethod): data=noisy_folder cannot validate it without clean images"
        )


def check_data(data: dict, method: str | None = None) -> int:
    """Check a ``data=noisy_folder`` node before training; return its channel count.

    Parameters
    ----------
    data : dict
        A validated ``data`` node with ``name == "noisy_folder"``.
    method : str or None
        The method that will train on it; checked by `check_method` when given.

    Returns
    -------
    int
        ``data["channels"]`` if set, else C of the first image (1 or 3).

    Raises
    ------
    ConfigError
        If `method` needs a target (see `check_method`).
    ValueError
        If ``data.root`` is not set, or it holds no more than ``data.val_count`` images.
    FileNotFoundError, ImageError
        If a folder does not exist or holds no images.
    PairingError
        If a file cannot be read, or (with ``data.val_clean``) a held-out image has no clean
        image of the same stem; one error lists every problem.
    """
    from noise2x.data.pairs import read_header

    if method is not None:
        check_method(method)
    if not data["root"]:
        raise ValueError("data=noisy_folder needs data.root: set data.root=DIR (noisy images)")
    images = list_noisy_images(data["root"])
    _, val = _split(images, data)
    if data["val_clean"]:
        _clean_matches(val, data["val_clean"])
    if data["channels"] is not None:
        return int(data["channels"])
    (_, channels, _, _), _ = read_header(images[0][0])
    return int(channels)


def _read_frames(paths: Sequence[Path], channels: int) -> dict[Path, np.ndarray]:
    """Read each file once: (N, C, H, W) float32 on read_image's scale, converted channels."""
    from noise2x.data.io import read_image

    frames = {}
    for path in dict.fromkeys(paths):
        array = read_image(path)[0]
        array = array if array.ndim == 4 else array[None]
        frames[path] = convert_channels(array.astype(np.float32, copy=False), channels)
    return frames


class NoisyImageDataset(Dataset):
    """Training crops of single noisy images: (noisy, NaN, NaN) triples.

    Sample k of training is ``dataset[k]``, any k >= 0: image ``(k % S) % N`` (S samples per
    epoch, N images), a random ``patch_size`` crop of it and one of the 8 flips/90-degree
    rotations, all drawn from a generator seeded by (seed, epoch, index).

    Parameters
    ----------
    images : list of Tensor, each (C, H, W) float32, nominally in [0, 1]
        Noisy images, same C, H and W >= patch_size.
    patch_size : int
        Side of the square crops, in pixels (even, for Neighbor2Neighbor's 2x2 cells).
    samples_per_epoch : int or None
        Length of an epoch; None means one crop per image.
    seed : int
        Seeds the crops and the augmentation.

    Raises
    ------
    ValueError
        If there are no images, the channel counts differ, or an image is smaller than
        `patch_size` (the message counts them and quotes a shape).

    Examples
    --------
    >>> data = NoisyImageDataset([torch.rand(1, 40, 40)], patch_size=32)
    >>> noisy, target, clean = data[0]
    >>> noisy.shape, bool(target.isnan().all()), bool(clean.isnan().all())
    (torch.Size([1, 32, 32]), True, True)
    """

    def __init__(
        self,
        images: list[Tensor],
        patch_size: int = 64,
        samples_per_epoch: int | None = None,
        seed: int = 0,
    ) -> None:
        if not images:
            raise ValueError("no training images")
        bad = [tuple(im.shape) for im in images if im.ndim != 3]
        if bad:
            raise ValueError(f"{len(bad)} image(s) are not (C, H, W), e.g. {bad[0]}")
        if len({im.shape[0] for im in images}) != 1:
            raise ValueError("training images have different channel counts; set data.channels")
        small = [tuple(im.shape) for im in images if min(im.shape[-2:]) < patch_size]
        if small:
            raise ValueError(
                f"{len(small)} image(s) smaller than patch_size={patch_size}, e.g. {small[0]}"
            )
        self.images, self.patch_size, self.seed = images, patch_size, seed
        self.samples_per_epoch = samples_per_epoch or len(images)

    def __len__(self) -> int:
        """Return the number of samples in one epoch (indices go on beyond it)."""
        return self.samples_per_epoch

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor, Tensor]:
        """Return sample `index`: (noisy, NaN, NaN), each (C, P, P) float32."""
        if index < 0:
            raise IndexError(f"sample index must be >= 0, got {index}")
        epoch, index = divmod(index, self.samples_per_epoch)
        generator = sample_generator(self.seed, "sample", epoch, index)
        image = self.images[index % len(self.images)]
        (crop,) = random_crop([image], self.patch_size, generator)
        noisy = augment(crop, generator).contiguous()
        nan = torch.full_like(noisy, float("nan"))
        return noisy, nan, nan.clone()


def build_datasets(
    data: dict,
    channels: int,
    validation_pair: Callable[[Tensor, int], tuple[Tensor, Tensor]],
    seed: int = 0,
) -> tuple[NoisyImageDataset, list[tuple[Tensor, Tensor]]]:
    """Read a ``data=noisy_folder`` node into a training set and validation pairs.

    Parameters
    ----------
    data : dict
        A validated ``data`` node with ``name == "noisy_folder"``.
    channels : {1, 3}
        Images are converted to this many channels.
    validation_pair : callable (noisy (C, H, W), seed) -> (input, reference)
        The method's hook that turns a held-out noisy image into a pair to validate on when
        there is no clean image (``SingleViewMethod.validation_pair``).
    seed : int
        Seeds the training samples.

    Returns
    -------
    train_set : NoisyImageDataset
        Gives (noisy, NaN, NaN) crops, (C, P, P) float32 each.
    val_pairs : list of (Tensor, Tensor), each (C, h, w) float32
        (input, reference) of each held-out image: (y, clean) with ``data.val_clean``, else
        ``validation_pair(y, data.val_seed + i)``.

    Raises
    ------
    ValueError
        If nothing is left for training, an image is smaller than ``patch_size``, or a clean
        image's shape differs from its noisy image's.
    PairingError, FileNotFoundError, ImageError
        As `check_data`.
    """
    from noise2x.data.scale import scale_for

    if not data["root"]:
        raise ValueError("data=noisy_folder needs data.root: set data.root=DIR (noisy images)")
    train_refs, val_refs = _split(list_noisy_images(data["root"]), data)
    frames = _read_frames([p for p, _ in train_refs + val_refs], channels)
    clean_files = _clean_matches(val_refs, data["val_clean"]) if data["val_clean"] else {}
    clean_frames = _read_frames(list(clean_files.values()), channels)

    def load(ref: ImageRef) -> tuple[Tensor, object]:
        array = frames[ref[0]][ref[1]]
        scale = scale_for(array, data["normalize"])
        return torch.from_numpy(np.ascontiguousarray(scale.forward(array))), scale

    def shape(ref: ImageRef) -> tuple[int, ...]:
        return tuple(frames[ref[0]][ref[1]].shape)

    def name(ref: ImageRef) -> str:
        return str(ref[0]) if frames[ref[0]].shape[0] == 1 else f"{ref[0]} frame {ref[1]}"

    check_patch_size(
        [(name(r), shape(r)) for r in train_refs],
        [(name(r), shape(r)) for r in val_refs],
        data["patch_size"],
    )
    train = [load(ref)[0] for ref in train_refs]
    val = []
    for i, ref in enumerate(val_refs):
        noisy, scale = load(ref)
        if not clean_files:
            val.append(validation_pair(noisy, data["val_seed"] + i))
            continue
        clean_path = clean_files[ref[0]]
        stack = clean_frames[clean_path]
        if stack.shape[0] != frames[ref[0]].shape[0] or stack.shape[1:] != tuple(noisy.shape):
            raise ValueError(
                f"{clean_path} has shape {stack.shape} but its noisy image {ref[0]} has "
                f"{frames[ref[0]].shape}; expected the same"
            )
        clean = torch.from_numpy(np.ascontiguousarray(scale.forward(stack[ref[1]])))
        val.append((noisy, clean))
    common = {"patch_size": data["patch_size"], "samples_per_epoch": data["samples_per_epoch"]}
    return NoisyImageDataset(train, seed=seed, **common), val


class NoisyFolderDataModule(SyntheticDataModule):
    """Single noisy images (``data=noisy_folder``): training crops and validation pairs.

    The loaders, sampler and steps per epoch are `SyntheticDataModule`'s; only what is read
    differs (see the module docstring).

    Parameters
    ----------
    config : dict
        A validated config; reads ``data`` and ``seed``.
    """

    def setup(self, stage: str | None = None) -> None:
        """Check and read the images (once per process)."""
        if self.train_set is not None:
            return
        data = self.config["data"]
        method = self.config["method"]["name"]
        channels = check_data(data, method) if data["channels"] is None else data["channels"]
        check_method(method)
        from noise2x.methods import METHODS

        pair = METHODS.get(method).validation_pair
        self.train_set, self.val_set = build_datasets(
            data, channels, validation_pair=pair, seed=self.config["seed"]
        )
