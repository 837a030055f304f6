# size: one side-by-side run (prior, adapt, BM3D) over five sets, its resume, table and figure
"""Benchmark of the shipped prior (noise2x denoise's default) against BM3D, side by side.

For every (image, noise) job the same noisy input goes to:

- ``prior``: ``noise2x.denoise(noisy)`` with the default settings (the shipped prior, its
  default self-ensemble, no noise level given; for grey images its gate picks the low-noise,
  default, middle-noise or high-noise net from the estimated sigma, and the table counts the
  images that got each);
- ``prior_adapt``: the same with ``adapt=True`` (test-time adaptation, its default steps), on
  the first ``--adapt-limit`` images of each set and noise (and every FMD field);
- ``bm3d``: BM3D (the ``bm3d`` package; ``bm3d_rgb`` for colour) given the *true* sigma for
  Gaussian noise, sigma estimated from the image (``noise2x.noise.estimate``: the values of
  ``skimage.restoration.estimate_sigma``) for Poisson and real noise.

Noise: Gaussian sigma 15, 25, 50 and Poisson lambda 30 on grey Set12 and BSD68, Gaussian sigma
25 and 50 on colour CBSD68, not clipped, drawn with the seed of ``benchmarks/zsn2n.py``
(``job_seed``), so that the committed ZS-N2N and Self2Self results (``zsn2n.json``,
``self2self.json``) are on identical inputs and are shown beside ours where they exist. Real
noise: the first raw capture of FMD confocal fields 17-20 against avg50, as
``benchmarks/real_fmd.py`` (the prior never saw FMD). PSNR (dB) / SSIM of results clipped to
[0, 1]; seconds are wall time per image, one torch thread per worker process, ``--workers``
processes side by side (run it with nothing else on the CPU).

Jobs run in rounds (image 1 of every set and noise, then image 2, ...), and each row is
appended to ``prior.partial.json`` as it comes: a rerun resumes, and an interrupted run has the
first images of every condition.

Usage::

    python benchmarks/prior.py                 # everything (several hours on 2 cores)
    python benchmarks/prior.py --limit 2       # smoke run
    python benchmarks/prior.py --table-only    # re-render the table and figure from the JSON

Writes ``benchmarks/results/prior.json``, ``prior.md`` and ``prior.png``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("NOISE2X_DATA", HERE.parent.parent / "shared" / "data"))
FMD = DATA / "real" / "FMD_Confocal_BPAE_B"
RESULTS = HERE / "results"
NOISES = {
    "gauss15": ("gaussian", {"sigma": 15.0}),
    "gauss25": ("gaussian", {"sigma": 25.0}),
    "gauss50": ("gaussian", {"sigma": 50.0}),
    "poisson30": ("poisson", {"lam": 30.0}),
}
CONDITIONS = [
    *[(s, n) for s in ("Set12", "BSD68") for n in ("gauss15", "gauss25", "gauss50", "poisson30")],
    ("CBSD68", "gauss25"),
    ("CBSD68", "gauss50"),
    ("FMD", "real"),
]
FMD_FIELDS = ["17", "18", "19", "20"]
FMD_CAPTURE = "HV110_P0500510000.png"
FIGURE = [
    ("Set12", "01.png", "gauss50"),
    ("CBSD68", "101085.png", "gauss50"),
    ("FMD", "19", "real"),
]
CROP = 160


def job_seed(dataset: str, name: str, noise: str) -> int:
    """Return the seed of ``benchmarks/zsn2n.py`` and ``self2self.py`` for one noisy input."""
    return sum(map(ord, f"{dataset}/{name}/{noise}")) % 10_000


def images(dataset: str) -> list[str]:
    """Names of the test images of `dataset`, in natural order."""
    if dataset == "FMD":
        return FMD_FIELDS
    from noise2x.data.io import list_images

    return [p.name for p in list_images([DATA / dataset])]


def load_job(dataset: str, name: str, noise: str) -> tuple[np.ndarray, np.ndarray]:
    """Return (clean, noisy), (C, H, W) float32 on the [0, 1] scale."""
    import torch

    from noise2x.data.io import read_image
    from noise2x.noise import add_noise

    if dataset == "FMD":
        return read_image(FMD / "gt" / name / "avg50.png")[0], read_image(
            FMD / "raw" / name / FMD_CAPTURE
        )[0]
    clean = read_image(DATA / dataset / name)[0]
    model, params = NOISES[noise]
    noisy = add_noise(
        torch.from_numpy(clean)[None], model, seed=job_seed(dataset, name, noise), **params
    )
    return clean, noisy[0].numpy()


def run_job(job: tuple[str, str, str, bool, str]) -> dict:
    """Denoise one noisy input with every method; return its row (and save figure crops)."""
    import torch

    import noise2x
    from noise2x.methods.bm3d import bm3d_denoise
    from noise2x.metrics import psnr_np, ssim_np
    from noise2x.noise.estimate import estimate_sigma

    dataset, name, noise, adapt, runs = job
    torch.set_num_threads(1)
    clean, noisy = load_job(dataset, name, noise)
    row = {"set": dataset, "image": name, "noise": noise, "shape": list(clean.shape), "methods": {}}
    outputs = {"clean": clean, "noisy": noisy}

    def score(method: str, out: np.ndarray, seconds: float) -> None:
        out = np.clip(out, 0.0, 1.0)
        outputs[method] = out
        row["methods"][method] = {
            "psnr_db": round(psnr_np(out, clean, 1.0), 3),
            "ssim": round(ssim_np(out, clean, 1.0), 4),
            "seconds": round(seconds, 2),
        }

    score("noisy", noisy, 0.0)
    from noise2x.methods import Prior

    default = Prior()  # the default of noise2x.denoise; kept to read its gate's decision
    start = time.perf_counter()
    out = noise2x.denoise(noisy, method=default, normalize="none", device="cpu")
    score("prior", out, time.perf_counter() - start)
    row["gate"] = default.gate  # grey: estimated sigma, threshold, net used (None: default)
    row["ensemble"] = default.ensemble_size  # transforms averaged (by the image's size)
    if adapt:
        method = Prior(adapt=True)
        start = time.perf_counter()
        out = noise2x.denoise(noisy, method=method, normalize="none", device="cpu")
        score("prior_adapt", out, time.perf_counter() - start)
        info = method.adaptation
        row["adaptation"] = {k: info[k] for k in ("kept_prior", "best_step", "steps")}
    sigma = NOISES.get(noise, (None, {}))[1].get("sigma")
    start = time.perf_counter()
    used = sigma / 255.0 if sigma is not None else estimate_sigma(noisy)
    score("bm3d", bm3d_denoise(noisy, used), time.perf_counter() - start)
    row["bm3d_sigma_255"] = round(used * 255.0, 3)
    if (dataset, name, noise) in FIGURE:
        folder = Path(runs) / "figure"
        folder.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(folder / f"{dataset}_{Path(name).stem}_{noise}.npz", **outputs)
    return row


def plan(limit: int | None, adapt_limit: int) -> list[tuple[str, str, str, bool]]:
    """Jobs in rounds: image i of every condition before image i + 1 of any."""
    names = {c: images(c[0])[:limit] for c in CONDITIONS}
    rounds = max(len(v) for v in names.values())
    return [
        (dataset, names[(dataset, noise)][i], noise, dataset == "FMD" or i < adapt_limit)
        for i in range(rounds)
        for dataset, noise in CONDITIONS
        if i < len(names[(dataset, noise)])
    ]


# --- reporting -------------------------------------------------------------------------------
def committed(kind: str) -> dict:
    """(set, image, noise) -> {"psnr_db", "seconds"} of ZS-N2N or Self2Self, on the same inputs."""
    found = {}
    if kind == "zsn2n":
        for r in json.loads((RESULTS / "zsn2n.json").read_text())["rows"]:
            if r["method"] == "noise2x":
                found[(r["dataset"], r["image"], r["noise"])] = r
    elif kind == "self2self":
        for r in json.loads((RESULTS / "self2self.json").read_text())["rows"]:
            if r["method"] == "self2self":
                found[("Set12", r["image"], r["noise"])] = r
    elif kind == "fmd":
        for r in json.loads((RESULTS / "real_fmd.json").read_text())["rows"]:
            found[("FMD", r["field"], r["method"])] = r
    return found


def _mean(rows: list[dict], method: str, key: str = "psnr_db") -> float:
    return float(np.mean([r["methods"][method][key] for r in rows]))


def readme(markdown: str) -> str:
    """Return the README's part of `render`'s page: the opening paragraph and the main table."""
    blocks = markdown.split("\n\n")
    first = next(i for i, b in enumerate(blocks) if b.startswith("| "))
    return "\n\n".join(blocks[: first + 1]) + "\n"


def save(report: dict, out: Path) -> str:
    """Render `report` into itself; write it to `out` and the ``.md`` beside it; return that."""
    from noise2x.report import with_rendering, write_result

    markdown = render(report)
    return write_result(with_rendering(report, markdown=markdown, readme=readme(markdown)), out)


def net_name(weights: str | None) -> str:
    """Short name of a grey net of the gate: ``prior_grey_lowmid.safetensors`` -> ``lowmid``.

    The default grey net (``prior_grey.safetensors``, or None in a gate record) is
    ``default``.
    """
    stem = Path(weights).stem if weights else "prior_grey"
    return stem.removeprefix("prior_grey").lstrip("_") or "default"


def render(report: dict) -> str:
    """Render the Markdown page: one row per (set, noise), then the other methods."""
    rows = report["rows"]
    gates = [r["gate"] for r in rows if r.get("gate")]  # the grey rows of a gated prior
    bands = [net_name(w) for _, w in gates[0]["bands"]] if gates else ["default"]
    lines = [
        f"Shipped prior vs BM3D, {report['date']}, {report['machine']['cpu']}, "
        f"{report['workers']} worker(s) x 1 thread; PSNR (dB) / SSIM, mean over n images; "
        "seconds per image. BM3D is given the true sigma for Gaussian noise (estimated "
        "otherwise); the prior is given nothing."
        + (
            f" Images: the first {report['limit']} of each set (in name order)."
            if report.get("limit")
            else ""
        )
        + f" Adaptation on the first {report.get('adapt_limit', 12)} of each set and noise."
        + (f" {report['note']}" if report.get("note") else ""),
        "",
        "| set | noise | n | noisy | BM3D | prior (default) | prior − BM3D | s BM3D | s prior "
        f"| nets {'/'.join(bands)} | adapted: n | prior | prior + adapt | s adapt |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for dataset, noise in CONDITIONS:
        sel = [r for r in rows if r["set"] == dataset and r["noise"] == noise]
        if not sel:
            continue
        cell = {
            m: f"{_mean(sel, m):.2f} / {_mean(sel, m, 'ssim'):.3f}"
            for m in ("noisy", "bm3d", "prior")
        }
        ad = [r for r in sel if "prior_adapt" in r["methods"]]
        adapt = (
            f"| {len(ad)} | {_mean(ad, 'prior'):.2f} | {_mean(ad, 'prior_adapt'):.2f} | "
            f"{_mean(ad, 'prior_adapt', 'seconds'):.1f} |"
            if ad
            else "| 0 | | | |"
        )
        gain = _mean(sel, "prior") - _mean(sel, "bm3d")
        seconds = f"{_mean(sel, 'bm3d', 'seconds'):.1f} | {_mean(sel, 'prior', 'seconds'):.1f} "
        gated = [r["gate"] for r in sel if r.get("gate")]
        nets = [net_name(g["weights"]) for g in gated]
        used = [nets.count(band) for band in bands]
        seconds += f"| {'/'.join(map(str, used))} " if gated else "| – "
        lines.append(
            f"| {dataset} | {noise} | {len(sel)} | {cell['noisy']} | {cell['bm3d']} | "
            f"{cell['prior']} | {gain:+.2f} | {seconds}" + adapt
        )
    lines += ["", *others(rows)]
    return "\n".join(lines) + "\n"


def others(rows: list[dict]) -> list[str]:
    """Return the committed ZS-N2N / Self2Self / N2N results on the same inputs, beside ours."""
    zs, s2s, fmd = committed("zsn2n"), committed("self2self"), committed("fmd")
    out = [
        "Beside the committed single-image results on identical noisy inputs (mean over the "
        "images both have; seconds per image from those runs):",
        "",
        "| set | noise | n | ZS-N2N | s | Self2Self | s | prior | s | prior + adapt | s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for dataset, noise in CONDITIONS[:-1]:
        sel = [r for r in rows if r["set"] == dataset and r["noise"] == noise]
        for label, table in (("ZS-N2N", zs), ("Self2Self", s2s)):
            both = [r for r in sel if (dataset, r["image"], noise) in table]
            if not both:
                continue
            theirs = [table[(dataset, r["image"], noise)] for r in both]
            psnr, secs = (np.mean([t[k] for t in theirs]) for k in ("psnr_db", "seconds"))
            zs_cells = f"{psnr:.2f} | {secs:.0f}"
            cells = f"{zs_cells} | | " if label == "ZS-N2N" else f" | | {zs_cells}"
            ad = [r for r in both if "prior_adapt" in r["methods"]]
            adapt = (
                f"{_mean(ad, 'prior_adapt'):.2f} | {_mean(ad, 'prior_adapt', 'seconds'):.1f}"
                if len(ad) == len(both)
                else " | "
            )
            out.append(
                f"| {dataset} | {noise} | {len(both)} | {cells} | {_mean(both, 'prior'):.2f} | "
                f"{_mean(both, 'prior', 'seconds'):.1f} | {adapt} |"
            )
    real = [r for r in rows if r["set"] == "FMD"]
    if real:
        n2n = np.mean([fmd[("FMD", r["image"], "n2n")]["psnr_db"] for r in real])
        zsn = [fmd[("FMD", r["image"], "zsn2n")] for r in real]
        zs_psnr, zs_secs = (np.mean([z[k] for z in zsn]) for k in ("psnr_db", "seconds"))
        ad = [r for r in real if "prior_adapt" in r["methods"]]
        out += [
            "",
            f"FMD confocal (real noise), fields {', '.join(r['image'] for r in real)}: N2N "
            f"trained on FMD's own real pairs {n2n:.2f} dB; ZS-N2N {zs_psnr:.2f} dB in "
            f"{zs_secs:.0f} s per image (``benchmarks/real_fmd.py``); "
            f"prior {_mean(real, 'prior'):.2f} dB in {_mean(real, 'prior', 'seconds'):.1f} s"
            + (
                f"; prior + adapt {_mean(ad, 'prior_adapt'):.2f} dB in "
                f"{_mean(ad, 'prior_adapt', 'seconds'):.1f} s"
                if ad
                else ""
            )
            + ".",
        ]
    return out


def figure(report: dict, runs: Path, path: Path) -> None:
    """Crops of clean / noisy / BM3D / prior / prior + adapt for the FIGURE jobs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    found = [
        (key, runs / "figure" / f"{key[0]}_{Path(key[1]).stem}_{key[2]}.npz") for key in FIGURE
    ]
    found = [(key, p) for key, p in found if p.exists()]
    if not found:
        return
    columns = ["clean", "noisy", "bm3d", "prior", "prior_adapt"]
    fig, axes = plt.subplots(
        len(found), len(columns), figsize=(2.4 * len(columns), 2.5 * len(found)), squeeze=False
    )
    for ax_row, (key, npz) in zip(axes, found, strict=True):
        data = np.load(npz)
        clean = data["clean"]
        h, w = clean.shape[-2:]
        top, left = max(0, (h - CROP) // 2), max(0, (w - CROP) // 2)
        for ax, name in zip(ax_row, columns, strict=True):
            ax.axis("off")
            if name not in data:
                continue
            crop = np.clip(data[name][:, top : top + CROP, left : left + CROP], 0, 1)
            ax.imshow(
                crop[0] if crop.shape[0] == 1 else np.moveaxis(crop, 0, -1),
                cmap="gray",
                vmin=0,
                vmax=1,
            )
            from noise2x.metrics import psnr_np

            label = (
                name
                if name == "clean"
                else f"{name} {psnr_np(np.clip(data[name], 0, 1), clean, 1.0):.2f} dB"
            )
            ax.set_title(label, fontsize=8)
        ax_row[0].text(
            -8, CROP // 2, f"{key[0]} {key[1]}\n{key[2]}", fontsize=8, ha="right", va="center"
        )
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="images per set (smoke runs)")
    parser.add_argument("--adapt-limit", type=int, default=12, help="images per set adapted")
    parser.add_argument("--runs", type=Path, default=Path("runs/bench-prior"))
    parser.add_argument("--out", type=Path, default=RESULTS / "prior.json")
    parser.add_argument("--table-only", action="store_true")
    parser.add_argument("--note", default=None, help="a sentence stored with the result and shown")
    parser.add_argument(
        "--figure", action="store_true", help="with --table-only: redraw the figure from --runs"
    )
    args = parser.parse_args()
    partial = args.out.with_suffix(".partial.json")
    if args.table_only:
        source = args.out if args.out.exists() else partial
        report = json.loads(source.read_text())
        if args.note is not None:
            report["note"] = args.note
        print(save(report, source))
        if args.figure:
            figure(report, args.runs, args.out.with_suffix(".png"))
        return
    for folder in (DATA / "Set12", DATA / "BSD68", DATA / "CBSD68", FMD):
        if not folder.is_dir():
            sys.exit(f"missing data folder {folder} (set NOISE2X_DATA)")
    from noise2x.report.machine import machine
    from noise2x.weights import PRIOR_BANDS, PRIORS, WEIGHTS_DIR, read_metadata

    # resume: the rows of an interrupted run, or of a finished smaller run (--limit)
    previous = partial if partial.exists() else args.out if args.out.exists() else None
    report = json.loads(previous.read_text()) if previous else None
    if report is None:
        report = {
            "benchmark": "prior",
            "date": dt.date.today().isoformat(),
            "machine": machine(),
            "workers": args.workers,
            "command": " ".join(sys.argv),
            "weights": {
                **{c: read_metadata(WEIGHTS_DIR / f) for c, f in PRIORS.items()},
                **{
                    f"{c} band from {t:g}": {**read_metadata(WEIGHTS_DIR / f), "from_sigma": t}
                    for c, bands in PRIOR_BANDS.items()
                    for t, f in bands
                    if f != PRIORS[c]
                },
            },
            "rows": [],
            **({"note": args.note} if args.note else {}),
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    done = {(r["set"], r["image"], r["noise"]) for r in report["rows"]}
    jobs = [(*j, str(args.runs)) for j in plan(args.limit, args.adapt_limit) if j[:3] not in done]
    print(f"{len(done)} rows done, {len(jobs)} to run", flush=True)
    start = time.perf_counter()
    with mp.get_context("spawn").Pool(args.workers) as pool:
        for row in pool.imap(run_job, jobs):
            report["rows"].append(row)
            partial.write_text(json.dumps(report, indent=1))
            m = row["methods"]
            print(
                f"{row['set']} {row['image']} {row['noise']}: prior {m['prior']['psnr_db']:.2f} "
                f"bm3d {m['bm3d']['psnr_db']:.2f}"
                + (f" adapt {m['prior_adapt']['psnr_db']:.2f}" if "prior_adapt" in m else ""),
                flush=True,
            )
    report["seconds"] = report.get("seconds", 0.0) + time.perf_counter() - start
    report["limit"], report["adapt_limit"] = args.limit, args.adapt_limit
    complete = len(report["rows"]) >= len(plan(args.limit, args.adapt_limit))
    text = save(report, args.out if complete else partial)  # noise2x report renders this
    if complete:
        partial.unlink(missing_ok=True)
    figure(report, args.runs, args.out.with_suffix(".png"))
    print(text, flush=True)


if __name__ == "__main__":
    main()
