"""Cost of one ZS-N2N training step (``benchmarks/zsn2n_step.py``), per implementation choice.

JSON: ``{"benchmark": "zsn2n_step", "date", "torch", "native_bf16", "size", "steps",
"rows": [{"threads", "compiled", "channels_last", "bf16", "ms_per_step", "warmup_seconds"}]}``.
The script's table lists every row; the README condenses it to one row per thread count and
the five variants it discusses, the fastest in bold.
"""

from __future__ import annotations

from noise2x.report.figures import BarChart, Chart
from noise2x.report.kinds import Kind, register
from noise2x.report.tables import MISSING, table_lines

#: The README's columns: (compiled, channels_last, bf16) -> title.
README_COLUMNS = {
    (False, False, False): "fp32 (the paper's code)",
    (False, True, False): "fp32 channels-last",
    (False, False, True): "bf16 autocast",
    (False, True, True): "bf16 + channels-last",
    (True, False, False): "fp32 + `torch.compile`",
}


def _variant(row: dict) -> tuple[bool, bool, bool]:
    return bool(row["compiled"]), bool(row["channels_last"]), bool(row["bf16"])


def markdown(result: dict) -> str:
    """Return the table ``benchmarks/zsn2n_step.py`` writes to ``zsn2n_step.md``.

    Parameters
    ----------
    result : dict
        The parsed ``zsn2n_step.json``.

    Returns
    -------
    str
        A caption line, a blank line and one table row per measurement; ends with a newline.
    """
    size = result["size"]
    lines = [
        f"ZS-N2N step on {size}x{size}, {result['date']}, torch {result['torch']}"
        f", native bf16: {result['native_bf16']}",
        "",
    ]
    header = ["threads", "torch.compile", "channels_last", "bf16 autocast", "ms / step"]
    body = [
        [
            f"{r['threads']}",
            f"{r['compiled']}",
            f"{r['channels_last']}",
            f"{r['bf16']}",
            f"{r['ms_per_step']:.1f}",
            f"{r['warmup_seconds']:.1f}",
        ]
        for r in result["rows"]
    ]
    lines += table_lines([*header, "warm-up s"], body)
    return "\n".join(lines) + "\n"


def readme(result: dict) -> str:
    """Return the README's condensed table: ms per step by thread count and variant.

    The fastest of the row's shown variants is in bold; a variant that was not measured
    (``--no-compile``) is ``–``.

    Parameters
    ----------
    result : dict
        The parsed ``zsn2n_step.json``.

    Returns
    -------
    str
        The table; ends with a newline.
    """
    body = []
    for threads in _threads(result["rows"]):
        ms = {_variant(r): r["ms_per_step"] for r in result["rows"] if r["threads"] == threads}
        shown = [ms.get(variant) for variant in README_COLUMNS]
        best = min((v for v in shown if v is not None), default=None)
        cells = [
            MISSING if v is None else (f"**{v:.1f} ms**" if v == best else f"{v:.1f} ms")
            for v in shown
        ]
        body.append([str(threads), *cells])
    return "\n".join(table_lines(["threads", *README_COLUMNS.values()], body)) + "\n"


def _threads(rows: list[dict]) -> list[int]:
    return list(dict.fromkeys(r["threads"] for r in rows))


def _label(variant: tuple[bool, bool, bool]) -> str:
    compiled, channels_last, bf16 = variant
    text = ("bf16" if bf16 else "fp32") + (" CL" if channels_last else "")
    return text + (" compile" if compiled else "")


def charts(result: dict) -> list[Chart]:
    """Return a bar chart of ms per step for every variant, one bar per thread count.

    Parameters
    ----------
    result : dict
        The parsed ``zsn2n_step.json``.

    Returns
    -------
    list of BarChart
    """
    variants = list(dict.fromkeys(_variant(r) for r in result["rows"]))
    series = {}
    for threads in _threads(result["rows"]):
        ms = {_variant(r): r["ms_per_step"] for r in result["rows"] if r["threads"] == threads}
        series[f"{threads} thread(s)"] = [ms.get(v) for v in variants]
    size = result["size"]
    return [
        BarChart(
            "ms_per_step",
            f"ZS-N2N: one training step on {size}x{size} (CL = channels-last)",
            [_label(v) for v in variants],
            series,
            "ms per step",
            value_format="{:.0f}",
        )
    ]


KIND = register(
    Kind(
        name="zsn2n_step",
        title="Zero-Shot Noise2Noise: cost of one training step",
        markdown=markdown,
        charts=charts,
        readme=readme,
    )
)
