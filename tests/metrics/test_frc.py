"""Fourier ring correlation: reference cases, noise statistics, resolution, and a real image."""

from __future__ import annotations

import numpy as np
import pytest

from noise2x.metrics import frc, frc_resolution
from noise2x.metrics.frc import FRC_THRESHOLD


def _smooth_scene(shape=(128, 128), seed: int = 0) -> np.ndarray:
    """A random scene whose power falls as 1 / f^2 (like natural images), std 1."""
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.fftfreq(shape[1])[None, :]
    amplitude = 1.0 / np.maximum(np.hypot(fy, fx), 1.0 / max(shape))
    scene = np.fft.ifft2(np.fft.fft2(rng.normal(size=shape)) * amplitude).real
    return scene / scene.std()


def _halves(scene: np.ndarray, std: float, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return scene + rng.normal(0, std, scene.shape), scene + rng.normal(0, std, scene.shape)


# --------------------------------------------------------------------------- frc


@pytest.mark.parametrize("shape", [(64, 64), (48, 80), (81, 40), (3, 32, 32)])
@pytest.mark.parametrize("window", ["tukey", "hann", "none", None])
def test_frc_of_an_image_with_itself_is_one_at_every_ring(shape, window):
    image = np.random.default_rng(0).random(shape).astype(np.float32)

    freqs, values = frc(image, image, window=window)

    assert freqs.shape == values.shape == (min(shape[-2:]) // 2,)
    assert values.dtype == np.float64
    np.testing.assert_allclose(values, 1.0, atol=1e-12)


@pytest.mark.parametrize("shape", [(128, 128), (64, 200), (3, 65, 97)])
def test_frc_of_independent_white_noise_is_within_three_sigma(shape):
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=shape), rng.normal(size=shape)

    _, values, counts = frc(a, b, return_counts=True)

    z = values * np.sqrt(counts)  # about N(0, 1) per ring: the noise level is 1 / sqrt(counts)
    assert np.mean(np.abs(z) > 3) <= 0.05, z
    assert np.all(np.abs(z) < 5), z
    assert abs(values.mean()) < 0.05


def test_frc_counts_are_the_coefficients_of_the_full_spectrum_in_each_ring():
    _, _, counts = frc(np.eye(16), np.eye(16)[::-1], return_counts=True)

    # 16x16: ring k holds the integer points at distance k +- 0.5 from the origin
    r = np.hypot(*np.meshgrid(np.fft.fftfreq(16) * 16, np.fft.fftfreq(16) * 16))
    expected = [np.count_nonzero(np.floor(r + 0.5) == k) for k in range(1, 9)]
    assert counts.tolist() == expected


def test_frc_of_signal_plus_noise_falls_and_crosses_higher_with_less_noise():
    scene = _smooth_scene()  # std 1, power falling as 1 / f^2

    curves = {std: frc(*_halves(scene, std)) for std in (4.0, 2.0, 1.0)}
    crossings = [frc_resolution(*curves[std]) for std in (4.0, 2.0, 1.0)]

    assert curves[1.0][1][:4].min() > 0.9  # low frequencies: the signal dominates
    assert np.abs(curves[4.0][1][-16:]).max() < 0.2  # near Nyquist: the noise does
    assert [c.status for c in crossings] == ["crossed"] * 3
    f_noisiest, f_mid, f_cleanest = (c.frequency for c in crossings)
    assert f_noisiest < f_mid < f_cleanest, crossings
    assert crossings[0].pixels > crossings[1].pixels > crossings[2].pixels


def test_frc_works_on_non_square_images_with_rings_to_nyquist():
    scene = _smooth_scene((60, 150))

    freqs, values = frc(*_halves(scene, 0.5))

    assert freqs.shape == (30,)
    assert freqs[0] == pytest.approx(1 / 60) and freqs[-1] == pytest.approx(0.5)
    assert np.isfinite(values).all() and values[0] > 0.9 and abs(values[-1]) < 0.5


def test_frc_of_transposed_halves_is_the_transposed_frc():
    a, b = _halves(_smooth_scene((40, 72)), 1.0)

    _, values = frc(a, b)
    _, transposed = frc(a.T, b.T)

    np.testing.assert_allclose(values, transposed, atol=1e-12)


def test_frc_tukey_window_removes_the_edge_step_that_fakes_correlation():
    ramp = np.tile(np.linspace(0, 1, 128), (128, 1))  # not periodic: a step at the edges
    a, b = _halves(ramp, 0.05)

    freqs, plain = frc(a, b, window="none")
    _, tapered = frc(a, b)

    high = freqs > 0.25
    assert plain[high].mean() > 0.3  # the step is in both halves: correlated at every ring
    assert abs(tapered[high].mean()) < 0.05


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_frc_is_unchanged_by_a_gaussian_blur(seed):
    from scipy.ndimage import gaussian_filter

    a, b = _halves(_smooth_scene(seed=seed), 1.0, seed=seed + 1)

    freqs, raw = frc(a, b)
    _, blurred = frc(gaussian_filter(a, 1.0, mode="wrap"), gaussian_filter(b, 1.0, mode="wrap"))

    # A linear isotropic filter scales signal and noise alike in each ring.
    below = freqs < 0.375  # nearer Nyquist the blur varies across a ring (measured <= 0.05)
    np.testing.assert_allclose(blurred[below], raw[below], atol=0.03)
    assert frc_resolution(freqs, blurred).pixels == pytest.approx(
        frc_resolution(freqs, raw).pixels, rel=0.03
    )


def test_frc_rejects_images_of_different_shapes_quoting_both():
    with pytest.raises(ValueError, match=r"\(32, 32\) and \(32, 40\)"):
        frc(np.ones((32, 32)), np.ones((32, 40)))


@pytest.mark.parametrize(
    ("a", "problem"),
    [
        (np.zeros((4, 1, 16, 16)), "shape"),
        (np.zeros((16, 4)), ">= 8"),
        (np.full((16, 16), 3.0), "constant"),
        (np.full((16, 16), np.nan), "NaN"),
        (np.ones((16, 16), dtype=complex), "real"),
    ],
)
def test_frc_rejects_bad_images(a, problem):
    with pytest.raises(ValueError, match=problem):
        frc(a, a)


def test_frc_rejects_an_unknown_window():
    image = np.random.default_rng(0).random((16, 16))
    with pytest.raises(ValueError, match="tukey, hann, none"):
        frc(image, image, window="hamming")


# --------------------------------------------------------------------------- frc_resolution


def test_frc_resolution_interpolates_between_the_rings_around_the_first_crossing():
    freqs = [0.1, 0.2, 0.3, 0.4, 0.5]
    curve = [1.0, 0.6, 0.1, 0.5, 0.0]  # first crossing of 0.35 between 0.2 and 0.3

    res = frc_resolution(freqs, curve, threshold=0.35)

    assert res.status == "crossed"
    assert res.frequency == pytest.approx(0.25)  # 0.6 -> 0.1: 0.35 is half-way
    assert res.pixels == pytest.approx(4.0)
    assert res.physical is None and res.unit is None


def test_frc_resolution_uses_one_seventh_and_the_pixel_size():
    res = frc_resolution([0.25, 0.5], [1.0, 0.0], pixel_size=1.2, unit="nm")

    expected = 0.25 + (1 - FRC_THRESHOLD) * 0.25
    assert res.frequency == pytest.approx(expected)
    assert res.physical == pytest.approx(1.2 / expected)
    assert res.unit == "nm"


def test_frc_resolution_reports_bounds_when_the_curve_never_crosses():
    above = frc_resolution([0.25, 0.5], [0.9, 0.8])
    below = frc_resolution([0.25, 0.5], [0.1, 0.0])

    assert (above.status, above.frequency, above.pixels) == ("never_below", 0.5, 2.0)
    assert (below.status, below.frequency, below.pixels) == ("below_from_start", 0.25, 4.0)


@pytest.mark.parametrize(
    ("freqs", "curve", "kwargs", "problem"),
    [
        ([0.1, 0.2], [1.0], {}, "same length"),
        ([0.2, 0.1], [1.0, 0.0], {}, "increasing"),
        ([0.1, 0.2], [1.0, np.nan], {}, "NaN"),
        ([0.1, 0.2], [1.0, 0.0], {"threshold": 1.5}, "threshold"),
        ([0.1, 0.2], [1.0, 0.0], {"pixel_size": 0.0}, "pixel_size"),
    ],
)
def test_frc_resolution_rejects_bad_input(freqs, curve, kwargs, problem):
    with pytest.raises(ValueError, match=problem):
        frc_resolution(freqs, curve, **kwargs)


# --------------------------------------------------------------------------- effect


@pytest.mark.data
def test_frc_resolution_improves_when_halves_of_a_real_image_are_denoised(data_path):
    import imageio.v3 as iio
    from scipy.ndimage import gaussian_filter
    from skimage.restoration import denoise_tv_chambolle

    clean = iio.imread(data_path("Set12", "01.png")).astype(np.float64) / 255.0
    a, b = _halves(clean, 50 / 255, seed=0)  # sigma = 50 on the 0-255 scale

    raw = frc_resolution(*frc(a, b))
    tv = frc_resolution(*frc(*(denoise_tv_chambolle(x, weight=0.1) for x in (a, b))))
    blur = frc_resolution(*frc(gaussian_filter(a, 1.5), gaussian_filter(b, 1.5)))

    # Measured once: raw 3.56 px, TV 2.31 px (0.65x; 0.65-0.86x over seeds 0-4).
    assert tv.pixels < 0.85 * raw.pixels, (raw, tv)
    # A Gaussian blur is linear and isotropic: it cannot raise the FRC (3.56 -> 3.56 px).
    assert blur.pixels == pytest.approx(raw.pixels, rel=0.03), (raw, blur)
