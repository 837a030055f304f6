"""The rendering of ``benchmarks/zsn2n.py``'s results: the Markdown table and the charts.

JSON: ``{"benchmark": "zsn2n", "date", "machine": {"cpu", ...}, "workers", "threads",
"rows": [{"dataset", "image", "noise", "method", "psnr_db", "ssim", "seconds", ...}]}`` with
one row per (image, noise, method); methods ``noisy``, ``noise2x``, ``paper``, ``bm3d``. The
table is the README's (mean over the images of each set and noise); the charts show the
means, the seconds per image, and PSNR per image where a group has several images.
"""

from __future__ import annotations

from pathlib import Path

from noise2x.report import BarChart, with_rendering, write_result
from noise2x.report.figures import Chart
from noise2x.report.tables import mean, psnr_ssim, table_lines

TITLE = "Zero-Shot Noise2Noise: noise2x vs the paper's procedure vs BM3D"
NOISES = ("gauss25", "gauss50", "poisson50")  # the table's row order
LABELS = {"noisy": "noisy", "noise2x": "noise2x", "paper": "paper's procedure", "bm3d": "BM3D"}

Group = tuple[str, str]  # (dataset, noise)


def summarize(rows: list[dict]) -> dict[Group, dict[str, dict]]:
    """Return the mean PSNR, SSIM and seconds of each (dataset, noise) and method.

    Parameters
    ----------
    rows : list of dict
        The JSON's ``rows``.

    Returns
    -------
    dict
        (dataset, noise) -> method -> ``{"n", "psnr_db", "ssim", "seconds"}``, groups in the
        README's order: Set12 first, then by set name, then by noise level.
    """
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["dataset"], row["noise"], row["method"]), []).append(row)
    summary: dict[Group, dict[str, dict]] = {}
    for (dataset, noise, method), members in groups.items():
        summary.setdefault((dataset, noise), {})[method] = {
            "n": len(members),
            "psnr_db": mean(r["psnr_db"] for r in members),
            "ssim": mean(r["ssim"] for r in members),
            "seconds": mean(r["seconds"] for r in members),
        }
    return dict(sorted(summary.items(), key=lambda item: _order(item[0])))


def _order(group: Group) -> tuple:
    dataset, noise = group
    rank = NOISES.index(noise) if noise in NOISES else len(NOISES)
    return dataset != "Set12", dataset, rank, noise


def _cell(cells: dict[str, dict], method: str) -> str:
    stats = cells.get(method)
    if stats is None:
        return "not run"
    text = psnr_ssim(stats["psnr_db"], stats["ssim"])
    return text if method == "noisy" else f"{text} / {stats['seconds']:.1f} s"


def markdown(result: dict) -> str:
    """Return the table written to ``zsn2n.md`` (and shown in the README).

    Parameters
    ----------
    result : dict
        The parsed ``zsn2n.json``.

    Returns
    -------
    str
        A caption line, a blank line and the table; ends with a newline.
    """
    lines = [
        f"ZS-N2N benchmark, {result['date']}, {result['machine']['cpu']}, "
        f"{result['workers']} worker(s) x {result['threads']} thread(s); "
        "PSNR (dB) / SSIM / seconds per image, mean over n images.",
        "",
    ]
    body = []
    for (dataset, noise), cells in summarize(result["rows"]).items():
        n = str(cells["noisy"]["n"]) if "noisy" in cells else ""
        body.append([dataset, noise, n, *(_cell(cells, m) for m in LABELS)])
    lines += table_lines(["set", "noise", "n", *LABELS.values()], body)
    return "\n".join(lines) + "\n"


def charts(result: dict) -> list[Chart]:
    """Return the mean-PSNR and seconds bar charts, and PSNR per image for multi-image groups.

    Parameters
    ----------
    result : dict
        The parsed ``zsn2n.json``.

    Returns
    -------
    list of BarChart
    """
    summary = summarize(result["rows"])
    names = [f"{d} {noise}" for d, noise in summary]
    methods = [m for m in LABELS if any(m in cells for cells in summary.values())]

    def series(methods: list[str], key: str) -> dict[str, list[float | None]]:
        return {
            LABELS[m]: [cells[m][key] if m in cells else None for cells in summary.values()]
            for m in methods
        }

    found = [
        BarChart("psnr", "ZS-N2N: mean PSNR", names, series(methods, "psnr_db"), "PSNR (dB)"),
        BarChart(
            "seconds",
            "ZS-N2N: seconds per image",
            names,
            series([m for m in methods if m != "noisy"], "seconds"),
            "seconds per image (log scale)",
            log=True,
            value_format="{:.1f}",
        ),
    ]
    for dataset, noise in summary:
        found += _per_image(result["rows"], dataset, noise)
    return found


def _per_image(rows: list[dict], dataset: str, noise: str) -> list[Chart]:
    rows = [r for r in rows if (r["dataset"], r["noise"]) == (dataset, noise)]
    images = sorted({r["image"] for r in rows})
    if len(images) < 2:
        return []
    psnr = {(r["image"], r["method"]): r["psnr_db"] for r in rows}
    methods = [m for m in LABELS if any(r["method"] == m for r in rows)]
    return [
        BarChart(
            f"per_image_{dataset}_{noise}".lower(),
            f"ZS-N2N: PSNR per image, {dataset} {noise}",
            images,
            {LABELS[m]: [psnr.get((image, m)) for image in images] for m in methods},
            "PSNR (dB)",
            value_format="{:.1f}",
        )
    ]


def save(result: dict, out: Path) -> str:
    """Render `result` into itself; write it to `out` and the ``.md`` beside it; return that."""
    rendered = with_rendering(result, title=TITLE, markdown=markdown(result), charts=charts(result))
    return write_result(rendered, out)
