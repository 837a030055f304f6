import numpy as np
import pytest
import torch

from noise2x.data.io import read_image
from noise2x.methods import METHODS
from noise2x.methods.base import Batch
from noise2x.methods.lines import (
    InterpolationResidual,
    RestoreLines,
    RestoreLinesConfig,
    dead_lines_from_mask,
    detect_dead_lines,
    interpolate_lines,
    line_mask,
)
from noise2x.metrics import psnr_np
from noise2x.noise import build_noise

TINY = dict(width=4, passes=2)


def _rand(*shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def _set12(data_path, name: str) -> torch.Tensor:
    clean, _ = read_image(data_path("Set12", name))
    return torch.from_numpy(clean)[None]


def _plant(clean, fraction, axis, value, seed=0):
    damaged, keep = build_noise(
        "lines", fraction=fraction, axis=axis, value=value
    ).sample_with_mask(clean, torch.Generator().manual_seed(seed))
    return damaged, keep[0, 0] == 0


def _numpy_interpolation(damaged: np.ndarray, dead: np.ndarray) -> np.ndarray:
    """Linear interpolation across dead rows, then dead columns (the benchmark's baseline)."""
    out = damaged.astype(np.float64).copy()
    for lost_lines, along_rows in ((dead.all(axis=1), False), (dead.all(axis=0), True)):
        lost, known = np.flatnonzero(lost_lines), np.flatnonzero(~lost_lines)
        if not len(lost):
            continue
        for c in range(out.shape[0]):
            for i in range(out.shape[1] if along_rows else out.shape[2]):
                if along_rows:
                    out[c, i, lost] = np.interp(lost, known, out[c, i, known])
                else:
                    out[c, lost, i] = np.interp(lost, known, out[c, known, i])
    return out.astype(np.float32)


# --- line masks ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("axis", "fraction", "rows", "cols"),
    [("rows", 0.2, 5, 0), ("cols", 0.3, 0, 9), ("rows", 0.3, 7, 0), ("both", 0.2, 5, 6)],
)
def test_line_mask_hides_whole_lines_of_the_orientation_at_the_fraction(axis, fraction, rows, cols):
    keep = line_mask((3, 1, 24, 30), fraction, axis, torch.Generator().manual_seed(0))
    assert keep.shape == (3, 1, 24, 30) and keep.dtype == torch.float32
    for image in keep[:, 0] == 0:
        hidden_rows, hidden_cols = image.all(dim=1), image.all(dim=0)
        assert int(hidden_rows.sum()) == rows and int(hidden_cols.sum()) == cols
        whole_lines = hidden_rows[:, None] | hidden_cols[None, :]
        assert torch.equal(image, whole_lines)  # nothing but whole lines is hidden
    assert not torch.equal(keep[0], keep[1])  # each image draws its own lines


def test_line_mask_rejects_bad_fraction_and_axis():
    with pytest.raises(ValueError, match="fraction"):
        line_mask((1, 1, 8, 8), 1.5)
    with pytest.raises(ValueError, match="diagonal"):
        line_mask((1, 1, 8, 8), 0.2, "diagonal")


# --- detection -----------------------------------------------------------------------------------
@pytest.mark.data
@pytest.mark.parametrize("name", [f"{i:02d}.png" for i in range(1, 13) if i != 3])
def test_detection_finds_no_dead_lines_on_clean_set12(data_path, name):
    found = detect_dead_lines(_set12(data_path, name))
    assert found.axis is None and not found.mask.any()


@pytest.mark.data
def test_detection_reports_the_black_border_of_set12_03(data_path):
    # Set12/03.png's first row and first column are 0 in the file (a scanning border): they
    # are constant at the image's minimum, i.e. dead lines by definition, and nothing else is.
    found = detect_dead_lines(_set12(data_path, "03.png"))
    assert found.rows.tolist() == [0] and found.cols.tolist() == [0]


@pytest.mark.data
@pytest.mark.parametrize("value", ["black", "white"])
@pytest.mark.parametrize("axis", ["rows", "cols"])
def test_detection_finds_planted_lines_and_no_others_on_set12(data_path, axis, value):
    clean = _set12(data_path, "01.png")
    damaged, planted = _plant(clean, 0.1, axis, value, seed=3)
    found = detect_dead_lines(damaged)
    assert torch.equal(found.mask, planted)
    lines = found.rows if axis == "rows" else found.cols
    assert len(lines) == round(0.1 * 256) and found.axis == axis


@pytest.mark.data
def test_detection_finds_black_rows_and_white_columns_together(data_path):
    clean = _set12(data_path, "02.png")
    damaged, rows = _plant(clean, 0.1, "rows", "black", seed=1)
    damaged, cols = _plant(damaged, 0.1, "cols", "white", seed=2)
    found = detect_dead_lines(damaged)
    assert torch.equal(found.mask, rows | cols) and found.axis == "both"


def test_detection_of_one_orientation_ignores_the_other():
    image = _rand(1, 6, 8) * 0.8 + 0.1
    image[0, 2] = 0.0
    image[0, :, 5] = 1.0
    assert detect_dead_lines(image, "rows").cols.tolist() == []
    assert detect_dead_lines(image, "cols").rows.tolist() == []
    assert detect_dead_lines(image, "rows").rows.tolist() == [2]


def test_detection_of_a_constant_image_finds_nothing_and_bad_input_raises():
    assert detect_dead_lines(torch.full((1, 5, 5), 0.3)).axis is None
    with pytest.raises(ValueError, match="axis"):
        detect_dead_lines(torch.zeros(1, 5, 5), "diagonal")
    with pytest.raises(ValueError, match=r"\(2, 1, 5, 5\)"):
        detect_dead_lines(torch.zeros(2, 1, 5, 5))


def test_dead_lines_from_mask_keeps_pixels_and_lists_whole_lines():
    mask = torch.zeros(1, 6, 7)
    mask[0, :, 3] = 1
    mask[0, 4, 0] = 1  # an isolated dead pixel
    found = dead_lines_from_mask(mask)
    assert found.cols.tolist() == [3] and found.rows.tolist() == [] and found.axis == "cols"
    assert int(found.mask.sum()) == 7


# --- interpolation and the residual net ---------------------------------------------------
@pytest.mark.parametrize("axis", ["rows", "cols"])
def test_interpolate_lines_matches_numpy_interp(axis):
    image = _rand(2, 3, 20, 17)
    keep = line_mask(image.shape, 0.3, axis, torch.Generator().manual_seed(1))
    out = interpolate_lines(image, keep, axis)
    for b in range(2):
        expected = _numpy_interpolation(image[b].numpy(), (keep[b, 0] == 0).numpy())
        np.testing.assert_allclose(out[b].numpy(), expected, atol=1e-6)


def test_residual_net_starts_as_the_interpolation():
    method = RestoreLines(axis="rows", **TINY)
    net = method.default_net(1)
    assert isinstance(net, InterpolationResidual)
    image = _rand(1, 1, 16, 16)
    keep = line_mask(image.shape, 0.3, "rows", torch.Generator().manual_seed(0))
    torch.testing.assert_close(net(image * keep, keep), interpolate_lines(image, keep, "rows"))


# --- the method --------------------------------------------------------------------------
def test_restore_lines_is_registered_with_its_config():
    assert METHODS.get("restore_lines") is RestoreLines
    with pytest.raises(ValueError, match="line_fraction"):
        RestoreLinesConfig(line_fraction=0.0)
    with pytest.raises(ValueError, match="axis"):
        RestoreLinesConfig(axis="diagonal")


def test_training_loss_ignores_what_the_dead_lines_hold():
    image = _rand(1, 1, 16, 16) * 0.8 + 0.1
    black, white = image.clone(), image.clone()
    black[..., 4, :] = 0.0
    white[..., 4, :] = 1.0
    losses = []
    for damaged in (black, white):
        method = RestoreLines(axis="rows", seed=0, **TINY)
        net = method.default_net(1)
        losses.append(method.training_loss(net, Batch(noisy=damaged), step=0))
    assert torch.equal(losses[0], losses[1])


def test_fit_fills_dead_lines_and_keeps_every_other_pixel():
    image = _rand(1, 1, 16, 16) * 0.8 + 0.1
    damaged = image.clone()
    damaged[..., [3, 9], :] = 1.0
    result = RestoreLines(steps=3, **TINY).fit(damaged, device="cpu")
    out = result.denoised
    keep = torch.ones(16, dtype=torch.bool)
    keep[[3, 9]] = False
    assert torch.equal(out[..., keep, :], damaged[..., keep, :])
    assert (out[..., [3, 9], :] < 1.0).all() and len(result.loss_history) == 3


def test_fit_auto_orientation_follows_the_damage():
    damaged = _rand(1, 1, 16, 16) * 0.8 + 0.1
    damaged[..., :, 5] = 0.0
    method = RestoreLines(steps=1, **TINY)
    result = method.fit(damaged, device="cpu")
    assert result.net.axis == "cols"


def test_fit_with_a_given_mask_and_denoise_changes_every_pixel():
    damaged = _rand(1, 1, 16, 16)
    dead = torch.zeros(16, 16, dtype=torch.bool)
    dead[:, 7] = True
    method = RestoreLines(steps=2, denoise=True, denoiser="self2self", **TINY)
    result = method.fit(damaged, device="cpu", dead=dead)
    assert (result.denoised != damaged).float().mean() > 0.9


def test_denoise_with_bm3d_fills_the_lines_then_filters_and_trains_on_whole_lines_only():
    clean = torch.linspace(0.2, 0.8, 32).expand(1, 1, 32, 32).contiguous()
    noisy = (clean + 0.1 * _rand(1, 1, 32, 32) - 0.05).clamp(0, 1)
    noisy[..., 11, :] = 0.0
    method = RestoreLines(steps=2, denoise=True, denoiser="bm3d", sigma=8.0, **TINY)

    out = method.fit(noisy, device="cpu").denoised
    keep = method.draw_keep(noisy, torch.Generator().manual_seed(0))  # axis now "rows"

    # training masks are whole rows (no Self2Self pixel masks): every row all 0 or all 1
    assert torch.equal(keep.amin(dim=-1), keep.amax(dim=-1))
    assert out[..., 11, :].min() > 0.1  # the dead row is filled before filtering
    assert (out - clean).abs().mean() < (noisy - clean).abs().mean() / 2  # and BM3D denoised


def test_denoise_with_bm3d_and_no_dead_line_filters_without_training():
    noisy = _rand(1, 1, 16, 16) * 0.8 + 0.1
    result = RestoreLines(denoise=True, denoiser="bm3d", sigma=20.0, **TINY).fit(noisy)
    assert result.loss_history == [] and not torch.equal(result.denoised, noisy)


@pytest.mark.parametrize(
    ("setting", "message"),
    [({"denoiser": "nlm"}, "denoiser must be 'self2self' or 'bm3d'"), ({"sigma": 0}, "sigma")],
)
def test_restore_lines_rejects_bad_denoiser_settings(setting, message):
    with pytest.raises(ValueError, match=message):
        RestoreLines(**setting)


def test_fit_without_dead_lines_returns_the_image_untrained():
    image = _rand(1, 1, 16, 16) * 0.8 + 0.1
    result = RestoreLines(**TINY).fit(image, device="cpu")
    assert torch.equal(result.denoised, image) and result.loss_history == []


def test_fit_rejects_a_mask_of_another_size_and_an_all_dead_image():
    with pytest.raises(ValueError, match=r"\(8, 9\)"):
        RestoreLines(**TINY).fit(_rand(1, 1, 8, 8), dead=torch.ones(8, 9, dtype=torch.bool))
    with pytest.raises(ValueError, match="every pixel"):
        RestoreLines(**TINY).fit(_rand(1, 1, 8, 8), dead=torch.ones(8, 8, dtype=torch.bool))


@pytest.mark.data
@pytest.mark.parametrize("axis", ["rows", "cols"])
def test_short_run_beats_linear_interpolation_on_20_percent_lost_lines(data_path, axis):
    clean = _set12(data_path, "05.png")[..., 64:128, 64:128]
    damaged, dead = _plant(clean, 0.2, axis, "black", seed=0)
    result = RestoreLines(steps=150, passes=8).fit(damaged, device="cpu")
    restored = psnr_np(result.denoised[0].numpy(), clean[0].numpy(), 1.0)
    baseline = psnr_np(
        _numpy_interpolation(damaged[0].numpy(), dead.numpy()), clean[0].numpy(), 1.0
    )
    assert restored > baseline + 0.25  # measured: rows 29.58 vs 29.14, cols 28.31 vs 27.63 dB
