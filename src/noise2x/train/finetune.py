# size: half of it is the docstring with the measurements behind the recipe
"""Safe fine-tuning of a trained Noise2Noise model on one noisy pair (symmetric loss).

Given a net f trained with Noise2Noise and two noisy realizations y1, y2 of one new scene,
`finetune` adapts f to that scene with the symmetric loss of ``noise2x.losses``,
||f(y1) - y2||^2 + ||f(y2) - y1||^2, and keeps the result only if it denoises better than
the pretrained net on pixels it never trained on.

Recipe (each choice backed by the measurements below):

- **Adam with a linear warm-up and a small rate.** lr = 1e-4 (1/3 of the Noise2Noise training
  rate), reached linearly over the first 10 % of the steps. Adam's first update is
  lr * m / sqrt(v) = lr * sign(g) for *every* weight, whatever the size of its gradient: at
  lr = 1e-3 all ~1M weights and biases of the U-Net move by 1e-3 at once, which through 18
  layers is a global shift of the grey levels. This is what collapses a naive fine-tuning.
- **Held-out tiles and a guard.** The pair is cut into a grid of square tiles; a random
  fraction (`holdout`, default 10 %, at most 64 tiles) is held out. Training crops never touch
  a held-out tile (neither as input nor as target), so the symmetric loss on the held-out
  tiles estimates 2 (MSE(f(y), x) + s^2) for independent zero-mean noise of standard
  deviation s: a proxy of the denoising error that training cannot fit. It is measured
  before training and every `eval_every` steps; the weights with the lowest held-out loss
  are kept, training stops after `patience` evaluations without improvement, and if no
  evaluation beats the pretrained net its weights are returned unchanged
  (``kept_pretrained``).
- **Random crops, as in training.** Batches of `batch_size` random `crop` x `crop` crops
  (8 x 64 x 64, the ``noise2x train`` defaults) at the same position in both images, with
  the same random flip / 90-degree rotation, instead of the same whole pair at every step.
- **Normalisation layers frozen.** The net stays in eval mode while it trains: a BatchNorm
  layer in train mode replaces its running statistics (of the training set) with those of
  the one image. None of noise2x's nets (``unet_n2n``, ``red30``, ``resunet``,
  ``zsn2n_cnn``) has normalisation layers; a net registered later may.
- **No clipping of the training output**, and both images mapped to the model's [0, 1] scale
  by one affine map (``noise2x finetune`` uses the rule of ``noise2x.api``), never each image
  on its own.

Findings. Pretrained model: the paper's U-Net, ``noise2x train`` on Train400 at sigma 25.5
for 800 steps (validation 25.74 dB); images: centred crops of ../shared/data/seed/Prob4.png
(grey), two realizations with std 0.1 (sigma 25.5), PSNR of f(y1) against the clean crop.

- *The collapse is Adam's first steps at lr 1e-3.* Naive recipe (the whole pair as one
  sample, Adam with PyTorch's defaults, train mode, no guard), 512 x 512: 26.44 dB before,
  then 14.94, 10.53 and 11.59 dB after epochs 1, 2, 3, grey levels shifted by -0.25 (darker)
  at epoch 2: the reported symptom (a 36 dB model at 9.4 dB, darker). On 256 x 256: 24.36 dB
  -> 9.85 dB (shift -0.27) after one epoch, 22.13 dB after ten; at lr 1e-4: 22.79 dB after
  one epoch (shift -0.04) and 24.37 after ten (no gain); at lr 1e-5: 24.42 after ten (+0.06).
  Random crops alone do not help: 8 crops of 64 x 64 at lr 1e-3 without warm-up fall to
  24.82 dB after one step and 7.34 dB after two (held-out loss 0.025 -> 0.91); the guard
  returned the pretrained weights. With the 10 % warm-up the same lr dips to 25.71 dB at step
  20 and ends at 26.79 dB after 100 steps.
- *Learning rate* (512 x 512, other noise draws: 26.42 dB before; 100 steps, 8 crops of
  64 x 64, warm-up 10 %): 3e-5: +0.24 dB, 1e-4: +0.32 dB, 3e-4: +0.43 dB (dip of -0.08 dB
  at step 20), 1e-3: +0.37 dB (dip of -0.71 dB). 1e-4 improved at every evaluation; it is
  the default; 4 crops of 128 x 128 gave the same (+0.30 dB). With the defaults, 150 steps
  (``benchmarks/finetune_prob4.py --crop 512``): 26.44 -> 26.86 dB, SSIM 0.702 -> 0.726,
  70 s on one core (bf16 autocast).
- *BatchNorm in train mode* (a DnCNN-like net with 6 BatchNorm layers, pretrained 400 steps,
  since no noise2x net has BatchNorm): 25.68 dB; ten train-mode forward passes over the pair,
  with no weight update, 25.09 dB (the running statistics become the one image's); ten epochs
  at lr 1e-4 with warm-up: 26.05 dB with BatchNorm in train mode, 26.33 dB in eval mode.
  A real loss, but not a collapse by itself.
- *Output range.* Clamping f(y) to [0, 1] inside the loss changes nothing (9.92 dB after one
  epoch at lr 1e-3, 22.23 after ten). Feeding the [0, 1] model images on the [-0.5, 0.5]
  scale of the official Noise2Noise code costs 24.36 -> 14.88 dB before any training, which
  ten epochs at lr 1e-4 only partly recover (22.48 dB): both images must be on the scale the
  model was trained on.
- *Too few pixels per step* is not the cause here: the naive step used the whole image, more
  pixels than the 8 x 64 x 64 crops of the safe recipe.

References
----------
J. Lehtinen, J. Munkberg, J. Hasselgren, S. Laine, T. Karras, M. Aittala and T. Aila,
"Noise2Noise: Learning Image Restoration without Clean Data", ICML 2018, arXiv:1803.04189.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn

from noise2x.data.atomic import atomic_write
from noise2x.device import use_bf16
from noise2x.losses import symmetric_n2n_loss
from noise2x.train.checkpoint import Denoiser
from noise2x.train.loop import allowed_starts, guarded_optimise, holdout_tiles

__all__ = ["FinetuneResult", "finetune", "holdout_tiles", "save_finetuned_checkpoint"]

HOLDOUT_MARGIN = 32
"""Pixels of context around a held-out tile when it is denoised for the held-out loss."""

HOLDOUT_BATCH = 8
"""Held-out tiles denoised in one call of the net."""

DEFAULT_STEPS = 200
"""Default number of fine-tuning steps (see the module docstring for the measurements)."""

DEFAULT_LR = 1e-4
"""Default learning rate of Adam after the warm-up."""


@dataclass
class FinetuneResult:
    """What `finetune` returns.

    Attributes
    ----------
    net : nn.Module
        The fine-tuned net (the best weights on the held-out tiles), or an unchanged copy of
        the pretrained net when `kept_pretrained`; eval mode, no gradients, on the input's device.
    kept_pretrained : bool
        True when no evaluation beat the pretrained net on the held-out tiles (the guard).
    holdout_history : list of (int, float)
        (step, held-out symmetric loss) at step 0 (the pretrained net) and every `eval_every`
        steps; the loss is mean((f(y1) - y2)^2) + mean((f(y2) - y1)^2) over the held-out
        tiles, on the [0, 1] scale (about 2 std^2 for a perfect denoiser).
    train_history : list of float
        The training loss (same definition, on the training crops) of every step.
    best_step : int
        Step of the returned weights (0: the pretrained ones).
    steps : int
        Steps run (fewer than asked when early stopping ended training).
    seconds : float
        Wall time of the call, in seconds.
    settings : dict
        The settings used (lr, crop, batch_size, holdout, ...), for the record.
    """

    net: nn.Module
    kept_pretrained: bool
    holdout_history: list[tuple[int, float]]
    train_history: list[float]
    best_step: int
    steps: int
    seconds: float
    settings: dict = field(default_factory=dict)

    @property
    def holdout_before(self) -> float:
        """Held-out loss of the pretrained net."""
        return self.holdout_history[0][1]

    @property
    def holdout_after(self) -> float:
        """Held-out loss of the returned net (equal to `holdout_before` when kept)."""
        return dict(self.holdout_history)[self.best_step]

    def denoiser(self, pretrained: Denoiser) -> Denoiser:
        """Return `pretrained` with this result's net (same method, config and channels)."""
        return dataclasses.replace(pretrained, net=self.net)


def _augment(a: Tensor, b: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Apply one random flip / 90-degree rotation (of 8) to each crop, the same for a and b."""
    out_a, out_b = [], []
    choices = torch.randint(0, 4, (len(a), 2), generator=generator).tolist()
    for xa, xb, (turns, flip) in zip(a, b, choices, strict=True):
        xa, xb = torch.rot90(xa, turns, (1, 2)), torch.rot90(xb, turns, (1, 2))
        if flip % 2:
            xa, xb = xa.flip(-1), xb.flip(-1)
        out_a.append(xa)
        out_b.append(xb)
    return torch.stack(out_a), torch.stack(out_b)


def _holdout_loss(
    net: nn.Module, noisy_a: Tensor, noisy_b: Tensor, corners: Tensor, tile: int, margin: int
) -> float:
    """Symmetric loss on the held-out tiles, each denoised with `margin` pixels of context.

    Windows of one size (all but those at the image border) go through the net in batches of
    `HOLDOUT_BATCH`; the result is the mean over tiles of the per-tile symmetric loss.
    """
    height, width = noisy_a.shape[-2:]
    groups: dict[tuple[int, int], list[tuple[int, int, int, int]]] = {}
    for row, col in corners.tolist():
        r0, c0 = max(0, row - margin), max(0, col - margin)
        r1, c1 = min(height, row + tile + margin), min(width, col + tile + margin)
        groups.setdefault((r1 - r0, c1 - c0), []).append((r0, c0, row, col))
    total = 0.0
    with torch.no_grad():
        for (h, w), items in groups.items():
            for first in range(0, len(items), HOLDOUT_BATCH):
                part = items[first : first + HOLDOUT_BATCH]
                pred_a = net(torch.cat([noisy_a[..., r : r + h, c : c + w] for r, c, _, _ in part]))
                pred_b = net(torch.cat([noisy_b[..., r : r + h, c : c + w] for r, c, _, _ in part]))
                for k, (r0, c0, row, col) in enumerate(part):
                    inner = (
                        k,
                        ...,
                        slice(row - r0, row - r0 + tile),
                        slice(col - c0, col - c0 + tile),
                    )
                    tile_a = noisy_a[0, ..., row : row + tile, col : col + tile]
                    tile_b = noisy_b[0, ..., row : row + tile, col : col + tile]
                    loss = (pred_a[inner].float() - tile_b).square().mean()
                    total += float(loss + (pred_b[inner].float() - tile_a).square().mean())
    return total / len(corners)


def finetune(
    denoiser: Denoiser,
    noisy_a: Tensor,
    noisy_b: Tensor,
    steps: int = DEFAULT_STEPS,
    lr: float = DEFAULT_LR,
    holdout: float = 0.1,
    seed: int = 0,
    crop: int = 64,
    batch_size: int = 8,
    warmup: float = 0.1,
    eval_every: int = 25,
    patience: int | None = 4,
    precision: str = "auto",
    progress: Callable[[int, int], None] | None = None,
) -> FinetuneResult:
    """Fine-tune a trained net on one noisy pair with the symmetric loss, safely.

    Minimises ||f(y1) - y2||^2 + ||f(y2) - y1||^2 (``noise2x.losses.symmetric_n2n_loss``)
    over random crops of the pair (same position, same flip / rotation in both images), with
    Adam (beta1 = 0.9, beta2 = 0.99) at `lr` after a linear warm-up over the first `warmup`
    fraction of the steps. A random `holdout` fraction of a grid of square tiles (side
    ``min(crop, min(H, W) // 4)``, at least 16) is never trained on; the symmetric loss on
    those tiles (each denoised with 32 pixels of context, in float32) is measured before
    training and every `eval_every` steps. The weights with the
    lowest held-out loss are returned; training stops early after `patience` evaluations
    without improvement; if no evaluation beats the pretrained net, its weights are returned
    unchanged (``kept_pretrained``). The net stays in eval mode, so normalisation layers keep
    their statistics and dropout is off. `denoiser` is not modified.

    Parameters
    ----------
    denoiser : Denoiser
        A trained model (``noise2x.train.checkpoint.load_denoiser``).
    noisy_a, noisy_b : Tensor, shape (C, H, W) or (1, C, H, W), float32, nominally in [0, 1]
        Two noisy realizations of one scene, on the scale the model was trained on (map both
        with one affine map, never each on its own). C must be the model's channel count; H
        and W at least 32.
    steps : int
        Most optimisation steps (>= 1).
    lr : float
        Adam's learning rate after the warm-up (> 0).
    holdout : float in (0, 1)
        Fraction of tiles held out of training for the guard (at most 64 tiles).
    seed : int
        Seed of the held-out tiles, the crops and the augmentation.
    crop : int
        Side of the training crops, in pixels (>= 16); lowered to ``min(H, W) // 2`` (and to a
        multiple of the net's stride) for small images.
    batch_size : int
        Crops per step (>= 1).
    warmup : float in [0, 1]
        Fraction of `steps` over which the learning rate rises linearly to `lr`.
    eval_every : int
        Steps between two measurements of the held-out loss (>= 1).
    patience : int or None
        Stop after this many evaluations without a new best; None never stops early.
    precision : {"auto", "32", "bf16"}
        Of the training steps: "auto" uses bfloat16 autocast where the device runs it natively
        (AVX-512 BF16 / AMX CPUs, CUDA with bf16), like ``noise2x train``; the held-out loss is
        always measured in float32, as ``noise2x denoise`` runs the net.
    progress : callable or None
        Called as ``progress(step, steps)`` after every step.

    Returns
    -------
    FinetuneResult

    Raises
    ------
    ValueError
        If the two images differ in shape, are not (C, H, W) / (1, C, H, W) with the model's
        C, are smaller than 32 x 32 or not finite, or a setting is out of range (the message
        names it and quotes the value).

    References
    ----------
    J. Lehtinen et al., "Noise2Noise: Learning Image Restoration without Clean Data", ICML
    2018, arXiv:1803.04189 (the L2 Noise2Noise loss; the symmetric sum and the held-out guard
    are noise2x's).

    Examples
    --------
    >>> import torch
    >>> from noise2x.methods import METHODS
    >>> from noise2x.nets import build_net
    >>> from noise2x.train.checkpoint import Denoiser
    >>> net = build_net("unet_n2n", 1, seed=0, width=4).eval()
    >>> model = Denoiser(net, METHODS.get("n2n")(), {}, channels=1, step=0, size_multiple=32)
    >>> clean = torch.rand(1, 64, 64)
    >>> result = finetune(model, clean + 0.1 * torch.randn(1, 64, 64),
    ...                   clean + 0.1 * torch.randn(1, 64, 64), steps=2, eval_every=1)
    >>> [step for step, _ in result.holdout_history], result.net(clean[None]).shape
    ([0, 1, 2], torch.Size([1, 1, 64, 64]))
    """
    start_time = time.perf_counter()
    noisy_a, noisy_b = _check_pair(noisy_a, noisy_b, denoiser.channels)
    _check_settings(steps, lr, holdout, crop, batch_size, warmup, eval_every, patience)
    device = next(denoiser.net.parameters()).device
    noisy_a, noisy_b = noisy_a.to(device), noisy_b.to(device)
    height, width = noisy_a.shape[-2:]
    crop = _fit_crop(crop, height, width, denoiser.size_multiple)
    tile = max(16, min(crop, min(height, width) // 4))  # at least a 4 x 4 grid of tiles
    generator = torch.Generator().manual_seed(seed)
    corners = holdout_tiles(height, width, tile, holdout, generator)
    allowed = allowed_starts(height, width, crop, corners, tile)
    bf16 = _use_bf16(precision, device)

    net = copy.deepcopy(denoiser.net).eval()  # eval mode throughout: frozen norm statistics
    net.requires_grad_(True)
    channels_last = bf16 and device.type == "cpu"  # as ``noise2x train``: faster bf16 steps

    def sample() -> tuple[Tensor, Tensor]:
        batch = _sample_crops(noisy_a, noisy_b, allowed, crop, batch_size, generator)
        if channels_last:
            return tuple(x.contiguous(memory_format=torch.channels_last) for x in batch)
        return batch

    def evaluate() -> float:
        return _holdout_loss(net, noisy_a, noisy_b, corners, tile, HOLDOUT_MARGIN)

    if channels_last:
        net.to(memory_format=torch.channels_last)
    run = guarded_optimise(
        net, sample, symmetric_pair_loss, evaluate, steps, lr, warmup, eval_every, patience, bf16,
        progress,
    )  # fmt: skip
    net.to(memory_format=torch.contiguous_format).eval().requires_grad_(False)
    settings = dict(
        lr=lr,
        holdout=holdout,
        seed=seed,
        crop=crop,
        batch_size=batch_size,
        warmup=warmup,
        eval_every=eval_every,
        patience=patience,
        precision="bf16" if bf16 else "32",
        holdout_tiles=len(corners),
        holdout_tile=tile,
    )
    return FinetuneResult(
        net=net,
        kept_pretrained=run["best_step"] == 0,
        seconds=time.perf_counter() - start_time,
        settings=settings,
        **run,
    )


def symmetric_pair_loss(net: nn.Module, batch: tuple[Tensor, Tensor]) -> Tensor:
    """Return the symmetric Noise2Noise loss of a batch of crop pairs (``symmetric_n2n_loss``)."""
    return symmetric_n2n_loss(net, *batch)


def _check_pair(noisy_a: Tensor, noisy_b: Tensor, channels: int) -> tuple[Tensor, Tensor]:
    """Return both images as (1, C, H, W) float32 after checking shapes and values."""
    if noisy_a.shape != noisy_b.shape:
        raise ValueError(
            f"the two noisy images differ in shape: {tuple(noisy_a.shape)} and "
            f"{tuple(noisy_b.shape)}; expected two realizations of one scene, same size"
        )
    pair = []
    for x in (noisy_a, noisy_b):
        x = x[None] if x.ndim == 3 else x
        if x.ndim != 4 or x.shape[0] != 1 or x.shape[1] != channels:
            raise ValueError(
                f"expected a (C, H, W) or (1, C, H, W) image with C = {channels} (the model's "
                f"channels), got shape {tuple(noisy_a.shape)}"
            )
        if min(x.shape[-2:]) < 32:
            raise ValueError(f"images of {tuple(x.shape[-2:])} pixels are too small; need 32x32")
        if not torch.isfinite(x).all():
            raise ValueError("the noisy images contain NaN or Inf values")
        pair.append(x.float())
    return pair[0], pair[1]


def _check_settings(steps, lr, holdout, crop, batch_size, warmup, eval_every, patience) -> None:
    checks = {
        "steps": (steps, steps >= 1, ">= 1"),
        "lr": (lr, math.isfinite(lr) and lr > 0, "> 0"),
        "holdout": (holdout, 0 < holdout < 1, "in (0, 1)"),
        "crop": (crop, crop >= 16, ">= 16"),
        "batch_size": (batch_size, batch_size >= 1, ">= 1"),
        "warmup": (warmup, 0 <= warmup <= 1, "in [0, 1]"),
        "eval_every": (eval_every, eval_every >= 1, ">= 1"),
        "patience": (patience, patience is None or patience >= 1, ">= 1 or None"),
    }
    for name, (value, ok, rule) in checks.items():
        if not ok:
            raise ValueError(f"finetune: {name} must be {rule}, got {value!r}")


def _fit_crop(crop: int, height: int, width: int, multiple: int) -> int:
    """Return the crop side: at most half the shorter side, a multiple of the net's stride."""
    crop = min(crop, min(height, width) // 2)
    if crop >= multiple > 1:
        crop = crop // multiple * multiple
    return crop


def _use_bf16(precision: str, device: torch.device) -> bool:
    if precision not in ("auto", "32", "bf16"):
        raise ValueError(f"finetune: precision must be 'auto', '32' or 'bf16', got {precision!r}")
    return use_bf16(precision, device)


def _sample_crops(
    noisy_a: Tensor,
    noisy_b: Tensor,
    allowed: Tensor,
    crop: int,
    batch_size: int,
    generator: torch.Generator,
) -> tuple[Tensor, Tensor]:
    """Draw `batch_size` allowed crops at the same positions of both images, augmented alike.

    Corners are drawn uniformly and rejected where `allowed` is False (most are allowed: the
    held-out tiles cover a small fraction), so no list of all positions is ever built.
    """
    rows, cols = allowed.shape
    picks: list[tuple[int, int]] = []
    for _ in range(100):
        r = torch.randint(rows, (4 * batch_size,), generator=generator)
        c = torch.randint(cols, (4 * batch_size,), generator=generator)
        keep = allowed[r, c]
        picks += list(zip(r[keep].tolist(), c[keep].tolist(), strict=True))
        if len(picks) >= batch_size:
            break
    else:  # allowed corners are rare: draw among them directly
        positions = allowed.nonzero()
        index = torch.randint(len(positions), (batch_size,), generator=generator)
        picks = [tuple(p) for p in positions[index].tolist()]
    picks = picks[:batch_size]
    batch_a = torch.cat([noisy_a[..., r : r + crop, c : c + crop] for r, c in picks])
    batch_b = torch.cat([noisy_b[..., r : r + crop, c : c + crop] for r, c in picks])
    return _augment(batch_a, batch_b, generator)


def save_finetuned_checkpoint(
    path: str | Path,
    pretrained: Denoiser,
    result: FinetuneResult,
    overwrite: bool = False,
    source: str | Path | None = None,
) -> Path:
    """Write the fine-tuned net as a checkpoint that `load_denoiser` reads.

    The file holds the pretrained model's training config unchanged
    (``hyper_parameters.config``), the fine-tuned weights (``state_dict``, keys ``net.*``),
    the pretrained ``global_step``, and a ``finetune`` record (source checkpoint, steps, best
    step, whether the guard kept the pretrained weights, held-out loss before and after, the
    settings). It has no optimizer state, so ``noise2x train --resume`` cannot continue it;
    ``noise2x denoise --checkpoint`` and ``noise2x finetune --checkpoint`` can use it. Written
    to a temporary file in the same folder and renamed, so it is never half-written.

    Parameters
    ----------
    path : str or Path
        Output file (``.ckpt``); parent folders are created.
    pretrained : Denoiser
        The model that was fine-tuned (gives the config and the step).
    result : FinetuneResult
        What `finetune` returned.
    overwrite : bool
        Replace an existing file.
    source : str or Path or None
        The pretrained checkpoint's path, for the record.

    Returns
    -------
    Path
        `path`.

    Raises
    ------
    FileExistsError
        If `path` exists and `overwrite` is False; the message says to use ``--overwrite``.

    References
    ----------
    J. Lehtinen et al., "Noise2Noise: Learning Image Restoration without Clean Data", ICML
    2018, arXiv:1803.04189.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: already exists; use --overwrite to replace it")
    state = {f"net.{k}": v.detach().cpu().contiguous() for k, v in result.net.state_dict().items()}
    record = {
        "source": None if source is None else str(source),
        "steps": result.steps,
        "best_step": result.best_step,
        "kept_pretrained": result.kept_pretrained,
        "holdout_loss_before": result.holdout_before,
        "holdout_loss_after": result.holdout_after,
        "settings": dict(result.settings),
    }
    checkpoint = {
        "hyper_parameters": {"config": pretrained.config},
        "state_dict": state,
        "global_step": pretrained.step,
        "finetune": record,
    }
    with atomic_write(path, overwrite) as tmp:
        torch.save(checkpoint, tmp)
    return path
