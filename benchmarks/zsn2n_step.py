"""Cost of one Zero-Shot Noise2Noise training step on the CPU, per implementation choice.

Times the full step (loss, backward, Adam) on a 256x256 grayscale image for: fp32 in the
default layout (the paper's code), channels-last, bfloat16 autocast, both, and each of those
under ``torch.compile``; with 1 and 2 torch threads. Run it with nothing else using the CPU.

Usage::

    python benchmarks/zsn2n_step.py [--steps 40] [--size 256]

Writes ``benchmarks/results/zsn2n_step.json`` and ``zsn2n_step.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import torch

from noise2x.methods.zsn2n import ZeroShotNoise2Noise, bf16_supported, zsn2n_loss

RESULTS = Path(__file__).resolve().parent / "results"


def time_steps(
    size: int, steps: int, channels_last: bool, bf16: bool, compiled: bool
) -> tuple[float, float]:
    """Return (ms per step, seconds spent before timing started: warm-up and compilation)."""
    net = ZeroShotNoise2Noise().default_net(1)
    image = torch.rand(1, 1, size, size, generator=torch.Generator().manual_seed(0))
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        image = image.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.compile(zsn2n_loss) if compiled else zsn2n_loss
    start = time.perf_counter()
    for step in range(steps + 5):
        if step == 5:
            warm = time.perf_counter() - start
            t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = loss_fn(net, image)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - t0) / steps * 1000.0, warm


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile rows")
    args = parser.parse_args(argv)
    native_bf16 = bf16_supported(torch.device("cpu"))
    rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for compiled in (False, True) if not args.no_compile else (False,):
            for channels_last in (False, True):
                for bf16 in (False, True):
                    try:
                        ms, warm = time_steps(args.size, args.steps, channels_last, bf16, compiled)
                    except Exception as err:  # torch.compile needs a working C++ toolchain
                        print(f"skipped (compile={compiled}): {err}")
                        continue
                    row = dict(
                        threads=threads,
                        compiled=compiled,
                        channels_last=channels_last,
                        bf16=bf16,
                        ms_per_step=ms,
                        warmup_seconds=warm,
                    )
                    rows.append(row)
                    print(row, flush=True)
    result = dict(
        benchmark="zsn2n_step",
        date=dt.date.today().isoformat(),
        torch=torch.__version__,
        native_bf16=native_bf16,
        size=args.size,
        steps=args.steps,
        rows=rows,
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "zsn2n_step.json").write_text(json.dumps(result, indent=1))
    lines = [
        f"ZS-N2N step on {args.size}x{args.size}, {result['date']}, torch {torch.__version__}"
        f", native bf16: {native_bf16}",
        "",
        "| threads | torch.compile | channels_last | bf16 autocast | ms / step | warm-up s |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['threads']} | {r['compiled']} | {r['channels_last']} | {r['bf16']} | "
            f"{r['ms_per_step']:.1f} | {r['warmup_seconds']:.1f} |"
        )
    (RESULTS / "zsn2n_step.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
