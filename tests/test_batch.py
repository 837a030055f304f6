"""Batches on a local Dask cluster of two workers: same outputs, every failure gathered."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from noise2x.batch import denoise_files, worker_threads
from noise2x.cli import app
from noise2x.data.io import read_image, write_image

pytest.importorskip("distributed", reason="the cluster tests need dask's distributed package")

SETTINGS = {"method": "prior", "device": "cpu", "ensemble": 1}


def _batch(folder, n=4):
    rng = np.random.default_rng(0)
    files = []
    for i in range(n):
        files.append(write_image(folder / f"{i}.png", rng.random((1, 48, 40)).astype(np.float32)))
    return files


def test_threads_per_worker_never_exceed_the_cores():
    assert worker_threads(2, cores=2) == 1 and worker_threads(3, cores=8) == 2


@pytest.mark.slow
def test_two_local_workers_write_what_one_process_writes_and_gather_every_failure(tmp_path):
    files = _batch(tmp_path / "in")
    bad = tmp_path / "in" / "bad.png"
    bad.write_bytes(b"not a png")
    alone, failures_alone = denoise_files(files, tmp_path / "alone", SETTINGS)
    seen = []
    rows, failures = denoise_files(
        [*files, bad], tmp_path / "cluster", SETTINGS, workers=2,
        on_done=lambda path, status, value: seen.append((path, status)),
    )  # fmt: skip
    assert failures_alone == [] and len(rows) == len(alone) == 4
    assert [(p, m.split(":")[0]) for p, m in failures] == [(str(bad), str(bad))]
    assert "cannot read it as PNG" in failures[0][1]
    assert sorted(p for p, _ in seen) == sorted(map(str, [*files, bad]))
    for path in files:
        ours = read_image(tmp_path / "cluster" / path.name)[0]
        reference = read_image(tmp_path / "alone" / path.name)[0]
        assert np.abs(ours - reference).max() <= 1 / 255 + 1e-6


@pytest.mark.slow
def test_the_cli_runs_on_a_running_scheduler_given_by_address(tmp_path):
    from distributed import LocalCluster

    files = _batch(tmp_path / "in", n=2)
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        result = CliRunner().invoke(
            app,
            ["denoise", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "method.ensemble=1",
             "--scheduler", cluster.scheduler_address],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f.name for f in files]
    assert "denoised 2 image(s)" in result.output


def test_two_inputs_with_one_output_name_fail_once_before_any_task(tmp_path):
    first = _batch(tmp_path / "a", n=1)[0]
    second = _batch(tmp_path / "b", n=1)[0]
    rows, failures = denoise_files([first, second], tmp_path / "out", SETTINGS)
    assert len(rows) == 1 and len(failures) == 1 and "same output name" in failures[0][1]


def _stack(path, n=5, shape=(40, 48)):
    import tifffile

    path.parent.mkdir(parents=True, exist_ok=True)
    frames = np.random.default_rng(3).integers(0, 65535, (n, *shape), dtype=np.uint16)
    tifffile.imwrite(path, frames, photometric="minisblack")
    return path


@pytest.mark.parametrize(
    ("settings", "reference", "split"),
    [
        (SETTINGS, None, True),
        ({"checkpoint": "model.ckpt", "device": "cpu"}, None, True),
        ({"method": "bm3d", "device": "cpu", "sigma": 25}, None, True),
        ({**SETTINGS, "adapt": True}, None, False),  # adapts once per stack
        ({"method": "n2v", "device": "cpu"}, None, False),  # trains once per stack
        (SETTINGS, "clean.tif", False),  # scored as a whole file
    ],
)
def test_a_stack_is_split_into_frame_tasks_only_when_its_frames_are_independent(
    tmp_path, settings, reference, split
):
    from noise2x.batch import _stack_plan

    stack = _stack(tmp_path / "movie.tif")
    single = _batch(tmp_path / "single", n=1)[0]
    options = {"reference": reference, "overwrite": False, "output_dtype": None}
    plan = _stack_plan(str(stack), str(tmp_path / "out"), settings, options)
    assert (plan is not None) == split
    if split:
        assert plan[0] == 5 and plan[1] == (1, 40, 48) and plan[3] == tmp_path / "out" / "movie.tif"
    assert _stack_plan(str(single), str(tmp_path / "out"), settings, options) is None


def test_a_stack_whose_output_exists_stays_one_task_that_reports_it(tmp_path):
    from noise2x.batch import _stack_plan

    stack = _stack(tmp_path / "movie.tif")
    _stack(tmp_path / "out" / "movie.tif")
    options = {"reference": None, "overwrite": False, "output_dtype": None}
    assert _stack_plan(str(stack), str(tmp_path / "out"), SETTINGS, options) is None


@pytest.mark.slow
def test_the_frames_of_a_stack_run_as_tasks_and_write_what_one_process_writes(
    tmp_path, monkeypatch
):
    """Frames are tasks on the cluster; the stack is written in order, atomically, once."""
    from distributed import LocalCluster

    from noise2x import batch

    stack = _stack(tmp_path / "in" / "movie.tif", n=5)
    plain = _batch(tmp_path / "in", n=1)
    alone, _ = denoise_files([stack, *plain], tmp_path / "alone", SETTINGS)
    frame_task = batch._frame_task
    marks = tmp_path / "frame-tasks"  # the task runs on a copy of this function: mark on disk
    marks.mkdir()
    monkeypatch.setattr(
        batch, "_frame_task", lambda *args: (marks / str(args[1])).touch() or frame_task(*args)
    )
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        rows, failures = denoise_files(
            [stack, *plain], tmp_path / "cluster", SETTINGS, scheduler=cluster.scheduler_address
        )
    assert failures == [] and len(rows) == len(alone) == 2
    assert sorted(p.name for p in marks.iterdir()) == ["0", "1", "2", "3", "4"]  # a task each
    ours, meta = read_image(tmp_path / "cluster" / "movie.tif")
    reference, _ = read_image(tmp_path / "alone" / "movie.tif")
    assert ours.shape == reference.shape == (5, 1, 40, 48) and meta.dtype == "uint16"
    assert np.abs(ours - reference).max() <= 1 / 65535 + 1e-6
    assert sorted(p.name for p in (tmp_path / "cluster").iterdir()) == ["0.png", "movie.tif"]


@pytest.mark.slow
def test_a_failing_frame_fails_its_stack_once_and_leaves_no_file(tmp_path, monkeypatch):
    from distributed import LocalCluster

    from noise2x import batch

    stack = _stack(tmp_path / "in" / "movie.tif", n=4)
    frame_task = batch._frame_task

    def third_frame_fails(path, index, settings):
        if index == 2:
            return "error", f"{path}: frame 2: out of memory"
        return frame_task(path, index, settings)

    monkeypatch.setattr(batch, "_frame_task", third_frame_fails)
    seen = []
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        rows, failures = denoise_files(
            [stack], tmp_path / "out", SETTINGS, scheduler=cluster.scheduler_address,
            on_done=lambda path, status, value: seen.append(status),
        )  # fmt: skip
    assert rows == [] and failures == [(str(stack), f"{stack}: frame 2: out of memory")]
    assert seen == ["error"]
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
