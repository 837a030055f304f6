import pytest
import torch

from noise2x.noise import MissingLines


def sample(model, clean, seed=0):
    return model.sample_with_mask(clean, torch.Generator().manual_seed(seed))


def test_lines_rows_loses_exact_number_of_whole_rows():
    clean = torch.full((3, 2, 40, 30), 0.5)

    noisy, mask = sample(MissingLines(fraction=0.3, axis="rows"), clean)

    lost = mask[:, 0] == 0
    lost_rows = lost.all(dim=2)
    assert torch.equal(lost, lost_rows[:, :, None].expand_as(lost))
    assert lost_rows.sum(dim=1).tolist() == [round(0.3 * 40)] * 3
    assert not torch.equal(lost_rows[0], lost_rows[1])


def test_lines_cols_loses_exact_number_of_whole_columns():
    clean = torch.full((2, 1, 40, 30), 0.5)

    noisy, mask = sample(MissingLines(fraction=0.2, axis="cols"), clean)

    lost = mask[:, 0] == 0
    lost_cols = lost.all(dim=1)
    assert torch.equal(lost, lost_cols[:, None, :].expand_as(lost))
    assert lost_cols.sum(dim=1).tolist() == [round(0.2 * 30)] * 2


def test_lines_both_loses_rows_and_columns():
    clean = torch.full((1, 1, 40, 30), 0.5)

    noisy, mask = sample(MissingLines(fraction=0.1, axis="both"), clean)

    lost = mask[0, 0] == 0
    assert lost.all(dim=1).sum().item() == 4
    assert lost.all(dim=0).sum().item() == 3
    assert lost.sum().item() == 4 * 30 + 3 * 40 - 4 * 3


def test_lines_mask_matches_changed_pixels_on_all_channels():
    clean = torch.full((2, 3, 32, 32), 0.5)

    noisy, mask = sample(MissingLines(fraction=0.25, value="black"), clean)

    changed = noisy != clean
    assert torch.equal(changed, (mask == 0).expand_as(clean))


@pytest.mark.parametrize(("value", "fill"), [("black", 0.0), ("white", 1.0)])
def test_lines_constant_values(value, fill):
    clean = torch.full((1, 3, 32, 32), 0.5)

    noisy, mask = sample(MissingLines(fraction=0.25, value=value), clean)

    lost = (mask == 0).expand_as(clean)
    assert (noisy[lost] == fill).all()
    assert (noisy[~lost] == 0.5).all()


def test_lines_random_values_are_uniform_on_lost_lines():
    clean = torch.full((1, 3, 256, 256), 0.5)

    noisy, mask = sample(MissingLines(fraction=0.25, value="random"), clean)

    values = noisy[(mask == 0).expand_as(clean)]
    assert values.numel() == 3 * 64 * 256
    assert values.min() >= 0
    assert values.max() < 1
    assert values.mean().item() == pytest.approx(0.5, abs=0.01)
    assert values.std().item() == pytest.approx((1 / 12) ** 0.5, rel=0.03)


@pytest.mark.parametrize(("fraction", "expected"), [(0.0, 0), (1.0, 16)])
def test_lines_extreme_fractions(fraction, expected):
    clean = torch.full((1, 1, 16, 8), 0.5)

    _, mask = sample(MissingLines(fraction=fraction), clean)

    assert (mask[0, 0] == 0).all(dim=1).sum().item() == expected


@pytest.mark.parametrize(
    ("kwargs", "bad"),
    [
        ({"fraction": -0.1}, "fraction"),
        ({"fraction": 1.1}, "fraction"),
        ({"fraction": 0.1, "axis": "row"}, "axis"),
        ({"fraction": 0.1, "value": "grey"}, "value"),
    ],
)
def test_lines_rejects_bad_params(kwargs, bad):
    with pytest.raises(ValueError, match=bad):
        MissingLines(**kwargs)
