"""Noise2Noise on a data set: train a net to map one noisy view of a scene to another.

With y1 = x + n1 and y2 = x + n2 (independent, zero-mean noise), minimising
E ||f(y1) - y2||^2 gives the same minimiser as E ||f(y1) - x||^2: noisy targets train as well
as clean ones. L1 targets the median and the annealed L0 loss the mode (for random-valued
impulse noise). The same class trains Noise2Clean (target = clean) for the paper's comparison:
which one is trained is decided by the data (``data.mode``), not by the method.

The ``symmetric`` loss ||f(y1) - y2||^2 + ||f(y2) - y1||^2 uses both directions of a pair.

Departures from the paper: none in the method; the training schedule (Adam, lr 3e-4,
beta2 = 0.99, ramp-down over the last 30 % of steps) lives in ``noise2x.train``.

References
----------
J. Lehtinen et al., "Noise2Noise: Learning Image Restoration without Clean Data", ICML 2018,
arXiv:1803.04189.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import Tensor, nn

from noise2x.losses.base import Loss, build_loss
from noise2x.methods.base import METHODS, Batch, MethodBase


@dataclass
class N2NConfig:
    """Noise2Noise has no parameters of its own: the loss and the net are chosen beside it."""


@METHODS.register("n2n")
class Noise2Noise(MethodBase):
    """Noise2Noise (and Noise2Clean) training on pairs: loss(f(noisy), target).

    Parameters
    ----------
    loss : Loss or None
        A loss of ``noise2x.losses`` (L2 when None). A loss with ``needs_net`` (``symmetric``)
        is called as ``loss(net, noisy, target, step, total_steps)``.
    total_steps : int or None
        Length of training, passed to losses that anneal (``l0``).

    Examples
    --------
    >>> import torch
    >>> method = Noise2Noise()
    >>> net = method.default_net(1)
    >>> batch = Batch(noisy=torch.rand(2, 1, 32, 32), target=torch.rand(2, 1, 32, 32))
    >>> method.training_loss(net, batch, step=0).shape
    torch.Size([])
    """

    name: ClassVar[str] = "n2n"
    single_image: ClassVar[bool] = False
    trainable: ClassVar[bool] = True
    Config: ClassVar[type] = N2NConfig

    def __init__(self, loss: Loss | None = None, total_steps: int | None = None) -> None:
        self.loss = loss if loss is not None else build_loss("l2")
        self.total_steps = total_steps

    def default_net(self, channels: int) -> nn.Module:
        """Return the paper's U-Net (``unet_n2n``) for `channels` image channels."""
        from noise2x.nets.unet_n2n import UNetN2N

        return UNetN2N(channels=channels)

    def training_loss(self, net: nn.Module, batch: Batch, step: int) -> Tensor:
        """Return the loss of one batch: ``loss(net(batch.noisy), batch.target)``.

        Parameters
        ----------
        net : nn.Module
            Maps (B, C, H, W) to (B, C, H, W).
        batch : Batch
            ``noisy`` and ``target`` (B, C, H, W) float32; ``clean`` is never read.
        step : int
            0-based optimisation step.

        Returns
        -------
        loss : Tensor, shape (), float32

        Raises
        ------
        ValueError
            If ``batch.target`` is None.
        """
        if batch.target is None:
            raise ValueError("Noise2Noise needs a target (a second noisy view) in every batch")
        if self.loss.needs_net:
            return self.loss(net, batch.noisy, batch.target, step, self.total_steps)
        return self.loss(net(batch.noisy), batch.target, step, self.total_steps)

    def denoise(self, net: nn.Module, noisy: Tensor) -> Tensor:
        """Return ``net(noisy)``: (B, C, H, W) float32, same shape and device as `noisy`."""
        return net(noisy)
