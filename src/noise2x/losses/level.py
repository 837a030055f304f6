"""Noise2Noise L2 weighted by each pair's own noise level, for training on many noise levels.

A model trained on pairs whose noise levels span a range (the shipped prior: Gaussian sigma in
[0, 55], Poisson, Poisson-Gaussian) minimises the mean over pairs of ||f(y1) - y2||^2. Each
term is the denoising error of f plus the target's noise variance, and the gradient's variance
grows with that noise: the pairs with high sigma dominate the sum and its noise, and the low
levels, whose denoising errors are an order of magnitude smaller, are learned poorly. This
loss divides each pair's squared error by an estimate of that pair's noise variance, read from
the pair itself with no clean image and no given level:

    sigma2_hat_i = mean((y1_i - y2_i)^2) / 2        (independent noise of equal variance)
    loss = mean_i  mean((f(y1_i) - y2_i)^2) / (sigma2_hat_i + floor^2)^power

``power = 1`` equalises the target-noise term over levels; the default ``power = 0.5`` divides
by the noise's standard deviation instead, chosen on validation images for the shipped grey
prior (``benchmarks/results/prior_validation.md``: after 6000 steps, power 0.5 beat power 1
by 0.6-1.7 dB at every sigma of 5, 15, 25, 50). ``floor`` (on the 0-255 scale) keeps the
weight of nearly clean pairs finite. The minimiser per pair is unchanged (the weight is a
per-pair constant estimated from some thousand pixels), so the model still learns the mean of
the targets, as the Noise2Noise L2 loss does.

Not in the Noise2Noise paper: a reweighting of its L2 loss across pairs (the usual remedy for
losses whose scale differs between tasks, here between noise levels).

References
----------
J. Lehtinen et al., "Noise2Noise: Learning Image Restoration without Clean Data", ICML 2018,
arXiv:1803.04189 (the L2 loss on pairs).
"""

from __future__ import annotations

import math
import numbers

from torch import Tensor, nn

from noise2x.losses.base import Loss, check_same_shape, register_loss

__all__ = ["LevelWeightedL2Loss", "pair_noise_variance"]


def pair_noise_variance(noisy_a: Tensor, noisy_b: Tensor) -> Tensor:
    """Estimate each pair's noise variance from the pair alone: mean((a - b)^2) / 2 per image.

    Parameters
    ----------
    noisy_a, noisy_b : Tensor, shape (B, C, H, W), float32
        Two noisy views of the same scenes with independent zero-mean noise of equal variance.

    Returns
    -------
    Tensor, shape (B,), float32
        The mean noise variance of each pair, on the scale of the input (for [0, 1] images,
        (sigma / 255)^2 for Gaussian noise of sigma on the 0-255 scale).

    Raises
    ------
    ValueError
        If the shapes differ or the tensors are not 4-D.

    Examples
    --------
    >>> import torch
    >>> a, b = torch.zeros(1, 1, 2, 2), torch.full((1, 1, 2, 2), 0.2)
    >>> round(pair_noise_variance(a, b).item(), 6)
    0.02
    """
    check_same_shape(noisy_a, noisy_b, "pair_noise_variance")
    if noisy_a.ndim != 4:
        raise ValueError(f"pair_noise_variance: expected (B, C, H, W), got {tuple(noisy_a.shape)}")
    return (noisy_a.float() - noisy_b.float()).square().mean(dim=(1, 2, 3)) / 2


@register_loss("l2_level")
class LevelWeightedL2Loss(Loss):
    """Noise2Noise L2 with each pair's error divided by a power of its estimated noise variance.

    Called with the net and both views (``needs_net``), since the weight reads the input view.
    See the module docstring for the formula.

    Parameters
    ----------
    floor : float
        Noise sigma on the 0-255 scale added (squared) to each estimate, > 0: a pair cleaner
        than this weighs as one at `floor` (images are taken to be on [0, 1]).
    power : float
        Exponent of the weight, >= 0 (0: the plain L2 loss; 1: divide by the variance; the
        default 0.5 was chosen on validation crops for the prior).

    Raises
    ------
    ValueError
        If `floor` is not a finite number > 0 or `power` not a finite number >= 0.

    Examples
    --------
    >>> import torch
    >>> a = torch.zeros(2, 1, 4, 4)
    >>> b = torch.stack([torch.full((1, 4, 4), 0.1), torch.full((1, 4, 4), 0.2)])
    >>> loss = LevelWeightedL2Loss(floor=1.0)(torch.nn.Identity(), a, b)
    >>> loss.shape
    torch.Size([])
    """

    needs_net = True

    def __init__(self, floor: float = 2.0, power: float = 0.5) -> None:
        super().__init__()
        for name, value, positive in (("floor", floor, True), ("power", power, False)):
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
            ok = ok and math.isfinite(float(value)) and (value > 0 if positive else value >= 0)
            if not ok:
                bound = "> 0" if positive else ">= 0"
                raise ValueError(f"l2_level: {name} must be a finite number {bound}, got {value!r}")
        self.floor = float(floor)
        self.power = float(power)

    def forward(  # type: ignore[override]
        self,
        net: nn.Module,
        noisy_a: Tensor,
        noisy_b: Tensor,
        step: int | None = None,
        total_steps: int | None = None,
    ) -> Tensor:
        """Return mean_i mean((net(a_i) - b_i)^2) / (sigma2_hat_i + floor^2)^power.

        Parameters
        ----------
        net : nn.Module
            Maps (B, C, H, W) to (B, C, H, W).
        noisy_a, noisy_b : Tensor, shape (B, C, H, W), float32, nominally in [0, 1]
            Input view and target view of the same scenes.
        step, total_steps : int or None
            Ignored.

        Returns
        -------
        loss : Tensor, shape (), float32; the weights carry no gradient.

        Raises
        ------
        ValueError
            If shapes differ; the message quotes both.
        """
        prediction = net(noisy_a)
        check_same_shape(prediction, noisy_b, "l2_level (net(noisy_a) vs noisy_b)")
        variance = pair_noise_variance(noisy_a, noisy_b).detach()
        weight = (variance + (self.floor / 255.0) ** 2).pow(-self.power)
        error = (prediction.float() - noisy_b.float()).square().mean(dim=(1, 2, 3))
        return (error * weight).mean()

    def extra_repr(self) -> str:
        """Return the constructor arguments shown in ``repr``."""
        return f"floor={self.floor!r}, power={self.power!r}"
