"""The rendering of ``benchmarks/real_fmd.py``'s results: the Markdown table and the chart.

JSON: ``{"benchmark": "real_fmd", "date", "machine": {"cpu", "cores", ...}, "cpu_shared",
"load_start", "workers", "config": {"train_fields", "val_fields", "test_fields", "capture",
"batch_size", "patch_size", "precision", "train_threads", "quick", ...}, "training": {"steps",
"seconds", "seconds_per_step", "val_psnr_db_last", "best_step", ...}, "rows": [{"field",
"method", "psnr_db", "ssim", "seconds", ...}]}``; methods ``raw``, ``n2n``, ``n2n_best``,
``zsn2n`` (with ``steps``), ``bm3d`` (with ``sigma_estimated_255``), ``avg``. The script's own
figure (crops of denoised images) needs the data; the report draws PSNR per test field.
"""

from __future__ import annotations

from pathlib import Path

from noise2x.report import BarChart, with_rendering, write_result
from noise2x.report.figures import Chart
from noise2x.report.tables import mean, psnr_ssim, table_lines

TITLE = "Real noise (FMD confocal): N2N on capture pairs vs ZS-N2N vs BM3D"
METHODS = ("raw", "n2n", "zsn2n", "bm3d", "avg")  # table order; "n2n_best" in the text only
LABELS = {
    "raw": "raw capture",
    "n2n": "N2N (trained on real pairs)",
    "n2n_best": "N2N (best.ckpt by val)",
    "zsn2n": "ZS-N2N",
    "bm3d": "BM3D (σ estimated)",
    "avg": "mean of 10 captures",
    "avg50": "avg50 (ground truth)",  # the script's figure
}


def method_rows(report: dict, method: str, field: str | None = None) -> list[dict]:
    """Return the rows of `method` (and of one test `field`, if given)."""
    return [
        r
        for r in report["rows"]
        if r["method"] == method and (field is None or r["field"] == field)
    ]


def _cell(rows: list[dict]) -> str:
    if not rows:
        return "not run"
    return psnr_ssim(mean(r["psnr_db"] for r in rows), mean(r["ssim"] for r in rows))


def _fields(report: dict) -> list[str]:
    return [
        f for f in report["config"]["test_fields"] if any(r["field"] == f for r in report["rows"])
    ]


def _caption(report: dict, fields: list[str]) -> str:
    t, c = report["training"], report["config"]
    shared = (
        f" The CPU was shared with other work (load average {report['load_start']:.1f} at the "
        "start): seconds are inflated, PSNR/SSIM are not affected."
        if report["cpu_shared"]
        else ""
    )
    quick = " **Smoke test (--quick): not a result.**" if c["quick"] else ""
    return (
        f"Real-noise benchmark (FMD Confocal BPAE_B), {report['date']}, "
        f"{report['machine']['cpu']}, {report['machine']['cores']} cores.{quick} N2N: the "
        f"paper's U-Net trained on real capture pairs of fields "
        f"{c['train_fields'][0]}–{c['train_fields'][-1]} (validation "
        f"{c['val_fields'][0]}–{c['val_fields'][-1]}), {t['steps']} steps of "
        f"{c['batch_size']} crops of {c['patch_size']}×{c['patch_size']}, {c['precision']}, "
        f"{c['train_threads']} thread(s), {t['seconds'] / 60:.1f} min; last checkpoint. "
        f"Test: the first capture ({c['capture']}) of fields {', '.join(fields)}, against "
        f"avg50; PSNR (dB) / SSIM on the [0, 1] scale (8-bit / 255), data range 1.0, results "
        f"clipped to [0, 1]; seconds per 512×512 image, {report['workers']} worker(s) × 1 "
        f"thread.{shared}"
    )


def _seconds(rows: list[dict], method: str) -> str:
    if method == "raw" or not rows:
        return "–"
    text = f"{mean(r['seconds'] for r in rows):.1f}"
    return f"{text} ({rows[0]['steps']} steps)" if method == "zsn2n" else text


def markdown(report: dict) -> str:
    """Return the tables and notes written to ``real_fmd.md``.

    Parameters
    ----------
    report : dict
        The parsed ``real_fmd.json``.

    Returns
    -------
    str
        A caption, the table (mean and each test field per method), BM3D's estimated σ and the
        training summary; ends with a newline.
    """
    t, c = report["training"], report["config"]
    fields = _fields(report)
    header = [
        "method",
        f"mean ({len(fields)} field{'s' if len(fields) > 1 else ''})",
        *(f"field {f}" for f in fields),
        "seconds / image",
    ]
    body = [
        [
            LABELS[m],
            _cell(method_rows(report, m)),
            *(_cell(method_rows(report, m, f)) for f in fields),
            _seconds(method_rows(report, m), m),
        ]
        for m in METHODS
    ]
    bm3d = sorted(method_rows(report, "bm3d"), key=lambda r: int(r["field"]))
    best = method_rows(report, "n2n_best")
    lines = [_caption(report, fields), "", *table_lines(header, body), ""]
    lines += [
        "BM3D's σ estimated per image (0–255 scale): "
        + ", ".join(f"field {r['field']}: {r['sigma_estimated_255']:.2f}" for r in bm3d)
        + ". The mean of 10 captures uses 10 of the 50 captures that make avg50 "
        "(optimistic reference point, not a single-image method).",
        "",
        f"Training: {t['steps']} steps in {t['seconds'] / 60:.1f} min "
        f"({t['seconds_per_step']:.3f} s/step incl. validation); noisy-target validation PSNR "
        f"(fields {c['val_fields'][0]}–{c['val_fields'][-1]}) at the end "
        f"{t['val_psnr_db_last']:.2f} dB; best.ckpt at step {t['best_step']}"
        + (f" scores {_cell(best)} on the test fields." if best else "."),
    ]
    return "\n".join(lines) + "\n"


def charts(report: dict) -> list[Chart]:
    """Return a bar chart of PSNR per test field (and the mean), one bar per method.

    Parameters
    ----------
    report : dict
        The parsed ``real_fmd.json``.

    Returns
    -------
    list of BarChart
    """
    fields = _fields(report)

    def psnr(method: str, field: str | None) -> float | None:
        rows = method_rows(report, method, field)
        return mean(r["psnr_db"] for r in rows) if rows else None

    methods = [m for m in (*METHODS, "n2n_best") if method_rows(report, m)]
    return [
        BarChart(
            "psnr",
            "FMD Confocal BPAE_B: PSNR against avg50 (first capture of each test field)",
            [f"field {f}" for f in fields] + ["mean"],
            {LABELS[m]: [*(psnr(m, f) for f in fields), psnr(m, None)] for m in methods},
            "PSNR (dB)",
            value_format="{:.1f}",
        )
    ]


def save(report: dict, out: Path) -> str:
    """Render `report` into itself; write it to `out` and the ``.md`` beside it; return that."""
    rendered = with_rendering(report, title=TITLE, markdown=markdown(report), charts=charts(report))
    return write_result(rendered, out)
