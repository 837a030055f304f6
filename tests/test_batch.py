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
