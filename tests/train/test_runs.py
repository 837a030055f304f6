"""End-to-end training on small crops of real images (Set12), on the CPU."""

import csv
import os
import signal
import subprocess
import sys
import time

import lightning.pytorch as pl
import numpy as np
import pytest
import torch

from noise2x.train.checkpoint import load_denoiser
from noise2x.train.config import ConfigError
from noise2x.train.lock import RunInUse
from noise2x.train.runs import train


def tiny(data_path, tmp_path, *extra):
    """A small, fast config on Set12 (10 training images, 2 held out for validation)."""
    return [
        f"data.root={data_path('Set12')}",
        "data.val_count=2",
        "data.patch_size=48",
        "data.batch_size=4",
        "data.samples_per_epoch=40",
        "data.num_workers=0",
        "net.width=16",
        "optim.lr=1e-3",
        "trainer.threads=1",
        "trainer.progress_bar=false",
        "logger=none",
        f"run.root={tmp_path / 'runs'}",
        *extra,
    ]


class StopTraining(RuntimeError):
    """Raised by a callback to end a fit mid-epoch, as a crash would."""


class LossRecorder(pl.Callback):
    """Record (global step before the update, loss) of every training batch."""

    def __init__(self, stop_at: int | None = None) -> None:
        self.losses: dict[int, float] = {}
        self.stop_at = stop_at

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        self.losses[trainer.global_step - 1] = float(outputs["loss"])
        if self.stop_at is not None and trainer.global_step == self.stop_at:
            raise StopTraining(f"stopped at step {self.stop_at}")


def val_psnr_by_step(run_dir):
    rows = list(csv.DictReader(open(run_dir / "csv" / "metrics.csv")))
    return [float(r["val/psnr_db"]) for r in rows if r.get("val/psnr_db")]


@pytest.mark.data
@pytest.mark.slow
def test_training_lowers_the_loss_and_raises_validation_psnr(data_path, tmp_path):
    recorder = LossRecorder()
    result = train(
        tiny(data_path, tmp_path, "trainer.max_steps=80", "trainer.val_every_n_steps=20"),
        callbacks=[recorder],
    )
    losses = [recorder.losses[s] for s in sorted(recorder.losses)]
    psnrs = val_psnr_by_step(result.run_dir)
    # measured: loss 0.40 -> 0.02, val PSNR 17.8 -> 23.3 dB (noisy input: 20.2 dB)
    assert sum(losses[-10:]) < 0.2 * sum(losses[:10])
    assert psnrs[-1] > psnrs[0] + 3.0
    assert result.val_psnr_db > 21.5 and result.steps == 80
    assert (result.run_dir / "config.yaml").is_file()
    assert sorted(p.name for p in (result.run_dir / "checkpoints").iterdir()) == [
        "best.ckpt",
        "last.ckpt",
    ]
    assert list((result.run_dir / "samples").glob("step-*.png"))


@pytest.mark.data
@pytest.mark.slow
def test_resume_continues_at_the_same_step_with_the_same_next_loss(data_path, tmp_path):
    overrides = tiny(
        data_path, tmp_path, "trainer.max_steps=24", "trainer.checkpoint_every_n_steps=8"
    )
    whole = LossRecorder()
    complete = train(overrides, callbacks=[whole])

    with pytest.raises(StopTraining):
        train(overrides, callbacks=[LossRecorder(stop_at=13)])
    (run_dir,) = [p for p in (tmp_path / "runs" / "n2n").iterdir() if p != complete.run_dir]
    saved = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert saved["global_step"] == 8  # the last checkpoint before the crash
    logged = {f: f.read_bytes() for f in (run_dir / "csv").glob("*")}
    resumed = LossRecorder()
    second = train(resume=run_dir, callbacks=[resumed])
    assert all(f.read_bytes() == data for f, data in logged.items())  # earlier logs are kept
    if logged:
        assert (run_dir / "csv-2" / "metrics.csv").is_file()

    assert second.run_dir == run_dir and second.steps == 24
    start = min(resumed.losses)
    assert start == saved["global_step"]
    for step, loss in resumed.losses.items():
        assert loss == pytest.approx(whole.losses[step], rel=1e-6, abs=1e-9), step


def test_resume_refuses_to_change_the_model(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("seed: 0\n")
    with pytest.raises((ConfigError, ValueError)):
        train(["net.width=8"], resume=run)


def test_resume_of_a_folder_that_is_not_a_run_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.yaml"):
        train(resume=tmp_path)


@pytest.mark.data
def test_every_run_gets_a_new_directory_and_a_usable_checkpoint(data_path, tmp_path):
    overrides = tiny(
        data_path, tmp_path, "trainer.max_steps=2", "data.val_count=1", "data.val_max_images=1"
    )
    a, b = train(overrides), train(overrides)
    assert a.run_dir != b.run_dir and a.run_dir.parent == b.run_dir.parent
    denoiser = load_denoiser(a.last_checkpoint)
    noisy = torch.rand(1, 1, 40, 52)
    assert denoiser(noisy).shape == noisy.shape and denoiser.step == 2


@pytest.mark.data
def test_missing_training_folder_is_named(data_path, tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        train(tiny(data_path, tmp_path) + [f"data.root={tmp_path / 'nowhere'}"])


def test_load_denoiser_rejects_a_file_that_is_not_a_checkpoint(tmp_path):
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="bad.ckpt"):
        load_denoiser(bad)
    torch.save({"state_dict": {}}, tmp_path / "other.ckpt")
    with pytest.raises(ValueError, match="not a noise2x checkpoint"):
        load_denoiser(tmp_path / "other.ckpt")


@pytest.mark.data
@pytest.mark.slow
def test_a_run_killed_with_sigkill_resumes_from_its_last_checkpoint(data_path, tmp_path):
    overrides = tiny(
        data_path, tmp_path, "trainer.max_steps=400", "trainer.checkpoint_every_n_steps=5"
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "noise2x", "train", *overrides],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 240
        last = None
        while time.monotonic() < deadline:
            found = list((tmp_path / "runs").glob("n2n/*/checkpoints/last.ckpt"))
            if found and torch.load(found[0], weights_only=True)["global_step"] >= 10:
                last = found[0]
                break
            time.sleep(0.5)
        assert last is not None, "the training wrote no checkpoint in time"
        # while it trains, a second training of the run is refused, naming the process
        with pytest.raises(RunInUse, match=f"pid {process.pid}"):
            train(resume=last.parents[1])
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    run_dir = last.parents[1]
    killed_at = torch.load(last, weights_only=True)["global_step"]  # intact after SIGKILL
    leftovers = [p for p in last.parent.iterdir() if p.name not in ("last.ckpt", "best.ckpt")]
    assert all(p.name.startswith(".") and "tmp" in p.name for p in leftovers)  # never a ckpt name
    recorder = LossRecorder()
    result = train(
        ["trainer.max_steps=" + str(killed_at + 5)], resume=run_dir, callbacks=[recorder]
    )
    assert min(recorder.losses) == killed_at and result.steps == killed_at + 5


def test_images_smaller_than_the_patch_are_named_and_leave_no_run_directory(data_path, tmp_path):
    """Issue 14: the message named no file, counted one split, and left config.yaml behind."""
    from noise2x.data.io import write_image

    rng = np.random.default_rng(0)
    for i, size in enumerate((64, 64, 20, 64, 20)):
        write_image(tmp_path / "imgs" / f"{i}.png", rng.random((1, size, size)).astype(np.float32))
    overrides = tiny(data_path, tmp_path, f"data.root={tmp_path / 'imgs'}", "data.val_count=1")
    expected = r"1 of the 4 training image\(s\) .*2\.png \(20x20\); 1 of the 1 held out"
    with pytest.raises(ValueError, match=expected):
        train([*overrides, "data.patch_size=32"])
    assert not (tmp_path / "runs").exists()
