"""Noise levels drawn per image from a range, for training models blind to the level.

``noise2x add-noise --sigma 0:55`` gives every image its own Gaussian sigma, drawn uniformly
from [0, 55]; ``--lam 10:200`` draws Poisson's lambda log-uniformly (lambda spans orders of
magnitude: the noise std at intensity x is sqrt(x / lambda)). The draw for image ``index`` is
a pure function of (seed, index), so two calls with the same level seed and different noise
seeds write two independent noisy views at the same level: a Noise2Noise pair. This is how
DnCNN-B (Zhang et al., IEEE TIP 2017) trains one model for sigma in [0, 55], here with noisy
targets only.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["LEVEL_RANGES", "draw_levels", "parse_level"]

# How a range of each level parameter is sampled: uniformly or log-uniformly.
LEVEL_RANGES = {"sigma": "uniform", "lam": "log-uniform"}


def parse_level(name: str, text: str) -> tuple[float, float]:
    """Parse a level given as ``"25"`` (fixed) or ``"0:55"`` (a range, both ends included).

    Parameters
    ----------
    name : {"sigma", "lam"}
        The parameter, for the message and the range's sampling law.
    text : str
        One number, or two numbers joined by ``:`` with the first not above the second.

    Returns
    -------
    (lo, hi) : tuple of float
        Equal for a fixed level.

    Raises
    ------
    ValueError
        If `name` has no range law, or `text` is not a number or a range ``LO:HI`` with
        ``0 <= LO <= HI`` (``LO > 0`` for the log-uniform ``lam``). The message names the option.

    Examples
    --------
    >>> parse_level("sigma", "0:55")
    (0.0, 55.0)
    >>> parse_level("lam", "30")
    (30.0, 30.0)
    """
    if name not in LEVEL_RANGES:
        raise ValueError(f"--{name} takes no range; ranges: {', '.join(LEVEL_RANGES)}")
    parts = text.split(":")
    try:
        if len(parts) not in (1, 2):
            raise ValueError
        lo, hi = float(parts[0]), float(parts[-1])
    except ValueError:
        raise ValueError(f"--{name} must be a number or a range LO:HI, got {text!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise ValueError(f"--{name} range {text!r} needs finite LO <= HI")
    if LEVEL_RANGES[name] == "log-uniform" and lo <= 0:
        raise ValueError(f"--{name} must be > 0, got {text!r}")
    if lo < 0:
        raise ValueError(f"--{name} must be >= 0, got {text!r}")
    return lo, hi


def draw_levels(levels: dict[str, tuple[float, float]], seed: int, index: int) -> dict[str, float]:
    """Draw one value of each level for image `index` (a pure function of seed and index).

    Parameters
    ----------
    levels : dict of str to (lo, hi)
        From `parse_level`; a fixed level (lo == hi) is returned as is.
    seed : int
        Level seed (``numpy.random.default_rng([seed, index])``).
    index : int
        Image index (>= 0).

    Returns
    -------
    dict of str to float
        Same keys as `levels`.

    Examples
    --------
    >>> draw_levels({"sigma": (25.0, 25.0)}, seed=0, index=3)
    {'sigma': 25.0}
    >>> a = draw_levels({"sigma": (0.0, 55.0)}, seed=1, index=2)
    >>> a == draw_levels({"sigma": (0.0, 55.0)}, seed=1, index=2) and 0 <= a["sigma"] <= 55
    True
    """
    rng = np.random.default_rng([seed, index])
    drawn = {}
    for name, (lo, hi) in levels.items():
        u = float(rng.random())
        if lo == hi:
            drawn[name] = lo
        elif LEVEL_RANGES[name] == "log-uniform":
            drawn[name] = float(math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo))))
        else:
            drawn[name] = lo + u * (hi - lo)
    return drawn
