"""Restore dead sensor lines: find them, then fill them with a line-masked Self2Self.

Some sensors lose whole rows or columns to burnt-out readout lines: each dead line is all
black or all white. ``RestoreLines``

1. finds them (``noise2x.ops.lines.detect_dead_lines``): the rows and columns whose every
   pixel sits at the image's minimum, or every pixel at its maximum (or a user's mask);
2. trains a Self2Self network (Quan et al., CVPR 2020) on the image itself, with training
   masks that hide *whole lines* in the orientation of the damage (``line_mask``: 20 % of the
   lines per step), so the network learns to predict a line from the lines around it. The
   loss is taken on the hidden lines only; the dead lines are hidden from every input and
   never scored;
3. fills the dead lines with the mean prediction of ``passes`` stochastic passes (dropout on)
   and keeps every other pixel exactly; with ``denoise=True`` the filled image is then
   denoised by BM3D (the default ``denoiser``), or every pixel is replaced by the mean of the
   network's passes that hid it (``denoiser="self2self"``).

Not from one paper: the line masks adapt Self2Self's Bernoulli sampling to structured loss,
in the spirit of structN2V's masks along the noise's correlation (Broaddus et al., ISBI 2020).
Differences from plain Self2Self, each measured on 64x64 Set12 crops with 20 % of the rows or
columns lost (150 steps):

- **Interpolation residual.** The network predicts a correction to the linear interpolation
  across the hidden lines (``InterpolationResidual``; its last layer starts at zero, so the
  untrained model *is* the interpolation). Plain Self2Self output fell 2.0 dB (rows) and
  0.9 dB (columns) *below* the interpolation in such short runs; the residual ends 0.4-0.7 dB
  above it. The sigmoid is dropped with it.
- **Orientation is a setting** (``axis``: rows, cols, both; "auto" reads it from the
  detection). A first attempt that only ever hid rows failed on missing columns.
- **Test passes hide only the dead lines** (``test_line_fraction=0``), so the interpolation
  spans the narrowest gaps; hiding 30 % more lines at test time lost 0.5-0.9 dB.
- With ``denoise=True, denoiser="self2self"`` the masks also hide single pixels (Bernoulli,
  ``keep_prob``), so a pixel is predicted from its own line too: +1.6 dB over line masks
  alone (22.5 vs 20.9 dB on a 128x128 crop of Set12/05 at sigma = 25 with 20 % rows lost,
  1000 steps).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import ClassVar, Literal

import torch
from torch import Tensor, nn

from noise2x.device import resolve_device
from noise2x.methods.base import METHODS, Batch, FitResult, SingleImageMethod
from noise2x.methods.self2self import (
    Self2Self,
    Self2SelfConfig,
    bernoulli_mask,
    flip,
    self2self_loss,
)
from noise2x.nets.base import init_weights
from noise2x.nets.self2self_unet import Self2SelfUNet
from noise2x.ops.lines import (
    AXES,
    DeadLines,
    dead_lines_from_mask,
    detect_dead_lines,
    interpolate_lines,
    line_mask,
)

__all__ = [
    "DeadLines",
    "InterpolationResidual",
    "RestoreLines",
    "RestoreLinesConfig",
    "dead_lines_from_mask",
    "detect_dead_lines",
    "interpolate_lines",
    "line_mask",
]


class InterpolationResidual(nn.Module):
    """A net that predicts a correction to the linear interpolation across hidden lines.

    ``forward(x, mask) = interpolate_lines(x, mask, axis) + net(x, mask)``: with the last
    layer of `net` set to zero (as ``RestoreLines`` builds it) the untrained model *is* the
    linear interpolation, and training only has to learn what interpolation misses.

    Parameters
    ----------
    net : nn.Module
        Called as ``net(x, mask, generator=generator)``; a ``Self2SelfUNet`` without sigmoid.
    axis : {"rows", "cols", "both"}
        Orientation of the interpolation (see :func:`interpolate_lines`).

    Examples
    --------
    >>> from noise2x.nets.self2self_unet import Self2SelfUNet
    >>> model = InterpolationResidual(Self2SelfUNet(1, width=4, sigmoid=False), "rows")
    >>> model(torch.rand(1, 1, 8, 8), torch.ones(1, 1, 8, 8)).shape
    torch.Size([1, 1, 8, 8])
    """

    def __init__(self, net: nn.Module, axis: str) -> None:
        super().__init__()
        if axis not in AXES:
            raise ValueError(f"axis must be one of {', '.join(AXES)}; got {axis!r}")
        self.net = net
        self.axis = axis

    def forward(
        self, x: Tensor, mask: Tensor | None = None, *, generator: torch.Generator | None = None
    ) -> Tensor:
        """Return the interpolation of `x` across the zeros of `mask` plus the net's output."""
        if mask is None:
            mask = torch.ones((x.shape[0], 1, *x.shape[-2:]), device=x.device)
        base = interpolate_lines(x.float(), mask, self.axis)
        return base + self.net(x, mask, generator=generator).float()


@dataclass(frozen=True)
class RestoreLinesConfig(Self2SelfConfig):
    """Settings of the line-restoring Self2Self: Self2Self's, plus the line masks.

    The other fields are Self2Self's (see ``Self2SelfConfig``) with the same defaults;
    ``keep_prob`` is used only with ``denoise=True, denoiser="self2self"``, when Self2Self's
    Bernoulli pixel masks are combined with the line masks (so that a pixel is also predicted
    from its own line).

    Attributes
    ----------
    axis : {"auto", "rows", "cols", "both"}
        Orientation of the training masks (and of the detection); "auto" takes it from the
        detected dead lines ("both" when none is found).
    line_fraction : float
        Fraction of the lines hidden (on top of the dead ones) in each training input, in
        (0, 1). 0.2 gained more over interpolation than 0.1, 0.3 or 0.5 in short runs.
    denoise : bool
        Also denoise the pixels that are not dead (False: keep them exactly), with
        `denoiser`.
    denoiser : {"bm3d", "self2self"}
        With ``denoise``: "bm3d" (the default) fills the dead lines as without ``denoise`` and
        then runs BM3D (``noise2x.methods.bm3d``) on the whole image; "self2self" denoises
        with the same network, its training and test masks then also hiding single pixels
        (Bernoulli, ``keep_prob``). At this CPU budget the network denoises Gaussian noise
        about 3 dB worse than BM3D (``benchmarks/lines.py``).
    sigma : float or None
        Noise level for ``denoiser="bm3d"``, on the 0-255 scale; None estimates it from the
        filled image (``noise2x.noise.estimate.estimate_sigma``).
    residual : bool
        The network predicts a correction to the linear interpolation across the hidden
        lines (``InterpolationResidual``; its last layer starts at zero, so training starts
        from the interpolation). False: Self2Self's plain output (with its sigmoid).
    test_line_fraction : float or None
        Fraction of extra lines hidden in each test-time pass; None uses `line_fraction`.
        0 (the default) hides only the dead lines: the interpolation under the residual then
        spans the narrowest gaps (hiding 30 % more lost 0.5-0.9 dB in short runs).
    """

    axis: Literal["auto", "rows", "cols", "both"] = "auto"
    line_fraction: float = 0.2
    denoise: bool = False
    denoiser: Literal["self2self", "bm3d"] = "bm3d"
    sigma: float | None = None
    residual: bool = True
    test_line_fraction: float | None = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.axis not in (*AXES, "auto"):
            raise ValueError(
                f"RestoreLinesConfig: axis must be one of auto, rows, cols, both; got {self.axis!r}"
            )
        if not 0.0 < self.line_fraction < 1.0:
            raise ValueError(
                f"RestoreLinesConfig: line_fraction must be in (0, 1), got {self.line_fraction}"
            )
        if self.denoiser not in ("self2self", "bm3d"):
            raise ValueError(
                f"RestoreLinesConfig: denoiser must be 'self2self' or 'bm3d', got {self.denoiser!r}"
            )
        if self.sigma is not None and not self.sigma > 0:
            raise ValueError(f"RestoreLinesConfig: sigma must be positive, got {self.sigma}")
        if self.test_line_fraction is not None and not 0.0 <= self.test_line_fraction < 1.0:
            raise ValueError(
                "RestoreLinesConfig: test_line_fraction must be in [0, 1) or None, got "
                f"{self.test_line_fraction}"
            )


@METHODS.register("restore_lines")
class RestoreLines(SingleImageMethod):
    """Fill dead rows/columns of one image from its own content (line-masked Self2Self).

    Composes a `Self2Self` (``self.engine``, built from the Self2Self fields of the config)
    and gives it what differs: the line masks (`draw_keep`), the interpolation-residual net,
    the dead pixels that are never seen nor scored, and how the result is assembled.

    Parameters
    ----------
    config : RestoreLinesConfig or None
        Settings; None uses the defaults.
    **overrides
        Fields of ``RestoreLinesConfig`` to change, e.g. ``axis="cols"``.

    Raises
    ------
    TypeError
        If an override is not a field of the config.
    ValueError
        If a setting is out of range.

    Examples
    --------
    >>> image = torch.rand(1, 1, 16, 16) * 0.5 + 0.25
    >>> image[..., 5, :] = 0.0  # a dead black row
    >>> result = RestoreLines(steps=2, passes=2, width=4).fit(image, device="cpu")
    >>> result.denoised.shape, bool((result.denoised[..., 5, :] > 0).all())
    (torch.Size([1, 1, 16, 16]), True)
    >>> torch.equal(result.denoised[..., 6:, :], image[..., 6:, :])  # the rest is kept
    True
    """

    name: ClassVar[str] = "restore_lines"
    single_image: ClassVar[bool] = True
    trainable: ClassVar[bool] = True
    Config: ClassVar[type] = RestoreLinesConfig

    def __init__(self, config: RestoreLinesConfig | None = None, **overrides) -> None:
        super().__init__(config, **overrides)
        shared = {f.name: getattr(self.config, f.name) for f in fields(Self2SelfConfig)}
        self.engine = Self2Self(Self2SelfConfig(**shared))
        self._axis = "both" if self.config.axis == "auto" else self.config.axis

    @property
    def _denoise_by_net(self) -> bool:
        return self.config.denoise and self.config.denoiser == "self2self"

    def default_net(self, channels: int) -> nn.Module:
        """Return the Self2Self U-Net, wrapped as an interpolation residual with ``residual``."""
        cfg = self.config
        if not cfg.residual:
            return self.engine.default_net(channels)
        unet = Self2SelfUNet(channels, cfg.width, cfg.dropout, sigmoid=False)
        init_weights(unet, torch.Generator().manual_seed(cfg.seed))
        last = unet.decoder[-1]
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        return InterpolationResidual(unet, self._axis)

    def draw_keep(
        self, noisy: Tensor, generator: torch.Generator | None, testing: bool = False
    ) -> Tensor:
        """Return a keep mask for `noisy` (B, C, H, W): lines of the current orientation.

        Shape (B, 1, H, W), values in {0, 1}; times a Bernoulli pixel mask (B, C, H, W) with
        ``denoise=True, denoiser="self2self"``. In test passes (`testing`)
        ``test_line_fraction`` replaces ``line_fraction``.
        """
        fraction = self.config.line_fraction
        if testing and self.config.test_line_fraction is not None:
            fraction = self.config.test_line_fraction
        keep = line_mask(tuple(noisy.shape), fraction, self._axis, generator, noisy.device)
        if self._denoise_by_net:  # also Self2Self's pixel masks, to denoise from every side
            keep = keep * bernoulli_mask(noisy, self.config.keep_prob, generator)
        return keep

    def training_loss(self, net: nn.Module, batch: Batch, step: int) -> Tensor:
        """Return the line-masked loss of ``batch.noisy``, with its dead lines detected.

        Dead lines (:func:`detect_dead_lines` on each image) are hidden from the input and
        left out of the loss; `step` is unused.
        """
        generator = self.engine.generator(batch.noisy.device)
        code = self.engine.draw_flip(generator)
        noisy = flip(batch.noisy, code)
        alive = torch.stack(
            [(~detect_dead_lines(image, self.config.axis).mask)[None] for image in noisy]
        ).float()
        keep = self.draw_keep(noisy, generator)
        return self2self_loss(net, noisy, keep * alive, (1.0 - keep) * alive, generator)

    def denoise(self, net: nn.Module, noisy: Tensor) -> Tensor:
        """Fill the detected dead lines of each image of `noisy` (B, C, H, W) with `net`."""
        generator = self.engine.generator(noisy.device)
        out = []
        for image in noisy:
            dead = detect_dead_lines(image, self.config.axis).mask[None, None]
            out.append(self._finish(net, image[None], dead, generator))
        return torch.cat(out)

    def fit(
        self,
        noisy: Tensor,
        reference: Tensor | None = None,
        device: str | torch.device | None = "auto",
        progress: Callable[[int, int], None] | None = None,
        log_every: int = 1000,
        dead: Tensor | None = None,
    ) -> FitResult:
        """Train on `noisy` alone and return it with its dead lines filled.

        Parameters
        ----------
        noisy : Tensor, shape (1, C, H, W), float32, nominally in [0, 1]
            One damaged (and possibly noisy) image; H, W >= 2.
        reference : Tensor or None, shape (1, C, H, W)
            A clean image, used only to log PSNR every `log_every` steps.
        device : str or torch.device or None
            "auto" (CUDA if present), "cpu" or "cuda".
        progress : callable (done_steps, total_steps) or None
            Called every 10 steps and at the end.
        log_every : int
            Period of the PSNR log, in steps.
        dead : Tensor or None, shape (H, W), bool
            The dead pixels; None detects the dead lines (:func:`detect_dead_lines` with
            ``config.axis``).

        Returns
        -------
        FitResult
            The restored image (dead lines filled; other pixels unchanged, or denoised with
            ``config.denoise``), the net, loss and PSNR histories, seconds. With no dead pixel
            and ``denoise=False`` nothing is trained and the image is returned as it is.

        Raises
        ------
        ValueError
            If `noisy` is not (1, C, H, W) with H, W >= 2 or contains NaN/Inf, `reference`
            or `dead` has the wrong shape, or every pixel is dead.
        """
        self.engine.check_input(noisy, reference, who=self.name)
        start = time.perf_counter()
        found = detect_dead_lines(noisy, self.config.axis) if dead is None else None
        if dead is None:
            dead = found.mask
        elif tuple(dead.shape) != tuple(noisy.shape[-2:]):
            raise ValueError(
                f"restore_lines: dead mask of shape {tuple(dead.shape)} does not match the "
                f"image's H, W = {tuple(noisy.shape[-2:])}"
            )
        dead = dead.to(torch.bool)
        if bool(dead.all()):
            raise ValueError("restore_lines: every pixel is dead; nothing to learn from")
        if self.config.axis == "auto":
            self._axis = (found or dead_lines_from_mask(dead)).axis or "both"
        if not bool(dead.any()) and not self._denoise_by_net:  # nothing for the net to learn
            if not self.config.denoise:
                return FitResult(denoised=noisy.clone(), net=nn.Identity(), seconds=0.0)
            from noise2x.methods.bm3d import BM3D

            filtered = BM3D(sigma=self.config.sigma, clip=self.config.clip).fit(noisy.float())
            return FitResult(
                denoised=filtered.denoised, net=nn.Identity(), seconds=filtered.seconds
            )
        dev = resolve_device(device)
        image = noisy.to(dev, torch.float32)
        dead4 = dead.to(dev)[None, None]
        net, generator, losses, psnr_history = self.engine.train_net(
            image,
            net=self.default_net(image.shape[1]),
            draw_keep=self.draw_keep,
            dead=dead4,
            reference=reference,
            progress=progress,
            log_every=log_every,
            finish=lambda net, generator: self._finish(net, image, dead4, generator),
        )
        return FitResult(
            denoised=self._finish(net, image, dead4, generator).to(noisy.device),
            net=net,
            loss_history=losses,
            psnr_history=psnr_history,
            seconds=time.perf_counter() - start,
        )

    def _finish(
        self, net: nn.Module, image: Tensor, dead: Tensor | None, generator: torch.Generator
    ) -> Tensor:
        """Fill `dead` (1, 1, H, W) bool in `image`; denoise the rest with ``config.denoise``."""
        if dead is None:
            dead = torch.zeros((1, 1, *image.shape[-2:]), dtype=torch.bool, device=image.device)
        if not bool(dead.any()) and not self.config.denoise:
            return image.clone()
        mean, hidden_sum, hidden_count = self.engine.ensemble(
            net,
            image,
            generator,
            (~dead).float(),
            draw_keep=lambda batch, generator: self.draw_keep(batch, generator, testing=True),
        )
        predicted = torch.where(hidden_count > 0, hidden_sum / hidden_count.clamp_min(1), mean)
        if self.config.clip:
            predicted = predicted.clamp(0.0, 1.0)
        if self._denoise_by_net:
            return predicted
        filled = torch.where(dead, predicted, image)
        if self.config.denoise:  # denoiser == "bm3d": fill first, then filter everything
            from noise2x.methods.bm3d import BM3D

            return BM3D(sigma=self.config.sigma, clip=self.config.clip).fit(filled).denoised
        return filled
