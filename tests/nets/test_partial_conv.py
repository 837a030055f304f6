import pytest
import torch
from torch import nn

from noise2x.nets import NETS, count_parameters, init_weights
from noise2x.nets.partial_conv import PartialConv2d
from noise2x.nets.self2self_unet import Self2SelfUNet, bernoulli_like


def _rand(*shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def _pair(in_channels=3, out_channels=5, pad_is_hole=False, seed=0):
    pconv = PartialConv2d(in_channels, out_channels, 3, padding=1, pad_is_hole=pad_is_hole)
    init_weights(pconv, torch.Generator().manual_seed(seed))
    conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)
    conv.load_state_dict(pconv.state_dict())
    return pconv, conv


@pytest.mark.parametrize("mask_channels", [1, 3])
def test_partial_conv_equals_plain_conv_with_an_all_ones_mask(mask_channels):
    pconv, conv = _pair(pad_is_hole=False)
    x = _rand(2, 3, 9, 11)
    out, update = pconv(x, torch.ones(2, mask_channels, 9, 11))
    torch.testing.assert_close(out, conv(x), rtol=0, atol=1e-6)
    assert torch.equal(update, torch.ones(2, 1, 9, 11))


def test_partial_conv_with_holes_at_the_border_equals_plain_conv_inside():
    pconv, conv = _pair(pad_is_hole=True)
    x = _rand(1, 3, 9, 11)
    out, _ = pconv(x)  # no mask: all observed
    torch.testing.assert_close(out[..., 1:-1, 1:-1], conv(x)[..., 1:-1, 1:-1], rtol=0, atol=1e-6)
    assert not torch.allclose(out[..., 0, :], conv(x)[..., 0, :])  # renormalised border


@pytest.mark.parametrize("pad_is_hole", [False, True])
def test_partial_conv_ignores_the_values_of_masked_pixels(pad_is_hole):
    pconv, _ = _pair(pad_is_hole=pad_is_hole)
    mask = (_rand(2, 1, 12, 12, seed=1) > 0.4).float()
    x = _rand(2, 3, 12, 12, seed=2)
    changed = torch.where(mask.bool(), x, 100.0 * _rand(2, 3, 12, 12, seed=3) - 50.0)
    out_a, update_a = pconv(x, mask)
    out_b, update_b = pconv(changed, mask)
    assert torch.equal(out_a, out_b) and torch.equal(update_a, update_b)


def test_partial_conv_renormalises_by_the_observed_count():
    conv = PartialConv2d(1, 1, 3, padding=1, bias=False, pad_is_hole=True)
    nn.init.ones_(conv.weight)
    x = torch.full((1, 1, 5, 5), 2.0)
    mask = torch.ones(1, 1, 5, 5)
    mask[0, 0, 1:4, 1:4] = 0
    mask[0, 0, 2, 2] = 1  # the centre window sees 1 of 9 pixels
    out, _ = conv(x, mask)
    # a constant image gives the same response whatever the number of observed pixels,
    # inside (1 of 9 seen at the centre) and at the border (the padding is a hole)
    torch.testing.assert_close(out, torch.full_like(out, 18.0))


def test_partial_conv_updates_the_mask_and_zeroes_windows_without_observations():
    conv = PartialConv2d(1, 2, 3, padding=1)
    mask = torch.ones(1, 1, 7, 7)
    mask[0, 0, 2:5, 2:5] = 0  # a 3x3 hole: only its centre pixel sees no observed pixel
    out, update = conv(_rand(1, 1, 7, 7), mask)
    assert update[0, 0, 3, 3] == 0 and update.sum() == 48
    assert torch.equal(out[0, :, 3, 3], torch.zeros(2))


def test_partial_conv_per_channel_mask_counts_channels():
    conv = PartialConv2d(2, 1, 3, padding=1, bias=False, pad_is_hole=True)
    nn.init.ones_(conv.weight)
    x = torch.ones(1, 2, 5, 5)
    mask = torch.ones(1, 2, 5, 5)
    mask[0, 1] = 0  # channel 1 hidden everywhere: 9 of 18 entries observed per window
    out, update = conv(x, mask)
    torch.testing.assert_close(out, torch.full_like(out, 18.0))
    assert update.shape == (1, 1, 5, 5)


def test_partial_conv_rejects_a_mask_of_the_wrong_size():
    conv = PartialConv2d(3, 4, 3, padding=1)
    with pytest.raises(ValueError, match=r"\(1, 1, 5, 6\)"):
        conv(torch.zeros(1, 3, 5, 5), torch.ones(1, 1, 5, 6))


def test_partial_conv_stays_in_bfloat16_under_autocast():
    conv = PartialConv2d(1, 4, 3, padding=1)
    mask = (_rand(1, 1, 8, 8) > 0.3).float()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, update = conv(_rand(1, 1, 8, 8), mask)
    assert out.dtype == torch.bfloat16 and update.dtype == torch.float32


# --- the Self2Self U-Net ------------------------------------------------------------------------
def test_self2self_unet_is_registered_with_the_papers_layer_widths():
    net = NETS.get("self2self_unet")(1)
    assert isinstance(net, Self2SelfUNet)
    assert [m.out_channels for m in net.encoder] == [48] * 7
    assert all(isinstance(m, PartialConv2d) for m in net.encoder)
    assert [m.out_channels for m in net.decoder] == [96] * 8 + [64, 32, 1]
    assert count_parameters(net) == 988_609


@pytest.mark.parametrize("hw", [(13, 17), (2, 3), (32, 64)])
def test_self2self_unet_keeps_shape_and_ends_in_a_sigmoid(hw):
    net = Self2SelfUNet(3, width=8)
    x = _rand(2, 3, *hw)
    out = net(x, (x > 0.3).float())
    assert out.shape == x.shape and bool(((out > 0) & (out < 1)).all())


def test_self2self_unet_ignores_hidden_pixels():
    net = Self2SelfUNet(1, width=8).eval()  # eval: no dropout, so two calls are comparable
    mask = (_rand(1, 1, 32, 32, seed=1) > 0.3).float()
    x = _rand(1, 1, 32, 32, seed=2)
    changed = torch.where(mask.bool(), x, _rand(1, 1, 32, 32, seed=3))
    torch.testing.assert_close(net(x, mask), net(changed, mask), rtol=0, atol=0)


def test_self2self_unet_dropout_is_seeded_by_the_generator_and_off_in_eval():
    net = Self2SelfUNet(1, width=8)
    x = _rand(1, 1, 32, 32)
    a = net(x, generator=torch.Generator().manual_seed(0))
    b = net(x, generator=torch.Generator().manual_seed(0))
    c = net(x, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.equal(a, c)
    net.eval()
    assert torch.equal(net(x), net(x))


def test_bernoulli_like_has_the_requested_rate_and_keeps_the_layout():
    x = torch.empty(2, 16, 64, 64).contiguous(memory_format=torch.channels_last)
    draws = bernoulli_like(x, 0.7, torch.Generator().manual_seed(0))
    assert draws.is_contiguous(memory_format=torch.channels_last)
    assert set(draws.unique().tolist()) == {0.0, 1.0}
    assert abs(draws.mean().item() - 0.7) < 0.005  # 131,072 draws: std 0.0013
