"""The two-layer CNN of Zero-Shot Noise2Noise (about 22k parameters)."""

from __future__ import annotations

from torch import Tensor, nn

from noise2x.nets.base import NETS


@NETS.register("zsn2n_cnn")
class ZSN2NNet(nn.Module):
    """conv3x3 C->48, LeakyReLU 0.2, conv3x3 48->48, LeakyReLU 0.2, conv1x1 48->C.

    The network predicts the *noise*; Zero-Shot Noise2Noise denoises with ``y - f(y)``.
    It has no pooling, so any H and W work. 21,313 parameters for C = 1, 22,275 for C = 3.

    Parameters
    ----------
    channels : int
        Image channels C (1 grayscale, 3 color).
    width : int
        Hidden channels (48 in the paper).

    References
    ----------
    Y. Mansour and R. Heckel, "Zero-Shot Noise2Noise", CVPR 2023, arXiv:2303.11253.

    Examples
    --------
    >>> import torch
    >>> net = ZSN2NNet(channels=1)
    >>> net(torch.zeros(2, 1, 8, 10)).shape
    torch.Size([2, 1, 8, 10])
    >>> sum(p.numel() for p in net.parameters())
    21313
    """

    def __init__(self, channels: int = 1, width: int = 48) -> None:
        super().__init__()
        if channels < 1 or width < 1:
            raise ValueError(f"channels and width must be >= 1, got {channels} and {width}")
        self.conv1 = nn.Conv2d(channels, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)
        self.conv3 = nn.Conv2d(width, channels, 1)
        self.act = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        """Map (B, C, H, W) to the predicted noise, shape (B, C, H, W)."""
        x = self.act(self.conv1(x))
        x = self.act(self.conv2(x))
        return self.conv3(x)
