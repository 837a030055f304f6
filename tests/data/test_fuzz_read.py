"""Hypothesis fuzzing of read_image: random bytes, truncated files, changed header bytes.

Whatever the bytes, read_image either returns an image or raises ImageError naming the file
(its documented error); never another exception, never a hang on a huge allocation.
"""

from __future__ import annotations

import io as stdio

import mrcfile
import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from noise2x.data.io import ImageError, read_image

FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _valid(fmt: str) -> bytes:
    pixels = (np.random.default_rng(0).random((12, 10)) * 255).astype(np.uint8)
    buffer = stdio.BytesIO()
    if fmt == "png":
        Image.fromarray(pixels).save(buffer, format="PNG")
    elif fmt == "tif":
        tifffile.imwrite(buffer, np.stack([pixels, pixels]))
    else:
        return b""
    return buffer.getvalue()


def _valid_mrc(tmp_path) -> bytes:
    path = tmp_path / "valid.mrc"
    with mrcfile.new(path, overwrite=True) as mrc:
        mrc.set_data(np.random.default_rng(0).random((2, 12, 10)).astype(np.float32))
    return path.read_bytes()


def _check(path):
    try:
        image, _ = read_image(path)
    except ImageError as err:
        assert str(err).startswith(str(path)), err
        return
    assert image.ndim in (3, 4) and np.isfinite(image).all()


@pytest.mark.parametrize("suffix", [".png", ".tif", ".mrc", ".jpg"])
@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes_give_an_image_or_an_image_error(tmp_path, suffix, data):
    path = tmp_path / f"random{suffix}"
    path.write_bytes(data)
    _check(path)


@pytest.mark.parametrize("fmt", ["png", "tif", "mrc"])
@FUZZ
@given(
    cut=st.floats(0.0, 0.99),
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6),
)
def test_truncated_or_altered_valid_files_give_an_image_or_an_image_error(
    tmp_path, fmt, cut, flips
):
    data = bytearray(_valid_mrc(tmp_path) if fmt == "mrc" else _valid(fmt))
    for position, value in flips:  # header fields changed (most flips land in the header)
        data[position % min(len(data), 1100)] = value
    data = data[: max(1, int(len(data) * (1 - cut)))] if cut > 0.5 else data
    path = tmp_path / f"fuzzed.{fmt}"
    path.write_bytes(bytes(data))
    _check(path)
