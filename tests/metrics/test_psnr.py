import math

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio

from noise2x.metrics import METRICS, psnr, psnr_np


def _pair(shape, seed=0, std=0.1):
    rng = np.random.default_rng(seed)
    clean = rng.random(shape).astype(np.float32)
    noisy = (clean + std * rng.standard_normal(shape)).astype(np.float32)
    return noisy, clean


@pytest.mark.parametrize("shape", [(1, 16, 16), (3, 17, 23), (32, 32)])
def test_psnr_np_agrees_with_skimage(shape):
    noisy, clean = _pair(shape)
    expected = peak_signal_noise_ratio(clean, noisy, data_range=1.0)
    assert psnr_np(noisy, clean, 1.0) == pytest.approx(expected, abs=1e-4)


def test_psnr_np_agrees_with_skimage_on_uint8_scale():
    noisy, clean = _pair((1, 20, 20), seed=1)
    noisy, clean = noisy * 255, clean * 255
    expected = peak_signal_noise_ratio(clean, noisy, data_range=255.0)
    assert psnr_np(noisy, clean, 255.0) == pytest.approx(expected, abs=1e-4)


def test_psnr_tensor_agrees_with_skimage_per_image():
    noisy, clean = _pair((3, 2, 16, 16), seed=2)
    out = psnr(torch.from_numpy(noisy), torch.from_numpy(clean))
    expected = [
        peak_signal_noise_ratio(c, n, data_range=1.0) for n, c in zip(noisy, clean, strict=True)
    ]
    assert out.shape == (3,)
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-4)


def test_psnr_of_identical_images_is_inf():
    clean = torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    assert torch.isinf(psnr(clean, clean)).all()
    assert psnr_np(clean.numpy(), clean.numpy(), 1.0) == math.inf


def test_psnr_of_constant_offset_is_known():
    # MSE = 0.1^2 = 0.01 -> 10 log10(1 / 0.01) = 20 dB; on the 0-255 scale the same.
    clean = torch.full((1, 3, 8, 8), 0.5, dtype=torch.float64)
    assert psnr(clean + 0.1, clean).item() == pytest.approx(20.0, abs=1e-9)
    assert psnr_np(clean.numpy() * 255 + 25.5, clean.numpy() * 255, 255.0) == pytest.approx(20.0)
    # data_range 2 -> +20 log10(2) dB
    assert psnr(clean + 0.1, clean, data_range=2.0).item() == pytest.approx(20 + 20 * math.log10(2))


def test_psnr_does_not_clip():
    clean = torch.zeros(1, 1, 4, 4)
    assert psnr(clean - 0.1, clean).item() == pytest.approx(20.0, abs=1e-4)


def test_psnr_keeps_float64_and_is_differentiable():
    clean = torch.rand(2, 1, 8, 8, dtype=torch.float64)
    x = (clean + 0.05).requires_grad_()
    out = psnr(x, clean)
    assert out.dtype == torch.float64
    out.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_psnr_rejects_different_shapes_quoting_both():
    with pytest.raises(ValueError, match=r"\(1, 1, 8, 8\) and \(1, 1, 8, 9\)"):
        psnr(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 8, 9))


def test_psnr_rejects_3d_tensors():
    with pytest.raises(ValueError, match=r"\(1, 8, 8\)"):
        psnr(torch.zeros(1, 8, 8), torch.zeros(1, 8, 8))


@pytest.mark.parametrize("data_range", [0.0, -1.0, math.nan, math.inf])
def test_psnr_rejects_bad_data_range(data_range):
    with pytest.raises(ValueError, match="data_range"):
        psnr(torch.zeros(1, 1, 4, 4), torch.ones(1, 1, 4, 4), data_range=data_range)
    with pytest.raises(ValueError, match="data_range"):
        psnr_np(np.zeros((4, 4)), np.ones((4, 4)), data_range)


def test_psnr_np_rejects_different_shapes_quoting_both():
    with pytest.raises(ValueError, match=r"\(1, 8, 8\) and \(3, 8, 8\)"):
        psnr_np(np.zeros((1, 8, 8)), np.zeros((3, 8, 8)), 1.0)


def test_psnr_np_computes_in_float64_for_uint8_inputs():
    clean = np.full((8, 8), 200, np.uint8)
    noisy = np.full((8, 8), 10, np.uint8)  # uint8 subtraction would wrap around
    assert psnr_np(noisy, clean, 255.0) == pytest.approx(20 * math.log10(255 / 190))


def test_metrics_registry_holds_the_tensor_functions():
    assert METRICS.names() == ["psnr", "ssim"]
    assert METRICS.get("psnr") is psnr


@pytest.mark.data
def test_psnr_of_set12_cameraman_with_sigma_25_noise(set12_image):
    rng = np.random.default_rng(0)
    noisy = set12_image + rng.normal(0.0, 25 / 255, set12_image.shape).astype(np.float32)
    # unclipped Gaussian noise: 20 log10(255 / 25) = 20.17 dB up to sampling error
    assert psnr_np(noisy, set12_image, 1.0) == pytest.approx(20.17, abs=0.1)
    tensor_db = psnr(torch.from_numpy(noisy)[None], torch.from_numpy(set12_image)[None])
    assert tensor_db.item() == pytest.approx(psnr_np(noisy, set12_image, 1.0), abs=1e-4)
