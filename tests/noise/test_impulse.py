import pytest
import torch

from noise2x.noise import ImpulseNoise


def test_impulse_replaced_fraction_matches_p():
    clean = torch.full((1, 1, 256, 256), 0.5)

    noisy = ImpulseNoise(p=0.3)(clean, torch.Generator().manual_seed(0))

    replaced = noisy != 0.5
    assert replaced.float().mean().item() == pytest.approx(0.3, abs=0.01)
    values = noisy[replaced]
    assert values.min() >= 0
    assert values.max() < 1
    assert values.mean().item() == pytest.approx(0.5, abs=0.01)


def test_impulse_replaces_every_channel_with_independent_values():
    clean = torch.full((1, 3, 128, 128), 0.5)

    noisy, mask = ImpulseNoise(p=0.5).sample_with_mask(clean, torch.Generator().manual_seed(0))

    replaced = noisy != 0.5
    assert torch.equal(replaced.all(dim=1), replaced.any(dim=1))
    assert torch.equal(replaced[:, :1], mask == 0)
    pixels = noisy[0].permute(1, 2, 0)[~mask[0, 0].bool()]
    assert not torch.equal(pixels[:, 0], pixels[:, 1])


def test_impulse_output_stays_in_unit_range():
    clean = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))

    noisy = ImpulseNoise(p=0.7)(clean, torch.Generator().manual_seed(0))

    assert noisy.min() >= 0
    assert noisy.max() <= 1


@pytest.mark.parametrize("p", [-0.1, 1.01, None])
def test_impulse_rejects_bad_p(p):
    with pytest.raises(ValueError, match="p must"):
        ImpulseNoise(p=p)
