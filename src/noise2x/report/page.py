"""Build the report page: load result files, check the output folder, draw, write ``report.md``.

``report.md`` has one section per result file, in the order given: the benchmark script's own
Markdown (identical to its ``.md`` output), the README's condensed table where the README
condenses it, and the figures, drawn from the file's chart specs (and the benchmark's own PNG
beside it, copied), written as PNG files beside ``report.md`` and linked from it.
The page holds no timestamp, so regenerating it from the same JSON gives the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from noise2x.report.figures import Chart, chart_from_spec, draw, matplotlib_missing
from noise2x.report.kinds import Kind, detect_kind

PAGE = "report.md"
PARTIAL = ".partial.json"  # written by benchmarks while they run


@dataclass(frozen=True)
class Section:
    """One result file, recognised and rendered.

    Parameters
    ----------
    source : Path
        The JSON file.
    kind : Kind
        Its benchmark.
    markdown : str
        The script's Markdown for it (the file's ``"markdown"``).
    readme : str or None
        The README's condensed table, where the README condenses it (``"readme"``).
    charts : list of BarChart or LineChart
        Its figures (from ``"charts"``).
    """

    source: Path
    kind: Kind
    markdown: str
    readme: str | None
    charts: list[Chart] = field(default_factory=list)


@dataclass(frozen=True)
class Written:
    """What :func:`write_report` wrote.

    Parameters
    ----------
    page : Path
        ``report.md``.
    figures : list of Path
        The PNG files drawn or copied.
    skipped : str or None
        Why figures were not drawn (no matplotlib), or None.
    """

    page: Path
    figures: list[Path]
    skipped: str | None


def list_results(path: Path) -> list[Path]:
    """Return `path` itself, or the ``*.json`` files of a folder (sorted, no ``*.partial.json``).

    Parameters
    ----------
    path : Path
        A result file or a folder of them (``benchmarks/results``).

    Returns
    -------
    list of Path

    Raises
    ------
    FileNotFoundError
        If `path` does not exist, or is a folder without result files.
    """
    if path.is_dir():
        files = sorted(
            p
            for p in path.glob("*.json")
            if not p.name.endswith(PARTIAL) and not p.name.startswith(".")  # no temporary file
        )
        if not files:
            raise FileNotFoundError(f"{path}: folder has no .json result files")
        return files
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    return [path]


def load_result(path: Path) -> Section:
    """Read one benchmark JSON file: its benchmark, its Markdown and its chart specs.

    Parameters
    ----------
    path : Path
        The JSON file.

    Returns
    -------
    Section

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ValueError
        If it is not JSON, not a benchmark result carrying its rendering, or has a bad chart
        spec; the message starts with `path`.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text (JSON) file") from None
    kind = detect_kind(data, str(path))
    charts = []
    for i, spec in enumerate(data.get("charts", [])):
        try:
            charts.append(chart_from_spec(spec))
        except (TypeError, ValueError) as err:
            raise ValueError(f"{path}: chart {i} of benchmark {kind.name!r}: {err}") from None
    return Section(path, kind, data["markdown"], data.get("readme"), charts)


def _stems(sections: list[Section]) -> list[str]:
    """Return a file-name prefix per section: the JSON's stem, made unique with -2, -3."""
    stems: list[str] = []
    for section in sections:
        stem = section.source.name.removesuffix(".json")
        candidate, i = stem, 1
        while candidate in stems:
            i += 1
            candidate = f"{stem}-{i}"
        stems.append(candidate)
    return stems


def _plan(sections: list[Section], figures: bool) -> list[dict]:
    """Per section: the charts to draw and the benchmark's own figure to copy, with names."""
    plans = []
    for section, stem in zip(sections, _stems(sections), strict=True):
        own = section.source.with_suffix(".png")
        plans.append(
            {
                "charts": [(c, f"{stem}_{c.name}.png") for c in section.charts] if figures else [],
                "copy": (own, f"{stem}.png") if figures and own.is_file() else None,
            }
        )
    return plans


def render_page(sections: list[Section], plans: list[dict], command: str, note: str = "") -> str:
    """Return the Markdown of the report page.

    Parameters
    ----------
    sections : list of Section
        The rendered result files, in page order.
    plans : list of dict
        Per section, ``"charts"``: (chart, file name) pairs and ``"copy"``: (source, file
        name) or None, as linked from the page.
    command : str
        The command line that regenerates the page, quoted at the top.
    note : str
        An extra paragraph at the top (figures not drawn), or "".

    Returns
    -------
    str
        The page; ends with a newline.
    """
    lines = [
        "# noise2x benchmark report",
        "",
        f"Generated by `{command}` from {len(sections)} result file(s). Each table is the one "
        "its benchmark script writes (`python benchmarks/NAME.py --table-only`); where the "
        "README shows a condensed table, that table follows it.",
    ]
    if note:
        lines += ["", note]
    for section, plan in zip(sections, plans, strict=True):
        source = section.source.as_posix()
        partial = " (partial: written while the benchmark ran)" if PARTIAL in source else ""
        lines += ["", f"## {section.kind.title}", ""]
        lines += [f"From `{source}`{partial}, by `benchmarks/{section.kind.name}.py`.", ""]
        lines.append(section.markdown.rstrip("\n"))
        if section.readme is not None:
            lines += ["", "In the README:", "", section.readme.rstrip("\n")]
        for chart, name in plan["charts"]:
            lines += ["", f"![{chart.title}]({name})"]
        if plan["copy"] is not None:
            lines += ["", f"![the benchmark's own figure]({plan['copy'][1]})"]
    return "\n".join(lines) + "\n"


def write_report(
    sections: list[Section],
    output: Path,
    *,
    command: str,
    overwrite: bool = False,
    figures: bool = True,
) -> Written:
    """Write ``output/report.md`` and its figures.

    Nothing is written if any of the files exists and `overwrite` is False. Without
    matplotlib, the page is written with a note and no figures are drawn (`skipped` says why);
    the benchmark's own PNG beside a JSON file is still copied.

    Parameters
    ----------
    sections : list of Section
        The rendered result files, in page order; at least one.
    output : Path
        Output folder; created if missing.
    command : str
        The command line quoted on the page.
    overwrite : bool
        Replace existing files.
    figures : bool
        Draw figures (False: tables only, no note).

    Returns
    -------
    Written

    Raises
    ------
    FileExistsError
        If a file to write exists and `overwrite` is False; the message lists them all.
    ValueError
        If `sections` is empty.
    OSError
        If a file cannot be written.
    """
    if not sections:
        raise ValueError("no result to report")
    skipped = matplotlib_missing() if figures else None
    plans = _plan(sections, figures)
    if skipped:
        plans = [{**plan, "charts": []} for plan in plans]
    names = [PAGE] + [name for p in plans for _, name in p["charts"]]
    names += [p["copy"][1] for p in plans if p["copy"] is not None]
    existing = [name for name in names if (output / name).exists()]
    if existing and not overwrite:
        verb, them = ("exists", "it") if len(existing) == 1 else ("exist", "them")
        raise FileExistsError(
            f"{output}: {', '.join(existing)} already {verb}; use --overwrite to replace {them}"
        )
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for plan in plans:
        written += [draw(chart, output / name) for chart, name in plan["charts"]]
        if plan["copy"] is not None:
            written.append(_replace(output / plan["copy"][1], plan["copy"][0].read_bytes()))
    note = f"Figures were not drawn: {skipped}." if skipped else ""
    page = render_page(sections, plans, command, note)
    return Written(_replace(output / PAGE, page.encode("utf-8")), written, skipped)


def _replace(path: Path, content: bytes) -> Path:
    """Write `content` to `path` through a temporary file and a rename (never half-written)."""
    from noise2x.data.atomic import atomic_write

    with atomic_write(path) as tmp:
        tmp.write_bytes(content)
    return path
