import pytest
import torch

from noise2x.data.synthetic import (
    NoisyValidationSet,
    SyntheticNoiseDataset,
    augment,
    load_images,
    random_crop,
)
from noise2x.noise import build_noise

GAUSS = build_noise("gaussian", sigma=25)


def _images(n=3, c=1, size=40):
    g = torch.Generator().manual_seed(0)
    return [torch.rand(c, size, size + 4, generator=g) for _ in range(n)]


def test_n2n_gives_two_independent_noisy_views_of_the_same_crop():
    data = SyntheticNoiseDataset(_images(), GAUSS, patch_size=32, mode="n2n")
    noisy, target, clean = data[1]
    assert noisy.shape == target.shape == clean.shape == (1, 32, 32)
    noise_a, noise_b = noisy - clean, target - clean
    assert noise_a.std().item() == pytest.approx(25 / 255, rel=0.2)
    assert abs(torch.corrcoef(torch.stack([noise_a.flatten(), noise_b.flatten()]))[0, 1]) < 0.2


def test_n2c_target_is_the_clean_crop():
    noisy, target, clean = SyntheticNoiseDataset(_images(), GAUSS, 32, mode="n2c")[0]
    assert torch.equal(target, clean) and not torch.equal(noisy, clean)


def test_fixed_noise_is_the_same_every_epoch_and_fresh_noise_is_not():
    images = [torch.full((1, 32, 32), 0.5)]  # one crop position: only the noise can change
    fixed = SyntheticNoiseDataset(images, GAUSS, 32, fixed_noise=True)
    fresh = SyntheticNoiseDataset(images, GAUSS, 32, fixed_noise=False)

    def noise_values(data, epoch):  # sorted values ignore the random flips/rotations
        return data[epoch * len(data)][0].flatten().sort().values

    assert torch.equal(noise_values(fixed, 0), noise_values(fixed, 1))
    assert not torch.equal(noise_values(fresh, 0), noise_values(fresh, 1))


def test_samples_are_reproducible_and_differ_between_indices():
    a = SyntheticNoiseDataset(_images(), GAUSS, 16, samples_per_epoch=10, seed=3)
    b = SyntheticNoiseDataset(_images(), GAUSS, 16, samples_per_epoch=10, seed=3)
    assert len(a) == 10
    assert torch.equal(a[4][0], b[4][0])
    assert not torch.equal(a[0][0], a[3][0])  # index 3 is image 0 again, another crop


def test_augment_is_one_of_the_eight_symmetries():
    image = torch.arange(12.0).reshape(1, 3, 4)
    out = augment(image, torch.Generator().manual_seed(1))
    assert sorted(out.flatten().tolist()) == sorted(image.flatten().tolist())


def test_random_crop_rejects_a_too_small_image():
    with pytest.raises(ValueError, match="smaller"):
        random_crop([torch.zeros(1, 8, 8)], 16, torch.Generator())


def test_dataset_rejects_small_images_and_bad_mode():
    with pytest.raises(ValueError, match="patch_size"):
        SyntheticNoiseDataset(_images(size=20), GAUSS, patch_size=32)
    with pytest.raises(ValueError, match="mode"):
        SyntheticNoiseDataset(_images(), GAUSS, 16, mode="n2v")


def test_validation_set_is_fixed_seed_full_images():
    images = _images(2)
    a, b = NoisyValidationSet(images, GAUSS), NoisyValidationSet(images, GAUSS)
    assert torch.equal(a[1][0], b[1][0]) and a[1][0].shape == images[1].shape
    assert torch.equal(a[1][1], images[1])


@pytest.mark.data
def test_load_images_reads_train400_and_converts_channels(data_path):
    paths = sorted(data_path("Train400").glob("*.png"))[:2]
    grey = load_images(paths)
    rgb = load_images(paths, channels=3)
    assert grey[0].shape == (1, 180, 180) and rgb[0].shape == (3, 180, 180)
    color = load_images(sorted(data_path("CBSD68").glob("*.png"))[:1], channels=1)
    assert color[0].shape[0] == 1
