# size: one data mode: matched folders and repeated captures, with every pairing check
"""Noise2Noise training pairs from real noisy data: matched folders and repeated captures.

Two kinds of real data give pairs of independent noisy views of one scene:

- **matched folders** (``data=pairs``): ``a/NAME.*`` and ``b/NAME.*`` are two acquisitions of
  the same scene (e.g. the ``even/`` and ``odd/`` outputs of ``noise2x split-frames``). Files
  are matched by stem, whatever their suffix (``01.png`` ~ ``01.tif``). `match_folders` checks
  the whole pairing before any training and raises one `PairingError` that lists every name
  found on one side only, every pair whose size or dtype differs, and the counts.
- **repeated captures** (``data=captures``): a folder per field of view, each holding k >= 2
  captures of it (the FMD layout ``raw/<fov>/*.png``). Any two captures of a field are a pair;
  every training sample draws a random ordered pair of distinct captures.

Every group of views of one scene is held as one float32 tensor (K, C, H, W), K >= 2, on the
scale `noise2x.data.io.read_image` returns, mapped to [0, 1] by `normalize_group` (one affine
map per group, so the pairs stay unbiased views of each other). `NoisyPairDataset` turns the
groups into training crops: the same random crop, flip and 90-degree rotation in both views,
and a random order (which view is the input, which the target). A sample is a pure function of
(seed, global sample index), as in ``noise2x.data.synthetic``, so a resumed run sees exactly
the samples it would have seen.

There is no clean image: the third item of every training sample (where the synthetic data
put the clean crop) is filled with NaN, so that nothing can mistake it for one.

References
----------
J. Lehtinen et al., "Noise2Noise: Learning Image Restoration without Clean Data", ICML 2018,
arXiv:1803.04189. Y. Zhang et al., "A Poisson-Gaussian Denoising Dataset with Real
Fluorescence Microscopy Images", CVPR 2019 (FMD: 50 captures per field of view).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from noise2x.data.io import IMAGE_SUFFIXES, list_images, read_image
from noise2x.data.synthetic import augment, random_crop

__all__ = [
    "NoisyPairDataset",
    "PairReport",
    "PairingError",
    "compare_folders",
    "convert_channels",
    "draw_two",
    "list_captures",
    "load_captures",
    "load_pairs",
    "match_folders",
    "natural_key",
    "normalize_group",
    "read_header",
    "sample_generator",
]


class PairingError(ValueError):
    """Noisy pairs that cannot be used; the message lists every problem found, in one line.

    Attributes
    ----------
    problems : list of str
        One entry per problem (an unmatched name, a size or dtype mismatch, a bad file).
    report : PairReport or None
        The full comparison, for two matched folders (`compare_folders`).
    """

    def __init__(
        self, message: str, problems: Sequence[str] = (), report: PairReport | None = None
    ) -> None:
        super().__init__(message)
        self.problems, self.report = list(problems), report


def natural_key(name: str) -> list:
    """Sort key that orders digit runs by value: ``"2" < "10"``, ``"img2" < "img10"``.

    Examples
    --------
    >>> sorted(["10", "2", "1"], key=natural_key)
    ['1', '2', '10']
    """
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def read_header(path: str | Path) -> tuple[tuple[int, int, int, int], str]:
    """Return the shape and pixel type of an image file, reading as little as possible.

    TIFF and MRC: from the headers only (``noise2x.data.stream.StackReader`` memory-maps the
    file or reads page headers); PNG and JPEG are decoded, so that the channels follow
    ``read_image``'s rules exactly (alpha dropped, palette to RGB).

    Parameters
    ----------
    path : str or Path
        An image file (suffix from ``noise2x.data.io.IMAGE_SUFFIXES``).

    Returns
    -------
    shape : tuple of 4 int
        (N, C, H, W) as ``read_image`` would return it, N = 1 for a single image.
    dtype : str
        The file's pixel type, e.g. ``"uint8"``, ``"int16"``, ``"float32"``.

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ImageError
        If ``read_image`` would refuse the file (the message names it).
    """
    from noise2x.data.stream import StackReader

    with StackReader(path) as reader:
        return (reader.n_frames, *reader.frame_shape), reader.meta.dtype


def _describe(shape: tuple[int, ...], dtype: str) -> str:
    n, c, h, w = shape
    frames = f"{n} frames of " if n > 1 else ""
    return f"{frames}{h}x{w} {'grey' if c == 1 else f'{c}-channel'} {dtype}"


def _by_stem(paths: Sequence[Path]) -> tuple[dict[str, Path], list[str]]:
    """Map stem -> file; a stem held by several files (``01.png``, ``01.tif``) is a problem."""
    groups: dict[str, list[Path]] = {}
    for path in paths:
        groups.setdefault(path.stem, []).append(path)
    unique = {stem: files[0] for stem, files in groups.items() if len(files) == 1}
    clashes = [
        f"{', '.join(p.name for p in files)} share the name {stem!r} in {files[0].parent}"
        for stem, files in sorted(groups.items(), key=lambda kv: natural_key(kv[0]))
        if len(files) > 1
    ]
    return unique, clashes


@dataclass
class PairReport:
    """The comparison of two folders of noisy images matched by file stem.

    Attributes
    ----------
    a, b : Path
        The two folders.
    pairs : list of (Path, Path)
        Files matched by stem with the same shape (N, C, H, W) and dtype, in natural name order.
    only_a, only_b : list of str
        Names of the files whose stem is in one folder only.
    mismatched : list of str
        One description per matched stem whose files differ in shape (frames, channels, size)
        or dtype, or one of which cannot be read.
    ambiguous : list of str
        Stems held by several files of one folder (e.g. ``01.png`` and ``01.tif``).
    """

    a: Path
    b: Path
    pairs: list[tuple[Path, Path]] = field(default_factory=list)
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every file has a partner of the same shape and dtype."""
        return not (self.only_a or self.only_b or self.mismatched or self.ambiguous)

    @property
    def problems(self) -> list[str]:
        """Every problem, one string each (empty when `ok`)."""
        return (
            [f"only in {self.a}: {name}" for name in self.only_a]
            + [f"only in {self.b}: {name}" for name in self.only_b]
            + [f"mismatched: {text}" for text in self.mismatched]
            + [f"ambiguous: {text}" for text in self.ambiguous]
        )

    def message(self) -> str:
        """One line: the counts, then every unmatched name on each side and every mismatch."""
        parts = [
            f"cannot pair {self.a} with {self.b} by file name: {len(self.pairs)} matched, "
            f"{len(self.mismatched)} mismatched, {len(self.only_a)} only in {self.a}, "
            f"{len(self.only_b)} only in {self.b}"
        ]
        if self.only_a:
            parts.append(f"only in {self.a}: {', '.join(self.only_a)}")
        if self.only_b:
            parts.append(f"only in {self.b}: {', '.join(self.only_b)}")
        if self.mismatched:
            parts.append(f"mismatched: {'; '.join(self.mismatched)}")
        if self.ambiguous:
            parts.append(f"ambiguous names: {'; '.join(self.ambiguous)}")
        parts.append("every name must be in both folders, with the same size and dtype")
        return "; ".join(parts)


def compare_folders(a: str | Path, b: str | Path) -> PairReport:
    """Match the images of two folders by file stem and compare each pair's shape and dtype.

    Shapes and dtypes come from the file headers where the format has one (TIFF, MRC); PNG and
    JPEG are decoded. Suffixes may differ (``a/01.png`` ~ ``b/01.tif``); hidden files and
    subfolders are ignored (see ``noise2x.data.io.list_images``).

    Parameters
    ----------
    a, b : str or Path
        Folders of noisy images (or stacks) of the same scenes, one file per scene on each side.

    Returns
    -------
    PairReport
        Never raises for unmatched or mismatched files: they are listed in the report.

    Raises
    ------
    FileNotFoundError
        If a folder does not exist (the message names each missing one).
    ImageError
        If a folder holds no images.
    """
    a, b = Path(a), Path(b)
    missing = [str(p) for p in (a, b) if not p.is_dir()]
    if missing:
        raise FileNotFoundError(f"no such folder: {', '.join(missing)}")
    files_a, clashes_a = _by_stem(list_images([a]))
    files_b, clashes_b = _by_stem(list_images([b]))
    report = PairReport(a=a, b=b, ambiguous=clashes_a + clashes_b)
    report.only_a = [files_a[s].name for s in sorted(files_a.keys() - files_b, key=natural_key)]
    report.only_b = [files_b[s].name for s in sorted(files_b.keys() - files_a, key=natural_key)]
    for stem in sorted(files_a.keys() & files_b.keys(), key=natural_key):
        path_a, path_b = files_a[stem], files_b[stem]
        try:
            head_a, head_b = read_header(path_a), read_header(path_b)
        except (OSError, ValueError) as err:  # ImageError is a ValueError
            report.mismatched.append(" ".join(str(err).split()))
            continue
        if head_a != head_b:
            report.mismatched.append(
                f"{path_a} is {_describe(*head_a)} but {path_b} is {_describe(*head_b)}"
            )
        else:
            report.pairs.append((path_a, path_b))
    return report


def match_folders(a: str | Path, b: str | Path) -> list[tuple[Path, Path]]:
    """Return the matched files of two folders, or raise one error listing every problem.

    Parameters
    ----------
    a, b : str or Path
        Folders of noisy images of the same scenes, matched by file stem.

    Returns
    -------
    list of (Path, Path)
        ``(a/NAME.x, b/NAME.y)`` in natural name order; both files have the same shape
        (frames, channels, H, W) and file dtype.

    Raises
    ------
    PairingError
        If any name is in one folder only, any pair differs in shape or dtype (or a file
        cannot be read), or a name is held by two files of one folder. The message gives the
        counts (matched, mismatched, only in a, only in b) and lists every problem, e.g.
        ``cannot pair a with b by file name: 1 matched, 1 mismatched, 1 only in a, 0 only in
        b; only in a: 03.png; mismatched: a/02.png is 32x32 grey uint8 but b/02.png is 32x40
        grey uint8; every name must be in both folders, with the same size and dtype``.
    FileNotFoundError, ImageError
        If a folder does not exist or holds no images.

    Examples
    --------
    >>> import tempfile
    >>> from noise2x.data.io import write_image
    >>> with tempfile.TemporaryDirectory() as root:
    ...     for name in ("a/01.png", "a/02.png", "b/01.tif", "b/03.png"):
    ...         _ = write_image(Path(root) / name, np.zeros((1, 4, 4), np.float32))
    ...     try:
    ...         match_folders(Path(root) / "a", Path(root) / "b")
    ...     except PairingError as err:
    ...         print(len(err.problems), err.problems[0].endswith("02.png"))
    3 True
    """
    report = compare_folders(a, b)
    if not report.ok:
        raise PairingError(report.message(), report.problems, report)
    return report.pairs


def list_captures(
    root: str | Path, fields: Sequence[str | int] | None = None
) -> dict[str, list[Path]]:
    """Return the captures of each field of view: ``root/<field>/<capture>``.

    Each subfolder of `root` is one field of view; its image files (see
    ``noise2x.data.io.list_images``) are repeated captures of it, all of one shape and dtype.
    Files directly in `root` are ignored. Fields come in natural order (``2`` before ``10``).

    Parameters
    ----------
    root : str or Path
        Folder of fields of view, e.g. ``FMD_Confocal_BPAE_B/raw``.
    fields : sequence of str or int, optional
        Use only these fields (subfolder names, e.g. ``[1, 2]``), in natural order; None: all.

    Returns
    -------
    dict of str to list of Path
        Field name -> its capture files (natural order), at least 2 each.

    Raises
    ------
    FileNotFoundError
        If `root` does not exist.
    PairingError
        Listing every problem at once: `root` has no subfolders, a requested field does not
        exist, a field has fewer than 2 captures, a capture is a stack or cannot be read, or a
        capture's shape or dtype differs from the field's first capture.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder")
    found = {p.name: p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")}
    if not found:
        raise PairingError(
            f"{root}: has no subfolders; put the captures of each field of view in a "
            "subfolder of their own (root/<field>/<capture>)"
        )
    problems: list[str] = []
    names = sorted(found, key=natural_key)
    if fields is not None:
        wanted = [str(f) for f in fields]
        problems += [f"no field {f!r} in {root}" for f in wanted if f not in found]
        names = sorted((f for f in set(wanted) if f in found), key=natural_key)
    result: dict[str, list[Path]] = {}
    for name in names:
        folder = found[name]
        files = sorted(
            (p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
            key=lambda p: natural_key(p.name),
        )
        files = [p for p in files if not p.name.startswith(".")]
        if len(files) < 2:
            problems.append(f"{folder}: {len(files)} capture(s); a field needs at least 2")
            continue
        problems += _check_same_header(files)
        result[name] = files
    if problems:
        raise PairingError(
            f"cannot use the captures in {root}: {len(problems)} problem(s): "
            + "; ".join(problems),
            problems,
        )
    return result


def _check_same_header(files: Sequence[Path]) -> list[str]:
    """Problems of captures that are stacks, unreadable, or unlike the first capture."""
    problems, first = [], None
    for path in files:
        try:
            shape, dtype = read_header(path)
        except (OSError, ValueError) as err:
            problems.append(" ".join(str(err).split()))
            continue
        if shape[0] > 1:
            problems.append(f"{path}: is a stack of {shape[0]} frames; expected one capture")
        elif first is None:
            first = (path, shape, dtype)
        elif (shape, dtype) != first[1:]:
            problems.append(
                f"{path}: is {_describe(shape, dtype)} but {first[0].name} is "
                f"{_describe(*first[1:])}"
            )
    return problems


def convert_channels(array: np.ndarray, channels: int | None) -> np.ndarray:
    """Convert (..., C, H, W) images to grey (luma, ITU-R 601) or RGB (grey repeated).

    As ``noise2x.data.synthetic.load_images`` does for single images.

    Parameters
    ----------
    array : np.ndarray, shape (..., C, H, W), float32, C in {1, 3}
    channels : {1, 3} or None
        None keeps C.

    Returns
    -------
    np.ndarray, shape (..., channels, H, W), float32

    Raises
    ------
    ValueError
        If `channels` is not 1, 3 or None.
    """
    if channels not in (None, 1, 3):
        raise ValueError(f"channels must be 1, 3 or None, got {channels!r}")
    c = array.shape[-3]
    if channels == 1 and c == 3:
        luma = np.array([0.299, 0.587, 0.114], np.float32)
        return np.tensordot(array, luma, axes=([-3], [0]))[..., None, :, :].astype(np.float32)
    if channels == 3 and c == 1:
        return np.repeat(array, 3, axis=-3)
    return array


def normalize_group(views: np.ndarray, normalize: str = "auto") -> np.ndarray:
    """Map a group of views of one scene to the [0, 1] working scale with one affine map.

    The rule of ``noise2x.api`` (what ``noise2x denoise`` does to its input), applied to the
    whole group at once so that the views stay unbiased views of each other: ``"auto"`` keeps
    values already on the [0, 1] scale (0.1st and 99.9th percentiles within [-0.25, 1.25] and
    at least 0.2 apart) and maps any other group from its [min, max] to [0, 1]; ``"minmax"``
    always maps; ``"none"`` never does.

    Parameters
    ----------
    views : np.ndarray, shape (K, C, H, W), float32
        On the scale ``read_image`` returns (uint8/uint16 already divided to [0, 1]).
    normalize : {"auto", "minmax", "none"}

    Returns
    -------
    np.ndarray, same shape, float32

    Raises
    ------
    ValueError
        If `normalize` is not one of the three choices.

    Examples
    --------
    >>> normalize_group(np.array([[[[100.0, 300.0]]], [[[200.0, 500.0]]]], np.float32)).ravel()
    array([0.  , 0.5 , 0.25, 1.  ], dtype=float32)
    """
    from noise2x.data.scale import scale_for

    return scale_for(np.asarray(views, np.float32), normalize).forward(views)


def _group(arrays: Sequence[np.ndarray], channels: int | None, normalize: str) -> Tensor:
    views = convert_channels(np.stack(arrays).astype(np.float32, copy=False), channels)
    return torch.from_numpy(np.ascontiguousarray(normalize_group(views, normalize)))


def load_pairs(
    pairs: Sequence[tuple[Path, Path]], channels: int | None = None, normalize: str = "auto"
) -> list[Tensor]:
    """Read matched files into groups of two views; frame i of a stack pairs with frame i.

    Parameters
    ----------
    pairs : sequence of (Path, Path)
        From `match_folders` (same shape on both sides).
    channels : {1, 3} or None
        Convert to grey or RGB (`convert_channels`); None keeps each file's.
    normalize : {"auto", "minmax", "none"}
        See `normalize_group` (one map per pair).

    Returns
    -------
    list of Tensor, each (2, C, H, W) float32
        One per pair of images (a stack of N frames gives N pairs), in order.

    Raises
    ------
    ImageError, FileNotFoundError
        If a file cannot be read (``read_image``).
    ValueError
        If the two files of a pair read to different shapes.
    """
    groups = []
    for path_a, path_b in pairs:
        image_a, image_b = read_image(path_a)[0], read_image(path_b)[0]
        if image_a.shape != image_b.shape:
            raise ValueError(f"{path_a} has shape {image_a.shape} but {path_b} has {image_b.shape}")
        frames = zip(image_a, image_b, strict=True) if image_a.ndim == 4 else [(image_a, image_b)]
        groups.extend(_group(pair, channels, normalize) for pair in frames)
    return groups


def load_captures(
    fields: dict[str, list[Path]], channels: int | None = None, normalize: str = "auto"
) -> list[Tensor]:
    """Read the captures of each field of view into one group of views per field.

    Parameters
    ----------
    fields : dict of str to list of Path
        From `list_captures`.
    channels : {1, 3} or None
        Convert to grey or RGB (`convert_channels`); None keeps each file's.
    normalize : {"auto", "minmax", "none"}
        See `normalize_group` (one map per field).

    Returns
    -------
    list of Tensor, each (K, C, H, W) float32
        One per field, in the order of `fields`; K = its number of captures.

    Raises
    ------
    ImageError, FileNotFoundError
        If a file cannot be read (``read_image``).
    """
    return [
        _group([read_image(p)[0] for p in files], channels, normalize) for files in fields.values()
    ]


def sample_generator(seed: int, *key: object) -> torch.Generator:
    """Return a torch.Generator seeded by a hash of (seed, *key), as the synthetic data does.

    Examples
    --------
    >>> a, b = sample_generator(0, "sample", 0, 5), sample_generator(0, "sample", 0, 5)
    >>> torch.equal(torch.rand(3, generator=a), torch.rand(3, generator=b))
    True
    """
    text = "/".join(map(str, (seed, *key))).encode()
    return torch.Generator().manual_seed(int.from_bytes(hashlib.sha256(text).digest()[:7]))


def draw_two(k: int, generator: torch.Generator) -> tuple[int, int]:
    """Draw an ordered pair (i, j) of distinct indices in [0, k), uniformly among k(k-1).

    For k = 2 this is (0, 1) or (1, 0): a random choice of input and target.

    Raises
    ------
    ValueError
        If k < 2.

    Examples
    --------
    >>> sorted(draw_two(2, torch.Generator().manual_seed(s)) for s in range(20))[::19]
    [(0, 1), (1, 0)]
    """
    if k < 2:
        raise ValueError(f"need at least 2 views to draw a pair, got {k}")
    i = int(torch.randint(0, k, (1,), generator=generator))
    j = int(torch.randint(0, k - 1, (1,), generator=generator))
    return i, j + (j >= i)


class NoisyPairDataset(Dataset):
    """Training crops of real noisy pairs: (input, target, NaN) triples.

    Sample k of training is ``dataset[k]``, any k >= 0: group ``(k % S) % G`` (S samples per
    epoch, G groups), an ordered pair of two distinct views of it (`draw_two`), the same random
    ``patch_size`` crop, flip and 90-degree rotation of both; all drawn from a generator seeded
    by (seed, epoch, index), so a sample is a pure function of (seed, k).

    Parameters
    ----------
    groups : list of Tensor, each (K, C, H, W) float32, K >= 2
        Views of one scene each (`load_pairs`, `load_captures`); same C, H and W >= patch_size.
    patch_size : int
        Side of the square crops, in pixels.
    samples_per_epoch : int or None
        Length of an epoch; None means one sample per group.
    seed : int
        Seeds the choice of views, the crops and the augmentation.

    Raises
    ------
    ValueError
        If there are no groups, a group has fewer than 2 views, the channel counts differ, or an
        image is smaller than `patch_size` (the message counts them and quotes a shape).

    Examples
    --------
    >>> data = NoisyPairDataset([torch.rand(3, 1, 40, 40)], patch_size=32)
    >>> noisy, target, clean = data[0]
    >>> noisy.shape, torch.equal(noisy, target), bool(clean.isnan().all())
    (torch.Size([1, 32, 32]), False, True)
    """

    def __init__(
        self,
        groups: list[Tensor],
        patch_size: int = 64,
        samples_per_epoch: int | None = None,
        seed: int = 0,
    ) -> None:
        if not groups:
            raise ValueError("no training pairs")
        few = [tuple(g.shape) for g in groups if g.ndim != 4 or g.shape[0] < 2]
        if few:
            raise ValueError(f"{len(few)} group(s) are not (K >= 2, C, H, W), e.g. {few[0]}")
        if len({g.shape[1] for g in groups}) != 1:
            raise ValueError("training images have different channel counts; set data.channels")
        small = [tuple(g.shape[1:]) for g in groups if min(g.shape[-2:]) < patch_size]
        if small:
            raise ValueError(
                f"{len(small)} image(s) smaller than patch_size={patch_size}, e.g. {small[0]}"
            )
        self.groups, self.patch_size, self.seed = groups, patch_size, seed
        self.samples_per_epoch = samples_per_epoch or len(groups)

    def __len__(self) -> int:
        """Return the number of samples in one epoch (indices go on beyond it)."""
        return self.samples_per_epoch

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor, Tensor]:
        """Return sample `index`: (input, target, NaN), each (C, P, P) float32.

        The third item stands where the synthetic data put the clean crop: real data has none,
        so it is NaN everywhere.
        """
        if index < 0:
            raise IndexError(f"sample index must be >= 0, got {index}")
        epoch, index = divmod(index, self.samples_per_epoch)
        generator = sample_generator(self.seed, "sample", epoch, index)
        first, second = self._crop_pair(index % len(self.groups), generator)
        c = first.shape[0]
        first, second = augment(torch.cat([first, second]), generator).split(c)
        return first.contiguous(), second.contiguous(), torch.full_like(first, float("nan"))

    def _crop_pair(self, which: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """Return (input, target) crops, (C, P, P) each, of group `which`."""
        views = self.groups[which]
        i, j = draw_two(views.shape[0], generator)
        first, second = random_crop([views[i], views[j]], self.patch_size, generator)
        return first, second
