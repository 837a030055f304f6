"""Every command of the task guides (docs/guides/*.md) runs as written (issue 15).

Each guide runs in a fresh working directory that holds small files with the names the guide
uses (``cells.tif``, ``movies/``, ``raw/<field>/``, ...). Its ``bash`` blocks run in order,
in-process: ``noise2x`` lines through the CLI (``<run>`` is the run the guide trained last;
``noise2x train`` gets a 2-step budget on 32x32 crops of a width-8 net appended, nothing else
changed; single-image trainings get ``--steps 20``), its ``python`` blocks with ``noisy`` and
``paths`` defined. A ``--scheduler`` file is served by an in-process Dask cluster. Lines for
other programs (``dask``, ``sbatch``) document the cluster side and are not run.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from pathlib import Path

import mrcfile
import numpy as np
import pytest
import tifffile
from conftest import REPO
from typer.testing import CliRunner

from noise2x.cli import app
from noise2x.data.io import write_image

GUIDES = sorted((REPO / "docs" / "guides").glob("*.md"))
WITHOUT_COMMANDS = {"choosing.md"}  # a decision table: it links to the other guides
BLOCK = re.compile(r"```(bash|python)\n(.*?)```", re.S)
FAST_TRAIN = {
    "trainer.max_steps": "2",
    "trainer.val_every_n_steps": "1",
    "trainer.threads": "1",
    "trainer.progress_bar": "false",
    "data.patch_size": "32",
    "data.batch_size": "2",
    "data.num_workers": "0",
    "data.val_count": "1",
    "net.width": "8",
    "logger": "none",
}


def blocks(guide: Path) -> list[tuple[str, str]]:
    """Return the (language, code) of every fenced bash or python block of `guide`."""
    return BLOCK.findall(guide.read_text())


def _scene(seed: int, shape=(64, 64)) -> np.ndarray:
    """A smooth pattern in [0.2, 0.8] (float32, H x W)."""
    y, x = np.mgrid[: shape[0], : shape[1]] / 8.0
    phase = np.random.default_rng(seed).random()
    return (0.5 + 0.3 * np.sin(x + phase) * np.cos(y)).astype(np.float32)


def _noisy(seed: int, shape=(64, 64), sigma: float = 0.1, draw: int = 0) -> np.ndarray:
    """`_scene` plus Gaussian noise of `sigma` (noise realisation `draw`), clipped to [0, 1]."""
    rng = np.random.default_rng([seed, draw])
    return np.clip(_scene(seed, shape) + sigma * rng.standard_normal(shape), 0, 1).astype(
        np.float32
    )


def _png(path: Path, image: np.ndarray) -> None:
    write_image(path, image[None])


def _tif(path: Path, stack: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, (stack * 65535).astype(np.uint16), photometric="minisblack")


def _mrc(path: Path, image: np.ndarray) -> None:
    with mrcfile.new(path) as mrc:
        mrc.set_data(image.astype(np.float32))
        mrc.voxel_size = 1.5


def workspace(root: Path, checkpoint: Path) -> None:
    """Write every input file the guides name under `root`."""
    _tif(root / "cells.tif", _noisy(0))
    _tif(root / "timelapse.tif", np.stack([_noisy(0, draw=i) for i in range(3)]))
    _tif(root / "big.tif", _noisy(1, (96, 96)))
    _tif(root / "scan_a.tif", _noisy(2))
    _tif(root / "scan_b.tif", _noisy(3))
    for i in range(3):
        _png(root / "noisy" / f"{i}.png", _noisy(10 + i))
        _png(root / "clean" / f"{i}.png", _scene(10 + i))
        _png(root / "scan_a" / f"{i}.png", _noisy(20 + i))
        _png(root / "scan_b" / f"{i}.png", _noisy(20 + i, draw=1))
        _tif(root / "movies" / f"{i}.tif", np.stack([_noisy(30 + i, draw=d) for d in range(4)]))
        for capture in range(2):
            _png(root / "raw" / str(i + 1) / f"{capture}.png", _noisy(40 + i, draw=capture))
    for i in range(2):
        _png(root / "data" / "in" / f"{i}.png", _noisy(50 + i))
    _png(root / "new_field.png", _noisy(60))
    damaged = _noisy(61)
    damaged[20, :] = 0.0
    damaged[:, 40] = 1.0
    _png(root / "damaged.png", damaged)
    _mrc(root / "micrograph.mrc", _noisy(62))
    for name, seed in [("even", 70), ("odd", 71), ("even_den", 72), ("odd_den", 73)]:
        _mrc(root / f"{name}.mrc", _noisy(70, sigma=0.05 if "den" in name else 0.1, draw=seed))
    shutil.copyfile(checkpoint, root / "model.ckpt")


def command_args(line: str, root: Path) -> list[str]:
    """Return the CLI arguments of one ``noise2x`` line, made runnable in `root`."""
    args = shlex.split(line, comments=True)[1:]
    runs = sorted((root / "runs" / "n2n").glob("*"), key=lambda p: p.stat().st_mtime)
    out = []
    for arg in args:
        if "<run>" in arg:
            assert runs, f"{line!r} names <run> before any training"
            arg = arg.replace("runs/n2n/<run>", str(runs[-1]))
        if arg.startswith("/data/"):
            arg = str(root / arg.lstrip("/"))
        out.append(os.path.expanduser(arg))
    if out[0] == "restore-lines" or (
        out[0] == "denoise" and ("--adapt" in out or {"zsn2n", "self2self", "n2v"} & set(out))
    ):
        out += ["--steps", "20"]  # the method's own training, shortened like the trainings
    if out[0] == "train" and "--resume" not in out:
        out = [a for a in out if a.split("=", 1)[0] not in FAST_TRAIN]
        out += [f"{key}={value}" for key, value in FAST_TRAIN.items()]
    return out


def _outputs(args: list[str]) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-o", "--frc-plot")]


@pytest.mark.slow
@pytest.mark.parametrize("guide", [g for g in GUIDES if g.name not in WITHOUT_COMMANDS], ids=str)
def test_every_command_of_the_guide_runs(guide, tmp_path, monkeypatch, trained_checkpoint):
    workspace(tmp_path, trained_checkpoint)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    code = blocks(guide)
    lines = [
        line.strip()
        for lang, text in code
        if lang == "bash"
        for line in text.splitlines()
        if line.strip().startswith("noise2x ")
    ]
    cluster = None
    if any("--scheduler" in line for line in lines):
        from distributed import LocalCluster

        cluster = LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        )
        (tmp_path / "dask.json").write_text(json.dumps({"address": cluster.scheduler_address}))
    try:
        for line in lines:
            args = command_args(line, tmp_path)
            result = CliRunner().invoke(app, args)
            assert result.exit_code == 0, f"{guide.name}: {line}\n{result.output}"
            assert "Traceback" not in result.output, line
            for target in _outputs(args):
                path = Path(target)
                assert path.exists() and (path.is_file() or any(path.iterdir())), (line, target)
    finally:
        if cluster is not None:
            cluster.close()
    for lang, text in code:
        if lang == "python":
            paths = sorted((tmp_path / "noisy").glob("*.png"))
            namespace = {"noisy": _noisy(80), "paths": paths}
            exec(compile(text, f"{guide.name}:python", "exec"), namespace)  # noqa: S102
    assert lines or any(lang == "python" for lang, _ in code), f"{guide.name} runs nothing"


def test_every_guide_but_the_decision_table_shows_a_command():
    """A new guide without a bash block would escape the test above."""
    for guide in GUIDES:
        has_code = any("noise2x" in text for _, text in blocks(guide))
        assert has_code == (guide.name not in WITHOUT_COMMANDS), guide.name
