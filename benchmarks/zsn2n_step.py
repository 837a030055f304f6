"""Cost of one Zero-Shot Noise2Noise training step on the CPU, per implementation choice.

Times the full step (loss, backward, Adam) on a 256x256 grayscale image for: fp32 in the
default layout (the paper's code), channels-last, bfloat16 autocast, both, and each of those
under ``torch.compile``; with 1 and 2 torch threads. Run it with nothing else using the CPU.

Usage::

    python benchmarks/zsn2n_step.py [--steps 40] [--size 256]
    python benchmarks/zsn2n_step.py --table-only    # re-render the Markdown from the JSON

Writes ``benchmarks/results/zsn2n_step.json`` (the measurements, and the rendering ``noise2x
report`` shows: ``markdown``, the README's condensed table ``readme`` and chart specs) and
``zsn2n_step.md``.

JSON: ``{"benchmark": "zsn2n_step", "date", "torch", "native_bf16", "size", "steps",
"rows": [{"threads", "compiled", "channels_last", "bf16", "ms_per_step", "warmup_seconds"}]}``.
The Markdown lists every row; the README condenses it to one row per thread count and the five
variants it discusses, the fastest in bold.
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


def time_steps(
    size: int, steps: int, channels_last: bool, bf16: bool, compiled: bool
) -> tuple[float, float]:
    """Return (ms per step, seconds spent before timing started: warm-up and compilation)."""
    import torch

    from noise2x.methods.zsn2n import ZeroShotNoise2Noise, zsn2n_loss

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


# --- report ----------------------------------------------------------------------------------
TITLE = "Zero-Shot Noise2Noise: cost of one training step"
#: The README's columns: (compiled, channels_last, bf16) -> title.
README_COLUMNS = {
    (False, False, False): "fp32 (the paper's code)",
    (False, True, False): "fp32 channels-last",
    (False, False, True): "bf16 autocast",
    (False, True, True): "bf16 + channels-last",
    (True, False, False): "fp32 + `torch.compile`",
}


def _variant(row: dict) -> tuple[bool, bool, bool]:
    return bool(row["compiled"]), bool(row["channels_last"]), bool(row["bf16"])


def markdown(result: dict) -> str:
    """Return the table written to ``zsn2n_step.md``.

    Parameters
    ----------
    result : dict
        The parsed ``zsn2n_step.json``.

    Returns
    -------
    str
        A caption line, a blank line and one table row per measurement; ends with a newline.
    """
    size = result["size"]
    lines = [
        f"ZS-N2N step on {size}x{size}, {result['date']}, torch {result['torch']}"
        f", native bf16: {result['native_bf16']}",
        "",
    ]
    header = ["threads", "torch.compile", "channels_last", "bf16 autocast", "ms / step"]
    body = [
        [
            f"{r['threads']}",
            f"{r['compiled']}",
            f"{r['channels_last']}",
            f"{r['bf16']}",
            f"{r['ms_per_step']:.1f}",
            f"{r['warmup_seconds']:.1f}",
        ]
        for r in result["rows"]
    ]
    lines += table_lines([*header, "warm-up s"], body)
    return "\n".join(lines) + "\n"


def readme(result: dict) -> str:
    """Return the README's condensed table: ms per step by thread count and variant.

    The fastest of the row's shown variants is in bold; a variant that was not measured
    (``--no-compile``) is ``–``.

    Parameters
    ----------
    result : dict
        The parsed ``zsn2n_step.json``.

    Returns
    -------
    str
        The table; ends with a newline.
    """
    body = []
    for threads in _threads(result["rows"]):
        ms = {_variant(r): r["ms_per_step"] for r in result["rows"] if r["threads"] == threads}
        shown = [ms.get(variant) for variant in README_COLUMNS]
        best = min((v for v in shown if v is not None), default=None)
        cells = [
            MISSING if v is None else (f"**{v:.1f} ms**" if v == best else f"{v:.1f} ms")
            for v in shown
        ]
        body.append([str(threads), *cells])
    return "\n".join(table_lines(["threads", *README_COLUMNS.values()], body)) + "\n"


def _threads(rows: list[dict]) -> list[int]:
    return list(dict.fromkeys(r["threads"] for r in rows))


def _label(variant: tuple[bool, bool, bool]) -> str:
    compiled, channels_last, bf16 = variant
    text = ("bf16" if bf16 else "fp32") + (" CL" if channels_last else "")
    return text + (" compile" if compiled else "")


def charts(result: dict) -> list[Chart]:
    """Return a bar chart of ms per step for every variant, one bar per thread count.

    Parameters
    ----------
    result : dict
        The parsed ``zsn2n_step.json``.

    Returns
    -------
    list of BarChart
    """
    variants = list(dict.fromkeys(_variant(r) for r in result["rows"]))
    series = {}
    for threads in _threads(result["rows"]):
        ms = {_variant(r): r["ms_per_step"] for r in result["rows"] if r["threads"] == threads}
        series[f"{threads} thread(s)"] = [ms.get(v) for v in variants]
    size = result["size"]
    return [
        BarChart(
            "ms_per_step",
            f"ZS-N2N: one training step on {size}x{size} (CL = channels-last)",
            [_label(v) for v in variants],
            series,
            "ms per step",
            value_format="{:.0f}",
        )
    ]


def save(result: dict, out: Path) -> str:
    """Render `result` into itself; write it to `out` and the ``.md`` beside it; return that."""
    rendered = with_rendering(
        result, title=TITLE, markdown=markdown(result), readme=readme(result), charts=charts(result)
    )
    return write_result(rendered, out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile rows")
    parser.add_argument("--out", type=Path, default=RESULTS / "zsn2n_step.json")
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args(argv)
    if args.table_only:
        print(save(json.loads(args.out.read_text()), args.out))
        return 0
    import torch

    from noise2x.methods.zsn2n import bf16_supported

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
    args.out.parent.mkdir(parents=True, exist_ok=True)
    print(save(result, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
