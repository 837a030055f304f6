"""Peak signal-to-noise ratio (PSNR), in dB, on tensors and on numpy arrays.

PSNR = 10 log10(data_range^2 / MSE), where MSE is the mean squared difference over all pixels
and channels of one image. Nothing is clipped here: a denoiser's output may leave [0, 1], and
whether to clip it before measuring is the caller's decision (papers differ; say which you did).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor


def _check_data_range(data_range: float) -> None:
    if not (data_range > 0 and math.isfinite(data_range)):
        raise ValueError(f"data_range must be a finite number > 0, got {data_range!r}")


def psnr(x: Tensor, reference: Tensor, data_range: float = 1.0) -> Tensor:
    """Peak signal-to-noise ratio of each image in a batch, in dB.

    PSNR = 10 log10(data_range^2 / MSE), with MSE = mean((x - reference)^2) over C, H and W of
    each image. MSE = 0 (identical images) gives +inf. Values are not clipped to
    [0, data_range]: clip `x` first if that is what you want to measure. Differentiable in `x`.

    Parameters
    ----------
    x : Tensor, shape (B, C, H, W), floating (or integer), any range
        Images to measure, e.g. denoised.
    reference : Tensor, shape (B, C, H, W), same device as `x`
        Clean references.
    data_range : float, default 1.0
        Peak-to-peak range of the pixel values (1.0 for images in [0, 1], 255.0 for [0, 255]).

    Returns
    -------
    Tensor, shape (B,), on `x`'s device
        PSNR in dB; dtype float32, or float64 if either input is float64.

    Raises
    ------
    ValueError
        If `x` or `reference` is not 4-D or their shapes differ (the message quotes both
        shapes), or `data_range` is not a finite number > 0.

    References
    ----------
    Z. Wang and A. C. Bovik, "Mean squared error: love it or leave it?", IEEE Signal Processing
    Magazine 26(1), 2009. Agrees with ``skimage.metrics.peak_signal_noise_ratio``.

    Examples
    --------
    >>> import torch
    >>> clean = torch.zeros(2, 1, 4, 4)
    >>> out = psnr(clean + 0.1, clean)  # MSE = 0.01 -> 20 dB
    >>> out.shape, [round(v, 4) for v in out.tolist()]
    (torch.Size([2]), [20.0, 20.0])
    >>> psnr(clean, clean).tolist()
    [inf, inf]
    """
    if x.ndim != 4 or x.shape != reference.shape:
        raise ValueError(
            "psnr needs two (B, C, H, W) tensors of the same shape, got "
            f"{tuple(x.shape)} and {tuple(reference.shape)}"
        )
    _check_data_range(data_range)
    dtype = torch.promote_types(torch.promote_types(x.dtype, reference.dtype), torch.float32)
    diff = x.to(dtype) - reference.to(dtype)
    mse = diff.square().mean(dim=(1, 2, 3))
    return 10.0 * torch.log10(data_range**2 / mse)


def psnr_np(x: np.ndarray, reference: np.ndarray, data_range: float) -> float:
    """Peak signal-to-noise ratio of one image (numpy arrays of any shape), in dB.

    PSNR = 10 log10(data_range^2 / MSE), with MSE the mean of (x - reference)^2 over every
    element, computed in float64. MSE = 0 gives +inf. Nothing is clipped. For a stack, call it
    once per frame (a single call treats the whole stack as one image).

    Parameters
    ----------
    x : np.ndarray, any shape, any real dtype
        Image to measure, e.g. (C, H, W) float32 in [0, 1].
    reference : np.ndarray, same shape as `x`
        Clean reference.
    data_range : float
        Peak-to-peak range of the pixel values (1.0 for [0, 1], 255.0 for uint8 values).

    Returns
    -------
    float
        PSNR in dB (``inf`` for identical images).

    Raises
    ------
    ValueError
        If the shapes differ (the message quotes both), the arrays are empty, or `data_range`
        is not a finite number > 0.

    References
    ----------
    Matches ``skimage.metrics.peak_signal_noise_ratio(reference, x, data_range=data_range)``.

    Examples
    --------
    >>> import numpy as np
    >>> clean = np.full((1, 8, 8), 0.5, np.float32)
    >>> round(psnr_np(clean + 0.1, clean, 1.0), 4)
    20.0
    >>> psnr_np(clean, clean, 1.0)
    inf
    """
    x = np.asarray(x)
    reference = np.asarray(reference)
    if x.shape != reference.shape:
        raise ValueError(
            f"psnr_np needs arrays of the same shape, got {x.shape} and {reference.shape}"
        )
    if x.size == 0:
        raise ValueError(f"psnr_np needs non-empty arrays, got shape {x.shape}")
    _check_data_range(data_range)
    diff = x.astype(np.float64) - reference.astype(np.float64)
    mse = float(np.mean(np.square(diff)))
    if mse == 0.0:
        return math.inf
    return float(10.0 * np.log10(float(data_range) ** 2 / mse))
