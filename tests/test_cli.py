"""In-process tests of the ``noise2x`` command line (no subprocesses).

Every denoising run uses ``--steps 2`` on images of at most 32x32 pixels; the effect test on a
real image is the one marked ``data``.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from pathlib import Path

import mrcfile
import numpy as np
import pytest
import tifffile
from PIL import Image
from typer.testing import CliRunner

import noise2x
from noise2x.cli import app, main
from noise2x.data.io import read_image, write_image
from noise2x.methods import METHODS, Prior
from noise2x.metrics import psnr_np
from noise2x.nets import NETS
from noise2x.noise import NOISES

FAST = ["--steps", "2", "--device", "cpu"]


def run(*args):
    """Invoke the app in-process; arguments may be paths."""
    return CliRunner().invoke(app, [str(a) for a in args])


def _grey(seed: int = 0, shape=(1, 32, 32)) -> np.ndarray:
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def _png(path: Path, seed: int = 0, shape=(1, 32, 32)) -> Path:
    return write_image(path, _grey(seed, shape))


def _mrc(path: Path, data: np.ndarray, voxel_size: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with mrcfile.new(path) as mrc:
        mrc.set_data(data)
        mrc.voxel_size = voxel_size
    return path


def _error_lines(result, name: str) -> list[str]:
    return [
        line for line in result.stderr.splitlines() if line.startswith("error") and name in line
    ]


def _assert_clean_failure(result, name: str, problem: str, code: int = 1) -> None:
    """One ``error`` line naming `name` and `problem`, exit `code`, no traceback."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    lines = _error_lines(result, name)
    assert len(lines) == 1, result.stderr
    assert problem in lines[0], lines[0]
    assert "Traceback" not in result.output


def _hidden_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*")] if folder.exists() else []


# --------------------------------------------------------------------------- help, list


def test_help_lists_every_command():
    result = run("--help")
    assert result.exit_code == 0
    commands = ("denoise", "add-noise", "evaluate", "demo", "list", "train", "split-frames")
    for command in (*commands, "finetune"):
        assert command in result.stdout


def test_list_prints_every_registered_method_net_and_noise():
    result = run("list")
    assert result.exit_code == 0
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    assert "prior_grey.safetensors" in result.stdout and "prior_colour.safetensors" in result.stdout
    assert lines["methods"].split(", ") == METHODS.names()
    assert lines["nets"].split(", ") == NETS.names()
    assert lines["noise"].split(", ") == NOISES.names()
    from noise2x.ops.downsamplers import DOWNSAMPLERS

    assert lines["downsamplers"].split(", ") == DOWNSAMPLERS.names()


def test_denoise_with_another_pair_downsampler(tmp_path):
    image = tmp_path / "img.png"
    rng = np.random.default_rng(0)
    write_image(image, np.clip(0.5 + 0.1 * rng.standard_normal((1, 24, 30)), 0, 1))
    out = tmp_path / "out"
    result = run(
        "denoise",
        image,
        "-o",
        out,
        "--method",
        "zsn2n",
        "--steps",
        3,
        "--downsampler",
        "random_neighbor",
    )
    assert result.exit_code == 0, result.output
    assert (out / "img.png").is_file()


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("--method", "zsn2n", "--downsampler", "diagonl"), "did you mean 'diagonal'"),
        (("--downsampler", "diagonal", "--checkpoint", "x.ckpt"), "not --checkpoint"),
        (("--method", "zsn2n", "--ensemble", "8"), "--ensemble does not apply to --method zsn2n"),
        (("--ensemble", "9"), "ensemble must be an integer 1-8"),
    ],
)
def test_a_bad_method_option_exits_2(tmp_path, args, problem):
    image = tmp_path / "img.png"
    write_image(image, np.zeros((1, 8, 8), np.float32))
    result = run("denoise", image, "-o", tmp_path / "out", *args)
    assert result.exit_code == 2
    assert problem in result.output.lower()


def test_main_help_exits_zero(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "Usage: noise2x" in capsys.readouterr().out


def test_python_dash_m_noise2x_help(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["python -m noise2x", "--help"])
    with pytest.raises(SystemExit) as info:
        runpy.run_module("noise2x", run_name="__main__", alter_sys=True)
    assert info.value.code == 0
    assert "add-noise" in capsys.readouterr().out


# --------------------------------------------------------------------------- denoise


def _write_format_zoo(folder: Path) -> dict[str, np.ndarray]:
    """One file per supported storage; returns the arrays as read_image returns them."""
    rng = np.random.default_rng(0)
    _png(folder / "grey8.png", 1)
    write_image(folder / "rgb8.png", _grey(2, (3, 24, 20)))
    write_image(folder / "grey16.tif", _grey(3), dtype="uint16")
    tifffile.imwrite(folder / "float.tif", (rng.random((32, 30)) * 600 - 300).astype(np.float32))
    tifffile.imwrite(
        folder / "stack.tif",
        rng.integers(0, 4000, (3, 16, 18), dtype=np.uint16),
        photometric="minisblack",
    )
    _mrc(folder / "int16.mrc", rng.integers(-300, 300, (32, 32), dtype=np.int16), 1.5)
    _mrc(folder / "float.mrcs", rng.normal(0, 5, (2, 16, 16)).astype(np.float32), 2.25)
    return {p.name: read_image(p) for p in sorted(folder.iterdir())}


def test_denoise_keeps_name_format_dtype_shape_and_voxel_size(tmp_path):
    inputs = _write_format_zoo(tmp_path / "in")
    result = run("denoise", tmp_path / "in", "-o", tmp_path / "out", *FAST)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(inputs)
    for name, (image, meta) in inputs.items():
        out, out_meta = read_image(tmp_path / "out" / name)
        assert out.shape == image.shape, name
        assert (out_meta.format, out_meta.dtype) == (meta.format, meta.dtype), name
        assert out_meta.is_stack == meta.is_stack, name
        assert out_meta.voxel_size == meta.voxel_size, name
        # clip keeps the output in [0, 1] (images on that scale) or in the input's [min, max]
        assert min(image.min(), 0.0) <= out.min() and out.max() <= max(image.max(), 1.0), name
        assert name in result.stdout


def test_denoise_many_files_and_a_folder_in_one_call(tmp_path):
    a = _png(tmp_path / "a.png", 1)
    _png(tmp_path / "more" / "b.png", 2)
    _png(tmp_path / "more" / "c.png", 3)
    result = run("denoise", a, tmp_path / "more", "-o", tmp_path / "out", *FAST)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png", "c.png"]


def test_denoise_summary_has_psnr_and_ssim_with_a_reference_folder(tmp_path):
    for name, seed in (("a.png", 1), ("b.png", 2)):
        _png(tmp_path / "clean" / name, seed)
        _png(tmp_path / "noisy" / name, seed + 10)
    result = run(
        "denoise",
        tmp_path / "noisy",
        "-o",
        tmp_path / "out",
        "--reference",
        tmp_path / "clean",
        *FAST,
    )
    assert result.exit_code == 0, result.output
    assert "PSNR" in result.stdout and "SSIM" in result.stdout
    clean, _ = read_image(tmp_path / "clean" / "a.png")
    noisy, _ = read_image(tmp_path / "noisy" / "a.png")
    row = next(line for line in result.stdout.splitlines() if "a.png" in line)
    assert f"{psnr_np(noisy, clean, 1.0):.2f}" in row  # the noisy image's PSNR


def test_denoise_with_a_single_reference_file_scores_every_input(tmp_path):
    ref = _png(tmp_path / "clean.png", 1)
    _png(tmp_path / "in" / "x.png", 2)
    _png(tmp_path / "in" / "y.png", 3)
    result = run("denoise", tmp_path / "in", "-o", tmp_path / "out", "--reference", ref, *FAST)
    assert result.exit_code == 0, result.output
    assert "PSNR" in result.stdout
    for name in ("x.png", "y.png"):
        row = next(line for line in result.stdout.splitlines() if name in line)
        assert str(ref) not in row or row.count(".png") >= 2


def test_denoise_reference_without_a_match_fails_only_that_file(tmp_path):
    _png(tmp_path / "clean" / "a.png", 1)
    _png(tmp_path / "in" / "a.png", 2)
    _png(tmp_path / "in" / "zz.png", 3)
    result = run(
        "denoise", tmp_path / "in", "-o", tmp_path / "out", "--reference", tmp_path / "clean", *FAST
    )
    _assert_clean_failure(result, "zz.png", "no reference")
    assert (tmp_path / "out" / "a.png").exists()


def test_denoise_reference_of_another_shape_fails_before_writing(tmp_path):
    ref = _png(tmp_path / "clean.png", 1, (1, 16, 16))
    _png(tmp_path / "in" / "a.png", 2)
    result = run("denoise", tmp_path / "in", "-o", tmp_path / "out", "--reference", ref, *FAST)
    _assert_clean_failure(result, "a.png", "shape")
    assert not (tmp_path / "out" / "a.png").exists()


def _bad_missing(folder: Path) -> Path:
    return folder / "missing.png"


def _bad_corrupt(folder: Path) -> Path:
    path = folder / "corrupt.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n this is not a PNG")
    return path


def _bad_suffix(folder: Path) -> Path:
    path = folder / "picture.bmp"
    Image.new("L", (8, 8)).save(path)
    return path


def _bad_nan(folder: Path) -> Path:
    pixels = _grey(0, (16, 16))
    pixels[3, 4], pixels[5, 6] = np.nan, np.inf
    tifffile.imwrite(folder / "nan.tif", pixels)
    return folder / "nan.tif"


def _bad_empty(folder: Path) -> Path:
    path = folder / "empty.tif"
    path.write_bytes(b"")
    return path


def _bad_tiny(folder: Path) -> Path:
    path = folder / "tiny.png"
    Image.new("L", (1, 1)).save(path)
    return path


def _bad_5d(folder: Path) -> Path:
    path = folder / "five.tif"
    tifffile.imwrite(path, np.zeros((2, 2, 2, 8, 8), np.float32))
    return path


def _bad_empty_folder(folder: Path) -> Path:
    path = folder / "nothing_here"
    path.mkdir()
    (path / "notes.txt").write_text("no images")
    return path


BAD_INPUTS = {
    "missing": (_bad_missing, "no such file"),
    "corrupt": (_bad_corrupt, "corrupt"),
    "unsupported": (_bad_suffix, "unsupported file type"),
    "nan": (_bad_nan, "NaN/Inf"),
    "empty": (_bad_empty, "corrupt"),
    "1x1": (_bad_tiny, "1x1"),
    "5-D": (_bad_5d, "axes"),
    "no images": (_bad_empty_folder, "no images"),
}


@pytest.mark.parametrize("kind", list(BAD_INPUTS))
def test_denoise_reports_a_bad_input_in_one_line_and_processes_the_rest(tmp_path, kind):
    make_bad, problem = BAD_INPUTS[kind]
    (tmp_path / "in").mkdir()
    bad = make_bad(tmp_path / "in")
    good = _png(tmp_path / "good.png")
    result = run("denoise", bad, good, "-o", tmp_path / "out", *FAST)
    _assert_clean_failure(result, bad.name, problem)
    assert (tmp_path / "out" / "good.png").exists()
    assert "1 input(s) failed" in result.stderr
    summary = result.stderr.split("1 input(s) failed", 1)[1]
    assert bad.name in summary and problem in summary
    assert _hidden_files(tmp_path / "out") == []


def test_denoise_never_replaces_an_existing_output_without_overwrite(tmp_path):
    _png(tmp_path / "in" / "a.png", 1)
    _png(tmp_path / "in" / "b.png", 2)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.png").write_bytes(b"keep me")
    result = run("denoise", tmp_path / "in", "-o", tmp_path / "out", *FAST)
    _assert_clean_failure(result, "a.png", "--overwrite")
    assert (tmp_path / "out" / "a.png").read_bytes() == b"keep me"
    assert (tmp_path / "out" / "b.png").exists()
    assert _hidden_files(tmp_path / "out") == []


def test_denoise_overwrite_replaces_an_existing_output(tmp_path):
    _png(tmp_path / "in" / "a.png", 1)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.png").write_bytes(b"old")
    result = run("denoise", tmp_path / "in", "-o", tmp_path / "out", "--overwrite", *FAST)
    assert result.exit_code == 0, result.output
    assert read_image(tmp_path / "out" / "a.png")[0].shape == (1, 32, 32)


def test_denoise_two_inputs_with_one_name_do_not_overwrite_each_other(tmp_path):
    first = _png(tmp_path / "x" / "same.png", 1)
    second = _png(tmp_path / "y" / "same.png", 2)
    result = run("denoise", first, second, "-o", tmp_path / "out", "--overwrite", *FAST)
    _assert_clean_failure(result, str(second), "same output")
    assert (tmp_path / "out" / "same.png").exists()


def test_denoise_output_dtype_changes_the_pixel_type(tmp_path):
    _png(tmp_path / "in" / "a.png", 1)
    result = run(
        "denoise", tmp_path / "in", "-o", tmp_path / "out", "--output-dtype", "uint16", *FAST
    )
    assert result.exit_code == 0, result.output
    assert read_image(tmp_path / "out" / "a.png")[1].dtype == "uint16"


def test_denoise_output_dtype_float32_writes_tiff_for_a_png(tmp_path):
    _png(tmp_path / "in" / "a.png", 1)
    result = run(
        "denoise", tmp_path / "in", "-o", tmp_path / "out", "--output-dtype", "float32", *FAST
    )
    assert result.exit_code == 0, result.output
    assert read_image(tmp_path / "out" / "a.tif")[1].dtype == "float32"


@pytest.mark.parametrize(
    ("option", "problem"),
    [
        (["--output-dtype", "int64"], "output-dtype"),
        (["--method", "nope"], "unknown method"),
        (["--method", "nope", "--preset", "paper"], "unknown method"),
        (["--preset", "slow"], "preset"),
        (["--device", "tpu"], "device"),
    ],
)
def test_denoise_rejects_bad_options_before_any_work(tmp_path, option, problem):
    _png(tmp_path / "in" / "a.png", 1)
    result = run("denoise", tmp_path / "in", "-o", tmp_path / "out", "--steps", "2", *option)
    assert result.exit_code == 2, result.output
    assert problem in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", [["denoise", *FAST], ["add-noise", "--sigma", "25"]])
def test_an_output_that_is_a_file_is_a_usage_error(tmp_path, command):
    _png(tmp_path / "in" / "a.png", 1)
    (tmp_path / "out").write_text("a file")
    result = run(*command, tmp_path / "in", "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "is a file" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_denoise_rejects_zero_steps(tmp_path):
    _png(tmp_path / "in" / "a.png", 1)
    result = run("denoise", tmp_path / "in", "-o", tmp_path / "out", "--steps", "0")
    assert result.exit_code == 2
    assert not (tmp_path / "out").exists()


def test_denoise_paper_preset_runs_with_few_steps(tmp_path):
    _png(tmp_path / "in" / "a.png", 1)
    out = tmp_path / "out"
    result = run(
        "denoise", tmp_path / "in", "-o", out, "--method", "zsn2n", "--preset", "paper", *FAST
    )
    assert result.exit_code == 0, result.output


def test_denoise_paper_preset_of_a_method_without_one_exits_2(tmp_path):
    _png(tmp_path / "in" / "a.png", 1)
    result = run("denoise", tmp_path / "in", "-o", tmp_path / "out", "--preset", "paper")
    assert result.exit_code == 2
    assert "no 'paper' preset" in result.output


def test_denoise_same_seed_gives_the_same_output(tmp_path):
    _png(tmp_path / "in" / "a.png", 1)
    for out in ("out1", "out2"):
        assert (
            run("denoise", tmp_path / "in", "-o", tmp_path / out, "--seed", "3", *FAST).exit_code
            == 0
        )
    first, _ = read_image(tmp_path / "out1" / "a.png")
    second, _ = read_image(tmp_path / "out2" / "a.png")
    np.testing.assert_array_equal(first, second)


def test_a_file_name_with_brackets_is_printed_literally(tmp_path):
    _png(tmp_path / "in" / "[red]x[b].png", 1)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "[red]x[b].png").write_bytes(b"old")
    result = run("denoise", tmp_path / "in", "-o", tmp_path / "out", *FAST)
    assert "[red]x[b].png" in result.stderr


# --------------------------------------------------------------------------- add-noise


def test_add_noise_is_seeded(tmp_path):
    _png(tmp_path / "clean" / "a.png", 1)
    for out, seed in (("one", "0"), ("two", "0"), ("three", "1")):
        result = run(
            "add-noise", tmp_path / "clean", "-o", tmp_path / out, "--sigma", "25", "--seed", seed
        )
        assert result.exit_code == 0, result.output
    one, two, three = (read_image(tmp_path / d / "a.png")[0] for d in ("one", "two", "three"))
    np.testing.assert_array_equal(one, two)
    assert not np.array_equal(one, three)


def test_add_noise_float32_writes_tiff_and_keeps_values_outside_0_1(tmp_path):
    clean_path = _png(tmp_path / "clean" / "a.png", 1)
    result = run(
        "add-noise", clean_path, "-o", tmp_path / "noisy", "--noise", "gaussian", "--sigma", "25",
        "--seed", "0", "--output-dtype", "float32",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    noisy, meta = read_image(tmp_path / "noisy" / "a.tif")
    clean, _ = read_image(clean_path)
    assert meta.dtype == "float32" and noisy.shape == clean.shape
    assert noisy.min() < 0 or noisy.max() > 1
    assert abs(float(np.std(noisy - clean)) * 255 - 25) < 3


@pytest.mark.parametrize(
    ("option", "problem"),
    [
        (["--noise", "speckle"], "unknown noise 'speckle'"),
        (["--sigma", "25", "--lam", "3"], "'lam'"),
        ([], "sigma"),
        (["--sigma", "-1"], "sigma"),
        (["--sigma", "25", "--output-dtype", "int8"], "output-dtype"),
    ],
)
def test_add_noise_rejects_unknown_noise_and_params_in_one_line(tmp_path, option, problem):
    _png(tmp_path / "clean" / "a.png", 1)
    result = run("add-noise", tmp_path / "clean", "-o", tmp_path / "noisy", *option)
    assert result.exit_code == 2, result.output
    assert problem in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "noisy").exists()


def test_add_noise_processes_the_good_inputs_when_one_is_bad(tmp_path):
    good = _png(tmp_path / "a.png", 1)
    bad = _bad_corrupt(tmp_path)
    result = run("add-noise", bad, good, "-o", tmp_path / "noisy", "--sigma", "25")
    _assert_clean_failure(result, bad.name, "corrupt")
    assert (tmp_path / "noisy" / "a.png").exists()


def test_add_noise_never_replaces_an_existing_output(tmp_path):
    good = _png(tmp_path / "a.png", 1)
    (tmp_path / "noisy").mkdir()
    (tmp_path / "noisy" / "a.png").write_bytes(b"keep me")
    result = run("add-noise", good, "-o", tmp_path / "noisy", "--sigma", "25")
    _assert_clean_failure(result, "a.png", "--overwrite")
    assert (tmp_path / "noisy" / "a.png").read_bytes() == b"keep me"


# --------------------------------------------------------------------------- evaluate


def _evaluate_fixture(tmp_path: Path) -> None:
    for name, seed in (("a.png", 1), ("b.png", 2)):
        _png(tmp_path / "clean" / name, seed)
        clean, _ = read_image(tmp_path / "clean" / name)
        write_image(tmp_path / "den" / name, np.clip(clean + 0.02, 0, 1))


def test_evaluate_prints_a_table(tmp_path):
    _evaluate_fixture(tmp_path)
    result = run("evaluate", "--reference", tmp_path / "clean", tmp_path / "den")
    assert result.exit_code == 0, result.output
    assert "PSNR (dB)" in result.stdout and "mean (2 images)" in result.stdout


def test_evaluate_json_rows_have_psnr_db_and_ssim(tmp_path):
    _evaluate_fixture(tmp_path)
    result = run("evaluate", "--reference", tmp_path / "clean", tmp_path / "den", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [Path(r["image"]).name for r in rows] == ["a.png", "b.png"]
    clean, _ = read_image(tmp_path / "clean" / "a.png")
    den, _ = read_image(tmp_path / "den" / "a.png")
    assert rows[0]["psnr_db"] == pytest.approx(psnr_np(den, clean, 1.0))
    assert 0 < rows[0]["ssim"] <= 1


def test_evaluate_names_the_unmatched_images_and_scores_the_rest(tmp_path):
    _evaluate_fixture(tmp_path)
    _png(tmp_path / "den" / "zz.png", 3)
    result = run("evaluate", "--reference", tmp_path / "clean", tmp_path / "den", "--json")
    _assert_clean_failure(result, "zz.png", "no reference")
    assert len(json.loads(result.stdout)) == 2


def test_evaluate_prints_file_names_with_brackets_literally(tmp_path):
    _png(tmp_path / "clean" / "[b]x.png", 1)
    _png(tmp_path / "den" / "[b]x.png", 2)
    result = run("evaluate", "--reference", tmp_path / "clean", tmp_path / "den")
    assert result.exit_code == 0, result.output
    assert "[b]x.png" in result.stdout


# --------------------------------------------------------------------------- end to end


@pytest.mark.data
def test_add_noise_then_denoise_set12_gains_psnr(data_path, tmp_path):
    clean_path = data_path("Set12", "01.png")
    result = run(
        "add-noise", clean_path, "-o", tmp_path / "noisy", "--noise", "gaussian",
        "--sigma", "25", "--seed", "0", "--output-dtype", "float32",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    noisy_path = tmp_path / "noisy" / "01.tif"
    result = run(
        "denoise", noisy_path, "-o", tmp_path / "den", "--steps", "300", "--reference", clean_path
    )
    assert result.exit_code == 0, result.output
    clean, _ = read_image(clean_path)
    noisy, _ = read_image(noisy_path)
    denoised, meta = read_image(tmp_path / "den" / "01.tif")
    assert meta.dtype == "float32"
    gain = psnr_np(denoised, clean, 1.0) - psnr_np(noisy, clean, 1.0)
    print(f"zsn2n 300 steps on Set12/01 sigma=25: PSNR gain {gain:.2f} dB")
    # measured once: 6.75 dB (noisy about 20.2 dB) on the CPU; 1 dB of headroom
    assert gain > 6.75 - 1.0


def test_evaluate_json_writes_null_for_infinite_psnr(tmp_path):
    image = _png(tmp_path / "a.png")
    result = run("evaluate", "--reference", str(image), str(image), "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows[0]["psnr_db"] is None and rows[0]["ssim"] == pytest.approx(1.0)


def test_train_reports_a_misspelt_key_in_one_line_with_exit_2(tmp_path):
    result = run("train", "trainer.max_stpes=3", f"run.root={tmp_path}")
    assert result.exit_code == 2
    assert "did you mean 'trainer.max_steps'" in result.output
    assert not list(tmp_path.iterdir())  # no run directory for a bad config


def test_train_then_resume_from_the_cli(data_path, tmp_path):
    root = data_path("Set12")
    common = ["trainer.threads=1", "trainer.progress_bar=false"]
    result = run(
        "train",
        "logger=none",
        f"data.root={root}",
        "data.val_count=1",
        "data.patch_size=32",
        "data.batch_size=2",
        "data.num_workers=0",
        "net.width=8",
        "trainer.max_steps=2",
        f"run.root={tmp_path}",
        *common,
    )
    assert result.exit_code == 0, result.output
    (run_dir,) = (tmp_path / "n2n").iterdir()
    assert "denoise with: noise2x denoise --checkpoint" in result.output
    again = run("train", "--resume", run_dir, "trainer.max_steps=4", *common)
    assert again.exit_code == 0, again.output
    assert "--- Logging error ---" not in again.output
    assert any(line.startswith("4 steps") for line in again.output.splitlines())
    refused = run("train", "--resume", run_dir, "trainer.max_steps=6", "net.width=16")
    assert refused.exit_code == 2
    assert "cannot change 'net.width' when resuming" in refused.output
    last = (run_dir / "checkpoints" / "last.ckpt").stat().st_mtime_ns
    done = run("train", "--resume", run_dir, "trainer.max_steps=4", *common)
    assert done.exit_code == 0, done.output
    assert "is already at step 4 of trainer.max_steps=4: nothing to do" in done.output
    assert (run_dir / "checkpoints" / "last.ckpt").stat().st_mtime_ns == last  # not rewritten
    from noise2x.train.lock import run_lock

    with run_lock(run_dir):  # as another process training the run would hold it
        busy = run("train", "--resume", run_dir, "trainer.max_steps=6", *common)
    assert busy.exit_code == 1
    assert f"{run_dir}: another process (pid {os.getpid()}) is training this run" in busy.output
    assert "Traceback" not in busy.output
    assert (run_dir / "checkpoints" / "last.ckpt").stat().st_mtime_ns == last  # untouched


def test_evaluate_says_in_one_line_why_lpips_is_not_reported(tmp_path, monkeypatch):
    import noise2x.metrics.lpips as lpips_module

    monkeypatch.setattr(
        lpips_module, "lpips_status", lambda net="alex": "LPIPS not reported: test reason"
    )
    _evaluate_fixture(tmp_path)
    result = run("evaluate", "--reference", tmp_path / "clean", tmp_path / "den", "--json")
    assert result.exit_code == 0
    assert "LPIPS not reported: test reason" in result.stderr
    assert all("lpips" not in row for row in json.loads(result.stdout))


def test_evaluate_reports_lpips_when_it_can(tmp_path, monkeypatch):
    import noise2x.metrics.lpips as lpips_module

    monkeypatch.setattr(lpips_module, "lpips_status", lambda net="alex": None)
    monkeypatch.setattr(  # a stand-in distance: the wiring, not the network, is tested here
        lpips_module,
        "lpips_or_none",
        lambda a, b, net="alex": (((a - b) ** 2).mean(dim=(1, 2, 3)), None),
    )
    _evaluate_fixture(tmp_path)
    table = run("evaluate", "--reference", tmp_path / "clean", tmp_path / "den")
    assert table.exit_code == 0 and "LPIPS" in table.stdout
    rows = json.loads(
        run("evaluate", "--reference", tmp_path / "clean", tmp_path / "den", "--json").stdout
    )
    assert all(isinstance(row["lpips"], float) and row["lpips"] >= 0 for row in rows)


# --------------------------------------------------------------------------- method settings
def test_denoise_takes_method_settings_as_overrides(tmp_path):
    _png(tmp_path / "in" / "a.png", 1)
    out = tmp_path / "out"
    words = ["method=zsn2n", "method.steps=2", "method.downsampler=random_neighbor"]
    result = run("denoise", tmp_path / "in", *words, "-o", out, "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert (out / "a.png").is_file()


def test_the_ensemble_setting_takes_what_noise2x_list_shows():
    """``noise2x list`` shows the prior's default as ``method.ensemble = null``: given back as
    an override it means "by the image's size"; an integer 1-8 fixes it."""
    from noise2x.methods.settings import parse_overrides

    assert parse_overrides(["method.ensemble=null"], "prior") == ("prior", {"ensemble": None})
    assert parse_overrides(["method.ensemble=5"], "prior") == ("prior", {"ensemble": 5})
    with pytest.raises(ValueError, match="ensemble must be an integer 1-8 or null"):
        Prior(**parse_overrides(["method.ensemble=0"], "prior")[1])


@pytest.mark.parametrize(
    ("words", "problem"),
    [
        (["method.stesp=3"], "did you mean 'steps'"),
        (["method.steps=abc"], "method.steps=abc: expected int"),
        (["method=zsn2nn"], "zsn2n"),
        (["method=zsn2n", "--adapt"], "--adapt does not apply to --method zsn2n"),
        (["method.ensemble=9"], "ensemble must be an integer 1-8"),
    ],
)
def test_bad_method_settings_exit_2_with_one_line(tmp_path, words, problem):
    _png(tmp_path / "in" / "a.png", 1)
    result = run("denoise", tmp_path / "in", *words, "-o", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert problem in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_denoise_default_is_the_prior_and_adapt_runs(tmp_path):
    _png(tmp_path / "in" / "a.png", 1)
    out = tmp_path / "out"
    words = ["method.steps=2", "method.crop=16", "method.eval_every=1", "method.batch_size=1"]
    result = run("denoise", tmp_path / "in", "--adapt", *words, "-o", out, "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert (out / "a.png").is_file()


def test_list_shows_each_single_image_method_setting_with_its_default():
    result = run("list")
    assert result.exit_code == 0
    assert (
        "    method.ensemble = null  # Flips / rotations averaged at inference (self-ensemble)."
        in result.stdout
    )
    assert "    method.steps = 2000" in result.stdout  # zsn2n's default


def test_list_shows_the_settings_of_every_training_component():
    result = run("list")
    assert result.exit_code == 0
    assert "  net=unet_n2n\n    net.width = 48  # Encoder channels" in result.stdout
    assert "    loss.lam = 0.1  # Weight of the perceptual term" in result.stdout
    assert "    noise.fraction = (required)  # Fraction of the lines" in result.stdout
    assert "    method.gamma = 2.0" in result.stdout  # ne2ne, a dataset method


@pytest.mark.parametrize("method", ["n2n", "ne2ne"])
def test_a_dataset_method_is_one_usage_error_that_points_to_train(tmp_path, method):
    """Issue 14: not "--steps does not apply", and not one failure per file."""
    for seed in (1, 2):
        _png(tmp_path / "in" / f"{seed}.png", seed)
    result = run(
        "denoise", tmp_path / "in", "-o", tmp_path / "out", "--method", method, "--steps", 5
    )
    assert result.exit_code == 2
    assert (
        f"--method {method} trains on a data set: run `noise2x train method={method}"
        in result.output
    )
    assert result.output.count("error") == 1


def test_bm3d_on_a_constant_or_tiny_image_is_one_clear_line_each(tmp_path):
    write_image(tmp_path / "in" / "const.png", np.full((1, 32, 32), 0.5, np.float32))
    write_image(tmp_path / "in" / "tiny.png", np.full((1, 2, 2), 0.5, np.float32))
    write_image(tmp_path / "in" / "good.png", _grey(3))
    result = run("denoise", tmp_path / "in", "-o", tmp_path / "out", "--method", "bm3d")
    assert result.exit_code == 1
    assert "const.png: bm3d: cannot estimate the noise level" in result.output
    assert "tiny.png: bm3d: needs at least 8x8 pixels" in result.output
    assert "nan" not in result.output.lower() and "Warning" not in result.output
    assert (tmp_path / "out" / "good.png").is_file()


def test_the_console_script_prints_a_warning_as_one_noise2x_line(tmp_path, capsys):
    """Issue 14: RGBA input printed a raw Python warning with the source path and code line."""
    from PIL import Image

    from noise2x.cli import main

    rgba = (np.random.default_rng(0).random((32, 32, 4)) * 255).astype(np.uint8)
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "rgba.png")
    with pytest.raises(SystemExit) as exit_info:
        main(
            ["denoise", str(tmp_path / "rgba.png"), "-o", str(tmp_path / "out"), "--device", "cpu"]
        )
    assert exit_info.value.code in (0, None)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "alpha" in line]
    assert len(lines) == 1 and lines[0].startswith("warning: ") and "rgba.png" in lines[0]
    assert "UserWarning" not in err and ".py:" not in err


def test_train_and_denoise_print_no_third_party_noise(data_path, tmp_path, capfd):
    """Issue 15: no "Tip", litlogger advertisement or library warning reaches the terminal."""
    root = data_path("Set12")
    result = run(
        "train", "logger=none", f"data.root={root}", "data.val_count=1", "data.patch_size=32",
        "data.batch_size=2", "data.num_workers=0", "net.width=8", "trainer.max_steps=2",
        "trainer.threads=1", "trainer.progress_bar=false", f"run.root={tmp_path / 'runs'}",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    _png(tmp_path / "in" / "a.png", 1)
    denoised = run("denoise", tmp_path / "in", "-o", tmp_path / "out", "--device", "cpu")
    assert denoised.exit_code == 0, denoised.output
    captured = capfd.readouterr()
    text = result.output + denoised.output + captured.out + captured.err
    for noise in ("Tip", "litlogger", "DeprecationWarning", "UserWarning", "GPU available"):
        assert noise not in text, noise
    assert "2 steps in" in result.output


@pytest.mark.parametrize(("option", "problem"), [("--sigma", "-5:5"), ("--lam", "0:30")])
def test_add_noise_refuses_a_range_below_zero_up_front(tmp_path, option, problem):
    _png(tmp_path / "clean" / "a.png", 1)
    result = run("add-noise", tmp_path / "clean", "-o", tmp_path / "noisy", option, problem)
    assert result.exit_code == 2 and option in result.output
    assert not (tmp_path / "noisy").exists()


def test_add_noise_draws_one_level_per_image_shared_by_both_views_of_a_pair(tmp_path):
    for i in range(3):
        _png(tmp_path / "clean" / f"{i}.png", i, shape=(1, 64, 64))
    for view, seed in (("a", 1), ("b", 2)):
        common = ["--sigma", "0:55", "--level-seed", 9, "--output-dtype", "float32"]
        result = run(
            "add-noise", tmp_path / "clean", "-o", tmp_path / view, "--seed", seed, *common
        )
        assert result.exit_code == 0, result.output
    levels = []
    for i in range(3):
        clean = read_image(tmp_path / "clean" / f"{i}.png")[0]
        a, b = (read_image(tmp_path / v / f"{i}.tif")[0] for v in "ab")
        assert not np.array_equal(a, b)  # independent noise
        levels.append(((a - clean).std() * 255, (b - clean).std() * 255))
    for sa, sb in levels:
        assert abs(sa - sb) < 4  # the same sigma for both views
    assert max(s for s, _ in levels) - min(s for s, _ in levels) > 5  # differs between images


def test_denoise_checkpoint_with_ensemble_writes_what_the_api_returns(tmp_path, trained_checkpoint):
    image = _png(tmp_path / "img.png", shape=(1, 40, 40))
    result = run(
        "denoise", image, "-o", tmp_path / "out", "--checkpoint", trained_checkpoint,
        "--ensemble", 4, "--device", "cpu",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    written, _ = read_image(tmp_path / "out" / "img.png")
    noisy, _ = read_image(image)
    expected = noise2x.denoise(noisy, checkpoint=trained_checkpoint, device="cpu", ensemble=4)
    assert np.abs(written - expected).max() <= 1 / 255 + 1e-6  # the PNG is uint8
    bad = run("denoise", image, "-o", tmp_path / "o2", "--checkpoint", trained_checkpoint,
              "--ensemble", 9)  # fmt: skip
    assert bad.exit_code == 2 and "--ensemble must be an integer 1-8" in bad.output
