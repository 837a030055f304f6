import numpy as np
import pytest
import torch

import noise2x
from noise2x import api
from noise2x.data.scale import scale_for


def _noisy(shape, seed=0):
    rng = np.random.default_rng(seed)
    return (0.5 + 0.1 * rng.standard_normal(shape)).astype(np.float32)


def test_list_methods_includes_zsn2n():
    assert "zsn2n" in noise2x.list_methods()


@pytest.mark.parametrize(
    ("shape", "axis"), [((12, 10), 0), ((1, 12, 10), 0), ((3, 12, 10), 0), ((12, 10, 3), -1)]
)
def test_denoise_keeps_shape_and_dtype(shape, axis):
    out = noise2x.denoise(_noisy(shape), steps=2, channel_axis=axis, device="cpu")
    assert out.shape == shape and out.dtype == np.float32


def test_denoise_denoises_a_stack_frame_by_frame():
    stack = _noisy((3, 1, 8, 8))
    out = noise2x.denoise(stack, steps=2)
    assert out.shape == stack.shape


def test_denoise_restores_integer_dtype_and_range():
    rng = np.random.default_rng(0)
    image = rng.integers(1000, 3000, size=(16, 16), dtype=np.uint16)
    out = noise2x.denoise(image, steps=60)
    assert out.dtype == np.uint16
    assert 500 < out.mean() < 3500


def test_denoise_maps_any_float_range_back():
    image = (_noisy((16, 16)) - 0.5) * 2000.0 - 300.0  # like MRC densities
    out = noise2x.denoise(image, steps=60)
    assert out.dtype == np.float32
    assert image.min() - 1 <= out.min() and out.max() <= image.max() + 1
    assert abs(out.mean() - image.mean()) < 0.1 * image.std()


@pytest.mark.parametrize(
    ("array", "match"),
    [
        (np.zeros((1, 1), np.float32), "2x2"),
        (np.zeros((0, 5), np.float32), "2x2"),
        (np.full((4, 4), np.nan, np.float32), "NaN"),
        (np.zeros((2, 2, 4, 4, 1), np.float32), "shape"),
        (np.zeros((5, 4, 4), np.float32), "channels"),
        (np.zeros((4, 4), bool), "dtype"),
    ],
)
def test_denoise_rejects_bad_arrays(array, match):
    with pytest.raises(ValueError, match=match):
        noise2x.denoise(array, steps=1)


def test_unknown_method_lists_known_ones():
    with pytest.raises(KeyError, match="zsn2n"):
        api.build_method("zsn2m")


def test_auto_normalize_keeps_an_image_already_on_the_unit_scale():
    image = _noisy((16, 16)) * 1.2 - 0.1  # a noisy [0, 1] image overshooting a little
    auto = noise2x.denoise(image, steps=3, normalize="auto", clip=False)
    none = noise2x.denoise(image, steps=3, normalize="none", clip=False)
    np.testing.assert_array_equal(auto, none)


def test_auto_normalize_stretches_dim_16_bit_data():
    scale = scale_for(np.array([[1000, 3000], [2000, 2500]], np.uint16))
    assert (scale.offset, scale.scale) == (1000.0, 2000.0)
    unit = scale_for(np.array([[0, 255], [128, 30]], np.uint8))
    assert (unit.offset, unit.scale) == (0.0, 255.0)


def test_unknown_normalize_is_rejected():
    with pytest.raises(ValueError, match="normalize"):
        noise2x.denoise(_noisy((8, 8)), steps=1, normalize="zscore")


def test_importing_noise2x_and_its_cli_loads_no_lightning_hydra_or_matplotlib():
    import subprocess
    import sys

    code = (
        "import sys, noise2x, noise2x.cli, noise2x.train; "
        "print(sorted(m for m in ('lightning', 'hydra', 'matplotlib', 'omegaconf') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- restore_lines ---------------------------------------------------------------------------
def _damaged_uint16(rng: np.random.Generator) -> np.ndarray:
    image = rng.integers(10_000, 50_000, (2, 1, 16, 16), dtype=np.uint16)  # a 2-frame stack
    image[0, :, 4] = 0  # a dead black row in frame 0
    image[1, :, :, 9] = 65535  # a dead white column in frame 1
    return image


def test_restore_lines_keeps_dtype_shape_and_every_live_pixel_of_each_frame():
    image = _damaged_uint16(np.random.default_rng(0))

    out = noise2x.restore_lines(image, steps=2, passes=2, width=4, device="cpu")

    assert out.shape == image.shape and out.dtype == np.uint16
    live = np.ones_like(image, dtype=bool)
    live[0, :, 4] = False
    live[1, :, :, 9] = False
    assert np.array_equal(out[live], image[live])  # bit for bit
    assert out[0, 0, 4].min() > 0 and out[1, 0, :, 9].max() < 65535  # the dead lines filled


def test_restore_lines_with_a_mask_fills_only_the_masked_pixels_channels_last():
    rng = np.random.default_rng(1)
    image = (0.3 + 0.4 * rng.random((12, 12, 3))).astype(np.float32)
    mask = np.zeros((12, 12), bool)
    mask[:, 3] = True  # a column damaged in a way detection would not see
    image[:, 3] = 0.5

    out = noise2x.restore_lines(image, mask=mask, channel_axis=-1, steps=2, passes=2, width=4)

    assert out.shape == image.shape
    assert np.array_equal(out[~mask], image[~mask])
    assert not np.array_equal(out[mask], image[mask])


def test_restore_lines_rejects_a_mask_of_another_size():
    with pytest.raises(
        ValueError, match=r"the mask is \(8, 8\) but the image's H, W is \(12, 12\)"
    ):
        noise2x.restore_lines(np.zeros((12, 12), np.float32), mask=np.ones((8, 8), bool))


def _scene_pair(seed=0, shape=(64, 64)):
    """A smooth uint8 scene and two independent noisy uint8 views of it."""
    y, x = np.mgrid[: shape[0], : shape[1]] / 8.0
    clean = 0.5 + 0.3 * np.sin(x) * np.cos(y)
    rng = np.random.default_rng(seed)
    views = [np.clip(clean + 0.1 * rng.standard_normal(shape), 0, 1) for _ in range(2)]
    return [np.round(v * 255).astype(np.uint8) for v in (clean, *views)]


def test_finetune_returns_both_images_in_their_dtype_and_what_the_cli_writes(
    tmp_path, trained_checkpoint
):
    """noise2x.finetune is what `noise2x finetune` runs: the CLI writes the API's arrays."""
    from typer.testing import CliRunner

    from noise2x.cli import app
    from noise2x.data.io import read_image, write_image

    clean, a, b = _scene_pair()
    tuned = noise2x.finetune(a, b, trained_checkpoint, steps=4, device="cpu", compare=True)
    for out in (tuned.denoised_a, tuned.denoised_b, tuned.pretrained_a, tuned.pretrained_b):
        assert out.shape == (64, 64) and out.dtype == np.uint8
    assert tuned.result.steps <= 4 and tuned.denoiser.channels == 1
    assert tuned.pretrained is not tuned.denoiser
    write_image(tmp_path / "a.png", (a[None] / 255).astype(np.float32))  # saved as uint8 a
    write_image(tmp_path / "b.png", (b[None] / 255).astype(np.float32))
    result = CliRunner().invoke(
        app,
        ["finetune", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--checkpoint",
         str(trained_checkpoint), "-o", str(tmp_path / "out"), "--steps", "4", "--device", "cpu"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    written, _ = read_image(tmp_path / "out" / "a.png")
    assert np.array_equal(np.round(written[0] * 255).astype(np.uint8), tuned.denoised_a)


def test_finetune_refuses_identical_or_mismatched_images(trained_checkpoint):
    _, a, b = _scene_pair()
    with pytest.raises(ValueError, match="identical"):
        noise2x.finetune(a, a, trained_checkpoint, steps=1, device="cpu")
    with pytest.raises(ValueError, match="same size"):
        noise2x.finetune(a, b[:32], trained_checkpoint, steps=1, device="cpu")
    with pytest.raises(ValueError, match="channel"):
        noise2x.finetune(np.stack([a] * 3), np.stack([b] * 3), trained_checkpoint, steps=1)


def test_evaluate_scores_like_scikit_image_with_the_dtype_range():
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    clean, noisy, _ = _scene_pair()
    scores = noise2x.evaluate(noisy, clean)
    assert scores["psnr_db"] == pytest.approx(
        peak_signal_noise_ratio(clean, noisy, data_range=255), abs=1e-9
    )
    assert scores["ssim"] == pytest.approx(
        structural_similarity(clean, noisy, data_range=255, gaussian_weights=True, sigma=1.5,
                              use_sample_covariance=False), abs=1e-6,
    )  # fmt: skip
    stack = noise2x.evaluate(np.stack([noisy, clean])[:, None], np.stack([clean, clean])[:, None])
    assert stack["psnr_db"] == float("inf")  # the mean over frames, one of them perfect
    with pytest.raises(ValueError, match="differs"):
        noise2x.evaluate(noisy, clean[:8])


def test_checkpoint_denoising_self_ensembles_and_checks_the_size(trained_checkpoint):
    """ensemble=N averages N flips / rotations of the model's output: same shape and dtype,
    a different (averaged) result, and the same as averaging the transforms by hand."""
    from noise2x.ops.ensemble import dihedral

    _, noisy, _ = _scene_pair(shape=(40, 48))
    noisy = (noisy / 255.0).astype(np.float32)

    def model(x, **params):
        return noise2x.denoise(
            x, checkpoint=trained_checkpoint, device="cpu", normalize="none", **params
        )

    one, eight = model(noisy), model(noisy, ensemble=8)
    assert eight.shape == one.shape == noisy.shape and eight.dtype == np.float32
    assert np.abs(eight - one).max() > 1e-4
    x = torch.from_numpy(noisy)[None, None]
    by_hand = [
        dihedral(torch.from_numpy(model(dihedral(x, k)[0, 0].numpy()))[None, None], k, True)
        for k in range(8)
    ]
    assert np.allclose(eight, torch.cat(by_hand).mean(0)[0].numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="ensemble must be an integer 1-8, got 9"):
        model(noisy, ensemble=9)
