"""The VGG-16 feature stack and its loader, with weights the tests make themselves."""

import re

import pytest
import torch

from noise2x.losses import (
    VGG16_FILENAME,
    VGG16_LAYERS,
    VGG16Features,
    load_vgg16_features,
    vgg16_layer_index,
)


def test_vgg16_features_use_torchvision_state_dict_keys():
    keys = list(VGG16Features().state_dict())

    conv_indices = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]  # torchvision vgg16().features
    assert keys == [f"features.{i}.{kind}" for i in conv_indices for kind in ("weight", "bias")]


def test_vgg16_layer_names_match_torchvision_indices():
    assert VGG16_LAYERS["relu1_2"] == 3
    assert VGG16_LAYERS["relu2_2"] == 8
    assert VGG16_LAYERS["relu3_3"] == 15
    assert VGG16_LAYERS["relu4_3"] == 22
    assert VGG16_LAYERS["pool5"] == 30


def test_loaded_vgg_is_frozen_in_eval_mode_with_the_file_weights(vgg_file):
    vgg = load_vgg16_features(vgg_file)

    state = torch.load(vgg_file, weights_only=True)
    assert not vgg.training
    assert not any(p.requires_grad for p in vgg.parameters())
    assert torch.equal(vgg.features[0].weight, state["features.0.weight"])
    assert torch.equal(vgg.features[28].bias, state["features.28.bias"])


def test_extract_returns_the_named_layers_in_order():
    vgg = VGG16Features()
    image = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))

    conv1_1, relu1_1, pool1 = vgg.extract(image, ["conv1_1", "relu1_1", "pool1"])

    assert torch.allclose(relu1_1, conv1_1.clamp(min=0))
    assert pool1.shape == (1, 64, 8, 8)


def test_unknown_layer_index_suggests_the_closest():
    with pytest.raises(ValueError, match=r"Did you mean 'conv3_3'.*Known layers: conv1_1"):
        vgg16_layer_index("conv3-3")


def test_missing_default_weights_error_names_the_expected_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    expected = tmp_path / "hub" / "checkpoints" / VGG16_FILENAME

    with pytest.raises(FileNotFoundError, match=re.escape(str(expected))):
        load_vgg16_features()


def test_default_path_is_used_when_the_file_is_there(tmp_path, monkeypatch, vgg_file):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    checkpoints = tmp_path / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / VGG16_FILENAME).symlink_to(vgg_file)

    vgg = load_vgg16_features()

    assert not vgg.training


def test_missing_explicit_weights_error_names_the_file(tmp_path):
    missing = tmp_path / "elsewhere" / VGG16_FILENAME

    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        load_vgg16_features(missing)


def test_file_with_wrong_keys_raises_value_error_naming_file_and_key(tmp_path):
    path = tmp_path / "not_vgg.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 3, 3)}, path)

    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*'features.0.weight'"):
        load_vgg16_features(path)


def test_file_with_wrong_shape_raises_value_error_naming_file_and_key(tmp_path, vgg_file):
    state = torch.load(vgg_file, weights_only=True)
    state["features.2.weight"] = torch.zeros(64, 64, 1, 1)
    path = tmp_path / "bad_shape.pth"
    torch.save(state, path)

    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*'features.2.weight'"):
        load_vgg16_features(path)


def test_unreadable_file_raises_value_error_naming_it(tmp_path):
    path = tmp_path / VGG16_FILENAME
    path.write_bytes(b"not a checkpoint")

    with pytest.raises(ValueError, match=re.escape(str(path))):
        load_vgg16_features(path)
