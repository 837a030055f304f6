"""Self-ensemble over flips and rotations (noise2x.ops.ensemble)."""

import pytest
import torch
import torch.nn.functional as F

from noise2x.ops.ensemble import check_ensemble, dihedral, ensemble_for_size, self_ensemble


def test_dihedral_transforms_are_the_8_distinct_symmetries():
    x = torch.arange(12.0).reshape(1, 1, 3, 4)
    seen = {tuple(dihedral(x, k).flatten().tolist()) for k in range(8)}
    assert len(seen) == 8
    for k in range(8):
        assert torch.equal(dihedral(dihedral(x, k), k, inverse=True), x)
    with pytest.raises(ValueError, match="0..7"):
        dihedral(x, 8)


def test_self_ensemble_of_an_equivariant_function_is_the_function():
    x = torch.rand(2, 3, 8, 12)
    for n in range(1, 9):
        assert torch.allclose(self_ensemble(lambda t: 2 * t, x, n), 2 * x)
    for bad in (9, 0, -1, True, 2.5, 3.0, None, "4"):
        with pytest.raises(ValueError, match="an integer 1-8"):
            self_ensemble(lambda t: t, x, bad)


def along_rows(t):
    """A 3-pixel mean along rows only (a filter that is not equivariant to quarter turns)."""
    return F.avg_pool2d(F.pad(t, (1, 1, 0, 0), mode="replicate"), (1, 3), stride=1)


def along_cols(t):
    return F.avg_pool2d(F.pad(t, (0, 0, 1, 1), mode="replicate"), (3, 1), stride=1)


def test_four_fold_ensemble_with_keep_rows_keeps_rows_as_rows():
    """A filter along rows only (as structN2V's row-correlated noise needs) is equivariant to
    the first 4 transforms of ROW_ORDER, not to the quarter turns: n=4 returns it, n=8 mixes
    in columns."""
    x = torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(self_ensemble(along_rows, x, 4, keep_rows=True), along_rows(x), atol=1e-6)
    assert torch.allclose(self_ensemble(along_rows, x, 2, keep_rows=True), along_rows(x), atol=1e-6)
    assert not torch.allclose(
        self_ensemble(along_rows, x, 8, keep_rows=True), along_rows(x), atol=1e-3
    )


def test_default_ensemble_averages_both_orientations_from_two_transforms_on():
    """The default order starts with the quarter turns: an orientation-specific filter becomes
    the mean of its row and column versions at n = 2 and 4 already (on a non-square image)."""
    x = torch.rand(1, 1, 12, 20, generator=torch.Generator().manual_seed(1))
    both = (along_rows(x) + along_cols(x)) / 2
    for n in (2, 4, 8):
        assert torch.allclose(self_ensemble(along_rows, x, n), both, atol=1e-6)
    assert not torch.allclose(along_rows(x), both, atol=1e-3)


def test_self_ensemble_averages_out_a_non_equivariant_error():
    """An error that is not equivariant (a fixed pattern added to every output) shrinks."""
    x = torch.zeros(1, 1, 8, 8)
    pattern = torch.zeros(1, 1, 8, 8)
    pattern[..., 0, 1] = 1.0  # its orbit under the 8 transforms has 8 distinct pixels
    out = self_ensemble(lambda t: t + pattern, x, 8)
    assert out.abs().max().item() == pytest.approx(1 / 8)
    assert out.sum().item() == pytest.approx(1.0)


def test_check_ensemble_names_the_owner():
    assert check_ensemble(4) == 4 and check_ensemble(5) == 5
    with pytest.raises(ValueError, match="checkpoint: ensemble must be an integer 1-8, got 9"):
        check_ensemble(9, "checkpoint")


def test_odd_sizes_take_the_first_n_transforms_of_the_order():
    """n = 5-7 average the quarter turns and the first mirror images, in ENSEMBLE_ORDER."""
    x = torch.rand(1, 1, 6, 10, generator=torch.Generator().manual_seed(2))
    seen = []
    self_ensemble(lambda t: seen.append(t.clone()) or t, x, 5)
    assert [tuple(t.shape[-2:]) for t in seen] == [(6, 10), (10, 6), (6, 10), (10, 6), (6, 10)]
    assert torch.equal(seen[4], x.flip(-1))  # the fifth: the horizontal flip
    pattern = torch.zeros(1, 1, 8, 8)
    pattern[..., 0, 1] = 1.0
    for n in range(1, 9):  # a fixed error spreads over n distinct pixels
        out = self_ensemble(lambda t: t + pattern, torch.zeros(1, 1, 8, 8), n)
        assert out.max().item() == pytest.approx(1 / n) and out.sum().item() == pytest.approx(1)


def test_ensemble_for_size_fits_the_budget_between_least_and_8():
    budget = 6 * 256 * 256
    assert ensemble_for_size(256, 256, budget, 4) == 6
    assert ensemble_for_size(221, 221, budget, 4) == 8  # 8 passes of 48,841 pixels fit
    assert ensemble_for_size(222, 222, budget, 4) == 7
    assert ensemble_for_size(280, 280, budget, 4) == 5
    assert ensemble_for_size(281, 281, budget, 4) == 4
    assert ensemble_for_size(4096, 4096, budget, 4) == 4  # never fewer than `least`
    assert ensemble_for_size(8, 8, budget, 4) == 8  # never more than 8
    assert ensemble_for_size(512, 512, budget) == 1
    assert ensemble_for_size(64, 64, budget, 4, 6) == 6  # never more than `most`
    assert ensemble_for_size(270, 270, budget, 4, 6) == 5
    for h, w in ((100, 300), (300, 100), (150, 200)):  # only the pixel count matters
        n = ensemble_for_size(h, w, budget, 1)
        assert n * h * w <= budget < (n + 1) * h * w or n == 8
    with pytest.raises(ValueError, match="least: ensemble must be an integer 1-8, got 0"):
        ensemble_for_size(64, 64, budget, 0)
    with pytest.raises(ValueError, match="most: ensemble must be an integer 1-8, got 9"):
        ensemble_for_size(64, 64, budget, 4, 9)
    with pytest.raises(ValueError, match=r"most \(3\) is below least \(4\)"):
        ensemble_for_size(64, 64, budget, 4, 3)
    for bad in ((0, 64, budget), (64, 64, 1.5e5), (64, True, budget)):
        with pytest.raises(ValueError, match="must be integers >= 1"):
            ensemble_for_size(*bad)
