"""Choose the torch device (CUDA when present, else the CPU) and the precision policy.

One precision policy serves every loop of noise2x (the Lightning module, the single-image
methods, fine-tuning and the prior's adaptation): bfloat16 autocast, with the channels-last
layout on the CPU, where the device runs bf16 natively (AVX-512 BF16 / AMX CPUs, CUDA devices
with bf16); float32 elsewhere. Weights, optimiser state and losses stay float32.
"""

from __future__ import annotations

import torch


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """Return the device to run on.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda", "cuda:N"} or torch.device or None
        ``"auto"`` (or None) picks CUDA when available, else the CPU.

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        If the name is not a device torch knows, or CUDA is asked for but not available.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N") from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for but CUDA is not available here")
    return dev


def bf16_native(device: torch.device | str) -> bool:
    """Return True when bfloat16 convolutions are native (fast) on `device`.

    Examples
    --------
    >>> isinstance(bf16_native("cpu"), bool)
    True
    """
    device = torch.device(device)
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


#: The spellings of the two precisions across noise2x's configs and Lightning's.
BF16_NAMES = ("bf16", "bf16-mixed")
FP32_NAMES = ("fp32", "32", "32-true")


def use_bf16(precision: str, device: torch.device | str) -> bool:
    """Return whether to autocast to bfloat16 for `precision` on `device` (the one policy).

    Parameters
    ----------
    precision : {"auto", "bf16", "bf16-mixed", "fp32", "32", "32-true"}
        "auto": bf16 exactly where it is native (`bf16_native`).
    device : torch.device or str

    Raises
    ------
    ValueError
        If `precision` is not one of the names above.

    Examples
    --------
    >>> use_bf16("fp32", "cpu"), use_bf16("bf16", "cpu")
    (False, True)
    """
    if precision == "auto":
        return bf16_native(device)
    if precision in BF16_NAMES:
        return True
    if precision in FP32_NAMES:
        return False
    raise ValueError(
        f"precision must be auto, {', '.join(BF16_NAMES + FP32_NAMES)}; got {precision!r}"
    )
