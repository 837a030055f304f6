"""Noise2Noise on data sets (``benchmarks/n2n.py``): N2N vs N2C vs BM3D, and the trainings.

JSON (no ``"benchmark"`` key; recognised by ``noises``, ``training`` and ``images``):
``{"date", "machine", "steps", "precision", "noises": [...], "training": [{"noise", "mode",
"steps", "seconds", "val_psnr_db", ...}], "images": [{"noise", "set", "image", "noisy": {...},
"n2n": {...}, "n2c": {...}, "bm3d": {...}}]}``, each method ``{"psnr_db", "ssim", ...}``.
"""

from __future__ import annotations

from noise2x.report.figures import BarChart, Chart
from noise2x.report.kinds import Kind, register
from noise2x.report.tables import mean, psnr_ssim, table_lines

SETS = ("BSD68", "Set12")  # the script's order; other sets follow in order of appearance
LABELS = {
    "noisy": "noisy",
    "n2n": "N2N (noisy targets)",
    "n2c": "N2C (clean targets)",
    "bm3d": "BM3D",
}


def _groups(report: dict) -> dict[tuple[str, str], list[dict]]:
    """Per-image rows by (set, noise): noises in the JSON's order, then sets."""
    sets = list(dict.fromkeys([*SETS, *(r["set"] for r in report["images"])]))
    groups = {}
    for noise in report["noises"]:
        for dataset in sets:
            rows = [r for r in report["images"] if r["noise"] == noise and r["set"] == dataset]
            if rows:
                groups[dataset, noise] = rows
    return groups


def _mean(rows: list[dict], method: str, key: str) -> float:
    return mean(r[method][key] for r in rows)


def markdown(report: dict) -> str:
    """Return the tables ``benchmarks/n2n.py`` writes to ``n2n.md`` (and the README shows).

    Parameters
    ----------
    report : dict
        The parsed ``n2n.json``.

    Returns
    -------
    str
        A caption, the test-set table and the training table; ends with a newline.
    """
    lines = [
        f"Noise2Noise benchmark, {report['date']}, {report['machine']}; "
        f"U-Net of the paper trained on Train400 ({report['steps']} steps of 8 crops of "
        f"64x64, one thread each, {report['precision']}); PSNR (dB) / SSIM, mean over n images.",
        "",
    ]
    body = []
    for (dataset, noise), rows in _groups(report).items():
        cells = [psnr_ssim(_mean(rows, m, "psnr_db"), _mean(rows, m, "ssim")) for m in LABELS]
        gap = _mean(rows, "n2n", "psnr_db") - _mean(rows, "n2c", "psnr_db")
        body.append([dataset, noise, str(len(rows)), *cells[:3], f"{gap:+.2f} dB", cells[3]])
    header = ["set", "noise", "n", *list(LABELS.values())[:3], "N2N − N2C", "BM3D"]
    lines += table_lines(header, body)
    lines.append("")
    training = [
        [
            job["noise"],
            job["mode"],
            str(job["steps"]),
            f"{job['seconds'] / 60:.1f} min",
            f"{job['val_psnr_db']:.2f} dB",
        ]
        for job in report["training"]
    ]
    header = ["noise", "targets", "steps", "training time", "val PSNR (4 held-out Train400)"]
    lines += table_lines(header, training)
    return "\n".join(lines) + "\n"


def charts(report: dict) -> list[Chart]:
    """Return the N2N vs N2C vs BM3D bar chart of mean PSNR per test set and noise.

    Parameters
    ----------
    report : dict
        The parsed ``n2n.json``.

    Returns
    -------
    list of BarChart
    """
    groups = _groups(report)
    return [
        BarChart(
            "psnr",
            "Noise2Noise vs Noise2Clean vs BM3D: mean PSNR",
            [f"{dataset} {noise} (n={len(rows)})" for (dataset, noise), rows in groups.items()],
            {
                label: [_mean(rows, m, "psnr_db") for rows in groups.values()]
                for m, label in LABELS.items()
            },
            "PSNR (dB)",
        )
    ]


def _layout(data: dict) -> bool:
    return {"noises", "training", "images"} <= data.keys()


KIND = register(
    Kind(
        name="n2n",
        title="Noise2Noise vs Noise2Clean vs BM3D",
        markdown=markdown,
        charts=charts,
        layout=_layout,
    )
)
