import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from noise2x.metrics import METRICS, ssim, ssim_np

WANG = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False}


def _pair(shape, seed=0, std=0.1):
    rng = np.random.default_rng(seed)
    clean = rng.random(shape)
    smooth = (clean + np.roll(clean, 1, axis=-1) + np.roll(clean, 1, axis=-2)) / 3
    return smooth + std * rng.standard_normal(shape), smooth


def test_ssim_np_agrees_with_skimage_wang_settings_grey():
    noisy, clean = _pair((24, 30))
    expected = structural_similarity(noisy, clean, data_range=1.0, **WANG)
    assert ssim_np(noisy, clean, 1.0) == pytest.approx(expected, abs=1e-10)
    assert ssim_np(noisy[None], clean[None], 1.0) == pytest.approx(expected, abs=1e-10)


def test_ssim_np_agrees_with_skimage_wang_settings_colour():
    noisy, clean = _pair((3, 24, 30), seed=1)
    hwc = {"channel_axis": -1, "data_range": 1.0, **WANG}
    expected = structural_similarity(noisy.transpose(1, 2, 0), clean.transpose(1, 2, 0), **hwc)
    assert ssim_np(noisy, clean, 1.0) == pytest.approx(expected, abs=1e-10)
    hwc_value = ssim_np(noisy.transpose(1, 2, 0), clean.transpose(1, 2, 0), 1.0, channel_axis=-1)
    assert hwc_value == pytest.approx(expected, abs=1e-10)


def test_ssim_np_uses_data_range():
    noisy, clean = _pair((16, 16), seed=2)
    expected = structural_similarity(noisy * 255, clean * 255, data_range=255.0, **WANG)
    assert ssim_np(noisy * 255, clean * 255, 255.0) == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("channels", [1, 3])
def test_ssim_tensor_agrees_with_skimage_per_image(channels):
    noisy, clean = _pair((2, channels, 16, 20), seed=3)
    out = ssim(torch.from_numpy(noisy).float(), torch.from_numpy(clean).float())
    axis = {"channel_axis": 0} if channels > 1 else {}
    expected = [
        structural_similarity(
            n.astype(np.float32).astype(np.float64).squeeze(),
            c.astype(np.float32).astype(np.float64).squeeze(),
            data_range=1.0,
            **axis,
            **WANG,
        )
        for n, c in zip(noisy, clean, strict=True)
    ]
    assert out.shape == (2,)
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-6)
    assert METRICS.get("ssim") is ssim


def test_ssim_of_identical_images_is_one():
    clean = torch.rand(2, 3, 12, 12, generator=torch.Generator().manual_seed(0))
    assert ssim(clean, clean).tolist() == pytest.approx([1.0, 1.0], abs=1e-12)
    assert ssim_np(clean[0].numpy(), clean[0].numpy(), 1.0) == pytest.approx(1.0, abs=1e-12)


def test_ssim_rejects_different_shapes_quoting_both():
    with pytest.raises(ValueError, match=r"\(1, 1, 16, 16\) and \(1, 3, 16, 16\)"):
        ssim(torch.zeros(1, 1, 16, 16), torch.zeros(1, 3, 16, 16))
    with pytest.raises(ValueError, match=r"\(16, 16\) and \(16, 17\)"):
        ssim_np(np.zeros((16, 16)), np.zeros((16, 17)), 1.0)


def test_ssim_rejects_images_smaller_than_the_window_quoting_the_shape():
    with pytest.raises(ValueError, match=r"11x11.*\(1, 1, 10, 16\)"):
        ssim(torch.zeros(1, 1, 10, 16), torch.zeros(1, 1, 10, 16))
    with pytest.raises(ValueError, match=r"\(3, 16, 6\)"):
        ssim_np(np.zeros((3, 16, 6)), np.zeros((3, 16, 6)), 1.0)
    assert ssim_np(np.zeros((11, 11)), np.zeros((11, 11)), 1.0) == pytest.approx(1.0)


def test_ssim_rejects_wrong_ranks_and_bad_data_range():
    with pytest.raises(ValueError, match=r"\(1, 16, 16\)"):
        ssim(torch.zeros(1, 16, 16), torch.zeros(1, 16, 16))
    with pytest.raises(ValueError, match=r"\(2, 1, 16, 16\)"):
        ssim_np(np.zeros((2, 1, 16, 16)), np.zeros((2, 1, 16, 16)), 1.0)
    with pytest.raises(ValueError, match="data_range"):
        ssim_np(np.zeros((16, 16)), np.zeros((16, 16)), 0.0)
