import pytest
import torch

from noise2x.ops.downsample import pair_downsample


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
