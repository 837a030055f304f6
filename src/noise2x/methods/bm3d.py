"""BM3D, the classical baseline: block matching and collaborative 3-D filtering.

K. Dabov, A. Foi, V. Katkovnik and K. Egiazarian, "Image Denoising by Sparse 3-D
Transform-Domain Collaborative Filtering", IEEE TIP 2007; run by the ``bm3d`` package of
Y. Mäkinen, L. Azzari and A. Foi (Tampere University), not reimplemented here.

BM3D needs the noise level. Gaussian noise of known sigma is the case it was made for; give it
(``sigma``, on the 0-255 scale of an 8-bit image whose [0, 1] working range is 255 levels).
Otherwise sigma is estimated from the image as ``skimage.restoration.estimate_sigma`` does
(``noise2x.noise.estimate.estimate_sigma``, re-exported here: wavelet median absolute
deviation, Donoho & Johnstone 1994), per channel
and averaged, which
is what a user without a noise model can do. Grey images go to ``bm3d.bm3d``, colour images to
``bm3d.bm3d_rgb`` (opponent colour space). No training: a `ClassicalFilter`
(``trainable = False``): ``fit`` and ``denoise`` only filter; there is no network and no loss.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from noise2x.methods.base import METHODS, FitResult, SingleImageMethod, psnr_db
from noise2x.noise.estimate import MAD_TO_SIGMA, estimate_sigma

__all__ = ["BM3D", "BM3DConfig", "MAD_TO_SIGMA", "bm3d_denoise", "estimate_sigma"]


def _bm3d_module():
    try:
        import bm3d
    except ImportError as err:  # pragma: no cover - bm3d is a core dependency
        raise ImportError(
            "method 'bm3d' needs the bm3d package (pip install bm3d): " + str(err)
        ) from None
    return bm3d


def bm3d_denoise(image: np.ndarray, sigma: float) -> np.ndarray:
    """Denoise one image with BM3D at noise level `sigma` (same units as the image).

    Parameters
    ----------
    image : np.ndarray, shape (C, H, W), float32, nominally in [0, 1]
        C is 1 (``bm3d.bm3d``) or 3 (``bm3d.bm3d_rgb``; three equal channels, a grey picture
        saved as RGB, are filtered as one grey channel and repeated); H, W >= 8.
    sigma : float
        Standard deviation of the noise, in the image's units (sigma_255 / 255 for [0, 1]).

    Returns
    -------
    np.ndarray, shape (C, H, W), float32

    Raises
    ------
    ValueError
        If C is not 1 or 3, H or W is below 8, or `sigma` is not a positive finite number.
    """
    channels, height, width = image.shape
    if channels not in (1, 3):
        raise ValueError(f"bm3d: expected 1 or 3 channels, got {channels}")
    if min(height, width) < 8:
        raise ValueError(f"bm3d: needs at least 8x8 pixels, got {height}x{width}")
    if not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"bm3d: sigma must be a positive number, got {sigma}")
    bm3d = _bm3d_module()
    data = image.astype(np.float64)
    if channels == 3 and np.array_equal(data[0], data[1]) and np.array_equal(data[1], data[2]):
        # A grey picture saved as RGB: the opponent transform of bm3d_rgb has no chroma to work
        # on and returns NaN; filter the one grey channel and repeat it.
        out = np.repeat(np.asarray(bm3d.bm3d(data[0], sigma))[None], 3, axis=0)
    elif channels == 1:
        out = np.asarray(bm3d.bm3d(data[0], sigma))[None]
    else:
        out = np.moveaxis(np.asarray(bm3d.bm3d_rgb(np.moveaxis(data, 0, -1), sigma)), -1, 0)
    return out.astype(np.float32)


@dataclass(frozen=True)
class BM3DConfig:
    """Settings of the BM3D baseline.

    Attributes
    ----------
    sigma : float or None
        Noise standard deviation on the 0-255 scale (the image's [0, 1] range = 255); None
        estimates it from the image (``estimate_sigma``).
    clip : bool
        Clip the result to [0, 1].
    """

    sigma: float | None = None
    clip: bool = True

    def __post_init__(self) -> None:
        if self.sigma is not None and not (np.isfinite(self.sigma) and self.sigma > 0):
            raise ValueError(f"bm3d: sigma must be a positive number or None, got {self.sigma}")


@METHODS.register("bm3d")
class BM3D(SingleImageMethod):
    """BM3D as a single-image method: ``noise2x denoise --method bm3d`` (no training).

    Parameters
    ----------
    config : BM3DConfig or None
        Settings; None uses the defaults (sigma estimated).
    **overrides
        Fields of ``BM3DConfig`` to change, e.g. ``sigma=25``.

    Raises
    ------
    TypeError
        If an override is not a field of the config.
    ValueError
        If `sigma` is not positive.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> clean = np.full((1, 1, 32, 32), 0.5, np.float32)
    >>> noisy = torch.from_numpy(clean + rng.normal(0, 0.1, clean.shape).astype(np.float32))
    >>> result = BM3D(sigma=25.5).fit(noisy)
    >>> bool(result.denoised.std() < 0.05)
    True
    """

    name: ClassVar[str] = "bm3d"
    single_image: ClassVar[bool] = True
    trainable: ClassVar[bool] = False
    Config: ClassVar[type] = BM3DConfig

    def denoise(self, net: nn.Module | None, noisy: Tensor) -> Tensor:
        """Return BM3D of every image of `noisy` (B, C, H, W) float32; `net` is ignored."""
        return torch.cat([self._filter(image[None]) for image in noisy])

    def sigma_for(self, image: np.ndarray) -> float:
        """Return the noise level used for `image` (C, H, W), in [0, 1] units."""
        if self.config.sigma is not None:
            return self.config.sigma / 255.0
        try:
            return estimate_sigma(image)
        except ValueError as err:
            raise ValueError(f"bm3d: {err}; give sigma (--sigma)") from None

    def fit(
        self,
        noisy: Tensor,
        reference: Tensor | None = None,
        device: str | torch.device | None = "auto",
        progress: Callable[[int, int], None] | None = None,
        log_every: int = 0,
    ) -> FitResult:
        """Filter `noisy` (1, C, H, W) float32 in [0, 1]; the API of the trained methods.

        `device` is ignored (BM3D runs on the CPU); `progress` is called once, (1, 1), at the
        end; with a `reference` the PSNR is logged as step 0. Raises ValueError as
        :func:`bm3d_denoise`, and when `noisy` is not one (1, C, H, W) image or has NaN/Inf.
        """
        if noisy.ndim != 4 or noisy.shape[0] != 1:
            raise ValueError(f"bm3d: expected one image (1, C, H, W), got {tuple(noisy.shape)}")
        if not bool(torch.isfinite(noisy).all()):
            raise ValueError("bm3d: the image contains NaN/Inf")
        if min(noisy.shape[-2:]) < 8:  # before estimating sigma on a tiny image
            raise ValueError(f"bm3d: needs at least 8x8 pixels, got {tuple(noisy.shape[-2:])}")
        start = time.perf_counter()
        out = self._filter(noisy)
        history = [] if reference is None else [(0, psnr_db(out, reference.to(out.device)))]
        if progress is not None:
            progress(1, 1)
        return FitResult(
            denoised=out,
            net=nn.Identity(),
            psnr_history=history,
            seconds=time.perf_counter() - start,
        )

    def _filter(self, noisy: Tensor) -> Tensor:
        image = noisy[0].detach().float().cpu().numpy()
        out = torch.from_numpy(bm3d_denoise(image, self.sigma_for(image)))[None]
        if self.config.clip:
            out = out.clamp(0.0, 1.0)
        return out.to(noisy.device)
