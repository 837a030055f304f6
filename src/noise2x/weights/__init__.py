"""Model weights shipped inside the package (safetensors), with their metadata.

A weights file holds a net's ``state_dict`` and, in the safetensors header, one JSON entry
``"noise2x"`` that says how to rebuild the net (``net``: registry name and settings,
``channels``) and how it was made (recipe, data, noise ranges, steps, seed, commit, training
time). Loading reads tensors only (no code runs) and needs no network access.

Shipped files (``noise2x list`` shows them):

- ``prior_grey.safetensors``, ``prior_colour.safetensors``: the denoiser prior of
  ``noise2x denoise`` (``method=prior``), trained by ``benchmarks/train_prior.py`` on noisy
  pairs only (see that script for the recipe).
- ``prior_grey_low.safetensors``, ``prior_grey_lowmid.safetensors``,
  ``prior_grey_mid.safetensors``, ``prior_grey_high.safetensors``: the grey prior's nets for
  low, low-to-middle, middle and high noise, later stages of the same net: on pairs of low
  (sigma <= 35, the last four stages 8-24) or high (sigma >= 30; the last stage 40-60) noise
  only, and for the middle one a third stage of the default net on new noise realisations of the
  full range and two more on sigma 18-42 and 18-55; the last stage of each trained on 128 x 128
  crops of pairs of Train400 and of the grey CBSD432; the low-to-middle one is the mean of the
  low-noise net's weights and of those of one more stage of it on 256 x 256 crops of pairs of
  the grey CBSD432 at sigma 8-30, then the mean of those weights and of a further 256 x 256
  stage of them on new pairs of the same levels; the gate (`PRIOR_BANDS`) uses them instead of
  ``prior_grey.safetensors`` for bands of the image's estimated noise level (chosen on
  validation images by ``benchmarks/prior_gate.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from noise2x.data.atomic import atomic_write

__all__ = [
    "PRIORS",
    "PRIOR_BANDS",
    "PRIOR_PASS_THROUGH",
    "WEIGHTS_DIR",
    "WeightsError",
    "load_net",
    "read_metadata",
    "save_weights",
    "shipped_models",
    "weights_path",
]

WEIGHTS_DIR = Path(__file__).resolve().parent
"""The folder of the shipped weights files."""

PRIORS = {1: "prior_grey.safetensors", 3: "prior_colour.safetensors"}
"""The shipped prior for each number of image channels."""

PRIOR_BANDS = {
    1: (
        (0.0, "prior_grey.safetensors"),
        (4.0, "prior_grey_low.safetensors"),
        (12.0, "prior_grey_lowmid.safetensors"),
        (27.0, "prior_grey_mid.safetensors"),
        (39.0, "prior_grey_high.safetensors"),
    )
}
"""For a number of channels: the bands of the gate, ``(lowest sigma, file)`` in increasing
order of the image's estimated Gaussian sigma (0-255 scale,
``noise2x.noise.estimate.estimate_sigma``); an image gets the file of the last band whose
lowest sigma it reaches. The thresholds were chosen on validation images
(``benchmarks/prior_gate.py``); channels without an entry use `PRIORS`' file alone."""

PRIOR_PASS_THROUGH: dict[int, tuple[float, float, float]] = {3: (0.0, 2.5, 0.7)}
"""For a number of channels: ``(full, none, weight)``, how much of a nearly noise-free input
the prior passes through. At an estimated Gaussian sigma (0-255 scale, as for the gate) up to
`full` the result is ``weight * input + (1 - weight) * prior output``; the input's share falls
linearly to 0 at `none` and stays 0 above. The shipped nets were trained on noise of sigma up
to 55 and smooth a clean image's finest texture (the colour net by 7-13 dB at sigma 0.5-1);
chosen on validation images (``benchmarks/prior_pass_through.py``) among the rules that lose
at no level of white or spatially correlated noise (a camera's noise is correlated, and the
estimate reads it low), so it passes through only part of the input. Channels without an entry
(grey: the best rule gained 0.008 dB, and the real microscope noise of FMD estimates as low)
pass nothing through."""

REQUIRED = ("net", "channels", "recipe", "data", "noise", "steps", "seed", "commit", "seconds")
"""Metadata keys every shipped weights file has."""


class WeightsError(ValueError):
    """A weights file that is missing, unreadable or lacks noise2x metadata (names the file)."""


def weights_path(path: str | Path) -> Path:
    """Return the weights file that `path` names: a path, or a shipped file's bare name.

    A bare file name (no folder) that is not a file in the working directory but is one in
    `WEIGHTS_DIR` (the names ``noise2x list`` shows, e.g. ``prior_grey_low.safetensors``)
    resolves to the shipped file; anything else is returned as given (``~`` expanded). The
    file is not read; a missing one is reported by the reader (`read_metadata`, `load_net`).

    Examples
    --------
    >>> weights_path("prior_grey.safetensors") == WEIGHTS_DIR / "prior_grey.safetensors"
    True
    """
    path = Path(path).expanduser()
    if not path.is_file() and path.parent == Path(".") and (WEIGHTS_DIR / path.name).is_file():
        return WEIGHTS_DIR / path.name
    return path


def save_weights(path: str | Path, net: nn.Module, metadata: dict) -> Path:
    """Write `net`'s weights and `metadata` to a safetensors file (atomically).

    Parameters
    ----------
    path : str or Path
        Output file (``.safetensors``); replaced if it exists.
    net : nn.Module
        The net; its ``state_dict`` tensors are stored contiguous, on the CPU.
    metadata : dict
        JSON-serialisable; must hold every key of `REQUIRED`.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    WeightsError
        If a key of `REQUIRED` is missing from `metadata`.
    """
    from safetensors.torch import save_file

    missing = [key for key in REQUIRED if key not in metadata]
    if missing:
        raise WeightsError(f"{path}: metadata lacks {', '.join(missing)}")
    path = Path(path)
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    with atomic_write(path) as temporary:
        save_file(state, str(temporary), metadata={"noise2x": json.dumps(metadata, sort_keys=True)})
        temporary.chmod(0o644)
    return path


def read_metadata(path: str | Path) -> dict:
    """Return the noise2x metadata of a weights file, reading its header only.

    Raises
    ------
    WeightsError
        If the file is missing, is not safetensors, or has no ``noise2x`` metadata.
    """
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: weights file not found")
    try:
        with safe_open(str(path), framework="pt") as handle:
            header = handle.metadata() or {}
    except Exception as err:  # safetensors raises its own error types: one line naming the file
        raise WeightsError(f"{path}: not a safetensors file ({type(err).__name__})") from None
    if "noise2x" not in header:
        raise WeightsError(f"{path}: no noise2x metadata in the file")
    return json.loads(header["noise2x"])


def load_net(path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Rebuild the net stored in a weights file, in eval mode with no gradients.

    Parameters
    ----------
    path : str or Path
        A file written by `save_weights` (e.g. one of `PRIORS` under `WEIGHTS_DIR`).
    device : str or torch.device

    Returns
    -------
    net : nn.Module
        Maps (B, C, H, W) float32 in [0, 1] to (B, C, H, W); C = ``metadata["channels"]``.
    metadata : dict

    Raises
    ------
    WeightsError
        If the file cannot be read or its weights do not fit the net it names.
    """
    from safetensors.torch import load_file

    from noise2x.nets import build_net

    metadata = read_metadata(path)
    spec = dict(metadata["net"])
    net = build_net(spec.pop("name"), int(metadata["channels"]), **spec)
    try:
        net.load_state_dict(load_file(str(path)))
    except RuntimeError as err:
        first = str(err).splitlines()[0]
        raise WeightsError(f"{path}: weights do not fit the net: {first}") from None
    net.eval().to(device)
    net.requires_grad_(False)
    return net, metadata


def shipped_models() -> list[dict]:
    """Return one summary per shipped weights file: file, channels, use, net, steps, noise.

    ``use`` says when the file is applied: ``"default"``, or for a file of `PRIOR_BANDS`
    the bands of the estimated sigma it is used in (``"estimated sigma in [4, 12)"``).

    Examples
    --------
    >>> [m["file"] for m in shipped_models()]  # doctest: +NORMALIZE_WHITESPACE
    ['prior_grey.safetensors', 'prior_colour.safetensors', 'prior_grey_low.safetensors',
     'prior_grey_lowmid.safetensors', 'prior_grey_mid.safetensors',
     'prior_grey_high.safetensors']
    """
    files = [(channels, name, "default") for channels, name in PRIORS.items()]
    for channels, bands in PRIOR_BANDS.items():
        edges = [*(t for t, _ in bands[1:]), None]
        spans: dict[str, list[str]] = {}
        for (start, name), end in zip(bands, edges, strict=True):
            if name != PRIORS[channels]:
                span = f"in [{start:g}, {end:g})" if end is not None else f">= {start:g}"
                spans.setdefault(name, []).append(span)
        files += [(channels, n, "estimated sigma " + " or ".join(s)) for n, s in spans.items()]
    rows = []
    for channels, name, use in files:
        metadata = read_metadata(WEIGHTS_DIR / name)
        rows.append(
            {
                "file": name,
                "channels": channels,
                "use": use,
                "net": metadata["net"]["name"],
                "steps": metadata["steps"],
                "noise": metadata["noise"],
                "val_psnr_db": metadata.get("val_psnr_db"),
            }
        )
    return rows
