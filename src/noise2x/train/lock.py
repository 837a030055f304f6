"""One training process per run directory: an exclusive lock held while the run trains.

Two processes training one run would write its ``last.ckpt`` and ``best.ckpt`` in turn, each
from its own weights, and a later resume would continue from whichever wrote last. That
happens when a training is resumed while an earlier process of it still runs (a parent
killed with SIGTERM whose worker lived on, a second terminal, a cluster job started twice).
`run_lock` takes an advisory lock on ``RUN_DIR/.lock`` (``fcntl.flock`` on POSIX,
``msvcrt.locking`` on Windows) for as long as the run trains; the operating system releases it
when the process ends, however it ends (SIGKILL included), so a stale lock file never blocks a
resume. The file holds the owner's process id, for the error message.

Only the launching process locks: the extra ranks that Lightning's DDP launcher starts
(``LOCAL_RANK`` or ``NODE_RANK`` set and not 0) train the same run by design.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

LOCK_NAME = ".lock"


class RunInUse(OSError):
    """Another process holds the run directory's lock (it is training that run now)."""


def _is_extra_rank() -> bool:
    return any(os.environ.get(name, "0") not in ("", "0") for name in ("LOCAL_RANK", "NODE_RANK"))


def _try_lock(handle) -> bool:
    """Take an exclusive, non-blocking lock on the open file; False if another process has it."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # BlockingIOError: held elsewhere
        return False
    return True


@contextlib.contextmanager
def run_lock(run_dir: str | Path) -> Iterator[Path]:
    """Hold the exclusive lock of `run_dir` within the block; yields the lock file's path.

    Parameters
    ----------
    run_dir : str or Path
        An existing run directory (``noise2x.train.runs.new_run_dir``).

    Raises
    ------
    RunInUse
        If another live process holds the lock; the message names the run and that process's
        id. Nothing in the run is touched.
    FileNotFoundError
        If `run_dir` does not exist.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir}: not found; is it a noise2x run directory?")
    path = run_dir / LOCK_NAME
    if _is_extra_rank():
        yield path
        return
    with open(path, "a+", encoding="ascii") as handle:
        if not _try_lock(handle):
            try:
                handle.seek(0)
                owner = handle.read().strip() or "unknown"
            except OSError:  # Windows: the locked byte cannot be read
                owner = "unknown"
            raise RunInUse(
                f"{run_dir}: another process (pid {owner}) is training this run; stop it, or "
                "wait for it to end, before resuming it (two trainings of one run would "
                "overwrite each other's checkpoints)"
            )
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield path
