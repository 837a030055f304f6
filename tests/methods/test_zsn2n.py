import numpy as np
import pytest
import torch

from noise2x.methods.base import Batch
from noise2x.methods.zsn2n import ZeroShotNoise2Noise, ZSN2NConfig, zsn2n_loss
from noise2x.nets.zsn2n_cnn import ZSN2NNet
from noise2x.ops.downsample import pair_downsample


def _noisy(shape=(1, 1, 16, 16), seed=0):
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))


def test_loss_is_symmetric_in_the_two_downsampled_images():
    net = ZeroShotNoise2Noise().default_net(1)
    noisy = _noisy()
    swapped = zsn2n_loss(net, noisy, downsample=lambda x: pair_downsample(x)[::-1])
    torch.testing.assert_close(zsn2n_loss(net, noisy), swapped)


def test_loss_matches_the_papers_formula_written_out():
    net = ZSN2NNet(1)
    y = _noisy()
    d1, d2 = pair_downsample(y)
    g = lambda x: x - net(x)  # noqa: E731
    mse = torch.nn.functional.mse_loss
    e1, e2 = pair_downsample(g(y))
    expected = 0.5 * (mse(d1, g(d2)) + mse(d2, g(d1))) + 0.5 * (mse(g(d1), e1) + mse(g(d2), e2))
    torch.testing.assert_close(zsn2n_loss(net, y), expected)


def test_loss_is_zero_for_a_constant_image_and_a_zero_net():
    net = ZSN2NNet(1)
    for p in net.parameters():
        torch.nn.init.zeros_(p)
    assert zsn2n_loss(net, torch.full((1, 1, 8, 8), 0.3)).item() == 0.0


def test_training_loss_is_a_finite_scalar_with_gradients():
    method = ZeroShotNoise2Noise()
    net = method.default_net(3)
    loss = method.training_loss(net, Batch(noisy=_noisy((2, 3, 8, 8))), step=0)
    loss.backward()
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert all(p.grad is not None for p in net.parameters())


@pytest.mark.parametrize("precision", ["fp32", "auto"])
def test_fit_is_seeded_and_reproducible(precision):
    noisy = _noisy((1, 1, 12, 12))
    a = ZeroShotNoise2Noise(steps=4, seed=3, precision=precision).fit(noisy, device="cpu")
    b = ZeroShotNoise2Noise(steps=4, seed=3, precision=precision).fit(noisy, device="cpu")
    c = ZeroShotNoise2Noise(steps=4, seed=4, precision=precision).fit(noisy, device="cpu")
    torch.testing.assert_close(a.denoised, b.denoised, rtol=0, atol=0)
    assert not torch.equal(a.denoised, c.denoised)


@pytest.mark.parametrize("shape", [(1, 1, 9, 13), (1, 3, 10, 7), (1, 1, 2, 3)])
def test_fit_keeps_odd_and_color_shapes(shape):
    result = ZeroShotNoise2Noise(steps=2).fit(_noisy(shape), device="cpu")
    assert result.denoised.shape == shape
    assert result.denoised.dtype == torch.float32
    assert len(result.loss_history) == 2


def test_fit_logs_psnr_per_step_against_a_reference():
    clean = torch.full((1, 1, 16, 16), 0.5)
    result = ZeroShotNoise2Noise(steps=6).fit(clean + 0.1 * _noisy(), reference=clean, log_every=3)
    assert [step for step, _ in result.psnr_history] == [3, 6]


@pytest.mark.parametrize(
    "bad", [torch.zeros(1, 1, 1, 8), torch.zeros(2, 1, 8, 8), torch.zeros(8, 8)]
)
def test_fit_rejects_bad_shapes(bad):
    with pytest.raises(ValueError, match="shape"):
        ZeroShotNoise2Noise(steps=1).fit(bad)


def test_fit_rejects_nan():
    noisy = _noisy()
    noisy[0, 0, 3, 3] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        ZeroShotNoise2Noise(steps=1).fit(noisy)


@pytest.mark.parametrize(
    "kwargs", [{"steps": 0}, {"lr": -1.0}, {"schedule": "linear"}, {"precision": "fp16"}]
)
def test_config_rejects_bad_values(kwargs):
    with pytest.raises(ValueError, match="zsn2n"):
        ZSN2NConfig(**kwargs)


def test_unknown_setting_is_named():
    with pytest.raises(TypeError, match="stepz"):
        ZeroShotNoise2Noise(stepz=3)


def test_paper_preset_is_the_papers_procedure():
    cfg = ZSN2NConfig.paper()
    assert (cfg.steps, cfg.lr, cfg.schedule, cfg.decay_every, cfg.precision) == (
        2000,
        1e-3,
        "step",
        1500,
        "fp32",
    )


@pytest.mark.data
def test_zsn2n_raises_psnr_on_a_real_image(set12_image):
    clean = torch.from_numpy(set12_image)[None]
    noisy = clean + 25 / 255 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))
    result = ZeroShotNoise2Noise(steps=300).fit(noisy, reference=clean, device="cpu")
    noisy_psnr = 10 * np.log10(1 / torch.mean((noisy - clean) ** 2).item())
    gain = result.psnr_history[-1][1] - noisy_psnr
    # measured once: 6.75 dB (noisy 20.18 dB -> 26.93 dB) on the CPU; 1 dB of headroom
    assert gain > 6.75 - 1.0
