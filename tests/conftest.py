"""Shared fixtures: the path of ../shared/data, a skip helper, and a VGG-16 weights file."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("NOISE2X_DATA", REPO.parent / "shared" / "data"))


def shared_data(*parts: str) -> Path:
    """Return a path under the shared data folder, skipping the test when it is absent."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"test data not found: {path} (set NOISE2X_DATA to the shared/data folder)")
    return path


@pytest.fixture(scope="session")  # a pure function: module- and session-scoped fixtures use it
def data_path() -> Callable[..., Path]:
    """``data_path("Set12", "01.png")``: a path under ../shared/data (or $NOISE2X_DATA).

    The test is skipped, with the path in the reason, when the file or folder is absent.
    """
    return shared_data


@pytest.fixture
def set12_image() -> np.ndarray:
    """Set12/01.png (cameraman) as float32 (1, 256, 256) in [0, 1]."""
    import imageio.v3 as iio

    return (iio.imread(shared_data("Set12", "01.png")).astype(np.float32) / 255.0)[None]


@pytest.fixture(scope="session")
def vgg_file(tmp_path_factory) -> Path:
    """Random VGG-16 features saved like torchvision's file, with a classifier key to ignore."""
    import torch

    from noise2x.losses import VGG16_FILENAME, VGG16Features

    path = tmp_path_factory.mktemp("vgg") / VGG16_FILENAME
    with torch.random.fork_rng():
        torch.manual_seed(0)
        state = VGG16Features().state_dict()
    state["classifier.6.bias"] = torch.zeros(1000)
    torch.save(state, path)
    return path


@pytest.fixture(scope="session")
def trained_checkpoint(tmp_path_factory) -> Path:
    """A grey U-Net (width 8) trained for 3 steps on Set12 crops: its last.ckpt."""
    from noise2x.train.runs import train

    root = tmp_path_factory.mktemp("runs")
    result = train(
        [
            f"data.root={shared_data('Set12')}",
            "data.val_count=1",
            "data.patch_size=32",
            "data.batch_size=2",
            "data.num_workers=0",
            "net.width=8",
            "trainer.max_steps=3",
            "trainer.threads=1",
            "trainer.progress_bar=false",
            "logger=none",
            f"run.root={root}",
        ]
    )
    return result.last_checkpoint


def absurd_tiff(path: Path) -> Path:
    """A valid 16x16 TIFF whose header then claims 200000 x 200000 pixels."""
    import struct

    import tifffile

    tifffile.imwrite(path, np.zeros((16, 16), np.uint8))
    data = bytearray(path.read_bytes())
    offset = struct.unpack("<I", data[4:8])[0]
    for i in range(struct.unpack("<H", data[offset : offset + 2])[0]):
        entry = offset + 2 + 12 * i
        tag, kind = struct.unpack("<HH", data[entry : entry + 4])
        if tag in (256, 257):  # ImageWidth, ImageLength
            value = struct.pack("<H", 60000) if kind == 3 else struct.pack("<I", 200000)
            data[entry + 8 : entry + 8 + len(value)] = value
    path.write_bytes(bytes(data))
    return path
