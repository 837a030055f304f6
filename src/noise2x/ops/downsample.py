"""Pair downsamplers: split one noisy image into two half-size images with independent noise.

Pure functions on tensors of shape (B, C, H, W).
"""

from __future__ import annotations

from torch import Tensor


def pair_downsample(noisy: Tensor) -> tuple[Tensor, Tensor]:
    """Split each image into two half-size images with independent noise.

    Each output pixel is the mean of one diagonal of a 2x2 cell: the first output averages the
    anti-diagonal (top-right, bottom-left), i.e. a stride-2 convolution with the kernel
    [[0, 1/2], [1/2, 0]]; the second averages the main diagonal, kernel [[1/2, 0], [0, 1/2]].
    The two outputs use disjoint pixels, so under pixel-independent noise their noise is
    independent while their signal is nearly the same. Implemented with strided slicing, which
    is exact and cheaper than the convolution.

    Parameters
    ----------
    noisy : Tensor, shape (B, C, H, W), float32, any range
        Noisy images; H and W must be even.

    Returns
    -------
    first, second : Tensor, shape (B, C, H // 2, W // 2), float32

    Raises
    ------
    ValueError
        If `noisy` is not 4-D or H or W is odd; the message quotes the shape.

    References
    ----------
    Y. Mansour and R. Heckel, "Zero-Shot Noise2Noise: Efficient Image Denoising without any
    Data", CVPR 2023, arXiv:2303.11253, Sec. 3 (the pair downsampler).

    Examples
    --------
    >>> import torch
    >>> x = torch.arange(16.0).reshape(1, 1, 4, 4)
    >>> first, second = pair_downsample(x)
    >>> first.shape
    torch.Size([1, 1, 2, 2])
    >>> first[0, 0].tolist(), second[0, 0].tolist()
    ([[2.5, 4.5], [10.5, 12.5]], [[2.5, 4.5], [10.5, 12.5]])
    """
    if noisy.ndim != 4 or noisy.shape[-1] % 2 or noisy.shape[-2] % 2:
        raise ValueError(
            "pair_downsample needs a (B, C, H, W) tensor with even H and W, "
            f"got {tuple(noisy.shape)}"
        )
    first = (noisy[..., 0::2, 1::2] + noisy[..., 1::2, 0::2]) * 0.5
    second = (noisy[..., 0::2, 0::2] + noisy[..., 1::2, 1::2]) * 0.5
    return first, second
