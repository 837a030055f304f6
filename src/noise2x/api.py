"""The Python API: numpy arrays in, numpy arrays out.

This is the only place where arrays become tensors. Convention: a 2-D array is one grayscale
image (H, W); a 3-D array is one image with a channel axis (``channel_axis``, default 0, the
layout ``noise2x.data.io.read_image`` returns); a 4-D array is a stack (N, C, H, W) denoised
frame by frame.

Value range. Every array is brought to the [0, 1] working scale by ``noise2x.data.scale``
(``normalize="auto"``: unsigned integers divided by their maximum, images already on that
scale kept as they are, any other range mapped from its [min, max]) and mapped back after.
A stack is mapped as one array. The result is returned in the input's dtype (integers rounded
and clipped to the dtype); with the method's ``clip`` setting (on by default) it stays within
[0, 1] of the working scale, i.e. within the input's [min, max] when the image was mapped.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from noise2x.data.scale import scale_for
from noise2x.methods import METHODS


def list_methods() -> list[str]:
    """Return the names of the registered methods, e.g. ``["zsn2n"]``.

    Examples
    --------
    >>> "zsn2n" in list_methods()
    True
    """
    return METHODS.names()


def build_method(method: str = "prior", **params):
    """Return the method object registered as `method`, configured with `params`.

    Raises
    ------
    KeyError
        If the method is unknown (the message lists the known ones).
    TypeError, ValueError
        If a parameter is unknown or invalid (the message names it).
    """
    return METHODS.build({"name": method, **params})


def _to_stack(array: np.ndarray, channel_axis: int) -> np.ndarray:
    """Return a (N, C, H, W) view of a 2-D, 3-D or 4-D array."""
    if array.ndim == 2:
        return array[None, None]
    if array.ndim == 3:
        return np.moveaxis(array, channel_axis, 0)[None]
    if array.ndim == 4:
        return array
    raise ValueError(
        f"expected an image (H, W), (C, H, W) or a stack (N, C, H, W), got shape {array.shape}"
    )


def _checked_stack(array: np.ndarray, channel_axis: int) -> np.ndarray:
    """Return the (N, C, H, W) view of a caller's array, after checking dtype, size, values."""
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise ValueError(f"unsupported array dtype {array.dtype}; use an integer or float array")
    if array.ndim < 2 or array.size == 0 or min(array.shape[-2:]) < 2:
        raise ValueError(f"need an image of at least 2x2 pixels, got shape {array.shape}")
    if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
        raise ValueError(f"the image contains {int((~np.isfinite(array)).sum())} NaN/Inf pixels")
    stack = _to_stack(array, channel_axis)
    if stack.shape[1] not in (1, 3):
        raise ValueError(f"expected 1 or 3 channels, got {stack.shape[1]} (shape {array.shape})")
    return stack


def _from_stack(stack: np.ndarray, ndim: int, channel_axis: int) -> np.ndarray:
    if ndim == 2:
        return stack[0, 0]
    if ndim == 3:
        return np.moveaxis(stack[0], 0, channel_axis)
    return stack


def denoise(
    noisy: np.ndarray,
    method: str | object = "prior",
    *,
    channel_axis: int = 0,
    normalize: str = "auto",
    device: str = "auto",
    progress: Callable[[int, int], None] | None = None,
    checkpoint: str | None = None,
    **params,
) -> np.ndarray:
    """Denoise one image or a stack with the shipped prior, a single-image method, or a model.

    By default (``method="prior"``) the denoiser prior shipped in the package is applied
    (``noise2x.methods.prior``; ``adapt=True`` first fine-tunes it on the image, once per
    call: every frame of a stack uses the same adaptation).

    Parameters
    ----------
    noisy : np.ndarray
        (H, W) grayscale, (C, H, W) with ``channel_axis=0`` (or (H, W, C) with
        ``channel_axis=-1``), or a stack (N, C, H, W); C is 1 or 3; any integer or float dtype
        (see the module docstring for how values are scaled); H, W >= 2.
    method : str or method object
        A registered method name (see ``list_methods()``); default "prior". A method object
        (``build_method(...)``) is used as it is, so that its state (the prior's adaptation)
        carries over from one call to the next; `params` must then be empty.
    channel_axis : int
        Axis of the channels for 3-D input.
    normalize : {"auto", "minmax", "none"}
        How values are brought to the [0, 1] working scale (see the module docstring).
    device : {"auto", "cpu", "cuda"}
        Where to compute; "auto" picks CUDA when present.
    progress : callable (done_steps, total_steps) or None
        Progress callback, forwarded to the method (with `checkpoint`: called per frame).
    checkpoint : str or Path or None
        A ``noise2x train`` checkpoint (``.ckpt``): denoise with that trained net instead of
        fitting `method`, tile by tile (see ``noise2x.ops.tiling.denoise_tiled``).
    **params
        Method settings, e.g. ``adapt=True`` (``PriorConfig``) or ``steps=2000, seed=1``
        (``ZSN2NConfig``); with `checkpoint`,
        ``tile`` and ``overlap`` (pixels; None chooses them from free memory) and
        ``ensemble`` (1-8 flips / rotations averaged, default 1: see
        ``noise2x.ops.ensemble``).

    Returns
    -------
    np.ndarray
        The denoised image, same shape and dtype as `noisy`.

    Raises
    ------
    ValueError
        If the array has an unsupported shape or dtype, fewer than 2x2 pixels, NaN/Inf,
        `normalize` is not one of the three choices, or ``ensemble`` is not an integer 1-8.
    KeyError
        If `method` is unknown.
    FileNotFoundError
        If `checkpoint` does not exist.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> noisy = (0.5 + 0.1 * rng.standard_normal((16, 16))).astype(np.float32)
    >>> denoise(noisy).shape
    (16, 16)
    >>> denoise(noisy, method="zsn2n", steps=3).shape
    (16, 16)
    """
    noisy = np.asarray(noisy)
    stack = _checked_stack(noisy, channel_axis)
    if checkpoint is not None:
        return _denoise_with_checkpoint(
            noisy, stack, checkpoint, normalize, device, channel_axis, progress=progress, **params
        )
    if isinstance(method, str):
        runner = build_method(method, **params)
    elif params:
        raise TypeError(f"settings {sorted(params)} given with a method object; set them on it")
    else:
        runner = method
    # a method object of the caller's may not inherit MethodBase: read its flags with defaults
    if getattr(runner, "fit", None) is None:
        name = getattr(runner, "name", method)
        raise ValueError(f"method {name!r} trains on a dataset; use `noise2x train`")
    scale = scale_for(stack, normalize)
    if getattr(runner, "fits_stack", False):  # one training on every frame (Noise2Void)
        result = runner.fit(
            torch.from_numpy(scale.forward(stack)), device=device, progress=progress
        )
        frames = result.denoised.cpu().numpy()
        return _from_stack(scale.inverse(frames), noisy.ndim, channel_axis)
    frames = []
    for frame in scale.forward(stack):
        result = runner.fit(torch.from_numpy(frame)[None], device=device, progress=progress)
        frames.append(result.denoised[0].cpu().numpy())
    return _from_stack(scale.inverse(np.stack(frames)), noisy.ndim, channel_axis)


def restore_lines(
    image: np.ndarray,
    *,
    axis: str = "auto",
    mask: np.ndarray | None = None,
    denoise: bool = False,
    channel_axis: int = 0,
    normalize: str = "auto",
    device: str = "auto",
    progress: Callable[[int, int], None] | None = None,
    **params,
) -> np.ndarray:
    """Fill the dead (all-black or all-white) rows or columns of an image from its content.

    Array-level ``noise2x restore-lines``: ``noise2x.methods.lines.RestoreLines`` on each
    frame, values mapped to [0, 1] as in :func:`denoise`. The dead lines are found on each
    frame's own values (``detect_dead_lines``: constant at the frame's minimum or maximum),
    or given by `mask`.

    Parameters
    ----------
    image : np.ndarray
        (H, W), (C, H, W) with ``channel_axis=0`` (or (H, W, C) with ``channel_axis=-1``), or
        a stack (N, C, H, W) restored frame by frame; C is 1 or 3; integer or float dtype.
    axis : {"auto", "rows", "cols", "both"}
        Which dead lines to look for and which lines the training masks hide; "auto" takes
        the orientation of the lines found.
    mask : np.ndarray or None, shape (H, W), bool
        The dead pixels (True = dead), instead of detection; the same for every frame.
    denoise : bool
        Also denoise the pixels that are not dead; False keeps them bit for bit.
    channel_axis, normalize, device, progress
        As in :func:`denoise`.
    **params
        Settings of ``RestoreLinesConfig``, e.g. ``steps=500, seed=1``.

    Returns
    -------
    np.ndarray
        The restored image, same shape and dtype as `image`.

    Raises
    ------
    ValueError
        As :func:`denoise` for the array; if `mask` is not (H, W), or a frame is all dead.
    TypeError
        If a setting is not a field of ``RestoreLinesConfig``.

    Examples
    --------
    >>> image = (0.3 + 0.4 * np.random.default_rng(0).random((16, 16))).astype(np.float32)
    >>> image[5] = 0.0  # a dead black row
    >>> out = restore_lines(image, steps=2, passes=2, width=4)
    >>> bool(out[5].min() > 0.2), bool((out[6:] == image[6:]).all())
    (True, True)
    """
    from noise2x.methods.lines import dead_lines_from_mask, detect_dead_lines

    image = np.asarray(image)
    stack = _checked_stack(image, channel_axis)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != stack.shape[-2:]:
            raise ValueError(
                f"the mask is {mask.shape} but the image's H, W is {stack.shape[-2:]}; "
                "expected the same size"
            )
    scale = scale_for(stack, normalize)
    method = METHODS.build({"name": "restore_lines", "axis": axis, "denoise": denoise, **params})
    frames = []
    for raw, frame in zip(stack, scale.forward(stack), strict=True):
        if mask is None:
            dead = detect_dead_lines(torch.from_numpy(raw.astype(np.float64)), axis).mask
        else:
            dead = dead_lines_from_mask(torch.from_numpy(mask)).mask
        result = method.fit(
            torch.from_numpy(frame)[None], dead=dead, device=device, progress=progress
        )
        restored = scale.inverse(result.denoised.cpu().numpy())[0]
        if not denoise:  # the pixels that are not dead are the input's, bit for bit
            restored = np.where(dead.numpy()[None], restored, raw)
        frames.append(restored)
    return _from_stack(np.stack(frames), image.ndim, channel_axis)


_DENOISERS: dict = {}


def load_checkpoint(checkpoint, device: str = "auto"):
    """Load a ``noise2x train`` checkpoint as a denoiser (cached by path, mtime and device).

    Parameters
    ----------
    checkpoint : str or Path
        A ``.ckpt`` file.
    device : {"auto", "cpu", "cuda", "cuda:N"}

    Returns
    -------
    noise2x.train.checkpoint.Denoiser

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If it is not a noise2x checkpoint (the message names the file).
    """
    from pathlib import Path

    from noise2x.device import resolve_device
    from noise2x.train.checkpoint import load_denoiser

    path = Path(checkpoint)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    key = (str(path.resolve()), path.stat().st_mtime_ns, str(resolve_device(device)))
    if key not in _DENOISERS:
        _DENOISERS.clear()
        _DENOISERS[key] = load_denoiser(path, device=resolve_device(device))
    return _DENOISERS[key]


def _denoise_with_checkpoint(
    noisy: np.ndarray,
    stack: np.ndarray,
    checkpoint,
    normalize: str,
    device: str,
    channel_axis: int,
    tile: int | None = None,
    overlap: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    ensemble: int = 1,
) -> np.ndarray:
    """Apply a trained net to each frame of `stack` (N, C, H, W), tile by tile."""
    denoiser = load_checkpoint(checkpoint, device)
    if stack.shape[1] != denoiser.channels:
        raise ValueError(
            f"the image has {stack.shape[1]} channel(s) but the model in {checkpoint} was "
            f"trained on {denoiser.channels}"
        )
    scale = scale_for(stack, normalize)
    frames = []
    for i, frame in enumerate(scale.forward(stack)):
        x = torch.from_numpy(np.ascontiguousarray(frame))
        frames.append(denoiser.denoise_frame(x, tile, overlap, ensemble).numpy())
        if progress is not None:
            progress(i + 1, len(stack))
    return _from_stack(scale.inverse(np.stack(frames)), noisy.ndim, channel_axis)


def evaluate(
    image: np.ndarray,
    reference: np.ndarray,
    *,
    data_range: float | None = None,
    channel_axis: int = 0,
) -> dict[str, float]:
    """PSNR (dB) and SSIM of `image` against a clean `reference` (numpy arrays).

    PSNR = 10 log10(data_range^2 / MSE) (``noise2x.metrics.psnr_np``); SSIM with Wang et
    al.'s settings (``noise2x.metrics.ssim_np``, as scikit-image's). A stack (N, C, H, W) is
    scored frame by frame and the means are returned. Nothing is clipped.

    Parameters
    ----------
    image, reference : np.ndarray, shape (H, W), (C, H, W) or (N, C, H, W), same shape
        Any real dtype; the reference is the clean image.
    data_range : float, optional
        Peak-to-peak range of the values; default: the maximum of the dtype for unsigned
        integers (255 for uint8, 65535 for uint16), 1.0 otherwise (the [0, 1] scale).
    channel_axis : int
        Axis of the channels of a 3-D image (0: channel first; -1: (H, W, C)).

    Returns
    -------
    dict
        ``psnr_db`` (dB, ``inf`` for identical images) and ``ssim`` (at most 1.0).

    Raises
    ------
    ValueError
        If the shapes differ, an array is empty or not 2-D to 4-D, or `data_range` is not > 0.

    Examples
    --------
    >>> clean = np.zeros((16, 16), np.uint8)
    >>> round(evaluate(clean + 5, clean)["psnr_db"], 2)
    34.15
    """
    from noise2x.metrics import psnr_np, ssim_np

    image, reference = np.asarray(image), np.asarray(reference)
    if image.shape != reference.shape:
        raise ValueError(
            f"image shape {image.shape} differs from reference shape {reference.shape}"
        )
    if image.ndim not in (2, 3, 4) or image.size == 0:
        raise ValueError(f"expected (H, W), (C, H, W) or (N, C, H, W) arrays, got {image.shape}")
    if data_range is None:
        kind = reference.dtype
        data_range = float(np.iinfo(kind).max) if np.issubdtype(kind, np.unsignedinteger) else 1.0
    frames = list(zip(image, reference, strict=True)) if image.ndim == 4 else [(image, reference)]
    axis = 0 if image.ndim == 4 else channel_axis
    psnr = [psnr_np(x, r, data_range) for x, r in frames]
    ssim = [ssim_np(x, r, data_range, channel_axis=axis) for x, r in frames]
    return {"psnr_db": float(np.mean(psnr)), "ssim": float(np.mean(ssim))}
