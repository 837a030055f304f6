import pytest
import torch
from torch import nn

from noise2x.nets import NETS, RED30, count_parameters, init_weights


def _rand(*shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def test_red30_is_registered():
    assert NETS.get("red30") is RED30


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("hw", [(13, 17), (1, 1), (3, 5)])
def test_red30_keeps_shape(channels, hw):
    net = RED30(channels, width=4)
    x = _rand(2, channels, *hw)
    out = net(x)
    assert out.shape == x.shape and out.dtype == x.dtype


def test_red30_has_15_convolutions_and_15_deconvolutions_of_64_channels():
    net = RED30(1)
    convs = [m for m in net.modules() if type(m) is nn.Conv2d]
    deconvs = [m for m in net.modules() if type(m) is nn.ConvTranspose2d]
    assert len(convs) == 15 and len(deconvs) == 15
    layers = convs + deconvs
    assert all(m.kernel_size == (3, 3) and m.stride == (1, 1) for m in layers)
    assert [(m.in_channels, m.out_channels) for m in (layers[0], layers[-1])] == [(1, 64), (64, 1)]
    assert all((m.in_channels, m.out_channels) == (64, 64) for m in layers[1:-1])


def test_red30_with_zero_weights_returns_its_input():
    # every layer outputs 0, so only the outermost skip (the image itself) is left
    net = RED30(3, width=4)
    for p in net.parameters():
        nn.init.zeros_(p)
    x = _rand(1, 3, 6, 7)
    assert torch.equal(net(x), x)


def test_red30_adds_every_second_conv_output_to_its_mirrored_deconv():
    # All weights zero: a bias of 1 in conv k reaches a deconvolution only through a skip.
    net = RED30(1, width=2)
    for p in net.parameters():
        nn.init.zeros_(p)
    fed: dict[int, float] = {}

    def record(j):
        return lambda module, inputs, output: fed.__setitem__(j, inputs[0].abs().sum().item())

    for j, deconv in enumerate(net.deconvs, start=1):
        deconv.register_forward_hook(record(j))
    reached = {}
    for k, conv in enumerate(net.convs, start=1):
        with torch.no_grad():
            conv.bias.fill_(1.0)
            net(_rand(1, 1, 4, 4))
            conv.bias.zero_()
        reached[k] = [j for j, total in fed.items() if total > 0]
    # conv k (k even) is added to the output of deconv 15 - k, so it feeds deconv 16 - k;
    # conv 15 feeds deconv 1 directly
    expected = {k: [16 - k] if k % 2 == 0 else [] for k in range(1, 15)}
    assert reached == {**expected, 15: [1]}


def test_red30_parameter_counts_equal_the_documented_ones():
    counts = {c: count_parameters(RED30(c)) for c in (1, 3)}
    assert counts == {1: 1_035_201, 3: 1_037_507}
    assert all(f"{n:,}" in RED30.__doc__ for n in counts.values())


def test_red30_gradients_reach_every_parameter():
    net = init_weights(RED30(3, width=4, depth=6), torch.Generator().manual_seed(0))
    net(_rand(2, 3, 9, 11)).square().mean().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_red30_seeded_init_is_reproducible():
    x = _rand(1, 1, 13, 17)
    a = init_weights(RED30(1, width=4), torch.Generator().manual_seed(3))
    b = init_weights(RED30(1, width=4), torch.Generator().manual_seed(3))
    c = init_weights(RED30(1, width=4), torch.Generator().manual_seed(4))
    assert torch.equal(a(x), b(x))
    assert not torch.equal(a(x), c(x))


@pytest.mark.parametrize("depth", [0, 7])
def test_red30_rejects_odd_or_too_small_depth(depth):
    with pytest.raises(ValueError, match="depth"):
        RED30(1, depth=depth)
