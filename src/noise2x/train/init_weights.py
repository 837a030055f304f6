"""Initial weights of a new training run (``run.init``): start from a trained model.

``noise2x train ... run.init=PATH`` starts a *new* run (new directory, fresh Adam state, the
learning-rate schedule of its own ``trainer.max_steps``) from the net weights in PATH instead
of random ones: fine-tuning a trained model on other data (a lab's own noisy images), with
another method or other method settings (e.g. Noise2Void's blind-spot ratio), or continuing
the shipped prior on one's own pairs. It differs from ``--resume``, which continues the *same*
run (same config, optimizer and step).

PATH is a ``noise2x train`` checkpoint (``.ckpt``) or a ``noise2x`` weights file
(``.safetensors``); a bare file name of the shipped weights that ``noise2x list`` shows
(``run.init=prior_grey.safetensors``) is read from the package. Only the net's
weights are read; its architecture must be the run's (``net=...``, ``net.width``, channels).
"""

from __future__ import annotations

from pathlib import Path

from torch import Tensor

__all__ = ["initial_state"]


def initial_state(path: str | Path, net_config: dict, channels: int) -> dict[str, Tensor]:
    """Return the net weights stored in `path`, checked against the run's net.

    Parameters
    ----------
    path : str or Path
        A ``noise2x train`` checkpoint (``.ckpt``) or a weights file written by
        ``noise2x.weights.save_weights`` (``.safetensors``); a bare name of a file in
        ``noise2x.weights.WEIGHTS_DIR`` (a shipped prior) is read from there.
    net_config : dict
        The run's ``net`` node (``{"name": ..., **settings}``).
    channels : int
        The run's image channels (1 or 3).

    Returns
    -------
    dict of str to Tensor
        The state dict (float32, on the CPU), loadable into ``build_net(**net_config,
        channels=channels)`` with ``strict=True``.

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ConfigError
        If the file is neither a noise2x checkpoint nor a noise2x weights file, or its net does
        not fit the run's (the message names the file, both nets and the first mismatch).
    """
    from noise2x.nets import build_net
    from noise2x.train.checkpoint import load_denoiser
    from noise2x.train.config import ConfigError
    from noise2x.weights import WeightsError, load_net, weights_path

    path = weights_path(path)  # a shipped weights file may go by the name `noise2x list` shows
    if not path.is_file():
        raise FileNotFoundError(f"run.init: {path}: file not found")
    try:
        if path.suffix == ".safetensors":
            net, metadata = load_net(path)
            source = dict(metadata["net"], channels=int(metadata["channels"]))
        else:
            denoiser = load_denoiser(path)
            net = denoiser.net
            source = dict(denoiser.config["net"], channels=denoiser.channels)
    except (ValueError, WeightsError, KeyError) as err:
        raise ConfigError(f"run.init: {err}") from None
    target = build_net(**net_config, channels=channels)
    state = {k: v.detach().float().cpu() for k, v in net.state_dict().items()}
    try:
        target.load_state_dict(state)
    except RuntimeError as err:
        lines = str(err).splitlines()  # a header line, then one line per mismatch
        first = lines[1 if len(lines) > 1 else 0].strip()
        raise ConfigError(
            f"run.init: {path} holds a net {source} that does not fit this run's net "
            f"{dict(net_config, channels=channels)} ({first})"
        ) from None
    return state
