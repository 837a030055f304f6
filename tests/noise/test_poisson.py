import pytest
import torch

from noise2x.noise import PoissonGaussianNoise, PoissonNoise


def constant(value=0.5, shape=(1, 1, 256, 256)):
    return torch.full(shape, value)


@pytest.mark.parametrize("lam", [5.0, 30.0])
def test_poisson_mean_is_clean_and_variance_is_clean_over_lam(lam):
    noisy = PoissonNoise(lam=lam)(constant(0.5), torch.Generator().manual_seed(0))

    assert noisy.mean().item() == pytest.approx(0.5, abs=3e-3)
    assert noisy.var().item() == pytest.approx(0.5 / lam, rel=0.03)


def test_poisson_values_are_photon_counts_over_lam():
    lam = 10.0
    noisy = PoissonNoise(lam=lam)(constant(0.3), torch.Generator().manual_seed(0))

    counts = noisy * lam
    assert torch.allclose(counts, counts.round(), atol=1e-4)
    assert noisy.min() >= 0


def test_poisson_clamps_negative_clean_to_zero():
    noisy = PoissonNoise(lam=30)(constant(-0.2, (1, 1, 8, 8)), torch.Generator().manual_seed(0))

    assert torch.equal(noisy, torch.zeros_like(noisy))


def test_poisson_clip_bounds_output():
    clean = constant(0.95)

    loose = PoissonNoise(lam=5)(clean, torch.Generator().manual_seed(0))
    clipped = PoissonNoise(lam=5, clip=True)(clean, torch.Generator().manual_seed(0))

    assert loose.max() > 1
    assert clipped.max() <= 1
    assert clipped.min() >= 0


def test_poisson_gaussian_mean_and_variance():
    lam, sigma = 30.0, 10.0

    noisy = PoissonGaussianNoise(lam=lam, sigma=sigma)(constant(), torch.Generator().manual_seed(0))

    assert noisy.mean().item() == pytest.approx(0.5, abs=3e-3)
    expected = 0.5 / lam + (sigma / 255) ** 2
    assert noisy.var().item() == pytest.approx(expected, rel=0.03)


def test_poisson_gaussian_clip_bounds_output():
    noise = PoissonGaussianNoise(lam=5, sigma=30, clip=True)

    noisy = noise(constant(0.05), torch.Generator().manual_seed(0))

    assert noisy.min() >= 0
    assert noisy.max() <= 1


@pytest.mark.parametrize("lam", [0, -1, float("inf"), float("nan"), "30"])
def test_poisson_rejects_bad_lam(lam):
    with pytest.raises(ValueError, match="lam"):
        PoissonNoise(lam=lam)


@pytest.mark.parametrize(("lam", "sigma", "bad"), [(0, 10, "lam"), (30, -1, "sigma")])
def test_poisson_gaussian_rejects_bad_params(lam, sigma, bad):
    with pytest.raises(ValueError, match=bad):
        PoissonGaussianNoise(lam=lam, sigma=sigma)
