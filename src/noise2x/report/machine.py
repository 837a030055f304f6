"""The machine a benchmark ran on, as the benchmark scripts record it in their JSON."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def machine() -> dict:
    """Return the CPU model, core count, Python, torch, platform and native-bf16 flag.

    Returns
    -------
    dict
        ``{"cpu", "cores", "python", "torch", "platform", "bf16_native"}``; ``cpu`` is the
        first ``model name`` of ``/proc/cpuinfo`` ("unknown" where there is none). The report
        captions read ``cpu``.
    """
    import torch

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return dict(
        cpu=cpu,
        cores=os.cpu_count(),
        python=platform.python_version(),
        torch=torch.__version__,
        platform=platform.platform(),
        bf16_native=bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()),
    )
