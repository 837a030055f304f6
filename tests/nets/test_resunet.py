import pytest
import torch
from torch import nn

from noise2x.nets import NETS, ResUNet, count_parameters, init_weights
from noise2x.nets.blocks import AttentionGate, PixelShuffleUp, ResBlock, SqueezeExcitation


def _rand(*shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def test_resunet_is_registered():
    assert NETS.get("resunet") is ResUNet


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("hw", [(13, 17), (1, 1), (3, 5)])
@pytest.mark.parametrize("levels", [1, 3])
def test_resunet_keeps_shape(channels, hw, levels):
    net = ResUNet(channels, width=4, levels=levels)
    x = _rand(2, channels, *hw)
    out = net(x)
    assert out.shape == x.shape and out.dtype == x.dtype


def test_resunet_predicts_the_noise_and_subtracts_it():
    net = ResUNet(3, width=4)
    with torch.no_grad():
        net.head.weight.zero_()
        net.head.bias.fill_(0.25)
    x = _rand(1, 3, 13, 17)
    torch.testing.assert_close(net(x), x - 0.25)


def test_resunet_is_built_from_se_res_blocks_attention_gates_and_pixel_shuffle():
    net = ResUNet(1, width=4, levels=3)

    def count(kind):
        return sum(isinstance(m, kind) for m in net.modules())

    assert count(AttentionGate) == 3 and count(PixelShuffleUp) == 3
    assert count(ResBlock) == 2 * 3 + 1 and count(SqueezeExcitation) == 2 * 3 + 1
    assert net.size_multiple == 8
    assert [m.stride for m in net.downs] == [(2, 2)] * 3
    assert [m.out_channels for m in net.downs] == [8, 16, 32]


def test_resunet_parameter_counts_equal_the_documented_ones():
    counts = {c: count_parameters(ResUNet(c)) for c in (1, 3)}
    assert counts == {1: 4_001_876, 3: 4_003_030}
    assert all(f"{n:,}" in ResUNet.__doc__ for n in counts.values())


def test_resunet_gradients_reach_every_parameter():
    net = init_weights(ResUNet(3, width=8, levels=2), torch.Generator().manual_seed(0))
    x = _rand(2, 3, 13, 17)
    (net(x) - x.flip(-1)).square().mean().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_resunet_seeded_init_is_reproducible():
    x = _rand(1, 1, 13, 17)
    a = init_weights(ResUNet(1, width=4), torch.Generator().manual_seed(3))
    b = init_weights(ResUNet(1, width=4), torch.Generator().manual_seed(3))
    c = init_weights(ResUNet(1, width=4), torch.Generator().manual_seed(4))
    assert torch.equal(a(x), b(x))
    assert not torch.equal(a(x), c(x))


def test_resunet_rejects_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="levels"):
        ResUNet(1, levels=0)
    with pytest.raises(ValueError, match=r"\(1, 1, 8\)"):
        ResUNet(1, width=4)(_rand(1, 1, 8))


def test_resunet_every_parameter_is_a_convolution():
    # so init_weights re-draws all of them
    net = ResUNet(1, width=4)
    conv_params = sum(
        p.numel()
        for m in net.modules()
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)
        for p in m.parameters()
    )
    assert conv_params == count_parameters(net)
