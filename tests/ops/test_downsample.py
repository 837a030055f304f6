import math
import re

import pytest
import torch

from noise2x.ops.downsample import pair_downsample
from noise2x.ops.downsamplers import DOWNSAMPLERS, stochastic_pool, weighted_pair_downsample


def test_pair_downsample_matches_hand_computed_4x4():
    x = torch.tensor(
        [
            [1.0, 2.0, 3.0, 4.0],
            [5.0, 6.0, 7.0, 8.0],
            [9.0, 10.0, 11.0, 12.0],
            [13.0, 14.0, 15.0, 16.0],
        ]
    )[None, None]
    first, second = pair_downsample(x)
    # first: anti-diagonal of each 2x2 cell ([[0, 1/2], [1/2, 0]]): (2+5)/2, (4+7)/2, ...
    assert first[0, 0].tolist() == [[3.5, 5.5], [11.5, 13.5]]
    # second: main diagonal ([[1/2, 0], [0, 1/2]]): (1+6)/2, (3+8)/2, ...
    assert second[0, 0].tolist() == [[3.5, 5.5], [11.5, 13.5]]
    y = torch.zeros(1, 1, 4, 4)
    y[0, 0, 0, 1] = 2.0  # top-right of the first cell only feeds `first`
    y[0, 0, 1, 1] = 4.0  # bottom-right of the first cell only feeds `second`
    first, second = pair_downsample(y)
    assert first[0, 0].tolist() == [[1.0, 0.0], [0.0, 0.0]]
    assert second[0, 0].tolist() == [[2.0, 0.0], [0.0, 0.0]]


def test_pair_downsample_equals_the_papers_strided_convolution():
    x = torch.rand(2, 3, 8, 6, generator=torch.Generator().manual_seed(0))
    k1 = torch.tensor([[[[0.0, 0.5], [0.5, 0.0]]]]).repeat(3, 1, 1, 1)
    k2 = torch.tensor([[[[0.5, 0.0], [0.0, 0.5]]]]).repeat(3, 1, 1, 1)
    first, second = pair_downsample(x)
    torch.testing.assert_close(first, torch.nn.functional.conv2d(x, k1, stride=2, groups=3))
    torch.testing.assert_close(second, torch.nn.functional.conv2d(x, k2, stride=2, groups=3))


@pytest.mark.parametrize("shape", [(1, 1, 5, 4), (1, 1, 4, 5), (4, 4), (1, 4, 4)])
def test_pair_downsample_rejects_odd_sizes_and_bad_rank(shape):
    with pytest.raises(ValueError, match=r"\("):
        pair_downsample(torch.zeros(shape))


def test_pair_downsample_outputs_have_independent_noise():
    noise = torch.randn(1, 1, 512, 512, generator=torch.Generator().manual_seed(1))
    first, second = pair_downsample(noise)
    corr = torch.corrcoef(torch.stack([first.flatten(), second.flatten()]))[0, 1]
    assert abs(corr) < 0.02
    assert first.var().item() == pytest.approx(0.5, rel=0.05)


# --- the registry of pair downsamplers ----------------------------------------------------------

# 4x4 image of four 2x2 cells with different diagonals, columns, maxima and means:
#   A = [[1, 2], [3, 8]]  B = [[0, 4], [6, 0]]  C = [[2, 0], [0, 2]]  D = [[5, 1], [1, 1]]
CELLS = torch.tensor(
    [
        [1.0, 2.0, 0.0, 4.0],
        [3.0, 8.0, 6.0, 0.0],
        [2.0, 0.0, 5.0, 1.0],
        [0.0, 2.0, 1.0, 1.0],
    ]
)[None, None]


def _call(name, x, seed=0):
    return DOWNSAMPLERS.get(name)(x, torch.Generator().manual_seed(seed))


def _ids(shape):
    """Unique pixel ids 0 .. B*C*H*W - 1 as float64 (exact up to 2**53)."""
    return torch.arange(math.prod(shape), dtype=torch.float64).reshape(shape)


@pytest.mark.parametrize(
    ("name", "first", "second"),
    [
        # anti-diagonal mean vs main-diagonal mean
        ("diagonal", [[2.5, 5.0], [0.0, 1.0]], [[4.5, 0.0], [2.0, 3.0]]),
        # (0.5 anti + 0.1 main) / 1.2, e.g. A: (0.5*5 + 0.1*9) / 1.2 = 17/6
        ("positive_edges", [[17 / 6, 25 / 6], [1 / 3, 4 / 3]], [[25 / 6, 5 / 6], [5 / 3, 8 / 3]]),
        # (0.5 anti - 0.1 main) / 0.8, e.g. A: (2.5 - 0.9) / 0.8 = 2
        ("negative_edges", [[2.0, 6.25], [-0.5, 0.5]], [[5.0, -1.25], [2.5, 3.5]]),
        # left column mean vs right column mean
        ("vertical_stripes", [[2.0, 3.0], [1.0, 3.0]], [[5.0, 2.0], [1.0, 1.0]]),
        # max vs mean
        ("max_avg", [[8.0, 6.0], [2.0, 5.0]], [[3.5, 2.5], [1.0, 2.0]]),
    ],
)
def test_deterministic_downsampler_matches_hand_computed_4x4(name, first, second):
    out_first, out_second = _call(name, CELLS)
    torch.testing.assert_close(out_first[0, 0], torch.tensor(first))
    torch.testing.assert_close(out_second[0, 0], torch.tensor(second))


def test_cross_corners_matches_hand_computed_6x6():
    a = torch.arange(9.0).reshape(3, 3)  # cross 1+3+5+7, corners 0+2+6+8, centre 4
    b = torch.tensor([[0.0, 1.0, 0.0], [1.0, 100.0, 1.0], [0.0, 1.0, 0.0]])
    c = torch.tensor([[2.0, 0.0, 2.0], [0.0, 0.0, 0.0], [2.0, 0.0, 2.0]])
    d = torch.full((3, 3), 3.0)
    x = torch.cat([torch.cat([a, b], 1), torch.cat([c, d], 1)], 0)[None, None]
    first, second = _call("cross_corners", x)
    # (cross + 0.01 centre) / 4.01 and (corners + 0.01 centre) / 4.01
    expected_first = torch.tensor([[16.04 / 4.01, 5.0 / 4.01], [0.0, 3.0]])
    expected_second = torch.tensor([[16.04 / 4.01, 1.0 / 4.01], [8.0 / 4.01, 3.0]])
    torch.testing.assert_close(first[0, 0], expected_first)
    torch.testing.assert_close(second[0, 0], expected_second)


def test_weighted_pair_with_zero_edge_is_the_papers_pair():
    x = torch.rand(2, 3, 8, 6, generator=torch.Generator().manual_seed(0))
    for got, want in zip(weighted_pair_downsample(x, edge=0.0), pair_downsample(x), strict=True):
        torch.testing.assert_close(got, want)


def test_weighted_pair_rejects_weights_summing_to_zero():
    with pytest.raises(ValueError, match="diagonal \\+ edge"):
        weighted_pair_downsample(torch.zeros(1, 1, 2, 2), diagonal=0.5, edge=-0.5)


def test_random_neighbor_seeded_case():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    first, second = _call("random_neighbor", x, seed=0)
    # pinned from torch.randint with seed 0: cells (0,1,4,5) (2,3,6,7) (8,9,12,13) (10,11,14,15)
    assert first[0, 0].tolist() == [[0.0, 7.0], [9.0, 10.0]]
    assert second[0, 0].tolist() == [[4.0, 6.0], [13.0, 14.0]]
    again = _call("random_neighbor", x, seed=0)
    assert torch.equal(again[0], first) and torch.equal(again[1], second)


def test_random_neighbor_takes_two_different_adjacent_pixels_of_each_cell():
    shape = (2, 3, 32, 48)
    ids = _ids(shape)
    first, second = _call("random_neighbor", ids, seed=1)
    assert (first != second).all()
    position = torch.stack([(first // 48) % 32, first % 48, (second // 48) % 32, second % 48])
    rows_1, cols_1, rows_2, cols_2 = position
    cell_rows = torch.arange(16, dtype=torch.float64)[:, None]
    cell_cols = torch.arange(24, dtype=torch.float64)[None, :]
    for rows, cols in ((rows_1, cols_1), (rows_2, cols_2)):  # inside its own cell
        assert ((rows // 2) == cell_rows).all() and ((cols // 2) == cell_cols).all()
    assert ((rows_1 - rows_2).abs() + (cols_1 - cols_2).abs() == 1).all()  # adjacent, not diagonal
    # the same positions in every channel (ids differ by H*W between channels)
    assert ((first[:, 1:] - first[:, :-1]) == 32 * 48).all()


def test_random_neighbor_draws_the_eight_pairs_equally_often():
    ids = _ids((1, 1, 200, 200))
    first, second = _call("random_neighbor", ids, seed=2)
    code = (first // 200 % 2) * 8 + (first % 2) * 4 + (second // 200 % 2) * 2 + (second % 2)
    counts = torch.bincount(code.long().flatten(), minlength=16).double() / code.numel()
    drawn = counts[counts > 0]
    assert len(drawn) == 8  # 4 first positions x 2 neighbours
    assert torch.allclose(drawn, torch.full_like(drawn, 1 / 8), atol=0.01)


@pytest.mark.parametrize("name", ["random_neighbor", "max_stochastic", "avg_stochastic"])
def test_random_downsampler_draws_fresh_at_every_call_and_is_seeded(name):
    x = torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    generator = torch.Generator().manual_seed(5)
    a = DOWNSAMPLERS.get(name)(x, generator)[1]
    b = DOWNSAMPLERS.get(name)(x, generator)[1]
    assert not torch.equal(a, b)
    assert torch.equal(a, _call(name, x, seed=5)[1])


def test_stochastic_pool_seeded_case_picks_a_pixel_of_each_cell():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    pooled = stochastic_pool(x, torch.Generator().manual_seed(0))
    assert pooled[0, 0].tolist() == [[4.0, 7.0], [8.0, 10.0]]  # pinned, seed 0
    ids = _ids((2, 3, 8, 8)) + 1.0
    pooled = stochastic_pool(ids, torch.Generator().manual_seed(1))
    rows, cols = (pooled - 1) // 8 % 8, (pooled - 1) % 8
    assert ((rows // 2) == torch.arange(4.0)[:, None]).all()
    assert ((cols // 2) == torch.arange(4.0)[None, :]).all()


def test_stochastic_pool_draws_larger_values_more_often():
    cell = torch.tensor([[0.1, 0.2], [0.3, 0.4]])
    x = cell.repeat(100, 100)[None, None]  # 10,000 identical cells
    pooled = stochastic_pool(x, torch.Generator().manual_seed(0))
    frequency = torch.stack([(pooled == v).double().mean() for v in cell.flatten()])
    # probability value / sum: 0.1, 0.2, 0.3, 0.4; binomial sd <= 0.005
    torch.testing.assert_close(
        frequency, torch.tensor([0.1, 0.2, 0.3, 0.4]).double(), atol=0.02, rtol=0
    )


def test_stochastic_pool_never_draws_non_positive_pixels_unless_all_are():
    some_positive = torch.tensor([[-1.0, 0.0], [0.0, 2.0]]).repeat(20, 20)[None, None]
    assert (stochastic_pool(some_positive, torch.Generator().manual_seed(0)) == 2.0).all()
    none_positive = torch.tensor([[-1.0, -2.0], [0.0, -3.0]]).repeat(50, 50)[None, None]
    pooled = stochastic_pool(none_positive, torch.Generator().manual_seed(0))
    frequency = torch.stack([(pooled == v).double().mean() for v in (-1.0, -2.0, 0.0, -3.0)])
    torch.testing.assert_close(frequency, torch.full((4,), 0.25).double(), atol=0.03, rtol=0)


def test_pool_vs_stochastic_first_outputs_are_max_and_mean():
    x = torch.rand(2, 3, 8, 6, generator=torch.Generator().manual_seed(0))
    max_first, max_second = _call("max_stochastic", x)
    avg_first, avg_second = _call("avg_stochastic", x)
    torch.testing.assert_close(max_first, torch.nn.functional.max_pool2d(x, 2))
    torch.testing.assert_close(avg_first, torch.nn.functional.avg_pool2d(x, 2))
    torch.testing.assert_close(max_second, stochastic_pool(x, torch.Generator().manual_seed(0)))
    assert (max_second <= max_first).all()


@pytest.mark.parametrize("name", DOWNSAMPLERS.names())
def test_draw_applies_one_draw_to_any_tensor_of_the_same_shape(name):
    entry = DOWNSAMPLERS.get(name)
    noisy = torch.rand(2, 3, 12, 18, generator=torch.Generator().manual_seed(0))
    split = entry.draw(noisy, torch.Generator().manual_seed(3))
    direct = entry(noisy, torch.Generator().manual_seed(3))
    for got, want in zip(split(noisy), direct, strict=True):
        assert torch.equal(got, want)
    for got, want in zip(split(2.0 * noisy), split(noisy), strict=True):  # same positions
        torch.testing.assert_close(got, 2.0 * want)


def test_stochastic_draw_keeps_the_positions_drawn_from_the_noisy_values():
    noisy = torch.tensor([[0.0, 0.0], [0.0, 1.0]]).repeat(4, 4)[None, None]  # always bottom-right
    split = DOWNSAMPLERS.get("avg_stochastic").draw(noisy, torch.Generator().manual_seed(0))
    other = _ids((1, 1, 8, 8))
    assert split(other)[1][0, 0].tolist() == other[0, 0, 1::2, 1::2].tolist()


@pytest.mark.parametrize("name", ["random_neighbor", "max_stochastic"])
def test_draw_rejects_a_tensor_of_another_shape(name):
    split = DOWNSAMPLERS.get(name).draw(torch.rand(1, 1, 8, 8), torch.Generator())
    with pytest.raises(ValueError, match=r"\(1, 1, 8, 8\).*\(1, 1, 8, 6\)"):
        split(torch.rand(1, 1, 8, 6))


@pytest.mark.parametrize("name", DOWNSAMPLERS.names())
def test_every_downsampler_divides_h_and_w_by_its_cell(name):
    entry = DOWNSAMPLERS.get(name)
    x = torch.rand(2, 3, 12, 18)
    first, second = entry(x, torch.Generator().manual_seed(0))
    expected = (2, 3, 12 // entry.cell, 18 // entry.cell)
    assert first.shape == second.shape == expected
    assert first.dtype == second.dtype == x.dtype


@pytest.mark.parametrize("name", DOWNSAMPLERS.names())
def test_every_downsampler_rejects_sizes_off_its_cell_naming_the_shape(name):
    entry = DOWNSAMPLERS.get(name)
    for shape in [(1, 1, 6, 6 + 1), (1, 1, 6 + 1, 6), (6, 6), (1, 6, 6)]:
        with pytest.raises(ValueError, match=re.escape(str(shape))):
            entry(torch.zeros(shape), torch.Generator())
    if entry.cell == 3:
        with pytest.raises(ValueError, match=r"multiples of 3.*\(1, 1, 6, 4\)"):
            entry(torch.zeros(1, 1, 6, 4), torch.Generator())


@pytest.mark.parametrize("name", DOWNSAMPLERS.names())
def test_every_downsampler_rejects_integer_tensors(name):
    with pytest.raises(ValueError, match="floating"):
        DOWNSAMPLERS.get(name)(torch.zeros(1, 1, 6, 6, dtype=torch.int64), torch.Generator())


@pytest.mark.parametrize("name", DOWNSAMPLERS.names())
def test_independence_flag_matches_the_noise_correlation(name):
    entry = DOWNSAMPLERS.get(name)
    noise = 0.5 + 0.1 * torch.randn(1, 1, 480, 480, generator=torch.Generator().manual_seed(1))
    first, second = entry(noise, torch.Generator().manual_seed(0))
    corr = torch.corrcoef(torch.stack([first.flatten(), second.flatten()]))[0, 1].item()
    if entry.independent or name == "cross_corners":  # documented: 2.5e-5 from the centre
        assert abs(corr) < 0.02
    else:
        assert abs(corr) > 0.3
    if name in ("positive_edges", "negative_edges"):  # documented: +-2de / (d^2 + e^2)
        assert corr == pytest.approx(0.1 / 0.26 * (1 if name == "positive_edges" else -1), abs=0.02)


def test_unknown_downsampler_name_suggests_the_closest():
    with pytest.raises(KeyError, match="Did you mean 'diagonal'"):
        DOWNSAMPLERS.get("diagonl")


def test_old_import_path_keeps_every_public_name():
    import noise2x.ops.downsample as old
    import noise2x.ops.downsamplers as new

    assert set(new.__all__) <= set(dir(old))
    assert old.pair_downsample is new.pair_downsample
