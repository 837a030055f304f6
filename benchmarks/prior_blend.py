"""Choose the prior's ``blend`` (adapted output vs prior output) on FMD validation fields.

Test-time adaptation (``noise2x denoise --adapt``) fine-tunes the shipped prior on the one
noisy image, guarded by held-out tiles. On real microscope noise the adapted net alone gains
on some fields and loses on others: its guard measures a self-supervised loss, which can fall
while the PSNR against the clean image falls too. This script measures, for each first raw
capture of FMD Confocal BPAE fields 1-16 (against their avg50; the test fields of
``benchmarks/prior.py`` and ``benchmarks/real_fmd.py`` are 17-20 and are never read here, and
no FMD image is in the prior's training), the PSNR of

    weight * adapted + (1 - weight) * prior,    weight in 0, 0.25, 0.5, 0.75, 1,

where ``prior`` is the output of the default settings (gate, self-ensemble) and ``adapted``
the output of the default adaptation alone (``method.blend=1``). Weight 0 is the prior and
weight 1 the adapted net alone. The weight with the best mean PSNR is the one to ship as
``PriorConfig.blend``.

Usage::

    python benchmarks/prior_blend.py --note "..."

Writes ``benchmarks/results/prior_blend.json`` and ``.md``; one torch thread.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

import numpy as np
from prior_settings import FMD  # benchmarks/ is on sys.path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
FIELDS = tuple(str(i) for i in range(1, 17))
"""FMD fields read here: all but the test fields 17-20."""
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
"""Weights of the adapted output tried."""


def field_row(field: str) -> dict:
    """Return the PSNR (dB) of every blend weight on the first raw capture of `field`."""
    import torch

    from noise2x.data.io import read_image
    from noise2x.methods import Prior
    from noise2x.metrics import psnr_np

    clean = read_image(FMD / "gt" / field / "avg50.png")[0]
    noisy = read_image(FMD / "raw" / field / "HV110_P0500510000.png")[0]
    x = torch.from_numpy(noisy)[None]
    prior = Prior().fit(x, device="cpu").denoised[0].numpy()
    method = Prior(adapt=True, blend=1.0)
    start = time.perf_counter()
    adapted = method.fit(x, device="cpu").denoised[0].numpy()
    seconds = time.perf_counter() - start
    row = {
        "field": field,
        "seconds": round(seconds, 1),
        "kept_prior": method.adaptation["kept_prior"],
        "best_step": method.adaptation["best_step"],
        "psnr_db": {
            str(w): round(psnr_np(np.clip(w * adapted + (1 - w) * prior, 0, 1), clean, 1.0), 3)
            for w in WEIGHTS
        },
    }
    print(row, flush=True)
    return row


def render(report: dict) -> str:
    """Render the Markdown table: mean PSNR per weight, and each field's gain over the prior."""
    rows = report["rows"]
    lines = [
        f"Blend of the adapted prior's output with the prior's on the first raw capture of FMD "
        f"fields {rows[0]['field']}-{rows[-1]['field']} (PSNR in dB against avg50), "
        f"{report['date']}, {report['machine']['cpu']}, one torch thread; adaptation "
        f"{np.mean([r['seconds'] for r in rows]):.1f} s per image on average."
        + (f" {report['note']}" if report.get("note") else ""),
        "",
        "| weight of the adapted output | mean PSNR | gain over the prior "
        "| fields better / worse |",
        "| --- | --- | --- | --- |",
    ]
    base = np.array([r["psnr_db"]["0.0"] for r in rows])
    for w in WEIGHTS:
        psnr = np.array([r["psnr_db"][str(w)] for r in rows])
        gain = psnr - base
        lines.append(
            f"| {w:g} | {psnr.mean():.3f} | {gain.mean():+.3f} | "
            f"{int((gain > 0).sum())} / {int((gain < 0).sum())} |"
        )
    lines += ["", f"Chosen: weight {report['chosen']:g} (best mean PSNR)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    from noise2x.report import write_result

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fields", nargs="+", default=list(FIELDS), choices=list(FIELDS))
    parser.add_argument("--note", default=None, help="a sentence added to the table's caption")
    parser.add_argument("--out", type=Path, default=RESULTS / "prior_blend.json")
    args = parser.parse_args()
    import torch

    from noise2x.report.machine import machine

    torch.set_num_threads(1)
    rows = [field_row(field) for field in args.fields]
    means = {w: np.mean([r["psnr_db"][str(w)] for r in rows]) for w in WEIGHTS}
    report = {
        "benchmark": "prior_blend",
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        **({"note": args.note} if args.note else {}),
        "rows": rows,
        "chosen": max(WEIGHTS, key=lambda w: means[w]),
    }
    report["markdown"] = render(report)
    write_result(report, args.out)  # JSON and .md, each atomically
    print(report["markdown"])


if __name__ == "__main__":
    main()
