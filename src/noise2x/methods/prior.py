# size: one method: weights loading and the guarded adaptation, documented
"""The shipped denoiser prior, with optional test-time adaptation (the default of `denoise`).

The prior is the Noise2Noise U-Net trained by ``benchmarks/train_prior.py`` on noisy pairs
only (no clean image in training or model selection), blind to the noise level: Gaussian
sigma in [0, 55], Poisson and Poisson-Gaussian noise. One model for grey images and one for
colour (``noise2x.weights.PRIORS``), loaded from the package with no network access.

Grey images have four more nets, for low, low-to-middle, middle and high noise
(``noise2x.weights.PRIOR_BANDS``, the gate): the image's Gaussian noise level is estimated
from the image alone (wavelet MAD, ``noise2x.noise.estimate.estimate_sigma``), and the net of
its band is used: the low-noise net for an estimate in [4, 12), the low-to-middle one in
[12, 27), the middle-noise net in [27, 39), the high-noise net from 39 (0-255 scale), the
default net below 4 (which includes the real microscope noise of FMD). They are later
training stages of the same U-Net: on pairs of low (sigma <= 35; the last four stages 8-24)
or high (sigma >= 30; the last stage 40-60) noise only, and for the middle one a stage of the
default net on new noise realisations of every level, then two on sigma 18-42 and 18-55; the
last stage of each trained on 128 x 128 crops of pairs of Train400 and of the grey CBSD432;
the low-to-middle net is the mean of the low-noise net's weights and of those of one more
stage of it on 256 x 256 crops of pairs of the grey CBSD432 at sigma 8-30, then the mean of
those weights and of a further 256 x 256 stage of them on new pairs; the bands were
chosen on validation images (``benchmarks/prior_gate.py``). Each call chooses for its own
image; the user still gives no noise level.

Part of a nearly noise-free colour image passes through (``noise2x.weights.PRIOR_PASS_THROUGH``,
``input_share``): the nets were trained on noise up to sigma 55 and smooth a clean image's
finest texture, so the result is 0.7 input at an estimated sigma of 0, the input's share
falling linearly to 0 at 2.5 (chosen on validation images among the rules that lose at no
level of white or spatially correlated noise: ``benchmarks/prior_pass_through.py``; grey has
no such rule, since the real microscope noise of FMD estimates as low).

Denoising is one pass of the net over the image (tiled when it is large, with blended seams:
``noise2x.ops.tiling.denoise_tiled``), averaged over ``ensemble`` of the 8 flips and
90-degree rotations (self-ensemble; each transform is undone before averaging; 4: the quarter
turns, ``noise2x.ops.ensemble.ENSEMBLE_ORDER``). By default the number grows on small images,
where a pass is cheap: as many passes as fit `ENSEMBLE_BUDGET` pixels (six over 256 x 256),
from the 4 quarter turns to 6 (``noise2x.ops.ensemble.ensemble_for_size``: 6 up to 256 x 256
pixels, 5 up to 280 x 280, 4 above; ``benchmarks/ensemble_size.py`` measured the PSNR of 1-8
transforms on the validation images and their time against BM3D's).

**Test-time adaptation** (``adapt=True``), for noise unlike the training noise (real
microscopes, cameras, electron micrographs): the prior is fine-tuned on the one noisy image
with Neighbor2Neighbor's self-supervised loss (``noise2x.methods.ne2ne.ne2ne_terms``: random
neighbour sub-images g1(y), g2(y), rec + gamma * reg with gamma ramped to ``gamma``), on random
``crop`` x ``crop`` crops with flips and rotations, Adam at ``lr`` after a linear warm-up over
``warmup`` of the steps (the recipe of ``noise2x finetune``). It is guarded by held-out
tiles (``noise2x.train.loop``): a random ``holdout`` fraction of a grid of square tiles is
never trained on; the reconstruction term rec on those tiles (with one fixed draw of the
sub-sampler) is measured before training and every ``eval_every`` steps, and the weights with
the lowest value are kept, so adaptation can only keep or improve the prior on those tiles.
The result is then a weighted mean of the adapted net's output and the prior's (``blend`` =
0.75 for the adapted one; ``noise2x.nets.blend``): on the FMD validation captures the adapted
net alone lost on 4 of 16 fields, the weighted mean on 1 (``benchmarks/prior_blend.py``).
A `Prior` object adapts on the first image it is given (starting from the net the gate picks
for that image) and reuses that adaptation for every later call (the frames of one stack);
build a new object for another scene.

References
----------
J. Lehtinen et al., "Noise2Noise: Learning Image Restoration without Clean Data", ICML 2018,
arXiv:1803.04189 (U-Net, training on noisy pairs). T. Huang et al., "Neighbor2Neighbor",
CVPR 2021, arXiv:2101.02824 (the adaptation loss). K. Zhang et al., "Beyond a Gaussian
Denoiser", IEEE TIP 2017 (one blind model for a range of levels). R. Timofte et al., "Seven
ways to improve example-based single image super resolution", CVPR 2016 (self-ensemble).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from noise2x.device import resolve_device
from noise2x.methods.base import METHODS, Batch, FitResult, SingleImageMethod, psnr_db
from noise2x.methods.ne2ne import ne2ne_gamma, ne2ne_terms
from noise2x.nets.blend import Blend
from noise2x.ops.ensemble import dihedral, ensemble_for_size, is_ensemble_size, self_ensemble
from noise2x.train.loop import allowed_starts, guarded_optimise, holdout_tiles

__all__ = [
    "ENSEMBLE_BUDGET",
    "ENSEMBLE_LEAST",
    "ENSEMBLE_MOST",
    "Prior",
    "PriorConfig",
    "input_share",
    "load_prior",
]

ENSEMBLE_BUDGET = 6 * 256 * 256
"""Pixels of all self-ensemble passes per image of the default (``ensemble=None``): six passes
over 256 x 256."""
ENSEMBLE_LEAST = 4
"""Transforms the default self-ensemble averages however large the image: the quarter turns."""
ENSEMBLE_MOST = 6
"""Transforms the default self-ensemble averages however small the image (8 took 0.83-0.92 of
BM3D's time on 192 x 192 to 256 x 256 images, 6 at most 0.70: ``benchmarks/ensemble_size.py``)."""

_LOADED: dict[tuple[str, int, str, bool], tuple[nn.Module, dict]] = {}


def load_prior(
    channels: int,
    weights: str | None = None,
    device: str | torch.device = "cpu",
    channels_last: bool = False,
) -> tuple[nn.Module, dict]:
    """Return the prior net for `channels` and its metadata (cached per file, device, layout).

    Parameters
    ----------
    channels : {1, 3}
        Image channels.
    weights : str or None
        A ``.safetensors`` file written by ``noise2x.weights.save_weights``, or a shipped
        file's bare name (``noise2x.weights.weights_path``); None: the shipped prior for
        `channels` (``noise2x.weights.PRIORS``).
    device : str or torch.device
    channels_last : bool
        Weights in the channels-last layout (faster convolutions on the CPU, same values); a
        net of each layout is cached, so that no caller changes the layout of a shared net.

    Returns
    -------
    net : nn.Module
        Eval mode, no gradients; shared by every caller, also across threads (copy it before
        training; never change it in place).
    metadata : dict

    Raises
    ------
    ValueError
        If `channels` is not 1 or 3, or the net was trained on another channel count.
    noise2x.weights.WeightsError
        If the file is missing or unreadable.
    """
    from noise2x.weights import PRIORS, WEIGHTS_DIR, load_net, weights_path

    if channels not in PRIORS:
        raise ValueError(f"prior: expected 1 or 3 channels, got {channels}")
    path = weights_path(weights) if weights is not None else WEIGHTS_DIR / PRIORS[channels]
    stamp = path.stat().st_mtime_ns if path.exists() else 0
    key = (str(path.resolve()), stamp, str(device), channels_last)
    if key not in _LOADED:
        net, metadata = load_net(path, device)
        if channels_last:
            net.to(memory_format=torch.channels_last)  # before it is shared
        _LOADED[key] = net, metadata
    net, metadata = _LOADED[key]
    if int(metadata["channels"]) != channels:
        raise ValueError(
            f"prior: {path} was trained on {metadata['channels']}-channel images, "
            f"the image has {channels}"
        )
    return net, metadata


def input_share(sigma: float, full: float, none: float, weight: float) -> float:
    """Return the input's share in the prior's result at an estimated noise level.

    Parameters
    ----------
    sigma : float
        Estimated Gaussian sigma of the input, 0-255 scale (>= 0).
    full, none : float
        Up to `full` the share is `weight`; it falls linearly to 0 at `none` (> `full`).
    weight : float
        The share of a nearly noise-free input, in [0, 1].

    Returns
    -------
    float in [0, `weight`]

    Raises
    ------
    ValueError
        If `none` <= `full` or `weight` is outside [0, 1].

    Examples
    --------
    >>> [input_share(s, 2.5, 5.0, 1.0) for s in (0.0, 2.5, 3.75, 5.0, 25.0)]
    [1.0, 1.0, 0.5, 0.0, 0.0]

    References
    ----------
    noise2x's own rule; the shipped bounds (``noise2x.weights.PRIOR_PASS_THROUGH``) were chosen
    on validation images by ``benchmarks/prior_pass_through.py``.
    """
    if not (math.isfinite(full) and math.isfinite(none) and none > full) or not (
        0.0 <= weight <= 1.0
    ):
        raise ValueError(
            "input_share: needs finite full < none and weight in [0, 1], "
            f"got {full}, {none}, {weight}"
        )
    return weight * min(1.0, max(0.0, (none - sigma) / (none - full)))


def _estimated_sigma_255(noisy: Tensor) -> float:
    """Gaussian sigma of (1, C, H, W) `noisy` on the 0-255 scale (wavelet MAD); 0 if constant."""
    from noise2x.noise.estimate import estimate_sigma

    try:
        return 255.0 * estimate_sigma(noisy[0].detach().float().cpu().numpy())
    except ValueError:  # a constant image: no noise to speak of
        return 0.0


@dataclass(frozen=True)
class PriorConfig:
    """Settings of the shipped prior (the schema of ``conf/method/prior.yaml``).

    Attributes
    ----------
    weights : str or None
        A ``.safetensors`` file of ``noise2x.weights.save_weights`` or a shipped file's bare
        name (``noise2x list``); None: the shipped prior.
    gate : bool
        Pick the grey net from the image's estimated sigma (``noise2x.weights.PRIOR_BANDS``:
        the default, low-noise, low-to-middle, middle-noise or high-noise net; grey only;
        ignored with `weights`).
    gate_sigma : float or None
        Lowest estimated sigma of the high-noise net's band, 0-255 scale (> 0; bands that
        would start above it are dropped); None: the shipped one.
    ensemble : int 1-8 or None
        Flips / rotations averaged at inference (self-ensemble). 4: the image and its
        quarter, half and three-quarter turns; 5-8 add their mirror images. None: by the
        image's size, as many as fit `ENSEMBLE_BUDGET` pixels of passes, from
        `ENSEMBLE_LEAST` to `ENSEMBLE_MOST` (6 up to 256 x 256 pixels, 5 up to 280 x 280, 4
        above).
    adapt : bool
        Fine-tune the prior on the image first (test-time adaptation, guarded).
    blend : float
        Weight of the adapted net's output in the result, in [0, 1]; the rest is the prior's
        (the net the gate picked, unadapted). 1: the adapted net alone. With `adapt` only.
    steps : int
        Most adaptation steps (>= 1).
    lr : float
        Adam's learning rate after the warm-up (> 0).
    warmup : float
        Fraction of the steps over which the rate rises linearly to `lr`, in [0, 1].
    crop : int
        Side of the adaptation crops in pixels (>= 16; lowered to half the shorter side of a
        small image, and to an even number).
    batch_size : int
        Crops per adaptation step (>= 1).
    gamma : float
        Final weight of Neighbor2Neighbor's regulariser (ramped from ~0 over the steps).
    holdout : float
        Fraction of the tiles held out for the guard, in (0, 1).
    eval_every : int
        Steps between two measurements of the held-out loss (>= 1).
    patience : int or None
        Stop after this many evaluations without improvement; None never stops early.
    seed : int
        Seed of the held-out tiles, crops, augmentation and sub-sampler draws.
    precision : {"auto", "fp32", "bf16"}
        Of the adaptation steps ("auto": bf16 where the device runs it natively).
    inference_precision : {"fp32", "auto", "bf16"}
        Of the inference: "bf16" (or "auto" where the device runs it natively) is bfloat16
        autocast, the self-ensemble averaged in float32. On the grey validation images it
        took 0.61 of the float32 time with the 4-fold ensemble and gave 0.00-0.01 dB less
        (``benchmarks/prior_settings.py``), so float32 is the default.
    channels_last : bool
        Channels-last layout for the adaptation steps and the inference on the CPU.
    tile, overlap : int or None
        Tiling of the inference in pixels (None: from free memory; see ``denoise_tiled``).
    clip : bool
        Clip the result to [0, 1].
    pass_through : bool
        Mix a nearly noise-free input back into the result, by its estimated sigma
        (``noise2x.weights.PRIOR_PASS_THROUGH``; colour only; not with `weights` or
        `adapt`: the rule was chosen for the shipped nets on synthetic noise).
    """

    weights: str | None = None
    gate: bool = True
    gate_sigma: float | None = None
    ensemble: int | None = None
    adapt: bool = False
    blend: float = 0.75
    steps: int = 400
    lr: float = 1e-4
    warmup: float = 0.1
    crop: int = 128
    batch_size: int = 4
    gamma: float = 2.0
    holdout: float = 0.1
    eval_every: int = 20
    patience: int | None = 3
    seed: int = 0
    precision: str = "auto"
    inference_precision: str = "fp32"
    channels_last: bool = True
    tile: int | None = None
    overlap: int | None = None
    clip: bool = True
    pass_through: bool = True

    def __post_init__(self) -> None:
        checks = {
            "gate_sigma": (
                self.gate_sigma is None or (math.isfinite(self.gate_sigma) and self.gate_sigma > 0),
                "> 0 or None",
            ),
            "ensemble": (
                self.ensemble is None or is_ensemble_size(self.ensemble),
                "an integer 1-8 or null (by the image's size)",
            ),
            "blend": (math.isfinite(self.blend) and 0 <= self.blend <= 1, "in [0, 1]"),
            "steps": (self.steps >= 1, ">= 1"),
            "lr": (math.isfinite(self.lr) and self.lr > 0, "> 0"),
            "warmup": (0 <= self.warmup <= 1, "in [0, 1]"),
            "crop": (self.crop >= 16, ">= 16"),
            "batch_size": (self.batch_size >= 1, ">= 1"),
            "gamma": (math.isfinite(self.gamma) and self.gamma >= 0, ">= 0"),
            "holdout": (0 < self.holdout < 1, "in (0, 1)"),
            "eval_every": (self.eval_every >= 1, ">= 1"),
            "patience": (self.patience is None or self.patience >= 1, ">= 1 or None"),
            "precision": (self.precision in ("auto", "fp32", "bf16"), "auto, fp32 or bf16"),
            "inference_precision": (
                self.inference_precision in ("auto", "fp32", "bf16"),
                "auto, fp32 or bf16",
            ),
        }
        for name, (ok, rule) in checks.items():
            if not ok:
                raise ValueError(f"prior: {name} must be {rule}, got {getattr(self, name)!r}")


@METHODS.register("prior")
class Prior(SingleImageMethod):
    """The shipped prior (``noise2x denoise``'s default), optionally adapted to the image.

    Parameters
    ----------
    config : PriorConfig or None
        Settings; None uses the defaults (no adaptation, the self-ensemble by the image's
        size: 4-6 transforms).
    **overrides
        Fields of ``PriorConfig`` to change, e.g. ``adapt=True``.

    Attributes
    ----------
    gate, pass_through, adaptation : dict or None
        The last call's decisions: the gate's estimated sigma and net, the input's share,
        the adaptation's record (None where they did not apply).
    ensemble_size : int or None
        Transforms the last call's self-ensemble averaged (1-8).

    Raises
    ------
    TypeError
        If an override is not a field of the config.
    ValueError
        If a setting is out of range.

    Examples
    --------
    >>> clean = torch.linspace(0, 1, 64).repeat(64, 1)[None, None]
    >>> noisy = clean + 0.1 * torch.randn(1, 1, 64, 64, generator=torch.Generator().manual_seed(0))
    >>> result = Prior(ensemble=1).fit(noisy, device="cpu")
    >>> bool(psnr_db(result.denoised, clean) > psnr_db(noisy, clean) + 5)
    True
    """

    name: ClassVar[str] = "prior"
    single_image: ClassVar[bool] = True
    trainable: ClassVar[bool] = True  # a net and a loss (the adaptation); shipped pretrained
    Config: ClassVar[type] = PriorConfig

    def __init__(self, config=None, **overrides) -> None:
        super().__init__(config, **overrides)
        self._adapted: nn.Module | None = None
        self._adapted_to: tuple[int, str] | None = None
        self.adaptation: dict | None = None
        self.gate: dict | None = None
        self.pass_through: dict | None = None
        self.ensemble_size: int | None = None

    def default_net(self, channels: int) -> nn.Module:
        """Return a trainable copy of the shipped prior for `channels` (1 or 3)."""
        net, _ = load_prior(channels, self.config.weights)
        return copy.deepcopy(net).requires_grad_(True)

    def training_loss(self, net: nn.Module, batch: Batch, step: int) -> Tensor:
        """Return the adaptation loss (Neighbor2Neighbor's rec + gamma * reg) of a batch."""
        generator = torch.Generator(device=batch.noisy.device).manual_seed(self.config.seed + step)
        rec, reg = ne2ne_terms(net, batch.noisy, generator)
        return rec + ne2ne_gamma(step, self.config.steps, self.config.gamma) * reg

    def denoise(self, net: nn.Module, noisy: Tensor) -> Tensor:
        """Return the self-ensembled, tiled output of `net` for (B, C, H, W) `noisy`.

        The ensemble's size is ``ensemble``, or when None ``ensemble_for_size`` of one
        image's H x W (not of a tile, not times B) with `ENSEMBLE_BUDGET`, `ENSEMBLE_LEAST`
        and `ENSEMBLE_MOST`; it is kept in ``self.ensemble_size``.

        Parameters
        ----------
        net : nn.Module
            The denoiser, (B, C, H, W) -> (B, C, H, W).
        noisy : Tensor, shape (B, C, H, W), float32, nominally in [0, 1]
            On the net's device.

        Returns
        -------
        Tensor, shape (B, C, H, W), float32; clipped to [0, 1] when ``clip`` is set.
        """
        from noise2x.ops.tiling import denoise_tiled

        n = self.config.ensemble
        if n is None:
            n = ensemble_for_size(
                noisy.shape[-2], noisy.shape[-1], ENSEMBLE_BUDGET, ENSEMBLE_LEAST, ENSEMBLE_MOST
            )
        self.ensemble_size = n

        def forward(x: Tensor) -> Tensor:
            return self_ensemble(net, x, n)

        with torch.inference_mode(), self._autocast(noisy.device, self.config.inference_precision):
            out = denoise_tiled(
                forward,
                noisy,
                tile=self.config.tile,
                overlap=self.config.overlap,
                multiple=int(getattr(net, "size_multiple", 1)),
                bytes_per_pixel=float(getattr(net, "peak_bytes_per_pixel", 1600.0)),
            )
        out = out.float()
        return out.clamp(0.0, 1.0) if self.config.clip else out

    def fit(
        self,
        noisy: Tensor,
        reference: Tensor | None = None,
        device: str | torch.device | None = "auto",
        progress: Callable[[int, int], None] | None = None,
        log_every: int = 0,
    ) -> FitResult:
        """Denoise `noisy` with the prior, adapting it first when ``adapt`` is set.

        Parameters
        ----------
        noisy : Tensor, shape (1, C, H, W), float32, nominally in [0, 1]
            One noisy image; C is 1 or 3; H, W >= 2 (adaptation needs 32 x 32).
        reference : Tensor or None, shape (1, C, H, W)
            A clean image, used only for ``psnr_history`` (step 0: before adaptation).
        device : str or torch.device or None
            "auto" (CUDA if present), "cpu" or "cuda".
        progress : callable (done, total) or None
            Called after every adaptation step and once at the end.
        log_every : int
            Unused (the prior has no training loop to log); kept for the common signature.

        Returns
        -------
        FitResult
            ``loss_history`` holds the adaptation's training losses (empty without it);
            ``self.adaptation`` the guard's record (held-out history, best step, kept prior).

        Raises
        ------
        ValueError
            If `noisy` is not one (1, C, H, W) image with C in {1, 3}, is not finite, or is
            smaller than 32 x 32 when adapting.
        noise2x.weights.WeightsError
            If the weights file cannot be read.
        """
        if noisy.ndim != 4 or noisy.shape[0] != 1 or noisy.shape[1] not in (1, 3):
            raise ValueError(
                f"prior: expected one (1, C, H, W) image, C = 1 or 3, got {tuple(noisy.shape)}"
            )
        if not bool(torch.isfinite(noisy).all()):
            raise ValueError("prior: the image contains NaN/Inf")
        start = time.perf_counter()
        dev = resolve_device(device)
        x = noisy.to(dev, torch.float32)
        history: list[float] = []
        if not (self.config.adapt and self._adapted is not None):  # else: the adapted net
            weights = self.choose_weights(x)  # the gate decides
            net, _ = load_prior(x.shape[1], weights, dev, self._use_channels_last(dev))
        if self.config.adapt:
            if self._adapted is None:
                adapted, history = self._adapt(net, x, progress)
                self._adapted = self._blend(adapted, net)
                self._adapted_to = (x.shape[1], str(dev))
            elif self._adapted_to != (x.shape[1], str(dev)):
                raise ValueError(
                    f"prior: this object was adapted to {self._adapted_to[0]}-channel images on "
                    f"{self._adapted_to[1]}; build a new one for this image"
                )
            net = self._adapted
        denoised = self.pass_through_input(x, self.denoise(net, x))
        psnr = [] if reference is None else [(0, psnr_db(denoised, reference.to(dev)))]
        if progress is not None:
            progress(1, 1)
        return FitResult(
            denoised=denoised.to(noisy.device),
            net=net if self.config.adapt else copy.deepcopy(net),  # never the shared cache
            loss_history=history,
            psnr_history=psnr,
            seconds=time.perf_counter() - start,
        )

    def choose_weights(self, noisy: Tensor) -> str | None:
        """Return the weights file for `noisy` (None: the default shipped prior); the gate.

        Without ``weights`` and with ``gate`` on, the Gaussian noise level of `noisy` is
        estimated (``noise2x.noise.estimate.estimate_sigma``, wavelet MAD; 0-255 scale) and
        the file of the last band of ``noise2x.weights.PRIOR_BANDS`` whose lowest sigma it
        reaches is returned (``gate_sigma`` moves the start of the last, high-noise band).
        The decision is kept in ``self.gate`` (estimated sigma, bands, file). An image whose
        level cannot be estimated (a constant one) counts as noise-free (estimate 0).

        Parameters
        ----------
        noisy : Tensor, shape (1, C, H, W), float32, nominally in [0, 1]

        Returns
        -------
        str or None
            A ``.safetensors`` path for ``load_prior``; None for the default prior.

        Raises
        ------
        Nothing: an image whose level cannot be estimated gets the estimate 0.

        References
        ----------
        D. L. Donoho and I. M. Johnstone, "Ideal spatial adaptation by wavelet shrinkage",
        Biometrika 81(3), 1994 (the noise estimate).
        """
        from noise2x.weights import PRIOR_BANDS, PRIORS, WEIGHTS_DIR

        self.gate = None
        channels = noisy.shape[1]
        bands = list(PRIOR_BANDS.get(channels, ()))
        if self.config.weights is not None or not self.config.gate or len(bands) < 2:
            return self.config.weights
        if self.config.gate_sigma is not None:
            high = (self.config.gate_sigma, bands[-1][1])
            bands = [*(b for b in bands[:-1] if b[0] < high[0]), high]
        sigma = _estimated_sigma_255(noisy)
        name = bands[0][1]
        for start, file in bands:
            if sigma >= start:
                name = file
        chosen = None if name == PRIORS[channels] else name
        self.gate = {
            "estimated_sigma": round(sigma, 3),
            "bands": [[start, file] for start, file in bands],
            "weights": chosen,
        }
        return str(WEIGHTS_DIR / chosen) if chosen is not None else None

    def pass_through_input(self, noisy: Tensor, denoised: Tensor) -> Tensor:
        """Return `denoised` with the share of `noisy` that its estimated sigma calls for.

        With ``pass_through`` on, neither ``weights`` nor ``adapt`` given and a rule for the
        channel count in ``noise2x.weights.PRIOR_PASS_THROUGH``: the Gaussian noise level of
        `noisy` is estimated (0-255 scale, as for the gate) and the result is ``w * noisy +
        (1 - w) * denoised`` with ``w = input_share(sigma, *rule)`` (clipped to [0, 1] with
        ``clip``). The decision is kept in ``self.pass_through`` (estimated sigma, w); None
        when no rule applies. Each call decides for its own image (each frame of a stack).

        Parameters
        ----------
        noisy : Tensor, shape (1, C, H, W), float32, nominally in [0, 1]
            The input of the prior.
        denoised : Tensor, shape (1, C, H, W), float32, in [0, 1] with ``clip``
            The prior's output for it.

        Returns
        -------
        Tensor, shape (1, C, H, W), float32
            `denoised` itself when no rule applies or the share is 0.

        Raises
        ------
        Nothing: an image whose level cannot be estimated gets the estimate 0.

        Examples
        --------
        >>> flat = torch.full((1, 3, 32, 32), 0.5)
        >>> method = Prior(ensemble=1)
        >>> out = method.pass_through_input(flat, flat - 0.1)  # 0.7 * 0.5 + 0.3 * 0.4
        >>> torch.allclose(out, torch.full_like(flat, 0.47))
        True
        >>> method.pass_through
        {'estimated_sigma': 0.0, 'input_share': 0.7}
        """
        from noise2x.weights import PRIOR_PASS_THROUGH

        self.pass_through = None
        rule = PRIOR_PASS_THROUGH.get(noisy.shape[1])
        cfg = self.config
        if not cfg.pass_through or cfg.weights is not None or cfg.adapt or rule is None:
            return denoised
        sigma = _estimated_sigma_255(noisy)
        share = input_share(sigma, *rule)
        self.pass_through = {"estimated_sigma": round(sigma, 3), "input_share": round(share, 4)}
        if share == 0.0:
            return denoised
        out = torch.lerp(denoised, noisy.to(denoised.dtype), share)
        return out.clamp(0.0, 1.0) if self.config.clip else out

    def _blend(self, adapted: nn.Module, prior: nn.Module) -> nn.Module:
        """Return `adapted` mixed with a copy of `prior` by ``blend`` (alone if prior was kept)."""
        weight = self.config.blend
        self.adaptation["blend"] = weight
        if weight >= 1.0 or self.adaptation["kept_prior"]:
            return adapted
        return Blend(adapted, copy.deepcopy(prior), weight)  # never the shared cached net

    def _adapt(
        self, prior: nn.Module, noisy: Tensor, progress: Callable[[int, int], None] | None
    ) -> tuple[nn.Module, list[float]]:
        """Fine-tune a copy of `prior` on `noisy` (1, C, H, W), guarded by held-out tiles."""
        cfg = self.config
        height, width = noisy.shape[-2:]
        if min(height, width) < 32:
            raise ValueError(f"prior: adaptation needs at least 32x32 pixels, got {height}x{width}")
        crop = max(16, min(cfg.crop, min(height, width) // 2)) // 2 * 2
        tile = max(16, min(crop // 2, min(height, width) // 8)) // 2 * 2
        generator = torch.Generator().manual_seed(cfg.seed)
        corners = holdout_tiles(height, width, tile, cfg.holdout, generator)
        allowed = allowed_starts(height, width, crop, corners, tile)
        held = torch.cat([noisy[..., r : r + tile, c : c + tile] for r, c in corners.tolist()])
        net = copy.deepcopy(prior).eval().requires_grad_(True)  # eval: frozen norm statistics
        channels_last = self._use_channels_last(noisy.device)
        if channels_last:
            net.to(memory_format=torch.channels_last)
        step_of = iter(range(1 << 62))
        rows, cols = allowed.nonzero(as_tuple=True)
        if len(rows) == 0:
            raise ValueError(
                f"prior: no {crop}x{crop} crop of the {height}x{width} image avoids the held-out "
                "tiles; lower method.holdout or method.crop"
            )

        def sample() -> tuple[Tensor, int]:
            pick = torch.randint(len(rows), (cfg.batch_size,), generator=generator).tolist()
            crops = torch.cat(
                [noisy[..., rows[i] : rows[i] + crop, cols[i] : cols[i] + crop] for i in pick]
            )
            turns = torch.randint(0, 8, (1,), generator=generator).item()
            return self._layout(dihedral(crops, int(turns))), next(step_of)

        def loss_fn(net: nn.Module, batch: tuple[Tensor, int]) -> Tensor:
            crops, step = batch
            return self.training_loss(net, Batch(noisy=crops), step)

        def evaluate() -> float:
            draw = torch.Generator(device=noisy.device).manual_seed(cfg.seed + 7919)
            with torch.no_grad():
                rec, _ = ne2ne_terms(net, held, draw, regularise=False)
            return float(rec)

        run = guarded_optimise(
            net, sample, loss_fn, evaluate, cfg.steps, cfg.lr, cfg.warmup, cfg.eval_every,
            cfg.patience, self._use_bf16(noisy.device), progress,
        )  # fmt: skip
        net.eval().requires_grad_(False)  # kept channels-last where it trained so (the CPU)
        self.adaptation = {
            "kept_prior": run["best_step"] == 0,
            "best_step": run["best_step"],
            "steps": run["steps"],
            "holdout_history": run["holdout_history"],
            "holdout_tiles": len(corners),
            "tile": tile,
            "crop": crop,
        }
        return net, run["train_history"]
