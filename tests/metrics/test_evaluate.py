from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile

from noise2x.metrics import psnr_np, ssim_np
from noise2x.metrics.evaluate import evaluate_pairs, format_table, match_pairs


def _touch(folder: Path, *names: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / name for name in names]
    for path in paths:
        path.write_bytes(b"")
    return paths


def _png(path: Path, pixels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, pixels)
    return path


def _grey_u8(seed: int, shape=(16, 20)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def test_match_pairs_matches_folders_by_stem(tmp_path):
    clean = _touch(tmp_path / "clean", "01.png", "02.png", "03.png")
    out = _touch(tmp_path / "out", "02.tif", "01.png")
    pairs = match_pairs(tmp_path / "clean", [tmp_path / "out"])
    assert pairs == [(clean[0], out[1]), (clean[1], out[0])]


def test_match_pairs_accepts_files_and_folders_as_candidates(tmp_path):
    clean = _touch(tmp_path / "clean", "a.png", "b.png")
    a = _touch(tmp_path / "x", "a.tif")[0]
    b = _touch(tmp_path / "y", "b.png")[0]
    assert match_pairs(tmp_path / "clean", [a, tmp_path / "y"]) == [(clean[0], a), (clean[1], b)]


def test_match_pairs_with_a_single_reference_file(tmp_path):
    ref = _touch(tmp_path, "clean.png")[0]
    out = _touch(tmp_path / "out", "x.png", "y.tif")
    assert match_pairs(ref, [tmp_path / "out"]) == [(ref, out[0]), (ref, out[1])]


def test_match_pairs_lists_all_unmatched_names_in_one_error(tmp_path):
    _touch(tmp_path / "clean", "01.png")
    _touch(tmp_path / "out", "01.png", "07.png", "09.tif")
    with pytest.raises(ValueError, match="2 image") as info:
        match_pairs(tmp_path / "clean", [tmp_path / "out"])
    assert "07.png" in str(info.value) and "09.tif" in str(info.value)
    assert "01.png" not in str(info.value).split(":", 1)[1]


def test_match_pairs_rejects_an_ambiguous_stem(tmp_path):
    _touch(tmp_path / "clean", "01.png", "01.tif")
    out = _touch(tmp_path / "out", "01.png")
    with pytest.raises(ValueError, match=r"'01' \(01.png, 01.tif\)"):
        match_pairs(tmp_path / "clean", out)


def test_match_pairs_rejects_a_missing_reference(tmp_path):
    out = _touch(tmp_path, "01.png")
    with pytest.raises(FileNotFoundError, match="nope"):
        match_pairs(tmp_path / "nope", out)


def test_evaluate_pairs_on_png_files_matches_the_metrics(tmp_path):
    clean_u8, noisy_u8 = _grey_u8(0), _grey_u8(1)
    ref = _png(tmp_path / "clean" / "01.png", clean_u8)
    out = _png(tmp_path / "out" / "01.png", noisy_u8)
    rows = evaluate_pairs(match_pairs(tmp_path / "clean", [tmp_path / "out"]))
    clean, noisy = clean_u8 / 255.0, noisy_u8 / 255.0
    assert rows == [
        {
            "reference": str(ref),
            "image": str(out),
            "psnr_db": pytest.approx(psnr_np(noisy, clean, 1.0), abs=1e-4),
            "ssim": pytest.approx(ssim_np(noisy, clean, 1.0), abs=1e-6),
        }
    ]


def test_evaluate_pairs_of_identical_colour_pngs(tmp_path):
    rgb = np.random.default_rng(2).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    ref = _png(tmp_path / "a.png", rgb)
    out = _png(tmp_path / "b.png", rgb)
    (row,) = evaluate_pairs([(ref, out)])
    assert row["psnr_db"] == float("inf")
    assert row["ssim"] == pytest.approx(1.0)


def test_evaluate_pairs_rejects_a_shape_mismatch_naming_both_files(tmp_path):
    ref = _png(tmp_path / "clean.png", _grey_u8(0, (16, 16)))
    out = _png(tmp_path / "out.png", _grey_u8(0, (16, 18)))
    with pytest.raises(ValueError) as info:
        evaluate_pairs([(ref, out)])
    message = str(info.value)
    assert str(ref) in message and str(out) in message
    assert "(1, 16, 16)" in message and "(1, 16, 18)" in message


def test_evaluate_pairs_names_the_files_when_images_are_too_small_for_ssim(tmp_path):
    ref = _png(tmp_path / "clean.png", _grey_u8(0, (8, 8)))
    out = _png(tmp_path / "out.png", _grey_u8(1, (8, 8)))
    with pytest.raises(ValueError, match=r"out.png against .*clean.png.*11x11.*\(1, 8, 8\)"):
        evaluate_pairs([(ref, out)])


def test_evaluate_pairs_float_tiff_defaults_to_the_reference_range(tmp_path):
    rng = np.random.default_rng(3)
    clean = (rng.random((16, 16)) * 4.0 - 1.0).astype(np.float32)
    noisy = (clean + 0.2 * rng.standard_normal(clean.shape)).astype(np.float32)
    tifffile.imwrite(tmp_path / "clean.tif", clean)
    tifffile.imwrite(tmp_path / "out.tif", noisy)
    span = float(clean.max() - clean.min())
    (row,) = evaluate_pairs([(tmp_path / "clean.tif", tmp_path / "out.tif")])
    assert row["psnr_db"] == pytest.approx(psnr_np(noisy, clean, span), abs=1e-6)
    assert row["ssim"] == pytest.approx(ssim_np(noisy, clean, span), abs=1e-6)
    (row,) = evaluate_pairs([(tmp_path / "clean.tif", tmp_path / "out.tif")], data_range=10.0)
    assert row["psnr_db"] == pytest.approx(psnr_np(noisy, clean, 10.0), abs=1e-6)


def test_evaluate_pairs_constant_float_reference_needs_a_data_range(tmp_path):
    tifffile.imwrite(tmp_path / "clean.tif", np.zeros((16, 16), np.float32))
    tifffile.imwrite(tmp_path / "out.tif", np.ones((16, 16), np.float32))
    with pytest.raises(ValueError, match="data_range"):
        evaluate_pairs([(tmp_path / "clean.tif", tmp_path / "out.tif")])


def test_evaluate_pairs_averages_a_stack_frame_by_frame(tmp_path):
    rng = np.random.default_rng(4)
    clean = rng.integers(0, 256, (3, 16, 16), dtype=np.uint8)
    noisy = np.clip(clean + rng.normal(0, 10 * np.arange(1, 4)[:, None, None], clean.shape), 0, 255)
    noisy = noisy.astype(np.uint8)
    tifffile.imwrite(tmp_path / "clean.tif", clean, photometric="minisblack")
    tifffile.imwrite(tmp_path / "out.tif", noisy, photometric="minisblack")
    (row,) = evaluate_pairs([(tmp_path / "clean.tif", tmp_path / "out.tif")])
    c, n = clean / 255.0, noisy / 255.0
    assert row["psnr_db"] == pytest.approx(
        np.mean([psnr_np(a, b, 1.0) for a, b in zip(n, c, strict=True)]), abs=1e-4
    )
    assert row["ssim"] == pytest.approx(
        np.mean([ssim_np(a, b, 1.0) for a, b in zip(n, c, strict=True)])
    )


def test_format_table_aligns_columns_and_ends_with_the_mean():
    rows = [
        {"reference": "c/01.png", "image": "out/long_name_01.png", "psnr_db": 31.0, "ssim": 0.9},
        {"reference": "c/02.png", "image": "o/02.png", "psnr_db": float("inf"), "ssim": 1.0},
    ]
    lines = format_table(rows).splitlines()
    assert lines[0].split() == ["image", "reference", "PSNR", "(dB)", "SSIM"]
    assert lines[2].split() == ["out/long_name_01.png", "c/01.png", "31.00", "0.9000"]
    assert lines[3].split() == ["o/02.png", "c/02.png", "inf", "1.0000"]
    assert lines[-1].split() == ["mean", "(2", "images)", "inf", "0.9500"]
    assert len({len(line) for line in lines[:3]}) == 1  # aligned


def test_format_table_rejects_no_rows():
    with pytest.raises(ValueError, match="at least one row"):
        format_table([])
