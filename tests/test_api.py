import numpy as np
import pytest

import noise2x
from noise2x import api


def _noisy(shape, seed=0):
    rng = np.random.default_rng(seed)
    return (0.5 + 0.1 * rng.standard_normal(shape)).astype(np.float32)


def test_list_methods_includes_zsn2n():
    assert "zsn2n" in noise2x.list_methods()


@pytest.mark.parametrize(
    ("shape", "axis"), [((12, 10), 0), ((1, 12, 10), 0), ((3, 12, 10), 0), ((12, 10, 3), -1)]
)
def test_denoise_keeps_shape_and_dtype(shape, axis):
    out = noise2x.denoise(_noisy(shape), steps=2, channel_axis=axis, device="cpu")
    assert out.shape == shape and out.dtype == np.float32


def test_denoise_denoises_a_stack_frame_by_frame():
    stack = _noisy((3, 1, 8, 8))
    out = noise2x.denoise(stack, steps=2)
    assert out.shape == stack.shape


def test_denoise_restores_integer_dtype_and_range():
    rng = np.random.default_rng(0)
    image = rng.integers(1000, 3000, size=(16, 16), dtype=np.uint16)
    out = noise2x.denoise(image, steps=60)
    assert out.dtype == np.uint16
    assert 500 < out.mean() < 3500


def test_denoise_maps_any_float_range_back():
    image = (_noisy((16, 16)) - 0.5) * 2000.0 - 300.0  # like MRC densities
    out = noise2x.denoise(image, steps=60)
    assert out.dtype == np.float32
    assert image.min() - 1 <= out.min() and out.max() <= image.max() + 1
    assert abs(out.mean() - image.mean()) < 0.1 * image.std()


@pytest.mark.parametrize(
    ("array", "match"),
    [
        (np.zeros((1, 1), np.float32), "2x2"),
        (np.zeros((0, 5), np.float32), "2x2"),
        (np.full((4, 4), np.nan, np.float32), "NaN"),
        (np.zeros((2, 2, 4, 4, 1), np.float32), "shape"),
        (np.zeros((5, 4, 4), np.float32), "channels"),
        (np.zeros((4, 4), bool), "dtype"),
    ],
)
def test_denoise_rejects_bad_arrays(array, match):
    with pytest.raises(ValueError, match=match):
        noise2x.denoise(array, steps=1)


def test_unknown_method_lists_known_ones():
    with pytest.raises(KeyError, match="zsn2n"):
        api.build_method("zsn2m")
