"""The rendering of ``benchmarks/finetune_prob4.py``'s results: the Markdown tables and charts.

JSON: ``{"benchmark": "finetune_prob4", "date", "machine", "size", "pretrained": {"source",
...}, "rows": {model: {"psnr_db_a", "ssim_a", "psnr_db_b", "ssim_b", "mean_shift", "seconds",
"note"}}, "naive_curve": [{"epoch", "psnr_db_a", "mean_shift"}], "finetune" and "unsafe":
{"holdout_history": [[step, loss]], "best_step", "kept_pretrained", ...}}``. The charts are the
PSNR of each model, the naive recipe's PSNR per epoch and the held-out loss per step of both
guarded runs.
"""

from __future__ import annotations

from pathlib import Path

from noise2x.report import BarChart, LineChart, with_rendering, write_result
from noise2x.report.figures import Chart
from noise2x.report.tables import psnr_ssim, table_lines

TITLE = "Symmetric fine-tuning on Prob4: pretrained vs guarded vs naive"
GUARDED = ("finetune", "unsafe")  # the runs with a held-out loss history


def _models(report: dict) -> list[list[str]]:
    body = []
    for name, row in report["rows"].items():
        seconds = "" if row["seconds"] is None else f"{row['seconds']:.0f}"
        body.append(
            [
                name,
                psnr_ssim(row["psnr_db_a"], row["ssim_a"]),
                psnr_ssim(row["psnr_db_b"], row["ssim_b"]),
                f"{row['mean_shift']:+.4f}",
                seconds,
                row["note"],
            ]
        )
    return body


def markdown(report: dict) -> str:
    """Return the tables written to ``finetune_prob4.md``.

    Parameters
    ----------
    report : dict
        The parsed ``finetune_prob4.json``.

    Returns
    -------
    str
        A caption, the table of models, the naive recipe's PSNR per epoch and the held-out
        loss histories; ends with a newline.
    """
    pre = report["pretrained"]
    lines = [
        f"Symmetric fine-tuning on Prob4.png, {report['date']}, {report['machine']}; "
        f"{report['size']} grey, Gaussian std 0.1 (sigma 25.5), seeds 1 and 2; pretrained "
        f"U-Net: {pre['source']}. PSNR (dB) / SSIM against the clean image, outputs clipped "
        "to [0, 1]; mean shift = mean(denoised y1) - mean(clean).",
        "",
    ]
    header = ["model", "y1: PSNR / SSIM", "y2: PSNR / SSIM", "mean shift", "seconds", "note"]
    lines += table_lines(header, _models(report))
    naive = report["naive_curve"]
    lines += ["", "Naive recipe, PSNR of f(y1) after each epoch (dB):", ""]
    lines += table_lines(
        ["epoch", *(str(p["epoch"]) for p in naive)],
        [
            ["PSNR", *(f"{p['psnr_db_a']:.2f}" for p in naive)],
            ["shift", *(f"{p['mean_shift']:+.3f}" for p in naive)],
        ],
    )
    for key in GUARDED:
        record = report[key]
        history = ", ".join(f"{s}: {h:.6f}" for s, h in record["holdout_history"])
        lines += [
            "",
            f"Held-out loss ({key}; step: loss): {history}. Best step {record['best_step']}, "
            f"pretrained weights kept: {record['kept_pretrained']}.",
        ]
    return "\n".join(lines) + "\n"


def charts(report: dict) -> list[Chart]:
    """Return the PSNR per model, the naive recipe's curve and the held-out loss curves.

    Parameters
    ----------
    report : dict
        The parsed ``finetune_prob4.json``.

    Returns
    -------
    list of BarChart or LineChart
    """
    rows = report["rows"]
    naive = report["naive_curve"]
    return [
        BarChart(
            "psnr",
            "Fine-tuning on Prob4: PSNR of each model",
            list(rows),
            {
                "y1": [row["psnr_db_a"] for row in rows.values()],
                "y2": [row["psnr_db_b"] for row in rows.values()],
            },
            "PSNR (dB)",
        ),
        LineChart(
            "naive_curve",
            "Naive recipe: PSNR of f(y1) after each epoch",
            {"naive recipe": ([p["epoch"] for p in naive], [p["psnr_db_a"] for p in naive])},
            xlabel="epoch",
            ylabel="PSNR (dB)",
        ),
        LineChart(
            "holdout_loss",
            "Guarded fine-tuning: held-out loss per step",
            {
                key: (
                    [s for s, _ in report[key]["holdout_history"]],
                    [h for _, h in report[key]["holdout_history"]],
                )
                for key in GUARDED
            },
            xlabel="step",
            ylabel="held-out loss",
            log=True,
        ),
    ]


def save(report: dict, out: Path) -> str:
    """Render `report` into itself; write it to `out` and the ``.md`` beside it; return that."""
    report = {"benchmark": "finetune_prob4", **report}
    rendered = with_rendering(report, title=TITLE, markdown=markdown(report), charts=charts(report))
    return write_result(rendered, out)
