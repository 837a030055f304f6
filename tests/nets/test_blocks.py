import pytest
import torch
import torch.nn.functional as F

from noise2x.nets.blocks import (
    AttentionGate,
    PixelShuffleUp,
    ResBlock,
    SqueezeExcitation,
    check_image_batch,
    crop_to,
    pad_to_multiple,
    upsample_cat,
)


def _rand(*shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("hw", [(1, 1), (3, 5), (13, 17), (32, 32), (2, 40)])
@pytest.mark.parametrize("multiple", [1, 2, 8, 32])
def test_pad_to_multiple_round_trip(hw, multiple):
    x = _rand(2, 3, *hw)
    padded, size = pad_to_multiple(x, multiple)
    assert size == hw
    assert padded.shape[:2] == x.shape[:2]
    assert padded.shape[-2] % multiple == 0 and padded.shape[-1] % multiple == 0
    assert hw[0] <= padded.shape[-2] < hw[0] + multiple
    assert hw[1] <= padded.shape[-1] < hw[1] + multiple
    assert torch.equal(crop_to(padded, size), x)


def test_pad_to_multiple_reflects_when_the_image_is_large_enough():
    x = _rand(1, 1, 13, 17)
    padded, _ = pad_to_multiple(x, 16)  # pads 3 rows and 15 columns
    assert padded.shape == (1, 1, 16, 32)
    assert torch.equal(padded[..., 13, :17], x[..., 11, :])  # row 13 mirrors row 11
    assert torch.equal(padded[..., :13, 17], x[..., :, 15])  # column 17 mirrors column 15


def test_pad_to_multiple_replicates_when_the_image_is_too_small_to_reflect():
    x = _rand(1, 2, 3, 5)
    padded, _ = pad_to_multiple(x, 32)
    assert padded.shape == (1, 2, 32, 32)
    assert torch.equal(padded[..., 31, 31], x[..., 2, 4])
    assert torch.equal(padded[..., 0, 5:], x[..., 0, 4:5].expand(1, 2, 27))
    one = torch.full((1, 1, 1, 1), 0.25)
    assert torch.equal(pad_to_multiple(one, 32)[0], torch.full((1, 1, 32, 32), 0.25))


def test_pad_to_multiple_returns_the_input_when_no_padding_is_needed():
    x = _rand(1, 1, 16, 32)
    padded, size = pad_to_multiple(x, 16)
    assert padded is x and size == (16, 32)


def test_pad_to_multiple_rejects_bad_rank_and_multiple():
    with pytest.raises(ValueError, match=r"\(4, 4\)"):
        pad_to_multiple(torch.zeros(4, 4), 8)
    with pytest.raises(ValueError, match="multiple"):
        pad_to_multiple(torch.zeros(1, 1, 4, 4), 0)


def test_check_image_batch_rejects_wrong_channels_quoting_the_shape():
    with pytest.raises(ValueError, match=r"\(2, 3, 4, 4\)"):
        check_image_batch(torch.zeros(2, 3, 4, 4), 1)


def test_squeeze_excitation_scales_each_channel_by_its_gate_in_0_1():
    se = SqueezeExcitation(8, reduction=4)
    x = _rand(2, 8, 5, 7) + 0.1
    gate = se.gate(x)
    out = se(x)
    assert gate.shape == (2, 8, 1, 1)
    assert bool(((gate > 0) & (gate < 1)).all())
    torch.testing.assert_close(out, x * gate)
    ratio = out / x  # one constant in (0, 1) per image and channel
    assert bool(((ratio > 0) & (ratio < 1)).all())
    torch.testing.assert_close(ratio, ratio[..., :1, :1].expand_as(ratio))


def test_squeeze_excitation_rejects_bad_sizes():
    with pytest.raises(ValueError, match="reduction"):
        SqueezeExcitation(8, reduction=0)


@pytest.mark.parametrize("gate_hw", [(5, 7), (10, 14)])
def test_attention_gate_keeps_the_skip_shape_and_weights_it_in_0_1(gate_hw):
    gate = AttentionGate(skip_channels=6, gate_channels=12)
    x, g = _rand(2, 6, 10, 14), _rand(2, 12, *gate_hw, seed=1)
    out = gate(x, g)
    alpha = gate.attention(x, g)
    assert out.shape == x.shape
    assert alpha.shape == (2, 1, 10, 14)
    assert bool(((alpha > 0) & (alpha < 1)).all())
    torch.testing.assert_close(out, x * alpha)


def test_attention_gate_depends_on_the_gating_signal():
    gate = AttentionGate(skip_channels=4, gate_channels=4, inter_channels=3)
    x = _rand(1, 4, 6, 6)
    a = gate(x, _rand(1, 4, 3, 3, seed=1))
    b = gate(x, _rand(1, 4, 3, 3, seed=2))
    assert not torch.equal(a, b)


@pytest.mark.parametrize(("c_in", "c_out"), [(8, 8), (8, 4)])
def test_res_block_maps_channels_and_keeps_size(c_in, c_out):
    block = ResBlock(c_in, c_out)
    out = block(_rand(2, c_in, 5, 7))
    assert out.shape == (2, c_out, 5, 7)
    assert isinstance(block.shortcut, torch.nn.Identity) == (c_in == c_out)


def test_res_block_is_identity_when_its_body_is_zero():
    block = ResBlock(4)
    torch.nn.init.zeros_(block.body[2].weight)
    torch.nn.init.zeros_(block.body[2].bias)
    x = _rand(1, 4, 5, 5)
    torch.testing.assert_close(block(x), x)


def test_pixel_shuffle_up_doubles_height_and_width():
    up = PixelShuffleUp(16, 8)
    assert up(_rand(1, 16, 3, 5)).shape == (1, 8, 6, 10)
    assert PixelShuffleUp(4, 2, scale=3)(_rand(1, 4, 3, 5)).shape == (1, 2, 9, 15)


def _reference_upsample_cat(h, skip):
    return torch.cat([F.interpolate(h, scale_factor=2.0, mode="nearest"), skip.to(h.dtype)], 1)


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("skip_channels", [1, 3, 48])
def test_upsample_cat_equals_interpolate_then_cat_and_keeps_the_layout(layout, skip_channels):
    h = _rand(2, 5, 3, 4).contiguous(memory_format=layout)
    skip = _rand(2, skip_channels, 6, 8, seed=1).contiguous(memory_format=layout)
    out = upsample_cat(h, skip)
    assert torch.equal(out, _reference_upsample_cat(h, skip))
    assert out.is_contiguous(memory_format=layout)


def test_upsample_cat_passes_the_same_gradients_as_interpolate_then_cat():
    h = _rand(1, 4, 3, 5).contiguous(memory_format=torch.channels_last).requires_grad_()
    skip = _rand(1, 2, 6, 10, seed=1).requires_grad_()
    weight = _rand(1, 6, 6, 10, seed=2)
    grads = []
    for fn in (upsample_cat, _reference_upsample_cat):
        (fn(h, skip) * weight).sum().backward()
        grads.append((h.grad.clone(), skip.grad.clone()))
        h.grad, skip.grad = None, None
    # the 4 copies of each value of h are summed in another order: equal up to rounding
    torch.testing.assert_close(grads[0][0], grads[1][0], rtol=1e-6, atol=1e-7)
    assert torch.equal(grads[0][1], grads[1][1])
    assert grads[0][0].abs().sum() > 0


def test_upsample_cat_casts_the_skip_to_the_features_dtype():
    h, skip = _rand(1, 2, 2, 2).double(), _rand(1, 1, 4, 4, seed=1)
    out = upsample_cat(h, skip)
    assert out.dtype == torch.float64
    assert torch.equal(out, _reference_upsample_cat(h, skip))


def test_upsample_cat_rejects_a_skip_of_the_wrong_size_quoting_both_shapes():
    with pytest.raises(ValueError, match=r"\(1, 1, 5, 4\).*\(1, 2, 2, 2\)"):
        upsample_cat(_rand(1, 2, 2, 2), _rand(1, 1, 5, 4))
