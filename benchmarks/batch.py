"""Batch throughput: images per hour for one process, two processes, and a Dask local cluster.

For ZS-N2N (a net trained per image) and for the shipped prior (a trained model), on the same
Set12 images (256x256, Gaussian sigma 25, seed = image index), this measures wall time for the
whole batch in three set-ups on this machine (2 cores):

- ``1 process x 2 threads``: ``noise2x.batch.denoise_files(..., workers=1)`` with torch using
  both cores;
- ``2 processes x 1 thread``: the files split between two plain ``multiprocessing`` processes
  (the lower bound of any engine's overhead);
- ``Dask local cluster, 2 workers``: ``denoise_files(..., workers=2)``, one task per file.

The engine's overhead per file is measured with tasks that do almost nothing (the prior on a
32x32 image): Dask's wall time per file minus one process's. The projection to more machines
assumes independent files and no shared bottleneck (files read from and written to a file
system that keeps up): throughput = machines x the measured two-worker rate.

Usage::

    python benchmarks/batch.py                  # 4 images, ZS-N2N 2000 steps: ~15 minutes
    python benchmarks/batch.py --images 2 --steps 200

Writes ``benchmarks/results/batch.json`` and ``batch.md``. Run it with nothing else on the CPU.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("NOISE2X_DATA", HERE.parent.parent / "shared" / "data"))
RESULTS = HERE / "results"


def write_inputs(folder: Path, count: int) -> list[Path]:
    """Noisy Set12 images (sigma 25, seed = index) as float32 TIFF."""
    import torch

    from noise2x.data.io import list_images, read_image, write_image
    from noise2x.noise import add_noise

    paths = []
    for i, path in enumerate(list_images([DATA / "Set12"])[:count]):
        clean = read_image(path)[0]
        noisy = add_noise(torch.from_numpy(clean)[None], "gaussian", seed=i, sigma=25.0)[0]
        paths.append(write_image(folder / f"{path.stem}.tif", noisy.numpy(), dtype="float32"))
    return paths


def _half(job: tuple[list[str], str, dict]) -> int:
    import torch

    from noise2x.batch import denoise_files

    files, output, settings = job
    torch.set_num_threads(1)
    rows, failures = denoise_files(files, output, settings)
    assert not failures, failures
    return len(rows)


def run_setup(setup: str, files: list[Path], output: Path, settings: dict) -> float:
    """Wall seconds of the whole batch in one set-up."""
    import torch

    from noise2x.batch import denoise_files

    start = time.perf_counter()
    if setup == "1x2":
        torch.set_num_threads(2)
        _, failures = denoise_files(files, output, settings)
        assert not failures, failures
    elif setup == "2x1":
        halves = [[str(p) for p in files[0::2]], [str(p) for p in files[1::2]]]
        with mp.get_context("spawn").Pool(2) as pool:
            pool.map(_half, [(h, str(output), settings) for h in halves])
    elif setup == "dask2":
        _, failures = denoise_files(files, output, settings, workers=2)
        assert not failures, failures
    else:
        raise ValueError(setup)
    return time.perf_counter() - start


def main() -> None:
    from noise2x.report import write_result

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--steps", type=int, default=2000, help="ZS-N2N steps per image")
    parser.add_argument("--out", type=Path, default=RESULTS / "batch.json")
    args = parser.parse_args()
    from noise2x.report.machine import machine

    methods = {
        "zsn2n": {"method": "zsn2n", "device": "cpu", "steps": args.steps},
        "prior": {"method": "prior", "device": "cpu"},
    }
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = write_inputs(tmp / "in", args.images)
        for name, settings in methods.items():
            for setup in ("1x2", "2x1", "dask2"):
                seconds = run_setup(setup, files, tmp / f"out-{name}-{setup}", settings)
                rows.append(
                    {
                        "method": name,
                        "setup": setup,
                        "images": len(files),
                        "seconds": round(seconds, 1),
                        "images_per_hour": round(3600 * len(files) / seconds, 1),
                    }
                )
                print(rows[-1], flush=True)
        from noise2x.data.io import write_image

        quick = {"method": "prior", "device": "cpu", "ensemble": 1}
        slopes = {}
        for setup in ("1x2", "dask2"):  # per-file cost: the slope between 8 and 24 files
            times = []
            for count in (8, 24):
                tiny = [
                    write_image(
                        tmp / f"tiny-{setup}-in{count}" / f"{i}.png",
                        np.full((1, 32, 32), 0.5, np.float32),
                    )
                    for i in range(count)
                ]
                times.append(run_setup(setup, tiny, tmp / f"tiny-{setup}-{count}", quick))
            slopes[setup] = (times[1] - times[0]) / 16
        alone, dask = slopes["1x2"], slopes["dask2"]
    report = {
        "benchmark": "batch",
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "steps": args.steps,
        "rows": rows,
        "overhead_seconds_per_file": {"one_process": round(alone, 3), "dask2": round(dask, 3)},
    }
    report["markdown"] = render(report)
    write_result(report, args.out)  # JSON and .md, each atomically
    print(report["markdown"])


LABELS = {
    "1x2": "1 process x 2 threads",
    "2x1": "2 processes x 1 thread",
    "dask2": "Dask local cluster, 2 workers x 1 thread",
}


def render(report: dict) -> str:
    """Render the throughput table and the projection."""
    lines = [
        f"Batch throughput, {report['date']}, {report['machine']['cpu']}, "
        f"{report['machine']['cores']} cores; Set12 256x256, Gaussian sigma 25; ZS-N2N "
        f"{report['steps']} steps per image; the prior with its defaults.",
        "",
        "| method | set-up | images | seconds | images per hour |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in report["rows"]:
        lines.append(
            f"| {r['method']} | {LABELS[r['setup']]} | {r['images']} | {r['seconds']:.1f} | "
            f"{r['images_per_hour']:.0f} |"
        )
    over = report["overhead_seconds_per_file"]
    lines += [
        "",
        f"Per-file cost of a near-empty task (the prior on 32x32; slope of wall time between 8 "
        f"and 24 files, so start-up is excluded): {over['one_process']:.3f} s in one process, "
        f"{over['dask2']:.3f} s on the Dask local cluster of two workers.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
