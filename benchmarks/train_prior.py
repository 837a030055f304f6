# size: one recipe (pairs, training, stages, level ranges, export with metadata), documented
"""Train the shipped denoiser prior on noisy pairs only: no clean image in training or selection.

The recipe, one grey and one colour model:

1. **Noisy pairs on disk**, written by ``noise2x add-noise`` from the clean training sets
   (../shared/data/Train400, 400 grey 180x180; ../shared/data/CBSD432, 432 colour 481x321;
   the ``grey832`` model: both, CBSD432 as grey).
   Each image gets several independent pairs, one per *kind*, at a level drawn per image
   (``--sigma LO:HI`` / ``--lam LO:HI`` with one ``--level-seed`` for both views of a pair
   and a different ``--seed`` for each view), written as float32 TIFF without clipping so that
   each view is an unbiased noisy view of the other:

   - ``g0``, ``g1``, ``g2``: Gaussian, sigma uniform in [0, 55] (0-255 scale; grey uses all
     three, colour ``g0`` and ``g1``);
   - ``p``: Poisson, lambda log-uniform in [10, 200] photons at intensity 1;
   - ``pg``: Poisson-Gaussian, lambda log-uniform in [10, 200] and sigma uniform in [0, 25].

   The files are named ``<image>_<kind>``, so the last ``val_images`` images (all their kinds)
   are held out whole for validation. ``--draw N`` (N >= 1) shifts every seed
   (``pair_seeds``): the pairs of a later stage are then new noise realisations, not the
   first draw's standard-normal draws rescaled to the stage's range (every stage before the
   ``--draw 1`` stages below used draw 0).
2. **Noise2Noise training** with ``noise2x train method=n2n data=pairs`` on those folders
   alone: the paper's U-Net (``net=unet_n2n``), L2 loss (colour) or ``--loss l2_level``
   (grey: each pair's error divided by the square root of its own noise variance, estimated
   from the pair; ``noise2x.losses.level``), Adam with the
   Noise2Noise ramp-down, crops of 64x64, batches of 8, one torch thread per model, the two
   models side by side.
   Model selection uses the noisy-target PSNR of the held-out pairs (``val/psnr_db``), which
   ranks models as a clean PSNR would in expectation; ``best.ckpt`` is the one exported.
3. **Export**: ``--export`` writes ``src/noise2x/weights/prior_{grey,colour}.safetensors``
   with their metadata (this recipe, data, noise ranges, steps, seed, commit, training time).

Resumable: rerunning the same command skips the pairs already written and resumes each
training from the ``last.ckpt`` of its newest run under ``WORK/runs/<model>/``. Stop it with
Ctrl-C or ``kill PID`` (its trainings end with it); a run that another process still trains
is refused (``noise2x.train.lock``).

**Later stages.** ``--init prior_grey.safetensors`` (or another ``.safetensors`` file that
this script exported) starts a new training from those weights instead of random ones
(``run.init``; a shipped prior is first copied to ``WORK/init/``, so that an export over it
cannot change the record), with its own ``--lr``, ``--rampdown``, ``--steps`` and
``--threads``; the export then lists every stage in the metadata (``stages``: recipe, steps,
seconds, validation PSNR, commit, date) and sums the steps and seconds.
``benchmarks/prior_validation.py`` decides on validation images whether a stage is kept, and
``benchmarks/prior_gate.py`` how stages are combined: the shipped grey prior's default net is
the ``l2_level`` stage of 20,000 steps (``prior_grey.safetensors``) started from the first
24,000-step grey prior; its low- and high-noise nets are third stages on pairs of part of the
levels (below); the shipped colour prior is a second stage of 16,000 steps of its own recipe
(see the prior's page).

Usage::

    python benchmarks/train_prior.py --models grey --loss l2_level    # the first grey prior
    python benchmarks/train_prior.py --models colour                   # the first colour prior
    python benchmarks/train_prior.py --steps 500 --work runs/prior-smoke --no-export
    python benchmarks/train_prior.py --export-only        # export the finished trainings

The shipped second stages, from the first priors (``git show
e680307:src/noise2x/weights/prior_grey.safetensors > first_grey.safetensors``, the same for
``prior_colour``)::

    python benchmarks/train_prior.py --models grey --loss l2_level --steps 20000 --threads 2 \
        --init "$PWD/first_grey.safetensors" --work runs/prior-stage2
    python benchmarks/train_prior.py --models grey --loss l2 --steps 10000 --threads 2 \
        --init "$PWD/first_grey.safetensors" --work runs/prior-stage2-l2 \
        --export-as prior_grey_high.safetensors   # its high-noise net until the third stage
    python benchmarks/train_prior.py --models colour --steps 16000 \
        --init "$PWD/first_colour.safetensors" --work runs/prior-colour2

**Nets for part of the levels**, the shipped grey prior's low- and high-noise nets: third
stages from the two second-stage nets above (``prior_grey.safetensors`` and the high-noise
net shipped before, kept under ``WORK/init/``), on pairs of narrower level ranges
(``--sigma`` / ``--lam``; the pairs go to their own ``--work``), one thread each, side by
side (47 min)::

    python benchmarks/train_prior.py --models grey --loss l2_level --sigma 0:35 --lam 25:200 \
        --init prior_grey.safetensors --lr 1e-4 --rampdown 0.5 --steps 10000 \
        --work runs/spec-low --export-as prior_grey_low.safetensors
    python benchmarks/train_prior.py --models grey --loss l2 --sigma 30:55 --lam 10:40 \
        --init prior_grey_high.safetensors --lr 1e-4 --rampdown 0.5 --steps 10000 \
        --work runs/spec-high --export-as prior_grey_high.safetensors

``benchmarks/prior_gate.py --bands`` then chose the estimated-sigma bands of the three nets.

**Fourth stage** (the shipped low-noise net: from the third-stage one, on pairs of its own
band's levels; and a middle-noise net from the default one, which lost to it and is not
shipped), one thread each, side by side (95 min)::

    python benchmarks/train_prior.py --models grey --loss l2_level --sigma 8:24 --lam 50:300 \
        --init prior_grey_low.safetensors --lr 1e-4 --rampdown 0.5 --steps 16000 \
        --work runs/spec-low2 --export-as prior_grey_low.safetensors
    python benchmarks/train_prior.py --models grey --loss l2_level --sigma 15:42 --lam 15:100 \
        --init prior_grey.safetensors --lr 1e-4 --rampdown 0.5 --steps 16000 \
        --work runs/spec-mid --no-export

**One more stage of each grey net, on new noise** (``--draw 1``: every earlier stage trained
on the first draw's noise patterns, rescaled to its range): each of the three shipped grey
nets from itself (the default net's third stage, the high-noise net's fourth, the low-noise
net's fifth), on new pairs of its own training levels, three trainings side by side, one
thread each (about 95 min); ``--export-only --export-as ...`` then exports the ones that
``prior_gate.py`` keeps::

    python benchmarks/train_prior.py --models grey --loss l2_level --sigma 8:24 --lam 50:300 \
        --init prior_grey_low.safetensors --lr 1e-4 --rampdown 0.5 --steps 16000 --draw 1 \
        --work runs/spec-low3 --no-export
    python benchmarks/train_prior.py --models grey --loss l2_level \
        --init prior_grey.safetensors --lr 1e-4 --rampdown 0.5 --steps 16000 --draw 1 \
        --work runs/grey3 --no-export
    python benchmarks/train_prior.py --models grey --loss l2 --sigma 30:55 --lam 10:40 \
        --init prior_grey_high.safetensors --lr 1e-4 --rampdown 0.5 --steps 16000 --draw 1 \
        --work runs/spec-high2 --no-export

**Grey nets on more images** (``--models grey832``: the pairs are written from Train400 and
from the luma of CBSD432, 832 images, 6.1 times Train400's pixels; `source_folders`): one more
stage of each of the three shipped grey nets on pairs of its own training levels, on a new
noise draw, three trainings side by side, one thread each (69 min)::

    python benchmarks/train_prior.py --models grey832 --loss l2_level --sigma 8:24 \
        --lam 50:300 --init prior_grey_low.safetensors --lr 1e-4 --rampdown 0.5 --steps 12000 \
        --draw 2 --work runs/b832-low --no-export
    python benchmarks/train_prior.py --models grey832 --loss l2_level \
        --init prior_grey_mid.safetensors --lr 1e-4 --rampdown 0.5 --steps 12000 --draw 2 \
        --work runs/b832-mid --no-export
    python benchmarks/train_prior.py --models grey832 --loss l2 --sigma 30:55 --lam 10:40 \
        --init prior_grey_high.safetensors --lr 1e-4 --rampdown 0.5 --steps 12000 --draw 2 \
        --work runs/b832-high --no-export

``prior_gate.py`` kept the low-noise one (``--models grey832 --work runs/b832-low
--export-only --export-as prior_grey_low.safetensors``); the other two did not beat the
shipped nets in their bands.

**Larger crops** (``--patch 128 --batch 2``: 128x128 crops, two per step, the pixels of a step
of 8 crops of 64x64): a stage of the middle-noise net on pairs of Train400 and the grey
CBSD432 at sigma 18-42, beside the same stage on 64x64 crops and one more low-noise stage on
a new draw, three trainings side by side, one thread each (72 min)::

    python benchmarks/train_prior.py --models grey832 --loss l2_level --sigma 18:42 \
        --lam 15:100 --init prior_grey_mid.safetensors --lr 1e-4 --rampdown 0.5 --steps 12000 \
        --draw 3 --patch 128 --batch 2 --work runs/c-mid128 --no-export
    python benchmarks/train_prior.py --models grey832 --loss l2_level --sigma 18:42 \
        --lam 15:100 --init prior_grey_mid.safetensors --lr 1e-4 --rampdown 0.5 --steps 12000 \
        --draw 3 --work runs/c-mid --no-export
    python benchmarks/train_prior.py --models grey832 --loss l2_level --sigma 8:24 \
        --lam 50:300 --init prior_grey_low.safetensors --lr 1e-4 --rampdown 0.5 --steps 12000 \
        --draw 3 --work runs/c-low --no-export

``prior_gate.py`` kept the one on 128x128 crops (``--models grey832 --work runs/c-mid128
--export-only --export-as prior_grey_mid.safetensors``), for an estimated sigma in [17, 52):
on the same pairs the 128x128 crops gained 0.08 dB more at sigma 25 than the 64x64 ones.

**Every band on 128x128 crops**: a stage of each of the three band nets on 128x128 crops of
new pairs (``--draw 4``), the low-noise net at sigma 8-24, the middle-noise one (from the
one above, shipped in commit 1c92c64) on a band widened to 18-55, and the high-noise one on
40-60 with the level-weighted loss; the first two side by side for 12,000 steps, the third
beside them for 8,000 (one thread each; 85, 85 and 43 min of training)::

    python benchmarks/train_prior.py --models grey832 --loss l2_level --sigma 8:24 \
        --lam 50:300 --init prior_grey_low.safetensors --lr 1e-4 --rampdown 0.5 --steps 12000 \
        --draw 4 --patch 128 --batch 2 --work runs/d-low128 --no-export
    python benchmarks/train_prior.py --models grey832 --loss l2_level --sigma 18:55 \
        --lam 10:100 --init prior_grey_mid.safetensors --lr 1e-4 --rampdown 0.5 --steps 12000 \
        --draw 4 --patch 128 --batch 2 --work runs/d-mid128 --no-export
    python benchmarks/train_prior.py --models grey832 --loss l2_level --sigma 40:60 \
        --lam 10:30 --init prior_grey_high.safetensors --lr 1e-4 --rampdown 0.5 --steps 8000 \
        --draw 4 --patch 128 --batch 2 --work runs/d-high128 --no-export

``prior_gate.py`` kept all three (``--export-only --export-as prior_grey_low.safetensors``
and so on), with the bands 4, 27 and 39.

**256x256 crops for the low-noise net** (``--models grey432 --patch 256 --batch 1``: one crop
of 256x256 per step, twice the pixels of a step above, from the luma of CBSD432 alone, since
Train400's images are 180x180): two stages of the shipped low-noise net side by side on new
pairs, one thread each, 4,000 steps (70 min), one on its own levels and one on a band
widened to sigma 30 (where the gate still sends images to it)::

    python benchmarks/train_prior.py --models grey432 --loss l2_level --sigma 8:24 \
        --lam 50:300 --init prior_grey_low.safetensors --lr 1e-4 --rampdown 0.5 --steps 4000 \
        --draw 7 --patch 256 --batch 1 --work runs/f-low256 --no-export
    python benchmarks/train_prior.py --models grey432 --loss l2_level --sigma 8:30 \
        --lam 40:300 --init prior_grey_low.safetensors --lr 1e-4 --rampdown 0.5 --steps 4000 \
        --draw 8 --patch 256 --batch 1 --work runs/f-low30-256 --no-export

Each step took about 1.05 s (an AVX2 machine), and the best checkpoint by the noisy-target
validation was the last. On the validation images (``prior_gate.py``) both gain at sigma 15 to
25 over the shipped low-noise net (+0.02 / +0.02 / +0.02-0.04 dB at sigma 15 / 20 / 25) and lose
at sigma 5 (-0.3 dB) and on FMD; the mean of the sigma 8-30 stage's weights and its start
weights (``--average-with-init``) keeps those gains and loses less below its band. It is
shipped as a fifth grey net, for an estimated sigma in [12, 27) (bands 4, 12, 27, 39)::

    python benchmarks/train_prior.py --models grey432 --work runs/f-low30-256 --export-only \
        --average-with-init --export-as prior_grey_lowmid.safetensors

**A longer 256x256 stage of that net, and a 320x320 one.** Two more stages of the fifth net,
side by side on new pairs of its levels, one thread each: 4,500 steps on 256x256 crops
(1.09 s per step, 82 min) and 2,800 steps on 320x320 crops (1.98 s per step, 92 min)::

    python benchmarks/train_prior.py --models grey432 --loss l2_level --sigma 8:30 \
        --lam 40:300 --init prior_grey_lowmid.safetensors --lr 1e-4 --rampdown 0.5 \
        --steps 4500 --draw 9 --patch 256 --batch 1 --work runs/g-lowmid256 --no-export
    python benchmarks/train_prior.py --models grey432 --loss l2_level --sigma 8:30 \
        --lam 40:300 --init prior_grey_lowmid.safetensors --lr 1e-4 --rampdown 0.5 \
        --steps 2800 --draw 10 --patch 320 --batch 1 --work runs/h-lowmid320 --no-export

The 256x256 stage averaged with its start weights had the best gate on the validation
images (+0.005 / +0.007 / +0.009 dB at sigma 15 / 20 / 25 over the net it started from; the
320x320 stage gained less, alone or averaged with its start; the soups of both stages scored
below it on the gate's mean) and is the shipped fifth net::

    python benchmarks/train_prior.py --models grey432 --work runs/g-lowmid256 --export-only \
        --average-with-init --export-as prior_grey_lowmid.safetensors

References
----------
J. Lehtinen et al., "Noise2Noise", ICML 2018 (pairs, U-Net, ramp-down). K. Zhang et al.,
"Beyond a Gaussian Denoiser" (DnCNN-B: one model for sigma in [0, 55]), IEEE TIP 2017.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = Path(os.environ.get("NOISE2X_DATA", REPO.parent / "shared" / "data"))

# kind -> (noise model, add-noise options); the level ranges of the recipe.
KINDS = {
    "g0": ("gaussian", ["--sigma", "0:55"]),
    "g1": ("gaussian", ["--sigma", "0:55"]),
    "g2": ("gaussian", ["--sigma", "0:55"]),
    "p": ("poisson", ["--lam", "10:200"]),
    "pg": ("poisson_gaussian", ["--lam", "10:200", "--sigma", "0:25"]),
}
MODELS = {
    "grey": {"sources": ["Train400"], "kinds": ["g0", "g1", "g2", "p", "pg"], "channels": 1},
    "colour": {"sources": ["CBSD432"], "kinds": ["g0", "g1", "p", "pg"], "channels": 3},
    # grey nets on more images: Train400 and the luma of CBSD432 (832 images, 6.1x the pixels)
    "grey832": {
        "sources": ["Train400", "CBSD432"],
        "as_grey": ["CBSD432"],  # colour sources written as grey first (`source_folders`)
        "kinds": ["g0", "g1", "g2", "p", "pg"],
        "channels": 1,
    },
    # grey nets on crops larger than Train400's 180x180 images: the luma of CBSD432 alone
    # (481x321, 84 % of grey832's pixels), for --patch 256
    "grey432": {
        "sources": ["CBSD432"],
        "as_grey": ["CBSD432"],
        "kinds": ["g0", "g1", "g2", "p", "pg"],
        "channels": 1,
    },
}


def source_folders(model: str, work: Path) -> list[Path]:
    """Return the clean folders the pairs of `model` are written from, in their order.

    The model's ``as_grey`` sources (colour sets of a grey model) are first written as grey
    PNGs (luma, ITU-R 601, the weights of MATLAB's ``rgb2gray``, rounded to 8 bits) under
    ``WORK/sources/<source>-grey/``; a file already written is kept.
    """
    from PIL import Image

    spec = MODELS[model]
    folders = []
    for source in spec["sources"]:
        folder = DATA / source
        if source in spec.get("as_grey", ()):
            grey = work / "sources" / f"{source}-grey"
            grey.mkdir(parents=True, exist_ok=True)
            for path in sorted(folder.iterdir()):
                out = grey / f"{path.stem}.png"
                if path.suffix.lower() in (".png", ".jpg", ".bmp") and not out.exists():
                    with Image.open(path) as image:
                        image.convert("RGB").convert("L").save(out)
            folder = grey
        folders.append(folder)
    return folders


def kinds(sigma: str | None = None, lam: str | None = None) -> dict[str, tuple[str, list[str]]]:
    """Return `KINDS` with other level ranges: Gaussian sigma `sigma`, Poisson lambda `lam`.

    The ranges are ``"LO:HI"`` (None keeps the recipe's range). A narrower range trains a net
    for part of the levels (the grey prior's low- and high-noise nets, picked per image by the
    estimated sigma: ``noise2x.methods.prior``); the Poisson-Gaussian kind keeps its Gaussian
    part, sigma in [0, 25].
    """
    chosen = {}
    for kind, (noise, options) in KINDS.items():
        options = list(options)
        if sigma is not None and noise == "gaussian":
            options[options.index("--sigma") + 1] = sigma
        if lam is not None and noise != "gaussian":
            options[options.index("--lam") + 1] = lam
        chosen[kind] = (noise, options)
    return chosen


def pair_kinds(work: Path, model: str) -> dict[str, tuple[str, list[str]]]:
    """Return the kinds the pairs of `model` under WORK were written with (``noise.json``)."""
    record = work / "pairs" / model / "noise.json"
    if record.is_file():
        return {k: (v[0], v[1]) for k, v in json.loads(record.read_text()).items()}
    return KINDS


def pair_draw(work: Path, model: str) -> int:
    """Return the noise draw the pairs of `model` under WORK were written with (``draw.json``)."""
    record = work / "pairs" / model / "draw.json"
    return int(json.loads(record.read_text())["draw"]) if record.is_file() else 0


def pair_seeds(kind_index: int, draw: int = 0) -> tuple[int, int, int]:
    """Return the add-noise seeds (view a, view b, level) of the `kind_index`-th kind.

    Draw 0 is the recipe's first draw (the seeds of every stage before the ``--draw 1`` stages);
    draw ``d`` shifts every seed by ``100000 * d``, so that a later stage trains on new noise
    realisations and levels instead of the same standard-normal draws rescaled to its range.
    """
    shift = 100000 * draw
    base = 10000 * (kind_index + 1) + shift
    return base, base + 5000, 100 + kind_index + shift


def write_pairs(
    model: str, work: Path, sigma: str | None = None, lam: str | None = None, draw: int = 0
) -> tuple[Path, Path]:
    """Write the noisy pairs of `model` under WORK/pairs/<model>/{a,b} (skipping finished kinds).

    `sigma` and `lam` narrow the recipe's level ranges (`kinds`); `draw` picks the noise
    realisations (``pair_seeds``). The kinds used are recorded in
    ``WORK/pairs/<model>/noise.json`` and the draw in ``draw.json``; a rerun with other ranges
    or another draw is refused (the files already written would mix two recipes).
    """
    spec = MODELS[model]
    root = work / "pairs" / model
    chosen = kinds(sigma, lam)
    record = root / "noise.json"
    if record.is_file() and pair_kinds(work, model) != chosen:
        sys.exit(f"{root} holds pairs of other level ranges ({record}): use another --work")
    if not record.is_file() and any(root.glob(".*.done")) and chosen != KINDS:
        sys.exit(f"{root} holds pairs of the recipe's ranges: use another --work")
    written = pair_draw(work, model)
    if any(root.glob(".*.done")) and written != draw:
        sys.exit(f"{root} holds pairs of noise draw {written}: use another --work")
    root.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({k: list(v) for k, v in chosen.items()}, indent=1))
    if draw:
        (root / "draw.json").write_text(json.dumps({"draw": draw}))
    sources = source_folders(model, work)
    for k, kind in enumerate(spec["kinds"]):
        noise, options = chosen[kind]
        done = root / f".{kind}.done"
        if done.exists():
            continue
        seed_a, seed_b, level_seed = pair_seeds(k, draw)
        for view, seed in (("a", seed_a), ("b", seed_b)):
            stage = root / "stage" / kind / view
            shutil.rmtree(stage, ignore_errors=True)
            command = [
                sys.executable, "-m", "noise2x", "add-noise", *map(str, sources),
                "-o", str(stage), "--noise", noise, *options, "--output-dtype", "float32",
                "--seed", str(seed), "--level-seed", str(level_seed),
            ]  # fmt: skip
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            (root / view).mkdir(parents=True, exist_ok=True)
            for path in stage.iterdir():
                path.rename(root / view / f"{path.stem}_{kind}{path.suffix}")
        done.touch()
    shutil.rmtree(root / "stage", ignore_errors=True)
    return root / "a", root / "b"


def overrides(
    model: str,
    work: Path,
    steps: int,
    val_images: int,
    loss: str = "l2",
    init: str | None = None,
    threads: int = 1,
    lr: float = 3e-4,
    rampdown: float = 0.3,
    patch: int = 64,
    batch: int = 8,
) -> list[str]:
    """Return the ``noise2x train`` overrides of one model of the recipe.

    `loss` is ``l2`` (the Noise2Noise loss) or ``l2_level`` (each pair's error divided by its
    own noise variance, estimated from the pair: ``noise2x.losses.level``). `init` starts the
    net from trained weights (``run.init``: a ``.safetensors`` file or the name of a shipped
    prior) instead of random ones; `threads` is the torch threads of the training;
    `lr` and `rampdown` are Adam's learning rate and the fraction of the steps at the end over
    which it ramps down to 0 (the Noise2Noise schedule; ``rampdown=1`` ramps over the whole run);
    `patch` and `batch` are the side (pixels) and number of the training crops of a step.
    """
    spec = MODELS[model]
    root = work / "pairs" / model
    return [
        "method=n2n",
        "data=pairs",
        f"data.a={root / 'a'}",
        f"data.b={root / 'b'}",
        "data.normalize=none",  # the views are already on the [0, 1] scale, unclipped
        f"data.channels={spec['channels']}",
        f"data.val_count={val_images * len(spec['kinds'])}",
        f"data.patch_size={patch}",
        f"data.batch_size={batch}",
        "data.num_workers=0",
        "net=unet_n2n",
        f"loss={loss}",
        "seed=0",
        f"optim.lr={lr:g}",
        f"optim.rampdown={rampdown:g}",
        f"trainer.max_steps={steps}",
        f"trainer.val_every_n_steps={max(1, steps // 10)}",
        "trainer.checkpoint_every_n_steps=500",
        f"trainer.threads={threads}",
        "trainer.progress_bar=false",
        f"run.root={work / 'runs' / model}",
        *([f"run.init={init}"] if init else []),
    ]


def latest_run(work: Path, model: str) -> Path | None:
    """Return the newest run directory of `model` under WORK/runs with a ``last.ckpt``."""
    found = sorted((work / "runs" / model).glob("*/*/checkpoints/last.ckpt"), key=os.path.getmtime)
    return found[-1].parent.parent if found else None


def train_job(job: tuple[str, str, int, int, str, str | None, int, float, float, int, int]) -> dict:
    """Train (or resume) one model; returns its run directory, steps, seconds, val PSNR."""
    model, work_text, steps, val_images, loss, init, threads, lr, rampdown, patch, batch = job
    from noise2x.train.runs import train

    previous = latest_run(Path(work_text), model)
    if previous is not None:
        again = [f"trainer.max_steps={steps}", f"trainer.threads={threads}"]
        result = train(again, resume=previous)
    else:
        work = Path(work_text)
        settings = (loss, init, threads, lr, rampdown, patch, batch)
        result = train(overrides(model, work, steps, val_images, *settings))
    return {
        "model": model,
        "run_dir": str(result.run_dir),
        "steps": result.steps,
        "seconds": round(result.seconds, 1),
        "val_psnr_db": result.val_psnr_db,
    }


def start_weights(work: Path, init: str) -> Path:
    """Return the file a training of the recipe started from (``--init``), kept under WORK/init.

    A shipped prior named by its bare file name is copied to ``WORK/init/`` when the training
    starts (`main`), so that exporting over the shipped file later cannot change the record of
    where the training started.
    """
    path = Path(init).expanduser()
    if path.parent == Path(".") and (work / "init" / path.name).is_file():
        return work / "init" / path.name
    return path


def average_with(net: torch.nn.Module, other: torch.nn.Module) -> None:
    """Replace `net`'s weights, in place, by the mean of its own and `other`'s.

    The two nets must have the same architecture (the same state-dict keys and shapes): the
    start and the end of one fine-tuning stage, whose weight average (a two-ingredient "model
    soup", M. Wortsman et al., ICML 2022) often scores above both.

    Raises
    ------
    ValueError
        If the keys or a shape differ (the message names the first difference).
    """
    import torch

    mine, theirs = net.state_dict(), other.state_dict()
    if mine.keys() != theirs.keys():
        raise ValueError(f"cannot average: the nets' weights differ ({sorted(mine ^ theirs)[:3]})")
    for key, value in mine.items():
        if value.shape != theirs[key].shape:
            raise ValueError(
                f"cannot average: {key} is {tuple(value.shape)} and {tuple(theirs[key].shape)}"
            )
    with torch.no_grad():
        for key, value in mine.items():
            if value.is_floating_point():
                value.copy_((value + theirs[key].to(value)) / 2)


def export_prior(
    work: Path,
    model: str,
    checkpoint: str = "best.ckpt",
    name: str | None = None,
    average_with_init: bool = False,
) -> Path:
    """Write the selected checkpoint of `model` as ``src/noise2x/weights/prior_*.safetensors``.

    `name` is the file written under ``src/noise2x/weights/`` (default: the model's entry of
    ``noise2x.weights.PRIORS``; e.g. ``prior_grey_high.safetensors`` for the high-noise net).
    `average_with_init` writes the mean of the checkpoint's weights and the weights the stage
    started from (``--init``; `average_with`), recorded in the stage's metadata
    (``average_with_init``); its ``val_psnr_db`` stays the checkpoint's, measured before the
    average (``benchmarks/prior_gate.py`` scores the averaged net).

    The metadata record the recipe (this script and its training overrides), the data, the
    noise ranges, the checkpoint's step and validation PSNR (noisy targets), the seed, the
    commit and the training's wall time (from the run's creation to its last checkpoint).
    A training that started from earlier weights (``--init``) is the last of several
    *stages*: ``stages`` lists each stage's recipe, steps, seconds, validation PSNR, commit
    and date (the earlier ones read from the start file's metadata), and ``steps`` and
    ``seconds`` are the sums over the stages.
    """
    import torch

    from noise2x.train.checkpoint import load_denoiser
    from noise2x.weights import PRIORS, WEIGHTS_DIR, read_metadata, save_weights

    run_dir = latest_run(work, model)
    if run_dir is None:
        raise FileNotFoundError(f"no finished run of {model!r} under {work / 'runs' / model}")
    path = run_dir / "checkpoints" / checkpoint
    denoiser = load_denoiser(path)
    state = torch.load(path, map_location="cpu", weights_only=True)
    scores = [
        v.get("best_model_score")
        for k, v in state.get("callbacks", {}).items()
        if "ModelCheckpoint" in k and "'monitor': 'val/psnr_db'" in k
    ]
    best = float(scores[0]) if scores and scores[0] is not None else None
    # wall time from the run's creation to its last checkpoint (resumes and pauses included)
    seconds = (run_dir / "checkpoints" / "last.ckpt").stat().st_mtime - (
        run_dir / "config.yaml"
    ).stat().st_mtime
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    spec = MODELS[model]
    noise = pair_kinds(work, model)
    config = denoiser.config
    init = config["run"].get("init")
    recipe = "benchmarks/train_prior.py: noise2x train " + " ".join(
        overrides(
            model,
            Path("WORK"),
            config["trainer"]["max_steps"],
            4,
            config["loss"]["name"],
            init and Path(init).name,
            config["trainer"]["threads"],
            config["optim"]["lr"],
            config["optim"]["rampdown"],
            config["data"]["patch_size"],
            config["data"]["batch_size"],
        )
    )
    data = (
        "noisy pairs written by noise2x add-noise from "
        + " and ".join(f"../shared/data/{source}" for source in spec["sources"])
        + "".join(f" ({source} as grey: ITU-R 601 luma)" for source in spec.get("as_grey", ()))
        + " (no clean image in training or model selection)"
    )
    stage = {
        "recipe": recipe,
        "data": data,
        "steps": denoiser.step,
        "max_steps": config["trainer"]["max_steps"],
        "val_psnr_db": best,
        "seconds": round(seconds, 1),
        "commit": commit,
        "date": dt.date.today().isoformat(),
        "noise": {k: " ".join(noise[k][1]) + f" ({noise[k][0]})" for k in spec["kinds"]},
        "pair_draw": pair_draw(work, model),
    }
    if average_with_init:
        if not init:
            raise ValueError(f"{path}: --average-with-init needs a stage that started from --init")
        from noise2x.weights import load_net

        average_with(denoiser.net, load_net(start_weights(work, init))[0])
        stage["average_with_init"] = True  # the mean of this stage's end and start weights
    stages = [stage]
    if init:
        earlier = read_metadata(start_weights(work, init))
        stages = earlier.get("stages") or [{key: earlier.get(key) for key in stage}]
        stages = [
            {
                **s,
                "data": s.get("data") or earlier["data"],
                "noise": s.get("noise") or earlier["noise"],
                "pair_draw": s.get("pair_draw") or 0,
            }
            for s in stages
        ]  # every stage before the draws used draw 0, and the data of the file it started from
        stages = [*stages, stage]
    metadata = {
        "net": config["net"],
        "channels": spec["channels"],
        "recipe": " ; then ".join(s["recipe"] for s in stages),
        "data": data,  # of the last stage; each stage lists its own
        "noise": stage["noise"],  # of the last stage; each stage lists its own
        "steps": sum(s["steps"] for s in stages),
        "max_steps": sum(s["max_steps"] for s in stages),
        "val_psnr_db": best,
        "val": "PSNR of f(a) against the noisy b on the held-out pairs (noisy targets)",
        "seed": config["seed"],
        "commit": commit,
        "seconds": round(sum(s["seconds"] for s in stages), 1),
        "precision": config["trainer"]["precision"],
        "date": dt.date.today().isoformat(),
        **({"stages": stages} if len(stages) > 1 else {}),
    }
    return save_weights(WEIGHTS_DIR / (name or PRIORS[spec["channels"]]), denoiser.net, metadata)


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=24000)  # the shipped priors' budget
    parser.add_argument("--val-images", type=int, default=4)
    parser.add_argument("--work", type=Path, default=Path("runs/prior"))
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument(
        "--loss",
        default="l2",
        choices=["l2", "l2_level"],
        help="training loss: l2, or l2_level (each pair weighted by its own noise level)",
    )
    parser.add_argument(
        "--init",
        default=None,
        help="start from these weights: a .safetensors file or a shipped prior's name (run.init)",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads per training")
    parser.add_argument("--lr", type=float, default=3e-4, help="Adam's learning rate")
    parser.add_argument(
        "--rampdown", type=float, default=0.3, help="fraction of the steps the lr ramps down over"
    )
    parser.add_argument("--patch", type=int, default=64, help="side of the training crops (px)")
    parser.add_argument("--batch", type=int, default=8, help="training crops per step")
    parser.add_argument(
        "--sigma", default=None, help="Gaussian sigma range LO:HI of the pairs (0-255; 0:55)"
    )
    parser.add_argument(
        "--lam", default=None, help="Poisson lambda range LO:HI of the pairs (photons; 10:200)"
    )
    parser.add_argument(
        "--draw",
        type=int,
        default=0,
        help="noise draw of the pairs (0: the recipe's first; a new draw gives new realisations)",
    )
    parser.add_argument("--no-export", action="store_true")
    parser.add_argument("--export-only", action="store_true")
    parser.add_argument(
        "--average-with-init",
        action="store_true",
        help="export the mean of the trained weights and the --init weights it started from",
    )
    parser.add_argument(
        "--export-as",
        default=None,
        help="file name under src/noise2x/weights (one model; default: the shipped prior's)",
    )
    args = parser.parse_args()
    if args.draw < 0:
        parser.error(f"--draw {args.draw}: give 0 (the recipe's first draw) or a later draw")
    if args.export_as and len(args.models) != 1:
        parser.error("--export-as names the file of one model: give one name to --models")
    if args.init and not args.init.endswith(".safetensors"):
        parser.error(
            f"--init {args.init}: give a .safetensors weights file (a shipped prior's name or "
            "an exported prior): its metadata record the earlier stages for the export"
        )
    if args.average_with_init and not args.export_only and not args.init:
        parser.error("--average-with-init averages with the --init weights: give --init too")
    for model in args.models:
        for source in MODELS[model]["sources"]:
            if not (DATA / source).is_dir():
                sys.exit(f"missing data folder {DATA / source} (set NOISE2X_DATA)")
    args.work.mkdir(parents=True, exist_ok=True)
    log = args.work / "training.json"
    if not args.export_only:
        for model in args.models:
            write_pairs(model, args.work, args.sigma, args.lam, args.draw)
        if args.init and Path(args.init).parent == Path("."):
            from noise2x.weights import WEIGHTS_DIR

            shipped = WEIGHTS_DIR / args.init
            kept = args.work / "init" / args.init
            if shipped.is_file() and not kept.exists():
                kept.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(shipped, kept)  # the start weights, before an export replaces them
        settings = (
            args.loss,
            args.init,
            args.threads,
            args.lr,
            args.rampdown,
            args.patch,
            args.batch,
        )
        jobs = [(m, str(args.work), args.steps, args.val_images, *settings) for m in args.models]
        # `kill` (SIGTERM) of this process ends its trainings too: the pool is terminated on
        # the way out, instead of leaving the workers training on without a parent
        signal.signal(signal.SIGTERM, _exit_on_signal)
        with mp.get_context("spawn").Pool(len(jobs)) as pool:
            trained = pool.map(train_job, jobs)
        history = json.loads(log.read_text()) if log.exists() else []
        history.append({"date": dt.datetime.now().isoformat(timespec="seconds"), "runs": trained})
        log.write_text(json.dumps(history, indent=1))
        print(json.dumps(trained, indent=1), flush=True)
    if not args.no_export:
        for model in args.models:
            try:
                path = export_prior(
                    args.work, model, name=args.export_as, average_with_init=args.average_with_init
                )
            except (FileNotFoundError, ValueError) as err:
                sys.exit(f"cannot export {model} from {args.work}: {err}")
            print(f"exported {path}", flush=True)


if __name__ == "__main__":
    main()
