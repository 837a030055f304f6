import pytest
import torch

from noise2x.noise import GaussianNoise


def constant(value=0.5, shape=(1, 1, 256, 256)):
    return torch.full(shape, value)


def test_gaussian_mean_and_std_match_sigma():
    noise = GaussianNoise(sigma=25)

    residual = noise(constant(), torch.Generator().manual_seed(0)) - 0.5

    assert abs(residual.mean().item()) < 2e-3
    assert residual.std().item() == pytest.approx(25 / 255, rel=0.02)


def test_gaussian_sigma_zero_is_identity():
    clean = constant()

    assert torch.equal(GaussianNoise(sigma=0)(clean, torch.Generator().manual_seed(0)), clean)


def test_gaussian_without_clip_leaves_range():
    noisy = GaussianNoise(sigma=50)(constant(0.95), torch.Generator().manual_seed(0))

    assert noisy.max() > 1


def test_gaussian_clip_bounds_output():
    noisy = GaussianNoise(sigma=50, clip=True)(constant(0.95), torch.Generator().manual_seed(0))

    assert noisy.min() >= 0
    assert noisy.max() <= 1


@pytest.mark.parametrize("sigma", [-1, float("nan"), float("inf"), "25", None, True])
def test_gaussian_rejects_bad_sigma(sigma):
    with pytest.raises(ValueError, match="sigma"):
        GaussianNoise(sigma=sigma)


def test_gaussian_rejects_non_bool_clip():
    with pytest.raises(ValueError, match="clip"):
        GaussianNoise(sigma=25, clip="yes")
