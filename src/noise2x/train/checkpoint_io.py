"""Lightning checkpoint I/O that never leaves a half-written checkpoint behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from noise2x.data.atomic import atomic_write


class AtomicCheckpointIO(TorchCheckpointIO):
    """Write each checkpoint to a hidden temporary file in its folder, then rename it.

    ``os.replace`` is atomic on POSIX and Windows: a process killed while saving (SIGKILL,
    power loss after the rename is durable) leaves either the previous checkpoint or the new
    one, never a truncated file.
    """

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None
    ) -> None:
        """Save `checkpoint` to `path` through a temporary file (`atomic_write`)."""
        with atomic_write(path) as tmp:
            torch.save(checkpoint, tmp)
