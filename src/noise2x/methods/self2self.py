# size: one method: masks, the partial-conv training, the dropout ensemble, collapse handling
"""Self2Self: denoise one image by predicting dropped pixels from Bernoulli-sampled copies.

Y. Quan, M. Chen, T. Pang and H. Ji, "Self2Self With Dropout: Learning Self-Supervised
Denoising From Single Image", CVPR 2020; the authors' code is scut-mingqinchen/self2self.

Each step draws a Bernoulli mask b (every pixel and channel kept with probability 0.7), flips
the image at random (left-right, up-down), feeds b * y to a U-Net whose encoder is made of
partial convolutions and whose decoder applies dropout (rate 0.3) before every convolution,
and minimises the squared error on the *dropped* pixels only::

    loss = sum((f(b * y, b) - y)^2 * (1 - b)) / sum(1 - b)

so the net cannot copy a pixel's own noise. The denoised image is the mean of N stochastic
passes (a new mask, flip and dropout each time), N = 100 in the paper.

Deliberate departures from the authors' code:

- **The schedule.** The paper trains 150,000 steps at a constant lr 1e-4 and averages 100
  passes: about 23 hours per 256x256 image on this project's 2-core CPU (544 ms per fp32
  step; 12.7 h with bf16). ``Self2SelfConfig.paper()`` is that schedule. The default is sized
  for a CPU: 1,000 steps at lr 1e-3 with a cosine decay and 32 passes, 5.3 minutes for a
  256x256 grey image on 2 cores. It costs PSNR (see ``Self2SelfConfig``);
  ``benchmarks/self2self.py`` measures it against the paper's schedule, ZS-N2N and BM3D.
- **Speed.** Under bfloat16 autocast in the channels-last layout on CPUs with native bf16
  (as ZS-N2N; ``precision="fp32"`` and ``paper()`` turn it off): 304 ms per 256x256 step on
  2 threads against 544 ms in fp32. The mask branch of each partial convolution is computed
  once per layer without gradients (the input is masked only where the mask has holes);
  dropout draws 16 random bits per entry from one int64 ``random_`` call (311 ms per step,
  against 450 ms with ``F.dropout``); the last decoder stage convolves the upsampled features
  and the input skip separately instead of concatenating 97 channels (the concatenation fell
  out of the channels-last layout and into float32). The test-time passes run in batches where that
  is faster: on a GPU, and on the CPU only for small images (``pass_batch``).
- **Test-time flips** cycle through the four flips (no flip, left-right, up-down, both)
  instead of being drawn at random: the same expectation with less variance.
- Randomness comes from a ``torch.Generator`` seeded by ``seed`` (no global seed).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import ClassVar, Literal

import torch
from torch import Tensor, nn

from noise2x.device import resolve_device
from noise2x.methods.base import (
    METHODS,
    Batch,
    CollapseWarning,
    FitResult,
    SingleImageMethod,
    is_collapsed,
    psnr_db,
)
from noise2x.nets.base import init_weights
from noise2x.nets.self2self_unet import Self2SelfUNet
from noise2x.train.loop import optimise

Precision = Literal["auto", "fp32", "bf16"]
#: Keep masks: callable (image (B, C, H, W), generator) -> keep mask (B, 1 or C, H, W) in {0, 1}.
MaskSampler = Callable[[Tensor, torch.Generator | None], Tensor]


def bernoulli_mask(
    noisy: Tensor, keep_prob: float = 0.7, generator: torch.Generator | None = None
) -> Tensor:
    """Return Self2Self's Bernoulli sampling mask: each entry kept with prob. `keep_prob`.

    Parameters
    ----------
    noisy : Tensor, shape (B, C, H, W)
        Gives the shape and device.
    keep_prob : float
        Probability that an entry is kept (1), in (0, 1]; 0.7 in the paper.
    generator : torch.Generator or None
        Source of randomness, on `noisy`'s device; None uses torch's global state.

    Returns
    -------
    Tensor, shape (B, C, H, W), float32, values in {0, 1}
        One independent draw per pixel and channel (as the authors' code).

    Examples
    --------
    >>> mask = bernoulli_mask(torch.zeros(1, 1, 64, 64), 0.7, torch.Generator().manual_seed(0))
    >>> mask.shape, round(mask.mean().item(), 1)
    (torch.Size([1, 1, 64, 64]), 0.7)
    """
    draws = torch.rand(noisy.shape, generator=generator, device=noisy.device)
    return (draws < keep_prob).float()


def self2self_loss(
    net: nn.Module,
    noisy: Tensor,
    keep: Tensor,
    weight: Tensor | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Squared error of the net's prediction on the pixels hidden from it.

    ``loss = sum((f(keep * y, keep) - y)^2 * w) / sum(w)`` with ``w = 1 - keep`` by default,
    sums over every pixel and channel (a one-channel `w` counts once per channel).

    Parameters
    ----------
    net : nn.Module
        Called as ``net(x, mask, generator=generator)`` (``Self2SelfUNet``).
    noisy : Tensor, shape (B, C, H, W), float32
        The noisy image(s) y.
    keep : Tensor, shape (B, 1, H, W) or (B, C, H, W), values in {0, 1}
        1 where the net sees the pixel.
    weight : Tensor or None, broadcastable to (B, C, H, W), values >= 0
        Where the loss is taken; None means the hidden pixels, ``1 - keep``.
    generator : torch.Generator or None
        Source of the net's dropout draws.

    Returns
    -------
    Tensor, shape (), float32
        The loss; 0 if `weight` is zero everywhere.

    References
    ----------
    Quan et al., CVPR 2020, Eq. (5).

    Examples
    --------
    >>> net = Self2SelfUNet(1, width=4)
    >>> noisy = torch.rand(1, 1, 8, 8)
    >>> keep = bernoulli_mask(noisy, 0.7, torch.Generator().manual_seed(0))
    >>> self2self_loss(net, noisy, keep).shape
    torch.Size([])
    """
    out = net(noisy * keep, keep, generator=generator).float()
    weight = (1.0 - keep) if weight is None else weight
    weight = weight.expand_as(noisy)
    return ((out - noisy).square() * weight).sum() / weight.sum().clamp_min(1.0)


@dataclass(frozen=True)
class Self2SelfConfig:
    """Settings of Self2Self (the paper's in brackets).

    The default schedule is sized for a CPU: 1,000 steps (Adam, lr 1e-3 decayed to 0 along a
    half cosine) and 32 test-time passes take 5.3 minutes for a 256x256 grey image on this
    project's 2-core CPU (304 ms per step with 2 threads, bf16 autocast and channels-last;
    134 ms per pass), and give 26.89 dB on Set12/01 at sigma = 25 (20.2 dB noisy; ZS-N2N:
    27.38 dB in 1.7 minutes). Longer runs keep gaining: on a 128x128 crop of that image,
    1,000 / 2,000 / 3,000 steps gave 24.30 / 25.51 / 26.24 dB (ZS-N2N 24.83, BM3D 27.94).
    The rate: after 1,000 steps on that crop, the paper's constant 1e-4 gave 22.72 dB, a
    cosine decay from 5e-4 / 1e-3 / 2e-3 gave 23.60 / 24.30 / 24.09 dB. The paper's schedule
    is ``paper()`` (about 23 hours per 256x256 image here).

    Attributes
    ----------
    steps : int
        Optimisation steps, one masked copy of the whole image each [150,000].
    lr : float
        Adam learning rate at the start [1e-4].
    schedule : {"constant", "cosine"}
        "constant" keeps `lr` [the paper]; "cosine" decays it to 0 along a half cosine.
    keep_prob : float
        Probability that a pixel is kept in the input, in (0, 1) [0.7].
    dropout : float
        Dropout rate of the decoder, in [0, 1) [0.3].
    passes : int
        Stochastic passes averaged at test time [100].
    pass_batch : int
        Passes run together in one batch; 0 chooses from the image size: up to 2^16 pixels
        per batch on the CPU (one 256x256 pass, sixteen 64x64 ones), 2^20 on a GPU. On this
        project's 2-core CPU, batching 256x256 passes was slower (134 ms per pass alone, 175
        ms in fours, 207 ms in sixteens: the batch leaves the caches); only 64x64 gained
        (12.2 -> 10.1 ms).
    crop : int
        Train each step on one random crop of this side (0: the whole image [the paper]).
        Sides shorter than `crop` are used whole.
    width : int
        Encoder channels of the U-Net; the decoder has twice as many [48].
    flips : bool
        Random left-right and up-down flips in training and at test time [True].
    precision : {"auto", "fp32", "bf16"}
        "auto" uses bfloat16 autocast where the hardware supports it natively [fp32].
    channels_last : bool
        Channels-last memory layout on the CPU [False].
    clip : bool
        Clamp the result to [0, 1] (the net ends in a sigmoid, so this changes nothing unless
        the sigmoid is removed).
    seed : int
        Seeds the initial weights, masks, flips and dropout.
    """

    steps: int = 1000
    lr: float = 1e-3
    schedule: Literal["constant", "cosine"] = "cosine"
    keep_prob: float = 0.7
    dropout: float = 0.3
    passes: int = 32
    pass_batch: int = 0
    crop: int = 0
    width: int = 48
    flips: bool = True
    precision: Precision = "auto"
    channels_last: bool = True
    clip: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        name = type(self).__name__
        for key in ("steps", "passes", "width"):
            if getattr(self, key) < 1:
                raise ValueError(f"{name}: {key} must be >= 1, got {getattr(self, key)}")
        if self.crop < 0:
            raise ValueError(f"{name}: crop must be >= 0 (0 = whole image), got {self.crop}")
        if self.pass_batch < 0:
            raise ValueError(f"{name}: pass_batch must be >= 0 (0 = auto), got {self.pass_batch}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"{name}: lr must be a positive number, got {self.lr}")
        if self.schedule not in ("constant", "cosine"):
            raise ValueError(
                f"{name}: schedule must be 'constant' or 'cosine', got {self.schedule!r}"
            )
        if not 0.0 < self.keep_prob < 1.0:
            raise ValueError(f"{name}: keep_prob must be in (0, 1), got {self.keep_prob}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"{name}: dropout must be in [0, 1), got {self.dropout}")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise ValueError(
                f"{name}: precision must be 'auto', 'fp32' or 'bf16', got {self.precision!r}"
            )

    @classmethod
    def paper(cls, **overrides) -> Self2SelfConfig:
        """Return the paper's settings: 150,000 steps at lr 1e-4, 100 passes, fp32."""
        base = cls(
            steps=150_000,
            lr=1e-4,
            schedule="constant",
            passes=100,
            crop=0,
            precision="fp32",
            channels_last=False,
        )
        return replace(base, **overrides)


def flip(x: Tensor, code: int) -> Tensor:
    """Flip (B, C, H, W) by `code`: bit 0 left-right, bit 1 up-down (its own inverse)."""
    dims = [d for bit, d in ((1, -1), (2, -2)) if code & bit]
    return x.flip(dims) if dims else x


@METHODS.register("self2self")
class Self2Self(SingleImageMethod):
    """Self2Self (Quan et al., CVPR 2020): one noisy image, Bernoulli sampling and dropout.

    Parameters
    ----------
    config : Self2SelfConfig or None
        Settings; None uses the defaults.
    **overrides
        Fields of ``Self2SelfConfig`` to change, e.g. ``steps=500``.

    Raises
    ------
    TypeError
        If an override is not a field of the config (the message lists the known ones).
    ValueError
        If a setting is out of range (from the config).

    Examples
    --------
    >>> method = Self2Self(steps=3, passes=2, width=4)
    >>> result = method.fit(torch.rand(1, 1, 16, 16), device="cpu")
    >>> result.denoised.shape, len(result.loss_history)
    (torch.Size([1, 1, 16, 16]), 3)
    """

    name: ClassVar[str] = "self2self"
    single_image: ClassVar[bool] = True
    trainable: ClassVar[bool] = True
    Config: ClassVar[type] = Self2SelfConfig

    def __init__(self, config: Self2SelfConfig | None = None, **overrides) -> None:
        super().__init__(config, **overrides)
        self._generators: dict[torch.device, torch.Generator] = {}

    # --- the method contract ------------------------------------------------------------------
    def default_net(self, channels: int) -> nn.Module:
        """Return Self2Self's U-Net for `channels` channels, seeded by ``config.seed``."""
        net = Self2SelfUNet(channels, self.config.width, self.config.dropout)
        return init_weights(net, torch.Generator().manual_seed(self.config.seed))

    def draw_keep(self, noisy: Tensor, generator: torch.Generator | None) -> Tensor:
        """Return a keep mask for `noisy` (B, C, H, W): Bernoulli(``keep_prob``) per entry."""
        return bernoulli_mask(noisy, self.config.keep_prob, generator)

    def training_loss(self, net: nn.Module, batch: Batch, step: int) -> Tensor:
        """Return the Self2Self loss of one random mask and flip of ``batch.noisy``.

        `step` is unused; masks, flips and dropout draw from the method's generator (seeded
        by ``config.seed`` when the method is built).
        """
        generator = self.generator(batch.noisy.device)
        code = self.draw_flip(generator)
        noisy = flip(batch.noisy, code)
        return self2self_loss(net, noisy, self.draw_keep(noisy, generator), generator=generator)

    def denoise(self, net: nn.Module, noisy: Tensor) -> Tensor:
        """Return the mean of ``config.passes`` stochastic passes; shape (B, C, H, W).

        Dropout stays on (the net is put in training mode for the passes and restored after).
        """
        generator = self.generator(noisy.device)
        out = torch.cat([self.ensemble(net, image[None], generator)[0] for image in noisy])
        return out.clamp(0.0, 1.0) if self.config.clip else out

    # --- fitting one image ---------------------------------------------------------------------
    def fit(
        self,
        noisy: Tensor,
        reference: Tensor | None = None,
        device: str | torch.device | None = "auto",
        progress: Callable[[int, int], None] | None = None,
        log_every: int = 1000,
    ) -> FitResult:
        """Train a fresh network on `noisy` alone and return the denoised image.

        Parameters
        ----------
        noisy : Tensor, shape (1, C, H, W), float32, nominally in [0, 1]
            One noisy image; H, W >= 2.
        reference : Tensor or None, shape (1, C, H, W)
            A clean image, used only to log PSNR (of the full ``passes`` ensemble) every
            `log_every` steps.
        device : str or torch.device or None
            "auto" (CUDA if present), "cpu" or "cuda".
        progress : callable (done_steps, total_steps) or None
            Called every 10 steps and at the end.
        log_every : int
            Period of the PSNR log, in steps.

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
        self.check_input(noisy, reference)
        start = time.perf_counter()
        dev = resolve_device(device)
        image = noisy.to(dev, torch.float32)
        net, generator, losses, psnr_history = self.train_net(
            image, reference=reference, progress=progress, log_every=log_every
        )
        denoised = self._finish(net, image, generator)
        if is_collapsed(denoised, image):
            # The sigmoid output saturated (dark, low-noise images at lr 1e-3): one retry at
            # a tenth of the rate, said out loud; a second collapse is an error.
            retry = replace(self.config, lr=self.config.lr / 10)
            warnings.warn(
                f"{self.name}: the result collapsed to a constant image at lr {self.config.lr:g}; "
                f"training again at lr {retry.lr:g}",
                CollapseWarning,
                stacklevel=2,
            )
            again = type(self)(retry)
            net, generator, losses, psnr_history = again.train_net(
                image, reference=reference, progress=progress, log_every=log_every
            )
            denoised = again._finish(net, image, generator)
            if is_collapsed(denoised, image):
                raise ValueError(
                    f"{self.name}: the result collapsed to a constant image at lr "
                    f"{self.config.lr:g} and {retry.lr:g}; try a lower method.lr"
                )
        return FitResult(
            denoised=denoised.to(noisy.device),
            net=net,
            loss_history=losses,
            psnr_history=psnr_history,
            seconds=time.perf_counter() - start,
        )

    def _finish(self, net: nn.Module, image: Tensor, generator: torch.Generator) -> Tensor:
        """Denoise `image` (1, C, H, W) with the trained net: the mean of the passes."""
        mean, _, _ = self.ensemble(net, image, generator)
        return mean.clamp(0.0, 1.0) if self.config.clip else mean

    # --- the engine that other methods compose (dead-line restoration) -------------------------
    def check_input(self, noisy: Tensor, reference: Tensor | None, who: str | None = None) -> None:
        """Raise a ValueError naming `who` (default: this method) unless `noisy` is one image.

        `noisy` must be (1, C, H, W) with H, W >= 2 and finite; `reference`, when given, must
        have its shape.
        """
        name = who or self.name
        if noisy.ndim != 4 or noisy.shape[0] != 1 or min(noisy.shape[-2:]) < 2:
            raise ValueError(
                f"{name} needs one image of shape (1, C, H, W) with H, W >= 2, "
                f"got {tuple(noisy.shape)}"
            )
        if not torch.isfinite(noisy).all():
            raise ValueError(f"{name}: the noisy image contains NaN or Inf values")
        if reference is not None and reference.shape != noisy.shape:
            raise ValueError(
                f"{name}: reference shape {tuple(reference.shape)} differs from the noisy "
                f"image's {tuple(noisy.shape)}"
            )

    def train_net(
        self,
        image: Tensor,
        net: nn.Module | None = None,
        draw_keep: Callable[[Tensor, torch.Generator], Tensor] | None = None,
        dead: Tensor | None = None,
        reference: Tensor | None = None,
        progress: Callable[[int, int], None] | None = None,
        log_every: int = 1000,
        finish: Callable[[nn.Module, torch.Generator], Tensor] | None = None,
    ) -> tuple[nn.Module, torch.Generator, list[float], list[tuple[int, float]]]:
        """Train `net` on `image` alone with Self2Self's masked loss, ``config.steps`` steps.

        Parameters
        ----------
        image : Tensor, shape (1, C, H, W), float32, on the device to train on
        net : nn.Module or None
            The network, called as ``net(x, mask, generator=...)``; None: `default_net`.
        draw_keep : callable (noisy (B, C, H, W), generator) -> keep mask, or None
            The training masks; None: `draw_keep` (Bernoulli per entry).
        dead : Tensor or None, shape (1, 1, H, W), bool
            Pixels never seen nor scored (dead lines).
        reference : Tensor or None, shape (1, C, H, W)
            A clean image: PSNR of ``finish(net, generator)`` logged every `log_every` steps.
        progress : callable (done_steps, total_steps) or None
            Called every 10 steps and at the end.
        log_every : int
            Period of the PSNR log, in steps.
        finish : callable (net, generator) -> (1, C, H, W), or None
            What the PSNR log measures; None: the mean of the ``passes`` ensemble.

        Returns
        -------
        net, generator, losses, psnr_history
            The trained net (on the image's device), the generator whose draws continue at
            test time, the loss per step and (step, PSNR dB) pairs.
        """
        cfg = self.config
        dev = image.device
        draw_keep = draw_keep or self.draw_keep
        finish = finish or (lambda net, generator: self._finish(net, image, generator))
        generator = torch.Generator(device=dev).manual_seed(cfg.seed)
        net = (self.default_net(image.shape[1]) if net is None else net).to(dev)
        if self._use_channels_last(dev):
            net = net.to(memory_format=torch.channels_last)
        net.train()
        optimizer = torch.optim.Adam(net.parameters(), lr=cfg.lr)
        scheduler = (
            torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.steps)
            if cfg.schedule == "cosine"
            else None
        )
        alive = None if dead is None else (~dead).float()
        psnr_history: list[tuple[int, float]] = []
        ref = reference.to(dev, torch.float32) if reference is not None else None

        def sample(step: int) -> tuple[Tensor, Tensor, Tensor | None]:
            code = self.draw_flip(generator)
            window = self.draw_crop(image.shape[-2:], generator)
            noisy = flip(image[window], code)
            keep = draw_keep(noisy, generator)
            weight = None
            if alive is not None:
                flipped_alive = flip(alive[window], code)
                weight = (1.0 - keep) * flipped_alive
                keep = keep * flipped_alive
            return noisy, keep, weight

        def after_step(done: int, loss: Tensor) -> None:
            if ref is not None and (done % log_every == 0 or done == cfg.steps):
                psnr_history.append((done, psnr_db(finish(net, generator), ref)))
            if progress is not None and (done % 10 == 0 or done == cfg.steps):
                progress(done, cfg.steps)

        losses = optimise(
            net,
            sample,
            lambda net, batch: self2self_loss(net, *batch, generator),
            optimizer,
            scheduler,
            cfg.steps,
            self._autocast(dev),
            after_step,
        )
        return net, generator, losses, psnr_history

    def ensemble(
        self,
        net: nn.Module,
        image: Tensor,
        generator: torch.Generator,
        alive: Tensor | None = None,
        draw_keep: Callable[[Tensor, torch.Generator], Tensor] | None = None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Run ``config.passes`` stochastic passes over `image` (1, C, H, W), batched.

        `alive` (1, 1, H, W), float in {0, 1}, hides its zeros from every pass; `draw_keep`
        draws the masks (None: `draw_keep`). Returns the mean over all passes (1, C, H, W), and
        the sum of the predictions where the pass hid the pixel (1, C, H, W) with the number
        of such passes (1, 1 or C, H, W). Dropout stays on, as in the paper.
        """
        cfg = self.config
        draw_keep = draw_keep or self.draw_keep
        h, w = image.shape[-2:]
        budget = (1 << 20) if image.device.type == "cuda" else (1 << 16)  # pixels per batch
        chunk = cfg.pass_batch or max(1, min(cfg.passes, budget // (h * w)))
        was_training = net.training
        net.train()  # dropout on, as in the paper
        total = torch.zeros_like(image)
        hidden_sum = torch.zeros_like(image)
        hidden_count = torch.zeros((), device=image.device)
        layout = self._layout
        try:
            with torch.no_grad(), self._autocast(image.device):
                for first in range(0, cfg.passes, chunk):
                    codes = [
                        (i % 4) if cfg.flips else 0
                        for i in range(first, min(first + chunk, cfg.passes))
                    ]
                    batch = torch.cat([flip(image, c) for c in codes])
                    keep = draw_keep(batch, generator)
                    if alive is not None:
                        keep = keep * torch.cat([flip(alive, c) for c in codes])
                    out = net(layout(batch * keep), layout(keep), generator=generator).float()
                    for i, c in enumerate(codes):
                        pred, hidden = flip(out[i : i + 1], c), flip(1.0 - keep[i : i + 1], c)
                        total += pred
                        hidden_sum += pred * hidden
                        hidden_count = hidden_count + hidden
        finally:
            net.train(was_training)
        return total / cfg.passes, hidden_sum, hidden_count

    def draw_crop(self, size: torch.Size, generator: torch.Generator) -> tuple[slice, ...]:
        """Return the index of a random ``config.crop`` window of (..., H, W) (all if 0)."""
        crop = self.config.crop
        if not crop:
            return (Ellipsis,)
        corner = []
        for n in size:
            side = min(crop, n)
            top = int(
                torch.randint(0, n - side + 1, (), generator=generator, device=generator.device)
            )
            corner.append(slice(top, top + side))
        return (Ellipsis, *corner)

    def draw_flip(self, generator: torch.Generator) -> int:
        """Return a random flip code in {0, 1, 2, 3} (0 without ``config.flips``)."""
        if not self.config.flips:
            return 0
        return int(torch.randint(0, 4, (), generator=generator, device=generator.device))

    def generator(self, device: torch.device) -> torch.Generator:
        """Return this method's generator on `device`, seeded by ``config.seed`` at first use."""
        if device not in self._generators:
            self._generators[device] = torch.Generator(device=device).manual_seed(self.config.seed)
        return self._generators[device]
