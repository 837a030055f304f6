import pytest
import torch

from noise2x.noise import BernoulliNoise


def test_bernoulli_lost_fraction_matches_p():
    clean = torch.full((1, 1, 256, 256), 0.5)

    noisy = BernoulliNoise(p=0.3)(clean, torch.Generator().manual_seed(0))

    assert (noisy == 0).float().mean().item() == pytest.approx(0.3, abs=0.01)
    assert set(noisy.unique().tolist()) == {0.0, 0.5}


def test_bernoulli_loses_all_channels_of_a_pixel_together():
    clean = torch.full((2, 3, 64, 64), 0.5)

    noisy, mask = BernoulliNoise(p=0.5).sample_with_mask(clean, torch.Generator().manual_seed(0))

    lost = noisy == 0
    assert torch.equal(lost.all(dim=1), lost.any(dim=1))
    assert torch.equal(lost[:, :1], mask == 0)


@pytest.mark.parametrize(("p", "expected"), [(0.0, 0.5), (1.0, 0.0)])
def test_bernoulli_extreme_p(p, expected):
    clean = torch.full((1, 3, 16, 16), 0.5)

    noisy = BernoulliNoise(p=p)(clean, torch.Generator().manual_seed(0))

    assert torch.equal(noisy, torch.full_like(clean, expected))


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan"), "0.5"])
def test_bernoulli_rejects_bad_p(p):
    with pytest.raises(ValueError, match="p must"):
        BernoulliNoise(p=p)
