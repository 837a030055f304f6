"""Missing lines: whole rows and/or columns lost, as from dead sensor lines or scan dropouts.

In each image exactly ``round(fraction * H)`` rows (and/or ``round(fraction * W)`` columns),
chosen uniformly without replacement, are overwritten in every channel by 0 ("black"), 1
("white") or i.i.d. U[0, 1) values ("random"). Not taken from one paper: it is a structured,
non-pixel-independent corruption for testing how methods behave off their assumptions.
``clip`` (off by default) only matters for input values outside [0, 1].
"""

from __future__ import annotations

import torch
from torch import Tensor

from noise2x.noise.base import (
    MaskedNoiseModel,
    check_bool,
    check_choice,
    check_number,
    register_noise,
)

__all__ = ["MissingLines"]

AXES = ("rows", "cols", "both")
VALUES = ("black", "white", "random")


def _pick_lines(
    batch: int, length: int, fraction: float, generator: torch.Generator | None, device
) -> Tensor:
    """Return a (batch, length) bool tensor with exactly round(fraction * length) True per row."""
    count = round(fraction * length)
    order = torch.rand((batch, length), generator=generator, device=device).argsort(dim=1)
    lost = torch.zeros((batch, length), dtype=torch.bool, device=device)
    return lost.scatter_(1, order[:, :count], True)


@register_noise("lines")
class MissingLines(MaskedNoiseModel):
    """Overwrite a random `fraction` of the rows and/or columns of each image.

    Per image, ``round(fraction * H)`` distinct rows (``axis="rows"``), ``round(fraction * W)``
    distinct columns (``"cols"``), or both sets (``"both"``; their union is lost) are chosen
    uniformly at random; every channel of every pixel on them is set to `value`. ``round``
    is Python's (halves go to the even integer).

    Parameters
    ----------
    fraction : float
        Fraction of the lines to lose; in [0, 1].
    axis : {"rows", "cols", "both"}
        Which lines are lost.
    value : {"black", "white", "random"}
        What replaces them: 0, 1, or i.i.d. U[0, 1) per pixel and channel.
    clip : bool
        Clamp the output to [0, 1]. Off by default; replaced values are already in [0, 1],
        so this only affects input values outside [0, 1].

    Raises
    ------
    ValueError
        If `fraction` is not in [0, 1], `axis` / `value` is not one of the choices, or
        `clip` is not a bool.

    Examples
    --------
    >>> import torch
    >>> noise = MissingLines(fraction=0.25, axis="rows", value="white")
    >>> clean = torch.zeros(2, 3, 8, 8)
    >>> noisy, mask = noise.sample_with_mask(clean, torch.Generator().manual_seed(0))
    >>> noisy.shape, mask.shape
    (torch.Size([2, 3, 8, 8]), torch.Size([2, 1, 8, 8]))
    >>> int((mask[0, 0, :, 0] == 0).sum())
    2
    """

    def __init__(
        self, fraction: float, axis: str = "rows", value: str = "black", clip: bool = False
    ) -> None:
        self.fraction = check_number("fraction", fraction, 0.0, 1.0)
        self.axis = check_choice("axis", axis, AXES)
        self.value = check_choice("value", value, VALUES)
        self.clip = check_bool("clip", clip)

    def _sample(self, clean: Tensor, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
        batch, _, height, width = clean.shape
        device = clean.device
        lost = torch.zeros((batch, 1, height, width), dtype=torch.bool, device=device)
        if self.axis in ("rows", "both"):
            rows = _pick_lines(batch, height, self.fraction, generator, device)
            lost |= rows[:, None, :, None]
        if self.axis in ("cols", "both"):
            cols = _pick_lines(batch, width, self.fraction, generator, device)
            lost |= cols[:, None, None, :]
        if self.value == "black":
            fill = torch.zeros((), dtype=clean.dtype, device=device)
        elif self.value == "white":
            fill = torch.ones((), dtype=clean.dtype, device=device)
        elif self.value == "random":
            fill = torch.rand(clean.shape, generator=generator, device=device, dtype=clean.dtype)
        else:
            raise AssertionError(f"unchecked value {self.value!r}")
        noisy = torch.where(lost, fill, clean)
        return noisy, (~lost).to(clean.dtype)
