"""Shared fixtures: the path of ../shared/data and a skip helper for tests that need it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("NOISE2X_DATA", REPO.parent / "shared" / "data"))


def data_path(*parts: str) -> Path:
    """Return a path under the shared data folder, skipping the test when it is absent."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"test data not found: {path} (set NOISE2X_DATA to the shared/data folder)")
    return path


@pytest.fixture
def set12_image() -> np.ndarray:
    """Set12/01.png (cameraman) as float32 (1, 256, 256) in [0, 1]."""
    import imageio.v3 as iio

    return (iio.imread(data_path("Set12", "01.png")).astype(np.float32) / 255.0)[None]
