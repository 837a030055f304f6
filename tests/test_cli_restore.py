"""In-process tests of ``noise2x restore-lines`` (typer's CliRunner, no subprocesses).

Every run uses ``--steps 2`` on images of at most 32x32 pixels: these tests check the file
handling, not the quality (``tests/methods/test_lines.py`` does).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile
from typer.testing import CliRunner

from noise2x.cli import app
from noise2x.data.io import read_image, write_image

FAST = ["--steps", "2", "--device", "cpu"]


def run(*args):
    """Invoke the app in-process; arguments may be paths."""
    return CliRunner().invoke(app, [str(a) for a in args])


def _damaged(seed: int = 0, shape=(1, 32, 32), rows=(5, 17), cols=()) -> np.ndarray:
    image = 0.1 + 0.8 * np.random.default_rng(seed).random(shape).astype(np.float32)
    image[..., list(rows), :] = 0.0
    image[..., list(cols)] = 1.0
    return image


def _errors(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error")]


def test_restore_lines_fills_dead_rows_and_keeps_the_rest_of_a_png(tmp_path):
    source = write_image(tmp_path / "in" / "scan.png", _damaged())
    result = run("restore-lines", source, "-o", tmp_path / "out", *FAST)
    assert result.exit_code == 0, result.output
    restored, meta = read_image(tmp_path / "out" / "scan.png")
    original, _ = read_image(source)
    assert meta.dtype == "uint8" and restored.shape == original.shape
    alive = np.ones(32, bool)
    alive[[5, 17]] = False
    assert np.array_equal(restored[:, alive], original[:, alive])
    assert (restored[:, ~alive] > 0).all()
    assert "scan.png" in result.stdout and "dead rows" in result.stdout


def test_restore_lines_finds_columns_with_axis_auto_and_keeps_uint16_tiff(tmp_path):
    image = _damaged(rows=(), cols=(3, 20))
    source = tmp_path / "cols.tif"
    tifffile.imwrite(source, np.round(image[0] * 65535).astype(np.uint16))
    result = run("restore-lines", source, "-o", tmp_path / "out", *FAST)
    assert result.exit_code == 0, result.output
    restored, meta = read_image(tmp_path / "out" / "cols.tif")
    assert meta.dtype == "uint16"
    assert (restored[..., [3, 20]] < 1.0).all()
    assert np.array_equal(restored[..., :3], read_image(source)[0][..., :3])
    row = next(line for line in result.stdout.splitlines() if "cols.tif" in line)
    assert row.split()[-2:] == ["0", "2"]  # 0 dead rows, 2 dead columns


def test_restore_lines_with_a_mask_file_and_denoise(tmp_path):
    image = _damaged(rows=())
    image[..., 9, :] = 0.5  # stuck at mid-grey: not detectable, so given by a mask
    source = write_image(tmp_path / "stuck.tif", image)
    mask = np.zeros((1, 32, 32), np.float32)
    mask[..., 9, :] = 1.0
    mask_file = write_image(tmp_path / "mask.png", mask)
    result = run(
        "restore-lines",
        source,
        "-o",
        tmp_path / "out",
        "--mask",
        mask_file,
        "--denoise",
        "--denoiser",
        "self2self",
        *FAST,
    )
    assert result.exit_code == 0, result.output
    restored, _ = read_image(tmp_path / "out" / "stuck.tif")
    assert not np.allclose(restored[..., 9, :], 0.5)
    assert (restored != image).mean() > 0.9  # --denoise: every pixel is the net's


def test_restore_lines_processes_a_stack_frame_by_frame(tmp_path):
    stack = np.stack([_damaged(seed=0), _damaged(seed=1, rows=(2,))])
    source = write_image(tmp_path / "movie.tif", stack)
    result = run("restore-lines", source, "-o", tmp_path / "out", *FAST)
    assert result.exit_code == 0, result.output
    restored, meta = read_image(tmp_path / "out" / "movie.tif")
    assert meta.is_stack and restored.shape == stack.shape
    assert (restored[1, :, 2] > 0).all() and np.array_equal(restored[1, :, 3:], stack[1, :, 3:])


def test_restore_lines_reports_each_bad_file_and_goes_on(tmp_path):
    good = write_image(tmp_path / "good.png", _damaged())
    write_image(tmp_path / "out" / "taken.png", _damaged())
    taken = write_image(tmp_path / "taken.png", _damaged())
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    result = run(
        "restore-lines",
        good,
        taken,
        broken,
        tmp_path / "missing.png",
        "-o",
        tmp_path / "out",
        *FAST,
    )
    assert result.exit_code == 1
    errors = _errors(result)
    assert len(errors) == 3
    assert any("taken.png" in e and "--overwrite" in e for e in errors)
    assert any("broken.png" in e for e in errors) and any("missing.png" in e for e in errors)
    assert (tmp_path / "out" / "good.png").exists()
    assert "Traceback" not in result.output


def test_restore_lines_overwrites_only_when_asked(tmp_path):
    source = write_image(tmp_path / "scan.png", _damaged())
    assert run("restore-lines", source, "-o", tmp_path / "out", *FAST).exit_code == 0
    assert run("restore-lines", source, "-o", tmp_path / "out", *FAST).exit_code == 1
    again = run("restore-lines", source, "-o", tmp_path / "out", "--overwrite", *FAST)
    assert again.exit_code == 0, again.output


def test_restore_lines_mask_of_another_size_fails_that_file(tmp_path):
    source = write_image(tmp_path / "scan.png", _damaged())
    mask_file = write_image(tmp_path / "mask.png", np.ones((1, 16, 16), np.float32))
    result = run("restore-lines", source, "-o", tmp_path / "out", "--mask", mask_file, *FAST)
    assert result.exit_code == 1
    (error,) = _errors(result)
    assert "scan.png" in error and "16x16" in error and "32x32" in error


def test_restore_lines_bad_options_exit_2_before_any_file(tmp_path):
    source = write_image(tmp_path / "scan.png", _damaged())
    bad_axis = run("restore-lines", source, "-o", tmp_path / "out", "--axis", "diagonal")
    assert bad_axis.exit_code == 2 and "--axis" in bad_axis.stderr
    missing_mask = run(
        "restore-lines", source, "-o", tmp_path / "out", "--mask", tmp_path / "no.png"
    )
    assert missing_mask.exit_code == 2 and "--mask" in missing_mask.stderr
    empty = write_image(tmp_path / "empty.png", np.zeros((1, 32, 32), np.float32))
    empty_mask = run("restore-lines", source, "-o", tmp_path / "out", "--mask", empty)
    assert empty_mask.exit_code == 2 and "no pixel" in empty_mask.stderr
    bad_denoiser = run("restore-lines", source, "-o", tmp_path / "out", "--denoiser", "nlm")
    assert bad_denoiser.exit_code == 2 and "--denoiser" in bad_denoiser.stderr
    sigma_alone = run("restore-lines", source, "-o", tmp_path / "out", "--sigma", "25")
    assert sigma_alone.exit_code == 2 and "--sigma applies to --denoise" in sigma_alone.stderr
    assert not (tmp_path / "out").exists()


def test_restore_lines_denoise_with_bm3d_at_a_given_sigma(tmp_path):
    source = write_image(tmp_path / "scan.tif", _damaged())
    args = ["restore-lines", source, "-o", tmp_path / "out", "--denoise", "--sigma", "20"]
    result = run(*args, "--denoiser", "bm3d", *FAST)
    assert result.exit_code == 0, result.output
    restored, _ = read_image(tmp_path / "out" / "scan.tif")
    assert restored[..., [5, 17], :].min() > 0.0  # filled, then filtered
    assert np.std(restored) < np.std(_damaged(rows=()))  # BM3D smoothed the random image


def test_restore_lines_image_without_dead_lines_is_copied_unchanged(tmp_path):
    image = _damaged(rows=())
    source = write_image(tmp_path / "clean.tif", image)
    result = run("restore-lines", source, "-o", tmp_path / "out", *FAST)
    assert result.exit_code == 0, result.output
    assert np.array_equal(read_image(tmp_path / "out" / "clean.tif")[0], image)


def test_restore_lines_appears_in_the_help():
    result = run("--help")
    assert "restore-lines" in result.stdout


def test_denoise_accepts_the_self2self_method(tmp_path: Path):
    source = write_image(tmp_path / "noisy.png", _damaged(rows=()))
    result = run("denoise", source, "-o", tmp_path / "out", "--method", "self2self", *FAST)
    assert result.exit_code == 0, result.output
    assert read_image(tmp_path / "out" / "noisy.png")[0].shape == (1, 32, 32)
