"""The noise-level estimate (wavelet MAD): scikit-image's values, a clear error when it fails."""

import numpy as np
import pytest
import torch

from noise2x.methods import bm3d
from noise2x.noise import add_noise
from noise2x.noise.estimate import estimate_sigma


def test_the_noise_estimate_is_scikit_images():
    from skimage.restoration import estimate_sigma as skimage_sigma

    rng = np.random.default_rng(3)
    image = rng.random((3, 40, 56)) + 0.1 * rng.standard_normal((3, 40, 56))
    expected = np.mean([skimage_sigma(channel) for channel in image])
    assert estimate_sigma(image) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="cannot estimate the noise level"):
        estimate_sigma(np.zeros((1, 16, 16)))


def test_the_estimate_finds_a_known_gaussian_sigma_on_a_smooth_image():
    clean = torch.linspace(0.2, 0.8, 128).repeat(128, 1)[None, None]
    for sigma in (5.0, 25.0, 50.0):
        noisy = add_noise(clean, "gaussian", seed=1, sigma=sigma)
        assert 255 * estimate_sigma(noisy[0].numpy()) == pytest.approx(sigma, rel=0.05)


def test_bm3d_re_exports_the_estimate():
    assert bm3d.estimate_sigma is estimate_sigma
