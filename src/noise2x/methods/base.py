"""The method contract shared by every denoising method of noise2x.

A *method* turns (net, batch) into a training loss and (net, noisy) into a denoised image.
Single-image methods (Zero-Shot Noise2Noise, Self2Self) also implement ``fit``: the whole
per-image optimisation, which ``noise2x.denoise`` calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

from torch import Tensor, nn

from noise2x.registry import Registry

METHODS: Registry[type] = Registry("method")


@dataclass
class Batch:
    """One training batch.

    Attributes
    ----------
    noisy : Tensor, shape (B, C, H, W), float32, nominally in [0, 1]
        The network input.
    target : Tensor or None, shape (B, C, H, W)
        An independent noisy view of the same scene (Noise2Noise pairs).
    clean : Tensor or None, shape (B, C, H, W)
        For metrics only: no loss may read it.
    """

    noisy: Tensor
    target: Tensor | None = None
    clean: Tensor | None = None


class Method(Protocol):
    """What every method provides (see ``../shared/STYLE.md``)."""

    name: ClassVar[str]
    single_image: ClassVar[bool]
    Config: ClassVar[type]

    def default_net(self, channels: int) -> nn.Module:
        """Return the method's default network for ``channels`` image channels."""
        ...

    def training_loss(self, net: nn.Module, batch: Batch, step: int) -> Tensor:
        """Return a finite scalar loss for one step."""
        ...

    def denoise(self, net: nn.Module, noisy: Tensor) -> Tensor:
        """Return the denoised image, same shape, dtype and device as ``noisy``."""
        ...
