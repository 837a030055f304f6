"""Zero-Shot Noise2Noise: denoise one image with nothing but itself.

Y. Mansour and R. Heckel, "Zero-Shot Noise2Noise: Efficient Image Denoising without any Data",
CVPR 2023, arXiv:2303.11253.

The image y is split by the pair downsampler into D1(y), D2(y), two half-size images with
independent noise. A small CNN f predicts the noise; it is trained so that the denoised version
of one half matches the other half (residual loss), and so that denoising then downsampling
equals downsampling then denoising (consistency loss). After training, the full image is
denoised as y - f(y).

Deliberate departures from the paper's code, each measured in ``benchmarks/zsn2n.py``:

- On CPUs with native bfloat16 support, convolutions run under bfloat16 autocast in the
  channels-last layout (weights, optimizer and loss stay float32): about 3x faster per step on
  this project's 2-core CPU, with the same PSNR (27.384 vs 27.387 dB on Set12/01 at sigma=25).
  ``precision="fp32"`` turns this off; ``ZSN2NConfig.paper()`` is the paper's procedure.
- The schedule is the paper's (2000 steps, halved at 1500). Shorter schedules were measured and
  rejected: 1200 steps (halved at 900) lost 0.09 dB, a 1000-step cosine decay 0.28 dB, and a
  2000-step cosine decay 0.06-0.21 dB on Set12 images 01, 02 and 05 at sigma=25
  (``benchmarks/zsn2n_schedules.py``, log in ``benchmarks/results/zsn2n_schedules.log``).
- The pair downsampler is strided slicing (exactly the paper's fixed 2x2 kernels).
- The downsampler can be changed (``downsampler``, a name in
  ``noise2x.ops.downsamplers.DOWNSAMPLERS``); the default, ``"diagonal"``, is the paper's and
  gives the same results as before the setting existed. A random downsampler draws afresh at
  every step from a generator seeded by ``seed``, and within a step the *same* draw splits the
  noisy image y and the denoised g(y) of the consistency term, as Neighbor2Neighbor does (for
  stochastic pooling: the same pixel positions, drawn from y's values), so that
  g(D1(y)) and D1(g(y)) compare the same sub-sampling.
- H or W that is not a multiple of the downsampler's cell (2, or 3 for ``cross_corners``) is
  reflect-padded to the next multiple for training; denoising runs on the original size.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from noise2x.device import resolve_device
from noise2x.methods.base import (
    METHODS,
    Batch,
    FitResult,
    SingleImageMethod,
    psnr_db,
)
from noise2x.nets.base import init_weights
from noise2x.nets.zsn2n_cnn import ZSN2NNet
from noise2x.ops.downsamplers import DOWNSAMPLERS, PairDownsampler, pair_downsample
from noise2x.train.loop import optimise

Precision = Literal["auto", "fp32", "bf16"]


def zsn2n_loss(
    net: nn.Module,
    noisy: Tensor,
    downsample: Callable[[Tensor], tuple[Tensor, Tensor]] = pair_downsample,
) -> Tensor:
    """Zero-Shot Noise2Noise loss: residual term plus consistency term.

    With D1, D2 the pair downsampler (one fixed draw of it, applied to y and to g(y)) and
    g(x) = x - f(x) the denoiser::

        residual    = 1/2 [MSE(D1(y), g(D2(y))) + MSE(D2(y), g(D1(y)))]
        consistency = 1/2 [MSE(g(D1(y)), D1(g(y))) + MSE(g(D2(y)), D2(g(y)))]
        loss        = residual + consistency

    Parameters
    ----------
    net : nn.Module
        Maps (B, C, H, W) to the predicted noise of the same shape.
    noisy : Tensor, shape (B, C, H, W), float32, H and W multiples of the downsampler's cell
        The noisy image(s).
    downsample : callable (Tensor (B, C, H, W)) -> (D1, D2)
        The pair downsampler; the paper's fixed diagonal pair by default. For a random
        downsampler pass one draw, ``DOWNSAMPLERS.get(name).draw(noisy, generator)``, so that
        y and g(y) are split alike.

    Returns
    -------
    Tensor, shape (), float32
        The loss (finite for finite input).

    Raises
    ------
    ValueError
        If H or W is not a multiple of the downsampler's cell (from the downsampler).

    References
    ----------
    Mansour and Heckel, CVPR 2023, Eq. (2)-(4).

    Examples
    --------
    >>> net = ZSN2NNet(1)
    >>> zsn2n_loss(net, torch.rand(1, 1, 8, 8)).shape
    torch.Size([])
    """
    first, second = downsample(noisy)
    pred_first = first - net(first)
    pred_second = second - net(second)
    residual = 0.5 * (F.mse_loss(first, pred_second) + F.mse_loss(second, pred_first))
    den_first, den_second = downsample(noisy - net(noisy))
    consistency = 0.5 * (F.mse_loss(pred_first, den_first) + F.mse_loss(pred_second, den_second))
    return residual + consistency


@dataclass(frozen=True)
class ZSN2NConfig:
    """Settings of Zero-Shot Noise2Noise (the schema of ``conf/method/zsn2n.yaml``).

    Attributes
    ----------
    steps : int
        Full-image optimisation steps (the paper: 2000).
    lr : float
        Adam learning rate at the start (the paper: 1e-3).
    schedule : {"cosine", "step"}
        "step" halves the rate every ``decay_every`` steps (the paper: at 1500);
        "cosine" decays it to 0 along a half cosine over ``steps``.
    decay_every : int
        Period of the "step" schedule.
    width : int
        Hidden channels of the CNN (the paper: 48).
    precision : {"auto", "fp32", "bf16"}
        "auto" uses bfloat16 autocast where the hardware supports it natively.
    channels_last : bool
        Run the convolutions in the channels-last memory layout.
    clip : bool
        Clamp the denoised image to [0, 1] (the paper does).
    seed : int
        Seeds the network's initial weights and the draws of a random downsampler.
    downsampler : str
        Name of the pair downsampler in ``noise2x.ops.downsamplers.DOWNSAMPLERS`` (the paper:
        "diagonal"; see ``noise2x list``).
    """

    steps: int = 2000
    lr: float = 1e-3
    schedule: Literal["step", "cosine"] = "step"
    decay_every: int = 1500
    width: int = 48
    precision: Precision = "auto"
    channels_last: bool = True
    clip: bool = True
    seed: int = 0
    downsampler: str = "diagonal"

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"zsn2n: steps must be >= 1, got {self.steps}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"zsn2n: lr must be a positive number, got {self.lr}")
        if self.schedule not in ("cosine", "step"):
            raise ValueError(f"zsn2n: schedule must be 'cosine' or 'step', got {self.schedule!r}")
        if self.decay_every < 1:
            raise ValueError(f"zsn2n: decay_every must be >= 1, got {self.decay_every}")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise ValueError(
                f"zsn2n: precision must be 'auto', 'fp32' or 'bf16', got {self.precision!r}"
            )
        if self.width < 1:
            raise ValueError(f"zsn2n: width must be >= 1, got {self.width}")
        if not isinstance(self.downsampler, str):
            raise ValueError(f"zsn2n: downsampler must be a name, got {self.downsampler!r}")
        try:
            DOWNSAMPLERS.get(self.downsampler)
        except KeyError as err:
            raise ValueError(f"zsn2n: {err.args[0]}") from None

    @classmethod
    def paper(cls, **overrides) -> ZSN2NConfig:
        """Return the paper's procedure: 2000 steps, lr 1e-3 halved at 1500, fp32."""
        base = cls(
            steps=2000,
            lr=1e-3,
            schedule="step",
            decay_every=1500,
            precision="fp32",
            channels_last=False,
        )
        return replace(base, **overrides)


@METHODS.register("zsn2n")
class ZeroShotNoise2Noise(SingleImageMethod):
    """Zero-Shot Noise2Noise (Mansour & Heckel, CVPR 2023): one image, no training data.

    Parameters
    ----------
    config : ZSN2NConfig or None
        Settings; None uses the defaults.
    **overrides
        Fields of ``ZSN2NConfig`` to change, e.g. ``steps=2000``.

    Examples
    --------
    >>> method = ZeroShotNoise2Noise(steps=5)
    >>> result = method.fit(torch.rand(1, 1, 16, 16))
    >>> result.denoised.shape, len(result.loss_history)
    (torch.Size([1, 1, 16, 16]), 5)
    """

    name: ClassVar[str] = "zsn2n"
    single_image: ClassVar[bool] = True
    trainable: ClassVar[bool] = True
    Config: ClassVar[type] = ZSN2NConfig

    def __init__(self, config: ZSN2NConfig | None = None, **overrides) -> None:
        super().__init__(config, **overrides)
        self._generator = torch.Generator().manual_seed(self.config.seed)

    @property
    def downsampler(self) -> PairDownsampler:
        """The pair downsampler named by ``config.downsampler``."""
        return DOWNSAMPLERS.get(self.config.downsampler)

    def default_net(self, channels: int) -> nn.Module:
        """Return the paper's CNN for `channels` channels, seeded by ``config.seed``."""
        net = ZSN2NNet(channels, self.config.width)
        return init_weights(net, torch.Generator().manual_seed(self.config.seed))

    def training_loss(self, net: nn.Module, batch: Batch, step: int) -> Tensor:
        """Return the ZS-N2N loss of ``batch.noisy``; `step` is unused.

        H and W must be multiples of the downsampler's cell (even; 3 for ``cross_corners``).
        A random downsampler draws from the method's own generator (seeded by
        ``config.seed`` when the method is built), one draw per call.
        """
        split = self.downsampler.draw(batch.noisy, self._generator)
        return zsn2n_loss(net, batch.noisy, split)

    def denoise(self, net: nn.Module, noisy: Tensor) -> Tensor:
        """Return y - f(y), clamped to [0, 1] when ``config.clip``; shape (B, C, H, W)."""
        with torch.no_grad(), self._autocast(noisy.device):
            noise = net(self._layout(noisy))
        denoised = (noisy - noise.float()).contiguous()
        return denoised.clamp(0.0, 1.0) if self.config.clip else denoised

    def fit(
        self,
        noisy: Tensor,
        reference: Tensor | None = None,
        device: str | torch.device | None = "auto",
        progress: Callable[[int, int], None] | None = None,
        log_every: int = 50,
    ) -> FitResult:
        """Train a fresh network on `noisy` alone and return the denoised image.

        Parameters
        ----------
        noisy : Tensor, shape (1, C, H, W), float32, nominally in [0, 1]
            One noisy image; H, W >= 2. Sizes that are not a multiple of the downsampler's
            cell are reflect-padded for training only.
        reference : Tensor or None, shape (1, C, H, W)
            A clean image, used only to log PSNR every `log_every` steps.
        device : str or torch.device or None
            "auto" (CUDA if present), "cpu" or "cuda".
        progress : callable (done_steps, total_steps) or None
            Called every `log_every` steps and at the end.
        log_every : int
            Period of the progress and PSNR logs, in steps.

        Returns
        -------
        FitResult
            Denoised image (on the input's device), net, loss and PSNR histories, seconds.

        Raises
        ------
        ValueError
            If `noisy` is not (1, C, H, W) with H, W >= 2, contains NaN/Inf, or `reference`
            has another shape.
        """
        if noisy.ndim != 4 or noisy.shape[0] != 1 or min(noisy.shape[-2:]) < 2:
            raise ValueError(
                f"zsn2n needs one image of shape (1, C, H, W) with H, W >= 2, "
                f"got {tuple(noisy.shape)}"
            )
        if not torch.isfinite(noisy).all():
            raise ValueError("zsn2n: the noisy image contains NaN or Inf values")
        if reference is not None and reference.shape != noisy.shape:
            raise ValueError(
                f"zsn2n: reference shape {tuple(reference.shape)} differs from the noisy "
                f"image's {tuple(noisy.shape)}"
            )
        cfg = self.config
        start = time.perf_counter()
        dev = resolve_device(device)
        image = noisy.to(dev, torch.float32)
        downsampler = self.downsampler
        train_image = _pad_to_multiple(image, downsampler.cell)
        generator = torch.Generator(device=dev).manual_seed(cfg.seed)  # random downsamplers
        net = self.default_net(image.shape[1]).to(dev)
        if self._use_channels_last(dev):
            net = net.to(memory_format=torch.channels_last)
            train_image = train_image.contiguous(memory_format=torch.channels_last)
        optimizer = torch.optim.Adam(net.parameters(), lr=cfg.lr)
        psnr_history: list[tuple[int, float]] = []
        ref = reference.to(dev, torch.float32) if reference is not None else None

        def after_step(done: int, loss: Tensor) -> None:
            if done % log_every == 0 or done == cfg.steps:
                if ref is not None:
                    psnr_history.append((done, psnr_db(self.denoise(net, image), ref)))
                if progress is not None:
                    progress(done, cfg.steps)

        losses = optimise(
            net,
            lambda step: downsampler.draw(train_image, generator),  # fresh draw, same for y, g(y)
            lambda net, split: zsn2n_loss(net, train_image, split),
            optimizer,
            self._scheduler(optimizer),
            cfg.steps,
            self._autocast(dev),
            after_step,
        )
        denoised = self.denoise(net, image).to(noisy.device)
        return FitResult(
            denoised=denoised,
            net=net,
            loss_history=losses,
            psnr_history=psnr_history,
            seconds=time.perf_counter() - start,
        )

    def _scheduler(self, optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LRScheduler:
        cfg = self.config
        if cfg.schedule == "step":
            return torch.optim.lr_scheduler.StepLR(optimizer, step_size=cfg.decay_every, gamma=0.5)
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.steps)


def _pad_to_multiple(image: Tensor, multiple: int) -> Tensor:
    pad_h, pad_w = -image.shape[-2] % multiple, -image.shape[-1] % multiple
    if pad_h or pad_w:
        return F.pad(image, (0, pad_w, 0, pad_h), mode="reflect")
    return image
