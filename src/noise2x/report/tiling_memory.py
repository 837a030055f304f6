"""Peak memory of tiled inference (``benchmarks/tiling_memory.py``), one process per input.

JSON (no ``"benchmark"`` key; recognised by ``cases`` with ``peak_rss_mb``): ``{"date",
"machine", "torch", "cpu_shared", "cases": [{"case", "tile", "peak_rss_mb", "seconds",
"dtype_shape_voxel_kept", ...}]}``. The README shows the table without the tile setting in the
input's name, and without times when other jobs shared the CPU (``cpu_shared``).
"""

from __future__ import annotations

import re

from noise2x.report.figures import BarChart, Chart
from noise2x.report.kinds import Kind, register
from noise2x.report.tables import table_lines

_TILE_SUFFIX = re.compile(r", (auto tile|--tile \d+)$")


def _kept(row: dict) -> str:
    return "yes" if row["dtype_shape_voxel_kept"] else "**no**"


def _gb(row: dict) -> str:
    return f"{row['peak_rss_mb'] / 1024:.2f} GB"


def markdown(report: dict) -> str:
    """Return the table ``benchmarks/tiling_memory.py`` writes to ``tiling_memory.md``.

    Parameters
    ----------
    report : dict
        The parsed ``tiling_memory.json``.

    Returns
    -------
    str
        A caption, the table and, on a shared CPU, a note; ends with a newline.
    """
    lines = [
        f"Tiled inference, {report['date']}, {report['machine']}, torch {report['torch']}: "
        "`noise2x denoise --checkpoint` with the paper's U-Net (width 48), one fresh process per "
        "row; peak resident memory of that process (ru_maxrss).",
        "",
    ]
    shared = report.get("cpu_shared", False)
    body = [
        [
            row["case"],
            row["tile"],
            _gb(row),
            "(not quoted)" if shared else f"{row['seconds']:.0f} s",
            _kept(row),
        ]
        for row in report["cases"]
    ]
    lines += table_lines(
        ["input", "tile", "peak memory", "time", "dtype, shape, voxel size kept"], body
    )
    if shared:
        lines += ["", "Other jobs shared the CPU during this run: times are not quoted."]
    return "\n".join(lines) + "\n"


def readme(report: dict) -> str:
    """Return the README's table: the input without its tile setting; times only on an idle CPU.

    Parameters
    ----------
    report : dict
        The parsed ``tiling_memory.json``.

    Returns
    -------
    str
        The table; ends with a newline.
    """
    shared = report.get("cpu_shared", False)
    body = []
    for row in report["cases"]:
        time = [] if shared else [f"{row['seconds']:.0f} s"]
        body.append([_TILE_SUFFIX.sub("", row["case"]), row["tile"], _gb(row), *time, _kept(row)])
    header = ["input", "tile", "peak memory", *([] if shared else ["time"])]
    return "\n".join(table_lines([*header, "dtype, shape, voxel size kept"], body)) + "\n"


def charts(report: dict) -> list[Chart]:
    """Return a horizontal bar chart of the peak memory of each input.

    Parameters
    ----------
    report : dict
        The parsed ``tiling_memory.json``.

    Returns
    -------
    list of BarChart
    """
    return [
        BarChart(
            "peak_memory",
            "noise2x denoise --checkpoint: peak resident memory per input",
            [row["case"] for row in report["cases"]],
            {"peak memory": [row["peak_rss_mb"] / 1024 for row in report["cases"]]},
            "peak resident memory (GB)",
            horizontal=True,
        )
    ]


def _layout(data: dict) -> bool:
    cases = data.get("cases")
    return (
        isinstance(cases, list)
        and bool(cases)
        and all(isinstance(c, dict) and "peak_rss_mb" in c for c in cases)
    )


KIND = register(
    Kind(
        name="tiling_memory",
        title="Tiled inference: peak memory",
        markdown=markdown,
        charts=charts,
        readme=readme,
        layout=_layout,
    )
)
