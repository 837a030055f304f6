"""Pixel losses of Noise2Noise: L2, L1, annealed L0 and the symmetric L2."""

import pytest
import torch
import torch.nn.functional as F

from noise2x.losses import (
    AnnealedL0Loss,
    L1Loss,
    L2Loss,
    SymmetricN2NLoss,
    symmetric_n2n_loss,
)


def random_pair(shape=(2, 3, 8, 8), seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=generator), torch.rand(shape, generator=generator)


def small_net():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return torch.nn.Conv2d(3, 3, kernel_size=3, padding=1)


def outlier_target(mode=0.5, outlier=1.0):
    """90 pixels equal to `mode`, 10 outliers: the mean is 0.55, the mode 0.5."""
    target = torch.full((1, 1, 10, 10), mode)
    target.view(-1)[:10] = outlier
    return target


def test_l2_equals_torch_mse():
    prediction, target = random_pair()

    loss = L2Loss()(prediction, target)

    assert loss.ndim == 0
    assert torch.allclose(loss, F.mse_loss(prediction, target))


def test_l1_equals_torch_l1():
    prediction, target = random_pair()

    loss = L1Loss()(prediction, target)

    assert loss.ndim == 0
    assert torch.allclose(loss, F.l1_loss(prediction, target))


@pytest.mark.parametrize("loss_fn", [L2Loss(), L1Loss(), AnnealedL0Loss()])
def test_pixel_loss_rejects_shape_mismatch_quoting_both_shapes(loss_fn):
    prediction, target = torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 5)

    with pytest.raises(ValueError, match=r"\(1, 1, 4, 4\).*\(1, 1, 4, 5\)"):
        loss_fn(prediction, target, step=0, total_steps=10)


def test_l0_at_step_zero_is_mse_up_to_eps():
    prediction, target = random_pair()

    loss = AnnealedL0Loss()(prediction, target, step=0, total_steps=100)

    assert loss.item() == pytest.approx(F.mse_loss(prediction, target).item(), abs=1e-6)


def test_l0_gamma_goes_linearly_from_two_to_zero():
    loss_fn = AnnealedL0Loss()

    gammas = [loss_fn.gamma(step, 4) for step in range(5)]

    assert gammas == [2.0, 1.5, 1.0, 0.5, 0.0]


def test_l0_near_the_end_prefers_the_mode_where_l2_prefers_the_mean():
    target = outlier_target()
    at_mode = torch.full_like(target, 0.5)
    at_mean = torch.full_like(target, target.mean().item())
    l0, l2 = AnnealedL0Loss(), L2Loss()

    late_l0 = [l0(p, target, step=99, total_steps=100) for p in (at_mode, at_mean)]
    early_l0 = [l0(p, target, step=0, total_steps=100) for p in (at_mode, at_mean)]
    l2_values = [l2(p, target) for p in (at_mode, at_mean)]

    assert late_l0[0] < late_l0[1]
    assert early_l0[0] > early_l0[1]
    assert l2_values[0] > l2_values[1]


def test_l0_near_the_end_is_minimised_at_the_mode_over_a_grid():
    target = outlier_target()
    grid = torch.linspace(0.0, 1.0, 101)
    l0, l2 = AnnealedL0Loss(), L2Loss()

    l0_values = torch.stack([l0(torch.full_like(target, v), target, 99, 100) for v in grid])
    l2_values = torch.stack([l2(torch.full_like(target, v), target) for v in grid])

    assert grid[l0_values.argmin()].item() == pytest.approx(0.5, abs=1e-6)
    assert grid[l2_values.argmin()].item() == pytest.approx(0.55, abs=1e-6)


def test_l0_needs_step_and_total_steps():
    prediction, target = random_pair()

    with pytest.raises(ValueError, match="needs step and total_steps"):
        AnnealedL0Loss()(prediction, target)
    with pytest.raises(ValueError, match="needs step and total_steps"):
        AnnealedL0Loss()(prediction, target, step=3)


@pytest.mark.parametrize(("step", "total_steps"), [(-1, 10), (11, 10), (0, 0), (1.5, 10)])
def test_l0_rejects_out_of_range_step(step, total_steps):
    prediction, target = random_pair()

    with pytest.raises(ValueError, match="step"):
        AnnealedL0Loss()(prediction, target, step=step, total_steps=total_steps)


@pytest.mark.parametrize("kwargs", [{"eps": 0.0}, {"eps": -1e-8}, {"gamma_start": -1.0}])
def test_l0_rejects_bad_parameters(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        AnnealedL0Loss(**kwargs)


@pytest.mark.parametrize("step", [0, 50, 75, 99, 100])
def test_l0_gradient_is_finite_at_zero_error(step):
    _, target = random_pair()
    prediction = target.clone().requires_grad_()

    AnnealedL0Loss()(prediction, target, step=step, total_steps=100).backward()

    assert torch.isfinite(prediction.grad).all()


def test_symmetric_loss_equals_its_formula():
    net = small_net()
    noisy_a, noisy_b = random_pair()

    loss = symmetric_n2n_loss(net, noisy_a, noisy_b)

    expected = torch.mean((net(noisy_a) - noisy_b) ** 2) + torch.mean((net(noisy_b) - noisy_a) ** 2)
    assert loss.ndim == 0
    assert torch.allclose(loss, expected)


def test_symmetric_loss_is_symmetric_in_the_two_views():
    net = small_net()
    noisy_a, noisy_b = random_pair()

    assert torch.allclose(
        symmetric_n2n_loss(net, noisy_a, noisy_b), symmetric_n2n_loss(net, noisy_b, noisy_a)
    )


def test_symmetric_module_matches_the_function_and_needs_the_net():
    net = small_net()
    noisy_a, noisy_b = random_pair()

    loss = SymmetricN2NLoss()(net, noisy_a, noisy_b, step=3, total_steps=10)

    assert SymmetricN2NLoss.needs_net and not L2Loss.needs_net
    assert torch.allclose(loss, symmetric_n2n_loss(net, noisy_a, noisy_b))


def test_symmetric_loss_rejects_views_of_different_shapes():
    noisy_a, noisy_b = torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 6)

    with pytest.raises(ValueError, match=r"\(1, 3, 8, 8\).*\(1, 3, 8, 6\)"):
        symmetric_n2n_loss(small_net(), noisy_a, noisy_b)
