"""The ``noise2x`` command line.

Commands: denoise, restore-lines, train, split-frames, finetune, add-noise, evaluate, report,
demo, list; one module per group (``denoising``, ``restore``, ``training``, ``evaluation``,
``report``, ``misc``), shared pieces in ``common``.

Every command that takes many files processes each one independently: a bad file gets one
line on stderr naming it and the problem, the others are still processed, the summary lists
the failures and the exit code is 1. A bad option (unknown method, noise model, parameter,
device or output dtype) is one line and exit code 2, before any file is touched. Nothing is
overwritten without ``--overwrite``; files are written atomically by ``noise2x.data.io``.
"""

from noise2x.cli import denoising, evaluation, misc, report, restore, training  # noqa: F401
from noise2x.cli.common import app
from noise2x.cli.training import finetune_cmd

__all__ = ["app", "finetune_cmd", "main"]


def main(argv: list[str] | None = None) -> None:
    """Run the command line (the ``noise2x`` console script and ``python -m noise2x``).

    Warnings are printed as one line each, ``warning: <message>``, without Python's source
    location (``python -W error`` and the other warning filters still apply). SIGTERM is
    handled as Ctrl-C: the file being written is removed, finished outputs stay.
    """
    import signal
    import warnings

    warnings.showwarning = _show_warning
    signal.signal(signal.SIGTERM, _terminate)  # schedulers' time limit: clean up as Ctrl-C does
    app(args=argv, prog_name="noise2x")


def _terminate(signum, frame) -> None:
    """Turn SIGTERM into KeyboardInterrupt, so that temporary files are removed on the way out.

    Every writer writes to a temporary name and removes it in a ``finally`` block; the default
    SIGTERM action would kill the process before that block runs.
    """
    raise KeyboardInterrupt(f"terminated by signal {signum}")


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Print a warning as one ``warning: ...`` line on stderr."""
    import sys

    print(f"warning: {message}", file=file or sys.stderr)
