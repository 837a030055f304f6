import pytest
import torch

from noise2x.noise import TextNoise


@pytest.mark.parametrize("coverage", [0.1, 0.25, 0.5])
def test_text_covers_about_the_target_fraction(coverage):
    clean = torch.full((1, 1, 256, 256), 0.5)

    _, mask = TextNoise(coverage=coverage).sample_with_mask(clean, torch.Generator().manual_seed(0))

    covered = 1 - mask.mean().item()
    assert coverage <= covered <= coverage + 0.05


def test_text_changes_pixels_only_under_the_mask():
    clean = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))

    noisy, mask = TextNoise(coverage=0.3).sample_with_mask(clean, torch.Generator().manual_seed(0))

    kept = mask.bool().expand_as(clean)
    assert torch.equal(noisy[kept], clean[kept])
    assert (noisy[~kept] != clean[~kept]).float().mean() > 0.99
    assert noisy.min() >= 0
    assert noisy.max() <= 1


def test_text_zero_coverage_is_identity():
    clean = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))

    noisy, mask = TextNoise(coverage=0.0).sample_with_mask(clean, torch.Generator().manual_seed(0))

    assert torch.equal(noisy, clean)
    assert (mask == 1).all()


def test_text_differs_between_images_of_a_batch():
    clean = torch.full((2, 1, 64, 64), 0.5)

    _, mask = TextNoise(coverage=0.2).sample_with_mask(clean, torch.Generator().manual_seed(0))

    assert not torch.equal(mask[0], mask[1])


def test_text_strings_use_several_colours():
    clean = torch.full((1, 3, 128, 128), 0.5)

    noisy, mask = TextNoise(coverage=0.3).sample_with_mask(clean, torch.Generator().manual_seed(0))

    colours = noisy[0].permute(1, 2, 0)[~mask[0, 0].bool()].unique(dim=0)
    assert len(colours) > 3


@pytest.mark.parametrize("coverage", [-0.1, 1.0, "0.2"])
def test_text_rejects_bad_coverage(coverage):
    with pytest.raises(ValueError, match="coverage"):
        TextNoise(coverage=coverage)


@pytest.mark.parametrize("font_size", [(0, 10), (20, 10), (10,), 12, (10.0, 20)])
def test_text_rejects_bad_font_size(font_size):
    with pytest.raises(ValueError, match="font_size"):
        TextNoise(font_size=font_size)
