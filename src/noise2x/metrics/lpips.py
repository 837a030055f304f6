"""LPIPS through the ``lpips`` package: an optional metric, reported only when it is real.

LPIPS (Zhang et al. 2018) passes both images through a pretrained backbone (AlexNet, VGG-16 or
SqueezeNet 1.1), unit-normalises each layer's features along channels, weights the squared
differences channel by channel with learned linear layers, and averages over space and sums over
layers. Lower is better; 0 for identical images; unitless.

Nothing here is ever downloaded and no value is ever made up. LPIPS needs three things on disk:
the ``lpips`` package (with torchvision that imports against the installed torch), the package's
own linear-layer weights (``lpips/weights/v0.1/<net>.pth``, shipped inside it), and torchvision's
ImageNet backbone file in ``torch.hub.get_dir()/checkpoints/`` (``$TORCH_HOME/hub/checkpoints``).
`lpips_status` says, in one line, which of them is missing; `LPIPS` refuses to be built without
them, and `lpips_or_none` returns ``(None, reason)`` so that a report can print the reason
instead of a number. torchvision would download a missing backbone file when ``lpips.LPIPS`` is
built; `LPIPS` checks the file first and blocks ``torch.hub.download_url_to_file`` while
building, so that cannot happen. LPIPS is not in ``noise2x.metrics.METRICS``, whose entries
always work.

References
----------
R. Zhang, P. Isola, A. A. Efros, E. Shechtman and O. Wang, "The Unreasonable Effectiveness of
Deep Features as a Perceptual Metric", CVPR 2018, arXiv:1801.03924.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import Tensor, nn

__all__ = ["LPIPS", "LPIPS_NETS", "lpips_backbone_path", "lpips_or_none", "lpips_status"]

LPIPS_VERSION = "0.1"
"""Version of the ``lpips`` linear-layer weights used (``lpips/weights/v0.1/<net>.pth``)."""

LPIPS_NETS: dict[str, str] = {
    "alex": "alexnet-owt-7be5be79.pth",
    "vgg": "vgg16-397923af.pth",
    "squeeze": "squeezenet1_1-b8a52dc0.pth",
}
"""Backbone -> torchvision's ImageNet weights file (in ``$TORCH_HOME/hub/checkpoints``)."""

_URL = "https://download.pytorch.org/models/"

# Smallest H and W each backbone's layers accept (measured with torchvision's layer stacks).
_MIN_SIZE = {"alex": 31, "vgg": 16, "squeeze": 17}

_NOT_REPORTED = "LPIPS not reported: "

# Built models for `lpips_or_none`, by (net, device).
_MODELS: dict[tuple[str, str], LPIPS] = {}


def _check_net(net: object) -> str:
    if isinstance(net, str) and net in LPIPS_NETS:
        return net
    raise ValueError(f"unknown LPIPS backbone {net!r}; known: {', '.join(map(repr, LPIPS_NETS))}")


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


def lpips_backbone_path(net: str = "alex") -> Path:
    """Return where torchvision keeps the backbone weights that LPIPS with `net` needs.

    The folder is ``torch.hub.get_dir() / "checkpoints"``, i.e. ``$TORCH_HOME/hub/checkpoints``
    (``~/.cache/torch/hub/checkpoints`` by default), the one torchvision reads and would
    download into; the file name is torchvision's (`LPIPS_NETS`).

    Parameters
    ----------
    net : {"alex", "vgg", "squeeze"}, default "alex"
        LPIPS backbone.

    Returns
    -------
    path : Path
        E.g. ``<TORCH_HOME>/hub/checkpoints/alexnet-owt-7be5be79.pth``; it may not exist.

    Raises
    ------
    ValueError
        If `net` is not a key of `LPIPS_NETS`.

    Examples
    --------
    >>> lpips_backbone_path("alex").name
    'alexnet-owt-7be5be79.pth'
    """
    return Path(torch.hub.get_dir()) / "checkpoints" / LPIPS_NETS[_check_net(net)]


def lpips_status(net: str = "alex") -> str | None:
    """Say whether LPIPS with backbone `net` can be computed here, and if not, why not.

    Checks, in order and without downloading anything: the ``lpips`` package is installed;
    torchvision imports (a torchvision built for another torch raises ``RuntimeError`` on
    import, which is caught); ``lpips`` imports; its linear-layer weights
    ``lpips/weights/v0.1/<net>.pth`` exist; the backbone file `lpips_backbone_path` exists.

    Parameters
    ----------
    net : {"alex", "vgg", "squeeze"}, default "alex"
        LPIPS backbone.

    Returns
    -------
    str or None
        None if LPIPS can be computed; otherwise one line (no newline) starting with
        ``"LPIPS not reported: "`` that names the first missing piece and, for a missing file,
        its expected path.

    Raises
    ------
    ValueError
        If `net` is not a key of `LPIPS_NETS`.

    Examples
    --------
    >>> status = lpips_status("alex")
    >>> status is None or status.startswith("LPIPS not reported: ")
    True
    >>> status is None or len(status.splitlines()) == 1
    True
    """
    net = _check_net(net)
    if importlib.util.find_spec("lpips") is None:
        return (
            _NOT_REPORTED + "the `lpips` package is not installed "
            "(pip install lpips; it needs torchvision built for this torch)"
        )
    try:
        importlib.import_module("torchvision")
    except ModuleNotFoundError as error:
        if error.name != "torchvision":
            return (
                _NOT_REPORTED
                + f"torchvision (needed by `lpips`) fails to import: {_first_line(error)}"
            )
        return _NOT_REPORTED + "torchvision, which `lpips` needs, is not installed"
    except Exception as error:  # a torchvision built for another torch raises RuntimeError
        return (
            _NOT_REPORTED + f"torchvision (needed by `lpips`) fails to import: {_first_line(error)}"
        )
    try:
        module = importlib.import_module("lpips")
    except Exception as error:
        return _NOT_REPORTED + f"the `lpips` package fails to import: {_first_line(error)}"
    linear = _linear_weights_path(module, net)
    if linear is None or not linear.is_file():
        where = linear if linear is not None else "its package folder (lpips.__file__ is not set)"
        return (
            _NOT_REPORTED + f"the `lpips` package's linear-layer weights for {net!r} are missing "
            f"at {where}; reinstall lpips"
        )
    backbone = lpips_backbone_path(net)
    if not backbone.is_file():
        return (
            _NOT_REPORTED + f"backbone weights for {net!r} not found at {backbone}; noise2x never "
            f"downloads them (put {_URL}{backbone.name} there, or set TORCH_HOME)"
        )
    return None


def _linear_weights_path(module: object, net: str) -> Path | None:
    file = getattr(module, "__file__", None)
    if file is None:
        return None
    return Path(file).resolve().parent / "weights" / f"v{LPIPS_VERSION}" / f"{net}.pth"


@contextlib.contextmanager
def _downloads_refused() -> Iterator[None]:
    """Make ``torch.hub.download_url_to_file`` (torchvision's only way to download) raise."""
    original = torch.hub.download_url_to_file

    def refuse(url: str, dst: str, *args: object, **kwargs: object) -> None:
        raise RuntimeError(
            f"noise2x refused to download {url} to {dst} while building LPIPS; "
            "put the file there yourself"
        )

    torch.hub.download_url_to_file = refuse
    try:
        yield
    finally:
        torch.hub.download_url_to_file = original


class LPIPS(nn.Module):
    """LPIPS distance between denoised and clean images, one value per image; never downloads.

    Wraps ``lpips.LPIPS(net=net, version="0.1", pretrained=True, pnet_rand=False)``: the
    backbone is torchvision's ImageNet model read from `lpips_backbone_path`, the linear layers
    are the package's v0.1 weights. Before building, `lpips_status` must be None; while
    building, ``torch.hub.download_url_to_file`` is replaced by a function that raises, so a
    file torchvision cannot find is an error, not a download. All parameters are frozen and the
    model always stays in eval mode (its dropout off). Grey images (C = 1) are repeated to three
    channels; inputs on [0, 1] are mapped to [-1, 1] by lpips (``normalize=True``): x -> 2x - 1.
    Nothing is clipped. Differentiable in the inputs.

    Parameters
    ----------
    net : {"alex", "vgg", "squeeze"}, default "alex"
        Backbone. "alex" is the paper's recommended metric (the lpips default).

    Raises
    ------
    RuntimeError
        ``RuntimeError(lpips_status(net))`` if LPIPS cannot be computed here; also if
        torchvision asks for a file other than the one checked (a download refused).
    ValueError
        If `net` is not a key of `LPIPS_NETS`.

    References
    ----------
    R. Zhang, P. Isola, A. A. Efros, E. Shechtman and O. Wang, "The Unreasonable Effectiveness
    of Deep Features as a Perceptual Metric", CVPR 2018, arXiv:1801.03924.

    Examples
    --------
    >>> import torch
    >>> clean = torch.rand(2, 1, 32, 32)
    >>> metric = LPIPS() if lpips_status() is None else None  # else LPIPS() raises RuntimeError
    >>> metric is None or metric(clean, clean).shape == (2,)
    True
    """

    def __init__(self, net: str = "alex") -> None:
        super().__init__()
        self.net = _check_net(net)
        status = lpips_status(self.net)
        if status is not None:
            raise RuntimeError(status)
        lpips = importlib.import_module("lpips")
        linear = _linear_weights_path(lpips, self.net)
        with _downloads_refused():
            model = lpips.LPIPS(
                net=self.net,
                version=LPIPS_VERSION,
                pretrained=True,
                pnet_rand=False,
                model_path=str(linear),
                verbose=False,
            )
        self.model = model.eval().requires_grad_(False)

    def train(self, mode: bool = True) -> LPIPS:
        """Keep the wrapped lpips model in eval mode whatever `mode` is (its dropout stays off)."""
        super().train(mode)
        self.model.eval()
        return self

    def forward(self, denoised: Tensor, clean: Tensor) -> Tensor:
        """LPIPS distance of each denoised image from its clean reference.

        Parameters
        ----------
        denoised : Tensor, shape (B, C, H, W), floating, nominally in [0, 1]
            Images to measure; C is 1 or 3; H and W at least 31 (alex), 16 (vgg) or 17
            (squeeze). Cast to float32; on the module's device.
        clean : Tensor, same shape and device as `denoised`
            Clean references.

        Returns
        -------
        Tensor, shape (B,), float32, on the inputs' device
            LPIPS, unitless, >= 0 (in practice below about 1); lower is better.

        Raises
        ------
        ValueError
            If the inputs are not 4-D, differ in shape, are not floating, have C not in {1, 3},
            or H or W is below the backbone's minimum; the message quotes the shapes.
        """
        _check_inputs(denoised, clean, self.net)
        denoised, clean = denoised.float(), clean.float()
        if denoised.shape[1] == 1:
            denoised, clean = denoised.expand(-1, 3, -1, -1), clean.expand(-1, 3, -1, -1)
        return self.model(denoised, clean, normalize=True).reshape(-1)

    def extra_repr(self) -> str:
        """Show the backbone and weights version in ``repr``."""
        return f"net={self.net!r}, version={LPIPS_VERSION!r}"


def _check_inputs(denoised: Tensor, clean: Tensor, net: str) -> None:
    shapes = f"{tuple(denoised.shape)} and {tuple(clean.shape)}"
    if denoised.ndim != 4 or denoised.shape != clean.shape:
        raise ValueError(f"LPIPS needs two (B, C, H, W) tensors of the same shape, got {shapes}")
    if not (denoised.is_floating_point() and clean.is_floating_point()):
        raise ValueError(
            f"LPIPS needs floating images on [0, 1], got {denoised.dtype} and {clean.dtype}"
        )
    if denoised.shape[1] not in (1, 3):
        raise ValueError(f"LPIPS needs 1 (grey) or 3 (RGB) channels, got shape {shapes}")
    if min(denoised.shape[2:]) < _MIN_SIZE[net]:
        raise ValueError(
            f"LPIPS with {net!r} needs H and W >= {_MIN_SIZE[net]}, got shape {shapes}"
        )


def lpips_or_none(
    denoised: Tensor, clean: Tensor, net: str = "alex"
) -> tuple[Tensor, None] | tuple[None, str]:
    """LPIPS of each image if it can be computed here, else the one-line reason it cannot.

    For reports: print the values, or print the reason in their place. The `LPIPS` model is
    built once per (net, device) and kept for later calls; values are computed without
    gradients. A reason is not cached: the files are looked for again on the next call.

    Parameters
    ----------
    denoised : Tensor, shape (B, C, H, W), floating, nominally in [0, 1]
        Images to measure; C is 1 or 3 (see `LPIPS.forward` for the smallest H and W).
    clean : Tensor, same shape and device as `denoised`
        Clean references.
    net : {"alex", "vgg", "squeeze"}, default "alex"
        Backbone.

    Returns
    -------
    values : Tensor, shape (B,), float32, on `denoised`'s device, or None
        LPIPS (unitless, lower is better), or None when it cannot be computed.
    reason : str or None
        None when `values` is given, else `lpips_status` (one line, ``"LPIPS not reported: ..."``).

    Raises
    ------
    ValueError
        If `net` is unknown or the inputs are malformed (as in `LPIPS.forward`).

    Examples
    --------
    >>> import torch
    >>> clean = torch.rand(1, 1, 32, 32)
    >>> values, reason = lpips_or_none(clean, clean)
    >>> (values is None) == (reason is not None)
    True
    """
    net = _check_net(net)
    key = (net, str(denoised.device))
    model = _MODELS.get(key)
    if model is None:
        status = lpips_status(net)
        if status is not None:
            return None, status
        model = _MODELS[key] = LPIPS(net).to(denoised.device)
    with torch.no_grad():
        return model(denoised, clean), None
