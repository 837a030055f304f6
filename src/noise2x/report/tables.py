"""Markdown pieces for the benchmark scripts' renderers: table lines, means and PSNR / SSIM cells.

The scripts in ``benchmarks/`` render their results with these pieces (the same table rule,
the same means, the same number formats), so every benchmark's Markdown looks alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

#: A cell with no number (a method that was not run, a step that was not measured).
MISSING = "–"


def table_lines(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """Return a GitHub Markdown table as a list of lines.

    Each line is ``| a | b |``; the second line is the rule ``| --- | --- |``. Cells are
    written as they are (no padding), which keeps the source diff-friendly.

    Parameters
    ----------
    header : sequence of str
        Column titles.
    rows : iterable of sequence of str
        Cells of each body row; each row has as many cells as `header`.

    Returns
    -------
    list of str
        The header, the rule and one line per row, without newlines.

    Raises
    ------
    ValueError
        If a row has a different number of cells than the header; the message quotes it.

    Examples
    --------
    >>> table_lines(["set", "PSNR"], [["Set12", "29.94"]])
    ['| set | PSNR |', '| --- | --- |', '| Set12 | 29.94 |']
    """
    lines = [_line(header), _line(["---"] * len(header))]
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"table row {list(row)} has {len(row)} cells; expected {len(header)}")
        lines.append(_line(row))
    return lines


def _line(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def mean(values: Iterable[float]) -> float:
    """Return the mean of `values` as the benchmark scripts compute it (``numpy.mean``).

    Using the same summation as the scripts keeps the last printed digit identical.

    Parameters
    ----------
    values : iterable of float
        At least one number.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If `values` is empty.

    Examples
    --------
    >>> mean([27.5, 27.25])
    27.375
    """
    values = list(values)
    if not values:
        raise ValueError("mean of no values")
    return float(np.mean(values))


def psnr_ssim(psnr_db: float, ssim: float) -> str:
    """Format a PSNR / SSIM cell as the README does: ``28.93 / 0.820``.

    Parameters
    ----------
    psnr_db : float
        PSNR in dB, printed with 2 decimals.
    ssim : float
        SSIM, printed with 3 decimals.

    Returns
    -------
    str

    Examples
    --------
    >>> psnr_ssim(28.9312, 0.82049)
    '28.93 / 0.820'
    """
    return f"{psnr_db:.2f} / {ssim:.3f}"
