"""The one optimisation loop of per-image training, plain or guarded.

`optimise` is the loop every single-image method runs (Zero-Shot Noise2Noise, Self2Self and
its dead-line variant, Noise2Void on one image through `guarded_optimise`, the prior's
test-time adaptation, ``noise2x finetune``): draw a batch, compute the loss under the method's
precision policy (bf16 autocast where the CPU runs it natively, ``noise2x.device.use_bf16``),
one optimizer and scheduler step, record the loss, call back; the methods differ only in what
they draw, their loss and what they do between steps.

`guarded_optimise` adds the guard for a pretrained net adapted to one image (or one pair),
which must never come out worse than it went in: a random set of square tiles of the image is
held out of training (`holdout_tiles`, `allowed_starts`); a loss on those tiles, which the
training cannot fit, is measured before the first step and every ``eval_every`` steps; the
weights with the lowest held-out loss are kept, training stops after ``patience`` evaluations
without improvement, and when nothing beats the starting weights they are returned unchanged.
The measurements behind its recipe (Adam with a linear warm-up to a small rate) are in
``noise2x.train.finetune``'s docstring.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

__all__ = [
    "MAX_HOLDOUT_TILES",
    "allowed_starts",
    "copy_state",
    "guarded_optimise",
    "holdout_tiles",
    "optimise",
]

MAX_HOLDOUT_TILES = 64
"""Most held-out tiles (their loss is measured at every evaluation)."""


def holdout_tiles(
    height: int,
    width: int,
    tile: int,
    fraction: float,
    generator: torch.Generator,
    max_tiles: int = MAX_HOLDOUT_TILES,
) -> Tensor:
    """Pick the held-out tiles of an image: a random `fraction` of a grid of square tiles.

    The grid has ``(height // tile) x (width // tile)`` tiles starting at (0, 0) (a remainder
    strip at the bottom or right is never held out). ``round(fraction * n)`` tiles are drawn
    without replacement, at least one and at most ``min(n - 1, max_tiles)``, so some tiles
    remain for training and an evaluation costs at most `max_tiles` tiles on a large image.

    Parameters
    ----------
    height, width : int
        Image size in pixels.
    tile : int
        Tile side in pixels (>= 1).
    fraction : float in (0, 1)
        Fraction of the tiles to hold out.
    generator : torch.Generator
        Source of the random choice (CPU).
    max_tiles : int
        Most tiles to hold out (64 by default: about a million pixels with 128 x 128 tiles).

    Returns
    -------
    corners : Tensor, shape (K, 2), int64
        (row, column) of the top-left pixel of each held-out tile, in increasing order.

    Raises
    ------
    ValueError
        If the grid has fewer than 2 tiles, or `fraction` is not in (0, 1).

    Examples
    --------
    >>> corners = holdout_tiles(256, 256, 64, 0.25, torch.Generator().manual_seed(0))
    >>> corners.shape, bool((corners % 64 == 0).all())
    (torch.Size([4, 2]), True)
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"holdout fraction must be in (0, 1), got {fraction!r}")
    rows, cols = height // tile, width // tile
    if rows * cols < 2:
        raise ValueError(
            f"a {height}x{width} image holds {rows * cols} tile(s) of {tile}x{tile}; "
            "need at least 2 (one to hold out, one to train on)"
        )
    n = rows * cols
    count = min(n - 1, max_tiles, max(1, round(fraction * n)))
    picked = torch.randperm(n, generator=generator)[:count].sort().values
    return torch.stack([picked // cols * tile, picked % cols * tile], dim=1)


def allowed_starts(height: int, width: int, crop: int, corners: Tensor, tile: int) -> Tensor:
    """Return a bool map (H - crop + 1, W - crop + 1): True where a crop's top-left corner may be.

    A crop is allowed when it overlaps no held-out tile (checked with a summed-area table).

    Parameters
    ----------
    height, width : int
        Image size in pixels.
    crop : int
        Side of the training crops in pixels (<= height, width).
    corners : Tensor, shape (K, 2), int64
        Held-out tiles (`holdout_tiles`).
    tile : int
        Side of the held-out tiles in pixels.

    Returns
    -------
    Tensor, shape (height - crop + 1, width - crop + 1), bool
    """
    held = torch.zeros(height + 1, width + 1, dtype=torch.int32)
    for row, col in corners.tolist():
        held[row + 1 : row + tile + 1, col + 1 : col + tile + 1] = 1
    table = held.cumsum(0, dtype=torch.int32).cumsum(1, dtype=torch.int32)
    c = crop
    inside = table[c:, c:] - table[:-c, c:] - table[c:, :-c] + table[:-c, :-c]
    return inside == 0


def copy_state(net: nn.Module) -> dict[str, Tensor]:
    """Return a detached copy of `net`'s ``state_dict`` (on its device)."""
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def optimise(
    net: nn.Module,
    sample: Callable[[int], Any],
    loss_fn: Callable[[nn.Module, Any], Tensor],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None,
    steps: int,
    autocast: contextlib.AbstractContextManager | None = None,
    after_step: Callable[[int, Tensor], bool | None] | None = None,
) -> list[float]:
    """Run `steps` optimizer steps on ``loss_fn(net, sample(step))``; return the losses.

    Each step: draw the batch (outside `autocast`, so random draws never depend on the
    precision), compute the loss inside `autocast`, zero the gradients, backpropagate, step the
    optimizer and then the scheduler, record the loss, and call ``after_step(done, loss)``
    (done = steps run so far, loss the step's scalar tensor); a true return ends the run.

    Parameters
    ----------
    net : nn.Module
        Trained in place; its mode (train/eval) is left as the caller set it.
    sample : callable (step) -> batch
        Draws the batch of step ``step`` (0-based).
    loss_fn : callable (net, batch) -> Tensor
        A scalar loss.
    optimizer : torch.optim.Optimizer
        Over `net`'s parameters.
    scheduler : LRScheduler or None
        Stepped after every optimizer step.
    steps : int
        Most steps (>= 1).
    autocast : context manager or None
        Entered around the loss (e.g. ``torch.autocast("cpu", torch.bfloat16)``); None: fp32.
    after_step : callable (done, loss) -> bool or None, optional
        Logging, progress, evaluation; returning True stops after this step.

    Returns
    -------
    list of float
        The loss of every step run (length `steps` unless `after_step` stopped it).

    Examples
    --------
    >>> net = nn.Linear(1, 1)
    >>> opt = torch.optim.SGD(net.parameters(), lr=0.1)
    >>> x = torch.ones(4, 1)
    >>> losses = optimise(net, lambda step: x, lambda n, b: (n(b) - 2).pow(2).mean(), opt, None, 20)
    >>> len(losses), losses[-1] < losses[0]
    (20, True)
    """
    losses = torch.empty(steps)
    context = autocast if autocast is not None else contextlib.nullcontext()
    done = 0
    for step in range(steps):
        batch = sample(step)
        with context:
            loss = loss_fn(net, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        losses[step] = loss.detach()
        done = step + 1
        if after_step is not None and after_step(done, loss):
            break
    return losses[:done].tolist()


def guarded_optimise(
    net: nn.Module,
    sample: Callable[[], Any],
    loss_fn: Callable[[nn.Module, Any], Tensor],
    evaluate: Callable[[], float],
    steps: int,
    lr: float,
    warmup: float,
    eval_every: int,
    patience: int | None,
    bf16: bool,
    progress: Callable[[int, int], None] | None,
) -> dict:
    """Run Adam on ``loss_fn(net, sample())``, keep the weights of the lowest ``evaluate()``.

    Adam (beta1 = 0.9, beta2 = 0.99, eps = 1e-8) at `lr` after a linear warm-up over the
    first `warmup` fraction of `steps`; the loss in bf16 autocast when `bf16`. ``evaluate()``
    (the held-out loss, lower is better) runs before the first step, every `eval_every` steps
    and after the last; a non-finite training loss ends the run (the best weights so far are
    kept).

    Parameters
    ----------
    net : nn.Module
        Trained in place (its mode is left as the caller set it); ends holding the best weights.
    sample : callable () -> batch
        Draws one training batch.
    loss_fn : callable (net, batch) -> Tensor
        A finite scalar loss.
    evaluate : callable () -> float
        The held-out loss of `net` as it is now.
    steps : int
        Most steps (>= 1).
    lr, warmup : float
        Learning rate (> 0) and warm-up fraction in [0, 1].
    eval_every : int
        Steps between evaluations (>= 1).
    patience : int or None
        Stop after this many evaluations without a new best; None never stops early.
    bf16 : bool
        Autocast the loss to bfloat16.
    progress : callable (step, steps) or None
        Called after every step.

    Returns
    -------
    dict
        ``holdout_history`` (list of (step, held-out loss), step 0 first), ``train_history``
        (training loss of every step), ``best_step`` (0: the starting weights were kept) and
        ``steps`` (steps run).
    """
    history = [(0, evaluate())]
    best = {"loss": history[0][1], "step": 0, "state": copy_state(net), "stale": 0}
    optimizer = torch.optim.Adam(net.parameters(), lr=lr, betas=(0.9, 0.99), eps=1e-8)
    warm_steps = max(1, round(warmup * steps))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda i: min(1.0, (i + 1) / warm_steps)
    )
    device_type = next(net.parameters()).device.type
    train_history: list[float] = []

    def after_step(step: int, loss: Tensor) -> bool:
        train_history.append(loss.item())
        if not math.isfinite(train_history[-1]):
            history.append((step, math.inf))  # diverged: the guard keeps the best so far
            return True
        if step % eval_every == 0 or step == steps:
            history.append((step, evaluate()))
            if history[-1][1] < best["loss"]:
                best.update(loss=history[-1][1], step=step, state=copy_state(net), stale=0)
            else:
                best["stale"] += 1
                if patience is not None and best["stale"] >= patience:
                    return True
        if progress is not None:
            progress(step, steps)
        return False

    optimise(
        net,
        lambda step: sample(),
        loss_fn,
        optimizer,
        scheduler,
        steps,
        torch.autocast(device_type, dtype=torch.bfloat16, enabled=bf16),
        after_step,
    )
    best_state, best_step, step = best["state"], best["step"], len(train_history)
    net.load_state_dict(best_state)
    return {
        "holdout_history": history,
        "train_history": train_history,
        "best_step": best_step,
        "steps": step,
    }
