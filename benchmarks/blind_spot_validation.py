"""Choose the blind-spot settings of ``benchmarks/blind_spot.py`` on validation crops, not BSD68.

Each candidate is the bsd68 N2V training of ``blind_spot.py`` (noisy Train400 at Gaussian
sigma 25, 8 crops of 64x64 per step, one thread; ``blind_spot.trainings``) with its own
settings and steps. Every trained model denoises the same validation inputs: 16 images of
../shared/data/CBSD432 (every 27th, from the first), turned grey (scikit-image ``rgb2gray``),
centre crops of 160x160, Gaussian sigma 25 (0-255 scale, ``benchmarks/n2n.py``'s noise, seed =
crop index); one pass, ``normalize="none"``; PSNR (dB) and SSIM of the result clipped to
[0, 1] against the clean crop, mean over the 16. CBSD432 holds none of BSD68's images (its
grey version), so the test set plays no part in the choice; it does share scenes with
Train400 (both come from the Berkeley set), which every candidate trains on alike.

Candidates (``--candidates``):

- ``uniform`` / ``uniform_cp`` (6000 steps each, 6 % blind spots): the blind spot's
  replacement drawn from its 5x5 window without the centre (the N2V paper) or with it (the
  authors' code's ``uniform_withCP``; ``method.replacement=uniform_cp``);
- ``ratio_0.2`` (6000 steps, the paper's 0.2 % of blind spots), ``ratio_2`` and ``ratio_6``
  (1500 steps at 2 % and 6 %): the choice of ``method.ratio``.

Usage::

    python benchmarks/blind_spot_validation.py                 # uniform vs uniform_cp
    python benchmarks/blind_spot_validation.py --candidates ratio_0.2 ratio_2 ratio_6

Writes ``benchmarks/results/blind_spot_validation.json`` and ``.md`` (a rerun adds the
candidates not yet in it; ``--redo`` trains the listed ones again). Trainings go to
``--runs``, two side by side (one thread each); run it with nothing else on the CPU.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import time
from pathlib import Path

import blind_spot  # benchmarks/blind_spot.py: the script's folder is on sys.path
import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SOURCE = blind_spot.DATA / "CBSD432"
COUNT, EVERY, CROP, SIGMA = 16, 27, 160, "gauss25"
CANDIDATES = {  # name: (steps, overrides added to the bsd68 N2V training)
    "uniform": (6000, ["method.ratio=0.06"]),
    "uniform_cp": (6000, ["method.ratio=0.06", "method.replacement=uniform_cp"]),
    "ratio_0.2": (6000, []),
    "ratio_2": (1500, ["method.ratio=0.02"]),
    "ratio_6": (1500, ["method.ratio=0.06"]),
}


def validation_inputs() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Return (name, clean, noisy) of the 16 validation crops: (1, 160, 160) float32 in [0, 1]."""
    import n2n
    from skimage import color

    from noise2x.data.io import list_images, read_image

    paths = list_images([SOURCE])[::EVERY][:COUNT]
    items = []
    for k, path in enumerate(paths):
        x = read_image(path)[0]  # (3, H, W) float32 in [0, 1]
        grey = color.rgb2gray(np.moveaxis(x, 0, -1)).astype(np.float32)
        h, w = grey.shape
        top, left = (h - CROP) // 2, (w - CROP) // 2
        clean = np.ascontiguousarray(grey[None, top : top + CROP, left : left + CROP])
        items.append((path.name, clean, n2n.noisy_image(clean, SIGMA, k)))
    return items


def train_candidate(job: tuple[str, str]) -> dict:
    """Train one candidate (one thread); return its record with the last checkpoint."""
    name, runs = job
    steps, extra = CANDIDATES[name]
    root = Path(runs) / name
    overrides = blind_spot.trainings("bsd68", steps, root, root)["n2v"] + extra
    record = blind_spot.train_job((name, overrides))
    return {**record, "overrides": extra, "steps": steps}


def score(checkpoint: str, items: list) -> list[dict]:
    """Denoise every validation crop with `checkpoint` (one pass); PSNR/SSIM per crop."""
    import noise2x

    rows = []
    for name, clean, noisy in items:
        start = time.perf_counter()
        out = noise2x.denoise(noisy, checkpoint=checkpoint, normalize="none", device="cpu")
        seconds = round(time.perf_counter() - start, 2)
        rows.append({"image": name, **blind_spot.score_image(out, clean), "seconds": seconds})
    return rows


def render(report: dict) -> str:
    """Return the Markdown table: one row per candidate, mean PSNR / SSIM over the crops."""
    lines = [
        f"Blind-spot validation, {report['date']}, {report['machine']['cpu']}: N2V trained "
        "on noisy Train400 (sigma 25, 8 crops of 64x64 per step, one thread), scored on "
        f"{COUNT} grey {CROP}x{CROP} crops of CBSD432 at sigma 25 (one pass); PSNR (dB) / "
        "SSIM, mean over the crops.",
        "",
        "| candidate | settings | steps | training minutes | PSNR / SSIM |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name in [n for n in CANDIDATES if n in report["candidates"]]:
        c = report["candidates"][name]
        psnr = np.mean([r["psnr_db"] for r in c["rows"]])
        ssim = np.mean([r["ssim"] for r in c["rows"]])
        settings = " ".join(c["overrides"]) or "method.ratio=0.002 (default)"
        lines.append(
            f"| {name} | `{settings}` | {c['steps']} | {c['seconds'] / 60:.1f} | "
            f"{psnr:.2f} / {ssim:.3f} |"
        )
    if report.get("note"):
        lines += ["", report["note"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    from noise2x.report import write_result
    from noise2x.report.machine import machine

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--candidates", nargs="+", default=["uniform", "uniform_cp"], choices=list(CANDIDATES)
    )
    parser.add_argument("--redo", action="store_true", help="train listed candidates again")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=Path, default=Path("runs/bench-blind-spot-validation"))
    parser.add_argument("--out", type=Path, default=RESULTS / "blind_spot_validation.json")
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    if not SOURCE.is_dir():
        parser.exit(1, f"missing data folder {SOURCE} (set NOISE2X_DATA)\n")
    report = json.loads(args.out.read_text()) if args.out.exists() else {
        "benchmark": "blind_spot_validation", "date": dt.date.today().isoformat(),
        "machine": machine(), "candidates": {},
    }  # fmt: skip
    if not args.table_only:
        todo = [n for n in args.candidates if args.redo or n not in report["candidates"]]
        if todo:
            with mp.get_context("spawn").Pool(min(args.workers, len(todo))) as pool:
                trained = pool.map(train_candidate, [(n, str(args.runs)) for n in todo])
            import torch

            torch.set_num_threads(1)
            items = validation_inputs()
            for record in trained:
                record["rows"] = score(record["checkpoint"], items)
                report["candidates"][record["model"]] = record
            report["date"] = dt.date.today().isoformat()
    report["markdown"] = render(report)
    print(write_result(report, args.out), flush=True)


if __name__ == "__main__":
    main()
