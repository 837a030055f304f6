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
weight 1 the adapted net alone. ``--steps`` sets the adaptation's length (``method.steps``;
several values are run one after the other); the (steps, weight) with the best mean PSNR is
the one to ship as ``PriorConfig.steps`` and ``PriorConfig.blend``.

Usage::

    python benchmarks/prior_blend.py --note "..."                # the default steps
    python benchmarks/prior_blend.py --steps 200 --add            # keep the stored rows too

Writes ``benchmarks/results/prior_blend.json`` and ``.md``; one torch thread.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import time
from pathlib import Path

import numpy as np
from prior_settings import adapt_rows  # benchmarks/ is on sys.path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
FIELDS = tuple(str(i) for i in range(1, 17))
"""FMD fields read here: all but the test fields 17-20."""
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
"""Weights of the adapted output tried."""


def capture_rows(
    field: str, capture: int, noisy: np.ndarray, clean: np.ndarray, steps: list[int]
) -> list[dict]:
    """Return the PSNR (dB) of every blend weight on one raw capture, a row per adaptation length.

    `noisy` and `clean` are (1, H, W) float32 in [0, 1] (``prior_settings.adapt_rows``); the
    prior's output is computed once and blended with each length's adapted output.
    """
    import torch

    from noise2x.methods import Prior
    from noise2x.metrics import psnr_np

    x = torch.from_numpy(noisy)[None]
    prior = Prior().fit(x, device="cpu").denoised[0].numpy()
    rows = []
    for n in steps:
        method = Prior(adapt=True, blend=1.0, steps=n)
        start = time.perf_counter()
        adapted = method.fit(x, device="cpu").denoised[0].numpy()
        seconds = time.perf_counter() - start
        blends = {w: np.clip(w * adapted + (1 - w) * prior, 0, 1) for w in WEIGHTS}
        rows.append(
            {
                "field": field,
                "steps": n,
                "seconds": round(seconds, 1),
                "kept_prior": method.adaptation["kept_prior"],
                "best_step": method.adaptation["best_step"],
                "psnr_db": {str(w): round(psnr_np(b, clean, 1.0), 3) for w, b in blends.items()},
            }
        )
        print(rows[-1], flush=True)
    return rows


def means(rows: list[dict]) -> dict[tuple[int, float], float]:
    """Return the mean PSNR (dB) over the fields of every (steps, weight) in `rows`."""
    return {
        (steps, w): float(np.mean([r["psnr_db"][str(w)] for r in rows if r["steps"] == steps]))
        for steps in sorted({r["steps"] for r in rows})
        for w in WEIGHTS
    }


def render(report: dict) -> str:
    """Render the Markdown table: mean PSNR per (steps, weight) and the gain over the prior."""
    rows = report["rows"]
    fields = sorted({r["field"] for r in rows}, key=int)
    lines = [
        f"Blend of the adapted prior's output with the prior's on the first raw capture of FMD "
        f"fields {fields[0]}-{fields[-1]} (PSNR in dB against avg50, mean), "
        f"{report['date']}, {report['machine']['cpu']}, one torch thread."
        + (f" {report['note']}" if report.get("note") else ""),
        "",
        "| steps | weight of the adapted output | mean PSNR | gain over the prior "
        "| fields better / worse | s adapt |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for steps in sorted({r["steps"] for r in rows}):
        sel = [r for r in rows if r["steps"] == steps]
        base = np.array([r["psnr_db"]["0.0"] for r in sel])
        seconds = np.mean([r["seconds"] for r in sel])
        for w in WEIGHTS[1:]:
            psnr = np.array([r["psnr_db"][str(w)] for r in sel])
            gain = psnr - base
            lines.append(
                f"| {steps} | {w:g} | {psnr.mean():.3f} | {gain.mean():+.3f} | "
                f"{int((gain > 0).sum())} / {int((gain < 0).sum())} | {seconds:.1f} |"
            )
    lines.insert(4, f"| – | 0 (the prior) | {base.mean():.3f} | – | – | – |")
    steps, weight = report["chosen"]
    lines += ["", f"Chosen: {steps} steps, weight {weight:g} (best mean PSNR)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    from noise2x.report import write_result

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fields", nargs="+", default=list(FIELDS), choices=list(FIELDS))
    parser.add_argument("--steps", nargs="+", type=int, default=None, help="adaptation steps")
    parser.add_argument("--add", action="store_true", help="keep the stored rows of other steps")
    parser.add_argument("--note", default=None, help="a sentence added to the table's caption")
    parser.add_argument("--out", type=Path, default=RESULTS / "prior_blend.json")
    args = parser.parse_args()
    import torch

    from noise2x.report.machine import machine

    torch.set_num_threads(1)
    from noise2x.methods import PriorConfig

    steps = args.steps or [PriorConfig().steps]
    rows = []
    if args.add:
        if not args.out.is_file():
            parser.error(f"--add keeps the rows of {args.out}, which does not exist")
        stored = json.loads(args.out.read_text())
        rows = [r for r in stored["rows"] if r["steps"] not in steps]
        args.note = " ".join(filter(None, [stored.get("note"), args.note])) or None
    per_capture = functools.partial(capture_rows, steps=steps)
    rows += adapt_rows(1, per_capture, tuple(args.fields))
    mean = means(rows)
    report = {
        "benchmark": "prior_blend",
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        **({"note": args.note} if args.note else {}),
        "rows": rows,
        "chosen": list(max(mean, key=mean.get)),
    }
    report["markdown"] = render(report)
    write_result(report, args.out)  # JSON and .md, each atomically
    print(report["markdown"])


if __name__ == "__main__":
    main()
