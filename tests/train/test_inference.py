"""Denoising with a trained checkpoint: the API, the CLI, tiles."""

import numpy as np
import pytest
import tifffile
from typer.testing import CliRunner

import noise2x
from noise2x.cli import app
from noise2x.data.io import read_image, write_image


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def noisy_grey():
    rng = np.random.default_rng(0)
    return np.clip(0.5 + 0.1 * rng.standard_normal((1, 150, 190)), 0, 1).astype(np.float32)


def test_api_denoise_with_a_checkpoint_keeps_shape_and_dtype(trained_checkpoint, noisy_grey):
    out = noise2x.denoise(noisy_grey, checkpoint=trained_checkpoint)
    assert out.shape == noisy_grey.shape and out.dtype == np.float32
    stack = np.stack([noisy_grey, noisy_grey[:, ::-1].copy()])
    assert noise2x.denoise(stack, checkpoint=trained_checkpoint).shape == stack.shape


def test_tiled_equals_whole_image_when_the_overlap_covers_the_receptive_field(
    trained_checkpoint, noisy_grey
):
    whole = noise2x.denoise(noisy_grey, checkpoint=trained_checkpoint, tile=512)
    tiled = noise2x.denoise(noisy_grey, checkpoint=trained_checkpoint, tile=96, overlap=64)
    assert np.abs(whole - tiled).max() < 1e-4


def test_a_color_image_into_a_grey_model_is_a_clear_error(trained_checkpoint):
    with pytest.raises(ValueError, match="3 channel"):
        noise2x.denoise(np.zeros((3, 40, 40), np.float32), checkpoint=trained_checkpoint)


def test_cli_denoise_with_checkpoint_keeps_name_format_and_dtype(tmp_path, trained_checkpoint):
    rng = np.random.default_rng(1)
    tif = tmp_path / "scan.tif"
    tifffile.imwrite(tif, (rng.random((70, 90)) * 65535).astype(np.uint16))
    png = tmp_path / "img.png"
    write_image(png, rng.random((1, 48, 40)).astype(np.float32))
    result = run("denoise", tif, png, "-o", tmp_path / "out", "--checkpoint", trained_checkpoint)
    assert result.exit_code == 0, result.output
    out_tif, meta = read_image(tmp_path / "out" / "scan.tif")
    assert meta.dtype == "uint16" and out_tif.shape == (1, 70, 90)
    assert read_image(tmp_path / "out" / "img.png")[1].dtype == "uint8"


def test_cli_denoise_with_tiles_runs(tmp_path, trained_checkpoint):
    png = tmp_path / "img.png"
    write_image(png, np.random.default_rng(2).random((1, 130, 100)).astype(np.float32))
    args = ("--checkpoint", trained_checkpoint, "--tile", 64, "--overlap", 16)
    result = run("denoise", png, "-o", tmp_path / "out", *args)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("--checkpoint", "missing.ckpt"), "no such file"),
        (("--tile", 64), "apply to --checkpoint models only"),
    ],
)
def test_cli_denoise_bad_checkpoint_options_exit_2(tmp_path, args, problem):
    png = tmp_path / "img.png"
    write_image(png, np.zeros((1, 8, 8), np.float32))
    result = run("denoise", png, "-o", tmp_path / "out", *args)
    assert result.exit_code == 2 and problem in result.output


def test_cli_denoise_with_a_file_that_is_not_a_checkpoint_exits_2(tmp_path):
    bad = tmp_path / "model.ckpt"
    bad.write_text("nope")
    png = tmp_path / "img.png"
    write_image(png, np.zeros((1, 8, 8), np.float32))
    result = run("denoise", png, "-o", tmp_path / "out", "--checkpoint", bad)
    assert result.exit_code == 2 and "model.ckpt" in result.output
    assert not (tmp_path / "out" / "img.png").exists()


def test_cli_denoises_a_tiff_stack_frame_by_frame_as_the_api_does(tmp_path, trained_checkpoint):
    rng = np.random.default_rng(3)
    frames = (rng.random((3, 60, 70)) * 65535).astype(np.uint16)
    movie = tmp_path / "movie.tif"
    tifffile.imwrite(movie, frames, photometric="minisblack")
    result = run("denoise", movie, "-o", tmp_path / "out", "--checkpoint", trained_checkpoint)
    assert result.exit_code == 0, result.output
    out, meta = read_image(tmp_path / "out" / "movie.tif")
    assert meta.dtype == "uint16" and out.shape == (3, 1, 60, 70)
    for k in range(3):  # each frame is the API's result on that frame alone
        alone = noise2x.denoise(frames[k][None], checkpoint=trained_checkpoint)
        assert np.abs(out[k, 0] * 65535 - alone[0].astype(np.float64)).max() <= 1
    assert not list((tmp_path / "out").glob(".*tmp*"))  # the temporary file was renamed


def test_cli_keeps_an_mrc_stack_float32_mode_and_voxel_size(tmp_path, trained_checkpoint):
    import mrcfile

    stack = tmp_path / "tilt.mrcs"
    with mrcfile.new(stack) as mrc:
        mrc.set_data(np.random.default_rng(4).normal(5.0, 2.0, (2, 40, 50)).astype(np.float32))
        mrc.set_image_stack()
        mrc.voxel_size = 1.35
    result = run("denoise", stack, "-o", tmp_path / "out", "--checkpoint", trained_checkpoint)
    assert result.exit_code == 0, result.output
    with mrcfile.open(tmp_path / "out" / "tilt.mrcs") as mrc:
        assert mrc.data.dtype == np.float32 and mrc.data.shape == (2, 40, 50)
        assert mrc.is_image_stack()
        assert np.isclose(float(mrc.voxel_size.x), 1.35)
        assert 0.0 < float(mrc.data.std()) < 2.0  # denoised on the input's own value range


def test_cli_stack_output_is_not_overwritten_without_overwrite(tmp_path, trained_checkpoint):
    movie = tmp_path / "movie.tif"
    tifffile.imwrite(movie, np.zeros((2, 32, 32), np.uint16))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "movie.tif").write_bytes(b"keep me")
    result = run("denoise", movie, "-o", tmp_path / "out", "--checkpoint", trained_checkpoint)
    assert result.exit_code == 1 and "--overwrite" in result.output
    assert (tmp_path / "out" / "movie.tif").read_bytes() == b"keep me"


def test_cli_keeps_an_int16_mrc_rectangular_micrograph_int16(tmp_path, trained_checkpoint):
    import mrcfile

    micrograph = tmp_path / "mic.mrc"
    data = np.random.default_rng(5).normal(0.0, 300.0, (90, 130)).round().astype(np.int16)
    with mrcfile.new(micrograph) as mrc:
        mrc.set_data(data)
        mrc.voxel_size = 0.83
    args = ("--checkpoint", trained_checkpoint, "--tile", 64, "--overlap", 16)
    result = run("denoise", micrograph, "-o", tmp_path / "out", *args)
    assert result.exit_code == 0, result.output
    with mrcfile.open(tmp_path / "out" / "mic.mrc") as mrc:
        assert mrc.data.dtype == np.int16 and mrc.data.shape == (90, 130)
        assert mrc.header.mode == 1 and np.isclose(float(mrc.voxel_size.x), 0.83)
        assert mrc.data.std() < data.std()  # smoothed, on the input's own scale


def test_a_stack_is_streamed_one_frame_at_a_time(tmp_path, trained_checkpoint, monkeypatch):
    """Memory stays flat: the denoiser only ever sees one frame, and each is written at once."""
    import tracemalloc

    from noise2x import api
    from noise2x.data import stream

    calls, written = [], []
    real_denoise, real_write = api.denoise, stream.StackWriter.write

    def one_frame(noisy, **kwargs):
        calls.append(noisy.shape)
        return real_denoise(noisy, **kwargs)

    def record(self, frame):
        written.append(len(calls))  # frames denoised when this one is written
        return real_write(self, frame)

    monkeypatch.setattr(api, "denoise", one_frame)
    monkeypatch.setattr(stream.StackWriter, "write", record)
    peaks = {}
    for n in (2, 8):
        movie = tmp_path / f"movie{n}.tif"
        rng = np.random.default_rng(n)
        tifffile.imwrite(movie, (rng.random((n, 256, 256)) * 65535).astype(np.uint16))
        calls.clear()
        written.clear()
        tracemalloc.start()
        args = ("-o", tmp_path / f"out{n}", "--checkpoint", trained_checkpoint)
        result = run("denoise", movie, *args)
        peaks[n] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert result.exit_code == 0, result.output
        assert calls == [(1, 256, 256)] * n  # one (C, H, W) frame per call, never the stack
        assert written == list(range(1, n + 1))  # each result written before the next frame
    # Holding the 6 extra frames would add >= 1.5 MB (float32) per copy of the stack.
    assert peaks[8] - peaks[2] < 1_000_000, peaks


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("--tile", 32, "--overlap", 31), "--overlap 31 must be smaller than the tile"),
        (("--tile", 40), "--overlap 32 must be smaller than the tile"),  # the default overlap
        (("--steps", 5), "--steps does not apply to --checkpoint"),
        (("--method", "zsn2n"), "--method does not apply to --checkpoint"),
        (("--preset", "paper"), "--preset does not apply to --checkpoint"),
    ],
)
def test_cli_checkpoint_options_are_checked_up_front(tmp_path, trained_checkpoint, args, problem):
    """Issue 14: one usage error before any file, instead of a failure per file or silence."""
    for name in ("a.png", "b.png"):
        write_image(tmp_path / "in" / name, np.zeros((1, 40, 40), np.float32))
    result = run(
        "denoise",
        tmp_path / "in",
        "-o",
        tmp_path / "out",
        "--checkpoint",
        trained_checkpoint,
        *args,
    )
    assert result.exit_code == 2, result.output
    assert problem in result.output and result.output.count("error") == 1
    assert not (tmp_path / "out").exists()


def test_a_structn2v_checkpoint_self_ensembles_keeping_rows_as_rows():
    """structN2V's model expects noise correlated along rows: its 4-fold ensemble keeps rows
    as rows (ROW_ORDER); another model's starts with the quarter turns."""
    import torch
    import torch.nn.functional as F

    from noise2x.methods import METHODS
    from noise2x.train.checkpoint import Denoiser

    class AlongRows(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(1))

        def forward(self, t):
            return F.avg_pool2d(F.pad(t, (1, 1, 0, 0), mode="replicate"), (1, 3), stride=1)

    x = torch.rand(1, 24, 32, generator=torch.Generator().manual_seed(0)) * 0.5 + 0.25
    rows = AlongRows()(x[None])[0]

    def denoiser(method: dict) -> Denoiser:
        return Denoiser(AlongRows(), METHODS.build(method["name"]), {"method": method}, 1, 0, 1)

    struct = denoiser({"name": "n2v", "struct_length": 5})
    plain = denoiser({"name": "n2v", "struct_length": 1})
    assert struct.keep_rows and not plain.keep_rows
    assert torch.allclose(struct.denoise_frame(x, ensemble=4), rows, atol=1e-6)
    assert not torch.allclose(plain.denoise_frame(x, ensemble=4), rows, atol=1e-3)
