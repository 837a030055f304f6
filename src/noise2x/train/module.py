"""The one LightningModule of noise2x: any registered dataset method, net and loss.

The module owns nothing of the algorithm: ``method.training_loss(net, batch, step)`` is the
loss and ``method.denoise(net, noisy)`` the inference (see ``noise2x.methods.base``). It adds
Adam with the Noise2Noise learning-rate ramp-down, validation PSNR/SSIM (dB / unitless) on
whole images, and sample images (noisy | denoised | clean) written to the run directory and to
TensorBoard or Weights & Biases when those loggers are on.

This module imports Lightning; nothing imports it at ``import noise2x`` time.
"""

from __future__ import annotations

import math
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import torch
from torch import Tensor

from noise2x.losses import LOSSES
from noise2x.methods import METHODS, Batch
from noise2x.metrics import psnr, ssim
from noise2x.nets import build_net


def n2n_rampdown(step: int, total_steps: int, rampdown: float = 0.3) -> float:
    """Return the learning-rate factor of the official Noise2Noise code at `step`.

    1 until ``(1 - rampdown) * total_steps``, then ``(0.5 + 0.5 cos(pi t))^2`` with t going
    from 0 to 1 over the last ``rampdown * total_steps`` steps.

    Parameters
    ----------
    step, total_steps : int
        0-based step and length of training (steps).
    rampdown : float in [0, 1]
        Fraction of training over which the rate ramps down.

    Returns
    -------
    float in [0, 1]

    References
    ----------
    NVlabs/noise2noise, ``train.py`` (``compute_ramped_down_lrate``); Lehtinen et al., ICML 2018.

    Examples
    --------
    >>> [round(n2n_rampdown(s, 10), 2) for s in (0, 6, 7, 8, 9, 10)]
    [1.0, 1.0, 1.0, 0.56, 0.06, 0.0]
    """
    start = total_steps * (1.0 - rampdown)
    if rampdown <= 0 or step < start:
        return 1.0
    t = min(1.0, (step - start) / (rampdown * total_steps))
    return (0.5 + 0.5 * math.cos(math.pi * t)) ** 2


def build_dataset_method(cfg: dict):
    """Build the method of ``cfg["method"]`` with the loss of ``cfg["loss"]``.

    Raises
    ------
    ValueError
        If the method works on single images (``zsn2n``): those need no training run.
    """
    if METHODS.get(cfg["method"]["name"]).single_image:
        raise ValueError(
            f"method {cfg['method']['name']!r} denoises single images: use `noise2x denoise`"
        )
    loss = LOSSES.build(cfg["loss"])
    return METHODS.build(cfg["method"], loss=loss, total_steps=cfg["trainer"]["max_steps"])


class DenoiserModule(pl.LightningModule):
    """Train ``cfg["net"]`` with ``cfg["method"]`` and ``cfg["loss"]``.

    Parameters
    ----------
    config : dict
        A validated config (``noise2x.train.compose_config``) whose ``data.channels`` is set.
        It is saved in every checkpoint as the module's hyper-parameters.
    run_dir : str or None
        Where sample images are written (``samples/step-NNNNNNN.png``); None writes none.

    Logged keys: ``train/loss``, ``val/psnr_db``, ``val/ssim``, ``lr``, and ``val/lpips``
    where the lpips package, torchvision and the AlexNet weights are installed (otherwise one
    line says which is missing; nothing is downloaded).
    """

    def __init__(self, config: dict, run_dir: str | None = None) -> None:
        super().__init__()
        self.save_hyperparameters({"config": config})
        self.config = config
        self.run_dir = run_dir
        channels = config["data"]["channels"]
        if channels not in (1, 3):
            raise ValueError(f"config data.channels must be 1 or 3, got {channels!r}")
        self.net = build_net(**config["net"], channels=channels, seed=config["seed"])
        self.method = build_dataset_method(config)
        if hasattr(self.method.loss, "parameters"):  # the VGG of a perceptual loss is frozen
            self.method.loss.requires_grad_(False)

    def setup(self, stage: str) -> None:
        """Use the channels-last layout where bf16 runs on the CPU (1.4-1.6x faster steps)."""
        precision = str(self.trainer.precision) if self._trainer is not None else ""
        self.channels_last = precision.startswith("bf16") and self.device.type == "cpu"
        if self.channels_last:
            self.net.to(memory_format=torch.channels_last)

    def on_validation_start(self) -> None:
        """Decide once whether LPIPS can be reported; say in one line why not otherwise."""
        if hasattr(self, "lpips_net"):
            return
        import warnings

        from noise2x.metrics.lpips import lpips_status

        reason = lpips_status("alex")
        self.lpips_net = "alex" if reason is None else None
        if reason is not None:
            if self.global_rank == 0:
                warnings.warn(reason, stacklevel=2)  # one "warning: ..." line in the CLI

    def _layout(self, x: Tensor) -> Tensor:
        if getattr(self, "channels_last", False):
            return x.contiguous(memory_format=torch.channels_last)
        return x

    def forward(self, noisy: Tensor) -> Tensor:
        """Denoise (B, C, H, W) float32 images with the method's inference."""
        return self.method.denoise(self.net, self._layout(noisy))

    def training_step(self, batch: tuple[Tensor, Tensor, Tensor], batch_idx: int) -> Tensor:
        """Return the method's loss on one batch of (noisy, target, clean) crops."""
        noisy, target, _clean = batch
        batch = Batch(noisy=self._layout(noisy), target=self._layout(target))
        loss = self.method.training_loss(self.net, batch, self.global_step)
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"training loss is {loss.item()} at step {self.global_step}; lower optim.lr"
            )
        self.log("train/loss", loss, prog_bar=True)
        self.log("lr", self.trainer.optimizers[0].param_groups[0]["lr"])
        return loss

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        """Log PSNR (dB) and SSIM of the denoised image, clipped to [0, 1], against the clean."""
        noisy, clean = batch
        denoised = self(noisy).float().clamp(0.0, 1.0)
        self.log("val/psnr_db", psnr(denoised, clean).mean(), sync_dist=True, prog_bar=True)
        self.log("val/ssim", ssim(denoised, clean).mean(), sync_dist=True)
        if getattr(self, "lpips_net", None) is not None:
            from noise2x.metrics.lpips import lpips_or_none

            values, _ = lpips_or_none(denoised, clean.float(), net=self.lpips_net)
            if values is not None:
                self.log("val/lpips", values.mean(), sync_dist=True)
        if batch_idx == 0 and self.trainer.is_global_zero:
            self._log_sample(noisy[0], denoised[0], clean[0])

    def configure_optimizers(self):
        """Adam (lr, beta1, beta2, eps of ``optim``) with the Noise2Noise ramp-down per step."""
        optim = self.config["optim"]
        optimizer = torch.optim.Adam(
            self.net.parameters(),
            lr=optim["lr"],
            betas=(optim["beta1"], optim["beta2"]),
            eps=optim["eps"],
        )
        total, rampdown = self.config["trainer"]["max_steps"], optim["rampdown"]
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: n2n_rampdown(step, total, rampdown)
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }

    def _log_sample(self, noisy: Tensor, denoised: Tensor, clean: Tensor) -> None:
        """Write noisy | denoised | clean side by side (uint8) and hand it to image loggers."""
        row = torch.cat([noisy.float().clamp(0, 1), denoised, clean.float()], dim=-1)
        image = (row.detach().cpu().numpy() * 255.0 + 0.5).astype(np.uint8)
        if self.run_dir is not None:
            from noise2x.data.io import write_image

            path = Path(self.run_dir) / "samples" / f"step-{self.global_step:07d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            write_image(path, row.detach().cpu().numpy(), overwrite=True)
        for logger in self.loggers:
            experiment = getattr(logger, "experiment", None)
            if hasattr(experiment, "add_image"):  # TensorBoard
                experiment.add_image("val/sample", image, self.global_step)
            elif hasattr(logger, "log_image"):  # Weights & Biases
                logger.log_image("val/sample", [image.transpose(1, 2, 0)], step=self.global_step)
