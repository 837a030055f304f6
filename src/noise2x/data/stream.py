# size: frame-by-frame readers and writers of TIFF and MRC stacks
"""Read and write image stacks one frame at a time.

:func:`~noise2x.data.io.read_image` and :func:`~noise2x.data.io.write_image` hold a whole stack
in memory. :class:`StackReader` yields the frames of a TIFF or MRC stack one by one and
:class:`StackWriter` writes them one by one, so denoising a stack larger than the memory keeps
about one frame in memory and writes the result as it goes.

Both follow :mod:`noise2x.data.io` exactly and import its rules rather than copy them (suffixes,
readable and writable pixel types, scales, dtype choice, conversion to the output type, checks
on what is written, :class:`~noise2x.data.io.ImageMeta`): frame ``i`` equals
``read_image(path)[0][i]`` bit for bit, errors are the same :class:`~noise2x.data.io.ImageError`
messages (per frame, with the frame's index, counting from 0), and the file written reads back
with :func:`~noise2x.data.io.read_image` as the stack :func:`~noise2x.data.io.write_image` would
have written: same pixels, dtype, TIFF photometric and shape description, MRC mode, voxel size
and stack/volume marking, written atomically through a hidden temporary file.

Deliberate differences from io.py:

- TIFF stacks are written as one contiguous tifffile series (``contiguous=True``): the same pages
  and tags as ``tifffile.imwrite``, but the shape description reserves 16 fewer bytes, so the
  files are equal in content, not byte for byte. Stacks over 4 GiB - 32 MiB are BigTIFF, as
  ``tifffile.imwrite`` decides.
- MRC header mean and RMS are accumulated frame by frame in float64; ``write_image`` (mrcfile's
  whole-array reductions) may differ in the last float32 digit. Min, max, data are identical.
- A TIFF stack that can be neither read page by page nor memory-mapped (e.g. a compressed
  single-page volume) is read whole, with a warning naming the file.
- PNG and JPEG hold one image: the reader calls ``read_image``; the writer buffers the frame and
  calls ``write_image`` at the end, as it does for any 1-frame output.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import mrcfile
import numpy as np
import tifffile
from mrcfile.utils import mode_from_dtype

from noise2x.data.atomic import EXISTS, publish, temporary_path
from noise2x.data.io import (
    READABLE_DTYPES,
    UNIT_SCALE,
    ImageError,
    ImageMeta,
    check_array,
    check_pixel_budget,
    choose_dtype,
    format_of,
    read_image,
    to_dtype,
    write_image,
)

__all__ = ["StackReader", "StackWriter"]

_BIGTIFF_BYTES = 2**32 - 2**25  # tifffile.imwrite switches to BigTIFF above this data size


@dataclass
class _Frames:
    """One open file seen as frames: count, raw frame shape (H, W, C), file dtype, reader."""

    n: int
    hwc: tuple[int, int, int]
    dtype: str
    read: Callable[[int], np.ndarray]  # frame i as (H, W, C) in the file's dtype
    close: Callable[[], None] = lambda: None
    extra: dict = field(default_factory=dict)


def _block_to_hwc(block: np.ndarray, axes: str) -> np.ndarray:
    """One TIFF frame with tifffile axes (YX, S and size-1 axes) as (H, W, C), like _read_tiff."""
    keep = [i for i, a in enumerate(axes) if block.shape[i] > 1 or a in "YX"]
    block = block.reshape([block.shape[i] for i in keep])
    axes = "".join(axes[i] for i in keep)
    order = ["Y", "X"] + (["S"] if "S" in axes else [])
    hwc = np.transpose(block, [axes.index(a) for a in order])
    return hwc if "S" in axes else hwc[..., np.newaxis]


def _tiff_frame_reader(
    path: Path, series: tifffile.TiffPageSeries, axis: str | None
) -> tuple[Callable[[int], np.ndarray], str]:
    """Return a reader of frame i along `axis` (None: one image), and the pixel dtype.

    One page per frame: decode page i only. Frames inside one uncompressed contiguous page (or
    one IFD, as ImageJ writes stacks over 4 GB): memory-map them. Otherwise read all, warning.
    """
    shape = tuple(series.shape)
    k = series.axes.index(axis) if axis else 0
    at = (slice(None),) * k  # frame i of the whole series is [*at, i]
    n = shape[k] if axis else 1
    plain = series.transform is None and axis is not None
    if plain and len(series) == n and all(s == 1 for s in shape[:k]):
        frame_shape = shape[:k] + shape[k + 1 :]
        return lambda i: series.asarray(key=i).reshape(frame_shape), series.dtype.name
    if plain and series.dataoffset is not None and series.keyframe.is_memmappable:
        mapped = series.asarray(out="memmap")
        return lambda i: mapped[(*at, i)], series.dtype.name
    if n > 1:
        warnings.warn(
            f"{path}: TIFF stack can be neither read page by page nor memory-mapped; "
            f"reading all {n} frames into memory",
            stacklevel=5,
        )
    pixels = series.asarray()
    return (lambda i: pixels[(*at, i)]) if axis else (lambda i: pixels), pixels.dtype.name


def _tiff_frames(path: Path, tif: tifffile.TiffFile) -> _Frames:
    """Check a TIFF file and lay out its frames as io._read_tiff does."""
    if len(tif.series) != 1:
        raise ImageError(
            f"{path}: holds {len(tif.series)} image series of different shapes; "
            "expected one image or one stack of same-sized images"
        )
    series = tif.series[0]
    photometric = tif.pages[0].photometric.name.lower()
    if photometric not in ("minisblack", "rgb"):
        raise ImageError(
            f"{path}: TIFF photometric {photometric!r} is not supported "
            "(supported: 'minisblack', 'rgb'); convert it to grey or RGB"
        )
    axes, shape = series.axes, tuple(series.shape)
    kept = "".join(a for a, s in zip(axes, shape, strict=True) if s > 1 or a in "YX")
    others = [a for a in kept if a not in "YXS"]
    if "Y" not in kept or "X" not in kept or len(others) > 1:
        raise ImageError(
            f"{path}: TIFF axes {axes!r} with shape {shape} are not an image "
            "(YX, YXS) or a stack of images (one more axis, e.g. (N, H, W) or (N, H, W, C))"
        )
    axis = others[0] if others else None
    frame = [n for a, n in zip(axes, shape, strict=True) if a != axis]
    check_pixel_budget(path, tuple(frame), series.dtype)
    read, dtype = _tiff_frame_reader(path, series, axis)
    frame_axes = axes.replace(axis, "") if axis else axes
    size = dict(zip(axes, shape, strict=True))
    return _Frames(
        n=size[axis] if axis else 1,
        hwc=(size["Y"], size["X"], size["S"] if "S" in kept else 1),
        dtype=dtype,
        read=lambda i: _block_to_hwc(read(i), frame_axes),
        extra={"photometric": photometric},
    )


def _open_tiff(path: Path) -> _Frames:
    tif = tifffile.TiffFile(path)
    try:
        frames = _tiff_frames(path, tif)
    except BaseException:
        tif.close()
        raise
    frames.close = tif.close
    return frames


def _open_mrc(path: Path) -> _Frames:
    mrc = mrcfile.mmap(path, mode="r", permissive=False)  # as strict as io._read_mrc
    try:
        data, voxel = mrc.data, mrc.voxel_size
        if data.ndim not in (2, 3):
            raise ImageError(
                f"{path}: MRC data has shape {data.shape}; expected an image (H, W) "
                "or a stack of sections (N, H, W)"
            )
    except BaseException:
        mrc.close()
        raise
    n = data.shape[0] if data.ndim == 3 else 1

    def read(i: int) -> np.ndarray:
        return np.array(data[i] if data.ndim == 3 else data)[..., np.newaxis]

    voxel_size = (float(voxel.x), float(voxel.y), float(voxel.z))
    return _Frames(
        n, (*data.shape[-2:], 1), data.dtype.name, read, mrc.close, {"voxel_size": voxel_size}
    )


class StackReader:
    """Read an image file frame by frame, each frame exactly as :func:`read_image` returns it.

    A TIFF stack is decoded one page at a time (or memory-mapped when its frames are not whole
    pages); an MRC file is memory-mapped and one section is copied per frame; PNG and JPEG are
    one frame, read with :func:`read_image`. Frames are scaled like :func:`read_image`: uint8
    and uint16 divided by 255 or 65535, other types kept. The file stays open until
    :meth:`close` (or the end of a ``with`` block).

    Parameters
    ----------
    path : str or Path
        A file with a suffix from :data:`~noise2x.data.io.IMAGE_SUFFIXES`.

    Attributes
    ----------
    meta : ImageMeta
        What :func:`read_image` would return as its metadata (``is_stack`` iff N > 1).
    n_frames : int
        N, the number of frames: 1 for a single image.
    frame_shape : tuple of 3 int
        (C, H, W) of every frame.

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ImageError
        On opening, for what :func:`read_image` refuses (unsupported suffix, type or layout,
        corrupt file, smaller than 2x2); on reading a frame, if it cannot be decoded or has
        NaN/Inf pixels: the message names the file and the frame.

    Warns
    -----
    UserWarning
        If the file has an alpha channel (dropped), or is a TIFF stack that must be read whole.

    Examples
    --------
    >>> import tempfile
    >>> stack = np.zeros((3, 1, 4, 5), np.float32)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     saved = write_image(Path(folder) / "stack.tif", stack, dtype="uint16")
    ...     with StackReader(saved) as reader:
    ...         shapes = [frame.shape for frame in reader]
    >>> reader.n_frames, reader.meta.dtype, shapes[0], len(shapes)
    (3, 'uint16', (1, 4, 5), 3)
    """

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file")
        if not path.is_file():
            raise ImageError(f"{path}: is not a file")
        fmt = format_of(path)
        self.path = path
        if fmt in ("png", "jpeg"):
            image, self.meta = read_image(path)
            c, h, w = image.shape
            self._frames = _Frames(1, (h, w, c), "float32", lambda i: image)
            self.n_frames, self.frame_shape = 1, image.shape
            return
        try:
            frames = _open_tiff(path) if fmt == "tiff" else _open_mrc(path)
        except (ImageError, MemoryError):
            raise
        except Exception as exc:  # each library has its own errors for a corrupt file
            raise ImageError(
                f"{path}: cannot read it as {fmt.upper()} (unreadable or corrupt file): "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        self._frames = frames
        try:
            self._check(fmt)
        except BaseException:
            self.close()
            raise

    def _check(self, fmt: str) -> None:
        """Refuse what read_image refuses; set meta, n_frames, frame_shape."""
        path, (h, w, c), n, dtype = self.path, self._frames.hwc, self._frames.n, self._frames.dtype
        if dtype not in READABLE_DTYPES:
            raise ImageError(
                f"{path}: unsupported pixel type {dtype}; supported: {', '.join(READABLE_DTYPES)}"
            )
        if h < 2 or w < 2 or n == 0:
            raise ImageError(f"{path}: image is {h}x{w} (HxW); need at least 2x2 pixels")
        if c not in (1, 2, 3, 4):
            raise ImageError(
                f"{path}: has {c} channels; expected 1 (grey), 3 (RGB) or 2/4 (+alpha)"
            )
        had_alpha = c in (2, 4)
        if had_alpha:
            warnings.warn(
                f"{path}: dropped its alpha channel ({'grey' if c == 2 else 'RGB'}+alpha -> "
                f"{'grey' if c == 2 else 'RGB'}); noise2x denoises colour channels only",
                stacklevel=3,
            )
        channels = c - 1 if had_alpha else c
        self.n_frames, self.frame_shape = n, (channels, h, w)
        self.meta = ImageMeta(
            path=path,
            format=fmt,
            dtype=dtype,
            is_stack=n > 1,
            channels=channels,
            had_alpha=had_alpha,
            scale=UNIT_SCALE.get(dtype, 1.0),
            **self._frames.extra,
        )

    def read_frame(self, index: int) -> np.ndarray:
        """Return frame `index` as float32 (C, H, W), scaled like :func:`read_image`.

        Parameters
        ----------
        index : int
            0 <= index < :attr:`n_frames`.

        Returns
        -------
        np.ndarray, shape (C, H, W), float32
            In [0, 1] for 8- and 16-bit unsigned pixels; raw values otherwise.

        Raises
        ------
        IndexError
            If `index` is out of range.
        ImageError
            If the frame cannot be decoded or has NaN/Inf pixels; the message names the frame.
        """
        n, path = self.n_frames, self.path
        if not 0 <= index < n:
            raise IndexError(f"{path}: frame {index} out of range; the file has {n} frames")
        if self._frames is None:
            raise ValueError(f"{path}: StackReader is closed")
        if self.meta.format in ("png", "jpeg"):
            return self._frames.read(0).copy()
        try:
            raw = self._frames.read(index)
        except (ImageError, MemoryError):
            raise
        except Exception as exc:
            raise ImageError(
                f"{path}: cannot read frame {index} of {n} as {self.meta.format.upper()} "
                f"(unreadable or corrupt file): {type(exc).__name__}: {exc}"
            ) from exc
        if raw.shape != self._frames.hwc:
            raise ImageError(
                f"{path}: frame {index} has shape {raw.shape}; expected {self._frames.hwc}"
            )
        image = np.ascontiguousarray(raw[..., : self.meta.channels].transpose(2, 0, 1), np.float32)
        if self.meta.scale != 1.0:
            image /= np.float32(self.meta.scale)
        bad = image.size - int(np.count_nonzero(np.isfinite(image)))
        if bad:
            raise ImageError(f"{path}: frame {index} of {n} contains {bad} NaN/Inf pixels")
        return image

    def __iter__(self) -> Iterator[np.ndarray]:
        for index in range(self.n_frames):
            yield self.read_frame(index)

    def __len__(self) -> int:
        return self.n_frames

    def close(self) -> None:
        """Close the file; reading a frame afterwards is an error. Safe to call twice."""
        frames, self._frames = self._frames, None
        if frames is not None:
            frames.close()

    def __enter__(self) -> StackReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _MrcStats:
    """Running min, max, mean and RMS (population std) of the frames, in float64 (Chan et al.)."""

    def __init__(self) -> None:
        self.n, self.mean, self.m2 = 0, 0.0, 0.0
        self.min, self.max = np.inf, -np.inf

    def add(self, pixels: np.ndarray) -> None:
        values = pixels.astype(np.float64).ravel()
        n, mean = values.size, float(values.mean())
        values -= mean
        m2 = float(np.dot(values, values))  # no temporary array
        delta, total = mean - self.mean, self.n + n
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * self.n * n / total
        self.n = total
        self.min, self.max = min(self.min, float(pixels.min())), max(self.max, float(pixels.max()))

    def write_to(self, header: np.recarray) -> None:
        header.dmin, header.dmax = self.min, self.max
        header.dmean, header.rms = np.float32(self.mean), np.float32(np.sqrt(self.m2 / self.n))


class StackWriter:
    """Write an image file frame by frame, as :func:`write_image` would write the whole stack.

    Each frame is converted like :func:`write_image` converts a stack (``round(value * scale)``
    clipped to the type's range for integer types) and appended to a hidden temporary file in
    the output's folder (``.NAME.tmp-XXXXXXXX.SUFFIX``): TIFF one page per frame, MRC a
    memory-mapped (N, H, W) file with ``like.voxel_size``, marked as an image stack for
    ``.mrcs``/``.st`` and as a volume for ``.mrc``. A successful ``with`` block renames the
    temporary file over `path`; an exception in the block, or fewer than `n_frames` frames,
    removes it and leaves an existing `path` as it was. A 1-frame output (any format, the only
    kind PNG and JPEG hold) is kept in memory and saved by :func:`write_image` at the end.

    Parameters
    ----------
    path : str or Path
        Output file; suffix from :data:`~noise2x.data.io.IMAGE_SUFFIXES`.
    like : ImageMeta or None
        Metadata of the input (e.g. :attr:`StackReader.meta`): the default dtype and MRC
        voxel size, as for :func:`write_image`.
    n_frames : int
        N >= 1, the number of frames :meth:`write` will be given.
    frame_shape : tuple of 3 int
        (C, H, W) of every frame; C in {1, 3} (MRC: 1), H, W >= 2.
    overwrite : bool, default False
        Replace an existing file. Without it an existing `path` is an error, raised here.
    dtype : {"uint8", "uint16", "float32"}, optional
        Pixel type of the file (see :data:`~noise2x.data.io.OUTPUT_DTYPES`).

    Raises
    ------
    FileExistsError
        If `path` exists and `overwrite` is False (here, before any work, and again before the
        final rename).
    ImageError
        Here, for what :func:`write_image` refuses (suffix, dtype, shape, a stack to PNG/JPEG,
        colour to MRC); in :meth:`write`, for a frame of the wrong shape or type, with NaN/Inf
        values, or one more than `n_frames`; at the end of the block, if fewer than `n_frames`
        frames were written.

    Examples
    --------
    >>> import tempfile
    >>> frames = [np.full((1, 4, 5), value, np.float32) for value in (0.0, 0.5, 1.0)]
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     with StackWriter(Path(folder) / "out.tif", None, 3, (1, 4, 5), dtype="uint8") as writer:
    ...         for frame in frames:
    ...             writer.write(frame)
    ...     image, meta = read_image(writer.path)
    >>> image.shape, meta.dtype, round(float(image[1, 0, 0, 0]) * 255)
    ((3, 1, 4, 5), 'uint8', 128)
    """

    def __init__(
        self,
        path: str | Path,
        like: ImageMeta | None,
        n_frames: int,
        frame_shape: tuple[int, int, int],
        *,
        overwrite: bool = False,
        dtype: str | None = None,
    ) -> None:
        path = Path(path)
        fmt = format_of(path)
        chosen = choose_dtype(path, fmt, dtype, like)
        if (
            not isinstance(n_frames, (int, np.integer))
            or isinstance(n_frames, bool)
            or n_frames < 1
        ):
            raise ImageError(f"{path}: n_frames must be a positive integer; got {n_frames!r}")
        shape = tuple(frame_shape)
        if len(shape) != 3 or not all(isinstance(s, (int, np.integer)) and s > 0 for s in shape):
            raise ImageError(
                f"{path}: frame_shape must be 3 positive integers (C, H, W); got {shape}"
            )
        self.n_frames, self.frame_shape = int(n_frames), tuple(int(s) for s in shape)
        check_array(path, fmt, np.broadcast_to(np.float32(0), self.frame_shape), chosen)
        if self.n_frames > 1 and fmt in ("png", "jpeg"):
            raise ImageError(
                f"{path}: {fmt.upper()} holds one image, got a stack "
                f"{(self.n_frames, *self.frame_shape)}; write .tif or .mrcs"
            )
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path}: {EXISTS}")
        self.path, self.like, self.dtype = path, like, chosen
        self.frames_written = 0
        self._fmt, self._overwrite, self._dtype_arg = fmt, overwrite, dtype
        self._state = "new"  # -> "open" -> "closed"
        self._tmp: Path | None = None
        self._tiff: tifffile.TiffWriter | None = None
        self._mrc: mrcfile.mrcmemmap.MrcMemmap | None = None
        self._stats = _MrcStats()
        self._single: np.ndarray | None = None

    def __enter__(self) -> StackWriter:
        if self._state != "new":
            raise RuntimeError(f"{self.path}: a StackWriter writes its file once")
        self._state = "open"
        if self.n_frames == 1:
            return self
        path, (c, h, w) = self.path, self.frame_shape
        path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = temporary_path(path)
        try:
            if self._fmt == "tiff":
                nbytes = self.n_frames * c * h * w * np.dtype(self.dtype).itemsize
                self._tiff = tifffile.TiffWriter(self._tmp, bigtiff=nbytes > _BIGTIFF_BYTES)
            else:
                self._mrc = mrcfile.new_mmap(
                    self._tmp,
                    shape=(self.n_frames, h, w),
                    mrc_mode=mode_from_dtype(np.dtype(self.dtype)),
                    overwrite=True,
                )
                if path.suffix.lower() in (".mrcs", ".st"):
                    self._mrc.set_image_stack()
                if self.like is not None and self.like.voxel_size is not None:
                    self._mrc.voxel_size = self.like.voxel_size
        except BaseException:
            self._discard()
            raise
        return self

    def write(self, frame: np.ndarray) -> None:
        """Convert one frame to the output dtype and append it to the file.

        Parameters
        ----------
        frame : np.ndarray, shape :attr:`frame_shape` (C, H, W), float
            Pixels on the scale :func:`read_image` returns (nominally [0, 1]); must be finite.

        Raises
        ------
        RuntimeError
            If called outside the ``with`` block.
        ImageError
            If the frame has the wrong shape or type, has NaN/Inf values, or is one more than
            `n_frames`; the message gives the frame's index (counting from 0).
        """
        path, index = self.path, self.frames_written
        if self._state != "open":
            raise RuntimeError(f"{path}: write frames inside `with StackWriter(...) as writer:`")
        if index >= self.n_frames:
            raise ImageError(f"{path}: declared {self.n_frames} frames; got one more")
        frame = np.asarray(frame)
        if frame.shape != self.frame_shape or not np.issubdtype(frame.dtype, np.floating):
            raise ImageError(
                f"{path}: frame {index} must be a float array of shape {self.frame_shape}; "
                f"got {frame.dtype} {frame.shape}"
            )
        bad = frame.size - int(np.count_nonzero(np.isfinite(frame)))
        if bad:
            raise ImageError(f"{path}: frame {index} to write contains {bad} NaN/Inf pixels")
        if self.n_frames == 1:
            self._single = frame.copy()
        elif self._tiff is not None:
            pixels = to_dtype(frame, self.dtype)
            colour = self.frame_shape[0] == 3
            self._tiff.write(
                np.moveaxis(pixels, 0, -1) if colour else pixels[0],
                photometric="rgb" if colour else "minisblack",
                contiguous=True,
            )
        else:
            pixels = to_dtype(frame, self.dtype)
            self._mrc.data[index] = pixels[0]
            self._stats.add(pixels)
        self.frames_written += 1

    def _finish(self) -> None:
        """Close the file and rename it over the output; or save the single frame."""
        path, n = self.path, self.n_frames
        if self.frames_written < n:
            raise ImageError(
                f"{path}: {self.frames_written} of the {n} declared frames were written; "
                "nothing was saved"
            )
        if n == 1:
            write_image(
                path, self._single, like=self.like, overwrite=self._overwrite, dtype=self._dtype_arg
            )
            return
        if self._tiff is not None:
            self._tiff.close()  # writes the IFDs and the shape description
        else:
            self._stats.write_to(self._mrc.header)
            self._mrc.close()
        self._tiff = self._mrc = None
        publish(self._tmp, path, self._overwrite)

    def _discard(self) -> None:
        """Close whatever is open, quietly, and remove the temporary file."""
        for handle in (self._tiff, self._mrc):
            if handle is not None:
                with contextlib.suppress(Exception):  # the file is deleted anyway
                    handle.close()
        self._tiff = self._mrc = self._single = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
        self._state = "closed"

    def __exit__(self, exc_type: type | None, *exc_info: object) -> None:
        try:
            if exc_type is None:
                self._finish()
        finally:
            self._discard()
