"""The net registry and seeded weight initialisation shared by every network."""

from __future__ import annotations

import math

import torch
from torch import nn

from noise2x.registry import Registry

NETS: Registry[type[nn.Module]] = Registry("net")


def init_weights(net: nn.Module, generator: torch.Generator | None = None) -> nn.Module:
    """Re-draw the weights of every convolution with PyTorch's default rule from `generator`.

    PyTorch's default for ``nn.Conv2d`` is Kaiming-uniform with a = sqrt(5) for the weight and
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the bias; it draws from the global random state.
    This function applies the same rule but draws from `generator`, so a seeded method gets a
    reproducible network without touching the global seed.

    Parameters
    ----------
    net : nn.Module
        Any module; its ``nn.Conv2d`` and ``nn.ConvTranspose2d`` layers are re-initialised in place.
    generator : torch.Generator or None
        Source of randomness (on the CPU); None uses the global random state.

    Returns
    -------
    nn.Module
        `net`, for chaining.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> conv = init_weights(nn.Conv2d(1, 2, 3), g)
    >>> tuple(conv.weight.shape)
    (2, 1, 3, 3)
    """
    for module in net.modules():
        if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
            with torch.no_grad():
                nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=generator)
                if module.bias is not None:
                    fan_in, _ = nn.init._calculate_fan_in_and_fan_out(module.weight)
                    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
                    nn.init.uniform_(module.bias, -bound, bound, generator=generator)
    return net


def count_parameters(net: nn.Module) -> int:
    """Return the number of trainable parameters of `net`."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def build_net(name: str, channels: int, seed: int | None = None, **params) -> nn.Module:
    """Build the net registered as `name` for `channels` image channels.

    Parameters
    ----------
    name : str
        Registry key (``NETS.names()``).
    channels : int
        Image channels C (1 or 3): the net maps (B, C, H, W) to (B, C, H, W).
    seed : int or None
        Initial weights drawn from ``torch.Generator().manual_seed(seed)`` (`init_weights`);
        None keeps PyTorch's default initialisation from the global random state.
    **params
        Constructor arguments, e.g. ``width=48``.

    Returns
    -------
    nn.Module

    Raises
    ------
    KeyError
        If `name` is unknown (the message lists the known nets).

    Examples
    --------
    >>> import noise2x.nets
    >>> build_net("unet_n2n", 1, seed=0, width=8)(torch.rand(1, 1, 8, 8)).shape
    torch.Size([1, 1, 8, 8])
    """
    net = NETS.build({"name": name, **params}, channels=channels)
    if seed is not None:
        init_weights(net, torch.Generator().manual_seed(seed))
    return net
