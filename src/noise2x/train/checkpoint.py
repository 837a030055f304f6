"""Load a trained model from a Lightning checkpoint, without Lightning.

A checkpoint of ``noise2x train`` holds the validated config (``hyper_parameters.config``) and
the module's ``state_dict`` (keys ``net.*``). `load_denoiser` rebuilds the net by name from the
config and loads its weights with ``torch.load(weights_only=True)``: no code in the file runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn


@dataclass
class Denoiser:
    """A trained net with what is needed to apply it.

    Attributes
    ----------
    net : nn.Module
        In eval mode, on the requested device.
    method : object
        The registered method (``method.denoise(net, noisy)`` is the inference).
    config : dict
        The training config.
    channels : int
        Image channels the net expects (1 or 3).
    step : int
        Global training step of the checkpoint.
    size_multiple : int
        H and W the net pads to internally (tiles are made multiples of it).
    bytes_per_pixel : float
        Peak memory of one forward pass per input pixel per image, in bytes (the net's
        ``peak_bytes_per_pixel``; 1600, the Noise2Noise U-Net's, when the net does not say).
    """

    net: nn.Module
    method: object
    config: dict
    channels: int
    step: int
    size_multiple: int
    bytes_per_pixel: float = 1600.0

    @property
    def keep_rows(self) -> bool:
        """True for a structN2V model: its self-ensemble must keep rows as rows."""
        method = self.config.get("method", {})
        return isinstance(method, dict) and int(method.get("struct_length", 1) or 1) > 1

    def __call__(self, noisy: torch.Tensor) -> torch.Tensor:
        """Denoise (B, C, H, W) float32 images on the net's device; same shape."""
        return self.method.denoise(self.net, noisy)

    def denoise_frame(
        self,
        frame: torch.Tensor,
        tile: int | None = None,
        overlap: int | None = None,
        ensemble: int = 1,
    ) -> torch.Tensor:
        """Denoise one frame tile by tile, as ``noise2x denoise --checkpoint`` does.

        Parameters
        ----------
        frame : Tensor, shape (C, H, W), float32, on the [0, 1] working scale
            Any device; moved to the net's.
        tile, overlap : int or None
            Tile side and overlap in pixels (``noise2x.ops.tiling.denoise_tiled``); None
            sizes the tiles to the free memory with the net's `bytes_per_pixel`.
        ensemble : int, 1-8
            Flips / rotations averaged on each tile (``noise2x.ops.ensemble.self_ensemble``;
            test-time augmentation): 1 is one pass; 2-4 are the quarter turns, 5-8 add their
            mirror images, except for a structN2V model (``method.struct_length`` > 1), whose
            2-4 keep rows as rows (`keep_rows`; 5-8 add transposed passes, which see its
            row-correlated noise as column noise); each costs one forward pass.

        Returns
        -------
        Tensor, shape (C, H, W), float32 in [0, 1], on the CPU
            Clipped to [0, 1], as the single-image methods' ``clip=True``.

        Raises
        ------
        ValueError
            If `tile`/`overlap` are invalid for the net's `size_multiple`, or `ensemble` is
            not an integer 1-8.
        """
        from noise2x.ops.ensemble import check_ensemble, self_ensemble
        from noise2x.ops.tiling import denoise_tiled

        n = check_ensemble(ensemble, "checkpoint")
        keep_rows = self.keep_rows
        x = frame[None].to(next(self.net.parameters()).device)
        with torch.inference_mode():
            out = denoise_tiled(
                self if n == 1 else lambda t: self_ensemble(self, t, n, keep_rows),
                x,
                tile=tile,
                overlap=overlap,
                multiple=self.size_multiple,
                bytes_per_pixel=self.bytes_per_pixel,
            )
        return out[0].float().clamp(0.0, 1.0).cpu()


def load_denoiser(path: str | Path, device: str | torch.device = "cpu") -> Denoiser:
    """Rebuild the net saved in a ``noise2x train`` checkpoint.

    Parameters
    ----------
    path : str or Path
        A ``.ckpt`` file (``RUN_DIR/checkpoints/best.ckpt`` or ``last.ckpt``).
    device : str or torch.device
        Where to put the net.

    Returns
    -------
    Denoiser

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ValueError
        If the file is not a noise2x checkpoint (unreadable, no config, weights that do not
        fit the net); the message names the file.
    """
    from noise2x.methods import METHODS
    from noise2x.nets import build_net
    from noise2x.registry import SettingError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle, zip and torch errors: one line naming the file
        raise ValueError(f"{path}: not a readable checkpoint ({type(err).__name__})") from None
    config = (
        checkpoint.get("hyper_parameters", {}).get("config")
        if isinstance(checkpoint, dict)
        else None
    )
    if not isinstance(config, dict) or "state_dict" not in checkpoint:
        raise ValueError(f"{path}: not a noise2x checkpoint (no training config in it)")
    channels = int(config["data"]["channels"])
    net = build_net(**config["net"], channels=channels)
    state = {k[4:]: v for k, v in checkpoint["state_dict"].items() if k.startswith("net.")}
    try:
        net.load_state_dict(state)
    except RuntimeError as err:
        first = str(err).splitlines()[0]
        raise ValueError(
            f"{path}: weights do not fit net {config['net']['name']!r}: {first}"
        ) from None
    net.eval().to(device)
    for parameter in net.parameters():
        parameter.requires_grad_(False)
    try:
        method = METHODS.build(config["method"])
    except SettingError:  # settings of another noise2x version: denoising reads none of them
        method = METHODS.build(config["method"]["name"])
    return Denoiser(
        net=net,
        method=method,
        config=config,
        channels=channels,
        step=int(checkpoint.get("global_step", 0)),
        size_multiple=int(getattr(net, "size_multiple", 1)),
        bytes_per_pixel=float(getattr(net, "peak_bytes_per_pixel", 1600.0)),
    )
