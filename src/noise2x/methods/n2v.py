"""Noise2Void, N2V2 and structN2V: blind-spot training on single noisy images.

Each training patch y gets about ``ratio`` of its pixels hidden (stratified on a grid) and
replaced from their neighbourhood (``noise2x.ops.blind_spot.mask_blind_spots``); the net sees
the masked patch and the loss is the squared error at the hidden pixels only, against their
original noisy values. At inference the net sees the whole image, nothing hidden.

- **Noise2Void** (``method=n2v``): uniform replacement from the 5 x 5 window without the
  centre (``uniform_cp``: with it), the Noise2Noise U-Net (``unet_n2n``).
- **N2V2** (``method=n2v2``): median replacement, and a U-Net with max-blur-pooling and no
  top-level skip (``net.pool=blur net.top_skip=false``; `default_net` builds it for single
  images). Each of the three changes is a switch (``method.replacement``, ``net.pool``,
  ``net.top_skip``), so that each effect can be measured.
- **structN2V**: ``method.struct_length=L`` (> 1) also hides a line of L - 1 pixels through
  each blind spot along ``method.struct_axis``, for noise correlated along rows or columns.

On a data set: ``noise2x train method=n2v data=noisy_folder data.root=DIR`` (any data that
gives noisy crops; only ``batch.noisy`` is read). On one image or stack: ``noise2x denoise
--method n2v`` trains a fresh net on that image (`fit`: crops of every frame, Adam with a
short warm-up, the weights with the lowest blind-spot loss on held-out tiles kept, by the
guarded loop of ``noise2x.train.loop``).

References
----------
A. Krull, T.-O. Buchholz and F. Jug, "Noise2Void - Learning Denoising from Single Noisy
Images", CVPR 2019, arXiv:1811.10980. E. Höck, T.-O. Buchholz, A. Brachmann, F. Jug and
A. Freytag, "N2V2", ECCV Workshops 2022, arXiv:2211.08512. C. Broaddus, A. Krull, M. Weigert,
U. Schmidt and G. Myers, "Removing Structured Noise with Self-Supervised Blind-Spot Networks",
ISBI 2020, arXiv:1910.07479.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from noise2x.device import resolve_device
from noise2x.losses.base import Loss
from noise2x.methods.base import METHODS, Batch, FitResult, SingleImageMethod, psnr_db
from noise2x.methods.ne2ne import neighbor_validation_pair
from noise2x.ops.blind_spot import REPLACEMENTS, mask_blind_spots, masked_mse
from noise2x.train.loop import allowed_starts, guarded_optimise, holdout_tiles

__all__ = ["N2V2", "N2V2Config", "N2VConfig", "Noise2Void"]


@dataclass(frozen=True)
class N2VConfig:
    """Settings of Noise2Void (the schema of ``conf/method/n2v.yaml``).

    Attributes
    ----------
    ratio : float
        Fraction of each patch's pixels hidden, in (0, 1] (0.002: the paper's 0.2 %).
    radius : int
        Neighbourhood half-size in pixels (2: a 5 x 5 window), >= 1.
    replacement : {"uniform", "uniform_cp", "median"}
        Random neighbour (N2V), the same with the centre (``uniform_cp``) or the median (N2V2).
    struct_length : int
        structN2V's line mask in pixels, centre included (1: none).
    struct_axis : {"rows", "cols"}
        Direction of the line: along rows for noise correlated horizontally.
    seed : int
        Seed of the masks (and, for single images, of the net, crops and held-out tiles).
    steps : int
        Single image: training steps (>= 1).
    lr : float
        Single image: Adam's learning rate (> 0), after a 5 % warm-up.
    crop : int
        Single image: side of the training crops in pixels (>= 16).
    batch_size : int
        Single image: crops per step (>= 1).
    eval_every : int
        Single image: steps between measurements of the held-out blind-spot loss.
    pool : {"max", "blur"}
        Single image: the U-Net's pooling (``blur``: N2V2).
    top_skip : bool
        Single image: the U-Net's top-level skip (False: N2V2).
    precision : {"auto", "fp32", "bf16"}
        Single image: of the training steps.
    channels_last : bool
        Single image: channels-last layout on the CPU.
    clip : bool
        Clip the result to [0, 1].
    """

    ratio: float = 0.002
    radius: int = 2
    replacement: str = "uniform"
    struct_length: int = 1
    struct_axis: str = "rows"
    seed: int = 0
    steps: int = 1500
    lr: float = 4e-4
    crop: int = 64
    batch_size: int = 8
    eval_every: int = 100
    pool: str = "max"
    top_skip: bool = True
    precision: str = "auto"
    channels_last: bool = True
    clip: bool = True

    def __post_init__(self) -> None:
        checks = {
            "ratio": (0 < self.ratio <= 1, "in (0, 1]"),
            "radius": (self.radius >= 1, ">= 1"),
            "replacement": (self.replacement in REPLACEMENTS, " or ".join(REPLACEMENTS)),
            "struct_length": (self.struct_length >= 1, ">= 1"),
            "struct_axis": (self.struct_axis in ("rows", "cols"), "rows or cols"),
            "steps": (self.steps >= 1, ">= 1"),
            "lr": (math.isfinite(self.lr) and self.lr > 0, "> 0"),
            "crop": (self.crop >= 16, ">= 16"),
            "batch_size": (self.batch_size >= 1, ">= 1"),
            "eval_every": (self.eval_every >= 1, ">= 1"),
            "pool": (self.pool in ("max", "blur"), "max or blur"),
            "precision": (self.precision in ("auto", "fp32", "bf16"), "auto, fp32 or bf16"),
        }
        for name, (ok, rule) in checks.items():
            if not ok:
                raise ValueError(f"n2v: {name} must be {rule}, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class N2V2Config(N2VConfig):
    """N2V2's defaults: median replacement, max-blur-pooling, no top-level skip."""

    replacement: str = "median"
    pool: str = "blur"
    top_skip: bool = False


@METHODS.register("n2v")
class Noise2Void(SingleImageMethod):
    """Noise2Void: blind-spot training on a data set (``noise2x train``) or one image (`fit`).

    Parameters
    ----------
    config : N2VConfig or None
        Settings; None uses the defaults.
    loss : Loss or None
        Must be None or ``l2``: the blind-spot loss is a squared error. Accepted so that
        ``noise2x train`` can pass its ``loss`` group.
    total_steps : int or None
        Accepted from ``noise2x train`` (unused: no schedule inside the loss).
    **overrides
        Fields of the config to change, e.g. ``replacement="median"``.

    Raises
    ------
    TypeError
        If an override is not a field of the config.
    ValueError
        If a setting is out of range, or `loss` is not L2.

    Examples
    --------
    >>> method = Noise2Void(ratio=0.01)
    >>> net = method.default_net(1)
    >>> loss = method.training_loss(net, Batch(noisy=torch.rand(2, 1, 32, 32)), step=0)
    >>> loss.shape, bool(loss > 0)
    (torch.Size([]), True)
    """

    name: ClassVar[str] = "n2v"
    single_image: ClassVar[bool] = False  # trains on data sets; `fit` serves single images
    trainable: ClassVar[bool] = True
    needs_target: ClassVar[bool] = False  # reads batch.noisy only (data=noisy_folder works)
    patch_multiple: ClassVar[int] = 1
    # Held-out noisy image -> (g1(y), g2(y)) of Neighbor2Neighbor's sub-sampler: a full-image
    # PSNR of f(y) against y would reward copying y; the neighbour pair ranks any denoiser.
    validation_pair = staticmethod(neighbor_validation_pair)
    loss_names: ClassVar[tuple[str, ...]] = ("l2",)
    fits_stack: ClassVar[bool] = True  # `fit` trains once on every frame of a stack
    Config: ClassVar[type] = N2VConfig

    def __init__(
        self, config=None, loss: Loss | None = None, total_steps: int | None = None, **overrides
    ) -> None:
        super().__init__(config, **overrides)
        if loss is not None and getattr(loss, "name", None) != "l2":
            raise ValueError(
                f"{self.name}'s loss is the squared error at the blind spots; leave loss=l2, "
                f"got loss {getattr(loss, 'name', type(loss).__name__)!r}"
            )
        from noise2x.losses.base import build_loss

        self.loss = loss if loss is not None else build_loss("l2")  # kept for the trainer
        self.total_steps = total_steps
        self.trained: nn.Module | None = None
        self.record: dict | None = None

    def default_net(self, channels: int) -> nn.Module:
        """Return the U-Net of ``unet_n2n`` with the config's ``pool`` and ``top_skip``."""
        from noise2x.nets.unet_n2n import UNetN2N

        return UNetN2N(channels=channels, pool=self.config.pool, top_skip=self.config.top_skip)

    def generator(self, step: int) -> torch.Generator:
        """Return the CPU generator of the masks at `step`, seeded by (name, seed, step)."""
        text = f"{self.name}/{self.config.seed}/{step}".encode()
        return torch.Generator().manual_seed(int.from_bytes(hashlib.sha256(text).digest()[:7]))

    def training_loss(self, net: nn.Module, batch: Batch, step: int) -> Tensor:
        """Return the squared error of ``net(masked)`` at the blind spots of ``batch.noisy``.

        Parameters
        ----------
        net : nn.Module
            Maps (B, C, H, W) to (B, C, H, W).
        batch : Batch
            ``noisy`` (B, C, H, W) float32; ``target`` and ``clean`` are never read.
        step : int
            0-based step: seeds the masks.

        Returns
        -------
        Tensor, shape (), float32
        """
        cfg = self.config
        masked, mask = mask_blind_spots(
            batch.noisy, cfg.ratio, cfg.radius, cfg.replacement, cfg.struct_length,
            cfg.struct_axis, self.generator(step),
        )  # fmt: skip
        return masked_mse(net(masked), batch.noisy, mask)

    def denoise(self, net: nn.Module, noisy: Tensor) -> Tensor:
        """Return ``net(noisy)`` (nothing hidden), tiled for large images: same shape, device."""
        from noise2x.ops.tiling import denoise_tiled

        with torch.inference_mode():
            out = denoise_tiled(
                net,
                noisy,
                multiple=int(getattr(net, "size_multiple", 1)),
                bytes_per_pixel=float(getattr(net, "peak_bytes_per_pixel", 1600.0)),
            ).float()
        return out.clamp(0.0, 1.0) if self.config.clip else out

    # --- one image or stack ----------------------------------------------------------------------
    def fit(
        self,
        noisy: Tensor,
        reference: Tensor | None = None,
        device: str | torch.device | None = "auto",
        progress: Callable[[int, int], None] | None = None,
        log_every: int = 0,
    ) -> FitResult:
        """Train a fresh net on `noisy` alone with the blind-spot loss; return the denoised image.

        A random 10 % of a grid of square tiles (side ``min(crop, min(H, W) // 4)``) is held
        out of training; the blind-spot loss on those tiles (fixed masks) is measured every
        ``eval_every`` steps, and the weights with the lowest value are used. The trained net
        is kept (``self.trained``): a later call with images of the same channels on the same
        device (the next frames of a stack streamed by the CLI, which so trains on the first
        frame only) is denoised with it, without training again.

        Parameters
        ----------
        noisy : Tensor, shape (N, C, H, W), float32, nominally in [0, 1]
            One image (N = 1) or the frames of a stack (crops are drawn from all of them);
            H, W >= 32.
        reference : Tensor or None, same shape
            A clean image, for ``psnr_history`` only (at the end).
        device : str or torch.device or None
            "auto" (CUDA if present), "cpu" or "cuda".
        progress : callable (done, total) or None
            Called after every step.
        log_every : int
            Unused; kept for the common signature.

        Returns
        -------
        FitResult

        Raises
        ------
        ValueError
            If `noisy` is not (N, C, H, W) with C in {1, 3} and H, W >= 32, or not finite.
        """
        if noisy.ndim != 4 or noisy.shape[1] not in (1, 3) or min(noisy.shape[-2:]) < 32:
            raise ValueError(
                f"{self.name} needs (N, C, H, W) images with C = 1 or 3 and H, W >= 32, "
                f"got {tuple(noisy.shape)}"
            )
        if not bool(torch.isfinite(noisy).all()):
            raise ValueError(f"{self.name}: the image contains NaN/Inf")
        start = time.perf_counter()
        cfg = self.config
        dev = resolve_device(device)
        images = noisy.to(dev, torch.float32)
        device_of = None if self.trained is None else next(self.trained.parameters()).device
        if self.trained is not None and (self.trained.channels, device_of) == (
            images.shape[1],
            dev,
        ):
            with torch.no_grad():
                out = torch.cat([self.denoise(self.trained, frame[None]) for frame in images])
            seconds = time.perf_counter() - start
            return FitResult(denoised=out.to(noisy.device), net=self.trained, seconds=seconds)
        height, width = images.shape[-2:]
        crop = min(cfg.crop, min(height, width) // 2)
        tile = max(16, min(crop, min(height, width) // 4))
        generator = torch.Generator().manual_seed(cfg.seed)
        corners = holdout_tiles(height, width, tile, 0.1, generator)
        rows, cols = allowed_starts(height, width, crop, corners, tile).nonzero(as_tuple=True)
        if len(rows) == 0:
            raise ValueError(
                f"{self.name}: no {crop}x{crop} crop of the {height}x{width} image avoids the "
                "held-out tiles; lower method.crop"
            )
        # held-out tiles of the first frame only: the guard's cost does not grow with a stack
        held = torch.cat([images[:1, :, r : r + tile, c : c + tile] for r, c in corners.tolist()])
        held_masked, held_mask = mask_blind_spots(
            held, max(cfg.ratio, 1 / tile**2), cfg.radius, cfg.replacement, cfg.struct_length,
            cfg.struct_axis, torch.Generator().manual_seed(cfg.seed + 1),
        )  # fmt: skip
        init = torch.Generator().manual_seed(cfg.seed)
        net = self.default_net(images.shape[1])
        from noise2x.nets.base import init_weights

        init_weights(net, init)
        net = net.to(dev).train()
        if self._use_channels_last(dev):
            net.to(memory_format=torch.channels_last)
        step_of = iter(range(1 << 62))

        def sample() -> tuple[Tensor, int]:
            pick = torch.randint(len(rows), (cfg.batch_size,), generator=generator).tolist()
            frames = torch.randint(len(images), (cfg.batch_size,), generator=generator).tolist()
            crops = torch.stack(
                [
                    images[f, :, rows[i] : rows[i] + crop, cols[i] : cols[i] + crop]
                    for f, i in zip(frames, pick, strict=True)
                ]
            )
            return self._layout(crops), next(step_of)

        def loss_fn(net: nn.Module, batch: tuple[Tensor, int]) -> Tensor:
            crops, step = batch
            return self.training_loss(net, Batch(noisy=crops), step)

        def evaluate() -> float:
            with torch.no_grad():
                return float(masked_mse(net(held_masked), held, held_mask))

        run = guarded_optimise(
            net, sample, loss_fn, evaluate, cfg.steps, cfg.lr, 0.05, cfg.eval_every, None,
            self._use_bf16(dev), progress,
        )  # fmt: skip
        net.to(memory_format=torch.contiguous_format).eval().requires_grad_(False)
        with torch.no_grad():
            denoised = torch.cat([self.denoise(net, frame[None]) for frame in images])
        psnr = [] if reference is None else [(run["steps"], psnr_db(denoised, reference.to(dev)))]
        self.trained, self.record = net, run
        return FitResult(
            denoised=denoised.to(noisy.device),
            net=net,
            loss_history=run["train_history"],
            psnr_history=psnr,
            seconds=time.perf_counter() - start,
        )


@METHODS.register("n2v2")
class N2V2(Noise2Void):
    """N2V2: Noise2Void with median replacement and the blur-pooled U-Net without top skip.

    In ``noise2x train`` the net comes from the ``net`` group: give ``net.pool=blur
    net.top_skip=false`` (a net unlike ``method.pool`` / ``method.top_skip`` is refused at
    the first step; change both to measure one switch).

    Examples
    --------
    >>> N2V2().default_net(1).top_skip
    False
    """

    name: ClassVar[str] = "n2v2"
    Config: ClassVar[type] = N2V2Config

    def training_loss(self, net: nn.Module, batch: Batch, step: int) -> Tensor:
        """As Noise2Void's; raises ValueError for a U-Net unlike the config's (pool, top_skip)."""
        if hasattr(net, "pools") and hasattr(net, "top_skip"):
            pool = "max" if isinstance(net.pools[0], nn.MaxPool2d) else "blur"
            wanted = (self.config.pool, self.config.top_skip)
            if (pool, net.top_skip) != wanted:
                raise ValueError(
                    f"n2v2 with method.pool={wanted[0]} method.top_skip={str(wanted[1]).lower()} "
                    f"needs net.pool={wanted[0]} net.top_skip={str(wanted[1]).lower()}, got "
                    f"net.pool={pool} net.top_skip={str(net.top_skip).lower()}"
                )
        return super().training_loss(net, batch, step)
