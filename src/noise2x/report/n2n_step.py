"""Cost of one Noise2Noise U-Net training step (``benchmarks/n2n_step.py``): fp32 vs bf16.

JSON: ``{"benchmark": "n2n_step", "date", "machine", "torch", "native_bf16", "batch", "patch",
"rows": [{"threads", "width", "bf16", "channels_last", "ms_per_step"}]}``: ``unet_n2n`` at
widths 48 and 16, fp32 and bf16 autocast, default and channels-last layouts, 1 and 2 threads.
"""

from __future__ import annotations

from noise2x.report.figures import BarChart, Chart
from noise2x.report.kinds import Kind, register
from noise2x.report.tables import MISSING, table_lines

#: (bf16, channels_last) -> column title, in the script's order.
COLUMNS = {
    (False, False): "fp32",
    (False, True): "fp32 channels-last",
    (True, False): "bf16",
    (True, True): "bf16 + channels-last",
}


def _cells(result: dict) -> dict[tuple[int, int], dict[tuple[bool, bool], float]]:
    cells: dict[tuple[int, int], dict[tuple[bool, bool], float]] = {}
    for r in result["rows"]:
        key = (bool(r["bf16"]), bool(r["channels_last"]))
        cells.setdefault((r["threads"], r["width"]), {})[key] = r["ms_per_step"]
    threads = list(dict.fromkeys(t for t, _ in cells))
    widths = list(dict.fromkeys(w for _, w in cells))
    return {(t, w): cells[t, w] for t in threads for w in widths if (t, w) in cells}


def markdown(result: dict) -> str:
    """Return the table ``benchmarks/n2n_step.py`` writes to ``n2n_step.md``.

    Parameters
    ----------
    result : dict
        The parsed ``n2n_step.json``.

    Returns
    -------
    str
        A caption line, a blank line and one row per (threads, width); ends with a newline.
    """
    patch = result["patch"]
    lines = [
        f"U-Net (unet_n2n) training step, batch {result['batch']} x {patch}x{patch} grey, "
        f"{result['date']}, {result['machine']}, torch {result['torch']}; ms per step.",
        "",
    ]
    body = [
        [str(threads), str(width)] + [MISSING if k not in ms else f"{ms[k]:.1f}" for k in COLUMNS]
        for (threads, width), ms in _cells(result).items()
    ]
    lines += table_lines(["threads", "width", *COLUMNS.values()], body)
    return "\n".join(lines) + "\n"


def charts(result: dict) -> list[Chart]:
    """Return a bar chart of ms per step: one group per (threads, width), one bar per variant.

    Parameters
    ----------
    result : dict
        The parsed ``n2n_step.json``.

    Returns
    -------
    list of BarChart
    """
    cells = _cells(result)
    return [
        BarChart(
            "ms_per_step",
            f"U-Net training step, batch {result['batch']} x {result['patch']}²",
            [f"{t} thread(s), width {w}" for t, w in cells],
            {title: [ms.get(k) for ms in cells.values()] for k, title in COLUMNS.items()},
            "ms per step",
            value_format="{:.0f}",
        )
    ]


KIND = register(
    Kind(
        name="n2n_step",
        title="Noise2Noise U-Net: cost of one training step",
        markdown=markdown,
        charts=charts,
    )
)
