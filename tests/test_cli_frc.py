"""In-process tests of ``noise2x evaluate --frc`` (Fourier ring correlation of two halves)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import mrcfile
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from noise2x.cli import app
from noise2x.data.io import read_image, write_image


def run(*args):
    """Invoke the app in-process; arguments may be paths."""
    return CliRunner().invoke(app, [str(a) for a in args])


def _scene(shape=(64, 64), seed: int = 0) -> np.ndarray:
    """A smooth random scene in about [0, 1] (power falling as 1 / f^2)."""
    rng = np.random.default_rng(seed)
    fy, fx = np.fft.fftfreq(shape[0])[:, None], np.fft.fftfreq(shape[1])[None, :]
    amplitude = 1.0 / np.maximum(np.hypot(fy, fx), 1.0 / max(shape))
    scene = np.fft.ifft2(np.fft.fft2(rng.normal(size=shape)) * amplitude).real
    return 0.5 + 0.15 * scene / scene.std()


def _pair(folder: Path, std: float = 0.3, shape=(64, 64), names=("a.tif", "b.tif")):
    """Write two halves (scene + independent Gaussian noise) as float32 TIFFs."""
    scene = _scene(shape)
    rng = np.random.default_rng(1)
    paths = []
    for name in names:
        noisy = (scene + rng.normal(0, std, shape)).astype(np.float32)[None]
        paths.append(write_image(folder / name, noisy))
    return paths


def _mrc(path: Path, data: np.ndarray, voxel_size) -> Path:
    with mrcfile.new(path) as mrc:
        mrc.set_data(data.astype(np.float32))
        mrc.voxel_size = voxel_size
    return path


def _errors(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error")]


def test_evaluate_frc_prints_the_resolution_and_a_table(tmp_path):
    a, b = _pair(tmp_path)

    result = run("evaluate", "--frc", a, b)

    assert result.exit_code == 0, result.output
    assert f"raw  {a} vs {b}: " in result.stdout
    assert "cycles/pixel =" in result.stdout and " px" in result.stdout
    assert "FRC raw" in result.stdout.splitlines()[3]  # the table's header
    assert result.stdout.splitlines()[-1].split()[:2] == ["0.5000", "2.00"]  # Nyquist: 2 px


def test_evaluate_frc_json_has_the_curve_and_the_resolution(tmp_path):
    a, b = _pair(tmp_path)

    result = run("evaluate", "--frc", a, b, "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["threshold"] == pytest.approx(1 / 7)
    (curve,) = report["curves"]
    assert (curve["label"], curve["a"], curve["b"], curve["shape"]) == (
        "raw",
        str(a),
        str(b),
        [1, 64, 64],
    )
    assert len(curve["frequencies"]) == len(curve["frc"]) == len(curve["counts"]) == 32
    resolution = curve["resolution"]
    assert resolution["status"] == "crossed"
    assert resolution["pixels"] == pytest.approx(1 / resolution["frequency"])
    assert resolution["physical"] is None


def test_evaluate_frc_denoised_adds_a_second_curve_and_plots_both(tmp_path):
    pytest.importorskip("matplotlib", reason="the plot needs matplotlib (the dev extra has it)")
    from scipy.ndimage import median_filter

    a, b = _pair(tmp_path)
    den = [
        write_image(tmp_path / f"den_{p.name}", median_filter(read_image(p)[0], size=(1, 3, 3)))
        for p in (a, b)
    ]
    plot = tmp_path / "plots" / "frc.png"

    result = run("evaluate", "--frc", a, b, "--frc-denoised", *den, "--frc-plot", plot)

    assert result.exit_code == 0, result.output
    assert f"denoised  {den[0]} vs {den[1]}: " in result.stdout
    assert "FRC raw  FRC denoised" in result.stdout
    assert f"plot: {plot}" in result.stdout
    with Image.open(plot) as image:
        assert image.format == "PNG" and image.width > 300
    assert [p.name for p in plot.parent.iterdir()] == ["frc.png"]  # no temporary file left


def test_evaluate_frc_refuses_to_overwrite_a_plot_without_overwrite(tmp_path):
    pytest.importorskip("matplotlib", reason="the plot needs matplotlib (the dev extra has it)")
    a, b = _pair(tmp_path)
    plot = tmp_path / "frc.png"
    plot.write_bytes(b"old")

    refused = run("evaluate", "--frc", a, b, "--frc-plot", plot)
    replaced = run("evaluate", "--frc", a, b, "--frc-plot", plot, "--overwrite")

    assert refused.exit_code == 1
    assert _errors(refused) == [f"error: --frc-plot {plot} exists; use --overwrite to replace it"]
    assert refused.stdout == ""  # nothing was computed
    assert replaced.exit_code == 0, replaced.output
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_evaluate_frc_without_matplotlib_says_so_and_still_prints_the_numbers(
    tmp_path, monkeypatch
):
    a, b = _pair(tmp_path)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import fails

    result = run("evaluate", "--frc", a, b, "--frc-plot", tmp_path / "frc.png")

    assert result.exit_code == 1
    (line,) = _errors(result)
    assert "matplotlib is not installed" in line
    assert "cycles/pixel =" in result.stdout
    assert not (tmp_path / "frc.png").exists()


def test_evaluate_frc_names_both_files_when_their_shapes_differ(tmp_path):
    (a,) = _pair(tmp_path, names=("a.tif",))
    (b,) = _pair(tmp_path, shape=(64, 48), names=("b.tif",))

    result = run("evaluate", "--frc", a, b)

    assert result.exit_code == 1
    (line,) = _errors(result)
    assert str(a) in line and str(b) in line and "same shape" in line
    assert "Traceback" not in result.output


def test_evaluate_frc_refuses_a_stack_and_a_missing_file(tmp_path):
    (a,) = _pair(tmp_path, names=("a.tif",))
    stack = _mrc(tmp_path / "movie.mrc", np.random.default_rng(0).random((3, 64, 64)), 1.0)

    stacked = run("evaluate", "--frc", a, stack)
    missing = run("evaluate", "--frc", a, tmp_path / "nope.tif")

    assert stacked.exit_code == 1 and "stack of 3 frames" in _errors(stacked)[0]
    assert missing.exit_code == 1 and "nope.tif" in _errors(missing)[0]


def test_evaluate_frc_gives_the_resolution_in_angstrom_from_the_mrc_voxel_size(tmp_path):
    scene = _scene()
    rng = np.random.default_rng(1)
    a, b = (
        _mrc(tmp_path / name, scene + rng.normal(0, 0.3, scene.shape), 1.5)
        for name in ("a.mrc", "b.mrc")
    )

    result = run("evaluate", "--frc", a, b, "--json")
    in_nm = run("evaluate", "--frc", a, b, "--pixel-size", "0.2", "--pixel-unit", "nm")

    resolution = json.loads(result.stdout)["curves"][0]["resolution"]
    assert resolution["unit"] == "Å"
    assert resolution["physical"] == pytest.approx(1.5 * resolution["pixels"])
    assert in_nm.exit_code == 0, in_nm.output
    assert f"= {0.2 * resolution['pixels']:.4g} nm" in in_nm.stdout


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ([], "give --reference CLEAN and IMAGES, or --frc A B"),
        (["--frc-denoised", "x.tif", "y.tif"], "--frc-denoised needs --frc A B"),
        (["--frc", "x.tif", "y.tif", "--reference", "c.tif"], "no --reference or IMAGES"),
        (["--frc", "x.tif", "y.tif", "z.tif"], "no --reference or IMAGES"),
        (["--frc-plot", "p.png", "--reference", "c.tif", "z.tif"], "need --frc A B"),
        (["--frc", "x.tif", "y.tif", "--pixel-size", "0"], "--pixel-size must be"),
        (["--frc", "x.tif", "y.tif", "--frc-plot", "p.jpg"], ".png, .pdf, .svg"),
        (["--reference", "c.tif"], "give the IMAGES"),
    ],
)
def test_evaluate_usage_errors_exit_with_2(tmp_path, monkeypatch, args, problem):
    monkeypatch.chdir(tmp_path)

    result = run("evaluate", *args)

    assert result.exit_code == 2, result.output
    (line,) = _errors(result)
    assert problem in line


@pytest.mark.data
def test_evaluate_frc_shows_a_denoiser_helping_on_a_real_image(data_path, tmp_path):
    from skimage.restoration import denoise_tv_chambolle

    clean = np.asarray(Image.open(data_path("Set12", "01.png")), dtype=np.float64) / 255.0
    rng = np.random.default_rng(0)
    halves = [clean + rng.normal(0, 50 / 255, clean.shape) for _ in range(2)]  # sigma = 50
    raw = [
        write_image(tmp_path / f"{n}.tif", h[None].astype(np.float32))
        for n, h in zip("ab", halves, strict=True)
    ]
    den = [
        write_image(
            tmp_path / f"tv_{n}.tif", denoise_tv_chambolle(h, weight=0.1)[None].astype(np.float32)
        )
        for n, h in zip("ab", halves, strict=True)
    ]

    result = run("evaluate", "--frc", *raw, "--frc-denoised", *den, "--json")

    raw_curve, den_curve = json.loads(result.stdout)["curves"]
    # Measured once: 3.56 px raw, 2.31 px denoised.
    assert den_curve["resolution"]["pixels"] < 0.85 * raw_curve["resolution"]["pixels"]
