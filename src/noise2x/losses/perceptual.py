"""Perceptual losses on VGG-16 features, with the weights read from a local file only.

The feature distance between f(y1) and y2 at a few ReLU layers of an ImageNet VGG-16, as in
Johnson et al. Registry keys: ``perceptual`` (feature distance alone) and ``l1_perceptual``
(L1 + lam * perceptual).

The VGG-16 convolution stack (`VGG16Features`, in `noise2x.losses.vgg16`, re-exported here) has
torchvision's layout, so torchvision's ``vgg16-397923af.pth`` loads directly without
torchvision. The weights are read when a perceptual loss is constructed, never at import, and
never downloaded: see `load_vgg16_features` for where the file is looked for.

Deliberate departures from Noise2Noise (Lehtinen et al., ICML 2018, arXiv:1803.04189): the
paper trains with pixel losses only. A perceptual term has no "minimiser is the mean / median"
guarantee over noisy targets, so with noisy targets it is a heuristic; it is offered for
sharper results at a small weight next to L1.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from noise2x.losses.base import Loss, check_same_shape, register_loss
from noise2x.losses.vgg16 import (
    VGG16_FILENAME,
    VGG16_LAYERS,
    VGG16Features,
    default_vgg16_path,
    load_vgg16_features,
    vgg16_layer_index,
)

__all__ = [
    "VGG16_FILENAME",
    "VGG16_LAYERS",
    "L1PerceptualLoss",
    "PerceptualLoss",
    "VGG16Features",
    "default_vgg16_path",
    "load_vgg16_features",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")


@register_loss("perceptual")
class PerceptualLoss(Loss):
    """Distance between VGG-16 features of prediction and target, summed over layers.

    loss = sum_l w_l * mean(|phi_l(p) - phi_l(t)|)  (or squared, ``distance="l2"``), where
    phi_l is VGG-16 up to layer l applied to the ImageNet-normalised image
    ((x - mean) / std, x in [0, 1]); single-channel images are repeated to 3 channels.

    Parameters
    ----------
    layers : sequence of str
        VGG-16 layers from `VGG16_LAYERS`; default relu1_2, relu2_2, relu3_3, relu4_3
        (Johnson et al.'s choice).
    vgg_weights : str or Path or None
        The torchvision VGG-16 weights file; None looks in ``$TORCH_HOME/hub/checkpoints``.
        In a config: ``loss.vgg_weights=...``. Read here, once; never downloaded.
    layer_weights : sequence of float or None
        One weight >= 0 per layer; None gives 1 to each.
    distance : {"l1", "l2"}
        Mean absolute or mean squared feature difference. Default "l1".

    Raises
    ------
    ValueError
        If a layer name is unknown (with a "did you mean"), `layer_weights` has the wrong
        length or a negative value, `distance` is unknown, or the weights file is invalid.
    FileNotFoundError
        If the weights file is missing; see `load_vgg16_features`.

    References
    ----------
    J. Johnson, A. Alahi and L. Fei-Fei, "Perceptual Losses for Real-Time Style Transfer and
    Super-Resolution", ECCV 2016, arXiv:1603.08155.

    Examples
    --------
    >>> import tempfile
    >>> import torch
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "vgg16-397923af.pth"
    ...     torch.save(VGG16Features().state_dict(), path)
    ...     loss_fn = PerceptualLoss(layers=("relu1_2", "relu2_2"), vgg_weights=path)
    >>> image = torch.rand(1, 1, 32, 32)
    >>> loss_fn(image, image).shape, loss_fn(image, image).item()
    (torch.Size([]), 0.0)
    """

    def __init__(
        self,
        layers: Sequence[str] = DEFAULT_LAYERS,
        vgg_weights: str | Path | None = None,
        layer_weights: Sequence[float] | None = None,
        distance: str = "l1",
    ) -> None:
        super().__init__()
        self.layers = _check_layers(layers)
        self.layer_weights = _check_layer_weights(layer_weights, len(self.layers))
        if distance not in ("l1", "l2"):
            raise ValueError(f"distance must be 'l1' or 'l2', got {distance!r}")
        self.distance = distance
        self.vgg_weights = vgg_weights
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        self.register_buffer("mean", mean, persistent=False)
        self.register_buffer("std", std, persistent=False)
        self.vgg = load_vgg16_features(vgg_weights)

    def train(self, mode: bool = True) -> PerceptualLoss:
        """Set train/eval mode on the loss; the frozen VGG always stays in eval mode."""
        super().train(mode)
        self.vgg.eval()
        return self

    def forward(
        self,
        prediction: Tensor,
        target: Tensor,
        step: int | None = None,
        total_steps: int | None = None,
    ) -> Tensor:
        """Return the weighted sum over layers of the feature distance.

        Parameters
        ----------
        prediction : Tensor, shape (B, C, H, W), float32, nominally in [0, 1]
            Output of the net; C is 1 or 3.
        target : Tensor, same shape as `prediction`
            Target images. Its features get gradients only if it requires grad.
        step, total_steps : int or None
            Ignored.

        Returns
        -------
        loss : Tensor, shape (), float32

        Raises
        ------
        ValueError
            If the shapes differ, C is not 1 or 3, or H or W is too small for the deepest
            layer; the message quotes the shape.
        """
        check_same_shape(prediction, target, "perceptual loss")
        if prediction.ndim != 4 or prediction.shape[1] not in (1, 3):
            raise ValueError(
                "perceptual loss needs (B, C, H, W) tensors with C = 1 or 3, "
                f"got {tuple(prediction.shape)}"
            )
        predicted = self.vgg.extract(self._normalise(prediction), self.layers)
        with torch.set_grad_enabled(torch.is_grad_enabled() and target.requires_grad):
            targeted = self.vgg.extract(self._normalise(target), self.layers)
        distance = F.l1_loss if self.distance == "l1" else F.mse_loss
        terms = [
            weight * distance(p, t)
            for weight, p, t in zip(self.layer_weights, predicted, targeted, strict=True)
        ]
        return torch.stack(terms).sum()

    def _normalise(self, images: Tensor) -> Tensor:
        images = images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images
        return (images - self.mean) / self.std

    def extra_repr(self) -> str:
        """Return the constructor arguments shown in ``repr``."""
        return (
            f"layers={self.layers!r}, layer_weights={self.layer_weights!r}, "
            f"distance={self.distance!r}"
        )


@register_loss("l1_perceptual")
class L1PerceptualLoss(Loss):
    """L1 plus a weighted VGG-16 perceptual term: mean(|p - t|) + lam * perceptual(p, t).

    Parameters
    ----------
    lam : float
        Weight of the perceptual term, >= 0. Default 0.1, a usual weight for an auxiliary
        perceptual term: small enough that the L1 term, whose minimiser is the statistic the
        Noise2Noise argument relies on (the median), stays in charge of intensities, while the
        feature term pulls toward sharp edges and texture. VGG feature differences are not on
        the pixel scale, so it is a starting point to tune; it is not from the Noise2Noise
        paper, which has no perceptual term.
    layers, vgg_weights, layer_weights, distance
        As in `PerceptualLoss`.

    Raises
    ------
    ValueError
        If `lam` is negative or not a number, or for the reasons `PerceptualLoss` gives.
    FileNotFoundError
        If the VGG-16 weights file is missing; see `load_vgg16_features`.

    References
    ----------
    J. Johnson, A. Alahi and L. Fei-Fei, "Perceptual Losses for Real-Time Style Transfer and
    Super-Resolution", ECCV 2016, arXiv:1603.08155.

    Examples
    --------
    >>> import tempfile
    >>> import torch
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "vgg16-397923af.pth"
    ...     torch.save(VGG16Features().state_dict(), path)
    ...     loss_fn = L1PerceptualLoss(lam=0.1, layers=("relu1_2",), vgg_weights=path)
    >>> loss = loss_fn(torch.zeros(1, 3, 16, 16), torch.full((1, 3, 16, 16), 0.5))
    >>> loss.shape, loss.item() > 0.5
    (torch.Size([]), True)
    """

    def __init__(
        self,
        lam: float = 0.1,
        layers: Sequence[str] = DEFAULT_LAYERS,
        vgg_weights: str | Path | None = None,
        layer_weights: Sequence[float] | None = None,
        distance: str = "l1",
    ) -> None:
        super().__init__()
        if isinstance(lam, bool) or not isinstance(lam, numbers.Real) or not lam >= 0:
            raise ValueError(f"lam must be a number >= 0, got {lam!r}")
        if not math.isfinite(lam):
            raise ValueError(f"lam must be finite, got {lam!r}")
        self.lam = float(lam)
        self.perceptual = PerceptualLoss(layers, vgg_weights, layer_weights, distance)

    def forward(
        self,
        prediction: Tensor,
        target: Tensor,
        step: int | None = None,
        total_steps: int | None = None,
    ) -> Tensor:
        """Return mean(|prediction - target|) + lam * perceptual(prediction, target).

        Parameters
        ----------
        prediction : Tensor, shape (B, C, H, W), float32, nominally in [0, 1]
            Output of the net; C is 1 or 3.
        target : Tensor, same shape as `prediction`
            Target images.
        step, total_steps : int or None
            Ignored.

        Returns
        -------
        loss : Tensor, shape (), float32

        Raises
        ------
        ValueError
            As `PerceptualLoss.forward`.
        """
        check_same_shape(prediction, target, "l1_perceptual loss")
        pixel = F.l1_loss(prediction, target)
        return pixel + self.lam * self.perceptual(prediction, target)

    def extra_repr(self) -> str:
        """Return the constructor arguments shown in ``repr``."""
        return f"lam={self.lam!r}"


def _check_layers(layers: str | Iterable[str]) -> tuple[str, ...]:
    names = (layers,) if isinstance(layers, str) else tuple(layers)
    if not names:
        raise ValueError("layers must name at least one VGG-16 layer, e.g. ('relu2_2',)")
    for name in names:
        vgg16_layer_index(name)
    if len(set(names)) != len(names):
        raise ValueError(f"layers must not repeat a name, got {names!r}")
    return names


def _check_layer_weights(weights: Iterable[float] | None, count: int) -> tuple[float, ...]:
    if weights is None:
        return (1.0,) * count
    values = tuple(weights)
    if len(values) != count:
        raise ValueError(
            f"layer_weights needs one weight per layer ({count}), got {len(values)}: {values!r}"
        )
    for value in values:
        ok = not isinstance(value, bool) and isinstance(value, numbers.Real)
        if not ok or not math.isfinite(value) or value < 0:
            raise ValueError(f"layer_weights must be finite numbers >= 0, got {values!r}")
    return tuple(float(value) for value in values)
