"""Tiled inference: tile positions, blend windows, and tiled output equal to whole-image output."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from noise2x.data.io import read_image
from noise2x.nets.base import build_net
from noise2x.ops.tiling import (
    blend_window,
    choose_tile,
    denoise_tiled,
    tile_starts,
)


@settings(max_examples=200, deadline=None)
@given(
    length=st.integers(1, 700),
    tile=st.integers(33, 300),
    overlap=st.integers(0, 32),
    multiple=st.sampled_from([1, 8, 32]),
)
def test_tiles_cover_the_axis_on_the_pooling_grid_with_at_least_the_overlap(
    length, tile, overlap, multiple
):
    if tile - overlap < multiple:
        return
    starts = tile_starts(length, tile, overlap, multiple)
    assert starts[0] == 0
    assert all(s % multiple == 0 for s in starts)
    ends = [min(s + tile, length) for s in starts[:-1]] + [length]
    for k in range(len(starts) - 1):
        assert starts[k + 1] > starts[k]
        assert ends[k] - starts[k + 1] >= overlap  # neighbours share at least `overlap` pixels
    assert ends[-1] - starts[-1] <= max(tile + multiple - 1, length if len(starts) == 1 else 0)


def test_windows_of_mirrored_neighbours_sum_to_one_and_zero_the_discarded_edge():
    w = blend_window(8, 40, (0, 0, 16, 0), discard=0.25)[0]
    assert torch.all(w[:4] == 0)  # a quarter of the 16-pixel overlap gets no weight
    assert torch.allclose(w[:16] + w[:16].flip(0), torch.ones(16))
    assert torch.all(w[16:] == 1)


@pytest.mark.parametrize("discard", [0.0, 0.25, 0.5])
def test_a_pixelwise_function_is_reproduced_exactly_by_the_blend(discard):
    noisy = torch.rand(2, 3, 130, 171)
    out = denoise_tiled(lambda x: x.square() - 1, noisy, tile=48, overlap=20, discard=discard)
    assert torch.allclose(out, noisy.square() - 1, atol=1e-6)


def test_a_local_filter_is_exact_when_the_discarded_margin_covers_its_radius():
    kernel = torch.rand(1, 1, 7, 7)  # radius 3: overlap 16 with discard 0.25 discards 4 pixels

    def blur(x):
        return F.conv2d(x, kernel, padding=3)

    noisy = torch.rand(1, 1, 150, 97)
    out = denoise_tiled(blur, noisy, tile=40, overlap=16)
    assert torch.allclose(out, blur(noisy), atol=1e-5)
    # Without the margin, the zero padding of each tile shows at the seams.
    seams = denoise_tiled(blur, noisy, tile=40, overlap=16, discard=0.0)
    assert (seams - blur(noisy)).abs().max() > 1e-3


@pytest.fixture(scope="module")
def real_crop(data_path) -> torch.Tensor:
    """A noisy 200 x 300 grey image made from Set12's 01.png and its mirror."""
    image, _ = read_image(data_path("Set12") / "01.png")
    x = torch.from_numpy(image)[None]
    x = torch.cat([x, x.flip(-1)], dim=-1)[..., :200, :300]
    generator = torch.Generator().manual_seed(0)
    return (x + 0.1 * torch.randn(x.shape, generator=generator)).contiguous()


@pytest.mark.parametrize(
    ("name", "tile", "overlap"),
    [("unet_n2n", 96, 32), ("red30", 96, 32), ("resunet", 128, 64)],
)
def test_tiled_output_equals_whole_image_output_within_1e4(real_crop, name, tile, overlap):
    torch.set_num_threads(1)
    net = build_net(name, 1, seed=0).eval()
    with torch.inference_mode():
        whole = net(real_crop)
    out = denoise_tiled(
        net, real_crop, tile=tile, overlap=overlap, multiple=getattr(net, "size_multiple", 1)
    )
    assert out.shape == whole.shape
    assert (out - whole).abs().max().item() < 1e-4


def test_an_automatic_tile_fits_the_memory_budget_and_still_matches(real_crop):
    net = build_net("unet_n2n", 1, seed=0, width=8).eval()
    budget = 6 << 20  # 6 MiB: a 96-pixel tile for this net
    tile = choose_tile(budget, net.peak_bytes_per_pixel, multiple=32)
    assert (tile + 31) ** 2 * net.peak_bytes_per_pixel <= budget
    assert tile < 200  # so the 200 x 300 image is really cut into tiles
    calls = []

    def counted(x):
        calls.append(tuple(x.shape[-2:]))
        return net(x)

    out = denoise_tiled(
        counted,
        real_crop,
        max_memory_bytes=budget,
        multiple=32,
        bytes_per_pixel=net.peak_bytes_per_pixel,
    )
    assert len(calls) > 1
    assert all(h * w * net.peak_bytes_per_pixel <= budget for h, w in calls)
    with torch.inference_mode():
        assert (out - net(real_crop)).abs().max().item() < 1e-4


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        denoise_tiled(lambda x: x, torch.rand(3, 8, 8))
    with pytest.raises(ValueError, match="floating-point"):
        denoise_tiled(lambda x: x, torch.zeros(1, 1, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match="larger than overlap"):
        denoise_tiled(lambda x: x, torch.rand(1, 1, 80, 80), tile=16, overlap=16)
    with pytest.raises(ValueError, match="keep the shape"):
        denoise_tiled(lambda x: x[..., :-1], torch.rand(1, 1, 80, 80), tile=32, overlap=8)
    with pytest.raises(ValueError, match="budget_bytes"):
        choose_tile(0)
