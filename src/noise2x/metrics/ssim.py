"""Structural similarity (SSIM) through scikit-image, with Wang et al.'s settings.

Every call goes to ``skimage.metrics.structural_similarity`` with ``gaussian_weights=True``,
``sigma=1.5`` (an 11x11 Gaussian window, truncated at 3.5 sigma), ``use_sample_covariance=False``,
K1 = 0.01, K2 = 0.03 and an explicit ``data_range``; colour images are measured per channel and
averaged (``channel_axis``). As in Wang et al.'s MATLAB ``ssim.m``, the mean is taken over
the pixels at least half a window (5 pixels) from the border. One departure from ``ssim.m``: no
automatic downsampling of images larger than 256 pixels (what most Python denoising code
reports, and what scikit-image does).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from skimage.metrics import structural_similarity
from torch import Tensor

WINDOW = 11
"""Side of the Gaussian window (2 * int(3.5 * 1.5 + 0.5) + 1): the smallest H and W accepted."""

_WANG = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False}


def _check(x_shape: tuple, ref_shape: tuple, spatial: tuple, data_range: float, name: str) -> None:
    if x_shape != ref_shape:
        raise ValueError(f"{name} needs inputs of the same shape, got {x_shape} and {ref_shape}")
    if min(spatial) < WINDOW:
        raise ValueError(
            f"{name} needs images of at least {WINDOW}x{WINDOW} pixels (the Gaussian window), "
            f"got shape {x_shape}"
        )
    if not (data_range > 0 and math.isfinite(data_range)):
        raise ValueError(f"data_range must be a finite number > 0, got {data_range!r}")


def ssim_np(
    x: np.ndarray,
    reference: np.ndarray,
    data_range: float,
    channel_axis: int | None = None,
) -> float:
    """Mean structural similarity of one image (numpy arrays), Wang et al.'s settings.

    SSIM = ((2 mu_x mu_r + c1)(2 cov_xr + c2)) / ((mu_x^2 + mu_r^2 + c1)(var_x + var_r + c2)),
    c1 = (0.01 data_range)^2, c2 = (0.03 data_range)^2, with local statistics under an 11x11
    Gaussian window (sigma 1.5), averaged over the image and, for colour, over channels.
    Computed in float64. Nothing is clipped.

    Parameters
    ----------
    x : np.ndarray, shape (H, W) or (C, H, W), any real dtype
        Image to measure. A 3-D array is channel first unless `channel_axis` says otherwise;
        C = 1 is measured as a grey (H, W) image.
    reference : np.ndarray, same shape as `x`
        Clean reference.
    data_range : float
        Peak-to-peak range of the pixel values (1.0 for [0, 1], 255.0 for uint8 values).
    channel_axis : int, optional
        Axis of the channels for a 3-D array (default 0, channel first; -1 for (H, W, C)).
        Ignored for 2-D arrays.

    Returns
    -------
    float
        Mean SSIM, at most 1.0 (1.0 for identical images).

    Raises
    ------
    ValueError
        If the shapes differ, the array is not 2-D or 3-D, H or W is below 11, or `data_range`
        is not a finite number > 0; the message quotes the shape.

    References
    ----------
    Z. Wang, A. C. Bovik, H. R. Sheikh and E. P. Simoncelli, "Image quality assessment: from
    error visibility to structural similarity", IEEE Trans. Image Processing 13(4), 2004.

    Examples
    --------
    >>> import numpy as np
    >>> clean = np.random.default_rng(0).random((3, 16, 16))
    >>> ssim_np(clean, clean, 1.0)
    1.0
    >>> bool(ssim_np(clean + 0.1 * np.random.default_rng(1).standard_normal(clean.shape),
    ...              clean, 1.0) < 1.0)
    True
    """
    x = np.asarray(x, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if x.ndim not in (2, 3):
        raise ValueError(
            f"ssim_np needs an (H, W) or (C, H, W) array, got {x.ndim}-D shape {x.shape}"
        )
    axis = None
    if x.ndim == 3:
        axis = (0 if channel_axis is None else channel_axis) % 3
    spatial = tuple(n for i, n in enumerate(x.shape) if i != axis)
    _check(x.shape, reference.shape, spatial, data_range, "ssim_np")
    if axis is not None and x.shape[axis] == 1:
        x, reference, axis = np.squeeze(x, axis), np.squeeze(reference, axis), None
    value = structural_similarity(
        x, reference, data_range=float(data_range), channel_axis=axis, **_WANG
    )
    return float(value)


def ssim(x: Tensor, reference: Tensor, data_range: float = 1.0) -> Tensor:
    """Mean structural similarity of each image in a batch, Wang et al.'s settings.

    Each image is moved to the CPU as a float64 numpy array and measured with
    :func:`ssim_np` (C = 1: grey; C > 1: per channel, averaged). Not differentiable: the
    inputs are detached.

    Parameters
    ----------
    x : Tensor, shape (B, C, H, W), any real dtype, H, W >= 11
        Images to measure, e.g. denoised.
    reference : Tensor, shape (B, C, H, W)
        Clean references.
    data_range : float, default 1.0
        Peak-to-peak range of the pixel values (1.0 for images in [0, 1]).

    Returns
    -------
    Tensor, shape (B,), on `x`'s device
        Mean SSIM per image (unitless, at most 1); dtype float32, or float64 if either input
        is float64.

    Raises
    ------
    ValueError
        If the inputs are not 4-D, their shapes differ, H or W is below 11, or `data_range` is
        not a finite number > 0; the message quotes the shapes.

    References
    ----------
    Z. Wang, A. C. Bovik, H. R. Sheikh and E. P. Simoncelli, "Image quality assessment: from
    error visibility to structural similarity", IEEE Trans. Image Processing 13(4), 2004.

    Examples
    --------
    >>> import torch
    >>> clean = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    >>> out = ssim(clean, clean)
    >>> out.shape, out.tolist()
    (torch.Size([2]), [1.0, 1.0])
    """
    if x.ndim != 4 or reference.ndim != 4:
        raise ValueError(
            "ssim needs two (B, C, H, W) tensors, got "
            f"{tuple(x.shape)} and {tuple(reference.shape)}"
        )
    _check(tuple(x.shape), tuple(reference.shape), tuple(x.shape[-2:]), data_range, "ssim")
    dtype = torch.promote_types(torch.promote_types(x.dtype, reference.dtype), torch.float32)
    x_np = x.detach().cpu().to(torch.float64).numpy()
    ref_np = reference.detach().cpu().to(torch.float64).numpy()
    values = [ssim_np(a, b, data_range) for a, b in zip(x_np, ref_np, strict=True)]
    return torch.tensor(values, dtype=dtype, device=x.device)
