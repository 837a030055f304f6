# size: one algorithm: tile geometry, blending windows and the memory-based tile choice
"""Tiled inference: run a network on overlapping tiles of a large image and blend the seams.

A net's activations grow with the image (the Noise2Noise U-Net keeps ~230 float32 channels per
pixel alive at full resolution), so a 4096 x 4096 image does not fit in the memory of an
ordinary machine in one call. :func:`denoise_tiled` calls the net on one tile at a time and
accumulates ``sum_k w_k * fn(tile_k)`` and ``sum_k w_k`` with a separable window ``w_k`` that is
zero next to a tile's inner edges (where the net saw zero padding instead of the neighbouring
pixels) and rises along a raised-cosine ramp across the overlap, so seams are invisible and the
result equals ``fn`` on the whole image wherever the net's receptive field fits in the tile.

Pure functions on tensors of shape (B, C, H, W).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import Tensor

DEFAULT_OVERLAP = 32
"""Overlap in pixels when none is given (see :func:`denoise_tiled` for the measured errors)."""

UNET_N2N_BYTES_PER_PIXEL = 1600
"""Peak memory of one ``UNetN2N(width=48)`` forward pass per input pixel per image, in bytes."""

MIN_TILE, MAX_TILE = 64, 1024
"""Bounds of the automatically chosen tile size, in pixels."""

DEFAULT_MAX_MEMORY_BYTES = 1 << 30
"""Most memory one tile's forward pass may use when no budget is given (1 GiB), in bytes."""

FALLBACK_MEMORY_BYTES = 1 << 30
"""Available memory assumed when neither /proc/meminfo nor ``os.sysconf`` answers (1 GiB)."""


def tile_starts(length: int, tile: int, overlap: int, multiple: int = 1) -> list[int]:
    """Return the start of each tile along one axis of `length` pixels.

    Tiles start every ``stride = tile - overlap`` pixels (rounded down to a multiple of
    `multiple`), so neighbours share at least `overlap` pixels. The last tile is shifted inward
    to end at `length` instead of sticking out: with ``multiple = 1`` it starts at
    ``length - tile``; otherwise it starts at the largest multiple of `multiple` that is
    ``<= length - tile`` and runs to `length`, i.e. it is up to ``multiple - 1`` pixels longer
    than `tile`. Keeping every start a multiple of `multiple` keeps the pooling grid of a
    U-Net (multiple 32) the same in every tile as on the whole image, which the net needs to give
    the same output. Every tile but the last spans ``[start, start + tile)``. If
    ``length <= tile`` there is one tile, ``[0, length)``.

    Parameters
    ----------
    length : int
        Pixels along the axis (>= 1).
    tile : int
        Tile size along the axis (>= 1).
    overlap : int
        Least overlap of neighbouring tiles (0 <= overlap < tile).
    multiple : int
        Every start is a multiple of this (>= 1); needs ``tile - overlap >= multiple``.

    Returns
    -------
    list of int
        Increasing starts; the first is 0.

    Raises
    ------
    ValueError
        If a size is out of range or ``tile - overlap < multiple`` (when more than one tile is
        needed); the message quotes the values.

    Examples
    --------
    >>> tile_starts(10, 4, 1)
    [0, 3, 6]
    >>> tile_starts(200, 96, 32, multiple=32)  # tiles [0, 96), [64, 160), [96, 200)
    [0, 64, 96]
    >>> tile_starts(50, 64, 16)
    [0]
    """
    _check_tile_args(tile, overlap, multiple)
    if length < 1:
        raise ValueError(f"length must be >= 1, got {length}")
    if length <= tile:
        return [0]
    stride = (tile - overlap) // multiple * multiple
    if stride < 1:
        raise ValueError(
            f"tile - overlap must be >= multiple, got tile={tile}, overlap={overlap}, "
            f"multiple={multiple}"
        )
    last = (length - tile) // multiple * multiple
    starts = list(range(0, last, stride))
    return [*starts, last]


def blend_window(
    tile_h: int,
    tile_w: int,
    overlap: int | Sequence[int],
    *,
    discard: float = 0.25,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    """Return the separable weight window of one tile.

    Along each side with an overlap of o pixels, the weight at distance d = 0 .. o-1 from the
    edge is 0 for d < m = floor(discard * o), then rises as the raised cosine
    ``0.5 - 0.5 * cos(pi * (d - m + 0.5) / (o - 2m))`` for m <= d < o - m, and is 1 further
    in. The ramp is antisymmetric about the middle of the overlap, so when two neighbours share
    exactly o pixels their weights sum to 1 there, and a pixel within m of a tile's edge (where
    the net saw padding instead of the image) gets no weight from that tile. The 2-D window is
    the outer product of the row and column profiles (the product of both ramps near a corner).

    Parameters
    ----------
    tile_h, tile_w : int
        Tile size in pixels (>= 1).
    overlap : int or sequence of 4 int
        Overlap on every side, or per side as (top, bottom, left, right); 0 leaves that side
        at weight 1 (an image border). Each must be <= the tile size along its axis.
    discard : float
        Fraction of each overlap, next to the edge, given zero weight (0 <= discard <= 0.5):
        0 ramps across the whole overlap; 0.5 is a hard cut in its middle (no blending).
    dtype : torch.dtype
        Floating dtype of the window.
    device : torch.device or str or None
        Device of the window.

    Returns
    -------
    Tensor, shape (tile_h, tile_w), `dtype`, in [0, 1]

    Raises
    ------
    ValueError
        If a size or overlap is negative or too large, or `discard` is outside [0, 0.5].

    Examples
    --------
    >>> w = blend_window(4, 6, (0, 0, 4, 0), discard=0.0)  # ramp on the left side only
    >>> w.shape
    torch.Size([4, 6])
    >>> [round(v, 3) for v in w[0].tolist()]
    [0.038, 0.309, 0.691, 0.962, 1.0, 1.0]
    >>> (w[0, :4] + w[0, :4].flip(0)).tolist()  # a mirrored neighbour completes it to 1
    [1.0, 1.0, 1.0, 1.0]
    """
    top, bottom, left, right = (overlap,) * 4 if isinstance(overlap, int) else tuple(overlap)
    rows = _ramp(tile_h, top, bottom, discard, dtype, device)
    cols = _ramp(tile_w, left, right, discard, dtype, device)
    return rows[:, None] * cols[None, :]


def _ramp(
    size: int,
    before: int,
    after: int,
    discard: float,
    dtype: torch.dtype,
    device: torch.device | str | None,
) -> Tensor:
    """Return the 1-D window of a tile of `size` with ramps of `before` and `after` pixels."""
    if size < 1 or not (0 <= before <= size and 0 <= after <= size):
        raise ValueError(f"need size >= 1 and 0 <= overlaps <= size, got {size}, {before}, {after}")
    if not 0.0 <= discard <= 0.5:
        raise ValueError(f"discard must be in [0, 0.5], got {discard}")
    window = torch.ones(size, dtype=torch.float64)
    for o, flip in ((before, False), (after, True)):
        if o == 0:
            continue
        m = math.floor(discard * o)
        d = torch.arange(o, dtype=torch.float64)
        rise = (0.5 - 0.5 * torch.cos(math.pi * (d - m + 0.5) / max(o - 2 * m, 1))).clamp(0, 1)
        rise = torch.where(d < m, 0.0, torch.where(d >= o - m, 1.0, rise))
        if flip:
            window[size - o :] *= rise.flip(0)
        else:
            window[:o] *= rise
    return window.to(dtype=dtype, device=device)


def available_memory_bytes(device: torch.device | str | None = None) -> int:
    """Return the memory available for new allocations on `device`, in bytes.

    On a CUDA device, the free memory ``torch.cuda.mem_get_info``. On the CPU, ``MemAvailable``
    from /proc/meminfo (Linux); else free pages times page size from ``os.sysconf``; else
    :data:`FALLBACK_MEMORY_BYTES` (1 GiB).

    Parameters
    ----------
    device : torch.device or str or None
        Where the tensors live; None means the CPU.

    Returns
    -------
    int
        Bytes, > 0.

    Examples
    --------
    >>> available_memory_bytes() > 0
    True
    """
    device = torch.device("cpu" if device is None else device)
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024  # the value is in kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        pages = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        if pages > 0:
            return int(pages)
    except (AttributeError, ValueError, OSError):
        pass
    return FALLBACK_MEMORY_BYTES


def choose_tile(
    budget_bytes: int,
    bytes_per_pixel: float = UNET_N2N_BYTES_PER_PIXEL,
    batch: int = 1,
    multiple: int = 1,
    overlap: int = DEFAULT_OVERLAP,
) -> int:
    """Return the largest square tile whose forward pass fits in `budget_bytes`.

    ``tile = floor(sqrt(budget_bytes / (batch * bytes_per_pixel)))``, rounded down to a multiple
    of `multiple`, capped at :data:`MAX_TILE` (1024; larger tiles save little overlap work) and
    floored at ``max(MIN_TILE, 2 * overlap)`` rounded up to `multiple` (64 by default), so the
    stride stays at least the overlap. The budget covers one tile plus up to ``multiple - 1``
    extra rows and columns (the last tile along an axis may be that much longer).

    Parameters
    ----------
    budget_bytes : int
        Memory one call of the net may use, in bytes.
    bytes_per_pixel : float
        Peak memory of the net per input pixel per image, in bytes.
    batch : int
        Images per call (B).
    multiple : int
        The tile is a multiple of this.
    overlap : int
        Overlap of neighbouring tiles, in pixels.

    Returns
    -------
    int
        Tile size in pixels.

    Raises
    ------
    ValueError
        If a parameter is not positive (`overlap` may be 0).

    Examples
    --------
    >>> choose_tile(4 << 30, multiple=32)  # 4 GiB for the default U-Net
    1024
    >>> choose_tile(1 << 30, multiple=32)  # 1 GiB, the default budget
    768
    >>> choose_tile(16 << 20, multiple=32)  # 16 MiB: the floor, 64
    64
    """
    if budget_bytes <= 0 or bytes_per_pixel <= 0 or batch < 1 or multiple < 1 or overlap < 0:
        raise ValueError(
            "need budget_bytes > 0, bytes_per_pixel > 0, batch >= 1, multiple >= 1 and "
            f"overlap >= 0, got {budget_bytes}, {bytes_per_pixel}, {batch}, {multiple}, {overlap}"
        )
    side = math.isqrt(int(budget_bytes / (batch * bytes_per_pixel))) - (multiple - 1)
    tile = min(side // multiple * multiple, MAX_TILE // multiple * multiple)
    floor = -(-max(MIN_TILE, 2 * overlap) // multiple) * multiple
    return max(tile, floor)


def denoise_tiled(
    fn: Callable[[Tensor], Tensor],
    noisy: Tensor,
    tile: int | None = None,
    overlap: int | None = None,
    multiple: int = 1,
    max_memory_bytes: int | None = None,
    *,
    bytes_per_pixel: float = UNET_N2N_BYTES_PER_PIXEL,
    discard: float = 0.25,
) -> Tensor:
    """Apply `fn` to overlapping tiles of `noisy` and blend them into one image.

    ``out = sum_k w_k * fn(tile_k) / sum_k w_k`` where tile k is cut out of `noisy`, placed
    back where it came from, and ``w_k`` is :func:`blend_window` with the tile's actual overlap
    on each side that has a neighbour (weight 1 along the image border). Where one tile covers
    a pixel the result is exactly `fn` of that tile. Tile positions come from
    :func:`tile_starts` along each axis; `fn` is called on one tile at a time, inside
    ``torch.inference_mode``. Besides the output, the only extra memory is one tile, its
    output, its window and two 1-D weight sums (the windows are separable, so their sum is the
    outer product of a row sum and a column sum). If the image fits in one tile, `fn` is called
    once on the whole image.

    Exactness. For a net whose output depends on pixels within radius r, the result equals
    ``fn(noisy)`` when ``floor(discard * overlap) >= r`` (with the default discard 0.25,
    overlap >= 4r) and, for a net that pools, `multiple` is its total stride. The Noise2Noise
    U-Net has a receptive field of roughly +-190 pixels, more than a tile; its influence decays
    fast though. Measured on a 200 x 300 crop of Set12's 01.png with noise (σ = 25.5) and
    seeded nets of the registry, max |tiled - whole| with tile 96 / overlap 32 is 7.9e-6
    (``unet_n2n``, multiple 32) and 3.6e-7 (``red30``); ``resunet``'s squeeze-and-excitation
    averages over the whole input, so it is never exactly tile-local: 2.1e-4 with tile 96 /
    overlap 32 and 4.6e-5 with tile 128 / overlap 64 (tests/ops/test_tiling.py checks these).

    Parameters
    ----------
    fn : callable
        Maps a (B, C, h, w) float tensor to a tensor of the same shape (a net's forward, in eval
        mode). It may be called with h, w up to ``tile + multiple - 1``.
    noisy : Tensor, shape (B, C, H, W), float32, any range, any device
        The images.
    tile : int or None
        Tile size in pixels (>= 1), rounded down to a multiple of `multiple`, clipped to H and W.
        None chooses it with :func:`choose_tile` from `max_memory_bytes`, or else from the
        smaller of :data:`DEFAULT_MAX_MEMORY_BYTES` (1 GiB) and a quarter of
        :func:`available_memory_bytes`, so a whole-image run stays well under 2 GB.
    overlap : int or None
        Least overlap of neighbouring tiles in pixels (0 <= overlap < tile). None means
        :data:`DEFAULT_OVERLAP` (32).
    multiple : int
        Tile sizes and starts are multiples of this: the total stride of the net (32 for
        ``UNetN2N``), so its pooling grid is the same in every tile as on the whole image.
    max_memory_bytes : int or None
        Memory one call of `fn` may use, in bytes, when `tile` is None.
    bytes_per_pixel : float
        Peak memory of `fn` per input pixel per image, in bytes, when `tile` is None. The
        default, :data:`UNET_N2N_BYTES_PER_PIXEL`, is for ``UNetN2N(width=48)``.
    discard : float
        Fraction of each overlap, next to a tile's inner edge, that gets zero weight (see
        :func:`blend_window`).

    Returns
    -------
    Tensor, shape (B, C, H, W), dtype and device of `noisy`

    Raises
    ------
    ValueError
        If `noisy` is not 4-D or not floating point (the message quotes the shape or dtype),
        if tile < 1, overlap < 0 or tile <= overlap, or if `fn` changes a tile's shape.

    Examples
    --------
    >>> noisy = torch.rand(1, 1, 100, 150)
    >>> out = denoise_tiled(lambda x: 2 * x, noisy, tile=64, overlap=16)
    >>> out.shape, torch.allclose(out, 2 * noisy)
    (torch.Size([1, 1, 100, 150]), True)
    """
    if noisy.ndim != 4:
        raise ValueError(f"denoise_tiled needs a (B, C, H, W) tensor, got {tuple(noisy.shape)}")
    if not noisy.is_floating_point():
        raise ValueError(f"denoise_tiled needs a floating-point tensor, got {noisy.dtype}")
    batch, _, height, width = noisy.shape
    overlap = DEFAULT_OVERLAP if overlap is None else overlap
    if tile is None:
        budget = max_memory_bytes or min(
            DEFAULT_MAX_MEMORY_BYTES, available_memory_bytes(noisy.device) // 4
        )
        tile = choose_tile(budget, bytes_per_pixel, batch, multiple, overlap)
    _check_tile_args(tile, overlap, multiple)
    tile = max(tile // multiple * multiple, multiple)
    if tile <= overlap:
        raise ValueError(f"tile rounded to a multiple of {multiple} is {tile} <= overlap {overlap}")
    spans_y = _spans(tile_starts(height, tile, overlap, multiple), tile, height)
    spans_x = _spans(tile_starts(width, tile, overlap, multiple), tile, width)
    if len(spans_y) == 1 and len(spans_x) == 1:
        with torch.inference_mode():
            whole = _checked_call(fn, noisy)
        return whole.to(dtype=noisy.dtype, copy=True)  # an ordinary tensor, not an inference one
    # Accumulators are made outside inference mode so the result is an ordinary tensor.
    out = torch.zeros_like(noisy)
    row_sum = torch.zeros(height, dtype=noisy.dtype, device=noisy.device)
    col_sum = torch.zeros(width, dtype=noisy.dtype, device=noisy.device)
    rows = _windows(spans_y, discard, noisy)
    cols = _windows(spans_x, discard, noisy)
    with torch.inference_mode():
        for (y0, y1), wy in zip(spans_y, rows, strict=True):
            row_sum[y0:y1] += wy
            for (x0, x1), wx in zip(spans_x, cols, strict=True):
                tile_out = _checked_call(fn, noisy[..., y0:y1, x0:x1].contiguous())
                out[..., y0:y1, x0:x1] += tile_out * (wy[:, None] * wx[None, :])
        for (x0, x1), wx in zip(spans_x, cols, strict=True):
            col_sum[x0:x1] += wx
        out.div_(row_sum[:, None]).div_(col_sum[None, :])
    return out


def _check_tile_args(tile: int, overlap: int, multiple: int) -> None:
    """Raise ValueError unless tile >= 1, 0 <= overlap < tile and multiple >= 1."""
    if tile < 1:
        raise ValueError(f"tile must be >= 1, got {tile}")
    if overlap < 0:
        raise ValueError(f"overlap must be >= 0, got {overlap}")
    if tile <= overlap:
        raise ValueError(f"tile must be larger than overlap, got tile={tile}, overlap={overlap}")
    if multiple < 1:
        raise ValueError(f"multiple must be >= 1, got {multiple}")


def _spans(starts: list[int], tile: int, length: int) -> list[tuple[int, int]]:
    """Return [start, end) of each tile; the last one ends at `length`."""
    ends = [min(s + tile, length) for s in starts[:-1]] + [length]
    return list(zip(starts, ends, strict=True))


def _windows(spans: list[tuple[int, int]], discard: float, like: Tensor) -> list[Tensor]:
    """Return the 1-D window of each span, ramped over its actual overlap with each neighbour."""
    windows = []
    for k, (start, end) in enumerate(spans):
        before = spans[k - 1][1] - start if k > 0 else 0
        after = end - spans[k + 1][0] if k + 1 < len(spans) else 0
        windows.append(_ramp(end - start, before, after, discard, like.dtype, like.device))
    return windows


def _checked_call(fn: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """Return fn(x), raising ValueError if it changed the shape."""
    y = fn(x)
    if y.shape != x.shape:
        raise ValueError(f"fn must keep the shape: {tuple(x.shape)} became {tuple(y.shape)}")
    return y
