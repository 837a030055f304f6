"""Text overlay: random strings drawn over the image until a target fraction is covered.

Strings of random length, font size, colour and position are drawn one after another on
each image until at least ``coverage`` of its pixels lie under text, as in the text-removal
experiment of Noise2Noise (Lehtinen et al. 2018, Sec. 3.2), which trains with coverage in
[0, 0.5] and tests at 0.25. Choices made here: glyphs are rendered with Pillow's bundled
default font (``ImageFont.load_default(size=...)``, Pillow >= 10.1 with FreeType) without
anti-aliasing, so every pixel is either text (one flat colour per string, uniform in
[0, 1]^C) or untouched; a string is placed with its centre uniformly inside the image, so
it may run off the edge; at most 10,000 strings are drawn per image (only reached for
coverage close to 1 on tiny images); ``clip`` (off by default) only matters for input
values outside [0, 1]. Randomness: one 62-bit seed is drawn from the torch
generator per call and seeds a NumPy generator used for the whole batch.
"""

from __future__ import annotations

import string
from functools import lru_cache

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

from noise2x.noise.base import MaskedNoiseModel, check_bool, check_number, register_noise

__all__ = ["TextNoise"]

_ALPHABET = np.array(list(string.ascii_letters + string.digits + " "))
_LENGTHS = (3, 16)
_MAX_STRINGS = 10_000


@lru_cache(maxsize=64)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _render(text: str, size: int) -> np.ndarray:
    """Return the glyphs of `text` as a tight (h, w) bool array, without anti-aliasing."""
    font = _font(size)
    left, top, right, bottom = font.getbbox(text)
    layer = Image.new("L", (max(right - left, 1), max(bottom - top, 1)))
    draw = ImageDraw.Draw(layer)
    draw.fontmode = "1"
    draw.text((-left, -top), text, fill=255, font=font)
    return np.asarray(layer) > 0


def _overlay_text(
    image: np.ndarray, coverage: float, font_size: tuple[int, int], rng: np.random.Generator
) -> np.ndarray:
    """Draw strings on `image` (C, H, W) in place; return the (H, W) bool text mask."""
    channels, height, width = image.shape
    covered = np.zeros((height, width), dtype=bool)
    target = coverage * height * width
    count = 0
    for _ in range(_MAX_STRINGS):
        if count >= target:
            break
        length = int(rng.integers(_LENGTHS[0], _LENGTHS[1] + 1))
        text = "".join(rng.choice(_ALPHABET, size=length))
        ink = _render(text, int(rng.integers(font_size[0], font_size[1] + 1)))
        colour = rng.random(channels, dtype=np.float64)
        top = int(rng.integers(0, height)) - ink.shape[0] // 2
        left = int(rng.integers(0, width)) - ink.shape[1] // 2
        y0, x0 = max(top, 0), max(left, 0)
        y1, x1 = min(top + ink.shape[0], height), min(left + ink.shape[1], width)
        if y1 <= y0 or x1 <= x0:
            continue
        ink = ink[y0 - top : y1 - top, x0 - left : x1 - left]
        region = covered[y0:y1, x0:x1]
        count += int((ink & ~region).sum())
        region |= ink
        image[:, y0:y1, x0:x1][:, ink] = colour[:, None]
    return covered


@register_noise("text")
class TextNoise(MaskedNoiseModel):
    """Overlay random text until at least `coverage` of each image's pixels are covered.

    Each string has a length uniform in 3..16 characters (letters, digits, spaces), a font
    size uniform in `font_size`, one colour uniform in [0, 1]^C and its centre uniform over
    the image. Pixels under text take the string's colour (later strings on top); the
    others are unchanged. Coverage overshoots the target by at most one string.

    Parameters
    ----------
    coverage : float
        Target fraction of text pixels per image; in [0, 1).
    font_size : tuple of int
        Inclusive (min, max) font size in pixels; 1 <= min <= max.
    clip : bool
        Clamp the output to [0, 1]. Off by default; text colours are already in [0, 1],
        so this only affects input values outside [0, 1].

    Raises
    ------
    ValueError
        If `coverage` is not in [0, 1), `font_size` is not two increasing positive ints or
        `clip` is not a bool.

    References
    ----------
    J. Lehtinen et al., "Noise2Noise: Learning Image Restoration without Clean Data",
    ICML 2018, arXiv:1803.04189, Sec. 3.2 (text removal).

    Examples
    --------
    >>> import torch
    >>> noise = TextNoise(coverage=0.2)
    >>> clean = torch.full((2, 3, 32, 32), 0.5)
    >>> noisy, mask = noise.sample_with_mask(clean, torch.Generator().manual_seed(0))
    >>> noisy.shape, mask.shape
    (torch.Size([2, 3, 32, 32]), torch.Size([2, 1, 32, 32]))
    >>> bool((1 - mask).mean(dim=(1, 2, 3)).min() >= 0.2)
    True
    """

    def __init__(
        self, coverage: float = 0.2, font_size: tuple[int, int] = (10, 28), clip: bool = False
    ) -> None:
        self.coverage = check_number("coverage", coverage, 0.0, 1.0, high_open=True)
        sizes = tuple(font_size) if isinstance(font_size, (tuple, list)) else ()
        if (
            len(sizes) != 2
            or not all(isinstance(s, int) and not isinstance(s, bool) for s in sizes)
            or not 1 <= sizes[0] <= sizes[1]
        ):
            raise ValueError(
                f"font_size must be (min, max) ints with 1 <= min <= max, got {font_size!r}"
            )
        self.font_size = sizes
        self.clip = check_bool("clip", clip)

    def _sample(self, clean: Tensor, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
        device = generator.device if generator is not None else torch.device("cpu")
        seed = int(torch.randint(2**62, (1,), generator=generator, device=device).item())
        rng = np.random.default_rng(seed)
        images = clean.detach().to("cpu", torch.float64).numpy().copy()
        covered = np.zeros((images.shape[0], *images.shape[2:]), dtype=bool)
        for index, image in enumerate(images):
            covered[index] = _overlay_text(image, self.coverage, self.font_size, rng)
        noisy = torch.from_numpy(images).to(clean.device, clean.dtype)
        mask = torch.from_numpy(~covered[:, None]).to(clean.device, clean.dtype)
        return noisy, mask
