"""Batches that can be killed and rerun: --skip-existing, SIGTERM, checks before any work."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
from typer.testing import CliRunner

from noise2x.cli import app
from noise2x.data import io
from noise2x.data.io import read_image, write_image


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _inputs(folder, n=3):
    rng = np.random.default_rng(0)
    for i in range(n):
        write_image(folder / f"{i}.png", rng.random((1, 40, 48)).astype(np.float32))
    return folder


def test_skip_existing_redoes_only_what_is_missing_and_says_how_many(tmp_path):
    inputs, out = _inputs(tmp_path / "in"), tmp_path / "out"
    first = run("denoise", inputs, "-o", out, "--device", "cpu", "method.ensemble=1")
    assert first.exit_code == 0, first.output
    (out / "1.png").unlink()  # as if the batch had been killed before this file
    kept = (out / "0.png").stat().st_mtime_ns
    again = run("denoise", inputs, "-o", out, "--skip-existing", "--device", "cpu")
    assert again.exit_code == 0, again.output
    assert "skipped 2 input(s) whose output exists" in again.output
    assert (out / "1.png").is_file() and (out / "0.png").stat().st_mtime_ns == kept


def test_skip_existing_and_overwrite_exclude_each_other(tmp_path):
    result = run(
        "denoise", _inputs(tmp_path / "in"), "-o", tmp_path / "o", "--skip-existing", "--overwrite"
    )
    assert result.exit_code == 2 and "exclude each other" in result.output


def test_an_output_folder_that_is_the_input_folder_is_refused_even_with_overwrite(tmp_path):
    inputs = _inputs(tmp_path / "in")
    before = {p.name: p.read_bytes() for p in inputs.iterdir()}
    result = run("denoise", inputs, "-o", inputs, "--overwrite")
    assert result.exit_code == 2
    assert "would replace the input itself" in result.output
    assert {p.name: p.read_bytes() for p in inputs.iterdir()} == before


def test_an_unwritable_output_folder_is_refused_before_any_work(tmp_path, monkeypatch):
    target = tmp_path / "ro"
    target.mkdir()
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode: False if str(p) == str(target) else real_access(p, mode)
    )
    result = run("denoise", _inputs(tmp_path / "in"), "-o", target / "sub")
    assert result.exit_code == 2 and f"{target} is not writable" in result.output


def test_an_output_dtype_the_format_cannot_hold_fails_before_denoising(tmp_path, monkeypatch):
    from noise2x import api

    image = tmp_path / "in" / "photo.jpg"
    write_image(image, np.random.default_rng(1).random((3, 32, 32)).astype(np.float32))

    def no_work(*args, **kwargs):
        raise AssertionError("denoised although the output cannot be written")

    monkeypatch.setattr(api, "denoise", no_work)
    result = run("denoise", image, "-o", tmp_path / "out", "--output-dtype", "uint16")
    assert result.exit_code == 1
    assert "JPEG cannot hold uint16 pixels" in result.output


def test_sigterm_removes_the_temporary_file_as_ctrl_c_does(tmp_path, monkeypatch):
    from noise2x.cli import _terminate

    previous = signal.signal(signal.SIGTERM, _terminate)
    writer = io._WRITERS["png"]

    def killed_while_writing(tmp, fmt, pixels, like):
        writer(tmp, fmt, pixels, like)
        os.kill(os.getpid(), signal.SIGTERM)  # the scheduler's time limit, mid-write

    monkeypatch.setitem(io._WRITERS, "png", killed_while_writing)
    try:
        with pytest.raises(KeyboardInterrupt, match="terminated by signal"):
            write_image(tmp_path / "out.png", np.zeros((1, 8, 8), np.float32))
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert list(tmp_path.iterdir()) == []  # neither the output nor a temporary file
    with pytest.raises(FileNotFoundError):
        read_image(tmp_path / "out.png")


@pytest.mark.slow
@pytest.mark.parametrize("setup", [[], ["--workers", "2"]], ids=["one-process", "dask-cluster"])
def test_a_batch_killed_with_sigkill_completes_with_skip_existing(tmp_path, setup):
    """kill -9 mid-batch, then --skip-existing: every output valid, nothing redone.

    On a local Dask cluster the whole process group (client, scheduler, nannies, workers) is
    killed at once, as when a node dies or a job scheduler ends the allocation.
    """
    import subprocess
    import sys
    import time

    inputs, out = tmp_path / "in", tmp_path / "out"
    rng = np.random.default_rng(2)
    n = 8
    for i in range(n):
        write_image(inputs / f"{i}.png", rng.random((1, 160, 160)).astype(np.float32))
    command = [sys.executable, "-m", "noise2x", "denoise", str(inputs), "-o", str(out)]
    method = ["--method", "bm3d", "--sigma", "25"]
    batch = subprocess.Popen(
        [*command, *method, *setup],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )

    def final_names():  # a kill between write and rename leaves a hidden .NAME.tmp-XXXX.png
        return [p for p in out.glob("*.png") if not p.name.startswith(".")]

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not final_names():
        time.sleep(0.05)
    os.killpg(batch.pid, signal.SIGKILL)  # no handler runs anywhere
    batch.wait()
    finished = {p.name: p.stat().st_mtime_ns for p in final_names()}
    assert 1 <= len(finished) < n, "the batch was not caught mid-way"
    for name in finished:  # what is there under a final name is complete
        assert read_image(out / name)[0].shape == (1, 160, 160)
    result = run("denoise", inputs, "-o", out, *method, "--skip-existing", *setup)
    assert result.exit_code == 0, result.output
    assert f"skipped {len(finished)} input(s)" in result.output
    assert sorted(p.name for p in final_names()) == [f"{i}.png" for i in range(n)]
    assert all((out / k).stat().st_mtime_ns == t for k, t in finished.items())  # not redone


def test_skip_existing_on_a_finished_batch_does_nothing_and_succeeds(tmp_path):
    inputs, out = _inputs(tmp_path / "in", n=2), tmp_path / "out"
    assert run("denoise", inputs, "-o", out, "method.ensemble=1").exit_code == 0
    again = run("denoise", inputs, "-o", out, "--skip-existing")
    assert again.exit_code == 0, again.output  # a scheduler must not see a failure
    assert "skipped 2 input(s)" in again.output
