# size: the small layers every net shares (conv, padding, upsampling, SE, attention, pooling)
"""Layers shared by the networks: conv, padding, upsampling, SE, attention, res and up blocks.

Every block maps float32 tensors of shape (B, C, H, W); none of them clips or rescales values.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def conv3x3(in_channels: int, out_channels: int, stride: int = 1, bias: bool = True) -> nn.Conv2d:
    """Return a 3x3 convolution with padding 1 (keeps H and W when `stride` is 1).

    Parameters
    ----------
    in_channels, out_channels : int
        Channels in and out.
    stride : int
        Stride of the convolution.
    bias : bool
        Whether the convolution has a bias.

    Returns
    -------
    nn.Conv2d

    Examples
    --------
    >>> conv3x3(1, 4)(torch.zeros(1, 1, 5, 7)).shape
    torch.Size([1, 4, 5, 7])
    """
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=bias)


def conv1x1(in_channels: int, out_channels: int, bias: bool = True) -> nn.Conv2d:
    """Return a 1x1 convolution (a per-pixel linear map of the channels).

    Parameters
    ----------
    in_channels, out_channels : int
        Channels in and out.
    bias : bool
        Whether the convolution has a bias.

    Returns
    -------
    nn.Conv2d

    Examples
    --------
    >>> conv1x1(4, 2)(torch.zeros(1, 4, 5, 7)).shape
    torch.Size([1, 2, 5, 7])
    """
    return nn.Conv2d(in_channels, out_channels, 1, bias=bias)


def check_image_batch(x: Tensor, channels: int) -> None:
    """Raise if `x` is not a (B, `channels`, H, W) tensor.

    Parameters
    ----------
    x : Tensor
        The input of a network.
    channels : int
        The channel count the network was built for.

    Raises
    ------
    ValueError
        If `x` is not 4-D or its channel count differs from `channels`; the message quotes the
        shape.

    Examples
    --------
    >>> check_image_batch(torch.zeros(2, 3, 4, 4), 3)
    """
    if x.ndim != 4 or x.shape[1] != channels:
        raise ValueError(
            f"expected a (B, {channels}, H, W) tensor, got shape {tuple(x.shape)}; "
            "build the net with channels equal to the image's channel count"
        )


def _pad_last_dims(x: Tensor, pad: tuple[int, int, int, int], size: int) -> Tensor:
    """Pad with reflection if `pad` is shorter than `size`, else by replicating the border."""
    mode = "reflect" if max(pad) < size else "replicate"
    return F.pad(x, pad, mode=mode)


def pad_to_multiple(x: Tensor, multiple: int) -> tuple[Tensor, tuple[int, int]]:
    """Pad H and W at the bottom and right up to the next multiple of `multiple`.

    The padding mirrors the image (``reflect``, no repeated border pixel) along a dimension
    whose padding is shorter than its size, and repeats the last row or column (``replicate``)
    otherwise, so any H, W >= 1 work. Crop the network's output back with
    ``crop_to(out, size)`` or ``out[..., :h, :w]``.

    Parameters
    ----------
    x : Tensor, shape (B, C, H, W), any dtype and range
        Images.
    multiple : int
        The padded H and W are the smallest multiples of this number >= H and W (>= 1).

    Returns
    -------
    padded : Tensor, shape (B, C, H', W'), dtype of `x`
        H' = ceil(H / multiple) * multiple, likewise W'; `x` itself if no padding is needed.
    size : tuple of int
        The original (H, W).

    Raises
    ------
    ValueError
        If `x` is not 4-D or `multiple` < 1; the message quotes the shape or the value.

    Examples
    --------
    >>> x = torch.rand(1, 1, 13, 17)
    >>> padded, size = pad_to_multiple(x, 8)
    >>> padded.shape, size
    (torch.Size([1, 1, 16, 24]), (13, 17))
    >>> torch.equal(crop_to(padded, size), x)
    True
    """
    if x.ndim != 4:
        raise ValueError(f"pad_to_multiple needs a (B, C, H, W) tensor, got {tuple(x.shape)}")
    if multiple < 1:
        raise ValueError(f"multiple must be >= 1, got {multiple}")
    h, w = x.shape[-2:]
    pad_h, pad_w = -h % multiple, -w % multiple
    if pad_w:
        x = _pad_last_dims(x, (0, pad_w, 0, 0), w)
    if pad_h:
        x = _pad_last_dims(x, (0, 0, 0, pad_h), h)
    return x, (h, w)


def crop_to(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Keep the top-left `size` = (H, W) pixels of `x`: the inverse of :func:`pad_to_multiple`.

    Parameters
    ----------
    x : Tensor, shape (..., H', W')
        Padded images, H' >= H and W' >= W.
    size : tuple of int
        (H, W) to keep.

    Returns
    -------
    Tensor, shape (..., H, W)
        A view of `x`.

    Examples
    --------
    >>> crop_to(torch.zeros(1, 1, 16, 24), (13, 17)).shape
    torch.Size([1, 1, 13, 17])
    """
    return x[..., : size[0], : size[1]]


def upsample_cat(h: Tensor, skip: Tensor) -> Tensor:
    """Nearest x2 upsampling of `h`, concatenated with `skip`: ``cat([up(h), skip], dim=1)``.

    The U-Nets' decoder step, written in one pass into a new tensor of `h`'s memory layout
    (channels-last or contiguous) and dtype, instead of an upsampled copy and a concatenated
    copy of it. The values are exactly those of ``torch.cat`` of ``F.interpolate(h,
    scale_factor=2, mode="nearest")`` and `skip` (cast to `h`'s dtype); gradients flow to both.
    On the CPU in the channels-last layout it also saves the copy that converted the
    concatenation of the top level (the input's 1 or 3 channels are ambiguous in layout, so
    ``torch.cat`` returns a contiguous tensor); with it and in-place activations one pass of
    the Noise2Noise U-Net took 17-30 % less time (scratch timings, one thread, alone, 256 x 256
    to 512 x 512; the prior's benchmark times per set fell to 0.74-0.88).

    Parameters
    ----------
    h : Tensor, shape (B, C1, H, W), float
        Decoder features to upsample; any device.
    skip : Tensor, shape (B, C2, 2H, 2W), float
        Encoder features of the finer level (cast to `h`'s dtype, moved to its device).

    Returns
    -------
    Tensor, shape (B, C1 + C2, 2H, 2W), `h`'s dtype and device

    Raises
    ------
    ValueError
        If `skip` is not (B, C2, 2H, 2W) for `h` of shape (B, C1, H, W).

    Examples
    --------
    >>> h, skip = torch.rand(2, 3, 4, 5), torch.rand(2, 1, 8, 10)
    >>> up = F.interpolate(h, scale_factor=2.0, mode="nearest")
    >>> torch.equal(upsample_cat(h, skip), torch.cat([up, skip], 1))
    True

    References
    ----------
    J. Lehtinen et al., "Noise2Noise", ICML 2018, arXiv:1803.04189, appendix Table 2
    (UPSAMPLEk followed by CONCAT with the output of POOL(k-1)).
    """
    b, c, height, width = h.shape
    if skip.ndim != 4 or skip.shape[0] != b or tuple(skip.shape[-2:]) != (2 * height, 2 * width):
        raise ValueError(
            f"upsample_cat: skip of shape {tuple(skip.shape)} does not match (B, C, 2H, 2W) "
            f"for features of shape {tuple(h.shape)}"
        )
    layout = (
        torch.channels_last
        if h.is_contiguous(memory_format=torch.channels_last) and not h.is_contiguous()
        else torch.contiguous_format
    )
    shape = (b, c + skip.shape[1], 2 * height, 2 * width)
    out = torch.empty(shape, dtype=h.dtype, device=h.device, memory_format=layout)
    out[:, :c].view(b, c, height, 2, width, 2).copy_(h[:, :, :, None, :, None])
    out[:, c:].copy_(skip)
    return out


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation: rescale each channel by a gate in (0, 1) computed from the image.

    gate = sigmoid(W2 relu(W1 mean_hw(x) + b1) + b2), shape (B, C, 1, 1); output = x * gate.
    W1 maps C to max(1, C // reduction) channels and W2 back to C (both 1x1 convolutions).

    Parameters
    ----------
    channels : int
        Channels C of the input.
    reduction : int
        Ratio of C to the hidden width of the gate.

    Raises
    ------
    ValueError
        If `channels` or `reduction` < 1.

    References
    ----------
    J. Hu, L. Shen and G. Sun, "Squeeze-and-Excitation Networks", CVPR 2018, arXiv:1709.01507.

    Examples
    --------
    >>> se = SqueezeExcitation(8)
    >>> x = torch.rand(2, 8, 5, 7)
    >>> se(x).shape, se.gate(x).shape
    (torch.Size([2, 8, 5, 7]), torch.Size([2, 8, 1, 1]))
    """

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        if channels < 1 or reduction < 1:
            raise ValueError(f"channels and reduction must be >= 1, got {channels}, {reduction}")
        hidden = max(1, channels // reduction)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.squeeze = conv1x1(channels, hidden)
        self.excite = conv1x1(hidden, channels)

    def gate(self, x: Tensor) -> Tensor:
        """Return the per-channel gate, shape (B, C, 1, 1), float32 in (0, 1)."""
        return torch.sigmoid(self.excite(F.relu(self.squeeze(self.pool(x)))))

    def forward(self, x: Tensor) -> Tensor:
        """Map (B, C, H, W) to ``x * gate(x)``, shape (B, C, H, W)."""
        return x * self.gate(x)


class AttentionGate(nn.Module):
    """Additive attention gate: weight the skip features `x` by a map in (0, 1) driven by `g`.

    alpha = sigmoid(psi(relu(theta_x(x) + up(phi_g(g))))), shape (B, 1, H, W); output =
    x * alpha. theta_x (no bias), phi_g and psi are 1x1 convolutions; `g`, the gating signal from
    the coarser decoder level, may have a smaller H and W than `x`, in which case phi_g(g) is
    upsampled bilinearly to the size of `x`.

    Departures from Oktay et al.: alpha is computed at the resolution of `x` (they downsample
    `x` with a strided theta_x and upsample alpha), and there is no batch norm and no output
    1x1 convolution.

    Parameters
    ----------
    skip_channels : int
        Channels of `x`, the skip connection being gated.
    gate_channels : int
        Channels of the gating signal `g`.
    inter_channels : int or None
        Channels of the intermediate sum; None uses max(1, skip_channels // 2).

    Raises
    ------
    ValueError
        If a channel count is < 1.

    References
    ----------
    O. Oktay et al., "Attention U-Net: Learning Where to Look for the Pancreas", MIDL 2018,
    arXiv:1804.03999.

    Examples
    --------
    >>> gate = AttentionGate(skip_channels=8, gate_channels=16)
    >>> x, g = torch.rand(2, 8, 10, 14), torch.rand(2, 16, 5, 7)
    >>> gate(x, g).shape, gate.attention(x, g).shape
    (torch.Size([2, 8, 10, 14]), torch.Size([2, 1, 10, 14]))
    """

    def __init__(
        self, skip_channels: int, gate_channels: int, inter_channels: int | None = None
    ) -> None:
        super().__init__()
        inter = max(1, skip_channels // 2) if inter_channels is None else inter_channels
        if min(skip_channels, gate_channels, inter) < 1:
            raise ValueError(
                "skip_channels, gate_channels and inter_channels must be >= 1, got "
                f"{skip_channels}, {gate_channels}, {inter}"
            )
        self.theta_x = conv1x1(skip_channels, inter, bias=False)
        self.phi_g = conv1x1(gate_channels, inter)
        self.psi = conv1x1(inter, 1)

    def attention(self, x: Tensor, g: Tensor) -> Tensor:
        """Return the attention map alpha, shape (B, 1, H, W) of `x`, float32 in (0, 1)."""
        gated = self.phi_g(g)
        if gated.shape[-2:] != x.shape[-2:]:
            gated = F.interpolate(gated, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return torch.sigmoid(self.psi(F.relu(self.theta_x(x) + gated)))

    def forward(self, x: Tensor, g: Tensor) -> Tensor:
        """Map skip features `x` (B, C, H, W) and gating `g` (B, C_g, H_g, W_g) to x * alpha."""
        return x * self.attention(x, g)


class ResBlock(nn.Module):
    """Residual block with squeeze-and-excitation: out = shortcut(x) + SE(conv(relu(conv(x)))).

    Both convolutions are 3x3; the shortcut is the identity when the channel counts agree and a
    1x1 convolution otherwise. There is no normalisation and no activation after the sum (the
    residual channel-attention block of RCAN).

    Parameters
    ----------
    in_channels : int
        Channels of the input.
    out_channels : int or None
        Channels of the output; None keeps `in_channels`.
    reduction : int
        Reduction ratio of the squeeze-and-excitation gate.

    References
    ----------
    Y. Zhang et al., "Image Super-Resolution Using Very Deep Residual Channel Attention
    Networks", ECCV 2018, arXiv:1807.02758. K. He et al., "Deep Residual Learning for Image
    Recognition", CVPR 2016, arXiv:1512.03385.

    Examples
    --------
    >>> ResBlock(8, 4)(torch.rand(2, 8, 5, 7)).shape
    torch.Size([2, 4, 5, 7])
    """

    def __init__(
        self, in_channels: int, out_channels: int | None = None, reduction: int = 4
    ) -> None:
        super().__init__()
        out = in_channels if out_channels is None else out_channels
        self.body = nn.Sequential(
            conv3x3(in_channels, out),
            nn.ReLU(inplace=True),
            conv3x3(out, out),
            SqueezeExcitation(out, reduction),
        )
        self.shortcut = nn.Identity() if out == in_channels else conv1x1(in_channels, out)

    def forward(self, x: Tensor) -> Tensor:
        """Map (B, C_in, H, W) to (B, C_out, H, W)."""
        return self.shortcut(x) + self.body(x)


class PixelShuffleUp(nn.Module):
    """Upsample by `scale` with a 3x3 convolution to out * scale**2 channels and PixelShuffle.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels in and out.
    scale : int
        Upsampling factor for H and W.

    References
    ----------
    W. Shi et al., "Real-Time Single Image and Video Super-Resolution Using an Efficient
    Sub-Pixel Convolutional Neural Network", CVPR 2016, arXiv:1609.05158.

    Examples
    --------
    >>> PixelShuffleUp(16, 8)(torch.rand(1, 16, 5, 7)).shape
    torch.Size([1, 8, 10, 14])
    """

    def __init__(self, in_channels: int, out_channels: int, scale: int = 2) -> None:
        super().__init__()
        self.conv = conv3x3(in_channels, out_channels * scale**2)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: Tensor) -> Tensor:
        """Map (B, C_in, H, W) to (B, C_out, scale * H, scale * W)."""
        return self.shuffle(self.conv(x))


class MaxBlurPool2d(nn.Module):
    """Anti-aliased 2x downsampling: 2x2 max over stride 1, then a 3x3 binomial blur at stride 2.

    ``MaxBlurPool`` of Zhang (2019): the max is taken densely, and the subsampling that follows
    is low-passed, so that a one-pixel shift of the input changes the output little. N2V2 uses
    it in place of max-pooling to remove Noise2Void's checkerboard artefacts. No weights.
    (B, C, H, W) -> (B, C, ceil(H / 2), ceil(W / 2)) for even H, W: (H / 2, W / 2).

    References
    ----------
    R. Zhang, "Making Convolutional Networks Shift-Invariant Again", ICML 2019,
    arXiv:1904.11486. E. Höck et al., "N2V2", ECCV Workshops 2022, arXiv:2211.08512.

    Examples
    --------
    >>> MaxBlurPool2d()(torch.rand(2, 3, 8, 6)).shape
    torch.Size([2, 3, 4, 3])
    >>> float(MaxBlurPool2d()(torch.ones(1, 1, 4, 4)).min())  # a flat image stays flat
    1.0
    """

    def __init__(self) -> None:
        super().__init__()
        taps = torch.tensor([1.0, 2.0, 1.0])
        self.register_buffer("kernel", (taps[:, None] * taps[None, :] / 16.0)[None, None])

    def forward(self, x: Tensor) -> Tensor:
        """Downsample (B, C, H, W) by 2 in H and W."""
        x = F.max_pool2d(F.pad(x, (0, 1, 0, 1), mode="replicate"), kernel_size=2, stride=1)
        channels = x.shape[1]
        kernel = self.kernel.to(x.dtype).expand(channels, 1, 3, 3)
        return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernel, stride=2, groups=channels)
