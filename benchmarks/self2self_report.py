"""The rendering of ``benchmarks/self2self.py``'s results: the Markdown tables and the charts.

JSON: ``{"benchmark": "self2self", "date", "machine": {"cpu", ...}, "workers", "threads",
"torch", "subset", "rows": [{"image", "noise", "method", "psnr_db", "ssim", "seconds",
"steps"?, "passes"?, "psnr_history"?}]}``, methods ``noisy``, ``self2self`` (the library's
default schedule), ``zsn2n``, ``bm3d`` and, when run, ``paper`` (the paper's schedule, possibly
stopped early, with its PSNR along training).
"""

from __future__ import annotations

from pathlib import Path

from noise2x.report import BarChart, LineChart, with_rendering, write_result
from noise2x.report.figures import Chart
from noise2x.report.tables import mean, psnr_ssim, table_lines

TITLE = "Self2Self: default schedule vs ZS-N2N vs BM3D"
NOISES = ("gauss25", "gauss50")  # table row order
COLUMNS = ("self2self", "zsn2n", "bm3d", "paper")
LABELS = {
    "noisy": "noisy",
    "self2self": "Self2Self (noise2x default)",
    "zsn2n": "ZS-N2N",
    "bm3d": "BM3D",
    "paper": "Self2Self, paper's schedule",
}


def summarize(rows: list[dict]) -> dict[tuple[str, str], dict]:
    """Return ``{(noise, method): {"n", "psnr_db", "ssim", "seconds"}}``, means over images."""
    grouped: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        grouped.setdefault((row["noise"], row["method"]), []).append(row)
    return {
        key: {
            "n": len(members),
            "psnr_db": mean(r["psnr_db"] for r in members),
            "ssim": mean(r["ssim"] for r in members),
            "seconds": mean(r["seconds"] for r in members),
        }
        for key, members in grouped.items()
    }


def _cell(stats: dict | None, seconds: bool = True) -> str:
    if stats is None:
        return "not run"
    text = psnr_ssim(stats["psnr_db"], stats["ssim"])
    return text + (f" / {stats['seconds']:.1f} s" if seconds else "")


def markdown(result: dict) -> str:
    """Return the text written to ``self2self.md``.

    Parameters
    ----------
    result : dict
        The parsed ``self2self.json``.

    Returns
    -------
    str
        Caption, one row per noise level (PSNR / SSIM / seconds per image of each method), and
        the paper-schedule PSNR along training when the JSON has it; ends with a newline.
    """
    summary = summarize(result["rows"])
    s2s = next((r for r in result["rows"] if r["method"] == "self2self"), {})
    lines = [
        f"Self2Self benchmark, {result['date']}, {result['machine']['cpu']}, "
        f"{result['workers']} worker(s) x {result['threads']} thread(s), torch "
        f"{result['torch']}; Self2Self default: {s2s.get('steps', '?')} steps, "
        f"{s2s.get('passes', '?')} passes; PSNR (dB) / SSIM / seconds per image, mean over n "
        f"images ({result['subset']} subset).",
        "",
    ]
    body = []
    for noise in NOISES:
        if (noise, "noisy") not in summary:
            continue
        body.append(
            [
                noise,
                str(summary[(noise, "noisy")]["n"]),
                _cell(summary.get((noise, "noisy")), seconds=False),
                *(_cell(summary.get((noise, m))) for m in COLUMNS),
            ]
        )
    lines += table_lines(["noise", "n", *(LABELS[m] for m in ("noisy", *COLUMNS))], body)
    paper_rows = [r for r in result["rows"] if r["method"] == "paper"]
    if paper_rows:
        steps = [str(s) for s, _ in paper_rows[0]["psnr_history"]]
        lines += [
            "",
            "Self2Self with the paper's schedule, PSNR (dB) of the ensemble along training:",
            "",
            *table_lines(
                ["image", "noise", *steps],
                [
                    [r["image"], r["noise"], *(f"{p:.2f}" for _, p in r["psnr_history"])]
                    for r in paper_rows
                ],
            ),
        ]
    return "\n".join(lines) + "\n"


def charts(result: dict) -> list[Chart]:
    """Return mean PSNR per method and noise (bars), and PSNR along training (lines).

    Parameters
    ----------
    result : dict
        The parsed ``self2self.json``.

    Returns
    -------
    list of BarChart and LineChart
    """
    summary = summarize(result["rows"])
    noises = [n for n in NOISES if (n, "noisy") in summary]
    methods = [m for m in ("noisy", *COLUMNS) if any((n, m) in summary for n in noises)]
    found: list[Chart] = [
        BarChart(
            "psnr",
            "Self2Self vs ZS-N2N vs BM3D: mean PSNR",
            noises,
            {
                LABELS[m]: [
                    summary[(n, m)]["psnr_db"] if (n, m) in summary else None for n in noises
                ]
                for m in methods
            },
            "PSNR (dB)",
        )
    ]
    curves = {
        f"{r['method']} {r['image']} {r['noise']}": (
            [s for s, _ in r["psnr_history"]],
            [p for _, p in r["psnr_history"]],
        )
        for r in result["rows"]
        if r.get("psnr_history")
    }
    if curves:
        found.append(
            LineChart("curves", "Self2Self PSNR along training", curves, "step", "PSNR (dB)")
        )
    return found


def save(result: dict, out: Path) -> str:
    """Render `result` into itself; write it to `out` and the ``.md`` beside it; return that."""
    rendered = with_rendering(result, title=TITLE, markdown=markdown(result), charts=charts(result))
    return write_result(rendered, out)
