"""The intensity mapping of noise2x: any image's values <-> the [0, 1] working scale.

Every method and trained model works on float32 images nominally in [0, 1]. Zero-Shot
Noise2Noise and its learning rate, and the shipped prior, were tuned on images in [0, 1], and
moving such an image to another scale costs PSNR (about 0.35 dB on Set12 at sigma = 25 when a
noisy image is stretched from its [min, max]). So, with ``normalize="auto"``:

1. unsigned integer arrays are first divided by their dtype's maximum (255, 65535);
2. an image already on the [0, 1] scale is used as it is: its 0.1st and 99.9th percentiles
   lie in [-0.25, 1.25] (noise may overshoot [0, 1]) and are at least 0.2 apart;
3. any other image (dim 16-bit microscopy, electron counts, negative MRC densities) is mapped
   affinely from its [min, max] to [0, 1], and mapped back afterwards.

``normalize="minmax"`` always does step 3, ``"none"`` never maps. Used by ``noise2x.api``
(what ``noise2x denoise`` does to its input) and by the training data (pairs, frames, single
noisy images), so that a model sees at inference the scale it was trained on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["NORMALIZE", "Scale", "scale_for"]

NORMALIZE = ("auto", "minmax", "none")
"""The choices of `scale_for`'s ``normalize``."""


@dataclass(frozen=True)
class Scale:
    """Affine map between the caller's values and the [0, 1] working range.

    ``working = (value - offset) / scale``; `inverse` maps back and casts to `dtype`
    (integers rounded and clipped to the dtype's range).

    Examples
    --------
    >>> s = scale_for(np.array([[0, 255]], np.uint8))
    >>> s.forward(np.array([51], np.uint8)), s.inverse(np.array([0.2], np.float32))
    (array([0.2], dtype=float32), array([51], dtype=uint8))
    """

    offset: float
    scale: float
    dtype: np.dtype

    def forward(self, array: np.ndarray) -> np.ndarray:
        """Map `array` (any shape) to the working scale, float32."""
        return ((array.astype(np.float64) - self.offset) / self.scale).astype(np.float32)

    def inverse(self, array: np.ndarray) -> np.ndarray:
        """Map working-scale values back to the caller's scale and dtype."""
        values = array.astype(np.float64) * self.scale + self.offset
        if np.issubdtype(self.dtype, np.integer):
            info = np.iinfo(self.dtype)
            return np.clip(np.rint(values), info.min, info.max).astype(self.dtype)
        return values.astype(self.dtype)


def scale_for(array: np.ndarray, normalize: str = "auto") -> Scale:
    """Return the map that brings `array` to the [0, 1] working scale (see the module doc).

    Parameters
    ----------
    array : np.ndarray, any shape, integer or float
        The image or stack; one map for all of it.
    normalize : {"auto", "minmax", "none"}

    Returns
    -------
    Scale

    Raises
    ------
    ValueError
        If `normalize` is not one of the three choices.
    """
    if normalize not in ("auto", "minmax", "none"):
        raise ValueError(f"normalize must be 'auto', 'minmax' or 'none', got {normalize!r}")
    if normalize == "none":
        return Scale(0.0, 1.0, array.dtype)
    unit = (
        float(np.iinfo(array.dtype).max) if np.issubdtype(array.dtype, np.unsignedinteger) else 1.0
    )
    if normalize == "auto":
        p_lo, p_hi = np.percentile(array, [0.1, 99.9]) / unit
        if p_lo >= -0.25 and p_hi <= 1.25 and p_hi - p_lo >= 0.2:
            return Scale(0.0, unit, array.dtype)
    lo, hi = float(array.min()), float(array.max())
    return Scale(lo, (hi - lo) or 1.0, array.dtype)
