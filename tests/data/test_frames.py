"""Even/odd frame pairs: exact means, windows, split-frames (library and CLI), data=frames."""

from pathlib import Path

import mrcfile
import numpy as np
import pytest
import tifffile
import torch
from typer.testing import CliRunner

from noise2x.cli import app
from noise2x.data.frames import (
    MovieWindowDataset,
    count_pairs,
    even_odd_means,
    even_odd_windows,
    list_movies,
    split_frames,
)
from noise2x.data.io import read_image
from noise2x.data.pairs import PairingError
from noise2x.train.runs import train


def _powers(n: int, shape=(2, 3)) -> np.ndarray:
    """A movie whose frame i is 2**i everywhere: every mean names the frames in it."""
    return (2.0 ** np.arange(n)).reshape(n, *[1] * len(shape)) * np.ones((n, *shape))


def _movie_tif(path: Path, frames: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, frames, photometric="minisblack")
    return path


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


# ------------------------------------------------------------------------------ pure functions


def test_even_odd_means_are_exact_on_a_hand_made_stack():
    even, odd = even_odd_means(_powers(5).astype(np.float32))

    assert np.array_equal(even, np.full((2, 3), (1 + 4 + 16) / 3, np.float32))
    assert np.array_equal(odd, np.full((2, 3), (2 + 8) / 2, np.float32))
    assert even.dtype == odd.dtype == np.float32


def test_even_odd_means_of_integer_frames_are_taken_in_float():
    frames = np.array([[[255]], [[254]], [[0]], [[1]]], np.uint8)

    even, odd = even_odd_means(frames)

    assert float(even[0, 0]) == 127.5 and float(odd[0, 0]) == 127.5


def test_window_k_gives_n_minus_k_plus_1_exact_pairs():
    frames = _powers(6)

    even, odd = even_odd_windows(frames, window=3)

    assert even.shape == odd.shape == (4, 2, 3)  # 6 - 3 + 1
    for s in range(4):  # window s: frames s, s+2 vs s+1 (parity from the window's start)
        assert even[s, 0, 0] == (2.0**s + 2.0 ** (s + 2)) / 2
        assert odd[s, 0, 0] == 2.0 ** (s + 1)
    whole = even_odd_windows(frames, window=6)
    assert np.array_equal(whole[0][0], even_odd_means(frames)[0])
    assert [count_pairs(6, k) for k in (None, 2, 6)] == [1, 5, 1]


@pytest.mark.parametrize(
    ("n", "window", "problem"),
    [
        (1, None, "has 1 frame; an even/odd split needs at least 2"),
        (4, 5, "has 4 frames, fewer than the window of 5"),
        (4, 1, "window must be an integer >= 2"),
    ],
)
def test_bad_frame_counts_and_windows_are_refused(n, window, problem):
    with pytest.raises(ValueError, match=problem):
        count_pairs(n, window)


# ------------------------------------------------------------------------------- split_frames


def test_split_frames_keeps_format_and_dtype_and_rounds_integer_means(tmp_path):
    frames = np.array([10, 11, 20, 40, 31], np.uint16)[:, None, None] * np.ones(
        (5, 4, 6), np.uint16
    )
    source = _movie_tif(tmp_path / "movie.tif", frames)

    even, odd = split_frames(source, tmp_path / "out")

    assert even == tmp_path / "out" / "even" / "movie.tif"
    assert odd == tmp_path / "out" / "odd" / "movie.tif"
    stored_even, stored_odd = tifffile.imread(even), tifffile.imread(odd)
    assert stored_even.dtype == np.uint16 and stored_even.shape == (4, 6)
    assert np.all(stored_even == 20)  # (10 + 20 + 31) / 3 = 20.33 -> 20
    assert np.all(stored_odd == 26)  # (11 + 40) / 2 = 25.5 -> 26 (ties to even)


def test_split_frames_float32_output_keeps_the_means_exactly(tmp_path):
    frames = np.array([1, 2, 4, 8], np.uint16)[:, None, None] * np.ones((4, 4, 4), np.uint16)
    source = _movie_tif(tmp_path / "movie.tif", frames)

    even, odd = split_frames(source, tmp_path / "out", dtype="float32")

    stored_even, stored_odd = tifffile.imread(even), tifffile.imread(odd)
    assert stored_even.dtype == np.float32  # on read_image's scale: uint16 / 65535
    assert np.allclose(stored_even * 65535, 2.5) and np.allclose(stored_odd * 65535, 5.0)


def test_split_frames_with_a_window_writes_stacks_of_window_pairs(tmp_path):
    with mrcfile.new(tmp_path / "movie.mrcs") as mrc:
        mrc.set_data(_powers(6, (4, 4)).astype(np.int16))
        mrc.set_image_stack()
        mrc.voxel_size = 1.5

    even, odd = split_frames(tmp_path / "movie.mrcs", tmp_path / "out", window=4)

    with mrcfile.open(even) as mrc:
        assert mrc.data.dtype == np.int16 and mrc.data.shape == (3, 4, 4)
        assert mrc.data[:, 0, 0].tolist() == [2, 5, 10]  # (1+4)/2 = 2.5 -> 2 (ties to even)
        assert float(mrc.voxel_size.x) == 1.5
    with mrcfile.open(odd) as mrc:
        assert mrc.data[:, 0, 0].tolist() == [5, 10, 20]  # (2+8)/2, (4+16)/2, (8+32)/2


def test_split_frames_never_overwrites_without_overwrite(tmp_path):
    source = _movie_tif(tmp_path / "movie.tif", _powers(4).astype(np.float32))
    split_frames(source, tmp_path / "out")

    with pytest.raises(FileExistsError, match="use --overwrite"):
        split_frames(source, tmp_path / "out")
    split_frames(source, tmp_path / "out", overwrite=True)


def test_list_movies_lists_every_bad_movie_at_once(tmp_path):
    _movie_tif(tmp_path / "good.tif", _powers(4).astype(np.float32))
    _movie_tif(tmp_path / "one.tif", _powers(1).astype(np.float32))
    _movie_tif(tmp_path / "three.tif", _powers(3).astype(np.float32))

    with pytest.raises(PairingError) as info:
        list_movies(tmp_path, window=4)

    assert len(info.value.problems) == 2
    assert "one.tif: has 1 frame" in str(info.value)
    assert "three.tif: has 3 frames, fewer than the window of 4" in str(info.value)


# ---------------------------------------------------------------------------------------- CLI


def test_split_frames_cli_writes_even_and_odd_and_reports_bad_files(tmp_path):
    good = _movie_tif(tmp_path / "in" / "good.tif", _powers(4).astype(np.float32))
    one = _movie_tif(tmp_path / "in" / "one.tif", _powers(1).astype(np.float32))
    missing = tmp_path / "in" / "missing.tif"

    result = run("split-frames", good, one, missing, "-o", tmp_path / "out", "--window", "2")

    assert result.exit_code == 1
    assert read_image(tmp_path / "out" / "even" / "good.tif")[0].shape == (3, 1, 2, 3)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 2
    assert any("one.tif" in e and "has 1 frame" in e for e in errors)
    assert any("missing.tif" in e for e in errors)
    assert "2 input(s) failed" in result.stderr and "Traceback" not in result.stderr
    assert f"{good} ->" in result.stdout


def test_split_frames_cli_needs_overwrite_to_replace_outputs(tmp_path):
    movie = _movie_tif(tmp_path / "movie.tif", _powers(4).astype(np.float32))
    assert run("split-frames", movie, "-o", tmp_path / "out").exit_code == 0

    again = run("split-frames", movie, "-o", tmp_path / "out")
    forced = run("split-frames", movie, "-o", tmp_path / "out", "--overwrite")

    assert again.exit_code == 1 and "use --overwrite" in again.stderr
    assert forced.exit_code == 0


def test_split_frames_cli_rejects_a_window_below_2(tmp_path):
    movie = _movie_tif(tmp_path / "movie.tif", _powers(4).astype(np.float32))

    result = run("split-frames", movie, "-o", tmp_path / "out", "--window", "1")

    assert result.exit_code == 2 and not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------- data=frames


def test_window_samples_are_even_odd_means_of_one_window_in_either_order():
    movie = torch.from_numpy(_powers(6, (1, 40, 40)).astype(np.float32))
    data = MovieWindowDataset([movie], window=2, patch_size=16, seed=1)

    seen = set()
    for index in range(60):
        first, second, clean = data[index]
        a, b = float(first[0, 0, 0]), float(second[0, 0, 0])
        assert torch.all(first == a) and torch.all(second == b) and clean.isnan().all()
        assert max(a, b) == 2 * min(a, b)  # frames s and s + 1 of one window
        seen.add((a, b))

    assert len(data) == 5  # one sample per window pair
    assert {(2.0**s, 2.0 ** (s + 1)) for s in range(5)} <= seen  # every window, in order...
    assert {(2.0 ** (s + 1), 2.0**s) for s in range(5)} <= seen  # ...and swapped


def test_window_samples_are_seeded():
    movie = torch.rand(6, 1, 40, 40)
    one, two = (
        MovieWindowDataset([movie], 3, 16, seed=0),
        MovieWindowDataset([movie], 3, 16, seed=0),
    )

    assert all(torch.equal(one[k][0], two[k][0]) for k in (0, 3, 99))
    assert not torch.equal(one[0][0], MovieWindowDataset([movie], 3, 16, seed=5)[0][0])


def tiny(tmp_path, *extra):
    return [
        "data=frames",
        f"data.root={tmp_path / 'movies'}",
        "data.patch_size=16",
        "data.batch_size=2",
        "data.num_workers=0",
        "net.width=8",
        "trainer.max_steps=2",
        "trainer.val_every_n_steps=2",
        "trainer.threads=1",
        "trainer.progress_bar=false",
        "logger=none",
        f"run.root={tmp_path / 'runs'}",
        *extra,
    ]


@pytest.mark.parametrize("window", ["null", "2"])
def test_train_on_movies_runs_two_steps(tmp_path, window):
    rng = np.random.default_rng(0)
    for name in ("a", "b", "c"):
        _movie_tif(tmp_path / "movies" / f"{name}.tif", rng.random((4, 24, 24), np.float32))

    result = train(tiny(tmp_path, f"data.window={window}"))

    assert result.steps == 2 and result.val_psnr_db is not None
