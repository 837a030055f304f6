"""BM3D, the classical baseline: a method without training, sigma given or estimated."""

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import noise2x
from noise2x.cli import app
from noise2x.data.io import read_image, write_image
from noise2x.methods.bm3d import BM3D, bm3d_denoise
from noise2x.metrics import psnr_np
from noise2x.noise import add_noise
from noise2x.noise.estimate import estimate_sigma


def _set12_crop(data_path, size: int = 128) -> np.ndarray:
    clean, _ = read_image(data_path("Set12", "05.png"))
    return np.ascontiguousarray(clean[:, 64 : 64 + size, 64 : 64 + size])


@pytest.mark.data
def test_bm3d_on_a_real_image_gains_over_6_db_with_the_true_or_the_estimated_sigma(data_path):
    clean = _set12_crop(data_path)
    noisy = add_noise(torch.from_numpy(clean)[None], "gaussian", seed=3, sigma=25.0)

    given = BM3D(sigma=25.0).fit(noisy).denoised[0].numpy()
    estimated = BM3D().fit(noisy).denoised[0].numpy()

    before = psnr_np(np.clip(noisy[0].numpy(), 0, 1), clean, 1.0)
    assert psnr_np(given, clean, 1.0) > before + 6.0
    assert abs(psnr_np(estimated, clean, 1.0) - psnr_np(given, clean, 1.0)) < 0.3
    assert abs(estimate_sigma(noisy[0].numpy()) * 255 - 25.0) < 2.5


def test_bm3d_colour_goes_through_the_rgb_filter_and_keeps_the_shape():
    rng = np.random.default_rng(0)
    clean = np.broadcast_to(np.linspace(0.2, 0.8, 24, dtype=np.float32), (3, 24, 24)).copy()
    noisy = clean + rng.normal(0, 0.1, clean.shape).astype(np.float32)

    out = bm3d_denoise(noisy, 0.1)

    assert out.shape == clean.shape and out.dtype == np.float32
    assert psnr_np(out, clean, 1.0) > psnr_np(noisy, clean, 1.0) + 5.0


@pytest.mark.parametrize(
    ("shape", "sigma", "message"),
    [
        ((2, 16, 16), 0.1, "expected 1 or 3 channels, got 2"),
        ((1, 6, 16), 0.1, "needs at least 8x8 pixels, got 6x16"),
        ((1, 16, 16), 0.0, "sigma must be a positive number"),
    ],
)
def test_bm3d_denoise_rejects_bad_input(shape, sigma, message):
    with pytest.raises(ValueError, match=message):
        bm3d_denoise(np.zeros(shape, np.float32), sigma)


def test_bm3d_settings_are_checked_and_there_is_nothing_to_train():
    with pytest.raises(ValueError, match="sigma must be a positive number or None"):
        BM3D(sigma=-1.0)
    with pytest.raises(TypeError, match=r"unknown setting\(s\) \['steps'\]"):
        BM3D(steps=10)
    assert not BM3D.trainable  # a classical filter: no network, no loss to call
    assert not hasattr(BM3D(), "default_net") and not hasattr(BM3D(), "training_loss")


def test_api_denoise_with_bm3d_keeps_dtype():
    image = (np.random.default_rng(1).random((16, 16)) * 255).astype(np.uint8)

    out = noise2x.denoise(image, method="bm3d", sigma=20.0)

    assert out.shape == image.shape and out.dtype == np.uint8


def test_cli_denoise_with_bm3d_and_options_that_do_not_apply(tmp_path):
    image = (np.random.default_rng(2).random((1, 16, 16))).astype(np.float32)
    write_image(tmp_path / "in" / "a.tif", image)
    runner = CliRunner()

    done = runner.invoke(
        app, ["denoise", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--method", "bm3d"]
    )
    steps = runner.invoke(
        app,
        [
            "denoise",
            str(tmp_path / "in"),
            "-o",
            str(tmp_path / "x"),
            "--method",
            "bm3d",
            "--steps",
            "5",
        ],
    )
    sigma = runner.invoke(
        app, ["denoise", str(tmp_path / "in"), "-o", str(tmp_path / "y"), "--sigma", "25"]
    )

    assert done.exit_code == 0, done.output
    assert read_image(tmp_path / "out" / "a.tif")[0].shape == image.shape
    assert steps.exit_code == 2 and "--steps does not apply to --method bm3d" in steps.output
    assert sigma.exit_code == 2 and "--sigma does not apply to --method prior" in sigma.output


def test_bm3d_on_a_grey_picture_saved_as_rgb_is_finite_and_equals_the_grey_result():
    """Regression: bm3d_rgb returned all-NaN for three equal channels (issue 14)."""
    from noise2x.methods.bm3d import bm3d_denoise

    rng = np.random.default_rng(0)
    grey = np.clip(0.5 + 0.1 * rng.standard_normal((1, 48, 48)), 0, 1).astype(np.float32)
    rgb = np.repeat(grey, 3, axis=0)
    out = bm3d_denoise(rgb, 25 / 255)
    assert np.isfinite(out).all()
    grey_out = np.repeat(bm3d_denoise(grey, 25 / 255), 3, axis=0)
    np.testing.assert_allclose(out, grey_out, atol=1e-3)  # bm3d itself varies by up to ~5e-5
