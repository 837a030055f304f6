"""Pixel-wise losses of Noise2Noise: L2, L1, annealed L0 and the symmetric L2.

J. Lehtinen, J. Munkberg, J. Hasselgren, S. Laine, T. Karras, M. Aittala and T. Aila,
"Noise2Noise: Learning Image Restoration without Clean Data", ICML 2018, arXiv:1803.04189.

Training on noisy targets y2 recovers the clean image when the loss's minimiser is the right
statistic of the target distribution (Sec. 2): L2 gives the mean (zero-mean noise such as
Gaussian or Poisson), L1 the median (noise that keeps the median, e.g. text overlays with
under 50 % coverage), and the annealed L0 approaches the mode (random-valued impulse noise,
Sec. 3.3). Registry keys: ``l2``, ``l1``, ``l0``, ``symmetric``.

Deliberate departures from the paper:

- ``symmetric`` (f(y1) against y2 plus f(y2) against y1) is not in the paper; it uses each
  noisy pair twice per step, as is common in later N2N code. It needs the net and both views,
  so its call signature differs from the other losses (``needs_net = True``).
- The L0 exponent can be given other end points (`gamma_start`, `gamma_end`); the defaults
  are the paper's 2 -> 0.
"""

from __future__ import annotations

import math
import numbers

import torch.nn.functional as F
from torch import Tensor, nn

from noise2x.losses.base import Loss, check_same_shape, register_loss

__all__ = ["AnnealedL0Loss", "L1Loss", "L2Loss", "SymmetricN2NLoss", "symmetric_n2n_loss"]


@register_loss("l2")
class L2Loss(Loss):
    """Mean squared error, mean((f(y1) - y2)^2): the Noise2Noise loss for zero-mean noise.

    Its minimiser over noisy targets is their mean, so a net trained on pairs with zero-mean
    noise (Gaussian, Poisson) learns the clean image.

    References
    ----------
    Lehtinen et al., "Noise2Noise", ICML 2018, arXiv:1803.04189, Sec. 2 and 3.1.

    Examples
    --------
    >>> import torch
    >>> loss = L2Loss()(torch.zeros(1, 1, 2, 2), torch.full((1, 1, 2, 2), 0.5))
    >>> loss.shape, loss.item()
    (torch.Size([]), 0.25)
    """

    def forward(
        self,
        prediction: Tensor,
        target: Tensor,
        step: int | None = None,
        total_steps: int | None = None,
    ) -> Tensor:
        """Return mean((prediction - target)^2).

        Parameters
        ----------
        prediction : Tensor, shape (B, C, H, W), float32, nominally in [0, 1]
            Output of the net.
        target : Tensor, same shape as `prediction`
            Noisy target view.
        step, total_steps : int or None
            Ignored.

        Returns
        -------
        loss : Tensor, shape (), float32

        Raises
        ------
        ValueError
            If the shapes differ; the message quotes both.
        """
        check_same_shape(prediction, target, "l2 loss")
        return F.mse_loss(prediction, target)


@register_loss("l1")
class L1Loss(Loss):
    """Mean absolute error, mean(|f(y1) - y2|): the Noise2Noise loss for median-preserving noise.

    Its minimiser over noisy targets is their median, so it recovers the clean image when the
    noise keeps the median, e.g. random text overlays covering under half the pixels or
    outlier-heavy noise (Sec. 3.2).

    References
    ----------
    Lehtinen et al., "Noise2Noise", ICML 2018, arXiv:1803.04189, Sec. 2 and 3.2.

    Examples
    --------
    >>> import torch
    >>> loss = L1Loss()(torch.zeros(1, 1, 2, 2), torch.full((1, 1, 2, 2), 0.5))
    >>> loss.shape, loss.item()
    (torch.Size([]), 0.5)
    """

    def forward(
        self,
        prediction: Tensor,
        target: Tensor,
        step: int | None = None,
        total_steps: int | None = None,
    ) -> Tensor:
        """Return mean(|prediction - target|).

        Parameters
        ----------
        prediction : Tensor, shape (B, C, H, W), float32, nominally in [0, 1]
            Output of the net.
        target : Tensor, same shape as `prediction`
            Noisy target view.
        step, total_steps : int or None
            Ignored.

        Returns
        -------
        loss : Tensor, shape (), float32

        Raises
        ------
        ValueError
            If the shapes differ; the message quotes both.
        """
        check_same_shape(prediction, target, "l1 loss")
        return F.l1_loss(prediction, target)


@register_loss("l0")
class AnnealedL0Loss(Loss):
    """Annealed L0 loss, mean((|f(y1) - y2| + eps)^gamma), gamma going linearly from 2 to 0.

    With t the 0-based step and T the number of training steps,
    gamma = gamma_start + (gamma_end - gamma_start) * t / T, i.e. gamma = 2 (1 - t / T) with
    the paper's defaults. At t = 0 it is the L2 loss (up to eps); as gamma approaches 0 its
    minimiser approaches the mode of the targets, which for random-valued impulse noise is the
    clean value (Sec. 3.3).

    Parameters
    ----------
    eps : float
        Added to |f(y1) - y2| before the power, keeping the gradient finite at zero error.
        Default 1e-8, the paper's value. Must be > 0.
    gamma_start, gamma_end : float
        Exponent at step 0 and at step `total_steps`; defaults 2 and 0 are the paper's.
        Both must be >= 0.

    Raises
    ------
    ValueError
        If a parameter is out of range.

    References
    ----------
    Lehtinen et al., "Noise2Noise", ICML 2018, arXiv:1803.04189, Sec. 3.3.

    Examples
    --------
    >>> import torch
    >>> loss_fn = AnnealedL0Loss()
    >>> loss_fn.gamma(step=250, total_steps=1000)
    1.5
    >>> prediction, target = torch.zeros(1, 1, 2, 2), torch.full((1, 1, 2, 2), 0.5)
    >>> loss = loss_fn(prediction, target, step=0, total_steps=1000)
    >>> loss.shape, round(loss.item(), 6)
    (torch.Size([]), 0.25)
    """

    def __init__(self, eps: float = 1e-8, gamma_start: float = 2.0, gamma_end: float = 0.0):
        super().__init__()
        self.eps = _check_real("eps", eps, positive=True)
        self.gamma_start = _check_real("gamma_start", gamma_start)
        self.gamma_end = _check_real("gamma_end", gamma_end)

    def gamma(self, step: int | None, total_steps: int | None) -> float:
        """Return the exponent at `step` of `total_steps`.

        Parameters
        ----------
        step : int
            0-based optimisation step, 0 <= step <= total_steps.
        total_steps : int
            Number of training steps, >= 1.

        Returns
        -------
        gamma : float

        Raises
        ------
        ValueError
            If either is missing (None), not an integer, or out of range.
        """
        if step is None or total_steps is None:
            raise ValueError(
                "l0 loss needs step and total_steps (its exponent is annealed from "
                f"{self.gamma_start:g} to {self.gamma_end:g} over training), "
                f"got step={step!r}, total_steps={total_steps!r}"
            )
        for label, value in (("step", step), ("total_steps", total_steps)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise ValueError(f"l0 loss: {label} must be an int, got {value!r}")
        if total_steps < 1 or not 0 <= step <= total_steps:
            raise ValueError(
                "l0 loss needs total_steps >= 1 and 0 <= step <= total_steps, "
                f"got step={step}, total_steps={total_steps}"
            )
        return self.gamma_start + (self.gamma_end - self.gamma_start) * step / total_steps

    def forward(
        self,
        prediction: Tensor,
        target: Tensor,
        step: int | None = None,
        total_steps: int | None = None,
    ) -> Tensor:
        """Return mean((|prediction - target| + eps)^gamma(step, total_steps)).

        Parameters
        ----------
        prediction : Tensor, shape (B, C, H, W), float32, nominally in [0, 1]
            Output of the net.
        target : Tensor, same shape as `prediction`
            Noisy target view.
        step : int
            0-based optimisation step. Required.
        total_steps : int
            Number of training steps. Required.

        Returns
        -------
        loss : Tensor, shape (), float32

        Raises
        ------
        ValueError
            If the shapes differ (the message quotes both), or `step` or `total_steps` is
            missing or out of range.
        """
        check_same_shape(prediction, target, "l0 loss")
        gamma = self.gamma(step, total_steps)
        return ((prediction - target).abs() + self.eps).pow(gamma).mean()

    def extra_repr(self) -> str:
        """Return the constructor arguments shown in ``repr``."""
        return f"eps={self.eps!r}, gamma_start={self.gamma_start!r}, gamma_end={self.gamma_end!r}"


def symmetric_n2n_loss(net: nn.Module, noisy_a: Tensor, noisy_b: Tensor) -> Tensor:
    """Symmetric Noise2Noise L2 loss: each view is the other's target.

    loss = mean((f(y1) - y2)^2) + mean((f(y2) - y1)^2), with f the net, y1 = `noisy_a` and
    y2 = `noisy_b`. It is symmetric in the two views and uses each pair twice per step.

    Parameters
    ----------
    net : nn.Module
        Maps (B, C, H, W) to (B, C, H, W).
    noisy_a, noisy_b : Tensor, shape (B, C, H, W), float32, nominally in [0, 1]
        Two noisy views of the same clean images with independent noise.

    Returns
    -------
    loss : Tensor, shape (), float32

    Raises
    ------
    ValueError
        If the two views, or a view and the net's output, differ in shape; the message quotes
        both shapes.

    References
    ----------
    Lehtinen et al., "Noise2Noise", ICML 2018, arXiv:1803.04189 (the L2 term; the symmetric
    sum is not in the paper).

    Examples
    --------
    >>> import torch
    >>> noisy_a, noisy_b = torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2)
    >>> loss = symmetric_n2n_loss(torch.nn.Identity(), noisy_a, noisy_b)
    >>> loss.shape, loss.item()
    (torch.Size([]), 2.0)
    """
    check_same_shape(noisy_a, noisy_b, "symmetric loss (noisy_a vs noisy_b)")
    prediction_a = net(noisy_a)
    prediction_b = net(noisy_b)
    check_same_shape(prediction_a, noisy_b, "symmetric loss (net(noisy_a) vs noisy_b)")
    check_same_shape(prediction_b, noisy_a, "symmetric loss (net(noisy_b) vs noisy_a)")
    return F.mse_loss(prediction_a, noisy_b) + F.mse_loss(prediction_b, noisy_a)


@register_loss("symmetric")
class SymmetricN2NLoss(Loss):
    """`symmetric_n2n_loss` as a registered module: ``loss(net, noisy_a, noisy_b)``.

    Unlike the other losses it is called with the net and the two noisy views instead of
    ``(prediction, target)``: it needs two forward passes, f(y1) and f(y2), which a single
    prediction cannot provide. ``needs_net`` is True so a method can tell the two call
    contracts apart; `step` and `total_steps` are accepted and ignored.

    References
    ----------
    Lehtinen et al., "Noise2Noise", ICML 2018, arXiv:1803.04189.

    Examples
    --------
    >>> import torch
    >>> loss_fn = SymmetricN2NLoss()
    >>> loss_fn.needs_net
    True
    >>> loss = loss_fn(torch.nn.Identity(), torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2))
    >>> loss.shape, loss.item()
    (torch.Size([]), 2.0)
    """

    needs_net = True

    def forward(  # type: ignore[override]
        self,
        net: nn.Module,
        noisy_a: Tensor,
        noisy_b: Tensor,
        step: int | None = None,
        total_steps: int | None = None,
    ) -> Tensor:
        """Return `symmetric_n2n_loss` (net, noisy_a, noisy_b).

        Parameters
        ----------
        net : nn.Module
            Maps (B, C, H, W) to (B, C, H, W).
        noisy_a, noisy_b : Tensor, shape (B, C, H, W), float32, nominally in [0, 1]
            Two noisy views of the same clean images.
        step, total_steps : int or None
            Ignored.

        Returns
        -------
        loss : Tensor, shape (), float32

        Raises
        ------
        ValueError
            If shapes differ; the message quotes both.
        """
        return symmetric_n2n_loss(net, noisy_a, noisy_b)


def _check_real(name: str, value: object, *, positive: bool = False) -> float:
    """Return `value` as a float after checking it is a finite real >= 0 (> 0 if positive)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    number = float(value)
    bad = number <= 0 if positive else number < 0
    if not math.isfinite(number) or bad:
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return number
