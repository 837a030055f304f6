"""Fourier ring correlation (FRC) of the two halves of a noisy pair: resolution, no clean image.

Two independent noisy images of one scene (``a`` and ``b``: even/odd frame averages, two
captures, two half-datasets) share the signal and not the noise. Their FRC in a ring of spatial
frequencies is the normalised cross-correlation of their Fourier coefficients there,

    FRC(ring) = Re(sum F_a F_b*) / sqrt(sum |F_a|^2 * sum |F_b|^2),

which estimates SNR / (1 + SNR) for the ring (SNR of one half): close to 1 where the signal
dominates, close to 0 (within about 1/sqrt(pixels in the ring)) where the noise does. The
frequency where the curve first drops below the fixed threshold 1/7 is the FRC resolution;
by Rosenthal & Henderson's argument, applied to half-datasets, it is the resolution of the two
halves combined (their average). Resolution in pixels is 1 / frequency; 2 pixels (0.5
cycles/pixel, Nyquist) is the best an image can show.

What to compare when judging a denoiser, with no clean image:

1. FRC(raw a, raw b): what the data alone resolves.
2. FRC(denoise(a), denoise(b)), each half denoised on its own, by a model that never saw the
   other half. A rise above curve 1 means the denoiser separated signal from noise at those
   frequencies.

The denoised halves are independent in their noise only when each was denoised without
information from the other: a model trained or fine-tuned on this pair (Noise2Noise on a and b,
``noise2x finetune`` with the symmetric loss) has seen both noise realisations, so its two
outputs can share them, and the curve is biased upwards. Even with independent processing, a
deterministic denoiser adds the same bias to both halves (the same blur, or the same texture
where it guesses), which correlates like signal: a higher FRC after denoising is evidence of
help, not proof. A linear, isotropic filter (e.g. a Gaussian blur) scales both halves by the
same factor in each ring and leaves the FRC unchanged, so the FRC cannot be raised by mere
low-pass filtering; only a denoiser that uses structure across frequencies can raise it.

Conventions. Rings are in normalised spatial frequency (cycles/pixel): the frequency of pixel
(ky, kx) of an H x W spectrum is sqrt(fy^2 + fx^2) with fy = ky / H, fx = kx / W (numpy's
``fftfreq``), so non-square images work and all rings reach 0.5. Rings are 1 / min(H, W)
wide (the coarser grid spacing, so every ring has pixels along both axes), centred at
k / min(H, W), k = 1 .. min(H, W) // 2; the DC term (the mean) is excluded and corner
frequencies above 0.5 are dropped. Before the FFT each image has its mean subtracted and is
multiplied by an apodisation window (default: Tukey, see :func:`frc`).

References
----------
W. O. Saxton and W. Baumeister, "The correlation averaging of a regularly arranged bacterial
cell envelope protein", J. Microsc. 127(2):127-138, 1982 (introduces the FRC).
P. B. Rosenthal and R. Henderson, "Optimal determination of particle orientation, absolute
hand, and contrast loss in single-particle electron cryomicroscopy", J. Mol. Biol.
333(4):721-745, 2003 (the 1/7 threshold for half-datasets).
M. van Heel and M. Schatz, "Fourier shell correlation threshold criteria", J. Struct. Biol.
151(3):250-262, 2005 (criticises fixed thresholds; proposes ones that depend on the number of
pixels per ring).
R. P. J. Nieuwenhuizen et al., "Measuring image resolution in optical nanoscopy", Nat. Methods
10(6):557-562, 2013 (FRC with the 1/7 threshold on two halves of 2-D image data).
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple, overload

import numpy as np

__all__ = ["FRC_THRESHOLD", "FRCResolution", "WINDOWS", "frc", "frc_resolution"]

FRC_THRESHOLD = 1.0 / 7.0
"""The fixed half-dataset threshold of Rosenthal & Henderson (2003), about 0.143."""

WINDOWS = ("tukey", "hann", "none")
"""Apodisation windows accepted by :func:`frc`."""

_TUKEY_EDGE = 0.1  # fraction of each side (per end) under the Tukey window's cosine taper
_MIN_SIDE = 8


def _taper(n: int, edge: float) -> np.ndarray:
    """1-D window: 1 in the middle, a raised cosine over `edge` * n pixels at each end."""
    t = (np.arange(n) + 0.5) / n  # pixel centres in (0, 1); no pixel gets exactly 0
    distance = np.minimum(t, 1.0 - t)  # to the nearest end
    return np.where(distance < edge, 0.5 * (1.0 - np.cos(np.pi * distance / edge)), 1.0)


def _window(name: str | None, height: int, width: int) -> np.ndarray | None:
    if name is None or name == "none":
        return None
    if name == "tukey":
        edge = _TUKEY_EDGE
    elif name == "hann":
        edge = 0.5  # a raised cosine over the whole side: the Hann window
    else:
        raise ValueError(f"window must be one of {', '.join(WINDOWS)} or None, got {name!r}")
    return np.outer(_taper(height, edge), _taper(width, edge))


def _as_image(x, name: str) -> np.ndarray:
    array = np.asarray(x)
    if array.ndim not in (2, 3):
        raise ValueError(f"frc needs {name} of shape (H, W) or (C, H, W), got {array.shape}")
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise ValueError(f"frc needs real-valued {name}, got dtype {array.dtype}")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise ValueError(f"frc: {name} contains NaN or Inf values")
    return array if array.ndim == 3 else array[np.newaxis]


def _ring_index(height: int, width: int) -> tuple[np.ndarray, np.ndarray, int, float]:
    """Ring of each rfft2 coefficient, its Hermitian weight, the ring count and width."""
    fy = np.fft.fftfreq(height)[:, np.newaxis]
    fx = np.fft.rfftfreq(width)[np.newaxis, :]
    spacing = 1.0 / min(height, width)
    ring = np.floor(np.hypot(fy, fx) / spacing + 0.5).astype(np.int64)
    # rfft2 keeps columns 0 .. W // 2; all but column 0 (and W / 2 for even W) stand for two
    # coefficients of the full spectrum (the conjugate pair), so they count twice.
    weight = np.full(fx.shape, 2.0)
    weight[0, 0] = 1.0
    if width % 2 == 0:
        weight[0, -1] = 1.0
    return ring, np.broadcast_to(weight, ring.shape), min(height, width) // 2, spacing


@overload
def frc(
    a, b, *, window: str | None = ..., return_counts: Literal[False] = ...
) -> tuple[np.ndarray, np.ndarray]: ...
@overload
def frc(
    a, b, *, window: str | None = ..., return_counts: Literal[True]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...
def frc(a, b, *, window: str | None = "tukey", return_counts: bool = False):
    """Fourier ring correlation of two images of the same scene, per ring of spatial frequency.

    FRC(ring) = Re(sum F_a F_b*) / sqrt(sum |F_a|^2 * sum |F_b|^2), sums over the Fourier
    coefficients in the ring (and over channels), where F is the 2-D FFT of the image minus
    its mean, times the window. Rings are 1 / min(H, W) cycles/pixel wide and centred at
    k / min(H, W), k = 1 .. min(H, W) // 2 (DC excluded; see the module docstring). Computed
    in float64 with ``numpy.fft.rfft2``; memory is a few times that of one float64 image.

    For independent noise in `a` and `b` the value estimates SNR / (1 + SNR) of one image in
    that ring; for pure noise it scatters around 0 with a standard deviation of about
    1 / sqrt(counts). An image against itself gives exactly 1 in every ring with power.

    Parameters
    ----------
    a, b : np.ndarray, shape (H, W) or (C, H, W), any real dtype, any range
        The two halves of a pair (two independent noisy images of one scene, or their
        independently denoised versions), of the same shape, H and W >= 8, finite values.
        Torch tensors: pass ``t.detach().cpu().numpy()``. For (C, H, W) the ring sums also
        run over the channels, giving one curve in which each channel counts by its power;
        call ``frc`` per channel for separate curves.
    window : {"tukey", "hann", "none"} or None, default "tukey"
        Apodisation applied to each (mean-subtracted) image before the FFT. The FFT treats the
        image as periodic, so its opposite edges meet in a step that puts a cross of power
        along both frequency axes at every frequency; that step comes from the scene, is the
        same in both halves and would raise the FRC at high frequencies. "tukey" (default)
        tapers 10% of each side at each end with a raised cosine and keeps the other 80%
        (64% of the area) at full weight, which removes the step while losing little data;
        "hann" tapers the whole image (strongest suppression, centre-weighted, noisier curve);
        "none" (or None) uses the image as it is (periodic data only).
    return_counts : bool, default False
        Also return the number of Fourier coefficients in each ring (full spectrum, all
        channels), e.g. for a 3 / sqrt(counts) noise level.

    Returns
    -------
    frequencies : np.ndarray, shape (min(H, W) // 2,), float64, in (0, 0.5]
        Ring centres in cycles/pixel, increasing; the last is 0.5 for an even min(H, W).
    values : np.ndarray, shape (min(H, W) // 2,), float64, in [-1, 1]
        The FRC of each ring; NaN for a ring where `a` or `b` has no power.
    counts : np.ndarray, shape (min(H, W) // 2,), int64
        Only with ``return_counts=True``.

    Raises
    ------
    ValueError
        If `a` or `b` is not 2-D or 3-D, not real, contains NaN/Inf, or is constant; if their
        shapes differ (the message quotes both); if H or W < 8; or if `window` is unknown.

    References
    ----------
    Saxton & Baumeister 1982; Rosenthal & Henderson 2003; van Heel & Schatz 2005;
    Nieuwenhuizen et al. 2013: full citations in the module docstring.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> image = rng.random((32, 48))
    >>> freqs, values = frc(image, image)
    >>> freqs.shape, float(freqs[0]), float(freqs[-1]), bool(np.allclose(values, 1.0))
    ((16,), 0.03125, 0.5, True)
    """
    a_img, b_img = _as_image(a, "a"), _as_image(b, "b")
    if a_img.shape != b_img.shape:
        raise ValueError(
            f"frc needs two images of the same shape, got {np.shape(a)} and {np.shape(b)}"
        )
    _, height, width = a_img.shape
    if min(height, width) < _MIN_SIDE:
        raise ValueError(
            f"frc needs H and W >= {_MIN_SIDE} (at least {_MIN_SIDE // 2} rings), "
            f"got shape {np.shape(a)}"
        )
    taper = _window(window, height, width)
    spectra = []
    for name, image in (("a", a_img), ("b", b_img)):
        centred = image - image.mean(axis=(1, 2), keepdims=True)
        if not centred.any():
            raise ValueError(f"frc: {name} is constant, so it has no FRC")
        spectra.append(np.fft.rfft2(centred if taper is None else centred * taper))
    fa, fb = spectra
    ring, weight, n_rings, spacing = _ring_index(height, width)

    def ring_sum(values: np.ndarray) -> np.ndarray:
        total = np.broadcast_to(weight * values.sum(axis=0), ring.shape)
        return np.bincount(ring.ravel(), total.ravel(), minlength=n_rings + 1)[1 : n_rings + 1]

    cross = ring_sum((fa * fb.conj()).real)
    power_a = ring_sum(fa.real**2 + fa.imag**2)
    power_b = ring_sum(fb.real**2 + fb.imag**2)
    denominator = np.sqrt(power_a * power_b)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(denominator > 0, cross / denominator, np.nan)
    frequencies = np.arange(1, n_rings + 1) * spacing
    if not return_counts:
        return frequencies, values
    per_channel = np.bincount(ring.ravel(), weight.ravel(), minlength=n_rings + 1)
    counts = np.rint(per_channel[1 : n_rings + 1] * a_img.shape[0]).astype(np.int64)
    return frequencies, values, counts


class FRCResolution(NamedTuple):
    """Where an FRC curve crosses its threshold (see :func:`frc_resolution`)."""

    frequency: float
    """Crossing frequency in cycles/pixel, in (0, 0.5]."""
    pixels: float
    """Resolution in pixels: 1 / frequency, >= 2."""
    physical: float | None
    """Resolution in `unit` (pixels times the pixel size), or None without a pixel size."""
    unit: str | None
    """Unit of `physical`, e.g. "Å"; None without a pixel size."""
    status: str
    """"crossed", "never_below" (a bound: resolution at least this good) or
    "below_from_start" (a bound: no better than this)."""


def frc_resolution(
    freqs,
    curve,
    threshold: float = FRC_THRESHOLD,
    pixel_size: float | None = None,
    unit: str = "Å",
) -> FRCResolution:
    """Resolution where an FRC curve first drops below a threshold (default 1/7).

    Walks the rings from low to high frequency and finds the first ring i whose value is
    below `threshold` while ring i - 1 is at or above it; the crossing frequency is
    interpolated linearly between the two rings:
    f = f[i-1] + (c[i-1] - t) / (c[i-1] - c[i]) * (f[i] - f[i-1]). The resolution is
    1 / f pixels, and 1 / f * pixel_size in `unit` when a pixel size is given.

    This is the half-dataset convention with the fixed threshold 1/7 (Rosenthal & Henderson
    2003): `curve` is the FRC between two halves of the data, each with independent noise,
    and the result is the resolution of the two halves combined. van Heel & Schatz (2005)
    argue that a fixed threshold is biased for small rings (few pixels) and propose
    thresholds from the noise level 1 / sqrt(pixels per ring); use the same threshold,
    image size and window when comparing numbers. The first crossing is reported as it is:
    a noisy curve on a small image can dip below 1/7 early, so look at the plot too.

    Parameters
    ----------
    freqs : array-like, shape (n,), float, increasing, > 0
        Ring frequencies in cycles/pixel, as returned by :func:`frc`.
    curve : array-like, shape (n,), float, no NaN
        FRC values of the rings.
    threshold : float, default 1/7
        The threshold, in (0, 1).
    pixel_size : float, optional
        Size of one pixel in `unit` (> 0), e.g. the MRC voxel size in Å
        (``ImageMeta.voxel_size[0]``).
    unit : str, default "Å"
        Name of the pixel size's unit (e.g. "Å" or "nm"); only a label.

    Returns
    -------
    FRCResolution
        ``frequency`` (cycles/pixel), ``pixels`` (= 1 / frequency), ``physical`` (in `unit`,
        or None), ``unit`` (or None) and ``status``: "crossed" for a crossing between rings;
        "never_below" when no ring is below the threshold (frequency = the last ring: the
        resolution is at least this good, 2 px at Nyquist); "below_from_start" when the
        first ring is already below it (frequency = the first ring: the resolution is no
        better than this).

    Raises
    ------
    ValueError
        If `freqs` and `curve` are not 1-D of the same length >= 1, `freqs` is not positive
        and increasing, `curve` contains NaN, `threshold` is not in (0, 1), or `pixel_size`
        is not a finite number > 0.

    References
    ----------
    Rosenthal & Henderson 2003; van Heel & Schatz 2005: full citations in the module
    docstring.

    Examples
    --------
    >>> res = frc_resolution([0.1, 0.2, 0.3, 0.4], [0.9, 0.5, 0.1, 0.0], threshold=0.3,
    ...                      pixel_size=1.5)
    >>> round(res.frequency, 4), round(res.pixels, 4), round(res.physical, 4), res.status
    (0.25, 4.0, 6.0, 'crossed')
    """
    f = np.asarray(freqs, dtype=np.float64)
    c = np.asarray(curve, dtype=np.float64)
    if f.ndim != 1 or c.shape != f.shape or f.size == 0:
        raise ValueError(
            "frc_resolution needs 1-D freqs and curve of the same length >= 1, got shapes "
            f"{f.shape} and {c.shape}"
        )
    if not (np.all(f > 0) and np.all(np.diff(f) > 0)):
        raise ValueError("frc_resolution needs positive, increasing freqs (cycles/pixel)")
    if np.isnan(c).any():
        raise ValueError(
            f"frc_resolution: curve has NaN at {int(np.isnan(c).sum())} ring(s) "
            "(rings without power in one image)"
        )
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be in (0, 1), got {threshold!r}")
    if pixel_size is not None and not (pixel_size > 0 and math.isfinite(pixel_size)):
        raise ValueError(f"pixel_size must be a finite number > 0, got {pixel_size!r}")
    below = np.flatnonzero(c < threshold)
    if below.size == 0:
        frequency, status = float(f[-1]), "never_below"
    elif below[0] == 0:
        frequency, status = float(f[0]), "below_from_start"
    else:
        i = int(below[0])
        step = (c[i - 1] - threshold) / (c[i - 1] - c[i])
        frequency, status = float(f[i - 1] + step * (f[i] - f[i - 1])), "crossed"
    pixels = 1.0 / frequency
    if pixel_size is None:
        return FRCResolution(frequency, pixels, None, None, status)
    return FRCResolution(frequency, pixels, pixels * pixel_size, unit, status)
