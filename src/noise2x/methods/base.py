"""The method contract shared by every denoising method of noise2x.

A *method* turns a noisy image into a denoised one (``denoise``). A trainable method also turns
(net, batch) into a training loss (`TrainableMethod`); a method that works on one image by
itself (Zero-Shot Noise2Noise, Self2Self, the prior, N2V on one stack, BM3D) implements
``fit``, which ``noise2x.denoise`` calls (`FittingMethod`); a classical filter has no net and
no loss (`ClassicalFilter`). `Method` lists the flags that say which of these a method is.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import ClassVar, Protocol

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from noise2x.device import use_bf16
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
    """What every registered method declares, and everything the engine and the API read.

    Registered under ``name``; its settings are the fields of ``Config`` (built by
    ``METHODS.build``). The capability flags (defaults in `MethodBase`, which every method
    inherits) say what the engine may do with it:

    - ``single_image``: it works only on the image (or stack) it is given, through ``fit``;
      ``noise2x train`` refuses it (a method may also have ``fit`` without this flag: N2V
      trains on data sets and on one stack);
    - ``trainable``: it has a network and a loss (False: a `ClassicalFilter`);
    - ``needs_target``: dataset training reads ``batch.target`` (pairs); False for methods that
      learn from single noisy views (`SingleViewMethod`);
    - ``patch_multiple``: training crops must be multiples of it (2 for 2x2 sub-samplers);
    - ``loss_names``: the losses it accepts in ``noise2x train`` (None: any);
    - ``fits_stack``: its ``fit`` trains once on all frames of a stack (else once per frame).
    """

    name: ClassVar[str]
    Config: ClassVar[type]
    single_image: ClassVar[bool]
    trainable: ClassVar[bool]
    needs_target: ClassVar[bool]
    patch_multiple: ClassVar[int]
    loss_names: ClassVar[tuple[str, ...] | None]
    fits_stack: ClassVar[bool]

    def denoise(self, net: nn.Module | None, noisy: Tensor) -> Tensor:
        """Return the denoised image, same shape, dtype and device as ``noisy``."""
        ...


class TrainableMethod(Method, Protocol):
    """A method with a network and a loss, optimised by ``noise2x train`` or by its ``fit``.

    A dataset method (``single_image = False``) is built by ``METHODS.build(cfg["method"],
    loss=LOSS, total_steps=N)`` with the run's ``loss`` group and step count; it keeps the
    loss it uses in ``loss`` (None: its own), which the trainer reads (a perceptual loss's
    VGG is frozen).
    """

    loss: object | None

    def default_net(self, channels: int) -> nn.Module:
        """Return the method's default network for ``channels`` image channels."""
        ...

    def training_loss(self, net: nn.Module, batch: Batch, step: int) -> Tensor:
        """Return a finite scalar loss for one step."""
        ...


class FittingMethod(Method, Protocol):
    """A method that denoises one image (or stack) by itself: what ``noise2x.denoise`` runs."""

    def fit(
        self,
        noisy: Tensor,
        reference: Tensor | None = None,
        device: str | torch.device | None = "auto",
        progress: Callable[[int, int], None] | None = None,
    ) -> FitResult:
        """Denoise `noisy` (1, C, H, W) (or (T, C, H, W) with ``fits_stack``) by itself."""
        ...


class ClassicalFilter(FittingMethod, Protocol):
    """A filter with no network and no training (``trainable = False``): BM3D.

    ``denoise(None, noisy)`` and ``fit`` filter; there is no ``default_net`` and no
    ``training_loss``, so nothing can try to train it.
    """


class MethodBase:
    """The capability flags every method declares, with their defaults (see `Method`)."""

    single_image: ClassVar[bool] = False
    trainable: ClassVar[bool] = True
    needs_target: ClassVar[bool] = True
    patch_multiple: ClassVar[int] = 1
    loss_names: ClassVar[tuple[str, ...] | None] = None
    fits_stack: ClassVar[bool] = False
    loss: object | None = None  # the run's loss, for dataset methods that take one
    fit = None  # a FittingMethod defines fit: it denoises one image (or stack) by itself
    validation_pair = None  # a SingleViewMethod defines it (data=noisy_folder validation)


class SingleViewMethod(TrainableMethod, Protocol):
    """A method that trains on single noisy views (``needs_target = False``: ne2ne, n2v).

    ``data=noisy_folder`` without clean images validates such a method on what the method
    says: ``validation_pair(noisy, seed)`` turns a held-out noisy image (C, H, W) into an
    (input, reference) pair, seeded; ``val/psnr_db`` is the PSNR of f(input) against it.
    """

    @staticmethod
    def validation_pair(noisy: Tensor, seed: int) -> tuple[Tensor, Tensor]:
        """Return (input, reference) tensors to validate f on, from one held-out noisy image."""
        ...


# --- shared by the single-image methods (ZS-N2N, Self2Self, dead lines) -----------------------
@dataclass
class FitResult:
    """What the ``fit`` of a single-image method returns.

    Attributes
    ----------
    denoised : Tensor, shape (1, C, H, W), float32
        The denoised image, on the input's device.
    net : nn.Module
        The trained network.
    loss_history : list of float
        The training loss at every step.
    psnr_history : list of (int, float)
        (step, PSNR in dB against the reference) every ``log_every`` steps, when a reference
        was given; otherwise empty.
    seconds : float
        Wall time of the fit, in seconds.
    """

    denoised: Tensor
    net: nn.Module
    loss_history: list[float] = field(default_factory=list)
    psnr_history: list[tuple[int, float]] = field(default_factory=list)
    seconds: float = 0.0


class CollapseWarning(UserWarning):
    """A single-image method's result collapsed to a constant image and was redone."""


def is_collapsed(denoised: Tensor, noisy: Tensor, tolerance: float = 1e-6) -> bool:
    """Return True when `denoised` is constant (per channel) although `noisy` is not.

    Parameters
    ----------
    denoised, noisy : Tensor, shape (B, C, H, W), float, on the [0, 1] scale
    tolerance : float
        Largest max - min of a channel that counts as constant.

    Examples
    --------
    >>> noisy = torch.rand(1, 1, 8, 8)
    >>> is_collapsed(torch.zeros(1, 1, 8, 8), noisy), is_collapsed(noisy, noisy)
    (True, False)
    """

    def spread(x: Tensor) -> Tensor:
        flat = x.float().flatten(2)
        return flat.amax(-1) - flat.amin(-1)

    return bool((spread(denoised) <= tolerance).all() and (spread(noisy) > tolerance).any())


def psnr_db(x: Tensor, reference: Tensor) -> float:
    """Return the PSNR in dB of `x` against `reference` (any equal shapes, range [0, 1]).

    Infinite when they are equal. For the training logs of single-image methods; the
    metrics of record are ``noise2x.metrics``.
    """
    mse = F.mse_loss(x.float(), reference.float()).item()
    return float("inf") if mse == 0 else 10.0 * math.log10(1.0 / mse)


class SingleImageMethod(MethodBase):
    """Settings and precision helpers shared by the single-image methods.

    A subclass sets ``name`` and ``Config`` (a frozen dataclass with ``precision``
    ("auto" | "fp32" | "bf16") and ``channels_last`` fields).

    Parameters
    ----------
    config : Config or None
        Settings; None uses the defaults.
    **overrides
        Fields of the config to change.

    Raises
    ------
    TypeError
        If an override is not a field of the config (the message lists the known ones).
    """

    name: ClassVar[str]
    Config: ClassVar[type]

    def __init__(self, config=None, **overrides) -> None:
        config = config or self.Config()
        unknown = set(overrides) - set(asdict(config))
        if unknown:
            known = sorted(asdict(config))
            raise TypeError(f"{self.name}: unknown setting(s) {sorted(unknown)}; known: {known}")
        self.config = replace(config, **overrides)

    def _use_bf16(self, device: torch.device, precision: str | None = None) -> bool:
        return use_bf16(precision or self.config.precision, device)

    def _use_channels_last(self, device: torch.device) -> bool:
        return self.config.channels_last and device.type == "cpu"

    def _autocast(self, device: torch.device, precision: str | None = None) -> torch.autocast:
        enabled = self._use_bf16(device, precision)  # precision: the config's by default
        return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)

    def _layout(self, x: Tensor) -> Tensor:
        if self._use_channels_last(x.device):
            return x.contiguous(memory_format=torch.channels_last)
        return x
