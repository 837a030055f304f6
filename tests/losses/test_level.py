"""The level-weighted Noise2Noise L2 loss (``l2_level``)."""

import pytest
import torch

from noise2x.losses import LevelWeightedL2Loss, build_loss, pair_noise_variance


def pairs(sigmas, seed=0, shape=(1, 32, 32)):
    """One clean image per sigma (0-255 scale) with two independent Gaussian views."""
    g = torch.Generator().manual_seed(seed)
    clean = torch.rand(len(sigmas), *shape, generator=g)
    s = torch.tensor(sigmas, dtype=torch.float32).view(-1, 1, 1, 1) / 255
    a = clean + s * torch.randn(clean.shape, generator=g)
    b = clean + s * torch.randn(clean.shape, generator=g)
    return clean, a, b


def test_pair_noise_variance_estimates_sigma_squared():
    _, a, b = pairs([5.0, 25.0, 50.0], shape=(1, 128, 128))

    sigma = pair_noise_variance(a, b).sqrt() * 255

    assert torch.allclose(sigma, torch.tensor([5.0, 25.0, 50.0]), rtol=0.03)


def test_weights_each_pair_by_its_inverse_variance():
    _, a, b = pairs([10.0, 40.0])
    net = torch.nn.Identity()
    floor = 2.0

    loss = LevelWeightedL2Loss(floor=floor, power=1.0)(net, a, b)

    error = (a - b).square().mean(dim=(1, 2, 3))
    weight = 1 / (pair_noise_variance(a, b) + (floor / 255) ** 2)
    assert torch.allclose(loss, (error * weight).mean())
    # for the identity, each term is about 2 sigma^2 / sigma^2: the levels weigh alike
    terms = error * weight
    assert terms.max() / terms.min() < 1.2
    plain = error.max() / error.min()
    assert plain > 10  # while the plain L2 terms differ 16-fold


def test_default_power_is_half():
    _, a, b = pairs([10.0, 40.0])

    loss = LevelWeightedL2Loss()(torch.nn.Identity(), a, b)

    error = (a - b).square().mean(dim=(1, 2, 3))
    weight = (pair_noise_variance(a, b) + (2.0 / 255) ** 2).rsqrt()
    assert torch.allclose(loss, (error * weight).mean())


def test_power_zero_is_plain_l2():
    _, a, b = pairs([10.0, 40.0])
    net = torch.nn.Conv2d(1, 1, 3, padding=1)

    loss = LevelWeightedL2Loss(power=0.0)(net, a, b)

    assert torch.allclose(loss, torch.nn.functional.mse_loss(net(a), b))


def test_gradient_reaches_the_net_not_the_weight():
    _, a, b = pairs([15.0, 45.0])
    net = torch.nn.Conv2d(1, 1, 3, padding=1)
    a.requires_grad_(True)

    LevelWeightedL2Loss()(net, a, b).backward()

    assert net.weight.grad is not None and bool(net.weight.grad.abs().sum() > 0)


def test_built_by_name_with_its_settings():
    loss = build_loss("l2_level", floor=1.0, power=0.5)

    assert loss.needs_net and (loss.floor, loss.power) == (1.0, 0.5)


@pytest.mark.parametrize("kwargs", [{"floor": 0.0}, {"floor": float("nan")}, {"power": -1.0}])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(ValueError, match="l2_level"):
        LevelWeightedL2Loss(**kwargs)


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(1, 1, 8, 8\).*\(1, 1, 8, 9\)"):
        LevelWeightedL2Loss()(torch.nn.Identity(), torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 8, 9))
