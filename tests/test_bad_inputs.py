"""The bad-input matrix of ``noise2x denoise``: one clear line per bad file, the good ones written.

Each case writes one bad input beside a good one and runs ``noise2x denoise`` on both. The
bad file gets exactly one ``error:`` line that names it (and the summary repeats it), the
exit code is 1, no traceback is printed, and the good input's output is written. The count of
cases is the README's reliability figure.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import mrcfile
import numpy as np
import pytest
import tifffile
from conftest import absurd_tiff
from PIL import Image
from typer.testing import CliRunner

from noise2x.cli import app
from noise2x.data.io import write_image

FAST = ["method.ensemble=1", "--device", "cpu"]


def _png_bytes(width: int, height: int, depth: int = 8, colour: int = 0) -> bytes:
    """A PNG header claiming width x height pixels, with a tiny (wrong) data chunk."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 8))
        + chunk(b"IEND", b"")
    )


def _good_png(folder: Path) -> Path:
    return write_image(
        folder / "good.png", np.random.default_rng(0).random((1, 40, 40)).astype(np.float32)
    )


def _truncated(path: Path, keep: float = 0.5) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def _mrc(path: Path, data: np.ndarray) -> Path:
    with mrcfile.new(path, overwrite=True) as mrc:
        mrc.set_data(data)
    return path


def _absurd_mrc(path: Path) -> Path:
    _mrc(path, np.zeros((4, 4), np.float32))
    data = bytearray(path.read_bytes())
    data[0:12] = struct.pack("<iii", 200000, 200000, 1)  # nx, ny, nz
    path.write_bytes(bytes(data))
    return path


# name -> (file name, function writing the bad file into a folder, expected text)
CASES = {
    "missing": ("gone.png", lambda p: p, "no such file"),
    "empty png": ("empty.png", lambda p: p.write_bytes(b"") or p, "cannot read it as PNG"),
    "truncated png": (
        "cut.png",
        lambda p: _truncated(
            write_image(p, np.random.default_rng(1).random((1, 64, 64)).astype(np.float32)), 0.4
        ),
        "cannot read",
    ),
    "truncated tiff": (
        "cut.tif",
        lambda p: _truncated(tifffile.imwrite(p, np.ones((64, 64), np.uint16)) or p, 0.3),
        "cut.tif",
    ),
    "truncated jpeg": (
        "cut.jpg",
        lambda p: _truncated(Image.fromarray(np.zeros((64, 64), np.uint8)).save(p) or p, 0.3),
        "cut.jpg",
    ),
    "wrong extension": ("notes.txt", lambda p: p.write_text("hello") or p, "unsupported file type"),
    "png bytes named .tif": (
        "fake.tif",
        lambda p: p.write_bytes(_png_bytes(8, 8)) or p,
        "fake.tif",
    ),
    "random bytes": (
        "noise.png",
        lambda p: p.write_bytes(np.random.default_rng(2).bytes(500)) or p,
        "cannot read it as PNG",
    ),
    "5-D tiff": (
        "fived.tif",
        lambda p: (
            tifffile.imwrite(p, np.zeros((2, 2, 2, 8, 8), np.uint8), photometric="minisblack") or p
        ),
        "not an image",
    ),
    "1x1 png": (
        "dot.png",
        lambda p: Image.fromarray(np.zeros((1, 1), np.uint8)).save(p) or p,
        "need at least 2x2",
    ),
    "2x1 png": (
        "line.png",
        lambda p: Image.fromarray(np.zeros((1, 2), np.uint8)).save(p) or p,
        "need at least 2x2",
    ),
    "decompression bomb": (
        "bomb.png",
        lambda p: p.write_bytes(_png_bytes(40000, 40000)) or p,
        "bomb.png",
    ),
    "absurd mrc header": ("absurd.mrc", _absurd_mrc, "absurd.mrc"),
    "absurd tiff header": ("absurd.tif", None, "the header says"),
    "complex tiff": (
        "complex.tif",
        lambda p: tifffile.imwrite(p, np.zeros((8, 8), np.complex64)) or p,
        "unsupported pixel type",
    ),
    "bool tiff": (
        "bool.tif",
        lambda p: tifffile.imwrite(p, np.zeros((8, 8), bool)) or p,
        "bool.tif",
    ),
    "int64 tiff": (
        "wide.tif",
        lambda p: tifffile.imwrite(p, np.zeros((8, 8), np.int64)) or p,
        "unsupported pixel type",
    ),
    "nan tiff": (
        "nan.tif",
        lambda p: tifffile.imwrite(p, np.full((8, 8), np.nan, np.float32)) or p,
        "NaN/Inf",
    ),
    "inf frame in a stack": (
        "inf.tif",
        lambda p: (
            tifffile.imwrite(
                p, np.stack([np.zeros((8, 8)), np.full((8, 8), np.inf)]).astype(np.float32)
            )
            or p
        ),
        "NaN/Inf",
    ),
    "5-channel tiff": (
        "fivech.tif",
        lambda p: (
            tifffile.imwrite(
                p, np.zeros((8, 8, 5), np.uint8), photometric="minisblack", planarconfig="contig"
            )
            or p
        ),
        "fivech.tif",
    ),
    "palette tiff": (
        "palette.tif",
        lambda p: (
            tifffile.imwrite(
                p,
                np.zeros((8, 8), np.uint8),
                photometric="palette",
                colormap=np.zeros((3, 256), np.uint16),
            )
            or p
        ),
        "photometric",
    ),
    "16-bit colour png": (
        "deep.png",
        lambda p: p.write_bytes(_png_bytes(8, 8, depth=16, colour=2)) or p,
        "16-bit colour",
    ),
    "multi-series tiff": ("series.tif", lambda p: _two_series(p), "image series"),
    "empty mrc": ("empty.mrc", lambda p: _mrc(p, np.zeros((0, 8, 8), np.float32)), "empty.mrc"),
    "1x1 mrc": ("dot.mrc", lambda p: _mrc(p, np.zeros((1, 1), np.float32)), "need at least 2x2"),
    "folder named like an image": ("dir.png", lambda p: p.mkdir() or p, "dir.png"),
    "empty folder": ("nothing", lambda p: p.mkdir() or p, "nothing"),
    "folder without images": (
        "docs",
        lambda p: (p.mkdir(), (p / "a.txt").write_text("x"))[0] or p,
        "docs",
    ),
    "mrc with a bad mode": ("mode.mrc", lambda p: _bad_mode(p), "mode.mrc"),
}


def _two_series(path: Path) -> Path:
    with tifffile.TiffWriter(path) as tif:
        tif.write(np.zeros((8, 8), np.uint8))
        tif.write(np.zeros((16, 16), np.uint8))
    return path


def _bad_mode(path: Path) -> Path:
    _mrc(path, np.zeros((8, 8), np.float32))
    data = bytearray(path.read_bytes())
    data[12:16] = struct.pack("<i", 42)  # MODE 42 does not exist
    path.write_bytes(bytes(data))
    return path


def test_the_matrix_has_at_least_thirty_cases():
    assert len(CASES) + len(USAGE_CASES) >= 30


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_input_gets_one_line_naming_it_and_the_good_one_is_written(tmp_path, case):
    name, make, expected = CASES[case]
    folder = tmp_path / "in"
    folder.mkdir()
    good = _good_png(folder)
    bad = folder / name
    if make is None:
        absurd_tiff(bad)
    else:
        make(bad)
    result = CliRunner().invoke(
        app, ["denoise", str(good), str(bad), "-o", str(tmp_path / "out"), *FAST]
    )
    output = result.output
    assert result.exit_code == 1, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    assert name in errors[0] and expected in output, output
    assert "Traceback" not in output and "Warning" not in output, output
    assert (tmp_path / "out" / "good.png").is_file()


# Cases refused before any file is read: exit 2, one line.
USAGE_CASES = {
    "output is a file": (
        lambda tmp: [(tmp / "file.txt").write_text("x")][:0],
        lambda tmp: tmp / "file.txt",
        "is a file",
    ),
    "output is the input folder": (
        lambda tmp: [],
        lambda tmp: tmp / "in",
        "would replace the input itself",
    ),
    "unknown method": (lambda tmp: ["--method", "zsn"], lambda tmp: tmp / "out", "zsn2n"),
    "unknown setting": (lambda tmp: ["method.stesp=3"], lambda tmp: tmp / "out", "did you mean"),
    "bad output dtype": (
        lambda tmp: ["--output-dtype", "int8"],
        lambda tmp: tmp / "out",
        "--output-dtype must be one of",
    ),
}


@pytest.mark.parametrize("case", sorted(USAGE_CASES))
def test_a_bad_option_is_one_usage_line_before_any_file(tmp_path, case):
    extra, output, expected = USAGE_CASES[case]
    good = _good_png(tmp_path / "in")
    args = extra(tmp_path)
    result = CliRunner().invoke(app, ["denoise", str(good), *args, "-o", str(output(tmp_path))])
    assert result.exit_code == 2, result.output
    assert expected in result.output and result.output.count("error:") == 1, result.output
    assert "Traceback" not in result.output


def test_an_existing_output_and_the_same_name_twice_are_one_line_each(tmp_path):
    good = _good_png(tmp_path / "in")
    other = _good_png(tmp_path / "other")
    out = tmp_path / "out"
    out.mkdir()
    (out / "good.png").write_bytes(good.read_bytes())
    existing = CliRunner().invoke(app, ["denoise", str(good), "-o", str(out), *FAST])
    twice = CliRunner().invoke(
        app, ["denoise", str(good), str(other), "-o", str(tmp_path / "new"), *FAST]
    )
    for result, text in ((existing, "exists"), (twice, "same output name")):
        assert result.exit_code == 1
        errors = [line for line in result.output.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and text in errors[0], result.output
    assert (tmp_path / "new" / "good.png").is_file()  # the first of the two is written
