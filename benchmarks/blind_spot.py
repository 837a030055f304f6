# size: four parts (bsd68, fmd, structured, single), each training, evaluating and rendering
"""Blind-spot benchmark: Noise2Void, N2V2 and structN2V beside Ne2Ne, N2N, N2C and BM3D.

Four parts, each on the same noisy inputs for every method:

1. ``bsd68``: Gaussian sigma 25, trained on the fixed noisy Train400 set of ``noise2x train``
   (``benchmarks/n2n.py``'s training overrides: 8 crops of 64x64, one thread, ``--steps``),
   tested on BSD68 with ``benchmarks/n2n.py``'s noisy inputs (seed = image index): N2V and
   N2V2 trained here; Ne2Ne (``downsamplers.json``), N2N, N2C and BM3D (``n2n.json``) from
   the committed results on identical inputs. The N2V paper reports 27.71 dB (its own
   training set and budget).
2. ``fmd``: real confocal noise (../shared/data/real/FMD_Confocal_BPAE_B): N2V trained on the
   *first raw capture* of fields 1-14 as single images (no pairs; ``data=noisy_folder``, the
   last two held out), tested on the first raw capture of fields 17-20 against avg50, beside
   N2N on real pairs, ZS-N2N and BM3D from ``real_fmd.json``.
3. ``structured``: ``noise=structured`` (per-row offsets and noise correlated along rows, the
   YAML's defaults) on Train400; N2V, structN2V (``method.struct_length=7 struct_axis=rows``)
   and Ne2Ne trained on it, BM3D with the estimated sigma; tested on Set12.
4. ``single``: ``noise2x.denoise(noisy, method="n2v")`` on Set12 at sigma 25 (the inputs of
   ``benchmarks/zsn2n.py`` and ``self2self.py``, ``job_seed``), PSNR and seconds, beside
   their committed ZS-N2N and Self2Self results.

Usage::

    python benchmarks/blind_spot.py                        # all parts, --steps 6000 each
    python benchmarks/blind_spot.py --parts bsd68 --evaluate n2v_x8=RUN/checkpoints/last.ckpt \
        --ensemble 8                                       # score a trained model, no training
    python benchmarks/blind_spot.py --parts single --limit 2 --steps 200   # smoke run

Writes ``benchmarks/results/blind_spot.json`` (rows appended as they come; a rerun skips the
parts already done) and ``blind_spot.md``; ``--figure`` then draws ``blind_spot.png`` (crops of
every trained model on one image per part, where checkerboards and stripes show). Trainings
go to ``--runs``; run it with nothing else on the CPU.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import shutil
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("NOISE2X_DATA", HERE.parent.parent / "shared" / "data"))
FMD = DATA / "real" / "FMD_Confocal_BPAE_B"
RESULTS = HERE / "results"
CAPTURE = "HV110_P0500510000.png"
N2V2_NET = ["net.pool=blur", "net.top_skip=false"]
STRUCT = ["method.struct_length=7", "method.struct_axis=rows"]


def trainings(
    part: str, steps: int, runs: Path, work: Path, ratio: float | None = None
) -> dict[str, list[str]]:
    """Return the ``noise2x train`` overrides of each model of `part`.

    `ratio` (fraction of blind-spot pixels per crop) overrides the method's own (the paper's
    0.2 %) for every blind-spot model of the part; None keeps it.
    """
    jobs = _trainings(part, steps, runs, work)
    if ratio is None:
        return jobs
    return {
        name: [*o, f"method.ratio={ratio}"] if any(x in ("method=n2v", "method=n2v2") for x in o)
        else o
        for name, o in jobs.items()
    }  # fmt: skip


def _trainings(part: str, steps: int, runs: Path, work: Path) -> dict[str, list[str]]:
    import n2n  # benchmarks/n2n.py: the script's folder is on sys.path

    base = [
        o
        for o in n2n.training_overrides("gauss25", "n2n", steps, runs / part)
        if not o.startswith("run.root")
    ]
    if part == "bsd68":
        return {
            "n2v": [*base, "method=n2v", f"run.root={runs / part / 'n2v'}"],
            "n2v2": [*base, "method=n2v2", *N2V2_NET, f"run.root={runs / part / 'n2v2'}"],
        }
    if part == "structured":
        plain = [o for o in base if not o.startswith("noise")] + ["noise=structured"]
        return {
            "n2v": [*plain, "method=n2v", f"run.root={runs / part / 'n2v'}"],
            "structn2v": [*plain, "method=n2v", *STRUCT, f"run.root={runs / part / 'structn2v'}"],
            "ne2ne": [*plain, "method=ne2ne", f"run.root={runs / part / 'ne2ne'}"],
        }
    if part == "fmd":
        folder = work / "fmd-single"
        folder.mkdir(parents=True, exist_ok=True)
        for field in range(1, 15):  # the first raw capture of fields 1-14, as single images
            target = folder / f"{field:02d}.png"
            if not target.exists():
                shutil.copyfile(FMD / "raw" / str(field) / CAPTURE, target)
        common = [
            "data=noisy_folder", f"data.root={folder}", "data.val_count=2", "data.patch_size=64",
            "data.batch_size=8", "data.num_workers=0", "net=unet_n2n", "loss=l2",
            f"trainer.max_steps={steps}", f"trainer.val_every_n_steps={max(1, steps // 4)}",
            f"trainer.checkpoint_every_n_steps={max(1, steps // 4)}", "trainer.threads=1",
            "trainer.progress_bar=false", "logger=none",
        ]  # fmt: skip
        return {
            "n2v": [*common, "method=n2v", f"run.root={runs / part / 'n2v'}"],
            "n2v2": [*common, "method=n2v2", *N2V2_NET, f"run.root={runs / part / 'n2v2'}"],
        }
    raise ValueError(part)


def train_job(job: tuple[str, list[str]]) -> dict:
    """Train one model; return its last checkpoint and training time."""
    from noise2x.train.runs import train

    name, overrides = job
    result = train(overrides)
    ratio = [float(o.split("=", 1)[1]) for o in overrides if o.startswith("method.ratio=")]
    return {
        "model": name,
        **({"ratio": ratio[-1]} if ratio else {}),
        "checkpoint": str(result.last_checkpoint),
        "seconds": round(result.seconds, 1),
        "steps": result.steps,
    }


def score_image(out: np.ndarray, clean: np.ndarray) -> dict:
    """PSNR (dB) and SSIM of `out` clipped to [0, 1] against `clean`: (C, H, W) float32 arrays."""
    from noise2x.metrics import psnr_np, ssim_np

    out = np.clip(out, 0.0, 1.0)
    return {
        "psnr_db": round(psnr_np(out, clean, 1.0), 3),
        "ssim": round(ssim_np(out, clean, 1.0), 4),
    }


def test_inputs(part: str, limit: int | None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, clean, noisy) of every test image of `part`, noise drawn as the part says."""
    import n2n
    import torch
    import zsn2n as zs

    from noise2x.data.io import list_images, read_image
    from noise2x.noise import add_noise

    items = []
    if part == "bsd68":
        for i, path in enumerate(list_images([DATA / "BSD68"])[:limit]):
            clean = read_image(path)[0]
            items.append((path.name, clean, n2n.noisy_image(clean, "gauss25", i)))
    elif part == "structured":
        for i, path in enumerate(list_images([DATA / "Set12"])[:limit]):
            clean = read_image(path)[0]
            noisy = add_noise(torch.from_numpy(clean)[None], "structured", seed=i)[0].numpy()
            items.append((path.name, clean, noisy))
    elif part == "fmd":
        for field in ["17", "18", "19", "20"][:limit]:
            items.append(
                (
                    field,
                    read_image(FMD / "gt" / field / "avg50.png")[0],
                    read_image(FMD / "raw" / field / CAPTURE)[0],
                )
            )
    elif part == "single":
        for path in list_images([DATA / "Set12"])[:limit]:
            clean = read_image(path)[0]
            seed = zs.job_seed("Set12", path.name, "gauss25")
            items.append((path.name, clean, zs.make_noisy(clean, "gauss25", seed)))
    return items


def evaluate(part: str, models: dict[str, str], limit: int | None, ensemble: int = 1) -> list[dict]:
    """Score each trained model (and BM3D where the part has it) on the part's test inputs.

    `ensemble` is the self-ensemble of the models' inference (``noise2x.denoise(...,
    ensemble=N)``: N flips / rotations averaged; 1 is one pass).
    """
    import torch

    import noise2x
    from noise2x.methods.bm3d import bm3d_denoise
    from noise2x.noise.estimate import estimate_sigma

    torch.set_num_threads(1)
    rows = []
    for name, clean, noisy in test_inputs(part, limit):
        row = {"part": part, "image": name, "noisy": score_image(noisy, clean)}
        for model, checkpoint in models.items():
            start = time.perf_counter()
            out = noise2x.denoise(
                noisy, checkpoint=checkpoint, normalize="none", device="cpu", ensemble=ensemble
            )
            seconds = round(time.perf_counter() - start, 2)
            row[model] = {**score_image(out, clean), "seconds": seconds}
        if part == "structured":
            start = time.perf_counter()
            out = bm3d_denoise(noisy, estimate_sigma(noisy))
            seconds = round(time.perf_counter() - start, 2)
            row["bm3d"] = {**score_image(out, clean), "seconds": seconds}
        rows.append(row)
        print(
            part, name, {k: v["psnr_db"] for k, v in row.items() if isinstance(v, dict)}, flush=True
        )
    return rows


def single_job(job: tuple[str, int | None, int]) -> dict:
    """Run ``--method n2v`` on one Set12 image (one thread)."""
    import torch

    import noise2x

    name, steps, _ = job
    torch.set_num_threads(1)
    item = next(i for i in test_inputs("single", None) if i[0] == name)
    start = time.perf_counter()
    settings = {} if steps is None else {"steps": steps}
    out = noise2x.denoise(item[2], method="n2v", normalize="none", device="cpu", **settings)
    return {
        "part": "single",
        "image": name,
        "noisy": score_image(item[2], item[1]),
        "n2v": {**score_image(out, item[1]), "seconds": round(time.perf_counter() - start, 1)},
    }


LABELS = {  # also the order of the rows of each part's table
    "noisy": "noisy input",
    "n2v": "N2V",
    "n2v_48k": "N2V 48k (6 % blind spots, 48000 steps)",
    "n2v_48k_x8": "N2V 48k x8 (48000 steps, 8-fold self-ensemble)",
    "n2v_b16": "N2V b16 (16 crops per step, 32000 steps)",
    "n2v_cp": "N2V cp (uniform_withCP replacement: centre drawn too, 24000 steps)",
    "n2v_cp_x8": "N2V cp x8 (24000 steps, 8-fold self-ensemble)",
    "n2v_cp_48k": "N2V cp 48k (uniform_withCP replacement, 48000 steps)",
    "n2v2": "N2V2",
    "n2v2_x8": "N2V2 x8 (24000 steps, 8-fold self-ensemble)",
    "n2v_paper": "N2V 0.2% (blind spots, 6000 steps)",
    "n2v2_paper": "N2V2 0.2% (blind spots, 6000 steps)",
    "structn2v": "structN2V (line of 7 along rows)",
    "ne2ne": "Ne2Ne",
    "bm3d": "BM3D (sigma estimated)",
}
COMMITTED = {  # part: [(method, label, file)] read from benchmarks/results on identical inputs
    "bsd68": [
        ("ne2ne", "Ne2Ne (single noisy images)", "downsamplers.json"),
        ("n2n", "N2N (noisy pairs)", "n2n.json"),
        ("n2c", "N2C (clean targets)", "n2n.json"),
        ("bm3d", "BM3D (true sigma)", "n2n.json"),
    ],
    "fmd": [
        ("n2n", "N2N (real capture pairs)", "real_fmd.json"),
        ("zsn2n", "ZS-N2N (2000 steps)", "real_fmd.json"),
        ("bm3d", "BM3D (sigma estimated)", "real_fmd.json"),
        ("prior", "shipped prior (default of noise2x denoise)", "prior.json"),
        ("prior_adapt", "shipped prior + adapt", "prior.json"),
    ],
    "single": [
        ("zsn2n", "ZS-N2N (2000 steps)", "zsn2n.json"),
        ("self2self", "Self2Self (1000 steps, 32 passes)", "self2self.json"),
        ("prior", "shipped prior (default of noise2x denoise)", "prior.json"),
    ],
}


def merge_rows(report: dict, part: str, rows: list[dict]) -> None:
    """Add the models scored in `rows` (``evaluate``'s) to `report`'s rows of `part`.

    Raises
    ------
    ValueError
        If the part's rows are not the same images, or a noisy input differs (the
        comparison would not be on identical inputs).
    """
    have = {r["image"]: r for r in report["rows"] if r["part"] == part}
    if not have:
        report["rows"] += rows
        return
    if set(have) != {r["image"] for r in rows}:
        raise ValueError(f"{part}: the new rows are not the images of the stored ones")
    for row in rows:
        old = have[row["image"]]
        if old["noisy"] != row["noisy"]:
            raise ValueError(f"{part}/{row['image']}: the noisy input differs from the stored one")
        old.update({k: v for k, v in row.items() if k not in ("part", "image", "noisy")})


def _cell(entry: dict) -> dict:
    return {k: entry[k] for k in ("psnr_db", "ssim", "seconds") if k in entry}


def committed(part: str) -> dict[str, dict[str, dict]]:
    """Return {image: {method: {psnr_db, ssim, seconds}}} of the committed results of `part`."""
    out: dict[str, dict[str, dict]] = {}
    files = {
        file: json.loads((RESULTS / file).read_text()) for _, _, file in COMMITTED.get(part, [])
    }
    for method, _, file in COMMITTED.get(part, []):
        report = files[file]
        if file == "downsamplers.json":
            (ne2ne,) = [
                r for r in report["rows"] if r["part"] == "ne2ne" and r["noise"] == "gauss25"
            ]
            for image in ne2ne["images"]:
                out.setdefault(image["image"], {})[method] = _cell(image)
        elif file == "n2n.json":
            for image in report["images"]:
                if image["noise"] == "gauss25" and image["set"] == "BSD68":
                    out.setdefault(image["image"], {})[method] = _cell(image[method])
        elif file == "real_fmd.json":
            for row in report["rows"]:
                if row["method"] == method:
                    out.setdefault(row["field"], {})[method] = _cell(row)
        elif file == "zsn2n.json":
            for row in report["rows"]:
                if (row["dataset"], row["noise"], row["method"]) == ("Set12", "gauss25", "noise2x"):
                    out.setdefault(row["image"], {})[method] = _cell(row)
        elif file == "prior.json":
            wanted = ("FMD", "real") if part == "fmd" else ("Set12", "gauss25")
            for row in report["rows"]:
                if (row["set"], row["noise"]) == wanted and method in row["methods"]:
                    out.setdefault(row["image"], {})[method] = _cell(row["methods"][method])
        elif file == "self2self.json":
            for row in report["rows"]:
                if (row["noise"], row["method"]) == ("gauss25", "self2self"):
                    out.setdefault(row["image"], {})[method] = _cell(row)
    return out


README_ROWS = {  # part: the methods the README's condensed table shows (same images per part)
    "bsd68": ("N2V", "N2V 48k", "N2V cp", "N2V cp 48k", "N2V2", "N2V2 x8", "Ne2Ne", "N2N", "BM3D"),
    "fmd": ("N2V", "N2V2", "N2N", "ZS-N2N", "shipped prior + adapt"),
    "structured": ("N2V", "structN2V", "Ne2Ne", "BM3D"),
    "single": ("N2V", "shipped prior"),
}


def readme(markdown: str) -> str:
    """Return the README's condensed table: a few rows of each part of `render`'s tables."""
    lines = [
        "Blind-spot benchmark (all rows and budgets: [the N2V page](docs/methods/n2v.md)); "
        "PSNR (dB) / SSIM, mean over n images; rows marked * from other benchmarks' results "
        "on identical inputs.",
        "",
        "| part | method | n | PSNR / SSIM | seconds per image |",
        "| --- | --- | --- | --- | --- |",
    ]
    part = None
    for line in markdown.splitlines():
        if line.startswith("**"):
            part = line[2:].split("**")[0]
        elif line.startswith("| ") and not line.startswith(("| method", "| ---")):
            cells = [c.strip() for c in line.strip("|").split("|")]
            name = cells[0].split(" (")[0].rstrip(" *")
            if name in README_ROWS.get(part, ()):
                lines.append(f"| {part} | {' | '.join(cells[:4])} |")
    return "\n".join(lines) + "\n"


def render(report: dict) -> str:
    """Render the Markdown tables of the parts that ran, beside the committed results.

    Every method's row is its mean over the images it has; a committed method that covers
    only some of the part's images also shows the first method of the part (N2V) on those
    same images, so that no comparison mixes image sets.
    """
    lines = [
        f"Blind-spot benchmark, {report['date']}, {report['machine']['cpu']}, one thread per "
        "process, nothing else on the CPU; PSNR (dB) / SSIM on [0, 1], mean over n images. "
        "Rows marked * are read from the committed results of other benchmarks on identical "
        "noisy inputs (their seconds as recorded there)."
    ]
    for part in ("bsd68", "fmd", "structured", "single"):
        rows = [r for r in report["rows"] if r["part"] == part]
        if not rows:
            continue
        ours = [k for k in rows[0] if isinstance(rows[0][k], dict)]
        ours.sort(key=lambda m: list(LABELS).index(m) if m in LABELS else len(LABELS))
        theirs = committed(part)
        table = [_table_row(LABELS.get(m, m), [r[m] for r in rows], None) for m in ours]
        partial = False
        for method, label, _ in COMMITTED.get(part, []):
            pairs = [(theirs[r["image"]][method], r["n2v"]) for r in rows
                     if method in theirs.get(r["image"], {})]  # fmt: skip
            if pairs:
                same = None if len(pairs) == len(rows) else [n2v for _, n2v in pairs]
                partial = partial or same is not None
                table.append(_table_row(label + " *", [c for c, _ in pairs], same))
        header = "| method | n | PSNR / SSIM | seconds per image |"
        if partial:
            header += " N2V on the same images |"
        else:
            table = [row.rsplit(" |", 2)[0] + " |" for row in table]
        lines += ["", f"**{part}** ({len(rows)} images; {TITLES[part]})", "", header,
                  "| --- " * header.count(" | ") + "| --- |", *table]  # fmt: skip
    if report.get("note"):
        lines += ["", report["note"]]
    lines += [
        "",
        "Training (one thread each, two at a time, unless stated): "
        + "; ".join(_training_text(t) for t in report["training"]),
    ]
    return "\n".join(lines) + "\n"


def _training_text(t: dict) -> str:
    """One training record as text; a resumed run says which steps its minutes cover."""
    text = f"{t['part']}/{t['model']} {t['steps']} steps"
    text += f" (ratio {t['ratio']:g})" if "ratio" in t else ""
    text += f", {t['batch_size']} crops per step" if "batch_size" in t else ""
    text += f", {t['replacement']} replacement" if "replacement" in t else ""
    if "timed_steps" in t:  # resumed: only the last timed_steps were timed
        first = t["steps"] - t["timed_steps"]
        return (
            text
            + f", {t['threads']} threads: steps {first}-{t['steps']} in {t['seconds'] / 60:.1f} min"
        )
    text += f", {t['threads']} threads" if "threads" in t else ""
    return text + f" in {t['seconds'] / 60:.1f} min"


TITLES = {
    "bsd68": "Gaussian sigma 25; trained on noisy Train400 only, 8 crops of 64x64 per step; "
    "N2V and N2V2 with 6 % blind spots for 24000 steps (N2V 48k: 48000 steps; N2V b16: 16 "
    "crops per step, 32000 steps; N2V cp: the centre can be drawn as its own replacement; "
    "N2V cp 48k: the same, 48000 steps), the 0.2% rows at the paper's ratio",
    "fmd": "real confocal noise; trained on the first raw capture of fields 1-14, no pairs",
    "structured": "Set12 with row-correlated noise; trained on noisy Train400 only",
    "single": "Set12 at sigma 25; n2v trained on the one image it denoises",
}


def _table_row(label: str, cells: list[dict], n2v_same: list[dict] | None) -> str:
    psnr = np.mean([c["psnr_db"] for c in cells])
    ssim = np.mean([c["ssim"] for c in cells])
    seconds = [c["seconds"] for c in cells if "seconds" in c]
    secs = f"{np.mean(seconds):.1f}" if seconds else "–"
    same = "–"
    if n2v_same is not None:
        same = f"{np.mean([c['psnr_db'] for c in n2v_same]):.2f} / "
        same += f"{np.mean([c['ssim'] for c in n2v_same]):.3f}"
    return f"| {label} | {len(cells)} | {psnr:.2f} / {ssim:.3f} | {secs} | {same} |"


FIGURE = [("bsd68", "test003.png"), ("structured", "05.png"), ("fmd", "19")]
CROP = 80


def figure(report: dict, path: Path) -> None:
    """Crops (CROP x CROP pixels, centre) of clean / noisy / every model, one row per FIGURE."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    import noise2x
    from noise2x.methods.bm3d import bm3d_denoise
    from noise2x.metrics import psnr_np
    from noise2x.noise.estimate import estimate_sigma

    torch.set_num_threads(1)
    panels = []
    for part, name in FIGURE:
        models = {t["model"]: t["checkpoint"] for t in report["training"] if t["part"] == part}
        if not models:
            continue
        _, clean, noisy = next(i for i in test_inputs(part, None) if i[0] == name)
        outs = {"clean": clean, "noisy": noisy}
        for model, checkpoint in models.items():
            outs[model] = noise2x.denoise(noisy, checkpoint=checkpoint, normalize="none")
        if part == "structured":
            outs["bm3d"] = bm3d_denoise(noisy, estimate_sigma(noisy))
        panels.append((part, name, outs))
    width = max(len(outs) for _, _, outs in panels)
    fig, axes = plt.subplots(
        len(panels), width, figsize=(2.2 * width, 2.4 * len(panels)), squeeze=False
    )
    for ax_row, (part, name, outs) in zip(axes, panels, strict=True):
        clean = outs["clean"]
        h, w = clean.shape[-2:]
        top, left = (h - CROP) // 2, (w - CROP) // 2
        for ax in ax_row:
            ax.axis("off")
        for ax, (method, image) in zip(ax_row, outs.items(), strict=False):
            image = np.clip(image, 0, 1)
            ax.imshow(image[0, top : top + CROP, left : left + CROP], cmap="gray", vmin=0, vmax=1,
                      interpolation="nearest")  # fmt: skip
            title = LABELS.get(method, method).split(" (")[0]
            if method != "clean":
                title += f" {psnr_np(image, clean, 1.0):.2f} dB"
            ax.set_title(title, fontsize=8)
        ax_row[0].text(-6, CROP // 2, f"{part}\n{name}", fontsize=8, ha="right", va="center")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> None:
    from noise2x.report import write_result

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=["bsd68", "fmd", "structured", "single"])
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument(
        "--single-steps", type=int, default=None, help="n2v steps (default: its own)"
    )
    parser.add_argument(
        "--ratio",
        type=float,
        default=None,
        help="blind-spot pixel fraction of the N2V/N2V2 models (default: the paper's 0.002)",
    )
    parser.add_argument(
        "--redo",
        action="store_true",
        help="rerun the listed parts, replacing their rows and training records",
    )
    parser.add_argument(
        "--evaluate",
        nargs="+",
        metavar="MODEL=CHECKPOINT",
        help="no training: score these checkpoints on the one part of --parts and add them to "
        "its rows as MODEL",
    )
    parser.add_argument(
        "--ensemble",
        type=int,
        default=1,
        help="with --evaluate: flips / rotations averaged at inference (1-8)",
    )
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=Path, default=Path("runs/bench-blind-spot"))
    parser.add_argument("--out", type=Path, default=RESULTS / "blind_spot.json")
    parser.add_argument("--table-only", action="store_true")
    parser.add_argument(
        "--figure", action="store_true", help="only draw the crops of the trained models"
    )
    args = parser.parse_args()
    if args.table_only or args.figure:
        report = json.loads(args.out.read_text())
        report["markdown"] = render(report)
        report["readme"] = readme(report["markdown"])
        write_result(report, args.out)  # JSON and .md, each atomically
        if args.figure:
            figure(report, args.out.with_suffix(".png"))
        return
    if args.evaluate:
        if len(args.parts) != 1:
            parser.error("--evaluate scores one part: give one --parts")
        bad = [item for item in args.evaluate if "=" not in item]
        if bad:
            parser.error(f"--evaluate takes MODEL=CHECKPOINT, got {bad[0]!r}")
        models = dict(item.split("=", 1) for item in args.evaluate)
        report = json.loads(args.out.read_text())
        rows = evaluate(args.parts[0], models, args.limit, args.ensemble)
        merge_rows(report, args.parts[0], rows)
        report["markdown"] = render(report)
        report["readme"] = readme(report["markdown"])
        write_result(report, args.out)
        print(report["markdown"], flush=True)
        return
    from noise2x.report.machine import machine

    report = json.loads(args.out.read_text()) if args.out.exists() else {
        "benchmark": "blind_spot", "date": dt.date.today().isoformat(), "machine": machine(),
        "steps": args.steps, "rows": [], "training": [],
    }  # fmt: skip
    if args.redo:
        report["rows"] = [r for r in report["rows"] if r["part"] not in args.parts]
        report["training"] = [t for t in report["training"] if t["part"] not in args.parts]
    done = {r["part"] for r in report["rows"]}
    ctx = mp.get_context("spawn")
    for part in args.parts:
        if part in done and part != "single":
            continue
        if part == "single":  # one job per image: a rerun with a larger --limit adds the rest
            have = {r["image"] for r in report["rows"] if r["part"] == "single"}
            names = [n for n, _, _ in test_inputs("single", args.limit) if n not in have]
            with ctx.Pool(args.workers) as pool:
                report["rows"] += pool.map(single_job, [(n, args.single_steps, 0) for n in names])
        else:
            jobs = list(trainings(part, args.steps, args.runs, args.runs, args.ratio).items())
            with ctx.Pool(args.workers) as pool:
                trained = pool.map(train_job, jobs)
            report["training"] += [{"part": part, **t} for t in trained]
            models = {t["model"]: t["checkpoint"] for t in trained}
            report["rows"] += evaluate(part, models, args.limit)
        report["markdown"] = render(report)
        report["readme"] = readme(report["markdown"])
        write_result(report, args.out)  # JSON and .md, each atomically
        print(report["markdown"], flush=True)


if __name__ == "__main__":
    main()
