"""The U-Net of Noise2Noise (Lehtinen et al., ICML 2018, arXiv:1803.04189, appendix Table 2).

Layer names follow the table: ENC_CONV0..6, POOL1..5, UPSAMPLE5..1, DEC_CONV5A..1C.

Departures from the paper:

- Inputs of any H, W are padded to a multiple of 32 (reflect, or replicate when the image is
  too small to reflect) and the output is cropped back; the paper trains on 256x256 crops.
- `width` scales every layer: encoder width w (48 in the paper), decoder 2w (96), DEC_CONV1A
  4w // 3 (64) and DEC_CONV1B 2w // 3 (32). With the default w = 48 the net is the paper's.
- Two switches of N2V2 (Höck et al., ECCV Workshops 2022, arXiv:2211.08512), off by default:
  ``pool="blur"`` replaces each max-pooling with ``MaxBlurPool2d``, and ``top_skip=False``
  drops the top-level skip (the concatenation of the input before DEC_CONV1A), the two changes
  that remove Noise2Void's checkerboard artefacts.
"""

from __future__ import annotations

from torch import Tensor, nn

from noise2x.nets.base import NETS
from noise2x.nets.blocks import (
    MaxBlurPool2d,
    check_image_batch,
    conv3x3,
    crop_to,
    pad_to_multiple,
    upsample_cat,
)


@NETS.register("unet_n2n")
class UNetN2N(nn.Module):
    """The Noise2Noise U-Net: five 2x2 max-poolings (stride 32), 3x3 convs, skip concatenations.

    Encoder: ENC_CONV0, ENC_CONV1 (w each), POOL1, then ENC_CONVk + POOLk for k = 2..5, then
    ENC_CONV6 (all w = 48 channels). Decoder, for k = 5..2: UPSAMPLEk (nearest, x2), concatenate
    the output of POOL(k-1), DEC_CONVkA and DEC_CONVkB (2w = 96 channels); then UPSAMPLE1,
    concatenate the input, DEC_CONV1A (64), DEC_CONV1B (32) and DEC_CONV1C (C, linear). Every
    convolution but the last is followed by LeakyReLU with slope 0.1. The net predicts the clean
    image directly (no residual connection).

    988,609 parameters for C = 1 and 991,203 for C = 3 (default width).

    Parameters
    ----------
    channels : int
        Image channels C, in and out (1 grayscale, 3 color).
    width : int
        Encoder channels w (48 in the paper); the decoder uses 2w.
    pool : {"max", "blur"}
        2x2 max-pooling (the paper) or N2V2's max-blur-pooling (`MaxBlurPool2d`).
    top_skip : bool
        Concatenate the input before DEC_CONV1A (the paper); False is N2V2's U-Net.

    Raises
    ------
    ValueError
        If `channels` or `width` < 1 or `pool` is unknown (at construction), or if the input of
        ``forward`` is not (B, C, H, W).

    References
    ----------
    J. Lehtinen et al., "Noise2Noise: Learning Image Restoration without Clean Data", ICML 2018,
    arXiv:1803.04189, appendix A.1, Table 2. O. Ronneberger, P. Fischer and T. Brox, "U-Net:
    Convolutional Networks for Biomedical Image Segmentation", MICCAI 2015, arXiv:1505.04597.

    Examples
    --------
    >>> import torch
    >>> from noise2x.nets.base import count_parameters
    >>> net = UNetN2N(channels=1)
    >>> net(torch.rand(1, 1, 13, 17)).shape
    torch.Size([1, 1, 13, 17])
    >>> count_parameters(net), count_parameters(UNetN2N(channels=3))
    (988609, 991203)
    """

    size_multiple = 32  # five 2x2 poolings

    def __init__(
        self, channels: int = 1, width: int = 48, pool: str = "max", top_skip: bool = True
    ) -> None:
        super().__init__()
        if channels < 1 or width < 1:
            raise ValueError(f"channels and width must be >= 1, got {channels} and {width}")
        if pool not in ("max", "blur"):
            raise ValueError(f"pool must be 'max' or 'blur', got {pool!r}")
        self.channels, self.top_skip = channels, bool(top_skip)
        # Peak memory of an inference forward pass per input pixel, in bytes (measured by
        # ru_maxrss at 512 x 512, float32, width 48: ~1,000 channels-last and ~1,200
        # contiguous; 1,600 leaves headroom; it scales with the width).
        self.peak_bytes_per_pixel = 1600.0 * width / 48
        w, d = width, 2 * width
        self.enc_conv0 = conv3x3(channels, w)
        self.enc_conv1 = conv3x3(w, w)
        self.enc_conv2 = conv3x3(w, w)
        self.enc_conv3 = conv3x3(w, w)
        self.enc_conv4 = conv3x3(w, w)
        self.enc_conv5 = conv3x3(w, w)
        self.enc_conv6 = conv3x3(w, w)
        self.dec_conv5a = conv3x3(w + w, d)
        self.dec_conv5b = conv3x3(d, d)
        self.dec_conv4a = conv3x3(d + w, d)
        self.dec_conv4b = conv3x3(d, d)
        self.dec_conv3a = conv3x3(d + w, d)
        self.dec_conv3b = conv3x3(d, d)
        self.dec_conv2a = conv3x3(d + w, d)
        self.dec_conv2b = conv3x3(d, d)
        self.dec_conv1a = conv3x3(d + (channels if top_skip else 0), max(1, 4 * w // 3))
        self.dec_conv1b = conv3x3(max(1, 4 * w // 3), max(1, 2 * w // 3))
        self.dec_conv1c = conv3x3(max(1, 2 * w // 3), channels)
        self.pools = nn.ModuleList(  # POOL1..POOL5
            nn.MaxPool2d(2) if pool == "max" else MaxBlurPool2d() for _ in range(5)
        )
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")  # UPSAMPLE5..1 (no weights)
        # in place: every activation follows a convolution whose output nothing else reads; on
        # the CPU this avoids a fresh allocation per layer (a tenth of the inference time)
        self.act = nn.LeakyReLU(negative_slope=0.1, inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        """Map noisy images (B, C, H, W), float32, to denoised images of the same shape."""
        check_image_batch(x, self.channels)
        padded, size = pad_to_multiple(x, self.size_multiple)
        act, pool1, pool2, pool3, pool4, pool5 = self.act, *self.pools
        p1 = pool1(act(self.enc_conv1(act(self.enc_conv0(padded)))))
        p2 = pool2(act(self.enc_conv2(p1)))
        p3 = pool3(act(self.enc_conv3(p2)))
        p4 = pool4(act(self.enc_conv4(p3)))
        h = pool5(act(self.enc_conv5(p4)))
        h = act(self.enc_conv6(h))
        for skip, conv_a, conv_b in (
            (p4, self.dec_conv5a, self.dec_conv5b),
            (p3, self.dec_conv4a, self.dec_conv4b),
            (p2, self.dec_conv3a, self.dec_conv3b),
            (p1, self.dec_conv2a, self.dec_conv2b),
        ):
            h = act(conv_b(act(conv_a(upsample_cat(h, skip)))))
        h = upsample_cat(h, padded) if self.top_skip else self.upsample(h)
        h = act(self.dec_conv1b(act(self.dec_conv1a(h))))
        return crop_to(self.dec_conv1c(h), size)
