import numpy as np
import pytest
import torch

from noise2x.data.io import read_image
from noise2x.methods import METHODS
from noise2x.methods.base import Batch
from noise2x.methods.self2self import (
    Self2Self,
    Self2SelfConfig,
    bernoulli_mask,
    self2self_loss,
)
from noise2x.metrics import psnr
from noise2x.nets.self2self_unet import Self2SelfUNet
from noise2x.noise import add_noise

TINY = dict(width=4, passes=2)


def _rand(*shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def test_self2self_is_registered():
    assert METHODS.get("self2self") is Self2Self
    assert Self2Self.single_image


def test_paper_preset_is_the_papers_schedule():
    cfg = Self2SelfConfig.paper()
    assert (cfg.steps, cfg.lr, cfg.schedule, cfg.passes) == (150_000, 1e-4, "constant", 100)
    assert (cfg.keep_prob, cfg.dropout, cfg.width, cfg.flips) == (0.7, 0.3, 48, True)
    assert cfg.precision == "fp32" and not cfg.channels_last


@pytest.mark.parametrize(
    "bad", [dict(steps=0), dict(keep_prob=1.0), dict(dropout=1.0), dict(lr=0.0), dict(passes=0)]
)
def test_config_rejects_out_of_range_settings(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        Self2SelfConfig(**bad)


def test_unknown_setting_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match="stpes"):
        Self2Self(stpes=3)


def test_bernoulli_mask_keeps_the_requested_fraction_per_entry():
    mask = bernoulli_mask(torch.zeros(2, 3, 64, 64), 0.7, torch.Generator().manual_seed(0))
    assert mask.shape == (2, 3, 64, 64)
    assert abs(mask.mean().item() - 0.7) < 0.01  # 24,576 draws: std 0.003
    assert not torch.equal(mask[:, 0], mask[:, 1])  # channels drawn independently


def test_loss_is_taken_on_the_hidden_pixels_only():
    net = Self2SelfUNet(1, width=4).eval()
    noisy = _rand(1, 1, 16, 16)
    keep = bernoulli_mask(noisy, 0.7, torch.Generator().manual_seed(1))
    changed = noisy.clone()
    changed[keep.bool()] += 0.5  # kept pixels change: input changes, so the loss does
    out = net(noisy * keep, keep)
    expected = ((out - noisy) ** 2 * (1 - keep)).sum() / (1 - keep).sum()
    torch.testing.assert_close(self2self_loss(net, noisy, keep), expected)
    weight = torch.zeros_like(keep)
    assert self2self_loss(net, noisy, keep, weight).item() == 0.0


def test_training_loss_is_finite_with_gradients_for_color():
    method = Self2Self(**TINY)
    net = method.default_net(3)
    loss = method.training_loss(net, Batch(noisy=_rand(2, 3, 16, 16)), step=0)
    loss.backward()
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert all(p.grad is not None for p in net.parameters())


@pytest.mark.parametrize("precision", ["fp32", "auto"])
def test_fit_is_seeded_and_reproducible(precision):
    noisy = _rand(1, 1, 12, 12)
    kw = dict(steps=3, precision=precision, **TINY)
    a = Self2Self(seed=3, **kw).fit(noisy, device="cpu")
    b = Self2Self(seed=3, **kw).fit(noisy, device="cpu")
    c = Self2Self(seed=4, **kw).fit(noisy, device="cpu")
    assert torch.equal(a.denoised, b.denoised)
    assert not torch.equal(a.denoised, c.denoised)


@pytest.mark.parametrize("shape", [(1, 1, 9, 13), (1, 3, 10, 7), (1, 1, 2, 3)])
def test_fit_keeps_odd_and_color_shapes(shape):
    result = Self2Self(steps=2, **TINY).fit(_rand(*shape), device="cpu")
    assert result.denoised.shape == shape and result.denoised.dtype == torch.float32
    assert len(result.loss_history) == 2 and result.seconds > 0


def test_fit_logs_psnr_against_a_reference_and_reports_progress():
    calls = []
    result = Self2Self(steps=20, **TINY).fit(
        _rand(1, 1, 8, 8),
        reference=_rand(1, 1, 8, 8, seed=1),
        device="cpu",
        progress=lambda done, total: calls.append((done, total)),
        log_every=10,
    )
    assert [s for s, _ in result.psnr_history] == [10, 20]
    assert calls == [(10, 20), (20, 20)]


def test_fit_rejects_a_batch_and_nan():
    with pytest.raises(ValueError, match=r"\(2, 1, 8, 8\)"):
        Self2Self(**TINY).fit(torch.zeros(2, 1, 8, 8))
    bad = torch.zeros(1, 1, 8, 8)
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        Self2Self(**TINY).fit(bad)


def test_ensemble_batches_do_not_change_the_result_distribution():
    # Same passes run one at a time or all together: the same mean up to the random draws,
    # and every pass is used once (the mean of a constant net output is that output).
    method_one = Self2Self(passes=6, pass_batch=1, width=4)
    method_all = Self2Self(passes=6, pass_batch=6, width=4)
    net = method_one.default_net(1)
    noisy = _rand(1, 1, 16, 16)
    a, b = method_one.denoise(net, noisy), method_all.denoise(net, noisy)
    assert a.shape == b.shape == noisy.shape
    assert (a - b).abs().mean() < 0.05


def test_denoise_keeps_dropout_on_and_restores_the_mode():
    method = Self2Self(passes=1, width=4)
    net = method.default_net(1).eval()
    noisy = _rand(1, 1, 16, 16)
    assert not torch.equal(method.denoise(net, noisy), method.denoise(net, noisy))
    assert not net.training


@pytest.mark.data
def test_self2self_raises_psnr_on_a_real_crop_at_sigma_25(data_path):
    clean, _ = read_image(data_path("Set12", "05.png"))
    clean = torch.from_numpy(np.ascontiguousarray(clean[:, 96:160, 96:160]))[None]
    noisy = add_noise(clean, "gaussian", seed=0, sigma=25)
    result = Self2Self(steps=150, passes=16).fit(noisy, device="cpu")
    gain = (psnr(result.denoised, clean) - psnr(noisy, clean)).item()
    assert gain > 2.0  # measured: +2.43 dB (bf16 autocast; 20.2 -> 22.6 dB)


@pytest.mark.data
def test_self2self_never_returns_a_constant_image_for_a_dark_crop(set12_image):
    """Regression (issue 14): a dark 64x64 crop of Set12/01 collapsed to all 0 at lr 1e-3.

    The collapse is detected, said (CollapseWarning) and trained again at a tenth of the rate.
    """
    from noise2x.methods.base import CollapseWarning

    crop = torch.from_numpy(set12_image[:, 64:128, 64:128])[None]
    with pytest.warns(CollapseWarning, match="collapsed to a constant image"):
        out = Self2Self(steps=100).fit(crop, device="cpu").denoised
    assert float(out.max() - out.min()) > 0.1
