"""Symmetric fine-tuning on Prob4.png: pretrained vs safely fine-tuned vs the naive recipe.

The task (../shared/data/seed/README.md): Prob4.png (1024x1024, an MRI slice stored as
nearly grey RGB; converted here to grey as the mean of its three channels, on [0, 1]), two
realizations y1, y2 with Gaussian noise of variance 0.01 on the [0, 1] scale (std 0.1,
sigma 25.5 on the 0-255 scale; numpy seeds 1 and 2; not clipped), and a Noise2Noise model
pretrained on other images, fine-tuned on (y1, y2) with the symmetric loss
||f(y1) - y2||^2 + ||f(y2) - y1||^2.

Rows of the table, all from the same pretrained net and the same noisy pair:

- ``noisy``: y1 and y2 themselves;
- ``pretrained``: the net as it is (``noise2x denoise --checkpoint``);
- ``naive``: the recipe that collapsed in the wild (a 36 dB model fell to 9.4 dB, darker):
  the whole pair as one sample, Adam with PyTorch's defaults at lr 1e-3, no warm-up, the net
  in train mode, ``--naive-epochs`` (10) epochs, no validation; reported after the last epoch,
  with the PSNR after every epoch (measured on the forward pass of the next epoch, i.e. free)
  and the worst one;
- ``unsafe lr``: noise2x's recipe (crops, held-out tiles, guard) but at lr 1e-3 with no
  warm-up: shows the guard falling back to the pretrained weights when training goes wrong;
- ``fine-tuned``: ``noise2x.train.finetune.finetune`` with its defaults (``--steps``, ``--lr``).

PSNR (dB) / SSIM against the clean image, outputs clipped to [0, 1] as ``noise2x denoise``
does; "mean shift" is mean(denoised y1) - mean(clean) on [0, 1] (negative: darker).

Usage::

    python benchmarks/finetune_prob4.py --pretrain-steps 6000        # full run (~40 min, 1 thread)
    python benchmarks/finetune_prob4.py --checkpoint runs/n2n/RUN/checkpoints/last.ckpt
    python benchmarks/finetune_prob4.py --pretrain-steps 20 --steps 20 --crop 256
        --naive-epochs 2 --unsafe-steps 10 --out /tmp/finetune-smoke  # smoke test (one line)
    python benchmarks/finetune_prob4.py --table-only                 # re-render the Markdown

Writes ``OUT/finetune_prob4.json`` (settings, machine, date, every number and history, and
the rendering ``noise2x report`` shows: ``markdown`` and chart specs, from
``benchmarks/finetune_prob4_report.py``), ``OUT/finetune_prob4.md`` (the tables) and
``OUT/finetune_prob4.png`` (noisy | pretrained | naive | fine-tuned crops), OUT being ``--out``
(default ``benchmarks/results``).

References
----------
J. Lehtinen et al., "Noise2Noise: Learning Image Restoration without Clean Data", ICML 2018,
arXiv:1803.04189.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path

import finetune_prob4_report  # benchmarks/finetune_prob4_report.py: this script's rendering
import numpy as np

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("NOISE2X_DATA", HERE.parent.parent / "shared" / "data"))
RESULTS = HERE / "results"
IMAGE = DATA / "seed" / "Prob4.png"
STD = 0.1  # variance 0.01 on the [0, 1] scale
SEEDS = (1, 2)
FIGURE_BOX = (320, 384, 256)  # row, column, side of the figure's crop on the 1024x1024 image


def load_clean(crop: int | None) -> np.ndarray:
    """Prob4.png as grey float32 (1, H, W) on [0, 1]; a centred `crop` x `crop` if given."""
    from noise2x.data.io import read_image

    rgb, _ = read_image(IMAGE)
    grey = rgb.mean(axis=0, keepdims=True, dtype=np.float64).astype(np.float32)
    if crop is not None:
        top, left = (grey.shape[1] - crop) // 2, (grey.shape[2] - crop) // 2
        grey = grey[:, top : top + crop, left : left + crop]
    return np.ascontiguousarray(grey)


def noisy_pair(clean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two independent Gaussian realizations (std 0.1, seeds 1 and 2), float32, not clipped."""
    draws = [np.random.default_rng(seed).standard_normal(clean.shape) for seed in SEEDS]
    return tuple((clean + STD * d).astype(np.float32) for d in draws)


def pretrain(steps: int, runs: Path) -> dict:
    """Train the paper's U-Net on Train400 at sigma 25.5 (noise2x train) and return its record."""
    from noise2x.train.runs import train

    overrides = [
        f"data.root={DATA / 'Train400'}",
        "data.patch_size=64",
        "data.batch_size=8",
        "data.num_workers=0",
        "noise=gaussian",
        "noise.sigma=25.5",
        "net=unet_n2n",
        "loss=l2",
        f"trainer.max_steps={steps}",
        f"trainer.val_every_n_steps={max(1, steps // 4)}",
        f"trainer.checkpoint_every_n_steps={max(1, steps // 4)}",
        "trainer.threads=1",
        "trainer.progress_bar=false",
        "logger=none",
        f"run.root={runs}",
    ]
    result = train(overrides)
    return {
        "checkpoint": str(result.last_checkpoint),
        "steps": result.steps,
        "seconds": result.seconds,
        "val_psnr_db": result.val_psnr_db,
        "overrides": overrides,
    }


def apply(denoiser, noisy: np.ndarray) -> np.ndarray:
    """Denoise (C, H, W) float32 as ``noise2x denoise --checkpoint`` does (``denoise_frame``)."""
    import torch

    return denoiser.denoise_frame(torch.from_numpy(noisy)).numpy()


def scores(images: list[np.ndarray], clean: np.ndarray, seconds: float | None) -> dict:
    """PSNR (dB) / SSIM of the two images, and the mean shift of the first, against `clean`."""
    from noise2x.metrics import psnr_np, ssim_np

    row = {"seconds": seconds, "mean_shift": float(images[0].mean() - clean.mean())}
    for key, image in zip("ab", images, strict=True):
        row[f"psnr_db_{key}"] = psnr_np(image, clean, 1.0)
        row[f"ssim_{key}"] = ssim_np(image, clean, 1.0)
    return row


def naive_finetune(denoiser, pair: list[np.ndarray], clean: np.ndarray, epochs: int, lr: float):
    """Run the recipe that collapses: whole pair per step, Adam lr 1e-3, train mode, no guard."""
    import torch
    import torch.nn.functional as F

    from noise2x.metrics import psnr_np

    net = copy.deepcopy(denoiser.net).train()
    net.requires_grad_(True)
    noisy_a, noisy_b = (torch.from_numpy(x)[None] for x in pair)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)  # PyTorch defaults: betas 0.9, 0.999
    curve = []
    start = time.perf_counter()
    for epoch in range(epochs + 1):
        prediction_a = net(noisy_a)  # the output after `epoch` updates
        out = prediction_a.detach()[0].clamp(0, 1).numpy()
        curve.append(
            {
                "epoch": epoch,
                "psnr_db_a": psnr_np(out, clean, 1.0),
                "mean_shift": float(out.mean() - clean.mean()),
            }
        )
        print(f"  naive epoch {epoch}: {curve[-1]['psnr_db_a']:.2f} dB", flush=True)
        if epoch == epochs:
            break
        loss = F.mse_loss(prediction_a, noisy_b) + F.mse_loss(net(noisy_b), noisy_a)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - start
    net.eval().requires_grad_(False)
    return net, curve, seconds


def figure(path: Path, panels: list[tuple[str, np.ndarray]], box: tuple[int, int, int]) -> None:
    """Save the panels' crops side by side, grey on [0, 1], titled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    row, col, side = box
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.6))
    for ax, (title, image) in zip(axes, panels, strict=True):
        ax.imshow(image[0, row : row + side, col : col + side], cmap="gray", vmin=0, vmax=1)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _finetune_row(result, denoiser, pair, clean, note) -> tuple[dict, np.ndarray, dict]:
    tuned = result.denoiser(denoiser)
    outs = [apply(tuned, x) for x in pair]
    row = {**scores(outs, clean, result.seconds), "note": note}
    record = {
        "holdout_history": result.holdout_history,
        "best_step": result.best_step,
        "kept_pretrained": result.kept_pretrained,
        "steps": result.steps,
        "settings": result.settings,
    }
    return row, outs[0], record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--checkpoint", type=Path, help="a noise2x train checkpoint (grey)")
    source.add_argument("--pretrain-steps", type=int, help="train a U-Net for N steps first")
    parser.add_argument("--steps", type=int, default=None, help="fine-tuning steps")
    parser.add_argument("--lr", type=float, default=None, help="fine-tuning learning rate")
    parser.add_argument("--crop", type=int, default=None, help="centred crop side (smoke runs)")
    parser.add_argument("--naive-epochs", type=int, default=10)
    parser.add_argument("--naive-lr", type=float, default=1e-3)
    parser.add_argument("--unsafe-steps", type=int, default=50)
    parser.add_argument("--runs", type=Path, default=Path("runs/bench-finetune"))
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    json_path = args.out / "finetune_prob4.json"
    if args.table_only:
        print(finetune_prob4_report.save(json.loads(json_path.read_text()), json_path))
        return
    if args.checkpoint is None and args.pretrain_steps is None:
        parser.error("give --checkpoint CKPT or --pretrain-steps N")
    if not IMAGE.is_file():
        sys.exit(f"missing {IMAGE} (set NOISE2X_DATA)")
    import torch

    torch.set_num_threads(1)
    from noise2x.metrics import psnr_np
    from noise2x.train.checkpoint import load_denoiser
    from noise2x.train.finetune import DEFAULT_LR, DEFAULT_STEPS, finetune

    steps = args.steps or DEFAULT_STEPS
    lr = args.lr or DEFAULT_LR
    clean = load_clean(args.crop)
    pair = list(noisy_pair(clean))
    if args.pretrain_steps is not None:
        pretrained = pretrain(args.pretrain_steps, args.runs)
        pretrained["source"] = (
            f"`noise2x train` on Train400, sigma 25.5, {pretrained['steps']} steps"
        )
    else:
        pretrained = {"checkpoint": str(args.checkpoint), "source": f"`{args.checkpoint}`"}
    denoiser = load_denoiser(pretrained["checkpoint"])
    report = {
        "benchmark": "finetune_prob4",
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        "1 thread",
        "torch": torch.__version__,
        "command": " ".join(sys.argv),
        "size": f"{clean.shape[2]}x{clean.shape[1]}",
        "pretrained": pretrained,
        "rows": {},
    }
    rows = report["rows"]
    rows["noisy"] = {**scores(pair, clean, None), "note": ""}
    start = time.perf_counter()
    pre_out = [apply(denoiser, x) for x in pair]
    rows["pretrained"] = {**scores(pre_out, clean, time.perf_counter() - start), "note": ""}
    print(json.dumps(rows), flush=True)

    net, curve, seconds = naive_finetune(denoiser, pair, clean, args.naive_epochs, args.naive_lr)
    naive_out = [apply(dataclasses.replace(denoiser, net=net), x) for x in pair]
    worst = min(curve[1:], key=lambda p: p["psnr_db_a"])
    rows["naive"] = {
        **scores(naive_out, clean, seconds),
        "note": f"whole pair, Adam lr {args.naive_lr:g}, {args.naive_epochs} epochs, train "
        f"mode; worst epoch {worst['epoch']}: {worst['psnr_db_a']:.2f} dB, "
        f"shift {worst['mean_shift']:+.3f}",
    }
    report["naive_curve"] = curve
    print(json.dumps(rows["naive"]), flush=True)

    unsafe = finetune(denoiser, *map(torch.from_numpy, pair), steps=args.unsafe_steps, lr=1e-3,
                      warmup=0.0, eval_every=5)  # fmt: skip
    note = f"crops + guard, lr 1e-3, no warm-up, {args.unsafe_steps} steps"
    rows["unsafe lr"], _, report["unsafe"] = _finetune_row(unsafe, denoiser, pair, clean, note)
    print(json.dumps(rows["unsafe lr"]), flush=True)

    result = finetune(denoiser, *map(torch.from_numpy, pair), steps=steps, lr=lr)
    note = f"noise2x finetune: lr {lr:g}, {result.steps} of {steps} steps, best {result.best_step}"
    rows["fine-tuned"], tuned_a, report["finetune"] = _finetune_row(
        result, denoiser, pair, clean, note
    )
    print(json.dumps(rows["fine-tuned"]), flush=True)

    args.out.mkdir(parents=True, exist_ok=True)
    text = finetune_prob4_report.save(report, json_path)
    side = min(FIGURE_BOX[2], clean.shape[1], clean.shape[2])
    box = FIGURE_BOX if clean.shape[1] >= 1024 else (0, 0, side)
    panels = [
        (f"noisy y1 {psnr_np(pair[0], clean, 1.0):.2f} dB", pair[0]),
        (f"pretrained {rows['pretrained']['psnr_db_a']:.2f} dB", pre_out[0]),
        (f"naive {rows['naive']['psnr_db_a']:.2f} dB", naive_out[0]),
        (f"fine-tuned {rows['fine-tuned']['psnr_db_a']:.2f} dB", tuned_a),
    ]
    figure(json_path.with_suffix(".png"), panels, box)
    print(text, flush=True)


if __name__ == "__main__":
    main()
