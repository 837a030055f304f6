"""Cost of one Noise2Noise training step of the U-Net on the CPU: fp32 vs bf16, layouts.

Times the full step (forward, L2 loss, backward, Adam) of ``unet_n2n`` on a batch of 8
grayscale 64x64 crops (the settings of ``benchmarks/n2n.py``), at width 48 (the paper's) and
16, in fp32 and under bfloat16 autocast, each in the default and the channels-last layout, with
1 and 2 torch threads. Run it with nothing else using the CPU.

Usage::

    python benchmarks/n2n_step.py [--steps 20] [--batch 8] [--patch 64]

Writes ``benchmarks/results/n2n_step.json`` and ``n2n_step.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import time
from pathlib import Path

import torch

from noise2x.nets import build_net

RESULTS = Path(__file__).resolve().parent / "results"


def ms_per_step(width: int, bf16: bool, channels_last: bool, batch: int, patch: int, steps: int):
    net = build_net("unet_n2n", 1, seed=0, width=width)
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-4, betas=(0.9, 0.99))
    generator = torch.Generator().manual_seed(0)
    noisy = torch.rand(batch, 1, patch, patch, generator=generator)
    target = torch.rand(batch, 1, patch, patch, generator=generator)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        noisy = noisy.contiguous(memory_format=torch.channels_last)

    def step() -> None:
        with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            out = net(noisy)
        loss = torch.nn.functional.mse_loss(out.float(), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(3):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return 1000.0 * (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--patch", type=int, default=64)
    args = parser.parse_args()
    rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for width in (48, 16):
            for bf16 in (False, True):
                for channels_last in (False, True):
                    ms = ms_per_step(width, bf16, channels_last, args.batch, args.patch, args.steps)
                    row = dict(
                        threads=threads,
                        width=width,
                        bf16=bf16,
                        channels_last=channels_last,
                        ms_per_step=round(ms, 1),
                    )
                    rows.append(row)
                    print(row, flush=True)
    result = dict(
        benchmark="n2n_step",
        date=dt.date.today().isoformat(),
        machine=platform.processor() or platform.machine(),
        torch=torch.__version__,
        native_bf16=bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()),
        batch=args.batch,
        patch=args.patch,
        rows=rows,
    )
    (RESULTS / "n2n_step.json").write_text(json.dumps(result, indent=1))
    lines = [
        f"U-Net (unet_n2n) training step, batch {args.batch} x {args.patch}x{args.patch} grey, "
        f"{result['date']}, {result['machine']}, torch {result['torch']}; ms per step.",
        "",
        "| threads | width | fp32 | fp32 channels-last | bf16 | bf16 + channels-last |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for threads in (1, 2):
        for width in (48, 16):
            cells = [
                f"{r['ms_per_step']:.1f}"
                for r in rows
                if r["threads"] == threads and r["width"] == width
            ]
            lines.append(f"| {threads} | {width} | " + " | ".join(cells) + " |")
    (RESULTS / "n2n_step.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
