# size: the typed schemas of every config group and the checks OmegaConf cannot do
"""Training configs: the packaged Hydra YAML, composed with overrides and checked by schema.

``compose_config(["net=resunet", "trainer.max_steps=100"])`` composes ``noise2x/conf`` with
Hydra's compose API and validates the result:

- a group choice that does not exist (``net=resunett``) and a key that does not exist
  (``trainer.max_stpes=1``) are errors naming the key and suggesting the closest one;
- the fixed groups (data, trainer, logger, optim, run) are checked against the dataclasses
  below by OmegaConf (unknown keys, wrong types);
- the named groups (method, net, loss, noise) are checked against the constructor of the
  registered class: every key must be one of its parameters, with a value of its type.

Hydra and OmegaConf are imported here only; ``import noise2x`` does not load them.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

#: Config groups, each a folder of YAML files in ``noise2x/conf``.
GROUPS = ("method", "net", "loss", "noise", "data", "trainer", "logger")
#: Groups whose node is ``name`` plus the constructor parameters of a registered class.
NAMED_GROUPS = ("method", "net", "loss", "noise")


class ConfigError(ValueError):
    """A config that cannot be used: the message names the key and what to change."""


@dataclass
class DataSchema:
    """``data``: where the images come from and how batches are made (see data/synthetic.yaml)."""

    name: str = "synthetic"
    root: str | None = None
    val_root: str | None = None
    val_count: int = 4
    val_max_images: int | None = None
    val_seed: int = 12345
    mode: str = "n2n"
    fixed_noise: bool = True
    channels: int | None = None
    patch_size: int = 64
    batch_size: int = 8
    samples_per_epoch: int | None = None
    num_workers: int = 1


@dataclass
class PairsDataSchema:
    """``data=pairs``: two folders of noisy images matched by file name (data/pairs.yaml)."""

    name: str = "pairs"
    a: str | None = None
    b: str | None = None
    val_count: int = 4
    normalize: str = "auto"
    channels: int | None = None
    patch_size: int = 64
    batch_size: int = 8
    samples_per_epoch: int | None = None
    num_workers: int = 1


@dataclass
class FramesDataSchema:
    """``data=frames``: a folder of movies, split into even/odd frames (data/frames.yaml)."""

    name: str = "frames"
    root: str | None = None
    window: int | None = None
    val_count: int = 1
    normalize: str = "auto"
    channels: int | None = None
    patch_size: int = 64
    batch_size: int = 8
    samples_per_epoch: int | None = None
    num_workers: int = 1


@dataclass
class CapturesDataSchema:
    """``data=captures``: a folder per field of view of repeated captures (data/captures.yaml)."""

    name: str = "captures"
    root: str | None = None
    fields: list[str] | None = None
    val_count: int = 4
    normalize: str = "auto"
    channels: int | None = None
    patch_size: int = 64
    batch_size: int = 8
    samples_per_epoch: int | None = None
    num_workers: int = 1


@dataclass
class NoisyFolderDataSchema:
    """``data=noisy_folder``: a folder of single noisy images (data/noisy_folder.yaml)."""

    name: str = "noisy_folder"
    root: str | None = None
    val_count: int = 4
    val_clean: str | None = None
    val_seed: int = 12345
    normalize: str = "auto"
    channels: int | None = None
    patch_size: int = 64
    batch_size: int = 8
    samples_per_epoch: int | None = None
    num_workers: int = 1


@dataclass(frozen=True)
class DataSource:
    """A registered source of training data (``data=NAME``): its schema and its data module.

    Attributes
    ----------
    name : str
        The choice of the ``data`` group (``conf/data/NAME.yaml``).
    schema : type
        The dataclass the ``data`` node is checked against (by OmegaConf).
    module : str
        ``"package.module:Class"`` of its LightningDataModule, imported only when a run
        starts (``import noise2x`` does not load Lightning).
    """

    name: str
    schema: type
    module: str

    def build(self, config: dict) -> Any:
        """Return the data module of a validated `config` (it reads ``data`` and ``seed``)."""
        import importlib

        module, cls = self.module.split(":")
        return getattr(importlib.import_module(module), cls)(config)


def _data_sources() -> Any:
    from noise2x.registry import Registry

    sources: Registry[DataSource] = Registry("data source", factory=False)
    for name, schema, module in (
        ("synthetic", DataSchema, "noise2x.train.datamodule:SyntheticDataModule"),
        ("pairs", PairsDataSchema, "noise2x.train.datamodule_real:RealDataModule"),
        ("frames", FramesDataSchema, "noise2x.train.datamodule_real:RealDataModule"),
        ("captures", CapturesDataSchema, "noise2x.train.datamodule_real:RealDataModule"),
        (
            "noisy_folder",
            NoisyFolderDataSchema,
            "noise2x.train.datamodule_single:NoisyFolderDataModule",
        ),
    ):
        sources.register(name)(DataSource(name, schema, module))
    return sources


#: Every source of training data by ``data.name``; a new one is a schema, a data module and
#: one entry here (plus its ``conf/data/NAME.yaml``).
DATA_SOURCES = _data_sources()
#: The schema of the ``data`` node for each ``data.name``.
DATA_SCHEMAS: dict[str, type] = {name: DATA_SOURCES.get(name).schema for name in DATA_SOURCES}


@dataclass
class TrainerSchema:
    """``trainer``: the Lightning Trainer's settings that noise2x exposes."""

    max_steps: int = 2000
    accelerator: str = "auto"
    devices: Any = 1
    num_nodes: int = 1
    strategy: str = "auto"
    precision: str = "auto"
    threads: int | None = None
    log_every_n_steps: int = 50
    checkpoint_every_n_steps: int = 200
    val_every_n_steps: int | None = None
    limit_val_batches: int | None = None
    progress_bar: bool = True


@dataclass
class LoggerSchema:
    """``logger``: which loggers write into the run directory."""

    names: list[str] = field(default_factory=lambda: ["csv", "tensorboard"])
    wandb_project: str = "noise2x"
    wandb_mode: str = "offline"


@dataclass
class OptimSchema:
    """``optim``: Adam and the Noise2Noise ramp-down of the learning rate."""

    lr: float = 3e-4
    beta1: float = 0.9
    beta2: float = 0.99
    eps: float = 1e-8
    rampdown: float = 0.3


@dataclass
class RunSchema:
    """``run``: where run directories are created, and a new run's initial weights.

    ``init``: a ``.ckpt`` or ``.safetensors`` file whose net is the run's; the run starts from
    its weights instead of random ones (``noise2x.train.init_weights``). None: random weights
    drawn from ``seed``.
    """

    root: str = "runs"
    init: str | None = None  # initial net weights of a new run (noise2x.train.init_weights)


@dataclass
class FixedSchema:
    """Every node of the config except the named groups."""

    seed: int = 0
    data: DataSchema = field(default_factory=DataSchema)
    trainer: TrainerSchema = field(default_factory=TrainerSchema)
    logger: LoggerSchema = field(default_factory=LoggerSchema)
    optim: OptimSchema = field(default_factory=OptimSchema)
    run: RunSchema = field(default_factory=RunSchema)


_CHOICES = {
    "data.mode": ("n2n", "n2c"),
    "data.name": tuple(DATA_SCHEMAS),
    "data.normalize": ("auto", "minmax", "none"),
    "trainer.accelerator": ("auto", "cpu", "cuda", "gpu"),
    "trainer.precision": ("auto", "32-true", "bf16-mixed", "16-mixed"),
}
_LOGGERS = ("csv", "tensorboard", "wandb")


#: Environment variable naming extra config folders (``os.pathsep``-separated), each laid out
#: like ``noise2x/conf`` (``method/NAME.yaml``, ``net/NAME.yaml``, ...): the YAML of a
#: component registered outside the package (a new method in its own module) lives there.
CONFIG_PATH_VARIABLE = "NOISE2X_CONFIG_PATH"


def config_folders() -> list[Path]:
    """Return the extra config folders of ``$NOISE2X_CONFIG_PATH`` that exist, in order.

    Raises
    ------
    ConfigError
        If a listed folder does not exist (the message names it).
    """
    folders = []
    for entry in os.environ.get(CONFIG_PATH_VARIABLE, "").split(os.pathsep):
        if not entry.strip():
            continue
        folder = Path(entry).expanduser().resolve()
        if not folder.is_dir():
            raise ConfigError(f"{CONFIG_PATH_VARIABLE}: {folder} is not a folder")
        folders.append(folder)
    return folders


def group_options(group: str) -> list[str]:
    """Return the choices of config `group`: the YAML stems in ``noise2x/conf/<group>``.

    Folders of ``$NOISE2X_CONFIG_PATH`` add their ``<group>/*.yaml``.

    Examples
    --------
    >>> "unet_n2n" in group_options("net")
    True
    """
    folder = resources.files("noise2x") / "conf" / group
    names = {p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml")}
    for extra in config_folders():
        if (extra / group).is_dir():
            names |= {p.stem for p in (extra / group).glob("*.yaml")}
    return sorted(names)


def _suggest(word: str, known: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


def _split_override(override: str) -> tuple[str, str]:
    key, sep, value = override.partition("=")
    if not sep or not key or key.startswith(("+", "~")):
        raise ConfigError(
            f"override {override!r} is not of the form key=value (adding or deleting keys "
            "with + or ~ is not supported: every key is in the packaged config)"
        )
    return key.strip(), value


def _check_override_keys(base: Any, overrides: list[str]) -> None:
    """Raise ConfigError for an override whose key is not in `base` (a composed DictConfig)."""
    from omegaconf import DictConfig

    for override in overrides:
        key, _ = _split_override(override)
        if key in GROUPS:
            continue
        node, parts = base, key.split(".")
        for depth, part in enumerate(parts):
            if not isinstance(node, DictConfig) or part not in node:
                where = ".".join(parts[:depth])
                known = list(node.keys()) if isinstance(node, DictConfig) else []
                if depth == 0:
                    known += list(GROUPS)
                hint = _suggest(part, known)
                if hint:
                    hint = hint.replace("'", "'" + (where + "." if where else ""), 1)
                raise ConfigError(f"unknown config key {key!r}{hint}")
            node = node[part]


def _compose(overrides: list[str]) -> Any:
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    extra = config_folders()
    if extra:  # searched after the packaged config: a YAML there adds a choice to a group
        paths = ",".join(repr(f"file://{folder}") for folder in extra)  # quoted: spaces, commas
        overrides = [f"hydra.searchpath=[{paths}]", *overrides]
    GlobalHydra.instance().clear()
    try:
        with initialize_config_module(config_module="noise2x.conf", version_base=None):
            return compose(config_name="config", overrides=overrides)
    except Exception as err:  # Hydra's parse and composition errors: say it in one line
        if isinstance(err, ConfigError):
            raise
        text = " ".join(str(err).split())
        raise ConfigError(f"cannot compose the config with {overrides}: {text}") from None
    finally:
        GlobalHydra.instance().clear()


def compose_config(overrides: typing.Sequence[str] = ()) -> dict:
    """Compose the packaged config with Hydra-style overrides and validate it.

    Parameters
    ----------
    overrides : sequence of str
        ``key=value`` items, e.g. ``["net=resunet", "noise.sigma=50", "trainer.max_steps=10"]``;
        a group name on the left selects a YAML file of that group.

    Returns
    -------
    dict
        The resolved, validated config as plain Python containers.

    Raises
    ------
    ConfigError
        For an unknown group choice or key (with the closest known one), a value of the wrong
        type, or a value outside its choices; the message names the key.

    Examples
    --------
    >>> cfg = compose_config(["net=red30", "trainer.max_steps=5"])
    >>> cfg["net"]["name"], cfg["trainer"]["max_steps"], cfg["optim"]["lr"]
    ('red30', 5, 0.0003)
    >>> compose_config(["trainer.max_stpes=5"])
    Traceback (most recent call last):
        ...
    noise2x.train.config.ConfigError: unknown config key 'trainer.max_stpes'; did you mean \
'trainer.max_steps'?
    """
    overrides = list(overrides)
    choices = []
    for override in overrides:
        key, value = _split_override(override)
        if key in GROUPS:
            options = group_options(key)
            if value not in options:
                raise ConfigError(
                    f"unknown {key} {value!r}{_suggest(value, options)} "
                    f"(choices: {', '.join(options)})"
                )
            choices.append(override)
    _check_override_keys(_compose(choices), overrides)
    return validate_config(_compose(overrides))


def validate_config(cfg: Any) -> dict:
    """Check a composed config (DictConfig or dict) against the schemas; return a plain dict.

    Raises
    ------
    ConfigError
        As for `compose_config`.
    """
    from omegaconf import DictConfig, OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    if not isinstance(cfg, DictConfig):
        cfg = OmegaConf.create(cfg)
    data = OmegaConf.to_container(cfg, resolve=True)
    missing = [g for g in NAMED_GROUPS if g not in data]
    if missing:
        raise ConfigError(f"config has no {', '.join(missing)} node")
    fixed = {k: v for k, v in data.items() if k not in NAMED_GROUPS}
    schema = _fixed_schema(fixed)
    try:
        checked = OmegaConf.merge(OmegaConf.structured(schema), fixed)
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None) or "?"
        text = str(err).splitlines()[0]
        if "not in" in text:
            parent = key.rpartition(".")[0]
            node = OmegaConf.select(OmegaConf.structured(schema), parent) if parent else None
            known = list(node.keys()) if node is not None else list(fixed)
            leaf = key.rpartition(".")[2]
            hint = _suggest(leaf, known).replace("'", "'" + (parent + "." if parent else ""), 1)
            raise ConfigError(f"unknown config key {key!r}{hint}") from None
        raise ConfigError(f"config key {key!r}: {text}") from None
    result = OmegaConf.to_container(checked, resolve=True)
    for key, allowed in _CHOICES.items():
        group, leaf = key.split(".")
        if leaf in result[group] and result[group][leaf] not in allowed:
            raise ConfigError(
                f"config key {key!r} is {result[group][leaf]!r}; choices: {', '.join(allowed)}"
            )
    for name in result["logger"]["names"]:
        if name not in _LOGGERS:
            raise ConfigError(
                f"config key 'logger.names' has unknown logger {name!r}{_suggest(name, _LOGGERS)}"
            )
    for group in NAMED_GROUPS:
        result[group] = _check_named(group, data[group])
    _check_ranges(result)
    _check_method_data(result)
    return result


def _check_method_data(cfg: dict) -> None:
    """Refuse a loss the method cannot use, or a crop size its sub-sampler cannot split.

    A method declares ``patch_multiple`` when its crops must be a multiple of a cell (2 for
    ne2ne) and ``loss_names`` when only those losses fit it (``("l2",)`` for ne2ne). Whether
    the data can feed the method (``needs_target``) is checked with the data, before the run
    directory is made (``noise2x.train.datamodule_single.check_data``), so that every YAML of
    every group still composes on its own.
    """
    method = _registered("method", cfg["method"]["name"])
    name = cfg["method"]["name"]
    losses = method.loss_names
    if losses is not None and cfg["loss"]["name"] not in losses:
        raise ConfigError(
            f"method {name!r} works with loss={' or '.join(losses)} only, got "
            f"loss={cfg['loss']['name']!r}"
        )
    multiple = method.patch_multiple
    if cfg["data"]["patch_size"] % multiple:
        raise ConfigError(
            f"config key 'data.patch_size' must be a multiple of {multiple} for method {name!r}, "
            f"got {cfg['data']['patch_size']}"
        )


def _fixed_schema(fixed: dict) -> type:
    """Return FixedSchema with the ``data`` schema of ``data.name`` (synthetic if unset)."""
    node = fixed.get("data")
    name = node.get("name", "synthetic") if isinstance(node, dict) else "synthetic"
    if name not in DATA_SCHEMAS:
        raise ConfigError(
            f"config key 'data.name' is {name!r}{_suggest(str(name), DATA_SCHEMAS)} "
            f"(choices: {', '.join(DATA_SCHEMAS)})"
        )
    if DATA_SCHEMAS[name] is DataSchema:
        return FixedSchema
    schema = DATA_SCHEMAS[name]
    return dataclasses.make_dataclass(
        f"FixedSchema_{name}",
        [("data", schema, field(default_factory=schema))],
        bases=(FixedSchema,),
    )


def _registry(group: str) -> Any:
    if group == "method":
        from noise2x.methods import METHODS as registry
    elif group == "net":
        from noise2x.nets import NETS as registry
    elif group == "loss":
        from noise2x.losses import LOSSES as registry
    elif group == "noise":
        from noise2x.noise import NOISES as registry
    else:
        raise ConfigError(f"{group!r} is not a named group")
    return registry


def _registered(group: str, name: str) -> Any:
    try:
        return _registry(group).get(name)
    except KeyError as err:
        raise ConfigError(f"config key '{group}.name': {err.args[0]}") from None


#: What a run supplies to each named group's constructor besides the node's settings.
CONTEXT = {"method": ("loss", "total_steps"), "net": ("channels",), "loss": (), "noise": ()}


def _check_named(group: str, node: dict) -> dict:
    """Check a ``{name, **settings}`` node against the registered component's settings.

    The settings are those `noise2x.registry.Registry.settings` lists (a method's ``Config``
    fields, else the constructor's parameters); method and noise nodes are also built once so
    that their own range checks run (a method through its ``Config``; nets and losses are
    built by the run: a net allocates its weights).
    """
    from noise2x.registry import SettingError

    if not isinstance(node, dict) or "name" not in node:
        raise ConfigError(f"config node {group!r} needs a 'name' key")
    _registered(group, node["name"])
    registry = _registry(group)
    params = {k: v for k, v in node.items() if k != "name"}
    try:
        registry.check(node, CONTEXT[group])
    except SettingError as err:  # the registry's finding, worded as a config key
        key, name, accepted = f"{group}.{err.key}", node["name"], ", ".join(err.accepted)
        if err.problem == "unknown":
            hint = f"; did you mean '{group}.{err.close}'?" if err.close else ""
            text = f"unknown config key '{key}' for {group} {name!r}{hint} "
            text += f"(accepted: {accepted or 'none'})"
        elif err.problem == "type":
            value = params[err.key]
            text = f"config key '{key}' must be {err.expected}, got {value!r} "
            text += f"({type(value).__name__})"
        else:
            text = f"config key '{key}' is required by {group} {name!r} (accepted: {accepted})"
        raise ConfigError(text) from None
    if group in ("method", "noise"):
        try:  # a method's checks live in its Config: building that allocates nothing
            if group == "method":
                registry.get(node["name"]).Config(**params)
            else:
                registry.build(node)
        except (ValueError, TypeError) as err:
            text = str(err)
            keys = [k for k in params if k in text] or ["name"]
            raise ConfigError(
                f"config key '{group}.{keys[0]}' ({group} {node['name']!r}): {text}"
            ) from None
    return dict(node)


def _check_ranges(cfg: dict) -> None:
    positive = [
        "data.patch_size",
        "data.batch_size",
        "trainer.max_steps",
        "trainer.log_every_n_steps",
        "trainer.checkpoint_every_n_steps",
        "trainer.num_nodes",
    ]
    for key in positive:
        group, leaf = key.split(".")
        if cfg[group][leaf] < 1:
            raise ConfigError(f"config key {key!r} must be >= 1, got {cfg[group][leaf]}")
    if cfg["data"]["num_workers"] < 0:
        raise ConfigError(
            f"config key 'data.num_workers' must be >= 0, got {cfg['data']['num_workers']}"
        )
    if cfg["data"]["channels"] not in (None, 1, 3):
        raise ConfigError(
            f"config key 'data.channels' must be 1, 3 or null, got {cfg['data']['channels']}"
        )
    if cfg["data"]["name"] != "synthetic" and cfg["data"]["val_count"] < 1:
        raise ConfigError(
            f"config key 'data.val_count' must be >= 1, got {cfg['data']['val_count']}"
        )
    if cfg["data"].get("window") is not None and cfg["data"]["window"] < 2:
        raise ConfigError(
            f"config key 'data.window' must be >= 2 or null, got {cfg['data']['window']}"
        )
    if not 0.0 <= cfg["optim"]["rampdown"] <= 1.0:
        raise ConfigError("config key 'optim.rampdown' must be in [0, 1]")
    if cfg["optim"]["lr"] <= 0:
        raise ConfigError("config key 'optim.lr' must be > 0")
