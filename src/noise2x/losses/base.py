"""Loss base class, the ``loss`` registry and `build_loss`.

Every loss is an ``nn.Module`` with one call contract::

    loss(prediction, target, step=None, total_steps=None) -> Tensor   # finite scalar

``prediction`` and ``target`` have the same shape, nominally (B, C, H, W) float32 in [0, 1].
``step`` (0-based optimisation step) and ``total_steps`` are passed by the trainer on every
call; a loss that anneals over training (``l0``) needs them, the others ignore them. The one
exception is the ``symmetric`` loss, which takes ``(net, noisy_a, noisy_b)`` because it needs
both forward passes of the net; it says so with ``needs_net = True``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from torch import Tensor, nn

from noise2x.registry import Registry

__all__ = ["LOSSES", "Loss", "build_loss", "check_same_shape", "register_loss"]


class Loss(nn.Module):
    """Base class of the registered losses.

    Subclasses implement ``forward(prediction, target, step=None, total_steps=None)`` and
    return a scalar tensor. Constructor arguments are the loss's configuration: `build_loss`
    reads them from the signature, so there is no hand-kept list of parameter names.

    Attributes
    ----------
    name : str
        Registry key, set by `register_loss`.
    needs_net : bool
        False for the common contract ``(prediction, target, step, total_steps)``; True for a
        loss called as ``(net, noisy_a, noisy_b, step, total_steps)`` (the ``symmetric`` loss).
    """

    name: ClassVar[str] = ""
    needs_net: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()

    def forward(
        self,
        prediction: Tensor,
        target: Tensor,
        step: int | None = None,
        total_steps: int | None = None,
    ) -> Tensor:
        """Return the scalar loss of `prediction` against `target`.

        Parameters
        ----------
        prediction : Tensor, shape (B, C, H, W), float32, nominally in [0, 1]
            Output of the net.
        target : Tensor, same shape as `prediction`
            The training target (in Noise2Noise, an independent noisy view).
        step, total_steps : int or None
            Current 0-based optimisation step and the length of training.

        Returns
        -------
        loss : Tensor, shape (), float32
        """
        raise NotImplementedError


LOSSES: Registry[type[Loss]] = Registry("loss")

L = TypeVar("L", bound="type[Loss]")


def register_loss(name: str) -> Callable[[L], L]:
    """Register a `Loss` subclass in `LOSSES` under `name` and set its ``name``.

    Parameters
    ----------
    name : str
        Registry key, lower snake case (``"l2"``, ``"perceptual"``, ...).

    Returns
    -------
    decorator : callable
        Class decorator returning the class unchanged apart from its ``name`` attribute.

    Raises
    ------
    ValueError
        If `name` is already registered.
    """

    def decorator(cls: L) -> L:
        cls.name = name
        return LOSSES.register(name)(cls)

    return decorator


def build_loss(name: str, **params: Any) -> Loss:
    """Build the loss registered under `name` from keyword parameters.

    Parameters
    ----------
    name : str
        Registry key; see ``LOSSES.names()``.
    **params
        Constructor arguments of that loss, e.g. ``lam=0.1`` for ``l1_perceptual``.

    Returns
    -------
    loss : Loss

    Raises
    ------
    KeyError
        If `name` is not registered; the message lists the known names.
    ValueError
        If a parameter is not accepted by the loss (the message names it, lists the accepted
        ones and suggests the closest), a required one is missing, or a value is invalid.

    Examples
    --------
    >>> import noise2x.losses
    >>> build_loss("l0", eps=1e-8)
    AnnealedL0Loss(eps=1e-08, gamma_start=2.0, gamma_end=0.0)
    >>> build_loss("l1", lam=0.1)
    Traceback (most recent call last):
        ...
    noise2x.registry.SettingError: loss 'l1' does not accept parameter 'lam'; accepted: (none).
    """
    return LOSSES.build({"name": name, **params})


def check_same_shape(prediction: Tensor, target: Tensor, who: str) -> None:
    """Raise ValueError quoting both shapes unless `prediction` and `target` have the same shape.

    Parameters
    ----------
    prediction, target : Tensor
        The two tensors to compare.
    who : str
        Name of the caller, used in the message.

    Raises
    ------
    ValueError
        If the shapes differ.

    Examples
    --------
    >>> import torch
    >>> check_same_shape(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 5), "l2")
    Traceback (most recent call last):
        ...
    ValueError: l2: prediction shape (1, 1, 4, 4) and target shape (1, 1, 4, 5) differ
    """
    if prediction.shape != target.shape:
        raise ValueError(
            f"{who}: prediction shape {tuple(prediction.shape)} and "
            f"target shape {tuple(target.shape)} differ"
        )
