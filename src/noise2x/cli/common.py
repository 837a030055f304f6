"""Shared pieces of the command line: the Typer app, consoles, one-line errors, progress, paths."""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.text import Text

app = typer.Typer(
    help="noise2x: remove noise from images without clean training data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

#: Errors that mean "this input or option is bad": reported in one line, never as a traceback.
USER_ERRORS = (FileNotFoundError, FileExistsError, ValueError, KeyError, TypeError, OSError)
#: Errors while processing one file: also torch's RuntimeError (e.g. out of memory).
FILE_ERRORS = (*USER_ERRORS, RuntimeError, MemoryError)

Failures = list[tuple[str, str]]


def _message(err: BaseException) -> str:
    text = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    return " ".join(text.split()) or type(err).__name__  # one line, whatever the library wrote


def _print_error(message: str) -> None:
    """Print ``error: <message>`` on one line of stderr, without markup or wrapping."""
    err_console.print(Text.assemble(("error", "red"), ": ", message), soft_wrap=True)


def _usage_error(message: str) -> NoReturn:
    """Report a bad option and exit with code 2."""
    _print_error(message)
    raise typer.Exit(2)


def _fail(failures: Failures, name: str, err: BaseException) -> None:
    """Record and print the failure of input `name`; the message always names it."""
    message = _message(err)
    if name not in message:
        message = f"{name}: {message}"
    failures.append((name, message))
    _print_error(message)


def _print_failures(failures: Failures) -> None:
    if failures:
        err_console.print(
            Text.assemble((f"{len(failures)} input(s) failed:", "red")), soft_wrap=True
        )
        for _, message in failures:
            err_console.print(Text(f"  {message}"), soft_wrap=True)


def _print_plain(text: str) -> None:
    """Print `text` to stdout as it is: no markup, highlighting or wrapping."""
    console.out(text, highlight=False)


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    )


def _expand(inputs: Iterable[Path], failures: Failures) -> list[Path]:
    """Expand folders to image files; record missing paths and empty folders as failures."""
    from noise2x.data.io import list_images

    files: list[Path] = []
    for path in inputs:
        try:
            files.extend(list_images([path]))
        except USER_ERRORS as err:
            _fail(failures, str(path), err)
    return files


def _check_output_dtype(output_dtype: str | None) -> None:
    from noise2x.data.io import OUTPUT_DTYPES

    if output_dtype is not None and output_dtype not in OUTPUT_DTYPES:
        _usage_error(
            f"--output-dtype must be one of {', '.join(OUTPUT_DTYPES)}, got {output_dtype!r}"
        )


def _check_device(device: str) -> None:
    from noise2x.device import resolve_device

    try:
        resolve_device(device)
    except ValueError as err:
        _usage_error(f"--device: {_message(err)}")


def _check_output_folder(output: Path) -> None:
    if output.exists() and not output.is_dir():
        _usage_error(f"--output {output}: is a file; give a folder")


def _target(output: Path, path: Path, output_dtype: str | None) -> Path:
    """Output path of input `path` (``noise2x.batch.output_path``)."""
    from noise2x.batch import output_path

    return output_path(output, path, output_dtype)


def _claim(target: Path, path: Path, overwrite: bool, written: dict[Path, Path]) -> None:
    """Refuse an existing output (without `overwrite`) or one written earlier in this call."""
    if target in written:
        raise FileExistsError(
            f"{path}: same output name as {written[target]} ({target}); "
            "put inputs with one name in separate calls or output folders"
        )
    if target.exists() and not overwrite:
        raise FileExistsError(f"{path}: output {target} exists; use --overwrite to replace it")


def _number(value: float, digits: int) -> str:
    return f"{value:.{digits}f}" if math.isfinite(value) else str(value)


def _plain_table(header: list[str], body: list[list[str] | None], n_left: int) -> str:
    """Lay out rows of cells in columns; None in `body` is a rule.

    The first `n_left` columns are left-aligned, the others right-aligned.
    """
    rows = [header, None, *body]
    width = [max(len(r[i]) for r in rows if r is not None) for i in range(len(header))]
    rule = ["-" * w for w in width]

    def line(cells: list[str]) -> str:
        padded = [
            cell.ljust(w) if i < n_left else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(cells, width, strict=True))
        ]
        return "  ".join(padded).rstrip()

    return "\n".join(line(rule if cells is None else cells) for cells in rows)
