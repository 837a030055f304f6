"""The loss registry and build_loss, with a contract test over every registered loss."""

import inspect

import pytest
import torch

from noise2x.losses import LOSSES, AnnealedL0Loss, Loss, build_loss


def build_for_test(name, vgg_file):
    """Build a registered loss; losses that read VGG-16 weights get the test's weights file."""
    cls = LOSSES.get(name)
    params = {"vgg_weights": vgg_file} if "vgg_weights" in inspect.signature(cls).parameters else {}
    return build_loss(name, **params)


@pytest.mark.parametrize("name", LOSSES.names())
def test_every_loss_is_registered_under_its_name(name):
    cls = LOSSES.get(name)

    assert issubclass(cls, Loss)
    assert cls.name == name


@pytest.mark.parametrize("name", LOSSES.names())
def test_every_loss_gives_a_finite_scalar_with_gradients(name, vgg_file):
    loss_fn = build_for_test(name, vgg_file)
    generator = torch.Generator().manual_seed(0)
    noisy_a = torch.rand(1, 3, 32, 32, generator=generator)
    noisy_b = torch.rand(1, 3, 32, 32, generator=generator)

    if loss_fn.needs_net:
        net = torch.nn.Conv2d(3, 3, kernel_size=3, padding=1)
        loss = loss_fn(net, noisy_a, noisy_b, step=3, total_steps=10)
        loss.backward()
        grads = [p.grad for p in net.parameters()]
    else:
        prediction = noisy_a.clone().requires_grad_()
        loss = loss_fn(prediction, noisy_b, step=3, total_steps=10)
        loss.backward()
        grads = [prediction.grad]

    assert loss.ndim == 0 and torch.isfinite(loss)
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


def test_build_loss_passes_parameters():
    loss_fn = build_loss("l0", eps=1e-6)

    assert isinstance(loss_fn, AnnealedL0Loss)
    assert loss_fn.eps == 1e-6


def test_build_loss_rejects_unknown_parameter_naming_it_and_listing_accepted():
    with pytest.raises(ValueError, match=r"'lamda'.*accepted: lam, layers.*Did you mean 'lam'"):
        build_loss("l1_perceptual", lamda=0.5)


def test_build_loss_says_when_a_loss_accepts_no_parameters():
    with pytest.raises(
        ValueError, match=r"'l1' does not accept parameter 'eps'; accepted: \(none\)"
    ):
        build_loss("l1", eps=1e-8)


def test_build_loss_unknown_name_lists_known_names():
    with pytest.raises(KeyError, match="known: .*l2.*Did you mean 'perceptual'"):
        build_loss("perceptul")
