# size: one data mode: movies read frame by frame, even/odd means, windows, split-frames
"""Noise2Noise pairs from a movie: the mean of its even frames vs the mean of its odd frames.

A movie (or stack) of N frames of one still scene (an electron-microscopy dose-fractionated
movie, a TIFF time series) has independent noise in every frame, so the mean of frames
0, 2, 4, ... and the mean of frames 1, 3, 5, ... are two independent noisy views of the same
image: a Noise2Noise pair. Frames are counted from 0; with an odd N the even half has one frame
more (slightly less noise) than the odd half.

**Windows.** With ``window=k`` (2 <= k <= N) the movie gives N - k + 1 pairs, one per window of
k consecutive frames ``s .. s + k - 1`` (s = 0 .. N - k): the even/odd split of that window,
counted from its first frame (frames s, s + 2, ... vs s + 1, s + 3, ...). The trade:

- a short window averages fewer frames, so each image is noisier, but frames close in time
  agree better: less blur from drift, motion or beam-induced change of the specimen;
- a long window (or the whole movie, ``window=None``) gives the cleanest pair but blurs
  whatever moved;
- the pairs of overlapping windows share frames, so they are *not* independent of each other
  (the two halves of one pair always are): N - k + 1 pairs carry less information than as many
  separate movies. An even k gives the two halves equal numbers of frames.

`even_odd_means` and `even_odd_windows` are pure functions on arrays; `split_frames` streams a
TIFF/MRC file frame by frame (memory: two frames, or k frames with a window) and writes
``OUTDIR/even/NAME`` and ``OUTDIR/odd/NAME`` in the input's format and dtype (means are taken in
float64 and, for integer files, rounded to the nearest integer, ties to even, on writing).
`MovieWindowDataset` trains on movies directly (``data=frames``), making the window pairs of
random crops on the fly.

References
----------
T. Bepler et al., "Topaz-Denoise: general deep denoising models for cryoEM and cryoET", Nature
Communications 11, 5208 (2020) (even/odd frame sums as Noise2Noise pairs); T.-O. Buchholz et
al., "Cryo-CARE", ISBI 2019.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from noise2x.data.pairs import NoisyPairDataset, PairingError, convert_channels, normalize_group
from noise2x.data.synthetic import random_crop

__all__ = [
    "MovieWindowDataset",
    "count_pairs",
    "even_odd_means",
    "even_odd_windows",
    "list_movies",
    "load_movie",
    "load_movie_pair",
    "split_frames",
]


def _check_window(n_frames: int, window: int | None, name: str = "the movie") -> None:
    if n_frames < 2:
        raise ValueError(f"{name}: has {n_frames} frame; an even/odd split needs at least 2 frames")
    if window is None:
        return
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 2:
        raise ValueError(f"{name}: window must be an integer >= 2 or None, got {window!r}")
    if window > n_frames:
        raise ValueError(f"{name}: has {n_frames} frames, fewer than the window of {window}")


def count_pairs(n_frames: int, window: int | None = None) -> int:
    """Return the number of even/odd pairs a movie of `n_frames` frames gives.

    Parameters
    ----------
    n_frames : int
        N >= 2.
    window : int or None
        k with 2 <= k <= N, or None for the whole movie.

    Returns
    -------
    int
        1 without a window, N - k + 1 with one.

    Raises
    ------
    ValueError
        If N < 2, or `window` is not an integer in [2, N] or None.

    Examples
    --------
    >>> count_pairs(10), count_pairs(10, window=4), count_pairs(10, window=10)
    (1, 7, 1)
    """
    _check_window(n_frames, window)
    return 1 if window is None else n_frames - window + 1


def even_odd_means(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the mean of the even frames and the mean of the odd frames of a movie.

    even = mean(frames[0], frames[2], ...), odd = mean(frames[1], frames[3], ...), summed in
    float64 frame by frame and returned as float32. With an odd N the even mean has one frame
    more.

    Parameters
    ----------
    frames : np.ndarray, shape (N, ...), e.g. (N, H, W) or (N, C, H, W), any real dtype
        N >= 2 frames of one scene, counted from 0.

    Returns
    -------
    even, odd : np.ndarray, shape frames.shape[1:], float32
        In the units of `frames`.

    Raises
    ------
    ValueError
        If `frames` has fewer than 2 frames or fewer than 2 dimensions.

    Examples
    --------
    >>> movie = np.arange(5, dtype=np.uint8)[:, None, None] * np.ones((1, 2, 3), np.uint8)
    >>> even, odd = even_odd_means(movie)  # frames (0, 2, 4) and (1, 3)
    >>> even.shape, float(even[0, 0]), float(odd[0, 0]), even.dtype
    ((2, 3), 2.0, 2.0, dtype('float32'))
    """
    frames = np.asarray(frames)
    if frames.ndim < 2:
        raise ValueError(f"frames must be (N, ...) with N >= 2 frames, got shape {frames.shape}")
    _check_window(frames.shape[0], None)
    means = []
    for start in (0, 1):
        total = np.zeros(frames.shape[1:], np.float64)
        for frame in frames[start::2]:
            total += frame
        means.append((total / len(frames[start::2])).astype(np.float32))
    return means[0], means[1]


def even_odd_windows(frames: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the even/odd means of every window of `window` consecutive frames.

    Pair s (s = 0 .. N - k) is ``even_odd_means(frames[s : s + k])``: the mean of frames
    s, s + 2, ... and the mean of frames s + 1, s + 3, ... (parity counted from the window's
    first frame). See the module docstring for the trade between short and long windows.

    Parameters
    ----------
    frames : np.ndarray, shape (N, ...), any real dtype
        N >= 2 frames of one scene.
    window : int
        k, 2 <= k <= N.

    Returns
    -------
    even, odd : np.ndarray, shape (N - k + 1, *frames.shape[1:]), float32

    Raises
    ------
    ValueError
        If N < 2 or `window` is not an integer in [2, N].

    Examples
    --------
    >>> movie = np.arange(6, dtype=np.float32)[:, None, None] * np.ones((1, 2, 2), np.float32)
    >>> even, odd = even_odd_windows(movie, window=2)
    >>> even.shape, even[:, 0, 0].tolist(), odd[:, 0, 0].tolist()
    ((5, 2, 2), [0.0, 1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0, 5.0])
    """
    frames = np.asarray(frames)
    if frames.ndim < 2:
        raise ValueError(f"frames must be (N, ...) with N >= 2 frames, got shape {frames.shape}")
    count = count_pairs(frames.shape[0], window)
    pairs = [even_odd_means(frames[s : s + window]) for s in range(count)]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def split_frames(
    path: str | Path,
    output: str | Path,
    window: int | None = None,
    overwrite: bool = False,
    dtype: str | None = None,
) -> tuple[Path, Path]:
    """Write the even and odd means of a movie file to ``output/even/NAME``, ``output/odd/NAME``.

    The movie is read frame by frame (``noise2x.data.stream.StackReader``): two float64 sums
    of the file's own values without a window, the last k frames with one. The outputs keep
    the input's name, format, MRC voxel size and dtype: an integer file's means are rounded to
    the nearest integer (exact halves to the even one). ``dtype="float32"`` keeps the means
    exactly, as ``read_image`` scales values (uint8 and uint16 divided by 255 and 65535, other
    types as they are): the convention of ``noise2x denoise --output-dtype float32``. Without a
    window each output is one image; with ``window=k`` a stack of the N - k + 1 window pairs
    (one image when k = N). Each file is written atomically.

    Parameters
    ----------
    path : str or Path
        A TIFF or MRC stack of N >= 2 frames (any pixel type ``read_image`` reads).
    output : str or Path
        Output folder; ``even/`` and ``odd/`` are created in it.
    window : int or None
        k, 2 <= k <= N, or None for the whole movie.
    overwrite : bool, default False
        Replace existing outputs.
    dtype : {"uint8", "uint16", "float32"}, optional
        Pixel type of the outputs; default the input's.

    Returns
    -------
    even, odd : Path
        The files written.

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    FileExistsError
        If an output exists and `overwrite` is False (checked before anything is read).
    ImageError
        If the file cannot be read, or the output cannot hold its pixels (see ``write_image``).
    ValueError
        If the file has fewer than 2 frames, or fewer than `window` frames, or `dtype` is not
        one of ``noise2x.data.io.OUTPUT_DTYPES``.

    Examples
    --------
    >>> import tempfile
    >>> from noise2x.data.io import read_image, write_image
    >>> movie = np.arange(4, dtype=np.float32)[:, None, None, None] * np.ones((1, 1, 2, 3))
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     source = write_image(Path(folder) / "movie.tif", movie.astype(np.float32))
    ...     even, odd = split_frames(source, Path(folder) / "out")
    ...     print(even.parent.name, odd.parent.name, read_image(even)[0].ravel()[0])
    even odd 1.0
    """
    from noise2x.data.io import OUTPUT_DTYPES, write_image
    from noise2x.data.stream import StackReader, StackWriter

    path, output = Path(path), Path(output)
    if dtype is not None and dtype not in OUTPUT_DTYPES:
        raise ValueError(f"output dtype must be one of {', '.join(OUTPUT_DTYPES)}, got {dtype!r}")
    targets = output / "even" / path.name, output / "odd" / path.name
    for target in targets:
        if target.exists() and not overwrite:
            raise FileExistsError(f"{path}: output {target} exists; use --overwrite to replace it")
    with StackReader(path) as reader:
        _check_window(reader.n_frames, window, str(path))
        meta, kwargs = reader.meta, {"overwrite": overwrite, "dtype": dtype}
        if window is None:
            sums = [np.zeros(reader.frame_shape, np.float64) for _ in range(2)]
            for index, frame in enumerate(reader):
                sums[index % 2] += _raw(frame, meta)
            n = reader.n_frames
            means = sums[0] / ((n + 1) // 2), sums[1] / (n // 2)
            for target, mean in zip(targets, means, strict=True):
                write_image(target, _for_writing(mean, meta, dtype), like=meta, **kwargs)
            return targets
        count = count_pairs(reader.n_frames, window)
        with (
            StackWriter(targets[0], meta, count, reader.frame_shape, **kwargs) as even_out,
            StackWriter(targets[1], meta, count, reader.frame_shape, **kwargs) as odd_out,
        ):
            recent: deque[np.ndarray] = deque(maxlen=window)
            for frame in reader:
                recent.append(_raw(frame, meta))
                if len(recent) == window:
                    even, odd = even_odd_means(np.stack(recent))
                    even_out.write(_for_writing(even, meta, dtype))
                    odd_out.write(_for_writing(odd, meta, dtype))
    return targets


def _raw(frame: np.ndarray, meta) -> np.ndarray:
    """Undo read_image's scaling: the file's own values, exact integers for integer files."""
    raw = frame.astype(np.float64) * meta.scale
    return np.rint(raw) if np.issubdtype(np.dtype(meta.dtype), np.integer) else raw


def _for_writing(mean: np.ndarray, meta, dtype: str | None) -> np.ndarray:
    """Return a mean of raw values on read_image's scale, rounded first for integer outputs.

    Rounding here, in the output's own units, makes ties go to even exactly (write_image's
    rounding of a float32 value would see 25.5 as 25.4999...).
    """
    from noise2x.data.io import UNIT_SCALE

    out = np.dtype(dtype or meta.dtype)
    if np.issubdtype(out, np.integer):
        out_scale = UNIT_SCALE.get(out.name, 1.0)
        return (np.rint(mean * (out_scale / meta.scale)) / out_scale).astype(np.float32)
    return (mean / meta.scale).astype(np.float32)


def list_movies(root: str | Path, window: int | None = None) -> list[Path]:
    """Return the movie files of a folder, checking every one before any is read whole.

    Parameters
    ----------
    root : str or Path
        A folder of TIFF/MRC stacks (or one such file).
    window : int or None
        The window the movies will be split with; each movie needs at least that many frames.

    Returns
    -------
    list of Path
        In natural name order.

    Raises
    ------
    FileNotFoundError, ImageError
        If `root` does not exist or holds no images.
    PairingError
        Listing every file that cannot be read, has fewer than 2 frames, or has fewer frames
        than `window`.
    """
    from noise2x.data.io import list_images
    from noise2x.data.pairs import natural_key, read_header

    paths = sorted(list_images([root]), key=lambda p: natural_key(p.name))
    problems = []
    for path in paths:
        try:
            (n, *_), _ = read_header(path)
            _check_window(n, window, str(path))
        except (OSError, ValueError) as err:
            problems.append(" ".join(str(err).split()))
    if problems:
        raise PairingError(
            f"cannot use the movies in {root}: {len(problems)} problem(s): " + "; ".join(problems),
            problems,
        )
    return paths


def load_movie_pair(
    path: str | Path, channels: int | None = None, normalize: str = "auto"
) -> Tensor:
    """Read a movie frame by frame into its whole-movie even/odd pair.

    Parameters
    ----------
    path : str or Path
        A stack of N >= 2 frames.
    channels : {1, 3} or None
        Convert to grey or RGB; None keeps the file's.
    normalize : {"auto", "minmax", "none"}
        One affine map for the pair (``noise2x.data.pairs.normalize_group``).

    Returns
    -------
    Tensor, shape (2, C, H, W), float32
        (even mean, odd mean).

    Raises
    ------
    FileNotFoundError, ImageError, ValueError
        As `split_frames`.
    """
    from noise2x.data.stream import StackReader

    with StackReader(path) as reader:
        _check_window(reader.n_frames, None, str(path))
        sums = [np.zeros(reader.frame_shape, np.float64) for _ in range(2)]
        for index, frame in enumerate(reader):
            sums[index % 2] += frame
        n = reader.n_frames
    pair = np.stack([sums[0] / ((n + 1) // 2), sums[1] / (n // 2)]).astype(np.float32)
    pair = normalize_group(convert_channels(pair, channels), normalize)
    return torch.from_numpy(np.ascontiguousarray(pair))


def load_movie(
    path: str | Path, window: int, channels: int | None = None, normalize: str = "auto"
) -> Tensor:
    """Read a whole movie for window pairs, mapped to [0, 1] by the map of its first window.

    The affine map of ``normalize_group`` is computed on the pair of frames 0 .. k - 1 and
    applied to every frame; means commute with it, so every window pair is mapped alike.

    Parameters
    ----------
    path : str or Path
        A stack of N >= `window` frames.
    window : int
        k >= 2.
    channels : {1, 3} or None
        Convert to grey or RGB; None keeps the file's.
    normalize : {"auto", "minmax", "none"}

    Returns
    -------
    Tensor, shape (N, C, H, W), float32
        Held in memory: N * C * H * W * 4 bytes.

    Raises
    ------
    FileNotFoundError, ImageError, ValueError
        As `split_frames`.
    """
    from noise2x.data.io import read_image
    from noise2x.data.scale import scale_for

    frames, _ = read_image(path)
    frames = frames if frames.ndim == 4 else frames[None]
    _check_window(frames.shape[0], window, str(path))
    frames = convert_channels(frames, channels)
    first = np.stack(even_odd_means(frames[:window]))
    frames = scale_for(first, normalize).forward(frames)
    return torch.from_numpy(np.ascontiguousarray(frames))


class MovieWindowDataset(NoisyPairDataset):
    """Training crops of window pairs made on the fly from whole movies (``data=frames``).

    Sample k: movie ``(k % S) % M`` (S samples per epoch, M movies), a random window start s
    in [0, N - window], the same random crop of frames s .. s + window - 1, their even and odd
    means (parity from the window's first frame), in random order, with the same flip and
    90-degree rotation; drawn from a generator seeded by (seed, epoch, index).

    Parameters
    ----------
    movies : list of Tensor, each (N, C, H, W) float32, N >= window
        From `load_movie`; same C, H and W >= patch_size.
    window : int
        k >= 2 frames per pair.
    patch_size : int
        Side of the square crops, in pixels.
    samples_per_epoch : int or None
        Length of an epoch; None means one sample per window pair (sum of N - k + 1).
    seed : int
        Seeds the windows, crops, order and augmentation.

    Raises
    ------
    ValueError
        If a movie has fewer than `window` frames, or as `NoisyPairDataset`.

    Examples
    --------
    >>> data = MovieWindowDataset([torch.rand(6, 1, 40, 40)], window=2, patch_size=32)
    >>> noisy, target, clean = data[0]
    >>> len(data), noisy.shape, bool(clean.isnan().all())
    (5, torch.Size([1, 32, 32]), True)
    """

    def __init__(
        self,
        movies: Sequence[Tensor],
        window: int,
        patch_size: int = 64,
        samples_per_epoch: int | None = None,
        seed: int = 0,
    ) -> None:
        for index, movie in enumerate(movies):
            _check_window(movie.shape[0], window, f"movie {index}")
        pairs = sum(count_pairs(movie.shape[0], window) for movie in movies)
        super().__init__(list(movies), patch_size, samples_per_epoch or pairs, seed)
        self.window = window

    def _crop_pair(self, which: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        movie = self.groups[which]
        start = int(torch.randint(0, movie.shape[0] - self.window + 1, (1,), generator=generator))
        (crop,) = random_crop([movie[start : start + self.window]], self.patch_size, generator)
        even, odd = crop[0::2].mean(dim=0), crop[1::2].mean(dim=0)
        swap = bool(torch.randint(0, 2, (1,), generator=generator))
        return (odd, even) if swap else (even, odd)
