"""Cost of one Noise2Noise training step of the U-Net on the CPU: fp32 vs bf16, layouts.

Times the full step (forward, L2 loss, backward, Adam) of ``unet_n2n`` on a batch of 8
grayscale 64x64 crops (the settings of ``benchmarks/n2n.py``), at width 48 (the paper's) and
16, in fp32 and under bfloat16 autocast, each in the default and the channels-last layout, with
1 and 2 torch threads. Run it with nothing else using the CPU.

Usage::

    python benchmarks/n2n_step.py [--steps 20] [--batch 8] [--patch 64]
    python benchmarks/n2n_step.py --table-only    # re-render the Markdown from the JSON

Writes ``benchmarks/results/n2n_step.json`` (the measurements, and the rendering ``noise2x
report`` shows: ``markdown`` and chart specs) and ``n2n_step.md``.

JSON: ``{"benchmark": "n2n_step", "date", "machine" (``noise2x.report.machine``), "torch",
"native_bf16", "batch", "patch", "rows": [{"threads", "width", "bf16", "channels_last",
"ms_per_step"}]}``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

from noise2x.report import BarChart, with_rendering, write_result
from noise2x.report.figures import Chart
from noise2x.report.tables import MISSING, table_lines

RESULTS = Path(__file__).resolve().parent / "results"


def ms_per_step(width: int, bf16: bool, channels_last: bool, batch: int, patch: int, steps: int):
    import torch

    from noise2x.nets import build_net

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


# --- report ----------------------------------------------------------------------------------
TITLE = "Noise2Noise U-Net: cost of one training step"
#: (bf16, channels_last) -> column title, in the script's order.
COLUMNS = {
    (False, False): "fp32",
    (False, True): "fp32 channels-last",
    (True, False): "bf16",
    (True, True): "bf16 + channels-last",
}


def _cells(result: dict) -> dict[tuple[int, int], dict[tuple[bool, bool], float]]:
    cells: dict[tuple[int, int], dict[tuple[bool, bool], float]] = {}
    for r in result["rows"]:
        key = (bool(r["bf16"]), bool(r["channels_last"]))
        cells.setdefault((r["threads"], r["width"]), {})[key] = r["ms_per_step"]
    threads = list(dict.fromkeys(t for t, _ in cells))
    widths = list(dict.fromkeys(w for _, w in cells))
    return {(t, w): cells[t, w] for t in threads for w in widths if (t, w) in cells}


def markdown(result: dict) -> str:
    """Return the table written to ``n2n_step.md``.

    Parameters
    ----------
    result : dict
        The parsed ``n2n_step.json``.

    Returns
    -------
    str
        A caption line, a blank line and one row per (threads, width); ends with a newline.
    """
    patch = result["patch"]
    lines = [
        f"U-Net (unet_n2n) training step, batch {result['batch']} x {patch}x{patch} grey, "
        f"{result['date']}, {result['machine']['cpu']}, torch {result['torch']}; ms per step.",
        "",
    ]
    body = [
        [str(threads), str(width)] + [MISSING if k not in ms else f"{ms[k]:.1f}" for k in COLUMNS]
        for (threads, width), ms in _cells(result).items()
    ]
    lines += table_lines(["threads", "width", *COLUMNS.values()], body)
    return "\n".join(lines) + "\n"


def charts(result: dict) -> list[Chart]:
    """Return a bar chart of ms per step: one group per (threads, width), one bar per variant.

    Parameters
    ----------
    result : dict
        The parsed ``n2n_step.json``.

    Returns
    -------
    list of BarChart
    """
    cells = _cells(result)
    return [
        BarChart(
            "ms_per_step",
            f"U-Net training step, batch {result['batch']} x {result['patch']}²",
            [f"{t} thread(s), width {w}" for t, w in cells],
            {title: [ms.get(k) for ms in cells.values()] for k, title in COLUMNS.items()},
            "ms per step",
            value_format="{:.0f}",
        )
    ]


def save(result: dict, out: Path) -> str:
    """Render `result` into itself; write it to `out` and the ``.md`` beside it; return that."""
    rendered = with_rendering(result, title=TITLE, markdown=markdown(result), charts=charts(result))
    return write_result(rendered, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--patch", type=int, default=64)
    parser.add_argument("--out", type=Path, default=RESULTS / "n2n_step.json")
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    if args.table_only:
        print(save(json.loads(args.out.read_text()), args.out))
        return
    import torch

    from noise2x.report.machine import machine

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
        machine=machine(),
        torch=torch.__version__,
        native_bf16=bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()),
        batch=args.batch,
        patch=args.patch,
        rows=rows,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    print(save(result, args.out))


if __name__ == "__main__":
    main()
