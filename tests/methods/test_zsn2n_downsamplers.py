"""Zero-Shot Noise2Noise with every registered pair downsampler (issue 6)."""

import numpy as np
import pytest
import torch

import noise2x
from noise2x.methods.base import Batch
from noise2x.methods.zsn2n import ZeroShotNoise2Noise, ZSN2NConfig, zsn2n_loss
from noise2x.nets.zsn2n_cnn import ZSN2NNet
from noise2x.ops.downsamplers import DOWNSAMPLERS, pair_downsample


def _set12_crop(data_path, rows: slice, cols: slice) -> tuple[torch.Tensor, torch.Tensor]:
    """A crop of Set12/01.png in [0, 1] as (1, 1, h, w), and it plus Gaussian noise sigma=25."""
    import imageio.v3 as iio

    image = iio.imread(data_path("Set12", "01.png")).astype(np.float32) / 255.0
    clean = torch.from_numpy(np.ascontiguousarray(image[rows, cols]))[None, None]
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))
    return clean, clean + 25 / 255 * noise


@pytest.mark.data
@pytest.mark.parametrize("name", DOWNSAMPLERS.names())
def test_fit_runs_with_every_downsampler_on_a_real_odd_crop(data_path, name):
    _, noisy = _set12_crop(
        data_path, slice(100, 141), slice(100, 138)
    )  # 41 x 38: padded to the cell
    result = ZeroShotNoise2Noise(steps=3, downsampler=name, precision="fp32").fit(
        noisy, device="cpu"
    )
    assert result.denoised.shape == noisy.shape
    assert torch.isfinite(result.denoised).all()
    assert len(result.loss_history) == 3 and np.isfinite(result.loss_history).all()


@pytest.mark.data
def test_default_downsampler_gives_the_results_from_before_the_setting(data_path):
    _, noisy = _set12_crop(data_path, slice(96, 160), slice(96, 160))
    default = ZeroShotNoise2Noise(steps=20, seed=0, precision="fp32").fit(noisy, device="cpu")
    named = ZeroShotNoise2Noise(steps=20, seed=0, precision="fp32", downsampler="diagonal").fit(
        noisy, device="cpu"
    )
    assert torch.equal(default.denoised, named.denoised)
    # measured with the code before the downsampler setting existed (same crop, noise, seed)
    assert default.denoised.double().sum().item() == pytest.approx(1313.0694720018655, abs=1e-3)
    torch.testing.assert_close(
        default.denoised[0, 0, 10, 10:14],
        torch.tensor([0.0, 0.15731722116470337, 0.024103570729494095, 0.22751262784004211]),
        rtol=0,
        atol=1e-5,
    )
    assert default.loss_history[-1] == pytest.approx(0.01145261898636818, rel=1e-4)


def test_default_config_is_the_papers_diagonal_pair():
    assert ZSN2NConfig().downsampler == "diagonal"
    assert ZSN2NConfig.paper().downsampler == "diagonal"
    assert DOWNSAMPLERS.get("diagonal").function is pair_downsample


def test_training_loss_with_a_random_downsampler_uses_one_draw_for_y_and_g_y():
    method = ZeroShotNoise2Noise(downsampler="random_neighbor", seed=7)
    net = method.default_net(1)
    noisy = torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    generator = torch.Generator().manual_seed(7)  # the method's own generator, same seed
    split = DOWNSAMPLERS.get("random_neighbor").draw(noisy, generator)
    expected = zsn2n_loss(net, noisy, split)
    torch.testing.assert_close(method.training_loss(net, Batch(noisy=noisy), step=0), expected)
    # the next step draws afresh
    second = method.training_loss(net, Batch(noisy=noisy), step=1)
    assert not torch.equal(second, expected)


def test_loss_with_independent_draws_for_y_and_g_y_would_differ():
    net = ZSN2NNet(1)
    noisy = torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    entry = DOWNSAMPLERS.get("random_neighbor")
    one = entry.draw(noisy, torch.Generator().manual_seed(1))
    other = entry.draw(noisy, torch.Generator().manual_seed(2))
    same = zsn2n_loss(net, noisy, one)
    mixed = zsn2n_loss(net, noisy, lambda x: one(x) if x is noisy else other(x))
    assert not torch.equal(same, mixed)


@pytest.mark.parametrize("name", DOWNSAMPLERS.names())
def test_loss_is_zero_for_a_constant_image_and_a_zero_net(name):
    net = ZSN2NNet(1)
    for p in net.parameters():
        torch.nn.init.zeros_(p)
    noisy = torch.full((1, 1, 12, 12), 0.3)
    split = DOWNSAMPLERS.get(name).draw(noisy, torch.Generator().manual_seed(0))
    assert zsn2n_loss(net, noisy, split).item() == pytest.approx(0.0, abs=1e-12)


def test_fit_with_a_random_downsampler_is_seeded():
    noisy = torch.rand(1, 1, 12, 12, generator=torch.Generator().manual_seed(0))

    def fit(seed):
        method = ZeroShotNoise2Noise(steps=4, seed=seed, downsampler="avg_stochastic")
        return method.fit(noisy, device="cpu").denoised

    assert torch.equal(fit(3), fit(3))
    assert not torch.equal(fit(3), fit(4))


def test_training_loss_rejects_a_batch_off_the_cell_naming_the_shape():
    method = ZeroShotNoise2Noise(downsampler="cross_corners")
    with pytest.raises(ValueError, match=r"multiples of 3.*\(1, 1, 16, 16\)"):
        method.training_loss(method.default_net(1), Batch(noisy=torch.rand(1, 1, 16, 16)), 0)


def test_unknown_downsampler_is_a_config_error_with_a_suggestion():
    with pytest.raises(
        ValueError, match="zsn2n: unknown downsampler.*Did you mean 'random_neighbor'"
    ):
        ZeroShotNoise2Noise(downsampler="random_neighbour")
    with pytest.raises(ValueError, match="zsn2n: downsampler must be a name"):
        ZSN2NConfig(downsampler=pair_downsample)


def test_api_denoise_passes_the_downsampler_to_zsn2n():
    noisy = np.random.default_rng(0).random((9, 10), dtype=np.float32)
    out = noise2x.denoise(noisy, method="zsn2n", downsampler="cross_corners", steps=2)
    assert out.shape == noisy.shape and out.dtype == noisy.dtype
    with pytest.raises(ValueError, match="known: .*random_neighbor"):
        noise2x.denoise(noisy, method="zsn2n", downsampler="nope", steps=2)
