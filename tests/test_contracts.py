"""Contract tests driven by the registries: every registered component keeps its promises."""

import pytest
import torch

from noise2x.losses import LOSSES
from noise2x.methods import METHODS, Batch
from noise2x.nets import NETS
from noise2x.noise import NOISES, build_noise

TRAINABLE = [name for name in METHODS.names() if METHODS.get(name).trainable]


def _registries():
    from noise2x.losses import LOSSES
    from noise2x.train.config import CONTEXT

    return {"method": METHODS, "net": NETS, "loss": LOSSES, "noise": NOISES}, CONTEXT


@pytest.mark.parametrize("group", ["method", "net", "loss", "noise"])
def test_every_registered_component_has_a_yaml_and_builds_from_it(group, vgg_file):
    """One build path: ``REGISTRY.build(node, **context)`` on each packaged ``conf/`` YAML.

    A run supplies the context (a net's channels; a dataset method's loss and step count);
    the perceptual losses read the VGG-16 weights the test makes.
    """
    from importlib import resources

    import yaml

    registries, context = _registries()
    registry = registries[group]
    folder = resources.files("noise2x") / "conf" / group
    files = {p.name.removesuffix(".yaml"): p for p in folder.iterdir() if p.name.endswith(".yaml")}
    assert sorted(files) == registry.names()
    supplied = {"channels": 1, "loss": None, "total_steps": 10}
    for name, path in files.items():
        node = yaml.safe_load(path.read_text())
        assert node["name"] == name, path
        kwargs = {key: supplied[key] for key in context[group]}
        if group == "method" and registry.get(name).single_image:
            kwargs = {}  # single-image methods fit their own net: no loss, no step count
        if "vgg_weights" in node:
            node["vgg_weights"] = str(vgg_file)
        built = registry.build(node, **kwargs)
        undocumented = [s.name for s in registry.settings(name, context[group]) if not s.doc]
        assert undocumented == [], f"{group} {name}: settings without documentation"
        if group == "net":
            assert isinstance(built, torch.nn.Module), name
        elif group in ("method", "loss", "noise"):
            assert type(built) is registry.get(name), name


@pytest.mark.parametrize("name", METHODS.names())
def test_each_method_yaml_gives_its_config_defaults(name):
    """A method's YAML lists its settings with the defaults of its ``Config`` (no drift)."""
    import dataclasses

    node = _packaged("method", name)
    assert node.pop("name") == name
    defaults = {f.name: f.default for f in dataclasses.fields(METHODS.get(name).Config)}
    assert sorted(set(node) - set(defaults)) == [], f"{name}.yaml has keys its Config lacks"
    for key, value in node.items():
        assert value == defaults[key], f"{name}.yaml {key}: {value!r} != default {defaults[key]!r}"


@pytest.mark.parametrize("group", ["method", "net", "loss", "noise"])
def test_build_names_an_unknown_setting_and_suggests_the_closest(group):
    from noise2x.registry import SettingError

    registries, context = _registries()
    registry = registries[group]
    name = registry.names()[0]
    settings = [s.name for s in registry.settings(name, context[group])]
    if not settings:
        pytest.skip(f"{group} {name} has no settings")
    typo = settings[0] + "x"
    with pytest.raises(SettingError, match=f"'{typo}'.*Did you mean '{settings[0]}'"):
        registry.check({"name": name, typo: 1}, context[group])


@pytest.mark.parametrize("name", METHODS.names())
def test_every_method_declares_the_contract_it_is_used_through(name):
    """The flags of `Method`, plus the members of each protocol whose capability it claims."""
    import typing

    from noise2x.methods import (
        ClassicalFilter,
        FittingMethod,
        Method,
        MethodBase,
        SingleViewMethod,
        TrainableMethod,
    )

    cls = METHODS.get(name)
    assert issubclass(cls, MethodBase) and cls.name == name
    claimed = [Method]
    if cls.trainable:
        claimed.append(TrainableMethod)
    else:
        claimed.append(ClassicalFilter)
        assert not hasattr(cls, "default_net") and not hasattr(cls, "training_loss")
    if cls.single_image or hasattr(cls, "fit"):
        claimed.append(FittingMethod)
    if cls.trainable and not cls.single_image and not cls.needs_target:
        claimed.append(SingleViewMethod)
    for protocol in claimed:
        for member in {*typing.get_type_hints(protocol), *vars(protocol)} - {"__doc__"}:
            if member.startswith("_"):
                continue
            assert hasattr(cls, member), f"{name} lacks {protocol.__name__}.{member}"
    if cls.single_image:
        assert callable(getattr(cls, "fit", None)), f"{name} is single-image but has no fit"


def test_only_the_classical_filter_is_not_trainable():
    assert sorted(set(METHODS.names()) - set(TRAINABLE)) == ["bm3d"]


@pytest.mark.parametrize("name", TRAINABLE)
@pytest.mark.parametrize("channels", [1, 3])
def test_method_loss_is_finite_scalar_with_gradients(name, channels):
    method = METHODS.get(name)()
    net = method.default_net(channels)
    noisy = torch.rand(2, channels, 16, 16, generator=torch.Generator().manual_seed(0))
    target = None if method.single_image else torch.rand_like(noisy)
    loss = method.training_loss(net, Batch(noisy=noisy, target=target), step=0)
    loss.backward()
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())


@pytest.mark.parametrize("name", METHODS.names())
def test_method_denoise_keeps_shape_dtype_device(name):
    method = METHODS.get(name)()
    noisy = torch.rand(1, 3, 10, 14)
    out = method.denoise(method.default_net(3) if method.trainable else None, noisy)
    assert (out.shape, out.dtype, out.device) == (noisy.shape, noisy.dtype, noisy.device)


@pytest.mark.parametrize("name", NETS.names())
@pytest.mark.parametrize("channels", [1, 3])
def test_net_keeps_shape(name, channels):
    net = NETS.get(name)(channels)
    x = torch.rand(2, channels, 16, 20)
    assert net(x).shape == x.shape


@pytest.mark.parametrize("name", NOISES.names())
def test_every_noise_model_is_registered_under_its_name(name):
    assert NOISES.get(name).name == name
    assert "clip" in NOISES.get(name).param_names()


def test_build_noise_is_seeded_for_gaussian():
    clean = torch.full((1, 1, 8, 8), 0.5)
    model = build_noise("gaussian", sigma=25)
    a = model(clean, torch.Generator().manual_seed(1))
    b = model(clean, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)


@pytest.mark.parametrize("name", NETS.names())
def test_every_net_is_seeded_and_every_parameter_gets_a_gradient(name):
    from noise2x.nets import build_net

    x = torch.rand(2, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    first, again = build_net(name, 1, seed=3), build_net(name, 1, seed=3)
    for a, b in zip(first.parameters(), again.parameters(), strict=True):
        assert torch.equal(a, b)  # same seed, same weights
    out = first(x)
    assert out.dtype == x.dtype and torch.isfinite(out).all()
    out.square().mean().backward()
    missing = [
        n for n, p in first.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0
    ]
    assert missing == [], f"{name}: no gradient reaches {missing}"


def test_every_pair_downsampler_shrinks_by_its_cell_and_is_seeded():
    from noise2x.ops.downsamplers import DOWNSAMPLERS

    x = torch.rand(2, 3, 24, 24, generator=torch.Generator().manual_seed(2))
    for name in DOWNSAMPLERS.names():
        down = DOWNSAMPLERS.get(name)
        first = down(x, torch.Generator().manual_seed(5))
        again = down(x, torch.Generator().manual_seed(5))
        size = 24 // down.cell
        assert [t.shape for t in first] == [torch.Size([2, 3, size, size])] * 2, name
        assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True)), name


def _packaged(group: str, name: str) -> dict:
    """The packaged YAML node ``conf/GROUP/NAME.yaml``."""
    from importlib import resources

    import yaml

    return yaml.safe_load(
        (resources.files("noise2x") / "conf" / group / f"{name}.yaml").read_text()
    )


@pytest.mark.parametrize("name", NOISES.names())
def test_every_noise_model_from_its_yaml_keeps_shape_and_is_seeded(name):
    model = NOISES.build(_packaged("noise", name))
    clean = torch.rand(2, 3, 16, 20, generator=torch.Generator().manual_seed(0))
    a = model(clean, torch.Generator().manual_seed(4))
    b = model(clean, torch.Generator().manual_seed(4))
    c = model(clean, torch.Generator().manual_seed(5))
    assert a.shape == clean.shape and a.dtype == clean.dtype and torch.isfinite(a).all()
    assert torch.equal(a, b), f"{name}: the same seed gave different noise"
    assert not torch.equal(a, c), f"{name}: another seed gave the same noise"
    assert torch.equal(clean, torch.rand(2, 3, 16, 20, generator=torch.Generator().manual_seed(0)))


@pytest.mark.parametrize("name", sorted(set(NOISES.names()) - {"lines"}))
def test_every_noise_model_changes_the_image(name):
    clean = torch.full((1, 1, 32, 32), 0.5)
    noisy = NOISES.build(_packaged("noise", name))(clean, torch.Generator().manual_seed(1))
    assert (noisy - clean).abs().mean() > 1e-3, name


@pytest.mark.parametrize("name", LOSSES.names())
def test_every_loss_from_its_yaml_is_a_finite_scalar_with_gradients(name, vgg_file):
    node = _packaged("loss", name)
    if "vgg_weights" in node:
        node["vgg_weights"] = str(vgg_file)
        node["layers"] = ["relu1_2"]
    loss_fn = LOSSES.build(node)
    gen = torch.Generator().manual_seed(0)
    target = torch.rand(2, 3, 16, 16, generator=gen)
    if loss_fn.needs_net:  # symmetric: (net, noisy_a, noisy_b, step, total_steps)
        net = torch.nn.Conv2d(3, 3, 3, padding=1)
        noisy = torch.rand(2, 3, 16, 16, generator=gen)
        value = loss_fn(net, noisy, target, 0, 10)
        value.backward()
        grads = [p.grad for p in net.parameters()]
    else:
        prediction = torch.rand(2, 3, 16, 16, generator=gen).requires_grad_()
        value = loss_fn(prediction, target, 0, 10)
        again = loss_fn(prediction, target, 0, 10)
        assert torch.equal(value, again)
        value.backward()
        grads = [prediction.grad]
    assert value.ndim == 0 and torch.isfinite(value) and value > 0
    assert all(g is not None and g.abs().sum() > 0 for g in grads), name


def test_every_data_source_has_its_yaml_and_composes():
    """``data=NAME`` for every registered data source: YAML, schema check, module to build."""
    from importlib import resources

    from noise2x.train.config import DATA_SOURCES, compose_config

    folder = resources.files("noise2x") / "conf" / "data"
    yamls = sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )
    assert yamls == DATA_SOURCES.names()
    for name in DATA_SOURCES.names():
        assert compose_config([f"data={name}"])["data"]["name"] == name
        module, cls = DATA_SOURCES.get(name).module.split(":")
        assert hasattr(__import__(module, fromlist=[cls]), cls), name
