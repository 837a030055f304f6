"""Matched folders and repeated captures: pairing checks, training samples, data=pairs/captures."""

from pathlib import Path

import mrcfile
import numpy as np
import pytest
import tifffile
import torch

from noise2x.data.io import write_image
from noise2x.data.pairs import (
    NoisyPairDataset,
    PairingError,
    compare_folders,
    draw_two,
    list_captures,
    load_captures,
    load_pairs,
    match_folders,
    normalize_group,
)
from noise2x.train.config import compose_config
from noise2x.train.datamodule_real import RealDataModule, build_datasets, check_data
from noise2x.train.runs import train


def _image(seed=0, shape=(1, 32, 32)):
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def _pair_folders(root: Path, names=("01", "02", "03", "04"), shape=(1, 32, 32)):
    for i, name in enumerate(names):
        write_image(root / "a" / f"{name}.png", _image(i, shape))
        write_image(root / "b" / f"{name}.png", _image(100 + i, shape))
    return root / "a", root / "b"


def _captures(root: Path, fields=3, k=3, shape=(1, 32, 32)):
    for f in range(1, fields + 1):
        for c in range(k):
            write_image(root / str(f) / f"capture{c}.png", _image(10 * f + c, shape))
    return root


def tiny(tmp_path, *extra):
    return [
        "data.patch_size=16",
        "data.batch_size=2",
        "data.num_workers=0",
        "net.width=8",
        "trainer.max_steps=2",
        "trainer.threads=1",
        "trainer.progress_bar=false",
        "logger=none",
        f"run.root={tmp_path / 'runs'}",
        *extra,
    ]


# ----------------------------------------------------------------------------- matched folders


def test_match_folders_pairs_files_by_stem_whatever_the_suffix(tmp_path):
    write_image(tmp_path / "a" / "x.tif", _image(0), dtype="uint8")
    write_image(tmp_path / "b" / "x.png", _image(1))
    write_image(tmp_path / "a" / "y.png", _image(2))
    write_image(tmp_path / "b" / "y.png", _image(3))

    pairs = match_folders(tmp_path / "a", tmp_path / "b")

    assert [(a.name, b.name) for a, b in pairs] == [("x.tif", "x.png"), ("y.png", "y.png")]


def test_mismatch_error_lists_every_problem_and_the_counts(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_image(a / "01.png", _image(0))  # fine
    write_image(b / "01.png", _image(1))
    write_image(a / "02.png", _image(2, (1, 32, 32)))  # size differs
    write_image(b / "02.png", _image(3, (1, 32, 24)))
    tifffile.imwrite(a / "03.tif", np.zeros((32, 32), np.uint16))  # dtype differs (header only)
    tifffile.imwrite(b / "03.tif", np.zeros((32, 32), np.float32))
    with mrcfile.new(a / "07.mrcs") as mrc:  # frames differ
        mrc.set_data(np.zeros((3, 32, 32), np.float32))
    with mrcfile.new(b / "07.mrcs") as mrc:
        mrc.set_data(np.zeros((2, 32, 32), np.float32))
    write_image(a / "04.png", _image(4))  # only in a
    write_image(a / "10.png", _image(5))  # only in a
    write_image(b / "06.png", _image(6))  # only in b

    with pytest.raises(PairingError) as info:
        match_folders(a, b)

    message = str(info.value)
    assert "\n" not in message
    assert f"1 matched, 3 mismatched, 2 only in {a}, 1 only in {b}" in message
    assert f"only in {a}: 04.png, 10.png" in message
    assert f"only in {b}: 06.png" in message
    assert f"{a / '02.png'} is 32x32 grey uint8 but {b / '02.png'} is 32x24 grey uint8" in message
    assert (
        f"{a / '03.tif'} is 32x32 grey uint16 but {b / '03.tif'} is 32x32 grey float32" in message
    )
    assert f"{a / '07.mrcs'} is 3 frames of 32x32 grey float32 but {b / '07.mrcs'} is 2" in message
    assert len(info.value.problems) == 6
    assert isinstance(info.value, ValueError)
    assert [p[0].name for p in info.value.report.pairs] == ["01.png"]


def test_compare_folders_reports_a_name_held_by_two_files(tmp_path):
    a, b = _pair_folders(tmp_path, names=("01",))
    write_image(a / "01.tif", _image(9), dtype="uint8")

    report = compare_folders(a, b)

    assert not report.ok
    assert report.ambiguous == [f"01.png, 01.tif share the name '01' in {a}"]


def test_match_folders_names_every_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder: .*nope1, .*nope2"):
        match_folders(tmp_path / "nope1", tmp_path / "nope2")


def test_load_pairs_gives_one_pair_per_frame_of_a_stack(tmp_path):
    stack_a, stack_b = _image(0, (3, 1, 16, 16)), _image(1, (3, 1, 16, 16))
    write_image(tmp_path / "a" / "s.tif", stack_a)
    write_image(tmp_path / "b" / "s.tif", stack_b)

    groups = load_pairs(match_folders(tmp_path / "a", tmp_path / "b"))

    assert len(groups) == 3 and groups[0].shape == (2, 1, 16, 16)
    assert torch.equal(groups[2][1], torch.from_numpy(stack_b[2]))


def test_normalize_group_maps_a_pair_with_one_affine_map():
    views = np.stack([np.full((1, 2, 2), 1000.0), np.full((1, 2, 2), 3000.0)]).astype(np.float32)
    views[0, 0, 0, 0] = 2000.0

    out = normalize_group(views, "auto")

    assert out.min() == 0.0 and out.max() == 1.0 and out[0, 0, 0, 0] == 0.5
    assert np.array_equal(normalize_group(views, "none"), views)
    on_scale = np.random.default_rng(0).random((2, 1, 8, 8)).astype(np.float32)
    assert np.array_equal(normalize_group(on_scale, "auto"), on_scale)


# ---------------------------------------------------------------------------- training samples


def _offset_group(k: int, size=40) -> torch.Tensor:
    """k views of one random scene, view i offset by 10 * i: the offset names the view."""
    scene = torch.rand(1, size, size, generator=torch.Generator().manual_seed(0))
    return torch.stack([scene + 10.0 * i for i in range(k)])


def test_pair_samples_crop_and_turn_both_views_alike_and_swap_them():
    data = NoisyPairDataset([_offset_group(2)], patch_size=16, samples_per_epoch=4)

    orders = set()
    for index in range(40):
        first, second, clean = data[index]
        difference = second - first  # +-10 everywhere iff the same crop and rotation
        assert torch.allclose(difference, difference.flatten()[0].expand_as(difference))
        orders.add(round(float(difference.flatten()[0])))
        assert first.shape == (1, 16, 16) and clean.isnan().all()

    assert orders == {10, -10}


def test_pair_samples_are_a_pure_function_of_seed_and_index():
    groups = [torch.rand(2, 1, 40, 40), torch.rand(2, 1, 48, 40)]
    one, two = NoisyPairDataset(groups, 16, seed=3), NoisyPairDataset(groups, 16, seed=3)
    other = NoisyPairDataset(groups, 16, seed=4)

    for index in (0, 1, 7, 1000):
        assert all(torch.equal(x, y) for x, y in zip(one[index][:2], two[index][:2], strict=True))
    assert not torch.equal(one[0][0], other[0][0])


def test_captures_draw_two_different_captures_and_every_ordered_pair():
    data = NoisyPairDataset([_offset_group(4)], patch_size=16)

    drawn = set()
    for index in range(300):
        first, second, _ = data[index]
        i, j = round(float(first.min()) // 10), round(float(second.min()) // 10)
        assert i != j
        drawn.add((i, j))

    assert drawn == {(i, j) for i in range(4) for j in range(4) if i != j}


def test_draw_two_refuses_a_single_view():
    with pytest.raises(ValueError, match="at least 2 views"):
        draw_two(1, torch.Generator())


def test_pair_dataset_refuses_images_smaller_than_the_patch():
    with pytest.raises(ValueError, match="1 image.* smaller than patch_size=64"):
        NoisyPairDataset([torch.rand(2, 1, 40, 40)], patch_size=64)


# ---------------------------------------------------------------------------------- captures


def test_list_captures_orders_fields_naturally_and_selects_fields(tmp_path):
    root = _captures(tmp_path, fields=11, k=2)

    assert list(list_captures(root)) == [str(f) for f in range(1, 12)]
    assert list(list_captures(root, fields=[10, 2])) == ["2", "10"]


def test_list_captures_lists_every_problem_at_once(tmp_path):
    root = _captures(tmp_path, fields=3, k=2)
    (root / "2" / "capture1.png").unlink()  # one capture left
    write_image(root / "3" / "capture2.png", _image(0, (1, 32, 24)))  # another size

    with pytest.raises(PairingError) as info:
        list_captures(root, fields=[1, 2, 3, 9])

    problems = info.value.problems
    assert len(problems) == 3
    assert "no field '9'" in problems[0]
    assert "1 capture(s); a field needs at least 2" in problems[1]
    assert "capture2.png: is 32x24 grey uint8 but capture0.png is 32x32 grey uint8" in problems[2]


def test_load_captures_gives_one_group_per_field(tmp_path):
    groups = load_captures(list_captures(_captures(tmp_path, fields=2, k=3)))

    assert [tuple(g.shape) for g in groups] == [(3, 1, 32, 32), (3, 1, 32, 32)]


@pytest.mark.data
def test_captures_on_fmd_fields_1_and_2_give_batches_of_real_pairs(data_path):
    raw = data_path("real", "FMD_Confocal_BPAE_B", "raw")
    config = compose_config(
        [
            "data=captures",
            f"data.root={raw}",
            "data.fields=[1,2]",
            "data.val_count=1",
            "data.batch_size=4",
            "data.num_workers=0",
        ]
    )
    module = RealDataModule(config)
    module.setup("fit")

    noisy, target, clean = next(iter(module.train_dataloader()))
    val_noisy, val_target = module.val_set[0]

    assert len(module.train_set) == 10  # field 1: 10 captures, one sample each per epoch
    assert noisy.shape == target.shape == (4, 1, 64, 64) and noisy.dtype == torch.float32
    assert not torch.equal(noisy, target) and clean.isnan().all()
    assert val_noisy.shape == (1, 512, 512) and 0.0 <= float(val_noisy.min())
    assert float(val_noisy.max()) <= 1.0


# -------------------------------------------------------------------------- config and train


def test_check_data_needs_both_folders():
    config = compose_config(["data=pairs", "data.a=x"])
    with pytest.raises(ValueError, match="data=pairs needs data.b"):
        check_data(config["data"])


def test_build_datasets_holds_out_the_last_pairs(tmp_path):
    a, b = _pair_folders(tmp_path, names=("1", "2", "10"))
    config = compose_config(
        ["data=pairs", f"data.a={a}", f"data.b={b}", "data.val_count=1", "data.patch_size=16"]
    )

    train_set, val = build_datasets(config["data"], channels=1)

    assert len(train_set) == 2 and len(val) == 1
    expected = torch.from_numpy(_image(2))  # "10" sorts last; PNG keeps 8 bits
    assert torch.allclose(val[0][0], expected, atol=0.5 / 255)


def test_train_on_matched_folders_runs_two_steps(tmp_path):
    a, b = _pair_folders(tmp_path)

    result = train(tiny(tmp_path, "data=pairs", f"data.a={a}", f"data.b={b}", "data.val_count=1"))

    assert result.steps == 2 and result.last_checkpoint.is_file()
    assert result.val_psnr_db is not None  # noisy-target PSNR on the held-out pair


def test_train_stops_on_a_bad_pairing_before_creating_a_run(tmp_path):
    a, b = _pair_folders(tmp_path)
    write_image(a / "05.png", _image(5))

    with pytest.raises(PairingError, match="only in .*a: 05.png"):
        train(tiny(tmp_path, "data=pairs", f"data.a={a}", f"data.b={b}"))

    assert not (tmp_path / "runs").exists()


def test_train_on_captures_runs_two_steps(tmp_path):
    root = _captures(tmp_path / "fields", fields=3, k=3)

    result = train(
        tiny(
            tmp_path,
            "data=captures",
            f"data.root={root}",
            "data.val_count=1",
            "trainer.val_every_n_steps=2",
        )
    )

    assert result.steps == 2 and result.val_psnr_db is not None
