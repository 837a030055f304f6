"""The pair-downsampler registry, its entry type and the shape checks every downsampler shares.

A pair downsampler turns a batch of noisy images (B, C, H, W) into two smaller images
(B, C, H // k, W // k), one per output, from the pixels of each k x k cell (k = 2, or 3 for
``cross_corners``). Every registered downsampler is called the same way,
``first, second = DOWNSAMPLERS.get(name)(noisy, generator)``; deterministic ones ignore the
generator.

Random downsamplers draw afresh at every call. A loss that must apply *one* draw to several
tensors (Zero-Shot Noise2Noise downsamples the noisy image y and the denoised image g(y) in the
same step; Neighbor2Neighbor does the same with its sub-sampler) calls ``draw`` once and applies
the returned split to each tensor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from noise2x.registry import Registry

__all__ = ["DOWNSAMPLERS", "PairDownsampler", "Split", "register_downsampler"]

Split = Callable[[Tensor], tuple[Tensor, Tensor]]
"""One fixed downsampling: (B, C, H, W) -> two (B, C, H // k, W // k) tensors."""


@dataclass(frozen=True)
class PairDownsampler:
    """A registered pair downsampler: a function plus what a caller needs to know about it.

    Attributes
    ----------
    name : str
        Registry key (lower snake case).
    function : callable (noisy, generator=None) -> (first, second)
        The downsampler; see its own docstring for the formula.
    cell : int
        Side k of the cells; H and W must be multiples of it; outputs are (H // k, W // k).
    independent : bool
        Whether the two outputs have independent noise when the input's noise is independent
        from pixel to pixel (true exactly when no input pixel feeds both outputs).
    summary : str
        One line for listings and tables.
    sampler : callable (noisy, generator) -> Split, or None
        For random downsamplers: draws the random choices for `noisy` and returns the split
        that applies them; None for deterministic ones.
    """

    name: str
    function: Callable[..., tuple[Tensor, Tensor]]
    cell: int
    independent: bool
    summary: str
    sampler: Callable[[Tensor, torch.Generator | None], Split] | None = None

    @property
    def random(self) -> bool:
        """True when the downsampler draws random choices (it then uses the generator)."""
        return self.sampler is not None

    def __call__(
        self, noisy: Tensor, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        """Return ``function(noisy, generator)``: two (B, C, H // k, W // k) tensors."""
        return self.function(noisy, generator)

    def draw(self, noisy: Tensor, generator: torch.Generator | None = None) -> Split:
        """Fix one draw for `noisy` and return the split that applies it to any tensor.

        The split accepts `noisy` itself or any tensor of the same shape (for example the
        network's output for `noisy`) and downsamples it with the same random choices. For a
        deterministic downsampler it is ``function`` itself (any valid shape).

        Parameters
        ----------
        noisy : Tensor, shape (B, C, H, W), floating point
            The image whose draw is fixed; for stochastic pooling its values set the
            probabilities.
        generator : torch.Generator or None
            Source of the random choices (None: torch's default generator); ignored by
            deterministic downsamplers.

        Returns
        -------
        split : callable (Tensor (B, C, H, W)) -> (first, second)

        Raises
        ------
        ValueError
            If `noisy` is not 4-D floating point with H, W multiples of ``cell``.
        """
        if self.sampler is None:
            check_cells(noisy, self.cell, self.name)
            return self.function
        return self.sampler(noisy, generator)


DOWNSAMPLERS: Registry[PairDownsampler] = Registry("downsampler", factory=False)


def register_downsampler(
    name: str,
    function: Callable[..., tuple[Tensor, Tensor]],
    *,
    cell: int,
    independent: bool,
    summary: str,
    sampler: Callable[[Tensor, torch.Generator | None], Split] | None = None,
) -> PairDownsampler:
    """Register `function` in `DOWNSAMPLERS` under `name` and return its entry.

    Raises
    ------
    ValueError
        If `name` is already registered.
    """
    entry = PairDownsampler(name, function, cell, independent, summary, sampler)
    return DOWNSAMPLERS.register(name)(entry)


def check_cells(noisy: Tensor, cell: int, who: str) -> None:
    """Raise a ValueError quoting the shape unless `noisy` is (B, C, H, W) float, H, W % cell == 0.

    Odd sizes are never cropped or padded here: the caller decides (Zero-Shot Noise2Noise
    reflect-pads its training image to a multiple of the cell).
    """
    size = "even" if cell == 2 else f"multiples of {cell}"
    if noisy.ndim != 4 or noisy.shape[-1] % cell or noisy.shape[-2] % cell:
        raise ValueError(
            f"{who} needs a (B, C, H, W) tensor with {size} H and W, got {tuple(noisy.shape)}"
        )
    if not noisy.is_floating_point():
        raise ValueError(f"{who} needs a floating-point tensor, got {noisy.dtype}")


def quadrants(x: Tensor) -> Tensor:
    """Stack the pixels of each 2x2 cell: (B, C, H, W) -> (B, C, H // 2, W // 2, 4).

    The last axis holds top-left, top-right, bottom-left, bottom-right (indices 0, 1, 2, 3).
    """
    return torch.stack(
        (x[..., 0::2, 0::2], x[..., 0::2, 1::2], x[..., 1::2, 0::2], x[..., 1::2, 1::2]), dim=-1
    )


def pick(cells: Tensor, index: Tensor) -> Tensor:
    """Return ``cells[..., index]`` per cell: cells (B, C, h, w, n), index (B, 1 or C, h, w, 1)."""
    return torch.gather(cells, -1, index.expand(*cells.shape[:-1], 1)).squeeze(-1)


def check_like(x: Tensor, noisy_shape: torch.Size, who: str) -> None:
    """Raise a ValueError unless `x` has the shape the draw was made for."""
    if x.shape != noisy_shape:
        raise ValueError(
            f"{who}: this draw was made for shape {tuple(noisy_shape)}; it cannot split a "
            f"tensor of shape {tuple(x.shape)}"
        )


def uniform(shape: tuple[int, ...], generator: torch.Generator | None, like: Tensor) -> Tensor:
    """Uniform [0, 1) draws of `shape` from `generator`, on the device and dtype of `like`."""
    device = generator.device if generator is not None else like.device
    return torch.rand(shape, generator=generator, device=device, dtype=like.dtype).to(like.device)


def integers(
    high: int, shape: tuple[int, ...], generator: torch.Generator | None, like: Tensor
) -> Tensor:
    """Uniform integer draws in [0, high) of `shape` from `generator`, on `like`'s device."""
    device = generator.device if generator is not None else like.device
    return torch.randint(high, shape, generator=generator, device=device).to(like.device)
