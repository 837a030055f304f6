"""``noise2x report``: benchmark JSON files -> a Markdown page with tables and figures."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from noise2x.cli.common import (
    FILE_ERRORS,
    Failures,
    _check_output_folder,
    _fail,
    _message,
    _print_error,
    _print_failures,
    _print_plain,
    app,
    err_console,
)


@app.command("report")
def report_cmd(
    results: Annotated[
        list[Path],
        typer.Argument(help="Benchmark JSON files, or folders of them (benchmarks/results)."),
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Output folder: report.md and its figures.")
    ],
    figures: Annotated[bool, typer.Option(help="Draw figures (needs matplotlib).")] = True,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing report.")] = False,
) -> None:
    """Render benchmark results (the JSON of benchmarks/*.py) as a Markdown page with figures.

    Each file names its benchmark and carries the tables its script rendered (its ``.md``,
    and the README's condensed table) and chart specs; ``python benchmarks/NAME.py
    --table-only`` renders them again. A folder stands for its ``*.json`` files
    (``*.partial.json`` of a running benchmark left out). Figures, drawn from the chart specs,
    are PNG files beside ``report.md``; without matplotlib the tables are still written and
    one line says figures were skipped. A file that is not a known result gets one error line; the
    others are still rendered and the exit code is 1. Nothing in the output folder is
    replaced without ``--overwrite``.
    """
    from noise2x.report import list_results, load_result, write_report

    _check_output_folder(output)
    failures: Failures = []
    sections = []
    for path in results:
        try:
            files = list_results(path)
        except FILE_ERRORS as err:
            _fail(failures, str(path), err)
            continue
        for file in files:
            try:
                sections.append(load_result(file))
            except FILE_ERRORS as err:
                _fail(failures, str(file), err)
    if sections:
        command = shlex.join(["noise2x", "report", *map(str, results), "-o", str(output)])
        try:
            written = write_report(
                sections, output, command=command, overwrite=overwrite, figures=figures
            )
        except FILE_ERRORS as err:
            _print_error(_message(err))
            raise typer.Exit(1) from None
        if written.skipped:
            err_console.print(
                Text(f"figures skipped: {written.skipped}; tables written"), soft_wrap=True
            )
        _print_plain(
            f"wrote {written.page}: {len(sections)} result(s), {len(written.figures)} figure(s)"
        )
    _print_failures(failures)
    if failures or not sections:
        raise typer.Exit(1)
