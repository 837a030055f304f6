# size: the file-level job, its in-process loop and its Dask scheduling (per file or per frame)
"""Denoising files: one after another in this process, or as tasks on a Dask cluster.

`denoise_file` is the whole job for one input: read it (a stack frame by frame), check that
its output can be written, denoise, write atomically (``noise2x.data.atomic``), and score it
against a clean reference if one is given. `denoise_files` runs it for many inputs:

- ``workers=1`` and no scheduler: in this process, one file after another;
- ``workers=N``: on a local Dask cluster of N worker processes, each with
  ``max(1, cores // N)`` torch threads so that workers x threads never exceed the cores
  (for ZS-N2N two processes of one thread beat one process of two threads here);
- ``scheduler=ADDRESS`` (``tcp://host:8786``) or a scheduler file (JSON, as written by
  ``dask scheduler --scheduler-file``): on an existing Dask cluster, e.g. one started on SLURM,
  PBS or SGE with ``dask-jobqueue`` or ``dask scheduler`` / ``dask worker`` in a batch script.

Why Dask: the unit of work here is a file that takes seconds to minutes with any method (a
net trained per image, a shipped model, BM3D), not a tensor batch; Dask's futures are exactly
one task per file, its workers run on the clusters microscopy and cryo-EM facilities have
(SLURM/PBS/SGE through dask-jobqueue, Kubernetes through dask-kubernetes) without a GPU stack,
and it gathers each task's result or error. Lightning's multi-process prediction applies one
trained model to a data set and cannot run the per-image methods; Ray would work too but is a
heavier install that HPC sites rarely provide.

On a cluster the frames of a stack are tasks of their own when each frame is denoised on its
own (a checkpoint, the prior without adaptation, ZS-N2N, Self2Self, BM3D): a few long movies
then keep every worker busy. This process writes the frames in order into the stack's
temporary file as they come back and renames it at the end, so a killed batch leaves no
half-written stack. Methods that train once on the whole stack (Noise2Void, the prior's
``adapt``) keep one task per stack, and so does a call with a clean reference.

A task returns its summary row or its error message: every failure, from every worker, ends up
in the caller's list, and a failed file never stops the others.
"""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["denoise_file", "denoise_files", "output_path", "worker_threads"]


def output_path(output: Path, path: Path, output_dtype: str | None) -> Path:
    """Return the output of input `path`: same name; ``.tif`` when float32 is asked of PNG/JPEG."""
    target = Path(output) / Path(path).name
    if output_dtype == "float32" and target.suffix.lower() in (".png", ".jpg", ".jpeg"):
        target = target.with_suffix(".tif")
    return target


def worker_threads(workers: int, cores: int | None = None) -> int:
    """Return the torch threads per worker so that ``workers x threads <= cores``.

    Examples
    --------
    >>> worker_threads(2, cores=2), worker_threads(1, cores=8), worker_threads(4, cores=2)
    (1, 8, 1)
    """
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, int(cores or 1) // max(1, workers))


def _reference_for(reference: Path | None, path: Path, shape: tuple) -> Path | None:
    """Return the clean file matched to `path` (None without a reference), of `shape`."""
    from noise2x.data.io import read_image
    from noise2x.metrics.evaluate import match_pairs

    if reference is None:
        return None
    ref_path = match_pairs(reference, [path])[0][0]
    clean, _ = read_image(ref_path)
    if clean.shape != shape:
        raise ValueError(
            f"{path} has shape {shape} but its reference {ref_path} has shape {clean.shape}; "
            "expected the same"
        )
    return ref_path


def _summary_row(path: Path, written: Path, ref_path: Path | None) -> dict:
    row = {"image": str(path), "output": str(written)}
    if ref_path is not None:
        from noise2x.metrics.evaluate import evaluate_pairs

        try:
            before, after = evaluate_pairs([(ref_path, path), (ref_path, written)])
        except (OSError, ValueError) as err:
            raise ValueError(f"{path}: wrote {written}, but scoring failed: {err}") from err
        row.update(
            psnr_noisy_db=before["psnr_db"],
            psnr_db=after["psnr_db"],
            ssim_noisy=before["ssim"],
            ssim=after["ssim"],
        )
    return row


def denoise_file(
    path: str | Path,
    output: str | Path,
    settings: dict,
    *,
    overwrite: bool = False,
    output_dtype: str | None = None,
    reference: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Denoise one file into ``output/NAME``; a stack is read, denoised and written frame by frame.

    Parameters
    ----------
    path : str or Path
        An image or stack (PNG, JPEG, TIFF, MRC).
    output : str or Path
        Output folder (created if needed).
    settings : dict
        Keyword arguments of ``noise2x.denoise``: ``method`` and its settings, or
        ``checkpoint``/``tile``/``overlap``/``ensemble``; ``device``.
    overwrite : bool
        Replace an existing output.
    output_dtype : {"uint8", "uint16", "float32"} or None
        None keeps the input's dtype.
    reference : str or Path or None
        A clean image, or a folder matched by file stem, to score the result (PSNR/SSIM).
    progress : callable (done, total) or None
        Steps of a single image's method, or frames of a stack.

    Returns
    -------
    dict
        ``image``, ``output`` and, with a reference, ``psnr_noisy_db``, ``psnr_db`` (dB),
        ``ssim_noisy``, ``ssim``.

    Raises
    ------
    FileExistsError
        If the output exists and `overwrite` is False.
    noise2x.data.io.ImageError, ValueError, OSError, RuntimeError
        For a bad input, an output that cannot hold it, or a failing method; the message names
        the file. Nothing is left under the output's name.
    """
    from noise2x import api
    from noise2x.data.atomic import EXISTS
    from noise2x.data.io import check_output, write_image
    from noise2x.data.stream import StackReader

    path = Path(path)
    target = output_path(Path(output), path, output_dtype)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{path}: output {target} {EXISTS}")
    with StackReader(path) as reader:
        shape = (reader.n_frames, *reader.frame_shape)
        check_output(target, shape if shape[0] > 1 else shape[1:], output_dtype, reader.meta)
        ref_path = _reference_for(
            None if reference is None else Path(reference),
            path,
            shape[1:] if shape[0] == 1 else shape,
        )
        if reader.n_frames == 1:
            denoised = api.denoise(reader.read_frame(0), progress=progress, **settings)
            write_image(target, denoised, like=reader.meta, overwrite=overwrite, dtype=output_dtype)
        else:
            _denoise_stream(reader, target, overwrite, output_dtype, settings, progress)
    return _summary_row(path, target, ref_path)


def _denoise_stream(reader, target, overwrite, output_dtype, settings, progress) -> None:
    """Denoise a stack frame by frame, writing each result as it comes (atomic at the end).

    One method object serves the whole stack, so that the prior adapts once (on the first
    frame) and Noise2Void trains once.
    """
    from noise2x import api
    from noise2x.data.stream import StackWriter

    if "checkpoint" in settings:
        call = settings
    else:
        params = {k: v for k, v in settings.items() if k not in ("method", "device")}
        call = {
            "method": api.build_method(settings["method"], **params),
            "device": settings["device"],
        }
    with StackWriter(
        target,
        reader.meta,
        reader.n_frames,
        reader.frame_shape,
        overwrite=overwrite,
        dtype=output_dtype,
    ) as writer:
        for index, frame in enumerate(reader):
            writer.write(api.denoise(frame, **call))
            if progress is not None:
                progress(index + 1, reader.n_frames)


def _task(
    path: str, output: str, settings: dict, options: dict, progress=None
) -> tuple[str, object]:
    """One file: ("ok", row) or ("error", message naming the file)."""
    try:
        return "ok", denoise_file(path, output, settings, progress=progress, **options)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, MemoryError) as err:
        message = " ".join(str(err).split()) or type(err).__name__
        return "error", message if str(path) in message else f"{path}: {message}"


def _frames_are_independent(settings: dict) -> bool:
    """Whether each frame of a stack is denoised on its own with `settings` (no shared state)."""
    if "checkpoint" in settings:
        return True
    from noise2x.methods import METHODS

    name = settings.get("method", "prior")
    if not isinstance(name, str) or name not in METHODS:
        return False  # the file's task reports the problem
    if METHODS.get(name).fits_stack:
        return False  # trains once on every frame of the stack
    return not settings.get("adapt", False)  # the prior adapts once per stack


def _stack_plan(path: str, output: str, settings: dict, options: dict) -> tuple | None:
    """Return (n_frames, frame_shape, meta, target) to run `path` frame by frame, or None.

    None (one task for the file) unless `path` is a readable stack of N > 1 independent
    frames whose output can be written: anything wrong is left to the file's task to report.
    """
    from noise2x.data.io import check_output
    from noise2x.data.stream import StackReader

    if options["reference"] is not None or not _frames_are_independent(settings):
        return None
    target = output_path(Path(output), Path(path), options["output_dtype"])
    if target.exists() and not options["overwrite"]:
        return None
    try:
        with StackReader(Path(path)) as reader:
            n_frames, frame_shape, meta = reader.n_frames, reader.frame_shape, reader.meta
        if n_frames < 2:
            return None
        check_output(target, (n_frames, *frame_shape), options["output_dtype"], meta)
    except (OSError, ValueError, MemoryError):
        return None
    return n_frames, frame_shape, meta, target


def _frame_task(path: str, index: int, settings: dict) -> tuple[str, object]:
    """One frame of a stack: ("ok", denoised (C, H, W) float32) or ("error", message)."""
    try:
        from noise2x import api
        from noise2x.data.stream import StackReader

        with StackReader(Path(path)) as reader:
            frame = reader.read_frame(index)
        return "ok", api.denoise(frame, **settings)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, MemoryError) as err:
        message = " ".join(str(err).split()) or type(err).__name__
        return "error", f"{path}: frame {index}: {message}"


class _StackAssembly:
    """Write the frames of one stack, arriving in any order, in order into its temporary file."""

    def __init__(self, plan: tuple, overwrite: bool, output_dtype: str | None) -> None:
        from noise2x.data.stream import StackWriter

        n_frames, frame_shape, meta, target = plan
        self.target, self.n_frames, self.next, self.pending = target, n_frames, 0, {}
        self.writer = StackWriter(
            target, meta, n_frames, frame_shape, overwrite=overwrite, dtype=output_dtype
        )
        self.writer.__enter__()
        self.open = True

    def add(self, index: int, frame) -> bool:
        """Keep frame `index`; write what is now in order; return True once the file is done."""
        self.pending[index] = frame
        while self.next in self.pending:
            self.writer.write(self.pending.pop(self.next))
            self.next += 1
        if self.next == self.n_frames:
            self.open = False
            self.writer.__exit__(None, None, None)  # renames the temporary file over the target
            return True
        return False

    def abort(self, error: BaseException) -> None:
        """Remove the temporary file; an existing output stays as it was."""
        self.pending.clear()
        if self.open:
            self.open = False
            self.writer.__exit__(type(error), error, None)


def _add_frame(stack: _StackAssembly, path: str, frame: int, outcome: tuple) -> tuple | None:
    """Give one frame's outcome to its stack: None while frames are missing, else the file's."""
    status, value = outcome
    if status != "ok":
        stack.abort(RuntimeError(value))
        return outcome
    try:
        if not stack.add(frame, value):
            return None
    except (OSError, ValueError) as err:  # the writer refused the frame (NaN, disk full, ...)
        stack.abort(err)
        message = " ".join(str(err).split()) or type(err).__name__
        return "error", message if path in message else f"{path}: {message}"
    return "ok", _summary_row(Path(path), stack.target, None)


def _set_threads(threads: int) -> int:
    import torch

    torch.set_num_threads(threads)
    return threads


def denoise_files(
    files: Sequence[str | Path],
    output: str | Path,
    settings: dict,
    *,
    overwrite: bool = False,
    output_dtype: str | None = None,
    reference: str | Path | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    on_done: Callable[[str, str, object], None] | None = None,
    progress: Callable[[str], Callable[[int, int], None]] | None = None,
) -> tuple[list[dict], list[tuple[str, str]]]:
    """Denoise many files, in this process or as one Dask task per file.

    Parameters
    ----------
    files : sequence of str or Path
        Inputs (already expanded from folders). Two inputs with one output name: the second
        fails.
    output : str or Path
        Output folder.
    settings : dict
        As for `denoise_file` (picklable: method names, not method objects).
    overwrite, output_dtype, reference
        As for `denoise_file`.
    workers : int
        1: in this process. N > 1: a local Dask cluster of N processes (``distributed``).
    scheduler : str or None
        Address (``tcp://host:port``) or scheduler file of a running Dask cluster; `workers`
        is then ignored.
    on_done : callable (path, "ok" | "error", row or message) or None
        Called in this process as each file finishes.
    progress : callable (path) -> callable (done, total), or None
        In-process runs only: a progress callback for each file (steps or frames).

    Returns
    -------
    rows : list of dict
        The summary row of each written file (`denoise_file`), in input order.
    failures : list of (str, str)
        (input, one-line message) of each failed file, from every worker.

    Raises
    ------
    ImportError
        If a cluster is asked for and ``distributed`` is not installed (the message says what
        to install).
    """
    options = {"overwrite": overwrite, "output_dtype": output_dtype, "reference": reference}
    paths = [str(p) for p in files]
    results: dict[int, tuple[str, object]] = {}
    claimed: dict[Path, str] = {}
    jobs: list[tuple[int, str]] = []
    for index, path in enumerate(paths):
        target = output_path(Path(output), Path(path), output_dtype)
        if target in claimed:
            results[index] = (
                "error",
                f"{path}: same output name as {claimed[target]} ({target}); put inputs with one "
                "name in separate calls or output folders",
            )
            if on_done is not None:
                on_done(path, *results[index])
            continue
        claimed[target] = path
        jobs.append((index, path))
    if workers <= 1 and scheduler is None:
        for index, path in jobs:
            callback = None if progress is None else progress(path)
            results[index] = _task(path, str(output), settings, options, callback)
            if on_done is not None:
                on_done(path, *results[index])
    else:
        _run_on_cluster(jobs, str(output), settings, options, workers, scheduler, results, on_done)
    rows = [results[i][1] for i in range(len(paths)) if results[i][0] == "ok"]
    failures = [(paths[i], results[i][1]) for i in range(len(paths)) if results[i][0] == "error"]
    return rows, failures


def _run_on_cluster(jobs, output, settings, options, workers, scheduler, results, on_done) -> None:
    """Submit one task per file, or per frame of a stack (`_stack_plan`), and gather them all."""
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as err:
        raise ImportError(
            "--workers / --scheduler need Dask's distributed package: "
            "pip install 'noise2x[cluster]' (or dask[distributed])"
        ) from err
    cluster = None
    if scheduler is None:
        with warnings.catch_warnings():  # its HTTP server moves to a free port by itself
            warnings.filterwarnings("ignore", message="Port .* is already in use")
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
        client = Client(cluster)
        client.run(_set_threads, worker_threads(workers))
    elif Path(scheduler).is_file():
        client = Client(scheduler_file=scheduler)
    else:
        client = Client(scheduler)
    run = uuid.uuid4().hex  # task keys unique to this call: a shared scheduler never mixes runs
    futures: dict = {}
    stacks: dict[int, _StackAssembly] = {}
    paths = dict(jobs)
    try:
        for i, path in jobs:
            plan = _stack_plan(path, output, settings, options)
            try:
                if plan is not None:
                    stacks[i] = _StackAssembly(plan, options["overwrite"], options["output_dtype"])
            except (OSError, ValueError):  # e.g. the output appeared meanwhile: the task says so
                plan = None
            if plan is None:
                key = f"noise2x-{run}-{i}"
                future = client.submit(_task, path, output, settings, options, pure=False, key=key)
                futures[future] = (i, -1)
                continue
            for frame in range(plan[0]):
                key = f"noise2x-{run}-{i}-{frame}"
                future = client.submit(_frame_task, path, frame, settings, pure=False, key=key)
                futures[future] = (i, frame)
        for future in as_completed(futures):
            index, frame = futures[future]
            path = paths[index]
            if index in results:
                continue  # a frame of a stack that already failed
            try:
                outcome = future.result()
            except Exception as err:  # a worker died or the task could not run: one line
                outcome = ("error", f"{path}: the task failed on its worker: {err}")
            if frame >= 0:
                outcome = _add_frame(stacks[index], path, frame, outcome)
                if outcome is None:
                    continue  # more frames to come
            results[index] = outcome
            if on_done is not None:
                on_done(path, *results[index])
    finally:
        for stack in stacks.values():  # interrupted: no temporary file is left behind
            stack.abort(KeyboardInterrupt())  # (a no-op for the stacks already done)
        client.close()
        if cluster is not None:
            cluster.close()
