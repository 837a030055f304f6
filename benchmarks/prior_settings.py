"""Choose the prior's inference settings on validation data only (never on a test set).

1. **Self-ensemble size and inference precision** (``method.ensemble`` 1, 2, 4, 8, each in
   float32 and under bfloat16 autocast, ``method.inference_precision``): PSNR of the prior's
   output for each held-out noisy pair's first view against its *second noisy view* (the
   noisy-target PSNR of training's validation: it ranks denoisers as a clean PSNR would, in
   expectation), over the held-out pairs that ``benchmarks/train_prior.py`` never trained on
   (its last 4 Train400 / CBSD432 images, all kinds of noise); the PSNR against the clean
   image on the validation images of ``benchmarks/prior_validation.py`` (scikit-image
   samples, in no test set) at Gaussian sigma 15, 25 and 50 (the noisy inputs of
   ``prior_gate.py``); and seconds per 481x321 image (one torch thread), beside BM3D's
   seconds on the same image size. ``--ensemble-only`` reruns this part and keeps the other
   rows.
2. **Adaptation steps** (``method.steps`` 0, 50, 100, 200 with ``method.adapt=true``): PSNR
   against avg50 on the first ``--captures`` raw captures (1 by default) of FMD fields 15 and
   16, the validation fields of ``benchmarks/real_fmd.py`` (its test fields 17-20 are not used
   here). ``--adapt-only`` reruns this part and keeps the stored ensemble rows.
3. **Self-ensemble after adaptation** (``method.ensemble`` 1, 2, 4, 8 with the default
   adaptation): the same FMD validation captures, each adapted once and the adapted net
   applied with each ensemble size (adaptation dominates the time, so the budget of part 1
   does not bind here). ``--adapt-ensemble-only`` reruns this part and keeps the other rows.

Usage::

    python benchmarks/prior_settings.py --work runs/prior     # the pairs of train_prior.py

Writes ``benchmarks/results/prior_settings.json`` and ``prior_settings.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("NOISE2X_DATA", HERE.parent.parent / "shared" / "data"))
FMD = DATA / "real" / "FMD_Confocal_BPAE_B"
RESULTS = HERE / "results"
VAL_IMAGES = 4  # as train_prior.py's --val-images
FMD_FIELDS = ("15", "16")
"""The FMD validation fields (``benchmarks/real_fmd.py`` tests on 17-20)."""
CLEAN_SIGMAS = (15, 25, 50)
"""Gaussian sigma (0-255) of the clean-reference validation of the ensemble size."""
PRECISIONS = ("fp32", "bf16")
"""Inference precisions of part 1 (``method.inference_precision``; bf16: bfloat16 autocast)."""


def held_out_pairs(work: Path, model: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return the validation pairs of train_prior.py: the last VAL_IMAGES images, every kind."""
    import train_prior  # benchmarks/train_prior.py: the script's folder is on sys.path

    from noise2x.data.io import read_image
    from noise2x.data.pairs import match_folders

    kinds = train_prior.MODELS[model]["kinds"]
    root = work / "pairs" / model
    pairs = match_folders(root / "a", root / "b")[-VAL_IMAGES * len(kinds) :]
    return [(read_image(a)[0], read_image(b)[0]) for a, b in pairs]


def ensemble_rows(work: Path) -> list[dict]:
    """Noisy-target PSNR and seconds for each ensemble size, grey and colour."""
    from prior_gate import add_noise
    from prior_validation import images

    import noise2x
    from noise2x.metrics import psnr_np

    rows = []
    for model in ("grey", "colour"):
        pairs = held_out_pairs(work, model)
        crops = [c[None] if c.ndim == 2 else c for c in images(model).values()]
        for precision, n in itertools.product(PRECISIONS, (1, 2, 4, 8)):
            settings = dict(ensemble=n, inference_precision=precision)
            scores = []
            for a, b in pairs:
                out = noise2x.denoise(a, normalize="none", device="cpu", clip=False, **settings)
                scores.append(psnr_np(out, b, 1.0))
            clean_scores = {}
            for sigma in CLEAN_SIGMAS:
                values = []
                for k, clean in enumerate(crops):
                    noisy = add_noise(str(sigma), clean, k)
                    out = noise2x.denoise(noisy, normalize="none", device="cpu", **settings)
                    values.append(psnr_np(out, clean, 1.0))
                clean_scores[str(sigma)] = round(float(np.mean(values)), 3)
            channels = 1 if model == "grey" else 3
            image = np.random.default_rng(0).random((channels, 321, 481)).astype(np.float32)
            noise2x.denoise(image, device="cpu", ensemble=1)  # load the weights first
            start = time.perf_counter()
            noise2x.denoise(image, device="cpu", **settings)
            seconds = time.perf_counter() - start
            rows.append(
                {
                    "model": model,
                    "ensemble": n,
                    "inference_precision": precision,
                    "pairs": len(pairs),
                    "val_psnr_db": round(float(np.mean(scores)), 3),
                    "clean_images": len(crops),
                    "clean_psnr_db": clean_scores,
                    "seconds_481x321": round(seconds, 2),
                }
            )
            print(rows[-1], flush=True)
    return rows


def bm3d_seconds() -> dict:
    """BM3D's seconds on a 481x321 grey and colour image (sigma 25), for the time budget."""
    from noise2x.methods.bm3d import bm3d_denoise

    out = {}
    for channels, label in ((1, "grey"), (3, "colour")):
        image = np.random.default_rng(0).random((channels, 321, 481)).astype(np.float32)
        start = time.perf_counter()
        bm3d_denoise(image, 25 / 255)
        out[label] = round(time.perf_counter() - start, 2)
    print({"bm3d_seconds_481x321": out}, flush=True)
    return out


def adapt_rows(
    captures: int = 1, per_capture: Callable | None = None, fields: tuple = FMD_FIELDS
) -> list[dict]:
    """PSNR against avg50 on FMD validation fields (15-16 by default), a row set per capture.

    Each of `fields`' first `captures` raw captures (independent noise, same scene) is read one by
    one and given to `per_capture(field, capture, noisy, clean)` (``adapt_field`` by default:
    several adaptation lengths; ``adapt_ensemble_field``: several ensemble sizes after
    adaptation), (1, 512, 512) float32 arrays in [0, 1]; its rows are concatenated.
    """
    from noise2x.data.io import read_image

    per_capture = per_capture or adapt_field
    rows = []
    for field in fields:
        clean = read_image(FMD / "gt" / field / "avg50.png")[0]
        for capture in range(captures):
            noisy = read_image(FMD / "raw" / field / f"HV110_P05005100{capture:02d}.png")[0]
            rows += per_capture(field, capture, noisy, clean)
    return rows


def adapt_field(field: str, capture: int, noisy: np.ndarray, clean: np.ndarray) -> list[dict]:
    """Return the rows of one raw capture for 0, 50, 100 and 200 adaptation steps."""
    import noise2x
    from noise2x.methods import Prior
    from noise2x.metrics import psnr_np

    rows = []
    for steps in (0, 50, 100, 200):
        method = Prior(adapt=steps > 0, steps=max(steps, 1))
        start = time.perf_counter()
        out = noise2x.denoise(noisy, method=method, device="cpu")
        rows.append(
            {
                "field": field,
                "capture": capture,
                "steps": steps,
                "psnr_db": round(psnr_np(np.clip(out, 0, 1), clean, 1.0), 3),
                "seconds": round(time.perf_counter() - start, 1),
                "kept_prior": None if steps == 0 else method.adaptation["kept_prior"],
            }
        )
        print(rows[-1], flush=True)
    return rows


def adapt_ensemble_field(
    field: str, capture: int, noisy: np.ndarray, clean: np.ndarray
) -> list[dict]:
    """Return the rows of one raw capture for each self-ensemble size after adaptation.

    The capture is adapted once (the default settings); the adapted net then denoises it with
    1, 2, 4 and 8 flips / rotations. Seconds are the adaptation's plus the inference's.
    """
    import torch

    from noise2x.methods import Prior
    from noise2x.metrics import psnr_np

    x = torch.from_numpy(noisy)[None]
    start = time.perf_counter()
    fitted = Prior(adapt=True).fit(x, device="cpu")
    adapt_seconds = time.perf_counter() - start
    rows = []
    for n in (1, 2, 4, 8):
        start = time.perf_counter()
        out = Prior(ensemble=n).denoise(fitted.net, x)[0].numpy()
        rows.append(
            {
                "field": field,
                "capture": capture,
                "ensemble": n,
                "psnr_db": round(psnr_np(np.clip(out, 0, 1), clean, 1.0), 3),
                "seconds": round(adapt_seconds + time.perf_counter() - start, 1),
            }
        )
        print(rows[-1], flush=True)
    return rows


def mean_table(rows: list[dict], key: str, caption: str) -> list[str]:
    """Return the Markdown lines of mean PSNR (dB) and seconds per value of `key` in `rows`."""
    lines = ["", caption, "", f"| {key} | PSNR | seconds |", "| --- | --- | --- |"]
    for value in sorted({r[key] for r in rows}):
        sel = [r for r in rows if r[key] == value]
        psnr, seconds = np.mean([r["psnr_db"] for r in sel]), np.mean([r["seconds"] for r in sel])
        lines.append(f"| {value} | {psnr:.2f} | {seconds:.1f} |")
    return lines


def inference_precision(row: dict) -> str:
    """Return a part-1 row's inference precision: ``fp32`` or ``bf16``.

    Rows of runs before 2026-12-07 name it ``precision``; rows of runs before bf16 was
    measured name none (float32).
    """
    return row.get("inference_precision", row.get("precision", "fp32"))


def render(report: dict) -> str:
    """Render the Markdown tables of the two choices."""
    lines = [
        f"Prior settings on validation data, {report['date']}, {report['machine']['cpu']}, "
        "one torch thread. Noisy-target PSNR (dB) on the held-out pairs of "
        "benchmarks/train_prior.py; seconds per 481x321 image (BM3D: "
        f"{report['bm3d_seconds']['grey']:.1f} s grey, {report['bm3d_seconds']['colour']:.1f} s "
        "colour)."
        + (
            f" These rows are of the run of {report['ensemble_date']}, with the weights shipped "
            "then; the FMD tables below are of this run's weights."
            if report.get("ensemble_date", report["date"]) != report["date"]
            else ""
        )
        + (
            f" The FMD tables below are of the run of {report['adapt_date']}, with the weights "
            "shipped then."
            if report.get("adapt_date", report["date"]) != report["date"]
            else ""
        )
        + (f" {report['note']}" if report.get("note") else ""),
        "",
    ]
    clean = "clean_psnr_db" in report["ensemble"][0]
    if clean:
        lines[0] += (
            " Clean-reference PSNR (dB) on the validation images of prior_validation.py "
            f"(grey {report['ensemble'][0]['clean_images']}, colour "
            f"{report['ensemble'][-1]['clean_images']} scikit-image samples, 256x256 crops) "
            "at Gaussian sigma " + ", ".join(map(str, CLEAN_SIGMAS)) + "."
        )
        heads = " | ".join(f"sigma {s}" for s in CLEAN_SIGMAS)
        lines += [
            "| model | ensemble | inference precision | pairs | val PSNR (noisy targets) | "
            f"{heads} | seconds |",
            "| --- " * (6 + len(CLEAN_SIGMAS)) + "|",
        ]
    else:
        lines += [
            "| model | ensemble | inference precision | pairs | val PSNR (noisy targets) | "
            "seconds |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
    for r in report["ensemble"]:
        cells = (
            "".join(f"{r['clean_psnr_db'][str(s)]:.2f} | " for s in CLEAN_SIGMAS) if clean else ""
        )
        lines.append(
            f"| {r['model']} | {r['ensemble']} | {inference_precision(r)} | {r['pairs']} | "
            f"{r['val_psnr_db']:.3f} | "
            f"{cells}{r['seconds_481x321']:.2f} |"
        )
    if report.get("adapt"):
        captures = len({r.get("capture", 0) for r in report["adapt"]})
        lines += mean_table(
            report["adapt"],
            "steps",
            f"Adaptation steps on FMD validation fields 15-16 ({captures} raw capture(s) each; "
            "PSNR against avg50, mean):",
        )
    if report.get("adapt_ensemble"):
        lines += mean_table(
            report["adapt_ensemble"],
            "ensemble",
            "Self-ensemble after the default adaptation "
            f"({report.get('adapt_ensemble_steps', 50)} steps), the same FMD captures, each "
            "adapted once (PSNR against avg50, mean; seconds: the adaptation, with its own "
            "2-fold output, plus this inference):",
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    from noise2x.report import write_result

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("runs/prior"))
    parser.add_argument("--no-adapt", action="store_true")
    parser.add_argument("--adapt-only", action="store_true", help="keep the ensemble rows")
    parser.add_argument(
        "--adapt-ensemble-only", action="store_true", help="rerun part 3, keep the other rows"
    )
    parser.add_argument(
        "--ensemble-only", action="store_true", help="rerun part 1, keep the FMD rows"
    )
    parser.add_argument("--captures", type=int, default=1, help="raw captures per FMD field")
    parser.add_argument("--note", default=None, help="a sentence added to the table's caption")
    parser.add_argument("--out", type=Path, default=RESULTS / "prior_settings.json")
    args = parser.parse_args()
    keep = args.adapt_only or args.adapt_ensemble_only or args.ensemble_only
    if keep and not args.out.exists():
        parser.error(f"--*-only keeps rows of {args.out}, which does not exist")
    import torch

    from noise2x.report.machine import machine

    torch.set_num_threads(1)
    report = {
        "benchmark": "prior_settings",
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        **({"note": args.note} if args.note else {}),
    }
    if args.adapt_only or args.adapt_ensemble_only:
        stored = json.loads(args.out.read_text())
        report.update(bm3d_seconds=stored["bm3d_seconds"], ensemble=stored["ensemble"])
        report["ensemble_date"] = stored.get("ensemble_date", stored["date"])
    else:
        report.update(bm3d_seconds=bm3d_seconds(), ensemble=ensemble_rows(args.work))
    if args.ensemble_only:
        stored = json.loads(args.out.read_text())
        for key in ("adapt", "adapt_ensemble", "adapt_ensemble_steps"):
            if key in stored:
                report[key] = stored[key]
        report["adapt_date"] = stored.get("adapt_date", stored["date"])
    elif args.adapt_ensemble_only:
        report["adapt"] = stored["adapt"]
        report["adapt_date"] = stored.get("adapt_date", stored["date"])
    else:
        report["adapt"] = [] if args.no_adapt else adapt_rows(args.captures)
    if not args.no_adapt and not args.ensemble_only:
        from noise2x.methods import PriorConfig

        report["adapt_ensemble"] = adapt_rows(args.captures, adapt_ensemble_field)
        report["adapt_ensemble_steps"] = PriorConfig().steps  # the default adaptation
    report["markdown"] = render(report)
    write_result(report, args.out)  # JSON and .md, each atomically
    print(report["markdown"])


if __name__ == "__main__":
    main()
