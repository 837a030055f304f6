"""Neighbor2Neighbor: train a denoiser on single noisy images, one noisy view per scene.

T. Huang, S. Li, X. Jia, H. Lu and J. Liu, "Neighbor2Neighbor: Self-Supervised Denoising from
Single Noisy Images", CVPR 2021, arXiv:2101.02824.

Each noisy image y is split by the random neighbour sub-sampler G = (g1, g2) (in every 2x2
cell, g1 takes a random pixel and g2 one of its two edge-adjacent neighbours; registered as
``random_neighbor`` in ``noise2x.ops.downsamplers``) into two half-size images whose noise is
independent but whose signals differ by about one pixel's shift. The net f is trained to map
g1(y) to g2(y), and a regulariser corrects for the shift by asking that the same difference be
seen on the net's own output for the whole image::

    rec  = mean (f(g1(y)) - g2(y))^2
    reg  = mean (f(g1(y)) - g2(y) - (g1(f(y)) - g2(f(y))))^2
    loss = rec + gamma(step) * reg

f(y) is computed without gradient (the paper stops the gradients of g1(f(y)) and g2(f(y)) to
stabilise training; ``torch.no_grad`` in the official code), with the *same* draw of G as the
noisy pair. At inference the net denoises the whole image: f(y).

gamma is ramped as in the official code (``train.py``: ``Lambda = epoch / n_epoch *
increase_ratio``, default ``increase_ratio = 2.0``): here per optimisation step,
``gamma(step) = gamma * min(1, (step + 1) / total_steps)``, which starts at gamma / total_steps
and reaches ``gamma`` at the last step. The default ``gamma = 2`` is the official code's default
``increase_ratio`` (its defaults train on Gaussian noise sigma = 25 in sRGB).

Deliberate departures from the paper and its code:

- gamma ramps per step instead of per epoch (the same line, at finer resolution).
- The training schedule is noise2x's (``noise2x.train``: Adam lr 3e-4 with the Noise2Noise
  ramp-down over the last 30 % of the steps, 64-pixel crops, batch 8 by default), not the
  paper's (Adam lr 3e-4 halved every 20 of 100 epochs, 256-pixel crops, batch 4).
- The paper's code adds fresh synthetic noise to every training sample; noise2x's synthetic
  data default to a fixed noisy set (``data.fixed_noise=true``, see
  ``noise2x.data.synthetic``); ``data.fixed_noise=false`` is the paper's protocol.
- The sub-sampler's draws at step s come from a generator seeded by (``seed``, s), so a resumed
  run draws exactly what an uninterrupted one would. All processes of a DDP run draw the same
  cell positions at a step (on different images).
- When gamma(step) is 0 the no-gradient pass f(y) is skipped (it would be multiplied by 0).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from noise2x.losses.base import Loss, build_loss
from noise2x.methods.base import METHODS, Batch, MethodBase
from noise2x.ops.downsamplers import DOWNSAMPLERS, Split

__all__ = [
    "Ne2NeConfig",
    "Neighbor2Neighbor",
    "ne2ne_gamma",
    "ne2ne_terms",
    "neighbor_validation_pair",
]


def ne2ne_terms(
    net: nn.Module,
    noisy: Tensor,
    generator: torch.Generator | None = None,
    regularise: bool = True,
) -> tuple[Tensor, Tensor | None]:
    """Return Neighbor2Neighbor's reconstruction and regulariser terms for one draw of G.

    One draw of the random neighbour sub-sampler G = (g1, g2) is made for `noisy` and applied
    both to `noisy` and to the net's output f(y) for it (computed without gradient)::

        rec = mean (f(g1(y)) - g2(y))^2
        reg = mean (f(g1(y)) - g2(y) - (g1(f(y)) - g2(f(y))))^2

    Means run over every element (batch, channels, pixels), as the official code's
    ``torch.mean``. Both terms are computed in float32 whatever the net's output dtype
    (bf16 autocast). For the identity net reg is 0; for a constant net reg equals rec.

    Parameters
    ----------
    net : nn.Module
        Maps (B, C, h, w) to (B, C, h, w) for h, w = H / 2, W / 2 and H, W.
    noisy : Tensor, shape (B, C, H, W), float32, nominally in [0, 1]
        Noisy images; H and W must be even.
    generator : torch.Generator or None
        Source of the sub-sampler's draw (None: torch's default generator).
    regularise : bool
        Compute reg (one extra no-gradient forward pass of the whole image); False returns
        None in its place.

    Returns
    -------
    rec : Tensor, shape (), float32
        With gradients through f(g1(y)).
    reg : Tensor, shape (), float32, or None
        With gradients through f(g1(y)) only.

    Raises
    ------
    ValueError
        If `noisy` is not 4-D floating point or H or W is odd; the message quotes the shape.

    References
    ----------
    Huang et al., CVPR 2021, arXiv:2101.02824 (the regularised loss and its training
    algorithm); TaoHuang2018/Neighbor2Neighbor, ``train.py``.

    Examples
    --------
    >>> rec, reg = ne2ne_terms(nn.Identity(), torch.rand(2, 1, 8, 8), torch.Generator())
    >>> rec.shape, float(reg)
    (torch.Size([]), 0.0)
    """
    split = DOWNSAMPLERS.get("random_neighbor").draw(noisy, generator)
    first, second = split(noisy)
    diff = net(first).float() - second.float()
    rec = diff.square().mean()
    if not regularise:
        return rec, None
    return rec, _regulariser(net, noisy, split, diff)


def _regulariser(net: nn.Module, noisy: Tensor, split: Split, diff: Tensor) -> Tensor:
    """Return mean (diff - (g1(f(y)) - g2(f(y))))^2, f(y) computed without gradient."""
    with torch.no_grad():
        denoised = net(noisy).float()
    den_first, den_second = split(denoised)
    return (diff - (den_first - den_second)).square().mean()


def ne2ne_gamma(step: int, total_steps: int | None, gamma: float = 2.0) -> float:
    """Return the regulariser weight gamma at `step`: a linear ramp from ~0 to `gamma`.

    ``gamma * min(1, (step + 1) / total_steps)``: the official code's ``epoch / n_epoch *
    increase_ratio`` (epochs counted from 1) at the resolution of steps. Without
    `total_steps` there is no ramp: `gamma` itself.

    Parameters
    ----------
    step : int
        0-based optimisation step (>= 0).
    total_steps : int or None
        Length of training in steps (>= 1), or None for no ramp.
    gamma : float
        Final weight (>= 0).

    Returns
    -------
    float in [0, gamma]

    Raises
    ------
    ValueError
        If `step` < 0, `total_steps` < 1 or `gamma` is negative or not finite.

    References
    ----------
    Huang et al., CVPR 2021, arXiv:2101.02824 (gamma is increased gradually to its final
    value during training); TaoHuang2018/Neighbor2Neighbor, ``train.py``.

    Examples
    --------
    >>> [ne2ne_gamma(s, 4) for s in (0, 1, 3, 9)]
    [0.5, 1.0, 2.0, 2.0]
    """
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    if not (math.isfinite(gamma) and gamma >= 0):
        raise ValueError(f"gamma must be a finite number >= 0, got {gamma}")
    if total_steps is None:
        return float(gamma)
    if total_steps < 1:
        raise ValueError(f"total_steps must be >= 1 or None, got {total_steps}")
    return float(gamma) * min(1.0, (step + 1) / total_steps)


def neighbor_validation_pair(noisy: Tensor, seed: int) -> tuple[Tensor, Tensor]:
    """Split a held-out noisy image into (g1(y), g2(y)) with one seeded sub-sampler draw.

    The image is first cropped to even height and width (its last row or column dropped), then
    split by Neighbor2Neighbor's random neighbour sub-sampler (``random_neighbor``) drawn from a
    generator seeded by `seed`: the same seed gives the same pair.

    Parameters
    ----------
    noisy : Tensor, shape (C, H, W), float32, H and W >= 2
        One noisy image.
    seed : int
        Seeds the draw.

    Returns
    -------
    first, second : Tensor, shape (C, H // 2, W // 2), float32
        Two different pixels of every 2x2 cell: independent pixel-wise noise.

    Raises
    ------
    ValueError
        If `noisy` is not 3-D or smaller than 2x2; the message quotes the shape.

    Examples
    --------
    >>> first, second = neighbor_validation_pair(torch.rand(1, 5, 6), seed=0)
    >>> first.shape, bool((first != second).all())
    (torch.Size([1, 2, 3]), True)
    """
    if noisy.ndim != 3 or min(noisy.shape[-2:]) < 2:
        raise ValueError(f"need a (C, H, W) image of at least 2x2, got {tuple(noisy.shape)}")
    h, w = noisy.shape[-2] // 2 * 2, noisy.shape[-1] // 2 * 2
    generator = torch.Generator().manual_seed(seed)
    first, second = DOWNSAMPLERS.get("random_neighbor")(noisy[None, :, :h, :w], generator)
    return first[0], second[0]


@dataclass
class Ne2NeConfig:
    """Settings of Neighbor2Neighbor (the schema of ``conf/method/ne2ne.yaml``).

    Attributes
    ----------
    gamma : float
        Final weight of the regulariser (>= 0), reached at the last step; the official
        code's ``increase_ratio`` (2 in its command for Gaussian noise in sRGB).
    seed : int
        Seeds the sub-sampler's draws: step s uses a generator seeded by (seed, s).
    """

    gamma: float = 2.0
    seed: int = 0


@METHODS.register("ne2ne")
class Neighbor2Neighbor(MethodBase):
    """Neighbor2Neighbor training on single noisy images: rec + gamma(step) * reg.

    Only ``batch.noisy`` is read: any data that gives noisy crops trains it (``data=synthetic``
    with its fixed noisy set, or ``data=noisy_folder`` for real single noisy images).

    Parameters
    ----------
    gamma : float
        Final regulariser weight (>= 0), see `ne2ne_gamma`.
    seed : int
        Seeds the sub-sampler's draws (one generator per step).
    loss : Loss or None
        Must be None or the ``l2`` loss: the method's two terms are squared errors, as in the
        paper. Accepted so that ``noise2x train`` can pass the ``loss`` group.
    total_steps : int or None
        Length of training, for the gamma ramp (None: gamma from the first step).

    Raises
    ------
    ValueError
        If `gamma` is negative or not finite, or `loss` is not L2.

    Examples
    --------
    >>> method = Neighbor2Neighbor(total_steps=10)
    >>> net = method.default_net(1)
    >>> method.training_loss(net, Batch(noisy=torch.rand(2, 1, 32, 32)), step=0).shape
    torch.Size([])
    """

    name: ClassVar[str] = "ne2ne"
    single_image: ClassVar[bool] = False
    trainable: ClassVar[bool] = True
    needs_target: ClassVar[bool] = False  # reads batch.noisy only (data=noisy_folder works)
    patch_multiple: ClassVar[int] = 2  # training crops are split into 2x2 cells
    loss_names: ClassVar[tuple[str, ...]] = ("l2",)  # its two terms are squared errors
    Config: ClassVar[type] = Ne2NeConfig
    # held-out noisy image -> (g1(y), g2(y)): its reconstruction term is what it validates on
    validation_pair = staticmethod(neighbor_validation_pair)

    def __init__(
        self,
        gamma: float = 2.0,
        seed: int = 0,
        loss: Loss | None = None,
        total_steps: int | None = None,
    ) -> None:
        ne2ne_gamma(0, None, gamma)  # raises for a bad gamma
        if loss is not None and getattr(loss, "name", None) != "l2":
            raise ValueError(
                "Neighbor2Neighbor's loss is its own (squared errors, as in the paper); "
                f"leave loss=l2, got loss {getattr(loss, 'name', type(loss).__name__)!r}"
            )
        self.loss = loss if loss is not None else build_loss("l2")  # kept for the trainer
        self.gamma, self.seed, self.total_steps = float(gamma), int(seed), total_steps

    def default_net(self, channels: int) -> nn.Module:
        """Return the Noise2Noise U-Net (``unet_n2n``), the paper's network, for `channels`."""
        from noise2x.nets.unet_n2n import UNetN2N

        return UNetN2N(channels=channels)

    def gamma_at(self, step: int) -> float:
        """Return the regulariser weight at 0-based `step` (`ne2ne_gamma`)."""
        return ne2ne_gamma(step, self.total_steps, self.gamma)

    def generator(self, step: int) -> torch.Generator:
        """Return the CPU generator of the sub-sampler's draw at `step`, seeded by (seed, step)."""
        text = f"ne2ne/{self.seed}/{step}".encode()
        return torch.Generator().manual_seed(int.from_bytes(hashlib.sha256(text).digest()[:7]))

    def training_loss(self, net: nn.Module, batch: Batch, step: int) -> Tensor:
        """Return ``rec + gamma(step) * reg`` for ``batch.noisy`` (`ne2ne_terms`).

        Parameters
        ----------
        net : nn.Module
            Maps (B, C, H, W) to (B, C, H, W).
        batch : Batch
            ``noisy`` (B, C, H, W) float32 with even H and W; ``target`` and ``clean`` are
            never read.
        step : int
            0-based optimisation step: sets gamma and the sub-sampler's draw.

        Returns
        -------
        loss : Tensor, shape (), float32

        Raises
        ------
        ValueError
            If H or W is odd (from the sub-sampler; the message quotes the shape).
        """
        gamma = self.gamma_at(step)
        rec, reg = ne2ne_terms(net, batch.noisy, self.generator(step), regularise=gamma > 0)
        return rec if reg is None else rec + gamma * reg

    def denoise(self, net: nn.Module, noisy: Tensor) -> Tensor:
        """Return ``net(noisy)``: (B, C, H, W) float32, same shape and device as `noisy`."""
        return net(noisy)
