"""Perceptual losses on VGG-16 features, with weights the tests make themselves."""

import inspect

import pytest
import torch
import torch.nn.functional as F

from noise2x.losses import VGG16_FILENAME, L1PerceptualLoss, PerceptualLoss


def random_images(shape=(1, 3, 32, 32), seed=0):
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def perceptual(vgg_file):
    return PerceptualLoss(vgg_weights=vgg_file)


def test_perceptual_loss_is_zero_for_identical_images(perceptual):
    image = random_images()

    loss = perceptual(image, image.clone())

    assert loss.ndim == 0
    assert loss.item() == 0.0


def test_perceptual_loss_is_positive_for_different_images(perceptual):
    loss = perceptual(random_images(seed=1), random_images(seed=2))

    assert loss.item() > 0.0


def test_perceptual_loss_gradients_reach_the_prediction_and_not_vgg(perceptual):
    prediction = random_images(seed=1).requires_grad_()

    perceptual(prediction, random_images(seed=2)).backward()

    assert prediction.grad is not None and prediction.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in perceptual.parameters())


def test_perceptual_loss_keeps_vgg_in_eval_mode(perceptual):
    perceptual.train()

    assert perceptual.training and not perceptual.vgg.training


def test_grayscale_is_repeated_to_three_channels(perceptual):
    prediction, target = random_images((1, 1, 32, 32), 1), random_images((1, 1, 32, 32), 2)

    gray = perceptual(prediction, target)
    rgb = perceptual(prediction.repeat(1, 3, 1, 1), target.repeat(1, 3, 1, 1))

    assert torch.allclose(gray, rgb)


def test_l2_distance_on_one_layer_matches_a_direct_computation(vgg_file):
    loss_fn = PerceptualLoss(layers=("relu1_2",), vgg_weights=vgg_file, distance="l2")
    prediction, target = random_images(seed=1), random_images(seed=2)

    loss = loss_fn(prediction, target)

    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    relu1_2 = loss_fn.vgg.features[:4]
    expected = F.mse_loss(relu1_2((prediction - mean) / std), relu1_2((target - mean) / std))
    assert torch.allclose(loss, expected)


def test_layer_weights_scale_each_layer_term(vgg_file):
    weighted = PerceptualLoss(("relu1_2", "relu2_2"), vgg_file, layer_weights=(2.0, 0.0))
    single = PerceptualLoss(("relu1_2",), vgg_file)
    prediction, target = random_images(seed=1), random_images(seed=2)

    assert torch.allclose(weighted(prediction, target), 2 * single(prediction, target))


def test_l1_perceptual_is_l1_plus_lam_times_perceptual(vgg_file, perceptual):
    loss_fn = L1PerceptualLoss(lam=0.25, vgg_weights=vgg_file)
    prediction, target = random_images(seed=1), random_images(seed=2)

    loss = loss_fn(prediction, target)

    expected = F.l1_loss(prediction, target) + 0.25 * perceptual(prediction, target)
    assert torch.allclose(loss, expected)


def test_l1_perceptual_default_lam_is_a_tenth():
    assert inspect.signature(L1PerceptualLoss).parameters["lam"].default == 0.1


def test_missing_default_weights_error_names_the_expected_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    expected = tmp_path / "hub" / "checkpoints" / VGG16_FILENAME

    with pytest.raises(FileNotFoundError) as info:
        PerceptualLoss()

    message = str(info.value)
    assert str(expected) in message
    assert "loss.vgg_weights=" in message
    assert "$TORCH_HOME/hub/checkpoints" in message


def test_unknown_layer_name_suggests_the_closest():
    with pytest.raises(ValueError, match=r"unknown VGG-16 layer 'relu22'\. Did you mean 'relu2_2'"):
        PerceptualLoss(layers=("relu22",))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"layer_weights": (1.0,)}, "one weight per layer"),
        ({"layer_weights": (1.0, 1.0, -1.0, 1.0)}, ">= 0"),
        ({"distance": "l3"}, "'l1' or 'l2'"),
        ({"layers": ()}, "at least one"),
        ({"layers": ("relu1_2", "relu1_2")}, "repeat"),
    ],
)
def test_bad_perceptual_parameters_fail_before_reading_weights(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PerceptualLoss(**kwargs)


def test_perceptual_loss_rejects_two_channel_images(perceptual):
    images = torch.zeros(1, 2, 32, 32)

    with pytest.raises(ValueError, match=r"\(1, 2, 32, 32\)"):
        perceptual(images, images)


def test_perceptual_loss_rejects_images_too_small_for_the_deepest_layer(perceptual):
    images = torch.zeros(1, 3, 4, 4)

    with pytest.raises(ValueError, match=r"H, W >= 8, got \(1, 3, 4, 4\)"):
        perceptual(images, images)


def test_perceptual_loss_rejects_shape_mismatch(perceptual):
    with pytest.raises(ValueError, match=r"\(1, 3, 32, 32\).*\(1, 3, 16, 16\)"):
        perceptual(torch.zeros(1, 3, 32, 32), torch.zeros(1, 3, 16, 16))
