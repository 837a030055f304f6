"""VGG-16 convolution stack with torchvision's layout, loaded from a local weights file only.

`VGG16Features` holds the 13 convolutions of VGG-16 with their ReLUs and max-pools under the
same module indices 0..30 as torchvision's ``vgg16().features``, so torchvision's state dict
(``vgg16-397923af.pth``, keys ``features.0.weight`` ...) loads directly and torchvision is not
needed. `load_vgg16_features` reads that file from disk; nothing here ever downloads. Used by
the perceptual losses (`noise2x.losses.perceptual`), which read the weights when constructed,
never at import.

References
----------
K. Simonyan and A. Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR 2015, arXiv:1409.1556.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

__all__ = [
    "VGG16_FILENAME",
    "VGG16_LAYERS",
    "VGG16Features",
    "default_vgg16_path",
    "load_vgg16_features",
    "vgg16_layer_index",
]

VGG16_FILENAME = "vgg16-397923af.pth"
VGG16_URL = "https://download.pytorch.org/models/vgg16-397923af.pth"

# torchvision's VGG configuration "D" (VGG-16): output channels of each conv, "M" = max-pool.
_CONFIG = "64 64 M 128 128 M 256 256 256 M 512 512 512 M 512 512 512 M".split()


def _layer_names() -> dict[str, int]:
    names: dict[str, int] = {}
    index, block, conv = 0, 1, 1
    for item in _CONFIG:
        if item == "M":
            names[f"pool{block}"] = index
            index, block, conv = index + 1, block + 1, 1
        else:
            names[f"conv{block}_{conv}"] = index
            names[f"relu{block}_{conv}"] = index + 1
            index, conv = index + 2, conv + 1
    return names


#: Layer name (``conv1_1``, ``relu1_1``, ..., ``pool5``) -> index in ``VGG16Features.features``.
VGG16_LAYERS: dict[str, int] = _layer_names()


def vgg16_layer_index(name: object) -> int:
    """Return the index in ``VGG16Features.features`` of the layer called `name`.

    Parameters
    ----------
    name : str
        A key of `VGG16_LAYERS`: ``conv<b>_<i>``, ``relu<b>_<i>`` or ``pool<b>``.

    Returns
    -------
    index : int

    Raises
    ------
    ValueError
        If `name` is unknown; the message suggests the closest name and lists them all.

    Examples
    --------
    >>> vgg16_layer_index("relu2_2")
    8
    """
    if isinstance(name, str) and name in VGG16_LAYERS:
        return VGG16_LAYERS[name]
    close = difflib.get_close_matches(str(name), VGG16_LAYERS, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(
        f"unknown VGG-16 layer {name!r}.{hint} Known layers: {', '.join(VGG16_LAYERS)}"
    )


class VGG16Features(nn.Module):
    """The 13 convolutions of VGG-16 with their ReLUs and max-pools, as in torchvision.

    ``self.features`` is an ``nn.Sequential`` of 31 modules whose indices match torchvision's
    ``vgg16().features`` (convolutions at 0, 2, 5, ..., 28), so its state-dict keys are
    torchvision's ``features.0.weight`` ... ``features.28.bias``. Weights are initialised as
    torchvision does (Kaiming normal, fan-out; zero bias); load real ones with
    `load_vgg16_features`. ReLUs are not in-place so that conv outputs can be read as well.

    References
    ----------
    K. Simonyan and A. Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
    Recognition", ICLR 2015, arXiv:1409.1556.

    Examples
    --------
    >>> import torch
    >>> vgg = VGG16Features()
    >>> relu1_2, relu3_3 = vgg.extract(torch.rand(1, 3, 32, 32), ["relu1_2", "relu3_3"])
    >>> relu1_2.shape, relu3_3.shape
    (torch.Size([1, 64, 32, 32]), torch.Size([1, 256, 8, 8]))
    """

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for item in _CONFIG:
            if item == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                conv = nn.Conv2d(channels, int(item), kernel_size=3, padding=1)
                nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(conv.bias)
                layers += [conv, nn.ReLU()]
                channels = int(item)
        self.features = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """Return the output of the whole stack (``pool5``).

        Parameters
        ----------
        x : Tensor, shape (B, 3, H, W), float32, ImageNet-normalised
            H and W at least 32.

        Returns
        -------
        features : Tensor, shape (B, 512, H // 32, W // 32), float32
        """
        return self.features(x)

    def extract(self, x: Tensor, layers: Sequence[str]) -> list[Tensor]:
        """Return the outputs of the named layers, running the stack only as deep as needed.

        Parameters
        ----------
        x : Tensor, shape (B, 3, H, W), float32, ImageNet-normalised
            H and W must be at least 2^p, p the number of max-pools before the deepest layer.
        layers : sequence of str
            Layer names from `VGG16_LAYERS` (``"relu1_2"``, ``"conv3_3"``, ``"pool4"``, ...).

        Returns
        -------
        features : list of Tensor, one per name in `layers`, in that order
            Shape (B, C_l, H / 2^p_l, W / 2^p_l), float32.

        Raises
        ------
        ValueError
            If a layer name is unknown (with a "did you mean"), `x` is not (B, 3, H, W), or
            it is too small for the deepest layer; the message quotes the shape.
        """
        indices = [vgg16_layer_index(name) for name in layers]
        deepest = max(indices, default=-1)
        pools = sum(_is_pool(module) for module in self.features[: deepest + 1])
        if x.ndim != 4 or x.shape[1] != 3 or min(x.shape[-2:]) < 2**pools:
            raise ValueError(
                f"VGG-16 features up to layer index {deepest} need a (B, 3, H, W) tensor with "
                f"H, W >= {2**pools}, got {tuple(x.shape)}"
            )
        wanted = set(indices)
        outputs: dict[int, Tensor] = {}
        for index in range(deepest + 1):
            x = self.features[index](x)
            if index in wanted:
                outputs[index] = x
        return [outputs[index] for index in indices]


def _is_pool(module: nn.Module) -> bool:
    return isinstance(module, nn.MaxPool2d)


def default_vgg16_path() -> Path:
    """Return where torchvision caches the VGG-16 weights: $TORCH_HOME/hub/checkpoints/.

    ``TORCH_HOME`` defaults, as in torch, to ``$XDG_CACHE_HOME/torch``, i.e. ``~/.cache/torch``.

    Returns
    -------
    path : Path
        ``<TORCH_HOME>/hub/checkpoints/vgg16-397923af.pth`` (it may not exist).

    Examples
    --------
    >>> default_vgg16_path().name
    'vgg16-397923af.pth'
    """
    cache = os.environ.get("XDG_CACHE_HOME", os.path.join("~", ".cache"))
    torch_home = os.environ.get("TORCH_HOME", os.path.join(cache, "torch"))
    return Path(torch_home).expanduser() / "hub" / "checkpoints" / VGG16_FILENAME


def load_vgg16_features(path: str | Path | None = None) -> VGG16Features:
    """Return a frozen `VGG16Features` with weights read from a local file; never downloads.

    The file is a state dict in torchvision's layout (``vgg16-397923af.pth``, the ImageNet
    VGG-16 of torchvision; its ``classifier.*`` entries are ignored). With ``path=None`` it is
    looked for at `default_vgg16_path`, where torchvision caches it.

    Parameters
    ----------
    path : str or Path or None
        The weights file; None for ``$TORCH_HOME/hub/checkpoints/vgg16-397923af.pth``.

    Returns
    -------
    vgg : VGG16Features
        On the CPU, in eval mode, with ``requires_grad`` False on every parameter.

    Raises
    ------
    FileNotFoundError
        If the file does not exist; the message names the expected file and the two ways to
        provide it (``loss.vgg_weights=...`` in the config, or the file under
        ``$TORCH_HOME/hub/checkpoints``).
    ValueError
        If the file cannot be read as a state dict, or its ``features.*`` keys or shapes do not
        match VGG-16; the message names the file and the first mismatching key.

    Examples
    --------
    >>> import tempfile
    >>> import torch
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "vgg16-397923af.pth"
    ...     torch.save(VGG16Features().state_dict(), path)
    ...     vgg = load_vgg16_features(path)
    >>> vgg.training, any(p.requires_grad for p in vgg.parameters())
    (False, False)
    >>> vgg(torch.rand(1, 3, 32, 32)).shape
    torch.Size([1, 512, 1, 1])
    """
    file = default_vgg16_path() if path is None else Path(path).expanduser()
    if not file.exists():
        raise FileNotFoundError(_missing_message(file, explicit=path is not None))
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as error:  # any unreadable file is a bad-value error at the boundary
        raise ValueError(f"{file}: cannot be read as a PyTorch state dict ({error})") from error
    if not isinstance(state, Mapping):
        raise ValueError(
            f"{file}: expected a state dict in torchvision's VGG-16 layout "
            f"(keys 'features.0.weight', ...), found a {type(state).__name__}"
        )
    vgg = VGG16Features()
    vgg.load_state_dict(_match_features(state, vgg.state_dict(), file))
    vgg.requires_grad_(False)
    return vgg.eval()


def _missing_message(file: Path, *, explicit: bool) -> str:
    where = "the given path" if explicit else "the default path ($TORCH_HOME/hub/checkpoints)"
    return (
        f"VGG-16 weights not found at {where}: {file}. noise2x never downloads weights. "
        f"Provide torchvision's ImageNet VGG-16 state dict {VGG16_FILENAME} ({VGG16_URL}) "
        f"either with loss.vgg_weights=/path/to/{VGG16_FILENAME} in the config, or by putting "
        f"it under $TORCH_HOME/hub/checkpoints ({default_vgg16_path()})."
    )


def _match_features(
    state: Mapping[object, object], expected: Mapping[str, Tensor], file: Path
) -> dict[str, Tensor]:
    """Return the ``features.*`` tensors of `state`; ValueError at the first mismatching key."""
    found = {k: v for k, v in state.items() if isinstance(k, str) and k.startswith("features.")}
    layout = "torchvision's VGG-16 layout (features.0.weight ... features.28.bias)"
    for key, reference in expected.items():
        value = found.get(key)
        if value is None:
            sample = ", ".join(map(repr, list(state)[:3])) or "none"
            raise ValueError(
                f"{file} does not match {layout}: first mismatching key {key!r} is missing "
                f"(the file's first keys: {sample})"
            )
        if not isinstance(value, Tensor) or value.shape != reference.shape:
            shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
            raise ValueError(
                f"{file} does not match {layout}: first mismatching key {key!r} has shape "
                f"{shape}, expected {tuple(reference.shape)}"
            )
    for key in found:
        if key not in expected:
            raise ValueError(f"{file} does not match {layout}: unexpected key {key!r}")
    return {key: found[key] for key in expected}
