"""ResUNet: a residual-learning U-Net of SE residual blocks, attention gates and PixelShuffle.

Not one paper's network but a combination of published parts: the residual U-Net (Zhang, Liu and
Wang 2018), residual learning of the noise (DnCNN, Zhang et al. 2017), squeeze-and-excitation
(Hu et al. 2018) inside RCAN-style residual blocks, attention gates on the skip connections
(Oktay et al. 2018) and sub-pixel upsampling (Shi et al. 2016). See ``blocks.py`` for the
departures of each block from its paper.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from noise2x.nets.base import NETS
from noise2x.nets.blocks import (
    AttentionGate,
    PixelShuffleUp,
    ResBlock,
    check_image_batch,
    conv3x3,
    crop_to,
    pad_to_multiple,
)


@NETS.register("resunet")
class ResUNet(nn.Module):
    """U-Net of SE residual blocks that predicts the noise and returns ``x - noise``.

    With w_i = width * 2**i: a 3x3 stem maps C to w_0; encoder level i (i = 0..levels-1) is a
    ResBlock(w_i) whose output is kept as skip i, followed by a 2x2 stride-2 convolution to
    w_(i+1); the bottleneck is a ResBlock(w_levels). Decoder level i (from levels-1 down to 0)
    gates skip i with an attention gate driven by the coarser decoder features, upsamples
    those features with PixelShuffleUp(w_(i+1) -> w_i), concatenates both and applies
    ResBlock(2 w_i -> w_i). A 3x3 head maps w_0 to the noise estimate (C channels). Inputs are
    padded to a multiple of 2**levels and the output is cropped back, so any H, W work.

    4,001,876 parameters for C = 1 and 4,003,030 for C = 3 (default width 32, 3 levels).

    Parameters
    ----------
    channels : int
        Image channels C, in and out (1 grayscale, 3 color).
    width : int
        Channels w_0 of the finest level; level i has width * 2**i.
    levels : int
        Number of downsamplings (>= 1).
    reduction : int
        Reduction ratio of the squeeze-and-excitation gates.

    Raises
    ------
    ValueError
        If `channels`, `width`, `levels` or `reduction` < 1 (at construction), or if the input of
        ``forward`` is not (B, C, H, W).

    References
    ----------
    Z. Zhang, Q. Liu and Y. Wang, "Road Extraction by Deep Residual U-Net", IEEE GRSL 2018,
    arXiv:1711.10684. K. Zhang et al., "Beyond a Gaussian Denoiser: Residual Learning of Deep
    CNN for Image Denoising", IEEE TIP 2017, arXiv:1608.03981. O. Oktay et al., "Attention
    U-Net: Learning Where to Look for the Pancreas", MIDL 2018, arXiv:1804.03999.

    Examples
    --------
    >>> import torch
    >>> from noise2x.nets.base import count_parameters
    >>> net = ResUNet(channels=1)
    >>> net(torch.rand(1, 1, 13, 17)).shape
    torch.Size([1, 1, 13, 17])
    >>> count_parameters(net), count_parameters(ResUNet(channels=3))
    (4001876, 4003030)
    """

    def __init__(
        self, channels: int = 1, width: int = 32, levels: int = 3, reduction: int = 4
    ) -> None:
        super().__init__()
        if min(channels, width, levels, reduction) < 1:
            raise ValueError(
                "channels, width, levels and reduction must be >= 1, got "
                f"{channels}, {width}, {levels}, {reduction}"
            )
        self.channels = channels
        self.size_multiple = 2**levels
        # Peak memory of an inference forward pass per input pixel, in bytes (measured by
        # ru_maxrss at 512 x 512, float32, width 32, 3 levels: ~1440; it scales with the width).
        self.peak_bytes_per_pixel = 1500.0 * width / 32
        widths = [width * 2**i for i in range(levels + 1)]
        self.stem = conv3x3(channels, widths[0])
        self.encoders = nn.ModuleList(
            ResBlock(widths[i], reduction=reduction) for i in range(levels)
        )
        self.downs = nn.ModuleList(
            nn.Conv2d(widths[i], widths[i + 1], 2, stride=2) for i in range(levels)
        )
        self.bottleneck = ResBlock(widths[levels], reduction=reduction)
        # decoder modules are listed from the finest level (0) to the coarsest (levels - 1)
        self.gates = nn.ModuleList(AttentionGate(widths[i], widths[i + 1]) for i in range(levels))
        self.ups = nn.ModuleList(PixelShuffleUp(widths[i + 1], widths[i]) for i in range(levels))
        self.decoders = nn.ModuleList(
            ResBlock(2 * widths[i], widths[i], reduction=reduction) for i in range(levels)
        )
        self.head = conv3x3(widths[0], channels)

    def forward(self, x: Tensor) -> Tensor:
        """Map noisy images (B, C, H, W), float32, to denoised images ``x - noise``, same shape."""
        check_image_batch(x, self.channels)
        padded, size = pad_to_multiple(x, self.size_multiple)
        h = self.stem(padded)
        skips = []
        for encode, down in zip(self.encoders, self.downs, strict=True):
            h = encode(h)
            skips.append(h)
            h = down(h)
        h = self.bottleneck(h)
        for i in reversed(range(len(skips))):
            gated = self.gates[i](skips[i], h)
            h = self.decoders[i](torch.cat([self.ups[i](h), gated], dim=1))
        return x - crop_to(self.head(h), size)
