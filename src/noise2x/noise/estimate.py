"""Noise-level estimation from one noisy image, no clean reference.

Donoho and Johnstone's wavelet estimate of a Gaussian noise level, as scikit-image's
``skimage.restoration.estimate_sigma`` computes it; used by BM3D when no sigma is given
(``noise2x.methods.bm3d``), by the prior's gate (``noise2x.methods.prior``) and by dead-line
restoration (``noise2x.methods.lines``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["MAD_TO_SIGMA", "estimate_sigma"]

MAD_TO_SIGMA = 0.6744897501960817
"""The 75th percentile of the standard normal distribution (``scipy.stats.norm.ppf(0.75)``)."""


def estimate_sigma(image: np.ndarray) -> float:
    """Return the Gaussian noise level of `image`, in its own units.

    Donoho and Johnstone's robust estimate, as ``skimage.restoration.estimate_sigma`` computes
    it (same values): the median absolute value of the finest diagonal detail coefficients of
    a one-level ``db2`` wavelet transform (PyWavelets; zero coefficients left out), divided by
    `MAD_TO_SIGMA`; the mean over channels. Written out so that the prior's gate does not pay
    the import of ``scipy.stats`` (about a second) on every start. Used by BM3D without a
    given sigma, the prior's gate and dead-line restoration.

    Parameters
    ----------
    image : np.ndarray, shape (C, H, W), float
        One image; C is 1 or 3.

    Returns
    -------
    float
        The mean over channels of the estimated standard deviation.

    Raises
    ------
    ValueError
        If no positive finite level comes out (a constant image).

    References
    ----------
    D. L. Donoho and I. M. Johnstone, "Ideal spatial adaptation by wavelet shrinkage",
    Biometrika 81(3), 1994 (section 4.2).
    """
    import warnings

    import pywt

    sigmas = []
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # numpy's warnings on a constant image: said below
        for channel in image:
            detail = pywt.dwtn(channel.astype(np.float64), "db2")["dd"]
            detail = detail[np.nonzero(detail)]
            sigmas.append(np.median(np.abs(detail)) / MAD_TO_SIGMA if detail.size else np.nan)
        sigma = float(np.mean(sigmas))
    if not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(
            "cannot estimate the noise level of this image (it is constant or has no noise)"
        )
    return sigma
