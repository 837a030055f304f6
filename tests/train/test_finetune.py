"""Symmetric fine-tuning on one noisy pair: the guard, the effect, the CLI."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from noise2x.cli import app, finetune_cmd
from noise2x.data.io import read_image, write_image
from noise2x.metrics import psnr_np
from noise2x.train.checkpoint import load_denoiser
from noise2x.train.finetune import (
    DEFAULT_LR,
    DEFAULT_STEPS,
    _sample_crops,
    finetune,
    holdout_tiles,
    save_finetuned_checkpoint,
)
from noise2x.train.loop import allowed_starts

FAST = {"steps": 4, "crop": 32, "batch_size": 2, "eval_every": 2}


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _pair(clean: np.ndarray, std: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Two independent Gaussian noise draws (seeds 1 and 2) of `clean`, float32, not clipped."""
    draws = [np.random.default_rng(seed).standard_normal(clean.shape) for seed in (1, 2)]
    return tuple((clean + std * d).astype(np.float32) for d in draws)


def _weights(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


# --------------------------------------------------------------------------- held-out tiles


def test_training_crops_never_touch_a_held_out_tile():
    corners = holdout_tiles(96, 128, 32, 0.25, torch.Generator().manual_seed(3))
    held = np.zeros((96, 128), bool)
    for row, col in corners.tolist():
        held[row : row + 32, col : col + 32] = True
    marked = torch.from_numpy(held.astype(np.float32))[None, None]  # 1 on held-out pixels

    allowed = allowed_starts(96, 128, 40, corners, 32)
    crops, _ = _sample_crops(marked, marked, allowed, 40, 64, torch.Generator().manual_seed(0))

    assert len(corners) == 3  # round(0.25 * 12)
    assert allowed.shape == (57, 89) and allowed.any()
    assert not any(held[r : r + 40, c : c + 40].any() for r, c in allowed.nonzero().tolist())
    assert crops.shape == (64, 1, 40, 40) and crops.sum() == 0


def test_holdout_tiles_rejects_a_grid_of_one_tile():
    with pytest.raises(ValueError, match="need at least 2"):
        holdout_tiles(40, 40, 32, 0.1, torch.Generator())


# --------------------------------------------------------------------------- the guard


@pytest.mark.data
def test_guard_keeps_the_pretrained_weights_when_the_held_out_loss_gets_worse(
    trained_checkpoint, set12_image
):
    denoiser = load_denoiser(trained_checkpoint)
    before = _weights(denoiser.net)
    noisy_a, noisy_b = _pair(set12_image[:, :96, :96])

    result = finetune(
        denoiser, torch.from_numpy(noisy_a), torch.from_numpy(noisy_b), lr=10.0, warmup=0, **FAST
    )

    assert result.kept_pretrained and result.best_step == 0
    assert all(loss > result.holdout_before for _, loss in result.holdout_history[1:])
    assert result.holdout_after == result.holdout_before
    after = _weights(result.net)
    assert all(torch.equal(after[k], before[k]) for k in before)
    assert all(torch.equal(v, before[k]) for k, v in _weights(denoiser.net).items())  # untouched


def test_finetune_rejects_images_of_different_sizes(trained_checkpoint):
    denoiser = load_denoiser(trained_checkpoint)
    with pytest.raises(ValueError, match=r"\(1, 64, 64\) and \(1, 64, 80\)"):
        finetune(denoiser, torch.zeros(1, 64, 64), torch.zeros(1, 64, 80), **FAST)


def test_finetune_rejects_a_bad_learning_rate(trained_checkpoint):
    denoiser = load_denoiser(trained_checkpoint)
    with pytest.raises(ValueError, match="lr must be > 0"):
        finetune(denoiser, torch.rand(1, 64, 64), torch.rand(1, 64, 64), lr=0.0)


# --------------------------------------------------------------------------- effect


@pytest.fixture(scope="module")
def denoising_checkpoint(data_path, tmp_path_factory) -> Path:
    """A grey U-Net (width 8) that denoises: 600 steps on Set12 crops at sigma 25.5 (~12 s)."""
    from noise2x.train.runs import train

    result = train(
        [
            f"data.root={data_path('Set12')}",
            "data.val_count=1",  # 12.png is held out of training
            "data.patch_size=32",
            "data.batch_size=4",
            "data.num_workers=0",
            "data.fixed_noise=false",
            "data.samples_per_epoch=100000",  # one epoch: no validation pass on the way
            "noise.sigma=25.5",
            "net.width=8",
            "optim.lr=3e-3",
            "trainer.max_steps=600",
            "trainer.threads=1",
            "trainer.progress_bar=false",
            "logger=none",
            f"run.root={tmp_path_factory.mktemp('runs')}",
        ]
    )
    return result.last_checkpoint


@pytest.mark.data
@pytest.mark.slow
def test_finetuning_on_a_real_pair_does_not_lower_psnr(data_path, denoising_checkpoint):
    denoiser = load_denoiser(denoising_checkpoint)
    clean = read_image(data_path("Set12", "12.png"))[0][:, 64:192, 64:192]
    noisy_a, noisy_b = _pair(clean)
    pair = [torch.from_numpy(noisy_a), torch.from_numpy(noisy_b)]
    with torch.no_grad():
        pretrained = denoiser(pair[0][None])[0].clamp(0, 1).numpy()

    result = finetune(denoiser, *pair, steps=40, eval_every=5, batch_size=4)

    with torch.no_grad():
        tuned = result.net(pair[0][None])[0].clamp(0, 1).numpy()
    before, after = psnr_np(pretrained, clean, 1.0), psnr_np(tuned, clean, 1.0)
    assert before > psnr_np(noisy_a, clean, 1.0) + 2.0  # the model does denoise
    assert after >= before, (before, after, result.holdout_history)


# --------------------------------------------------------------------------- checkpoint


def test_saved_checkpoint_loads_with_the_original_config(tmp_path, trained_checkpoint):
    denoiser = load_denoiser(trained_checkpoint)
    result = finetune(denoiser, torch.rand(1, 64, 64), torch.rand(1, 64, 64), **FAST)
    path = save_finetuned_checkpoint(tmp_path / "ft.ckpt", denoiser, result)

    loaded = load_denoiser(path)

    assert loaded.config == denoiser.config and loaded.step == denoiser.step
    assert all(torch.equal(v, _weights(result.net)[k]) for k, v in _weights(loaded.net).items())
    with pytest.raises(FileExistsError, match="--overwrite"):
        save_finetuned_checkpoint(path, denoiser, result)


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def noisy_pair(tmp_path):
    """Two noisy 96x96 views of a synthetic scene as float32 TIFFs, and the clean one as PNG."""
    y, x = np.mgrid[0:96, 0:96] / 96.0
    clean = (0.2 + 0.6 * x * (y > 0.5) + 0.3 * ((x - 0.3) ** 2 + (y - 0.3) ** 2 < 0.04))[None]
    noisy_a, noisy_b = _pair(clean.astype(np.float32))
    a = write_image(tmp_path / "a" / "scan.tif", noisy_a)
    b = write_image(tmp_path / "b" / "scan2.tif", noisy_b)
    ref = write_image(tmp_path / "clean.png", clean)
    return a, b, ref


def test_cli_finetune_writes_both_images_and_a_loadable_checkpoint(
    tmp_path, trained_checkpoint, noisy_pair
):
    a, b, ref = noisy_pair
    out = tmp_path / "out"

    result = run(
        "finetune", a, b, "--checkpoint", trained_checkpoint, "-o", out,
        "--steps", "3", "--device", "cpu", "--reference", ref,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    for name, source in (("scan.tif", a), ("scan2.tif", b)):
        image, meta = read_image(out / name)
        assert image.shape == read_image(source)[0].shape and meta.dtype == "float32"
    assert load_denoiser(out / "finetuned.ckpt").config == load_denoiser(trained_checkpoint).config
    assert "held-out loss" in result.stdout and "guard:" in result.stdout
    assert "fine-tuned" in result.stdout  # the PSNR/SSIM table of --reference


def test_cli_finetune_refuses_to_overwrite(tmp_path, trained_checkpoint, noisy_pair):
    a, b, _ = noisy_pair
    out = tmp_path / "out"
    write_image(out / "scan.tif", np.zeros((1, 8, 8), np.float32))

    result = run("finetune", a, b, "--checkpoint", trained_checkpoint, "-o", out)

    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and "scan.tif" in errors[0] and "--overwrite" in errors[0]
    assert sorted(p.name for p in out.iterdir()) == ["scan.tif"]
    assert read_image(out / "scan.tif")[0].shape == (1, 8, 8)


def test_cli_finetune_names_both_files_on_a_size_mismatch(tmp_path, trained_checkpoint, noisy_pair):
    a, _, _ = noisy_pair
    b = write_image(tmp_path / "small.tif", np.zeros((1, 96, 64), np.float32))

    result = run("finetune", a, b, "--checkpoint", trained_checkpoint, "-o", tmp_path / "out")

    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1, result.stderr
    assert str(a) in errors[0] and str(b) in errors[0] and "same size" in errors[0]
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_cli_finetune_refuses_the_same_image_twice(tmp_path, trained_checkpoint, noisy_pair):
    a, _, _ = noisy_pair

    result = run("finetune", a, a, "--checkpoint", trained_checkpoint, "-o", tmp_path / "out")

    assert result.exit_code == 1
    assert "identical" in result.stderr


def test_cli_finetune_rejects_a_bad_holdout_fraction(tmp_path, trained_checkpoint, noisy_pair):
    a, b, _ = noisy_pair

    result = run(
        "finetune", a, b, "--checkpoint", trained_checkpoint, "-o", tmp_path, "--holdout", "1.5"
    )

    assert result.exit_code == 2
    assert "--holdout must be in (0, 1)" in result.stderr


def test_cli_finetune_defaults_are_the_library_defaults():
    parameters = inspect.signature(finetune_cmd).parameters
    assert parameters["steps"].default == DEFAULT_STEPS
    assert parameters["lr"].default == DEFAULT_LR
    assert (
        parameters["holdout"].default == inspect.signature(finetune).parameters["holdout"].default
    )
