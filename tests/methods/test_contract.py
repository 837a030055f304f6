"""Every registered method: its packaged YAML matches its Config (keys and defaults), it builds."""

from __future__ import annotations

import dataclasses
from importlib import resources

import pytest
import yaml

from noise2x.methods import METHODS


@pytest.mark.parametrize("name", METHODS.names())
def test_each_method_has_a_yaml_whose_keys_and_values_are_its_config_defaults(name):
    path = resources.files("noise2x.conf") / "method" / f"{name}.yaml"
    assert path.is_file(), f"conf/method/{name}.yaml is missing"
    node = yaml.safe_load(path.read_text())
    assert node.pop("name") == name
    defaults = {f.name: f.default for f in dataclasses.fields(METHODS.get(name).Config)}
    unknown = sorted(set(node) - set(defaults))
    assert not unknown, f"{name}.yaml has keys its Config lacks: {unknown}"
    for key, value in node.items():
        assert value == defaults[key], f"{name}.yaml {key}: {value!r} != default {defaults[key]!r}"


@pytest.mark.parametrize("name", METHODS.names())
def test_each_method_declares_what_the_engine_and_the_api_read(name):
    cls = METHODS.get(name)
    assert cls.name == name
    assert isinstance(cls.single_image, bool) and isinstance(cls.trainable, bool)
    assert dataclasses.is_dataclass(cls.Config)
    assert callable(cls.denoise)
    if cls.single_image:
        assert callable(getattr(cls, "fit", None)), f"{name} is single-image but has no fit"
    if not cls.single_image:
        assert hasattr(cls, "training_loss")
