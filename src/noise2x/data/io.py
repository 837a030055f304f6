# size: the one format table: reading and writing PNG, JPEG, TIFF and MRC with their checks
"""The one boundary between image files and numpy arrays.

Everything that opens or saves an image goes through :func:`read_image` and :func:`write_image`.
Inside noise2x an image is a float32 array of shape (C, H, W) (a stack: (N, C, H, W)), C in
{1, 3}; :class:`ImageMeta` remembers how the file stored it so a result can be written back
the same way.

Formats: PNG (8- and 16-bit grey, 8-bit colour), JPEG, TIFF (``tifffile``; single pages and
multi-page stacks) and MRC (``mrcfile``; ``.mrc``, ``.mrcs``, ``.st``; modes 0, 1, 2, 6, 12).

Pixel values, on reading:

- ``uint8`` and ``uint16`` are intensities on a fixed scale: divided by 255 or 65535 to [0, 1].
- Every other integer type (``int8``, ``int16`` (MRC modes 0 and 1), ``int32``, ``uint32``)
  keeps its raw values as float32, unscaled: signed data is centred on zero and has no natural
  full scale, and 32-bit integers are counts. ``ImageMeta.scale`` records the divisor (1.0 here).
  float32 holds integers exactly up to 2**24 in magnitude; larger ``int32``/``uint32`` values are
  rounded to float32 precision.
- Floats (``float16``, ``float32``, ``float64``) are kept as they are, cast to float32.
- Anything else (bool, complex, 64-bit integers) is refused.

On writing, floats going to an integer type are multiplied by the same scale, rounded to the
nearest integer and clipped to the type's range. This is the only place noise2x clips, and only
at output. So ``image, meta = read_image(a)`` then ``write_image(b, image, like=meta)`` writes
the same pixel values in the same dtype (JPEG: up to re-compression). Alpha channels are dropped
on reading (with a warning) and not written back. JPEG EXIF orientation is not applied: pixels
are returned as stored.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import mrcfile
import numpy as np
import tifffile
from PIL import Image

from noise2x.data.atomic import EXISTS, atomic_write

# tifffile logs its own diagnostics of damaged files; noise2x raises one ImageError instead.
logging.getLogger("tifffile").setLevel(logging.CRITICAL)

__all__ = [
    "FORMATS",
    "IMAGE_SUFFIXES",
    "OUTPUT_DTYPES",
    "READABLE_DTYPES",
    "UNIT_SCALE",
    "ImageError",
    "ImageFormat",
    "ImageMeta",
    "check_array",
    "check_output",
    "check_pixel_budget",
    "choose_dtype",
    "format_of",
    "list_images",
    "read_image",
    "to_dtype",
    "to_uint8_preview",
    "write_image",
]

READABLE_DTYPES: tuple[str, ...] = (
    "uint8", "uint16", "uint32", "int8", "int16", "int32", "float16", "float32", "float64",
)  # fmt: skip
"""The pixel types :func:`read_image` (and the stack reader) accept."""

UNIT_SCALE: dict[str, float] = {"uint8": 255.0, "uint16": 65535.0}
"""Divisor that maps a pixel type to [0, 1]; every other type keeps its raw values (1.0)."""


@dataclass(frozen=True)
class ImageFormat:
    """Everything noise2x knows about one file format: one row of the format table.

    Attributes
    ----------
    name : str
        ``"png"``, ``"jpeg"``, ``"tiff"`` or ``"mrc"``.
    suffixes : tuple of str
        Lower-case file suffixes.
    writable : tuple of str
        Pixel types :func:`write_image` can store in it.
    default_dtype : str
        Written when neither a dtype nor a source image says otherwise.
    stacks : bool
        Whether one file holds a stack (N, C, H, W).
    channels : tuple of int
        Channel counts it holds.
    pil_names : tuple of str
        Pillow's names of the format (formats read with Pillow); empty otherwise.
    """

    name: str
    suffixes: tuple[str, ...]
    writable: tuple[str, ...]
    default_dtype: str
    stacks: bool
    channels: tuple[int, ...] = (1, 3)
    pil_names: tuple[str, ...] = ()


#: The one format table: read by :func:`read_image`, :func:`write_image`, the checks of
#: :func:`check_output`, and the stack reader and writer of ``noise2x.data.stream``.
FORMATS: dict[str, ImageFormat] = {
    f.name: f
    for f in (
        ImageFormat("png", (".png",), ("uint8", "uint16"), "uint8", False, pil_names=("PNG",)),
        ImageFormat(
            "jpeg", (".jpg", ".jpeg"), ("uint8",), "uint8", False, pil_names=("JPEG", "MPO")
        ),
        ImageFormat("tiff", (".tif", ".tiff"), READABLE_DTYPES, "float32", True),
        ImageFormat(  # mrcfile widens uint8 to uint16; MRC holds grey images only
            "mrc", (".mrc", ".mrcs", ".st"), ("int8", "int16", "uint16", "float16", "float32"),
            "float32", True, channels=(1,),
        ),
    )
}  # fmt: skip

IMAGE_SUFFIXES: tuple[str, ...] = tuple(s for f in FORMATS.values() for s in f.suffixes)
"""File suffixes (lower case) that :func:`read_image` and :func:`list_images` know."""

OUTPUT_DTYPES: tuple[str, ...] = ("uint8", "uint16", "float32")
"""The pixel types a user may ask :func:`write_image` for (``--output-dtype``)."""

_JPEG_QUALITY = 95


class ImageError(ValueError):
    """An image file, or a request to write one, that this module cannot handle.

    The message always starts with the file's path and says what was expected and what was
    found. The CLI catches it, prints the message on one line and exits non-zero.
    """


@dataclass(frozen=True)
class ImageMeta:
    """How an image file stored its pixels: enough to write a result back the same way.

    Attributes
    ----------
    path : Path
        The file that was read.
    format : str
        One of ``"png"``, ``"jpeg"``, ``"tiff"``, ``"mrc"``.
    dtype : str
        Numpy dtype name of the file's pixels, e.g. ``"uint8"``, ``"int16"``, ``"float32"``.
    is_stack : bool
        True when the file held more than one image and the array is (N, C, H, W).
    channels : int
        C of the returned array: 1 or 3 (after dropping alpha).
    had_alpha : bool
        True when the file had an alpha channel, which was dropped.
    scale : float
        Integer pixels were divided by this on reading (255, 65535, or 1.0 for raw values).
    voxel_size : tuple of 3 float or None
        MRC voxel size (x, y, z) in Angstrom; None for other formats.
    photometric : str or None
        TIFF photometric interpretation (``"minisblack"`` or ``"rgb"``); None otherwise.
    """

    path: Path
    format: str
    dtype: str
    is_stack: bool
    channels: int
    had_alpha: bool = False
    scale: float = 1.0
    voxel_size: tuple[float, float, float] | None = None
    photometric: str | None = None


def format_of(path: Path) -> str:
    """Return the name of the format of `path` (a key of :data:`FORMATS`) from its suffix.

    Raises
    ------
    ImageError
        If the suffix is not in :data:`IMAGE_SUFFIXES` (the message names the file).
    """
    suffix = Path(path).suffix.lower()
    for fmt in FORMATS.values():
        if suffix in fmt.suffixes:
            return fmt.name
    raise ImageError(
        f"{path}: unsupported file type {Path(path).suffix or '(no suffix)'!r}; "
        f"supported: {', '.join(IMAGE_SUFFIXES)}"
    )


def _png_depth_and_colour(path: Path) -> tuple[int, int]:
    """Bit depth and colour type from a PNG's IHDR chunk (bytes 24 and 25)."""
    with open(path, "rb") as f:
        head = f.read(26)
    return (head[24], head[25]) if len(head) == 26 else (0, 0)


def _read_pil(path: Path, fmt: str) -> tuple[np.ndarray, dict]:
    if fmt == "png":
        depth, colour = _png_depth_and_colour(path)
        if depth == 16 and colour in (2, 4, 6):
            raise ImageError(
                f"{path}: 16-bit colour or grey+alpha PNG is not supported (Pillow would "
                "silently reduce it to 8 bits); convert it to a 16-bit TIFF"
            )
    with Image.open(path) as im:
        if im.format not in FORMATS[fmt].pil_names:
            raise ImageError(f"{path}: the suffix says {fmt} but the file is {im.format}")
        if im.mode == "1":
            im = im.convert("L")
        elif im.mode in ("P", "PA"):
            has_alpha = im.mode == "PA" or "transparency" in im.info
            im = im.convert("RGBA" if has_alpha else "RGB")
        elif im.mode not in ("L", "LA", "RGB", "RGBA", "I;16", "I;16B", "I"):
            im = im.convert("RGB")  # CMYK, YCbCr, LAB, ...
        pixels = np.array(im)
    if pixels.dtype == np.int32 and fmt == "png":  # 16-bit grey PNG opened in mode "I"
        pixels = pixels.astype(np.uint16)
    pixels = pixels[..., np.newaxis] if pixels.ndim == 2 else pixels
    return pixels[np.newaxis], {}


def check_pixel_budget(path: Path, shape: tuple[int, ...], dtype: np.dtype) -> None:
    """Refuse pixel data larger than the memory available, before allocating it.

    Parameters
    ----------
    path : Path
        The file, for the message.
    shape : tuple of int
        The pixel array the header announces.
    dtype : np.dtype
        Its type.

    Raises
    ------
    ImageError
        If ``prod(shape) * itemsize`` exceeds the machine's physical memory (a damaged or
        absurd header: one line, instead of an allocation failure). Where the memory size is
        unknown (no ``os.sysconf``), nothing is checked.
    """
    need = int(np.prod(shape, dtype=np.float64)) * np.dtype(dtype).itemsize
    try:  # the machine's physical memory; unknown (no sysconf): no check
        free = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return
    if need > free:
        raise ImageError(
            f"{path}: the header says {' x '.join(map(str, shape))} {np.dtype(dtype).name} "
            f"pixels ({need / 2**30:.1f} GiB), more than the machine's {free / 2**30:.1f} GiB "
            "of memory; is the file damaged?"
        )


def _read_tiff(path: Path, fmt: str) -> tuple[np.ndarray, dict]:
    with tifffile.TiffFile(path) as tif:
        if len(tif.series) != 1:
            raise ImageError(
                f"{path}: holds {len(tif.series)} image series of different shapes; "
                "expected one image or one stack of same-sized images"
            )
        series = tif.series[0]
        photometric = tif.pages[0].photometric.name.lower()
        check_pixel_budget(path, tuple(series.shape), series.dtype)
        pixels, axes = series.asarray(), series.axes
    if photometric not in ("minisblack", "rgb"):
        raise ImageError(
            f"{path}: TIFF photometric {photometric!r} is not supported "
            "(supported: 'minisblack', 'rgb'); convert it to grey or RGB"
        )
    keep = [i for i, a in enumerate(axes) if pixels.shape[i] > 1 or a in "YX"]
    pixels = pixels.reshape([pixels.shape[i] for i in keep])
    axes = "".join(axes[i] for i in keep)
    others = [a for a in axes if a not in "YXS"]
    if "Y" not in axes or "X" not in axes or len(others) > 1:
        raise ImageError(
            f"{path}: TIFF axes {series.axes!r} with shape {tuple(series.shape)} are not an image "
            "(YX, YXS) or a stack of images (one more axis, e.g. (N, H, W) or (N, H, W, C))"
        )
    order = others + ["Y", "X"] + (["S"] if "S" in axes else [])
    pixels = np.transpose(pixels, [axes.index(a) for a in order])
    pixels = pixels if others else pixels[np.newaxis]
    return (pixels if "S" in axes else pixels[..., np.newaxis]), {"photometric": photometric}


def _read_mrc(path: Path, fmt: str) -> tuple[np.ndarray, dict]:
    with mrcfile.open(path, mode="r") as mrc:
        pixels = np.array(mrc.data)
        voxel = mrc.voxel_size
        voxel_size = (float(voxel.x), float(voxel.y), float(voxel.z))
    if pixels.ndim not in (2, 3):
        raise ImageError(
            f"{path}: MRC data has shape {pixels.shape}; expected an image (H, W) "
            "or a stack of sections (N, H, W)"
        )
    pixels = pixels if pixels.ndim == 3 else pixels[np.newaxis]
    return pixels[..., np.newaxis], {"voxel_size": voxel_size}


_READERS: dict[str, Callable[[Path, str], tuple[np.ndarray, dict]]] = {
    "png": _read_pil,
    "jpeg": _read_pil,
    "tiff": _read_tiff,
    "mrc": _read_mrc,
}


def read_image(path: str | Path) -> tuple[np.ndarray, ImageMeta]:
    """Read an image file (PNG, JPEG, TIFF, MRC) into a float32 array.

    uint8 and uint16 pixels are divided by 255 or 65535 to [0, 1]; other integer types keep
    their raw values; floats are kept as they are (see the module docstring). Grey gives C = 1,
    RGB gives C = 3; an alpha channel is dropped with a warning that names the file.

    Parameters
    ----------
    path : str or Path
        A file with a suffix from :data:`IMAGE_SUFFIXES`.

    Returns
    -------
    image : np.ndarray, shape (C, H, W), or (N, C, H, W) for a stack, float32
        In [0, 1] for 8- and 16-bit unsigned pixels; raw values otherwise. A stack is a
        multi-page TIFF or an MRC file with more than one section; C is 1 or 3, H, W >= 2.
    meta : ImageMeta
        How the file stored the pixels; pass it to :func:`write_image` as ``like``.

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ImageError
        If the file is not a file, has an unsupported suffix, cannot be decoded, has an
        unsupported pixel type (bool, complex, 64-bit integers), is not an image or a stack of
        images, is smaller than 2x2, or contains NaN/Inf pixels. The message names the file.

    Warns
    -----
    UserWarning
        If the file had an alpha channel, which is dropped.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     saved = write_image(Path(folder) / "grey.png", np.full((1, 4, 6), 0.5, np.float32))
    ...     image, meta = read_image(saved)
    >>> image.shape, image.dtype, meta.format, meta.dtype, meta.channels
    ((1, 4, 6), dtype('float32'), 'png', 'uint8', 1)
    >>> round(float(image[0, 0, 0]) * 255)  # 0.5 was written as 128 and read back as 128 / 255
    128
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if not path.is_file():
        raise ImageError(f"{path}: is not a file")
    fmt = format_of(path)
    try:
        pixels, extra = _READERS[fmt](path, fmt)
    except (ImageError, MemoryError):
        raise
    except Exception as exc:  # each library has its own errors for a corrupt file
        raise ImageError(
            f"{path}: cannot read it as {fmt.upper()} (unreadable or corrupt file): "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    # pixels: (N, H, W, C) in the file's dtype
    dtype = pixels.dtype.name
    if dtype not in READABLE_DTYPES:
        raise ImageError(
            f"{path}: unsupported pixel type {dtype}; supported: {', '.join(READABLE_DTYPES)}"
        )
    n, h, w, c = pixels.shape
    if h < 2 or w < 2 or n == 0:
        raise ImageError(f"{path}: image is {h}x{w} (HxW); need at least 2x2 pixels")
    if c not in (1, 2, 3, 4):
        raise ImageError(f"{path}: has {c} channels; expected 1 (grey), 3 (RGB) or 2/4 (+alpha)")
    had_alpha = c in (2, 4)
    if had_alpha:
        warnings.warn(
            f"{path}: dropped its alpha channel ({'grey' if c == 2 else 'RGB'}+alpha -> "
            f"{'grey' if c == 2 else 'RGB'}); noise2x denoises colour channels only",
            stacklevel=2,
        )
        pixels = pixels[..., : c - 1]
    scale = UNIT_SCALE.get(dtype, 1.0)
    image = np.ascontiguousarray(pixels.transpose(0, 3, 1, 2), dtype=np.float32)
    if scale != 1.0:
        image /= np.float32(scale)
    bad = image.size - int(np.count_nonzero(np.isfinite(image)))
    if bad:
        raise ImageError(f"{path}: contains {bad} NaN/Inf pixels")
    meta = ImageMeta(
        path=path,
        format=fmt,
        dtype=dtype,
        is_stack=n > 1,
        channels=image.shape[1],
        had_alpha=had_alpha,
        scale=scale,
        **extra,
    )
    return (image if n > 1 else image[0]), meta


def choose_dtype(path: Path, fmt: str, dtype: str | None, like: ImageMeta | None) -> str:
    """Return the pixel type to write `path` in: `dtype`, else `like`'s, else the format's.

    Raises
    ------
    ImageError
        If `dtype` is not in :data:`OUTPUT_DTYPES` or the format cannot hold the type.
    """
    if dtype is not None:
        if dtype not in OUTPUT_DTYPES:
            raise ImageError(
                f"{path}: output dtype {dtype!r} is not one of {', '.join(OUTPUT_DTYPES)}"
            )
        chosen = dtype
    elif like is not None:
        chosen = like.dtype
    else:
        chosen = FORMATS[fmt].default_dtype
    if chosen not in FORMATS[fmt].writable:
        raise ImageError(
            f"{path}: {fmt.upper()} cannot hold {chosen} pixels; it holds "
            f"{', '.join(FORMATS[fmt].writable)} (choose an output dtype or another file type)"
        )
    return chosen


def check_output(
    path: str | Path,
    shape: tuple[int, ...],
    dtype: str | None = None,
    like: ImageMeta | None = None,
) -> str:
    """Check, before any work, that an image of `shape` can be written to `path`.

    The checks of `write_image` that do not need the pixels: the file type, the output dtype
    the format can hold, a stack in a single-image format, MRC's one channel, 16-bit PNG's
    grey. ``noise2x denoise`` calls it before denoising a file, so that a bad combination
    (``--output-dtype uint16`` with a JPEG) fails in a second, not after the work.

    Parameters
    ----------
    path : str or Path
        The output file.
    shape : tuple of int
        (C, H, W) or (N, C, H, W) of the image to write.
    dtype, like
        As for `write_image`.

    Returns
    -------
    str
        The dtype the file will be written in.

    Raises
    ------
    ImageError
        For an unsupported file type, a dtype the format cannot hold, or a shape it cannot
        store (the message names the file).
    """
    path = Path(path)
    fmt = format_of(path)
    chosen = choose_dtype(path, fmt, dtype, like)
    _check_shape(path, fmt, tuple(shape), chosen)
    return chosen


def check_array(path: Path, fmt: str, array: np.ndarray, dtype: str) -> None:
    """Raise an ImageError naming `path` unless `array` can be written in format `fmt`.

    `array` must be float (C, H, W) or (N, C, H, W), finite, of a shape the format holds.
    """
    shape = array.shape
    if array.ndim not in (3, 4) or not np.issubdtype(array.dtype, np.floating):
        raise ImageError(
            f"{path}: write_image needs a float array (C, H, W) or (N, C, H, W); "
            f"got {array.dtype} {shape}"
        )
    _check_shape(path, fmt, shape, dtype)
    bad = array.size - int(np.count_nonzero(np.isfinite(array)))
    if bad:
        raise ImageError(f"{path}: array to write contains {bad} NaN/Inf pixels")


def _check_shape(path: Path, fmt: str, shape: tuple[int, ...], dtype: str) -> None:
    if len(shape) not in (3, 4):
        raise ImageError(f"{path}: expected (C, H, W) or (N, C, H, W); got shape {shape}")
    c, h, w = shape[-3:]
    if c not in (1, 3) or h < 2 or w < 2 or (len(shape) == 4 and shape[0] == 0):
        raise ImageError(f"{path}: expected C in (1, 3) and H, W >= 2; got shape {shape}")
    if not FORMATS[fmt].stacks and len(shape) == 4:
        raise ImageError(
            f"{path}: {fmt.upper()} holds one image, got a stack {shape}; write .tif or .mrcs"
        )
    if c not in FORMATS[fmt].channels:
        raise ImageError(
            f"{path}: {fmt.upper()} holds single-channel images; got C = {c} in {shape}"
        )
    if fmt == "png" and dtype == "uint16" and c != 1:
        raise ImageError(f"{path}: 16-bit PNG must be grey; got C = {c}; write .tif instead")


def to_dtype(array: np.ndarray, dtype: str) -> np.ndarray:
    """Convert floats to `dtype`: scale (:data:`UNIT_SCALE`), round and clip for integers.

    Parameters
    ----------
    array : np.ndarray, any shape, floating point
        Pixels on the working scale ([0, 1] for uint8/uint16 targets, raw values otherwise).
    dtype : str
        A numpy pixel type name, e.g. ``"uint16"``.

    Returns
    -------
    np.ndarray, same shape, of `dtype`
        Floats cast as they are; integers ``rint(array * scale)`` clipped to the type's range.

    Examples
    --------
    >>> to_dtype(np.array([0.0, 0.5, 1.2]), "uint8").tolist()
    [0, 128, 255]
    """
    if np.issubdtype(np.dtype(dtype), np.floating):
        return array.astype(dtype)
    info = np.iinfo(dtype)
    out = np.rint(array.astype(np.float64) * UNIT_SCALE.get(dtype, 1.0))
    return np.clip(out, info.min, info.max).astype(dtype)


def _write_pil(tmp: Path, fmt: str, pixels: np.ndarray, like: ImageMeta | None) -> None:
    hwc = pixels.transpose(1, 2, 0)
    im = Image.fromarray(np.ascontiguousarray(hwc[..., 0] if hwc.shape[2] == 1 else hwc))
    if fmt == "png":
        im.save(tmp, format="PNG")
    else:
        im.save(tmp, format="JPEG", quality=_JPEG_QUALITY, subsampling=0)


def _write_tiff(tmp: Path, fmt: str, pixels: np.ndarray, like: ImageMeta | None) -> None:
    if pixels.shape[-3] == 3:
        tifffile.imwrite(tmp, np.moveaxis(pixels, -3, -1), photometric="rgb")
    else:
        tifffile.imwrite(
            tmp, pixels[:, 0] if pixels.ndim == 4 else pixels[0], photometric="minisblack"
        )


def _write_mrc(tmp: Path, fmt: str, pixels: np.ndarray, like: ImageMeta | None) -> None:
    with mrcfile.new(tmp, overwrite=True) as mrc:
        mrc.set_data(pixels[:, 0] if pixels.ndim == 4 else pixels[0])
        if pixels.ndim == 4 and tmp.suffix.lower() in (".mrcs", ".st"):
            mrc.set_image_stack()
        if like is not None and like.voxel_size is not None:
            mrc.voxel_size = like.voxel_size


_WRITERS = {"png": _write_pil, "jpeg": _write_pil, "tiff": _write_tiff, "mrc": _write_mrc}


def write_image(
    path: str | Path,
    array: np.ndarray,
    like: ImageMeta | None = None,
    overwrite: bool = False,
    dtype: str | None = None,
) -> Path:
    """Write a float array to an image file, atomically, in the format of the path's suffix.

    The pixel type is `dtype` if given, else ``like.dtype``, else uint8 for PNG/JPEG and
    float32 for TIFF/MRC. To an integer type: ``round(value * scale)`` clipped to the type's
    range, with scale 255 (uint8), 65535 (uint16) or 1 (other integers, raw values). This is
    the only place noise2x clips. The file is written to a hidden temporary file in the same
    folder (``.NAME.tmp-XXXXXXXX.SUFFIX``) and renamed over `path`; the temporary file is
    removed if anything fails. Parent folders are created. MRC keeps ``like.voxel_size``; a
    stack written to ``.mrcs``/``.st`` is marked as an image stack (``.mrc``: a volume); a stack
    of one image reads back as a single image. JPEG uses quality 95 without chroma subsampling.

    Parameters
    ----------
    path : str or Path
        Output file; suffix from :data:`IMAGE_SUFFIXES`.
    array : np.ndarray, shape (C, H, W) or (N, C, H, W), float, C in {1, 3}, H, W >= 2
        Pixels on the scale :func:`read_image` returns (nominally [0, 1]); must be finite.
    like : ImageMeta, optional
        Metadata of the input, from :func:`read_image`: gives the default dtype and MRC
        voxel size.
    overwrite : bool, default False
        Replace an existing file. Without it an existing `path` is an error.
    dtype : {"uint8", "uint16", "float32"}, optional
        Pixel type of the file (see :data:`OUTPUT_DTYPES`).

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    FileExistsError
        If `path` exists and `overwrite` is False; the message says to use ``--overwrite``.
    ImageError
        If the suffix is unsupported, `dtype` is not in :data:`OUTPUT_DTYPES`, the format cannot
        hold the pixel type (PNG/JPEG and float32; 16-bit colour PNG), a stack goes to PNG/JPEG,
        colour goes to MRC, the array has the wrong shape or type, or has NaN/Inf values.

    Examples
    --------
    >>> import tempfile
    >>> stack = np.zeros((2, 1, 3, 4), np.float32)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     saved = write_image(Path(folder) / "out" / "stack.tif", stack, dtype="uint16")
    ...     image, meta = read_image(saved)
    >>> saved.name, image.shape, meta.dtype, meta.is_stack
    ('stack.tif', (2, 1, 3, 4), 'uint16', True)
    """
    path = Path(path)
    fmt = format_of(path)
    chosen = choose_dtype(path, fmt, dtype, like)
    array = np.asarray(array)
    check_array(path, fmt, array, chosen)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: {EXISTS}")
    pixels = to_dtype(array, chosen)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, overwrite) as tmp:
        _WRITERS[fmt](tmp, fmt, pixels, like)
    return path


def list_images(paths: Sequence[str | Path]) -> list[Path]:
    """Expand folders to the image files in them; keep files as given.

    A folder gives its own (not its subfolders') files with a suffix in :data:`IMAGE_SUFFIXES`
    (any case), sorted by name; hidden files (names starting with ".") are skipped, which
    also skips half-written temporary files and macOS "._" files. The order of `paths` is kept.

    Parameters
    ----------
    paths : sequence of str or Path
        Image files and folders.

    Returns
    -------
    list of Path

    Raises
    ------
    FileNotFoundError
        If a path does not exist; the message names it.
    ImageError
        If a folder holds no image files; the message names the folder and the suffixes.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     for name in ("b.png", "a.tif", "notes.txt"):
    ...         _ = (Path(folder) / name).write_bytes(b"")
    ...     print([p.name for p in list_images([folder])])
    ['a.tif', 'b.png']
    """
    found: list[Path] = []
    for path in map(Path, paths):
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or folder")
        if not path.is_dir():
            found.append(path)
            continue
        images = sorted(
            p
            for p in path.iterdir()
            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
        )
        if not images:
            raise ImageError(
                f"{path}: folder contains no images (looked for {', '.join(IMAGE_SUFFIXES)})"
            )
        found.extend(images)
    return found


def to_uint8_preview(array_chw: np.ndarray) -> np.ndarray:
    """Turn one image into uint8 pixels for a figure: ``round(255 * x)`` clipped to [0, 255].

    For previews only (e.g. a side-by-side demo PNG); results are saved with
    :func:`write_image`.

    Parameters
    ----------
    array_chw : np.ndarray, shape (C, H, W), C in {1, 3}, float, nominally in [0, 1]

    Returns
    -------
    np.ndarray, shape (H, W) for C = 1 or (H, W, 3) for C = 3, uint8

    Raises
    ------
    ValueError
        If the array is not (C, H, W) with C in {1, 3}; the message quotes the shape.

    Examples
    --------
    >>> to_uint8_preview(np.array([[[-0.5, 0.5], [1.0, 2.0]]], np.float32))
    array([[  0, 128],
           [255, 255]], dtype=uint8)
    """
    array_chw = np.asarray(array_chw)
    if array_chw.ndim != 3 or array_chw.shape[0] not in (1, 3):
        raise ValueError(
            f"to_uint8_preview needs a (C, H, W) array with C in (1, 3), got {array_chw.shape}"
        )
    hwc = np.rint(np.nan_to_num(array_chw.astype(np.float32)) * 255).clip(0, 255).astype(np.uint8)
    hwc = hwc.transpose(1, 2, 0)
    return hwc[..., 0] if hwc.shape[2] == 1 else hwc
