"""The Self2Self network: a partial-convolution encoder and a dropout decoder.

Y. Quan, M. Chen, T. Pang and H. Ji, "Self2Self With Dropout: Learning Self-Supervised
Denoising From Single Image", CVPR 2020 (Sec. 3.3, Fig. 2), and the authors' TensorFlow code
(scut-mingqinchen/self2self, ``network/Punet.py``), whose layer structure this follows: the
Noise2Noise U-Net layout with every encoder convolution a partial convolution (48 channels,
masks max-pooled alongside the features) and every decoder convolution preceded by dropout
(rate 0.3; 96 channels, then 64, 32 and C), LeakyReLU 0.1, and a sigmoid on the output.

Departures from the authors' code:

- Inputs of any H, W are reflect-padded (image and mask alike) to a multiple of 32 and the
  output is cropped back; the authors' code needs H, W divisible by 32.
- For a mask with one value per channel (colour images), sum(1) counts the channels too
  (Liu et al.'s definition); the authors' code divides by k*k only, which scales the first
  layer of a colour image by C. Grey images are unaffected.
- Dropout draws from an optional ``torch.Generator`` (``forward(..., generator=g)``), so a
  seeded method is reproducible without touching torch's global random state.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from noise2x.nets.base import NETS
from noise2x.nets.blocks import (
    check_image_batch,
    conv3x3,
    crop_to,
    pad_to_multiple,
    upsample_cat,
)
from noise2x.nets.partial_conv import PartialConv2d


def bernoulli_like(x: Tensor, p: float, generator: torch.Generator | None = None) -> Tensor:
    """Return i.i.d. Bernoulli(`p`) draws shaped, typed and laid out like `x`.

    Each entry is 1 with probability round(p * 65536) / 65536 (16 random bits per entry) and 0
    otherwise. The bits come from one ``random_`` call on int64 words (four entries per word),
    which on the CPU is about 3x faster than ``Tensor.bernoulli_`` or ``F.dropout`` (one
    random draw per entry); this is where a Self2Self step spent a quarter of its time.

    Parameters
    ----------
    x : Tensor, shape (B, C, H, W) or any shape, floating point
        Gives the shape, dtype, device and memory format (channels-last is kept).
    p : float
        Probability of a 1, in [0, 1].
    generator : torch.Generator or None
        Source of the bits (on `x`'s device); None uses torch's global state.

    Returns
    -------
    Tensor, same shape, dtype, device and memory format as `x`, values in {0, 1}

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> draws = bernoulli_like(torch.empty(1, 2, 64, 64), 0.7, g)
    >>> draws.shape, bool(((draws == 0) | (draws == 1)).all()), round(draws.mean().item(), 1)
    (torch.Size([1, 2, 64, 64]), True, 0.7)
    """
    n = x.numel()
    words = torch.empty((n + 3) // 4, dtype=torch.int64, device=x.device)
    words.random_(-(2**63), 2**63 - 1, generator=generator)
    bits = words.view(torch.int16)[:n]
    if x.ndim == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        b, c, h, w = x.shape
        bits = bits.view(b, h, w, c).permute(0, 3, 1, 2)
    else:
        bits = bits.view(x.shape)
    return (bits < round(p * 65536) - 32768).to(x.dtype)


def _dropout(x: Tensor, rate: float, generator: torch.Generator | None) -> Tensor:
    """Inverted dropout: zero each entry with probability `rate`, scale the rest by 1/(1-rate)."""
    if rate == 0.0:
        return x
    return x * bernoulli_like(x, 1.0 - rate, generator).mul_(1.0 / (1.0 - rate))


@NETS.register("self2self_unet")
class Self2SelfUNet(nn.Module):
    """Self2Self's U-Net: partial-conv encoder (w = 48), dropout decoder (2w = 96).

    Encoder: ENC_CONV0, ENC_CONV1 (partial convolutions, w channels), POOL1, then ENC_CONVk +
    POOLk for k = 2..5, then ENC_CONV6; each partial convolution passes its updated mask on and
    each 2x2 max-pooling pools the mask too. Decoder, for k = 5..2: nearest x2 upsampling,
    concatenation with the output of POOL(k-1), DEC_CONVkA and DEC_CONVkB (2w channels); then
    upsampling, concatenation with the (masked) input, DEC_CONV1A (4w/3 = 64), DEC_CONV1B
    (2w/3 = 32) and DEC_CONV1 (C). Every decoder convolution is preceded by dropout with rate
    `dropout` (active in training mode only; Self2Self keeps it on at test time too), every
    convolution but the last is followed by LeakyReLU 0.1, the last by a sigmoid.

    988,609 parameters for C = 1 and 991,203 for C = 3 (defaults; the same convolutions as
    ``unet_n2n``).

    Parameters
    ----------
    channels : int
        Image channels C, in and out.
    width : int
        Encoder channels w (48 in the paper); the decoder uses 2w.
    dropout : float
        Dropout rate of the decoder, in [0, 1) (0.3 in the paper).
    sigmoid : bool
        End with a sigmoid (the paper: outputs in (0, 1)); False gives a linear output.

    Raises
    ------
    ValueError
        If `channels` or `width` < 1 or `dropout` is not in [0, 1) (at construction), or if the
        input of ``forward`` is not (B, C, H, W) or the mask does not fit it.

    References
    ----------
    Y. Quan, M. Chen, T. Pang and H. Ji, "Self2Self With Dropout: Learning Self-Supervised
    Denoising From Single Image", CVPR 2020. G. Liu et al., "Image Inpainting for Irregular
    Holes Using Partial Convolutions", ECCV 2018, arXiv:1804.07723.

    Examples
    --------
    >>> from noise2x.nets.base import count_parameters
    >>> net = Self2SelfUNet(channels=1)
    >>> mask = (torch.rand(1, 1, 13, 17) > 0.3).float()
    >>> net(torch.rand(1, 1, 13, 17) * mask, mask).shape
    torch.Size([1, 1, 13, 17])
    >>> count_parameters(net), count_parameters(Self2SelfUNet(channels=3))
    (988609, 991203)
    """

    size_multiple = 32  # five 2x2 poolings

    def __init__(
        self, channels: int = 1, width: int = 48, dropout: float = 0.3, sigmoid: bool = True
    ) -> None:
        super().__init__()
        if channels < 1 or width < 1:
            raise ValueError(f"channels and width must be >= 1, got {channels} and {width}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.channels = channels
        self.dropout = dropout
        self.sigmoid = sigmoid
        w, d = width, 2 * width
        a, b = max(1, 4 * w // 3), max(1, 2 * w // 3)
        self.encoder = nn.ModuleList(
            PartialConv2d(c_in, w, 3, padding=1) for c_in in (channels, w, w, w, w, w, w)
        )
        self.decoder = nn.ModuleList(
            [
                conv3x3(w + w, d),  # dec_conv5a
                conv3x3(d, d),  # dec_conv5b
                conv3x3(d + w, d),  # dec_conv4a
                conv3x3(d, d),  # dec_conv4b
                conv3x3(d + w, d),  # dec_conv3a
                conv3x3(d, d),  # dec_conv3b
                conv3x3(d + w, d),  # dec_conv2a
                conv3x3(d, d),  # dec_conv2b
                conv3x3(d + channels, a),  # dec_conv1a
                conv3x3(a, b),  # dec_conv1b
                conv3x3(b, channels),  # dec_conv1
            ]
        )

    def forward(
        self,
        x: Tensor,
        mask: Tensor | None = None,
        *,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Map masked noisy images to estimates of the clean images.

        Parameters
        ----------
        x : Tensor, shape (B, C, H, W), float32, nominally in [0, 1]
            The input; entries where `mask` is 0 are ignored.
        mask : Tensor or None, shape (B, 1, H, W) or (B, C, H, W), values in {0, 1}
            1 where `x` is observed; None means all observed.
        generator : torch.Generator or None
            Source of the dropout draws (on `x`'s device); None uses torch's global state.

        Returns
        -------
        Tensor, shape (B, C, H, W)
            In (0, 1) with the sigmoid; float32, or bfloat16 under autocast.
        """
        check_image_batch(x, self.channels)
        if mask is None:
            mask = torch.ones((x.shape[0], 1, *x.shape[-2:]), device=x.device)
        elif mask.ndim != 4 or mask.shape[0] != x.shape[0] or mask.shape[-2:] != x.shape[-2:]:
            raise ValueError(
                f"mask of shape {tuple(mask.shape)} does not fit the input {tuple(x.shape)}"
            )
        padded, size = pad_to_multiple(x, self.size_multiple)
        mask, _ = pad_to_multiple(mask.to(x.dtype), self.size_multiple)
        h = padded * mask if not bool(mask.all()) else padded
        skips = [h]
        enc = self.encoder
        h, m = enc[0](h, mask)
        h = F.leaky_relu(h, 0.1)
        for conv in enc[1:6]:  # enc_conv1..5, each followed by a pooling
            h, m = conv(h, m)
            h, m = F.max_pool2d(F.leaky_relu(h, 0.1), 2), F.max_pool2d(m, 2)
            skips.append(h)
        skips.pop()  # the output of POOL5 is not a skip
        h, _ = enc[6](h, m)
        h = F.leaky_relu(h, 0.1)
        dec, training = self.decoder, self.training
        rate = self.dropout if training else 0.0
        for i in range(0, 8, 2):  # dec_conv5..2, a and b
            h = upsample_cat(h, skips.pop())
            h = F.leaky_relu(dec[i](_dropout(h, rate, generator)), 0.1)
            h = F.leaky_relu(dec[i + 1](_dropout(h, rate, generator)), 0.1)
        # dec_conv1a on cat([up, input]), computed as two convolutions with the two slices of
        # its weight: the same sum, without the slow concatenation of 2w + C channels.
        up = F.interpolate(h, scale_factor=2.0, mode="nearest")
        skip = skips.pop().to(up.dtype)
        weight = dec[8].weight
        h = F.conv2d(_dropout(up, rate, generator), weight[:, : up.shape[1]], dec[8].bias, 1, 1)
        h = h + F.conv2d(_dropout(skip, rate, generator), weight[:, up.shape[1] :], None, 1, 1)
        h = F.leaky_relu(h, 0.1)
        h = F.leaky_relu(dec[9](_dropout(h, rate, generator)), 0.1)
        out = dec[10](_dropout(h, rate, generator))
        if self.sigmoid:
            out = torch.sigmoid(out)
        return crop_to(out, size)
