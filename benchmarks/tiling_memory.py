"""Peak memory and time of `noise2x denoise --checkpoint` on large images and stacks.

Cases (each a fresh ``python -m noise2x denoise`` process; its peak resident memory is
``ru_maxrss`` from ``os.wait4``, wall time from the parent, both on this machine's CPU):

1. a 4096 x 4096 uint16 TIFF, tile chosen automatically (the issue's bound: < 2 GB peak);
2. the same with ``--tile 512``;
3. a 5760 x 4092 float32 MRC (mode 2) with a voxel size, tile chosen automatically: the output
   keeps the voxel size and the dtype;
4. uint16 TIFF stacks of 2 and 8 frames of 1024 x 1024: peak memory must not grow with the
   number of frames (they are read, denoised and written one at a time).

The images are mosaics of ../shared/data/Set12 (mirrored) with Poisson-Gaussian noise; the model
is the paper's U-Net (width 48) trained for a few steps by ``noise2x train`` (memory and time do
not depend on the weights).

Usage::

    python benchmarks/tiling_memory.py            # all cases, ~5 min on 2 cores
    python benchmarks/tiling_memory.py --table-only

Writes ``benchmarks/results/tiling_memory.json`` (the cases, and the rendering ``noise2x
report`` shows: ``markdown``, the README's table ``readme`` and chart specs) and
``tiling_memory.md``.

JSON: ``{"benchmark": "tiling_memory", "date", "machine", "torch", "cpu_shared", "cases":
[{"case", "tile", "peak_rss_mb", "seconds", "dtype_shape_voxel_kept", ...}]}``. The README shows
the table without the tile setting in the input's name, and without times when other jobs
shared the CPU (``cpu_shared``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from noise2x.report import BarChart, with_rendering, write_result
from noise2x.report.figures import Chart
from noise2x.report.tables import table_lines

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("NOISE2X_DATA", HERE.parent.parent / "shared" / "data"))
RESULTS = HERE / "results"


def mosaic(height: int, width: int, seed: int) -> np.ndarray:
    """Return a noisy (height, width) float image in [0, 1] tiled from Set12 images."""
    from noise2x.data.io import read_image

    tiles = [read_image(p)[0][0] for p in sorted((DATA / "Set12").glob("*.png"))[:7]]
    row = np.concatenate([np.concatenate([t, t[:, ::-1]], axis=1) for t in tiles], axis=1)
    block = np.concatenate([row, row[::-1]], axis=0)
    reps = (-(-height // block.shape[0]), -(-width // block.shape[1]))
    clean = np.tile(block, reps)[:height, :width]
    rng = np.random.default_rng(seed)
    noisy = rng.poisson(clean * 60.0) / 60.0 + rng.normal(0.0, 0.02, clean.shape)
    return np.clip(noisy, 0.0, 1.0).astype(np.float32)


def make_inputs(folder: Path) -> list[dict]:
    """Write the inputs of every case into `folder`; return the cases."""
    import mrcfile
    import tifffile

    big = (mosaic(4096, 4096, 0) * 65535).round().astype(np.uint16)
    tifffile.imwrite(folder / "big4096.tif", big)
    with mrcfile.new(folder / "rect5760x4092.mrc") as mrc:
        mrc.set_data(mosaic(4092, 5760, 1) * 1000.0 - 300.0)  # raw float values, not [0, 1]
        mrc.voxel_size = (1.06, 1.06, 1.06)
    for n in (2, 8):
        stack = np.stack([mosaic(1024, 1024, 10 + k) for k in range(n)])
        tifffile.imwrite(folder / f"stack{n}x1024.tif", (stack * 65535).round().astype(np.uint16))
    return [
        {"case": "4096 x 4096 uint16 TIFF, auto tile", "file": "big4096.tif", "args": []},
        {"case": "4096 x 4096 uint16 TIFF, --tile 512", "file": "big4096.tif", "args": ["512"]},
        {"case": "5760 x 4092 float32 MRC, auto tile", "file": "rect5760x4092.mrc", "args": []},
        {"case": "stack 2 x 1024 x 1024 uint16 TIFF", "file": "stack2x1024.tif", "args": []},
        {"case": "stack 8 x 1024 x 1024 uint16 TIFF", "file": "stack8x1024.tif", "args": []},
    ]


def train_checkpoint(folder: Path) -> Path:
    from noise2x.train.runs import train

    result = train(
        [
            f"data.root={DATA / 'Set12'}",
            "data.val_count=1",
            "data.patch_size=64",
            "data.batch_size=4",
            "data.num_workers=0",
            "net=unet_n2n",
            "trainer.max_steps=10",
            "trainer.progress_bar=false",
            "logger=none",
            f"run.root={folder / 'runs'}",
        ]
    )
    return result.last_checkpoint


def run_case(case: dict, folder: Path, checkpoint: Path, index: int) -> dict:
    """Denoise one input in a fresh process; return its peak memory, time and output."""
    from noise2x.data.stream import StackReader

    out = folder / f"out{index}"
    command = [sys.executable, "-m", "noise2x", "denoise", "--checkpoint", str(checkpoint)]
    command += ["--device", "cpu", "-o", str(out), str(folder / case["file"])]
    if case["args"]:
        command += ["--tile", case["args"][0]]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    stderr = process.stderr.read().decode()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{stderr}")
    with StackReader(folder / case["file"]) as source, StackReader(out / case["file"]) as result:
        kept = (
            source.meta.dtype == result.meta.dtype
            and source.meta.voxel_size == result.meta.voxel_size
            and (source.n_frames, *source.frame_shape) == (result.n_frames, *result.frame_shape)
        )
        shape = (source.n_frames, *source.frame_shape)
        dtype, voxel = result.meta.dtype, result.meta.voxel_size
    return {
        **{k: v for k, v in case.items() if k != "args"},
        "tile": case["args"][0] if case["args"] else "auto",
        "shape": list(shape),
        "output_dtype": dtype,
        "voxel_size": list(voxel) if voxel is not None else None,
        "dtype_shape_voxel_kept": kept,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "seconds": seconds,
    }


# --- report ----------------------------------------------------------------------------------
TITLE = "Tiled inference: peak memory"
_TILE_SUFFIX = re.compile(r", (auto tile|--tile \d+)$")


def _kept(row: dict) -> str:
    return "yes" if row["dtype_shape_voxel_kept"] else "**no**"


def _gb(row: dict) -> str:
    return f"{row['peak_rss_mb'] / 1024:.2f} GB"


def markdown(report: dict) -> str:
    """Return the table written to ``tiling_memory.md``.

    Parameters
    ----------
    report : dict
        The parsed ``tiling_memory.json``.

    Returns
    -------
    str
        A caption, the table and, on a shared CPU, a note; ends with a newline.
    """
    lines = [
        f"Tiled inference, {report['date']}, {report['machine']}, torch {report['torch']}: "
        "`noise2x denoise --checkpoint` with the paper's U-Net (width 48), one fresh process per "
        "row; peak resident memory of that process (ru_maxrss).",
        "",
    ]
    shared = report.get("cpu_shared", False)
    body = [
        [
            row["case"],
            row["tile"],
            _gb(row),
            "(not quoted)" if shared else f"{row['seconds']:.0f} s",
            _kept(row),
        ]
        for row in report["cases"]
    ]
    lines += table_lines(
        ["input", "tile", "peak memory", "time", "dtype, shape, voxel size kept"], body
    )
    if shared:
        lines += ["", "Other jobs shared the CPU during this run: times are not quoted."]
    return "\n".join(lines) + "\n"


def readme(report: dict) -> str:
    """Return the README's table: the input without its tile setting; times only on an idle CPU.

    Parameters
    ----------
    report : dict
        The parsed ``tiling_memory.json``.

    Returns
    -------
    str
        The table; ends with a newline.
    """
    shared = report.get("cpu_shared", False)
    body = []
    for row in report["cases"]:
        time = [] if shared else [f"{row['seconds']:.0f} s"]
        body.append([_TILE_SUFFIX.sub("", row["case"]), row["tile"], _gb(row), *time, _kept(row)])
    header = ["input", "tile", "peak memory", *([] if shared else ["time"])]
    return "\n".join(table_lines([*header, "dtype, shape, voxel size kept"], body)) + "\n"


def charts(report: dict) -> list[Chart]:
    """Return a horizontal bar chart of the peak memory of each input.

    Parameters
    ----------
    report : dict
        The parsed ``tiling_memory.json``.

    Returns
    -------
    list of BarChart
    """
    return [
        BarChart(
            "peak_memory",
            "noise2x denoise --checkpoint: peak resident memory per input",
            [row["case"] for row in report["cases"]],
            {"peak memory": [row["peak_rss_mb"] / 1024 for row in report["cases"]]},
            "peak resident memory (GB)",
            horizontal=True,
        )
    ]


def save(report: dict, out: Path) -> str:
    """Render `report` into itself; write it to `out` and the ``.md`` beside it; return that."""
    report = {"benchmark": "tiling_memory", **report}
    rendered = with_rendering(
        report, title=TITLE, markdown=markdown(report), readme=readme(report), charts=charts(report)
    )
    return write_result(rendered, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "tiling_memory.json")
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    if not args.table_only:
        import torch

        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            cases = make_inputs(folder)
            checkpoint = train_checkpoint(folder)
            rows, load = [], 0.0
            for index, case in enumerate(cases):
                rows.append(run_case(case, folder, checkpoint, index))
                load = max(load, os.getloadavg()[0])  # the run uses 2 threads: > 2.5 is another job
                print(json.dumps(rows[-1]), flush=True)
        report = {
            "benchmark": "tiling_memory",
            "date": dt.date.today().isoformat(),
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
            "torch": torch.__version__,
            "command": "python benchmarks/tiling_memory.py",
            "cpu_shared": load > 2.5,  # times are only quoted on an idle CPU
            "cases": rows,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1))
    print(save(json.loads(args.out.read_text()), args.out))


if __name__ == "__main__":
    main()
