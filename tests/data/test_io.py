import dataclasses
import struct
import zlib
from pathlib import Path

import mrcfile
import numpy as np
import pytest
import tifffile
from PIL import Image

from noise2x.data import io
from noise2x.data.io import (
    IMAGE_SUFFIXES,
    ImageError,
    ImageMeta,
    list_images,
    read_image,
    to_uint8_preview,
    write_image,
)


def _ramp(shape, dtype):
    """Integers covering the dtype's range, including its extremes."""
    info = np.iinfo(dtype)
    values = np.linspace(info.min, info.max, num=int(np.prod(shape)))
    return np.rint(values).astype(dtype).reshape(shape)


def _png_bytes(pixels_hwc_u16: np.ndarray, colour_type: int) -> bytes:
    """A minimal 16-bit PNG (Pillow cannot write 16-bit colour)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    h, w = pixels_hwc_u16.shape[:2]
    rows = pixels_hwc_u16.astype(">u2").reshape(h, -1)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)
    header = struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


# --- round trips -------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3])
def test_png_8bit_round_trip_keeps_values_and_dtype(tmp_path, channels):
    pixels = _ramp((5, 7, channels), np.uint8)
    path = tmp_path / "in.png"
    Image.fromarray(pixels[..., 0] if channels == 1 else pixels).save(path)

    image, meta = read_image(path)
    out = write_image(tmp_path / "out.png", image, like=meta)

    assert image.shape == (channels, 5, 7) and image.dtype == np.float32
    assert image.min() == 0.0 and image.max() == 1.0
    assert (meta.format, meta.dtype, meta.channels, meta.is_stack) == (
        "png",
        "uint8",
        channels,
        False,
    )
    assert meta.scale == 255.0 and not meta.had_alpha
    np.testing.assert_array_equal(np.asarray(Image.open(out)), np.squeeze(pixels))


def test_png_16bit_grey_round_trip_keeps_values_and_dtype(tmp_path):
    pixels = _ramp((6, 4), np.uint16)
    path = tmp_path / "in16.png"
    Image.fromarray(pixels).save(path)

    image, meta = read_image(path)
    out = write_image(tmp_path / "out16.png", image, like=meta)

    assert meta.dtype == "uint16" and meta.scale == 65535.0
    np.testing.assert_allclose(image[0], pixels / 65535.0, rtol=0, atol=1e-7)
    back, back_meta = read_image(out)
    assert back_meta.dtype == "uint16"
    np.testing.assert_array_equal(np.asarray(Image.open(out)), pixels)


def test_png_16bit_colour_is_refused_not_silently_reduced(tmp_path):
    path = tmp_path / "rgb16.png"
    path.write_bytes(_png_bytes(_ramp((3, 4, 3), np.uint16), colour_type=2))

    with pytest.raises(ImageError, match="rgb16.png.*16-bit colour"):
        read_image(path)


def test_jpeg_round_trip_is_close(tmp_path):
    rng = np.random.default_rng(0)
    smooth = np.linspace(0.1, 0.9, 16 * 16 * 3, dtype=np.float32).reshape(3, 16, 16)
    image = smooth + rng.normal(0, 0.01, smooth.shape).astype(np.float32)

    out = write_image(tmp_path / "x.jpg", image)
    back, meta = read_image(out)

    assert (meta.format, meta.dtype, back.shape) == ("jpeg", "uint8", (3, 16, 16))
    assert np.abs(back - image).mean() < 0.02


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32"])
@pytest.mark.parametrize("channels", [1, 3])
def test_tiff_round_trip_keeps_values_and_dtype(tmp_path, dtype, channels):
    if dtype == "float32":
        pixels = np.linspace(-0.5, 2.0, 5 * 6 * channels, dtype=np.float32)
        pixels = pixels.reshape(5, 6, channels)
    else:
        pixels = _ramp((5, 6, channels), dtype)
    path = tmp_path / "in.tif"
    tifffile.imwrite(path, np.squeeze(pixels), photometric="rgb" if channels == 3 else None)

    image, meta = read_image(path)
    out = write_image(tmp_path / "out.tif", image, like=meta)

    assert image.shape == (channels, 5, 6) and meta.dtype == dtype
    assert meta.photometric == ("rgb" if channels == 3 else "minisblack")
    written = tifffile.imread(out)
    assert written.dtype == dtype
    np.testing.assert_array_equal(written, np.squeeze(pixels))


@pytest.mark.parametrize("channels", [1, 3])
def test_multipage_tiff_reads_as_stack_and_round_trips(tmp_path, channels):
    pixels = _ramp((4, 5, 6, channels), np.uint16)
    path = tmp_path / "stack.tif"
    with tifffile.TiffWriter(path) as tif:  # plain pages, no shape metadata
        for page in pixels:
            tif.write(np.squeeze(page, -1) if channels == 1 else page, metadata=None)

    image, meta = read_image(path)
    out = write_image(tmp_path / "out.tif", image, like=meta)
    back, back_meta = read_image(out)

    assert image.shape == (4, channels, 5, 6) and meta.is_stack
    np.testing.assert_array_equal(image, pixels.transpose(0, 3, 1, 2) / np.float32(65535))
    np.testing.assert_array_equal(back, image)
    assert back_meta.is_stack and back_meta.dtype == "uint16"


def test_planar_rgb_tiff_reads_channels_first(tmp_path):
    pixels = _ramp((3, 4, 5), np.uint8)
    path = tmp_path / "planar.tif"
    tifffile.imwrite(path, pixels, photometric="rgb", planarconfig="separate")

    image, meta = read_image(path)

    assert image.shape == (3, 4, 5) and meta.channels == 3
    np.testing.assert_array_equal(image, pixels / np.float32(255))


def test_mrc_float32_round_trip_keeps_values_and_voxel_size(tmp_path):
    pixels = np.linspace(-3.0, 5.0, 6 * 8, dtype=np.float32).reshape(6, 8)
    path = tmp_path / "in.mrc"
    with mrcfile.new(path) as mrc:
        mrc.set_data(pixels)
        mrc.voxel_size = (1.25, 1.5, 2.0)

    image, meta = read_image(path)
    out = write_image(tmp_path / "out.mrc", image, like=meta)

    assert image.shape == (1, 6, 8) and meta.dtype == "float32" and meta.format == "mrc"
    assert meta.voxel_size == (1.25, 1.5, 2.0)
    np.testing.assert_array_equal(image[0], pixels)
    with mrcfile.open(out) as mrc:
        assert mrc.data.dtype == np.float32 and mrc.header.mode == 2
        np.testing.assert_array_equal(mrc.data, pixels)
        assert tuple(mrc.voxel_size.tolist()) == (1.25, 1.5, 2.0)


def test_mrc_int16_keeps_raw_values_and_round_trips(tmp_path):
    pixels = _ramp((4, 6), np.int16)
    path = tmp_path / "in.mrc"
    with mrcfile.new(path) as mrc:
        mrc.set_data(pixels)
        mrc.voxel_size = 3.5

    image, meta = read_image(path)
    out = write_image(tmp_path / "out.mrc", image, like=meta)

    assert meta.dtype == "int16" and meta.scale == 1.0
    np.testing.assert_array_equal(image[0], pixels.astype(np.float32))  # raw, not scaled
    with mrcfile.open(out) as mrc:
        assert mrc.header.mode == 1
        np.testing.assert_array_equal(mrc.data, pixels)
        assert tuple(mrc.voxel_size.tolist()) == (3.5, 3.5, 3.5)


@pytest.mark.parametrize("suffix", [".mrcs", ".st"])
def test_mrcs_stack_round_trips_as_image_stack(tmp_path, suffix):
    pixels = np.arange(3 * 4 * 5, dtype=np.float32).reshape(3, 4, 5)
    path = tmp_path / f"in{suffix}"
    with mrcfile.new(path) as mrc:
        mrc.set_data(pixels)
        mrc.set_image_stack()
        mrc.voxel_size = 0.8

    image, meta = read_image(path)
    out = write_image(tmp_path / f"out{suffix}", image, like=meta)

    assert image.shape == (3, 1, 4, 5) and meta.is_stack
    with mrcfile.open(out) as mrc:
        assert mrc.is_image_stack()
        np.testing.assert_array_equal(mrc.data, pixels)
        assert mrc.voxel_size.x == pytest.approx(0.8)


@pytest.mark.parametrize("dtype", ["int8", "uint16", "float16"])
def test_mrc_other_modes_round_trip(tmp_path, dtype):
    pixels = (np.arange(12) - 6).reshape(3, 4) if dtype != "uint16" else _ramp((3, 4), dtype)
    pixels = pixels.astype(dtype)
    path = tmp_path / "in.mrc"
    with mrcfile.new(path) as mrc:
        mrc.set_data(pixels)

    image, meta = read_image(path)
    out = write_image(tmp_path / "out.mrc", image, like=meta)

    assert meta.dtype == dtype
    with mrcfile.open(out) as mrc:
        assert mrc.data.dtype == dtype
        np.testing.assert_array_equal(mrc.data, pixels)


def test_int32_and_float64_tiff_keep_their_values(tmp_path):
    ints = np.array([[-70000, 0], [5, 2**24]], dtype=np.int32)
    floats = np.array([[-1.5, 0.25], [3.0, 1e10]], dtype=np.float64)
    tifffile.imwrite(tmp_path / "i.tif", ints)
    tifffile.imwrite(tmp_path / "f.tif", floats)

    int_image, int_meta = read_image(tmp_path / "i.tif")
    float_image, float_meta = read_image(tmp_path / "f.tif")

    assert int_meta.dtype == "int32" and int_meta.scale == 1.0
    np.testing.assert_array_equal(int_image[0], ints.astype(np.float32))
    assert float_meta.dtype == "float64" and float_image.dtype == np.float32
    np.testing.assert_array_equal(float_image[0], floats.astype(np.float32))
    out = write_image(tmp_path / "i_out.tif", int_image, like=int_meta)
    np.testing.assert_array_equal(tifffile.imread(out), ints)


# --- alpha -------------------------------------------------------------------------------


def test_rgba_png_warns_naming_file_and_gives_three_channels(tmp_path):
    pixels = _ramp((4, 5, 4), np.uint8)
    path = tmp_path / "rgba.png"
    Image.fromarray(pixels).save(path)

    with pytest.warns(UserWarning, match="rgba.png.*alpha"):
        image, meta = read_image(path)

    assert image.shape == (3, 4, 5) and meta.channels == 3 and meta.had_alpha
    np.testing.assert_array_equal(image, pixels[..., :3].transpose(2, 0, 1) / np.float32(255))


def test_grey_alpha_png_warns_and_gives_one_channel(tmp_path):
    pixels = _ramp((4, 5, 2), np.uint8)
    path = tmp_path / "la.png"
    Image.fromarray(pixels).save(path)  # mode "LA"

    with pytest.warns(UserWarning, match="la.png"):
        image, meta = read_image(path)

    assert image.shape == (1, 4, 5) and meta.had_alpha


# --- bad input ---------------------------------------------------------------------------


def test_read_missing_file_raises_file_not_found_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.png"):
        read_image(tmp_path / "nothing.png")


def test_read_folder_raises_image_error(tmp_path):
    with pytest.raises(ImageError, match="not a file"):
        read_image(tmp_path)


@pytest.mark.parametrize("name", ["bad.png", "bad.jpg", "bad.tif", "bad.mrc", "empty.png"])
def test_read_corrupt_file_raises_image_error_naming_it(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"" if name.startswith("empty") else b"this is not an image" * 3)

    with pytest.raises(ImageError, match=f"{name}.*(unreadable or corrupt)"):
        read_image(path)


def test_read_unsupported_suffix_lists_supported_ones(tmp_path):
    path = tmp_path / "photo.bmp"
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(path)

    with pytest.raises(ImageError, match=r"photo.bmp.*unsupported.*\.png.*\.mrcs"):
        read_image(path)


def test_read_jpeg_content_with_png_suffix_raises(tmp_path):
    path = tmp_path / "liar.png"
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(path, format="JPEG")

    with pytest.raises(ImageError, match="liar.png.*JPEG"):
        read_image(path)


@pytest.mark.parametrize("dtype", [np.complex64, np.bool_, np.int64])
def test_read_unsupported_dtype_raises_naming_file_and_dtype(tmp_path, dtype):
    path = tmp_path / "odd.tif"
    tifffile.imwrite(path, np.zeros((4, 4), dtype), photometric="minisblack")

    with pytest.raises(ImageError, match=f"odd.tif.*unsupported pixel type {np.dtype(dtype).name}"):
        read_image(path)


def test_read_nan_tiff_counts_bad_pixels(tmp_path):
    pixels = np.zeros((4, 4), np.float32)
    pixels[0, 0], pixels[1, 2] = np.nan, np.inf
    tifffile.imwrite(tmp_path / "nan.tif", pixels)

    with pytest.raises(ImageError, match="nan.tif: contains 2 NaN/Inf pixels"):
        read_image(tmp_path / "nan.tif")


def test_read_inf_mrc_raises(tmp_path):
    pixels = np.zeros((4, 4), np.float32)
    pixels[3, 3] = -np.inf
    with pytest.warns(RuntimeWarning), mrcfile.new(tmp_path / "inf.mrc") as mrc:
        mrc.set_data(pixels)  # mrcfile warns about the infinite value

    with pytest.raises(ImageError, match="inf.mrc: contains 1 NaN/Inf"):
        read_image(tmp_path / "inf.mrc")


@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (5, 1)])
def test_read_too_small_png_raises(tmp_path, shape):
    Image.fromarray(np.zeros(shape, np.uint8)).save(tmp_path / "tiny.png")

    with pytest.raises(ImageError, match="tiny.png.*at least 2x2"):
        read_image(tmp_path / "tiny.png")


def test_read_empty_tiff_raises(tmp_path):
    with pytest.warns(UserWarning):  # tifffile warns about writing a zero-size array
        tifffile.imwrite(tmp_path / "empty.tif", np.zeros((0, 4), np.uint8))

    with pytest.raises(ImageError, match="empty.tif"):
        read_image(tmp_path / "empty.tif")


def test_read_tiff_with_two_stack_axes_raises(tmp_path):
    tifffile.imwrite(
        tmp_path / "hyper.tif", np.zeros((2, 3, 8, 8), np.uint8), photometric="minisblack"
    )

    with pytest.raises(ImageError, match=r"hyper.tif: TIFF axes .* not an image"):
        read_image(tmp_path / "hyper.tif")


def test_read_narrow_2d_tiff_is_an_image(tmp_path):
    tifffile.imwrite(tmp_path / "narrow.tif", np.zeros((9, 3), np.uint8))

    image, meta = read_image(tmp_path / "narrow.tif")

    assert image.shape == (1, 9, 3) and not meta.is_stack


def test_read_palette_tiff_raises(tmp_path):
    colormap = np.zeros((3, 256), np.uint16)
    tifffile.imwrite(
        tmp_path / "pal.tif", np.zeros((4, 4), np.uint8), photometric="palette", colormap=colormap
    )

    with pytest.raises(ImageError, match="pal.tif.*photometric 'palette'"):
        read_image(tmp_path / "pal.tif")


def test_image_error_is_a_value_error_and_meta_is_frozen(tmp_path):
    meta = ImageMeta(path=tmp_path, format="png", dtype="uint8", is_stack=False, channels=1)

    assert issubclass(ImageError, ValueError)
    with pytest.raises(dataclasses.FrozenInstanceError):
        meta.dtype = "uint16"


# --- writing -----------------------------------------------------------------------------


def test_write_defaults_to_uint8_png_and_float32_tiff(tmp_path):
    image = np.full((1, 3, 3), 0.5, np.float32)

    png = write_image(tmp_path / "a.png", image)
    tif = write_image(tmp_path / "a.tif", image)

    assert read_image(png)[1].dtype == "uint8"
    assert tifffile.imread(tif).dtype == np.float32


def test_write_dtype_argument_overrides_like(tmp_path):
    image, meta = np.full((1, 3, 3), 0.5, np.float32), None
    path = write_image(tmp_path / "a.tif", image)
    image, meta = read_image(path)

    out = write_image(tmp_path / "b.tif", image, like=meta, dtype="uint16")

    np.testing.assert_array_equal(tifffile.imread(out), np.full((3, 3), 32768, np.uint16))


def test_write_rounds_and_clips_to_integer_range(tmp_path):
    image = np.array([[[-0.2, 0.0, 0.4 / 255, 1.6 / 255], [0.5, 1.0, 1.5, 7.0]]], np.float32)

    out = write_image(tmp_path / "clip.png", image)

    np.testing.assert_array_equal(np.asarray(Image.open(out)), [[0, 0, 0, 2], [128, 255, 255, 255]])


@pytest.mark.parametrize("dtype", ["int16", "float64", "uint32", "UINT8"])
def test_write_rejects_unknown_output_dtype(tmp_path, dtype):
    with pytest.raises(ImageError, match=f"out.tif.*{dtype}.*uint8, uint16, float32"):
        write_image(tmp_path / "out.tif", np.zeros((1, 2, 2), np.float32), dtype=dtype)


@pytest.mark.parametrize("name", ["out.png", "out.jpg"])
def test_write_png_jpeg_cannot_hold_float32(tmp_path, name):
    with pytest.raises(ImageError, match=f"{name}.*cannot hold float32"):
        write_image(tmp_path / name, np.zeros((1, 2, 2), np.float32), dtype="float32")


def test_write_signed_like_to_png_raises(tmp_path):
    meta = ImageMeta(
        path=tmp_path / "a.mrc", format="mrc", dtype="int16", is_stack=False, channels=1
    )

    with pytest.raises(ImageError, match="out.png.*cannot hold int16"):
        write_image(tmp_path / "out.png", np.zeros((1, 2, 2), np.float32), like=meta)


@pytest.mark.parametrize(
    ("name", "shape", "dtype", "message"),
    [
        ("s.png", (2, 1, 4, 4), None, "holds one image"),
        ("c.mrc", (3, 4, 4), None, "single-channel"),
        ("rgb16.png", (3, 4, 4), "uint16", "16-bit PNG must be grey"),
        ("c2.tif", (2, 4, 4), None, "C in"),
        ("flat.tif", (4, 4), None, "float array"),
        ("x.bmp", (1, 4, 4), None, "unsupported file type"),
    ],
)
def test_write_rejects_what_the_format_cannot_hold(tmp_path, name, shape, dtype, message):
    with pytest.raises(ImageError, match=f"{name}.*{message}"):
        write_image(tmp_path / name, np.zeros(shape, np.float32), dtype=dtype)


def test_write_rejects_integer_and_nan_arrays(tmp_path):
    bad = np.zeros((1, 3, 3), np.float32)
    bad[0, 1, 1] = np.nan

    with pytest.raises(ImageError, match="int.tif.*float array"):
        write_image(tmp_path / "int.tif", np.zeros((1, 3, 3), np.uint8))
    with pytest.raises(ImageError, match="nan.tif.*1 NaN/Inf"):
        write_image(tmp_path / "nan.tif", bad)


def test_write_refuses_to_overwrite_without_flag(tmp_path):
    path = write_image(tmp_path / "x.png", np.zeros((1, 4, 4), np.float32))
    before = path.read_bytes()

    with pytest.raises(FileExistsError, match="x.png.*--overwrite"):
        write_image(path, np.ones((1, 4, 4), np.float32))

    assert path.read_bytes() == before
    write_image(path, np.ones((1, 4, 4), np.float32), overwrite=True)
    assert read_image(path)[0].min() == 1.0


def test_write_creates_parent_folders_and_leaves_no_temp_file(tmp_path):
    out = write_image(tmp_path / "a" / "b" / "x.mrcs", np.zeros((2, 1, 3, 3), np.float32))

    assert out == tmp_path / "a" / "b" / "x.mrcs"
    assert [p.name for p in out.parent.iterdir()] == ["x.mrcs"]


def test_write_failure_removes_temp_file_and_keeps_old_file(tmp_path, monkeypatch):
    path = write_image(tmp_path / "x.tif", np.zeros((1, 3, 3), np.float32))
    before = path.read_bytes()
    seen = []

    def half_write(file, data, **kwargs):
        seen.append(Path(file).name)
        Path(file).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(io.tifffile, "imwrite", half_write)

    with pytest.raises(OSError, match="disk full"):
        write_image(path, np.ones((1, 3, 3), np.float32), overwrite=True)

    assert seen[0].startswith(".x.tif.tmp-") and seen[0].endswith(".tif")
    assert [p.name for p in tmp_path.iterdir()] == ["x.tif"]
    assert path.read_bytes() == before


# --- list_images -------------------------------------------------------------------------


def test_list_images_expands_folder_sorted_and_keeps_files(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for name in ["b.png", "a.TIF", "c.mrcs", "notes.txt", ".hidden.png", "d.jpeg"]:
        (folder / name).write_bytes(b"")
    (folder / "sub.png").mkdir()
    single = tmp_path / "z.st"
    single.write_bytes(b"")

    found = list_images([single, str(folder)])

    assert found == [single] + [folder / n for n in ["a.TIF", "b.png", "c.mrcs", "d.jpeg"]]


def test_list_images_empty_folder_raises_naming_it(tmp_path):
    folder = tmp_path / "nothing_here"
    folder.mkdir()
    (folder / "readme.txt").write_text("no images")

    with pytest.raises(ValueError, match="nothing_here.*no images"):
        list_images([folder])


def test_list_images_missing_path_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="ghost"):
        list_images([tmp_path / "ghost"])


def test_image_suffixes_match_the_readers():
    assert set(IMAGE_SUFFIXES) == {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".mrc", ".mrcs", ".st"}


# --- preview -----------------------------------------------------------------------------


@pytest.mark.parametrize(("channels", "shape"), [(1, (2, 3)), (3, (2, 3, 3))])
def test_to_uint8_preview_shapes_and_clips(channels, shape):
    image = np.full((channels, 2, 3), 1.7, np.float32)
    image[:, 0, 0] = -1.0

    preview = to_uint8_preview(image)

    assert preview.shape == shape and preview.dtype == np.uint8
    assert preview.min() == 0 and preview.max() == 255


def test_to_uint8_preview_rejects_batches():
    with pytest.raises(ValueError, match=r"\(2, 1, 4, 4\)"):
        to_uint8_preview(np.zeros((2, 1, 4, 4), np.float32))


# --- real data ---------------------------------------------------------------------------


@pytest.mark.data
def test_read_set12_grey_png(data_path):
    image, meta = read_image(data_path("Set12", "01.png"))

    assert image.shape == (1, 256, 256) and image.dtype == np.float32
    assert meta.dtype == "uint8" and meta.channels == 1 and not meta.had_alpha
    assert 0.0 <= image.min() < image.max() <= 1.0
