"""RED30, the residual encoder-decoder net of Mao et al. (2016), used by Noise2Noise Sec. 3.1.

Fifteen 3x3 convolutions followed by fifteen mirrored 3x3 deconvolutions (transposed
convolutions), all stride 1 with padding 1, so H and W never change and any size works.
Symmetric skip connections every two layers add an encoder feature map to its mirrored decoder
feature map, and the sum goes through the ReLU.

Departures from the paper:

- The outermost skip adds the input image to the last deconvolution's output with no ReLU, so
  the net learns a residual and its output is not clipped at zero (Mao et al. pass every sum,
  the image included, through a ReLU).
- `width` defaults to Mao et al.'s 64 feature maps; the Noise2Noise paper reports 128, pass
  ``width=128`` to match it.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from noise2x.nets.base import NETS
from noise2x.nets.blocks import check_image_batch


@NETS.register("red30")
class RED30(nn.Module):
    """Residual encoder-decoder: depth / 2 convs, depth / 2 deconvs, skips every two layers.

    With n = depth / 2, conv k (k = 1..n) maps h_(k-1) to h_k = relu(conv_k(h_(k-1))), with
    h_0 = x. Deconv j (j = 1..n) mirrors level k = n - j: its output is
    relu(deconv_j(.) + h_k) when k is even and k > 0, relu(deconv_j(.)) when k is odd, and
    deconv_n(.) + x (linear) for the last one. So each skip spans two convolutions and two
    deconvolutions, and the image itself is the outermost skip. Conv 1 maps C to `width`
    channels, deconv n maps `width` back to C, all other layers are `width` to `width`.

    1,035,201 parameters for C = 1 and 1,037,507 for C = 3 (default width and depth).

    Parameters
    ----------
    channels : int
        Image channels C, in and out (1 grayscale, 3 color).
    width : int
        Feature maps of every hidden layer (64 in Mao et al.).
    depth : int
        Number of layers, convolutions plus deconvolutions; even and >= 2 (30 in the paper).

    Raises
    ------
    ValueError
        If `channels` or `width` < 1 or `depth` is odd or < 2 (at construction), or if the input
        of ``forward`` is not (B, C, H, W).

    References
    ----------
    X.-J. Mao, C. Shen and Y.-B. Yang, "Image Restoration Using Very Deep Convolutional
    Encoder-Decoder Networks with Symmetric Skip Connections", NeurIPS 2016, arXiv:1603.09056.
    J. Lehtinen et al., "Noise2Noise: Learning Image Restoration without Clean Data", ICML 2018,
    arXiv:1803.04189, Sec. 3.1.

    Examples
    --------
    >>> import torch
    >>> from noise2x.nets.base import count_parameters
    >>> net = RED30(channels=1)
    >>> net(torch.rand(1, 1, 13, 17)).shape
    torch.Size([1, 1, 13, 17])
    >>> count_parameters(net), count_parameters(RED30(channels=3))
    (1035201, 1037507)
    """

    def __init__(self, channels: int = 1, width: int = 64, depth: int = 30) -> None:
        super().__init__()
        if channels < 1 or width < 1:
            raise ValueError(f"channels and width must be >= 1, got {channels} and {width}")
        if depth < 2 or depth % 2:
            raise ValueError(f"depth must be even and >= 2, got {depth}")
        self.channels = channels
        # Peak memory of an inference forward pass per input pixel, in bytes (measured by
        # ru_maxrss at 512 x 512, float32, width 64: ~2860; it scales with the width).
        self.peak_bytes_per_pixel = 2900.0 * width / 64
        n = depth // 2
        self.convs = nn.ModuleList(
            nn.Conv2d(channels if k == 0 else width, width, 3, padding=1) for k in range(n)
        )
        self.deconvs = nn.ModuleList(
            nn.ConvTranspose2d(width, channels if j == n - 1 else width, 3, padding=1)
            for j in range(n)
        )

    def forward(self, x: Tensor) -> Tensor:
        """Map noisy images (B, C, H, W), float32, to denoised images of the same shape."""
        check_image_batch(x, self.channels)
        n = len(self.convs)
        skips: dict[int, Tensor] = {}
        h = x
        for k, conv in enumerate(self.convs, start=1):
            h = F.relu(conv(h))
            if k % 2 == 0 and k < n:
                skips[k] = h
        for j, deconv in enumerate(self.deconvs[:-1], start=1):
            h = deconv(h)
            if n - j in skips:
                h = h + skips[n - j]
            h = F.relu(h)
        return self.deconvs[-1](h) + x
