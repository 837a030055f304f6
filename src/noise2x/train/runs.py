# size: the life of a training run: its directory, resume, the Trainer, quiet logging
"""Training runs: a new directory per run, checkpoints written atomically, exact resume.

``train(overrides)`` reads top to bottom: compose and validate the config, make the run
directory ``<run.root>/<method>/<YYYYmmdd-HHMMSS>-<id>/`` (never an existing one) and save the
resolved ``config.yaml`` in it, build the data, the module and Lightning's Trainer, fit.
``train(resume=RUN_DIR)`` continues from ``RUN_DIR/checkpoints/last.ckpt`` in the same
directory: weights, Adam's moments, the learning-rate schedule, the step and the data order
(samples are a function of the global step, see ``noise2x.train.datamodule``).

Checkpoints: ``checkpoints/last.ckpt`` every ``trainer.checkpoint_every_n_steps`` steps and at
the end, ``checkpoints/best.ckpt`` (highest ``val/psnr_db``) after each validation. Every file
is written to a temporary name and renamed, so a run killed with SIGKILL leaves the previous
checkpoint intact and loses at most the steps since it. While it trains, a run is locked
(``noise2x.train.lock``): a second process cannot resume it at the same time.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import torch

from noise2x.data.atomic import atomic_write
from noise2x.device import use_bf16
from noise2x.train.config import ConfigError, compose_config, validate_config
from noise2x.train.lock import run_lock

#: Keys that may change when a run is resumed (more steps, another machine's threads).
RESUMABLE_KEYS = (
    "trainer.max_steps",
    "trainer.threads",
    "trainer.progress_bar",
    "data.num_workers",
)


@dataclass
class TrainResult:
    """What a finished training run left behind.

    Attributes
    ----------
    run_dir : Path
        The run directory (config.yaml, checkpoints/, samples/, logs).
    last_checkpoint, best_checkpoint : Path or None
        ``checkpoints/last.ckpt`` and ``checkpoints/best.ckpt`` (None without validation).
    steps : int
        Global step at the end.
    val_psnr_db, val_ssim : float or None
        Last validation PSNR (dB) and SSIM.
    seconds : float
        Wall time of this call's ``fit``, in seconds.
    """

    run_dir: Path
    last_checkpoint: Path | None
    best_checkpoint: Path | None
    steps: int
    val_psnr_db: float | None
    val_ssim: float | None
    seconds: float


class AlreadyTrained(Exception):
    """``train(resume=...)`` of a run that already reached ``trainer.max_steps``."""


def new_run_dir(root: str | Path, method: str) -> Path:
    """Create and return a new, empty ``root/method/<YYYYmmdd-HHMMSS>-<6 hex>/`` folder.

    Raises
    ------
    FileExistsError
        Never in practice: the random id makes every name new (the folder is created with
        ``exist_ok=False``, so an existing run is never reused).
    """
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = Path(root) / method / f"{stamp}-{secrets.token_hex(3)}"
    path.mkdir(parents=True, exist_ok=False)
    return path


def resolve_precision(precision: str, accelerator: str) -> str:
    """Return Lightning's precision for ``trainer.precision`` ("auto" picks bf16 where native).

    "auto" is "bf16-mixed" on a CPU with native bf16 (AVX-512 BF16 / AMX) or a CUDA device
    with bf16, else "32-true". Weights, Adam and the loss stay float32 either way.
    """
    if precision != "auto":
        return precision
    cuda = accelerator in ("cuda", "gpu") or (accelerator == "auto" and torch.cuda.is_available())
    return "bf16-mixed" if use_bf16("auto", "cuda" if cuda else "cpu") else "32-true"


def _save_config(path: Path, config: dict) -> None:
    from omegaconf import OmegaConf

    with atomic_write(path) as tmp:
        tmp.write_text(OmegaConf.to_yaml(OmegaConf.create(config)))


def load_run_config(run_dir: str | Path) -> dict:
    """Read and validate ``RUN_DIR/config.yaml``.

    Raises
    ------
    FileNotFoundError
        If the folder or its config.yaml is missing (the message names the path).
    ConfigError
        If the saved config no longer validates.
    """
    from omegaconf import OmegaConf

    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found; is {run_dir} a noise2x run directory?")
    return validate_config(OmegaConf.load(path))


def _resume_config(run_dir: Path, overrides: Sequence[str]) -> dict:
    config = load_run_config(run_dir)
    for override in overrides:
        key, _, value = override.partition("=")
        if key not in RESUMABLE_KEYS:
            raise ConfigError(
                f"cannot change {key!r} when resuming; only {', '.join(RESUMABLE_KEYS)} may change"
            )
        group, leaf = key.split(".")
        config[group][leaf] = value
    return validate_config(config)


def _channels_of(config: dict) -> int:
    """Return data.channels, or the channel count of the first training image.

    Real data (pairs, movies, captures, single noisy images) is checked here, before any run
    directory exists.
    """
    if config["data"]["name"] == "noisy_folder":
        from noise2x.train.datamodule_single import check_data

        return check_data(config["data"], method=config["method"]["name"])
    if config["data"]["name"] != "synthetic":
        from noise2x.train.datamodule_real import check_data

        return check_data(config["data"])
    if config["data"]["channels"] is not None:
        return config["data"]["channels"]
    from noise2x.data.io import read_image
    from noise2x.train.datamodule import split_train_val

    array, _ = read_image(split_train_val(config["data"])[0][0])
    return int(array.shape[-3])


def _free_csv_version(run_dir: Path) -> str:
    """Return "csv", or on resume "csv-2", "csv-3"... (Lightning would delete the old CSV)."""
    version, k = "csv", 1
    while (run_dir / version).exists() and any((run_dir / version).iterdir()):
        k += 1
        version = f"csv-{k}"
    return version


def _loggers(config: dict, run_dir: Path) -> list:
    from lightning.pytorch import loggers

    result = []
    for name in config["logger"]["names"]:
        if name == "csv":
            result.append(loggers.CSVLogger(run_dir, name="", version=_free_csv_version(run_dir)))
        elif name == "tensorboard":
            result.append(loggers.TensorBoardLogger(run_dir, name="", version="tensorboard"))
        elif name == "wandb":
            try:
                import wandb  # noqa: F401
            except ImportError:
                raise ConfigError(
                    "logger=wandb needs the wandb package: pip install wandb"
                ) from None
            os.environ.setdefault("WANDB_MODE", config["logger"]["wandb_mode"])
            result.append(
                loggers.WandbLogger(
                    project=config["logger"]["wandb_project"],
                    save_dir=str(run_dir),
                    mode=config["logger"]["wandb_mode"],
                )
            )
        else:
            raise ConfigError(f"unknown logger {name!r}")
    return result


def build_trainer(config: dict, run_dir: Path, steps_per_epoch: int, callbacks: Sequence = ()):
    """Return Lightning's Trainer for `config`, logging and checkpointing into `run_dir`."""
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import ModelCheckpoint

    from noise2x.train.checkpoint_io import AtomicCheckpointIO

    trainer_cfg = config["trainer"]
    checkpoints = run_dir / "checkpoints"
    last = ModelCheckpoint(
        dirpath=checkpoints,
        save_last=True,
        save_top_k=0,
        every_n_train_steps=trainer_cfg["checkpoint_every_n_steps"],
    )
    best = ModelCheckpoint(
        dirpath=checkpoints,
        filename="best",
        monitor="val/psnr_db",
        mode="max",
        save_top_k=1,
        auto_insert_metric_name=False,
        enable_version_counter=False,
    )
    val_every = trainer_cfg["val_every_n_steps"]
    return pl.Trainer(
        max_steps=trainer_cfg["max_steps"],
        max_epochs=-1,
        accelerator=trainer_cfg["accelerator"],
        devices=trainer_cfg["devices"],
        num_nodes=trainer_cfg["num_nodes"],
        strategy=trainer_cfg["strategy"],
        precision=resolve_precision(trainer_cfg["precision"], trainer_cfg["accelerator"]),
        logger=_loggers(config, run_dir),
        callbacks=[last, best, *callbacks],
        plugins=[AtomicCheckpointIO()],
        log_every_n_steps=min(trainer_cfg["log_every_n_steps"], steps_per_epoch),
        val_check_interval=val_every if val_every else None,
        check_val_every_n_epoch=None if val_every else 1,
        limit_val_batches=trainer_cfg["limit_val_batches"],
        num_sanity_val_steps=0,
        enable_progress_bar=trainer_cfg["progress_bar"],
        enable_model_summary=False,
        use_distributed_sampler=False,
        default_root_dir=run_dir,
    )


def train(
    overrides: Sequence[str] = (),
    resume: str | Path | None = None,
    callbacks: Sequence[object] = (),
    verbose: bool = False,
) -> TrainResult:
    """Train a dataset method from the packaged config, or resume a run.

    Parameters
    ----------
    overrides : sequence of str
        Hydra-style ``key=value`` overrides (see ``noise2x.train.compose_config``). With
        `resume`, only ``trainer.max_steps``, ``trainer.threads``, ``trainer.progress_bar`` and
        ``data.num_workers`` may be given.
    resume : str or Path or None
        A run directory to continue from its ``checkpoints/last.ckpt``.
    callbacks : sequence of lightning.pytorch.Callback
        Extra callbacks (e.g. to record or stop the run).
    verbose : bool
        Show Lightning's own messages and warnings (hidden by default: `quiet_lightning`).

    Returns
    -------
    TrainResult

    Raises
    ------
    ConfigError
        For a bad config (the message names the key).
    FileNotFoundError
        If a data folder, or the run directory or its last.ckpt when resuming, is missing.
    ValueError
        If the data cannot be used (too few or too small images; the message says which).
    noise2x.train.lock.RunInUse
        If another process is training the run now (``RUN_DIR/.lock``); nothing is written.
    """
    init = None
    if resume is not None:
        run_dir = Path(resume)
        config = _resume_config(run_dir, overrides)
        ckpt_path = run_dir / "checkpoints" / "last.ckpt"
        if not ckpt_path.is_file():
            raise FileNotFoundError(f"{ckpt_path}: not found; the run saved no checkpoint yet")
        data = None
        try:
            saved = torch.load(ckpt_path, map_location="cpu", weights_only=True, mmap=True)
            step = int(saved["global_step"])
        except Exception as err:  # pickle, zip and torch errors: one line naming the file
            raise ValueError(
                f"{ckpt_path}: not a readable checkpoint ({type(err).__name__})"
            ) from None
        if step >= config["trainer"]["max_steps"]:
            raise AlreadyTrained(
                f"{run_dir} is already at step {step} of trainer.max_steps="
                f"{config['trainer']['max_steps']}: nothing to do (give a larger "
                "trainer.max_steps to train on)"
            )
    else:
        config = compose_config(overrides)
        from noise2x.methods import METHODS

        if METHODS.get(config["method"]["name"]).single_image:
            raise ConfigError(
                f"method {config['method']['name']!r} denoises single images: use "
                f"`noise2x denoise IMG -o OUT method={config['method']['name']}`"
            )
        config["data"]["channels"] = _channels_of(config)
        data = _datamodule(config)
        data.setup("fit")  # bad data fails here, before a run directory exists
        if config["run"].get("init"):  # so does a bad run.init
            from noise2x.train.init_weights import initial_state

            init = initial_state(config["run"]["init"], config["net"], config["data"]["channels"])
        run_dir, ckpt_path = new_run_dir(config["run"]["root"], config["method"]["name"]), None
        _save_config(run_dir / "config.yaml", config)
    _lightning_logs_to_current_stderr()
    threads = torch.get_num_threads()
    if config["trainer"]["threads"]:
        torch.set_num_threads(config["trainer"]["threads"])
    try:
        with run_lock(run_dir), quiet_lightning(verbose):
            return _fit(config, run_dir, ckpt_path, callbacks, data, init)
    finally:
        torch.set_num_threads(threads)


#: Lightning's warnings that say nothing a noise2x user can act on (filtered unless verbose).
LIGHTNING_NOISE = (
    r".*isinstance\(treespec, LeafSpec\).*",
    r".*`weights_only` was not set.*",
    r".*resuming from a checkpoint that ended before the epoch ended.*",
    r".*does not have many workers which may be a bottleneck.*",
    r".*The number of training batches .* is smaller than the logging interval.*",
    r".*could not find the monitored key in the returned metrics.*",
)


@contextlib.contextmanager
def quiet_lightning(verbose: bool = False):
    """Hide Lightning's info messages and the warnings of `LIGHTNING_NOISE` within the block.

    Those are its tips and advertisements, device summaries and deprecation notices from its
    own internals; with `verbose` nothing is hidden. Lightning's real warnings (and noise2x's
    own messages) still show.
    """
    import logging
    import warnings

    if verbose:
        yield
        return
    names = ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning")
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        for pattern in LIGHTNING_NOISE:
            warnings.filterwarnings("ignore", message=pattern)
        for logger in loggers:
            logger.setLevel(logging.WARNING)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)


def _lightning_logs_to_current_stderr() -> None:
    """Point Lightning's console handlers whose stream was closed at today's sys.stderr.

    Lightning and torchmetrics bind their handlers to the sys.stderr of their import; in one
    process that calls `train` several times (a notebook, the in-process CLI tests) that
    stream may have been replaced and closed since, and every message would become a
    "--- Logging error ---".
    """
    import logging

    packages = {"lightning", "lightning_fabric", "pytorch_lightning", "torchmetrics"}
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if name.split(".")[0] not in packages or not isinstance(logger, logging.Logger):
            continue
        for handler in logger.handlers:
            stream = getattr(handler, "stream", None)
            if type(handler) is logging.StreamHandler and getattr(stream, "closed", False):
                handler.stream = sys.stderr


def _fit(
    config: dict,
    run_dir: Path,
    ckpt_path: Path | None,
    callbacks: Sequence,
    data=None,
    init: dict | None = None,
) -> TrainResult:
    from noise2x.train.module import DenoiserModule

    if data is None:
        data = _datamodule(config)
        data.setup("fit")
    module = DenoiserModule(config, run_dir=str(run_dir))
    if init is not None:  # run.init of a new run (a resumed run reads its own checkpoint)
        module.net.load_state_dict(init)
    world = int(config["trainer"]["num_nodes"]) * _device_count(config["trainer"]["devices"])
    trainer = build_trainer(config, run_dir, data.steps_per_epoch(world), callbacks)
    start = time.perf_counter()
    trainer.fit(module, datamodule=data, ckpt_path=ckpt_path)
    seconds = time.perf_counter() - start
    last = run_dir / "checkpoints" / "last.ckpt"
    trainer.save_checkpoint(last)
    best = run_dir / "checkpoints" / "best.ckpt"
    metrics = trainer.callback_metrics
    return TrainResult(
        run_dir=run_dir,
        last_checkpoint=last if last.is_file() else None,
        best_checkpoint=best if best.is_file() else None,
        steps=trainer.global_step,
        val_psnr_db=float(metrics["val/psnr_db"]) if "val/psnr_db" in metrics else None,
        val_ssim=float(metrics["val/ssim"]) if "val/ssim" in metrics else None,
        seconds=seconds,
    )


def _datamodule(config: dict):
    """Return the LightningDataModule of ``data.name``."""
    from noise2x.train.config import DATA_SOURCES

    try:
        source = DATA_SOURCES.get(config["data"]["name"])
    except KeyError as err:
        raise ConfigError(f"config key 'data.name': {err.args[0]}") from None
    return source.build(config)


def _device_count(devices: object) -> int:
    if isinstance(devices, int):
        return devices
    if isinstance(devices, list | tuple):
        return len(devices)
    return 1 if devices in ("auto", None) else int(devices)
