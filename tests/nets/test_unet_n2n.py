import pytest
import torch
import torch.nn.functional as F
from torch import nn

from noise2x.nets import NETS, UNetN2N, count_parameters, init_weights


def _rand(*shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


# Appendix Table 2 of Noise2Noise for n = m = 1: (layer, channels in, channels out), all 3x3.
PAPER_TABLE = [
    ("enc_conv0", 1, 48),
    ("enc_conv1", 48, 48),
    ("enc_conv2", 48, 48),
    ("enc_conv3", 48, 48),
    ("enc_conv4", 48, 48),
    ("enc_conv5", 48, 48),
    ("enc_conv6", 48, 48),
    ("dec_conv5a", 96, 96),
    ("dec_conv5b", 96, 96),
    ("dec_conv4a", 144, 96),
    ("dec_conv4b", 96, 96),
    ("dec_conv3a", 144, 96),
    ("dec_conv3b", 96, 96),
    ("dec_conv2a", 144, 96),
    ("dec_conv2b", 96, 96),
    ("dec_conv1a", 97, 64),
    ("dec_conv1b", 64, 32),
    ("dec_conv1c", 32, 1),
]


def test_unet_n2n_is_registered():
    assert NETS.get("unet_n2n") is UNetN2N


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("hw", [(13, 17), (1, 1), (3, 5), (32, 64)])
def test_unet_n2n_keeps_shape(channels, hw):
    net = UNetN2N(channels, width=6)
    x = _rand(2, channels, *hw)
    out = net(x)
    assert out.shape == x.shape and out.dtype == x.dtype


def test_unet_n2n_has_the_layer_widths_of_the_papers_table():
    net = UNetN2N(1)
    convs = [(n, m) for n, m in net.named_modules() if isinstance(m, nn.Conv2d)]
    assert [(n, m.in_channels, m.out_channels) for n, m in convs] == PAPER_TABLE
    assert all(m.kernel_size == (3, 3) and m.padding == (1, 1) for _, m in convs)
    assert net.act.negative_slope == 0.1


def test_unet_n2n_has_exactly_five_poolings_stride_32():
    net = UNetN2N(1, width=4)
    pools = [m for m in net.modules() if isinstance(m, nn.MaxPool2d)]
    assert len(pools) == 5 and all(p.kernel_size == 2 and p.stride == 2 for p in pools)
    assert net.size_multiple == 32
    seen = {}
    net.enc_conv6.register_forward_hook(lambda m, i, o: seen.update(shape=o.shape))
    net(_rand(1, 1, 64, 96))
    assert seen["shape"][-2:] == (2, 3)


def test_unet_n2n_last_layer_is_linear():
    net = UNetN2N(1, width=4)
    with torch.no_grad():
        net.dec_conv1c.weight.zero_()
        net.dec_conv1c.bias.fill_(-0.5)
    assert torch.equal(net(_rand(1, 1, 8, 8)), torch.full((1, 1, 8, 8), -0.5))


def test_unet_n2n_parameter_counts_equal_the_documented_ones():
    counts = {c: count_parameters(UNetN2N(c)) for c in (1, 3)}
    assert counts == {1: 988_609, 3: 991_203}
    assert all(f"{n:,}" in UNetN2N.__doc__ for n in counts.values())


def test_unet_n2n_gradients_reach_every_parameter():
    net = init_weights(UNetN2N(3, width=4), torch.Generator().manual_seed(0))
    net(_rand(2, 3, 13, 17)).square().mean().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_unet_n2n_seeded_init_is_reproducible():
    x = _rand(1, 1, 13, 17)
    a = init_weights(UNetN2N(1, width=4), torch.Generator().manual_seed(3))
    b = init_weights(UNetN2N(1, width=4), torch.Generator().manual_seed(3))
    c = init_weights(UNetN2N(1, width=4), torch.Generator().manual_seed(4))
    assert torch.equal(a(x), b(x))
    assert not torch.equal(a(x), c(x))


def test_unet_n2n_rejects_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="width"):
        UNetN2N(1, width=0)
    with pytest.raises(ValueError, match=r"\(1, 3, 8, 8\)"):
        UNetN2N(1, width=4)(_rand(1, 3, 8, 8))


def _reference_forward(net, x):
    """The paper's U-Net written with plain ops: interpolate, cat, out-of-place LeakyReLU."""
    from noise2x.nets.blocks import crop_to, pad_to_multiple

    def act(t):
        return F.leaky_relu(t, 0.1)

    def up(t):
        return F.interpolate(t, scale_factor=2.0, mode="nearest")

    padded, size = pad_to_multiple(x, 32)
    p1 = F.max_pool2d(act(net.enc_conv1(act(net.enc_conv0(padded)))), 2)
    p2 = F.max_pool2d(act(net.enc_conv2(p1)), 2)
    p3 = F.max_pool2d(act(net.enc_conv3(p2)), 2)
    p4 = F.max_pool2d(act(net.enc_conv4(p3)), 2)
    h = act(net.enc_conv6(F.max_pool2d(act(net.enc_conv5(p4)), 2)))
    for skip, k in ((p4, 5), (p3, 4), (p2, 3), (p1, 2)):
        h = torch.cat([up(h), skip], 1)
        h = act(getattr(net, f"dec_conv{k}b")(act(getattr(net, f"dec_conv{k}a")(h))))
    h = torch.cat([up(h), padded], 1)
    h = act(net.dec_conv1b(act(net.dec_conv1a(h))))
    return crop_to(net.dec_conv1c(h), size)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_unet_n2n_forward_and_gradients_equal_the_plain_ops_version(channels, layout):
    # the fused upsample + concatenation and the in-place activations change no value
    torch.manual_seed(0)
    net = UNetN2N(channels=channels).to(memory_format=layout)
    x = torch.rand(2, channels, 37, 45).contiguous(memory_format=layout)
    with torch.no_grad():
        assert torch.equal(net(x), _reference_forward(net, x))
    grads = []
    for forward in (net, lambda t: _reference_forward(net, t)):
        net.zero_grad()
        forward(x).square().mean().backward()
        grads.append([p.grad.clone() for p in net.parameters()])
    for ours, reference in zip(*grads, strict=True):
        torch.testing.assert_close(ours, reference, rtol=1e-5, atol=1e-7)
