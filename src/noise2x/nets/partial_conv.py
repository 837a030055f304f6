"""Partial convolution (Liu et al., ECCV 2018): a convolution that sees only the valid pixels.

With a binary mask M (1 = observed, 0 = missing) and a window X of the input, one output
pixel is::

    x' = W . (X * M) * sum(1) / sum(M) + b    if sum(M) > 0
    x' = 0                                    otherwise
    m' = 1 if sum(M) > 0 else 0               (the mask update)

where sum(1) is the number of entries in the window (C_in * k * k). Missing pixels never reach
the output, and the scaling keeps the response of a partly observed window on the scale of a
fully observed one.

Implementation notes (speed): the mask branch (box sum of the mask, ratio, update) is computed
once per layer under ``torch.no_grad`` on a one-channel mask, and the products with the mask
are skipped when it is all ones; the ratio and bias are cast to the convolution's output dtype
so that a bfloat16 autocast stays in bfloat16.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class PartialConv2d(nn.Conv2d):
    """2-D partial convolution with mask renormalisation and mask update (Liu et al. 2018).

    A subclass of ``nn.Conv2d`` (same weights, initialisation and arguments), whose forward
    takes and returns a mask. With an all-ones mask and ``pad_is_hole=False`` it computes
    exactly ``nn.Conv2d``; with ``pad_is_hole=True`` (Liu et al.'s convention, and the
    Self2Self code's) the zero padding counts as missing, so border outputs are rescaled by
    sum(1) / sum(M) even for an all-ones mask.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels in and out.
    kernel_size : int
        Square kernel side k.
    stride, padding, dilation : int
        As for ``nn.Conv2d`` (zero padding only; ``groups`` is 1).
    bias : bool
        Whether the convolution has a bias (added after the renormalisation).
    pad_is_hole : bool
        Treat the zero padding as missing pixels (True) or as observed zeros (False).

    Raises
    ------
    ValueError
        In ``forward``, if `x` is not (B, in_channels, H, W) or the mask is not (B, 1, H, W)
        or (B, in_channels, H, W); the message quotes the shapes.

    References
    ----------
    G. Liu, F. A. Reda, K. J. Shih, T.-C. Wang, A. Tao and B. Catanzaro, "Image Inpainting for
    Irregular Holes Using Partial Convolutions", ECCV 2018, arXiv:1804.07723, Eq. (1)-(2).

    Examples
    --------
    >>> conv = PartialConv2d(1, 4, 3, padding=1)
    >>> x = torch.rand(2, 1, 8, 8)
    >>> mask = (torch.rand(2, 1, 8, 8) > 0.3).float()
    >>> out, new_mask = conv(x, mask)
    >>> out.shape, new_mask.shape
    (torch.Size([2, 4, 8, 8]), torch.Size([2, 1, 8, 8]))
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        padding: int = 0,
        dilation: int = 1,
        bias: bool = True,
        pad_is_hole: bool = True,
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, bias=bias
        )
        self.pad_is_hole = pad_is_hole
        self.register_buffer("_ones", torch.ones(1, 1, kernel_size, kernel_size), persistent=False)

    def mask_update(self, mask: Tensor) -> tuple[Tensor, Tensor]:
        """Return the renormalisation ratio and the updated mask of a binary input mask.

        Parameters
        ----------
        mask : Tensor, shape (B, 1, H, W) or (B, in_channels, H, W), values in {0, 1}
            1 where the input is observed. A one-channel mask applies to every channel.

        Returns
        -------
        ratio : Tensor, shape (B, 1, H', W'), float32
            sum(1) / sum(M) where sum(M) > 0, else 0 (H', W' the convolution's output size).
        update : Tensor, shape (B, 1, H', W'), float32, values in {0, 1}
            1 where the window saw at least one observed pixel.
        """
        with torch.no_grad(), torch.autocast(mask.device.type, enabled=False):
            mask = mask.float()
            per_pixel = mask.shape[1]  # channels the mask distinguishes
            summed = mask.sum(dim=1, keepdim=True) if per_pixel > 1 else mask
            window = float(self.kernel_size[0] * self.kernel_size[1] * per_pixel)
            pad = self.padding[0]
            if not self.pad_is_hole and pad:
                summed = F.pad(summed, (pad, pad, pad, pad), value=float(per_pixel))
                pad = 0
            count = F.conv2d(
                summed,
                self._ones.to(summed.dtype),
                stride=self.stride,
                padding=pad,
                dilation=self.dilation,
            )
            update = (count > 0.5).float()
            ratio = window / count.clamp_min(1.0) * update
        return ratio, update

    def forward(self, x: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Convolve the observed pixels of `x` and return the output and the updated mask.

        Parameters
        ----------
        x : Tensor, shape (B, in_channels, H, W), float
            Input features (float32, or bfloat16 under autocast).
        mask : Tensor or None, shape (B, 1, H, W) or (B, in_channels, H, W), values in {0, 1}
            1 where `x` is observed; None means all observed.

        Returns
        -------
        out : Tensor, shape (B, out_channels, H', W')
            The partial convolution; 0 where the window held no observed pixel.
        update : Tensor, shape (B, 1, H', W'), float32, values in {0, 1}
            The updated mask, for the next layer.

        Raises
        ------
        ValueError
            If the shapes of `x` and `mask` do not fit (see the class docstring).
        """
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"PartialConv2d expects (B, {self.in_channels}, H, W), got {tuple(x.shape)}"
            )
        if mask is None:
            mask = torch.ones((x.shape[0], 1, *x.shape[-2:]), device=x.device)
        if (
            mask.ndim != 4
            or mask.shape[0] != x.shape[0]
            or mask.shape[1] not in (1, self.in_channels)
            or mask.shape[-2:] != x.shape[-2:]
        ):
            raise ValueError(
                f"mask of shape {tuple(mask.shape)} does not fit the input {tuple(x.shape)}; "
                "expected (B, 1, H, W) or (B, C, H, W)"
            )
        ratio, update = self.mask_update(mask)
        if not bool(mask.all()):
            x = x * mask.to(x.dtype)
        out = self._conv_forward(x, self.weight, None)
        out = out * ratio.to(out.dtype)
        if self.bias is not None:
            out = out + self.bias.to(out.dtype).view(1, -1, 1, 1)
            if not bool(update.all()):
                out = out * update.to(out.dtype)
        return out, update
