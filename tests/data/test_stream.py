import tracemalloc

import mrcfile
import numpy as np
import pytest
import tifffile
from conftest import absurd_tiff
from PIL import Image

from noise2x.data.io import ImageError, read_image, write_image
from noise2x.data.stream import StackReader, StackWriter

VOXEL = (1.5, 1.5, 2.25)


def _pixels(shape, dtype, seed=0):
    """Random pixels covering most of the dtype's range (floats: around [0, 1])."""
    rng = np.random.default_rng(seed)
    if np.issubdtype(np.dtype(dtype), np.floating):
        return rng.normal(0.5, 0.3, shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype)


def _write_source(path, pixels):
    """A file written by the format's own library, not by noise2x."""
    if path.suffix in (".mrc", ".mrcs"):
        with mrcfile.new(path) as mrc:
            mrc.set_data(pixels)
            if path.suffix == ".mrcs":
                mrc.set_image_stack()
            mrc.voxel_size = VOXEL
    elif path.suffix == ".png":
        Image.fromarray(pixels).save(path)
    else:
        rgb = pixels.shape[-1] == 3
        tifffile.imwrite(path, pixels, photometric="rgb" if rgb else "minisblack")
    return path


def _read_all(path):
    with StackReader(path) as reader:
        return reader.meta, reader.n_frames, reader.frame_shape, list(reader)


def _copy(src, dst, **kwargs):
    """Stream src to dst frame by frame: the use this module is for."""
    with StackReader(src) as reader:
        with StackWriter(dst, reader.meta, reader.n_frames, reader.frame_shape, **kwargs) as w:
            for frame in reader:
                w.write(frame)
    return dst


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


CASES = {
    "tiff-uint8": ("in.tif", (3, 6, 7), "uint8"),
    "tiff-uint16": ("in.tif", (3, 6, 7), "uint16"),
    "tiff-float32": ("in.tif", (3, 6, 7), "float32"),
    "tiff-rgb-uint8": ("in.tif", (3, 6, 7, 3), "uint8"),
    "mrc-float32": ("in.mrc", (3, 6, 7), "float32"),
    "mrcs-int16": ("in.mrcs", (3, 6, 7), "int16"),
}
SINGLE_CASES = {
    "tiff-uint16": ("in.tif", (6, 7), "uint16"),
    "tiff-rgb-uint8": ("in.tif", (6, 7, 3), "uint8"),
    "mrc-float32": ("in.mrc", (6, 7), "float32"),
    "png-uint8": ("in.png", (6, 7), "uint8"),
    "png-rgb-uint8": ("in.png", (6, 7, 3), "uint8"),
}


# --- reading -----------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_stack_reader_frames_equal_read_image(tmp_path, case):
    name, shape, dtype = CASES[case]
    src = _write_source(tmp_path / name, _pixels(shape, dtype))
    expected, expected_meta = read_image(src)

    meta, n, frame_shape, frames = _read_all(src)

    assert meta == expected_meta
    assert (n, frame_shape) == (3, expected.shape[1:])
    for i, frame in enumerate(frames):
        assert frame.dtype == np.float32
        np.testing.assert_array_equal(frame, expected[i])


@pytest.mark.parametrize("case", SINGLE_CASES, ids=list(SINGLE_CASES))
def test_stack_reader_single_image_is_one_frame(tmp_path, case):
    name, shape, dtype = SINGLE_CASES[case]
    src = _write_source(tmp_path / name, _pixels(shape, dtype))
    expected, expected_meta = read_image(src)

    meta, n, frame_shape, frames = _read_all(src)

    assert (meta, n, frame_shape, len(frames)) == (expected_meta, 1, expected.shape, 1)
    np.testing.assert_array_equal(frames[0], expected)


@pytest.mark.parametrize("layout", ["imagej-one-ifd", "frames-last"])
def test_stack_reader_memory_maps_a_stack_stored_in_one_page(tmp_path, layout):
    src, pixels = tmp_path / "in.tif", _pixels((4, 6, 7), "uint16")
    if layout == "imagej-one-ifd":  # ImageJ's layout over 4 GB: one IFD, then all frames
        tifffile.imwrite(src, pixels, imagej=True, truncate=True)
    else:  # one page of (H, W, N) samples, axes YXQ
        tifffile.imwrite(
            src, pixels.transpose(1, 2, 0), photometric="minisblack", metadata={"axes": "YXQ"}
        )
    expected, expected_meta = read_image(src)

    meta, n, _, frames = _read_all(src)

    assert (meta, n) == (expected_meta, 4)
    np.testing.assert_array_equal(np.stack(frames), expected)
    np.testing.assert_array_equal(expected[:, 0], pixels / np.float32(65535))


def test_stack_reader_reads_an_unmappable_volume_whole_with_a_warning(tmp_path):
    src = tmp_path / "volume.tif"
    pixels = _pixels((4, 16, 16), "uint16")
    tifffile.imwrite(
        src, pixels, photometric="minisblack", volumetric=True, tile=(16, 16), compression="zlib"
    )
    expected, _ = read_image(src)

    with pytest.warns(UserWarning, match="reading all 4 frames into memory") as record:
        with StackReader(src) as reader:
            frames = list(reader)

    assert record[0].filename == __file__  # points at the caller
    assert reader.n_frames == 4
    np.testing.assert_array_equal(np.stack(frames), expected)


def test_stack_reader_names_the_frame_with_nan(tmp_path):
    pixels = _pixels((3, 6, 7), "float32")
    pixels[2, 1, 1] = np.nan
    src = _write_source(tmp_path / "nan.tif", pixels)

    with StackReader(src) as reader:
        reader.read_frame(1)
        with pytest.raises(ImageError, match=r"nan\.tif: frame 2 of 3 contains 1 NaN/Inf"):
            reader.read_frame(2)


def test_stack_reader_refuses_what_read_image_refuses(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.tif"):
        StackReader(tmp_path / "missing.tif")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ImageError, match="unsupported file type"):
        StackReader(tmp_path / "notes.txt")
    (tmp_path / "broken.tif").write_bytes(b"not a tiff at all")
    with pytest.raises(ImageError, match="broken.tif: cannot read it as TIFF"):
        StackReader(tmp_path / "broken.tif")
    tifffile.imwrite(tmp_path / "2x2x2.tif", np.zeros((2, 2, 2, 2), np.uint8))
    with pytest.raises(ImageError, match="not an image"):
        StackReader(tmp_path / "2x2x2.tif")


def test_stack_reader_index_and_close(tmp_path):
    src = _write_source(tmp_path / "in.mrcs", _pixels((3, 6, 7), "float32"))
    reader = StackReader(src)

    with pytest.raises(IndexError, match="frame 3 out of range"):
        reader.read_frame(3)
    reader.close()
    reader.close()
    with pytest.raises(ValueError, match="closed"):
        reader.read_frame(0)


# --- writing -----------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_stack_writer_round_trip_equals_original(tmp_path, case):
    name, shape, dtype = CASES[case]
    src = _write_source(tmp_path / name, _pixels(shape, dtype))
    expected, meta = read_image(src)

    back, back_meta = read_image(_copy(src, tmp_path / f"out{src.suffix}"))

    np.testing.assert_array_equal(back, expected)
    assert (back_meta.dtype, back_meta.voxel_size, back_meta.is_stack) == (
        meta.dtype,
        meta.voxel_size,
        True,
    )
    assert _files(tmp_path) == sorted([name, f"out{src.suffix}"])  # no temporary file left


@pytest.mark.parametrize("case", SINGLE_CASES, ids=list(SINGLE_CASES))
def test_stack_writer_single_frame_round_trip(tmp_path, case):
    name, shape, dtype = SINGLE_CASES[case]
    src = _write_source(tmp_path / name, _pixels(shape, dtype))
    expected, meta = read_image(src)

    back, back_meta = read_image(_copy(src, tmp_path / f"out{src.suffix}"))

    np.testing.assert_array_equal(back, expected)
    assert (back_meta.dtype, back_meta.is_stack) == (meta.dtype, False)


@pytest.mark.parametrize(
    ("name", "shape", "dtype"),
    [
        ("out.tif", (3, 1, 6, 7), None),
        ("out.tif", (3, 3, 6, 7), "uint8"),
        ("out.tif", (3, 1, 6, 7), "uint16"),
        ("out.mrc", (3, 1, 6, 7), None),
        ("out.mrcs", (3, 1, 6, 7), "uint16"),
    ],
)
def test_stack_writer_file_matches_write_image(tmp_path, name, shape, dtype):
    stack = _pixels(shape, "float32")
    src = _write_source(tmp_path / "in.mrcs", _pixels((3, 6, 7), "float32"))  # gives a voxel size
    _, like = read_image(src)
    ref = write_image(tmp_path / "ref" / name, stack, like=like, dtype=dtype)

    with StackWriter(tmp_path / name, like, 3, shape[1:], dtype=dtype) as writer:
        for frame in stack:
            writer.write(frame)

    if name.endswith(".tif"):
        with tifffile.TiffFile(ref) as a, tifffile.TiffFile(writer.path) as b:
            sa, sb = a.series[0], b.series[0]
            assert (sb.axes, sb.shape, sb.dtype, len(b.pages), b.is_bigtiff) == (
                sa.axes,
                sa.shape,
                sa.dtype,
                len(a.pages),
                a.is_bigtiff,
            )
            assert b.pages[0].photometric == a.pages[0].photometric
            np.testing.assert_array_equal(sb.asarray(), sa.asarray())
    else:
        with mrcfile.open(ref) as a, mrcfile.open(writer.path) as b:
            np.testing.assert_array_equal(b.data, a.data)
            assert b.data.dtype == a.data.dtype
            for key in a.header.dtype.names:
                if key in ("dmean", "rms"):  # accumulated frame by frame: last digit may differ
                    np.testing.assert_allclose(b.header[key], a.header[key], rtol=1e-5)
                else:
                    np.testing.assert_array_equal(b.header[key], a.header[key], err_msg=key)


@pytest.mark.parametrize("existing", [False, True])
def test_stack_writer_leaves_nothing_on_an_error_midway(tmp_path, existing):
    out = tmp_path / "out.tif"
    if existing:
        out.write_bytes(b"old")

    with pytest.raises(RuntimeError, match="denoiser crashed"):
        with StackWriter(out, None, 3, (1, 6, 7), overwrite=True) as writer:
            writer.write(np.zeros((1, 6, 7), np.float32))
            assert len(_files(tmp_path)) == 1 + existing  # the hidden temporary file
            raise RuntimeError("denoiser crashed")

    assert _files(tmp_path) == (["out.tif"] if existing else [])
    if existing:
        assert out.read_bytes() == b"old"


@pytest.mark.parametrize("name", ["out.tif", "out.mrcs", "out.png"])
def test_stack_writer_refuses_an_existing_output_before_any_work(tmp_path, name):
    out = tmp_path / name
    out.write_bytes(b"old")

    with pytest.raises(
        FileExistsError, match=f"{name}: already exists; not replaced without --overwrite"
    ):
        StackWriter(out, None, 1 if name.endswith(".png") else 3, (1, 6, 7))

    assert _files(tmp_path) == [name]
    assert out.read_bytes() == b"old"


@pytest.mark.parametrize("name", ["out.tif", "out.mrc", "out.png"])
def test_stack_writer_fewer_frames_than_declared_is_an_error(tmp_path, name):
    n = 1 if name.endswith(".png") else 3

    with pytest.raises(ImageError, match=f"{n - 1} of the {n} declared frames were written"):
        with StackWriter(tmp_path / name, None, n, (1, 6, 7)) as writer:
            for _ in range(n - 1):
                writer.write(np.zeros((1, 6, 7), np.float32))

    assert _files(tmp_path) == []


def test_stack_writer_refuses_bad_frames_and_requests(tmp_path):
    frame = np.zeros((1, 6, 7), np.float32)
    with pytest.raises(ImageError, match="got one more"):
        with StackWriter(tmp_path / "a.tif", None, 2, (1, 6, 7)) as writer:
            for _ in range(3):
                writer.write(frame)
    with pytest.raises(ImageError, match=r"frame 1 to write contains 12 NaN/Inf"):
        with StackWriter(tmp_path / "b.mrc", None, 2, (1, 6, 7)) as writer:
            writer.write(frame)
            writer.write(np.where(np.arange(7) < 2, np.inf, frame).astype(np.float32))
    with pytest.raises(ImageError, match=r"frame 0 must be a float array of shape \(1, 6, 7\)"):
        with StackWriter(tmp_path / "c.tif", None, 2, (1, 6, 7)) as writer:
            writer.write(np.zeros((1, 7, 6), np.float32))
    with pytest.raises(ImageError, match="PNG holds one image"):
        StackWriter(tmp_path / "d.png", None, 2, (1, 6, 7))
    with pytest.raises(ImageError, match="MRC holds single-channel images"):
        StackWriter(tmp_path / "e.mrcs", None, 2, (3, 6, 7))
    with pytest.raises(ImageError, match="n_frames must be a positive integer"):
        StackWriter(tmp_path / "f.tif", None, 0, (1, 6, 7))
    with pytest.raises(RuntimeError, match="inside `with StackWriter"):
        StackWriter(tmp_path / "g.tif", None, 2, (1, 6, 7)).write(frame)
    assert _files(tmp_path) == []


# --- memory ------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".tif", ".mrcs"])
def test_streaming_a_stack_keeps_memory_far_below_its_size(tmp_path, suffix):
    stack = _pixels((40, 1, 512, 512), "float32")
    stack_bytes = stack.nbytes  # 41.9 MB
    src = write_image(tmp_path / f"in{suffix}", stack)
    del stack

    tracemalloc.start()
    try:
        _copy(src, tmp_path / f"out{suffix}")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    # measured (numpy 2.4, tifffile 2026.3, mrcfile 1.5): 2.4 MB (TIFF), 4.2 MB (MRC)
    assert peak < {".tif": 5e6, ".mrcs": 8e6}[suffix] < stack_bytes / 4
    np.testing.assert_array_equal(read_image(tmp_path / f"out{suffix}")[0], read_image(src)[0])


def test_an_absurd_tiff_header_is_one_error_line_without_tifffile_logs(tmp_path, caplog):
    """Issue 14: tifffile's logger lines, then "Unable to allocate 37.3 GiB"."""
    from noise2x.data.io import read_image

    path = absurd_tiff(tmp_path / "absurd.tif")
    for open_it in (read_image, lambda p: StackReader(p).read_frame(0)):
        with pytest.raises(ImageError, match="absurd.tif: the header says .* GiB.*damaged"):
            open_it(path)
    assert not [r for r in caplog.records if r.name.startswith("tifffile")]
