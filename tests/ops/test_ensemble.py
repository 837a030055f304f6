"""Self-ensemble over flips and rotations (noise2x.ops.ensemble)."""

import pytest
import torch
import torch.nn.functional as F

from noise2x.ops.ensemble import check_ensemble, dihedral, self_ensemble


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
    for n in (1, 2, 4, 8):
        assert torch.allclose(self_ensemble(lambda t: 2 * t, x, n), 2 * x)
    for bad in (3, 0, True, 2.5):
        with pytest.raises(ValueError, match="1, 2, 4 or 8"):
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
    assert check_ensemble(4) == 4
    with pytest.raises(ValueError, match="checkpoint: ensemble must be 1, 2, 4 or 8, got 5"):
        check_ensemble(5, "checkpoint")
