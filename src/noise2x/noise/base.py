"""Noise-model base class, the ``noise`` registry and the two builders.

A noise model is a small seeded callable on tensors: ``model(clean, generator) -> noisy`` with
``clean`` of shape (B, C, H, W), floating point, nominally in [0, 1]. All randomness comes from
the ``torch.Generator`` passed in (or torch's default generator when it is ``None``); nothing
here calls ``torch.manual_seed``. Every model takes an explicit ``clip`` flag (clamp the output to
[0, 1]), off by default: it matters for Gaussian, Poisson and Poisson-Gaussian noise, whose
output leaves [0, 1]; the pixel-replacing models only write values in [0, 1], so for them it
only clamps input values that were already out of range.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import torch
from torch import Tensor

from noise2x.registry import Registry

__all__ = ["NOISES", "MaskedNoiseModel", "NoiseModel", "add_noise", "build_noise", "register_noise"]

NOISES: Registry[type[NoiseModel]] = Registry("noise")

M = TypeVar("M", bound="type[NoiseModel]")


def register_noise(name: str) -> Callable[[M], M]:
    """Register a `NoiseModel` subclass in `NOISES` under `name` and set its ``name``.

    Parameters
    ----------
    name : str
        Registry key, lower snake case (``"gaussian"``, ``"lines"``, ...).

    Returns
    -------
    decorator : callable
        Class decorator returning the class unchanged apart from its ``name`` attribute.

    Raises
    ------
    ValueError
        If `name` is already registered.
    """

    def decorator(cls: M) -> M:
        cls.name = name
        return NOISES.register(name)(cls)

    return decorator


class NoiseModel:
    """Base class of the seeded noise models.

    Subclasses validate their parameters in ``__init__``, store each under the same attribute
    name as the constructor argument (so `params` and `build_noise` need no hand-kept lists)
    and implement ``_apply(clean, generator)``. Calling the model checks the input, applies
    the noise and, if ``self.clip`` is true, clamps the result to [0, 1].

    Attributes
    ----------
    name : str
        Registry key, set by `register_noise`.
    clip : bool
        Clamp the output to [0, 1]. Every model accepts it as a constructor argument, False
        by default.
    """

    name: ClassVar[str] = ""
    clip: bool = False

    def __call__(self, clean: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Return a noisy copy of `clean`.

        Parameters
        ----------
        clean : Tensor, shape (B, C, H, W), floating point, nominally in [0, 1]
            Clean images; left unchanged.
        generator : torch.Generator or None
            Source of all randomness, on the same device type as `clean`; ``None`` uses
            torch's default generator (not reproducible unless the caller seeds it).

        Returns
        -------
        noisy : Tensor, shape (B, C, H, W), same dtype and device as `clean`

        Raises
        ------
        ValueError
            If `clean` is not a 4-D floating-point tensor (the message quotes its shape and
            dtype) or `generator` is on another device type.
        """
        check_input(clean, generator, type(self).__name__)
        noisy = self._apply(clean, generator)
        if self.clip:
            noisy = noisy.clamp(0.0, 1.0)
        return noisy

    def _apply(self, clean: Tensor, generator: torch.Generator | None) -> Tensor:
        raise NotImplementedError

    @classmethod
    def param_names(cls) -> tuple[str, ...]:
        """Return the names of the constructor arguments, in signature order."""
        return tuple(inspect.signature(cls).parameters)

    def params(self) -> dict[str, Any]:
        """Return the constructor arguments of this instance, e.g. ``{"sigma": 25.0, ...}``."""
        return {key: getattr(self, key) for key in self.param_names()}

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.params().items())
        return f"{type(self).__name__}({args})"


class MaskedNoiseModel(NoiseModel):
    """Base class of noise models that corrupt some pixels and keep the rest unchanged.

    Subclasses implement ``_sample(clean, generator) -> (noisy, mask)``; ``model(clean)``
    returns only ``noisy``, `sample_with_mask` returns both (``noisy`` clamped to [0, 1] if
    ``self.clip``; the mask is not affected by clamping).
    """

    def sample_with_mask(
        self, clean: Tensor, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        """Return the noisy images and the mask of the pixels left unchanged.

        Parameters
        ----------
        clean : Tensor, shape (B, C, H, W), floating point, nominally in [0, 1]
            Clean images; left unchanged.
        generator : torch.Generator or None
            Source of all randomness; ``None`` uses torch's default generator.

        Returns
        -------
        noisy : Tensor, shape (B, C, H, W), same dtype and device as `clean`
        mask : Tensor, shape (B, 1, H, W), same dtype and device as `clean`, values in {0, 1}
            1 where every channel of the pixel is kept, 0 where the pixel is corrupted.

        Raises
        ------
        ValueError
            If `clean` is not a 4-D floating-point tensor; the message quotes its shape.
        """
        check_input(clean, generator, type(self).__name__)
        noisy, mask = self._sample(clean, generator)
        if self.clip:
            noisy = noisy.clamp(0.0, 1.0)
        return noisy, mask

    def _apply(self, clean: Tensor, generator: torch.Generator | None) -> Tensor:
        return self._sample(clean, generator)[0]

    def _sample(self, clean: Tensor, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
        raise NotImplementedError


def build_noise(name: str, **params: Any) -> NoiseModel:
    """Build the noise model registered under `name` from keyword parameters.

    Parameters
    ----------
    name : str
        Registry key; see ``NOISES.names()``.
    **params
        Constructor arguments of that model (see its ``param_names()``), e.g. ``sigma=25``.

    Returns
    -------
    model : NoiseModel

    Raises
    ------
    KeyError
        If `name` is not registered; the message lists the known names.
    ValueError
        If a parameter is not accepted by the model or a required one is missing (the message
        names it and lists the accepted ones), or a value is out of range.

    Examples
    --------
    >>> import noise2x.noise
    >>> build_noise("gaussian", sigma=25)
    GaussianNoise(sigma=25.0, clip=False)
    """
    return NOISES.build({"name": name, **params})


def add_noise(clean: Tensor, name: str, seed: int = 0, **params: Any) -> Tensor:
    """Add the noise `name` to `clean`, reproducibly from `seed`.

    Builds the model with `build_noise` and calls it with a fresh ``torch.Generator`` on
    ``clean.device`` seeded with `seed`, so the same arguments always give the same output.

    Parameters
    ----------
    clean : Tensor, shape (B, C, H, W), floating point, nominally in [0, 1]
        Clean images; left unchanged.
    name : str
        Registry key of the noise model.
    seed : int
        Seed of the generator.
    **params
        Constructor arguments of the model, e.g. ``sigma=25``.

    Returns
    -------
    noisy : Tensor, shape (B, C, H, W), same dtype and device as `clean`

    Raises
    ------
    KeyError
        If `name` is not registered.
    ValueError
        If a parameter is unknown, missing or out of range, or `clean` is not 4-D floating point.

    Examples
    --------
    >>> import torch
    >>> import noise2x.noise
    >>> clean = torch.full((2, 3, 8, 8), 0.5)
    >>> noisy = add_noise(clean, "gaussian", seed=1, sigma=25)
    >>> noisy.shape
    torch.Size([2, 3, 8, 8])
    >>> torch.equal(noisy, add_noise(clean, "gaussian", seed=1, sigma=25))
    True
    """
    model = build_noise(name, **params)
    generator = torch.Generator(device=clean.device).manual_seed(seed)
    return model(clean, generator)


def check_input(clean: Tensor, generator: torch.Generator | None, who: str) -> None:
    """Raise ValueError unless `clean` is 4-D floating point on the generator's device type."""
    if not isinstance(clean, Tensor) or clean.ndim != 4 or not clean.is_floating_point():
        shape = tuple(clean.shape) if isinstance(clean, Tensor) else type(clean).__name__
        dtype = getattr(clean, "dtype", None)
        raise ValueError(
            f"{who} needs a (B, C, H, W) floating-point tensor, got shape {shape} dtype {dtype}"
        )
    if generator is not None and generator.device.type != clean.device.type:
        raise ValueError(
            f"{who}: generator is on {generator.device} but the images are on {clean.device}"
        )


def check_number(
    name: str,
    value: Any,
    low: float,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return `value` as a float after checking it is a finite real in [low, high].

    ``low_open`` / ``high_open`` exclude the bound. Raises ValueError naming the parameter.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if not math.isfinite(value) or too_low or too_high:
        left = "(" if low_open else "["
        right = "]" if math.isfinite(high) and not high_open else ")"
        raise ValueError(f"{name} must be in {left}{low:g}, {high:g}{right}, got {value!r}")
    return value


def check_bool(name: str, value: Any) -> bool:
    """Return `value` after checking it is a bool; raise ValueError naming the parameter."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    """Return `value` after checking it is one of `choices`; raise ValueError listing them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value
