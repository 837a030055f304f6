"""The generic kind: a result file that carries its own rendering, and how to recognise one.

A benchmark script of ``benchmarks/`` keeps what renders its results beside itself (in the
script, or in ``benchmarks/<name>_report.py``) and stores the rendering in the JSON it writes,
so the report holds no code of its own per benchmark. A result file is a JSON object with:

- ``"benchmark"``: the script's stem (``benchmarks/<benchmark>.py``);
- ``"markdown"``: exactly what the script writes to ``<benchmark>.md``;
- ``"readme"`` (optional): the condensed table the README shows, where it differs;
- ``"title"`` (optional): the section title of the report page;
- ``"charts"`` (optional): figure specs, ``{"kind": "bar" | "line", ...}`` with the fields of
  :class:`~noise2x.report.figures.BarChart` or :class:`~noise2x.report.figures.LineChart`
  (:func:`~noise2x.report.figures.chart_to_spec`), drawn by the report.

A script adds them with :func:`with_rendering`, writes the JSON and its ``.md`` with
:func:`write_result`, and rewrites both from the JSON with ``--table-only``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from noise2x.data.atomic import atomic_write
from noise2x.report.figures import Chart, chart_to_spec

#: The keys of a result file that hold its rendering (the rest is the benchmark's data).
RENDERING_KEYS = ("title", "markdown", "readme", "charts")


@dataclass(frozen=True)
class Kind:
    """The benchmark a result file comes from.

    Parameters
    ----------
    name : str
        The script's stem (``benchmarks/<name>.py``): the file's ``"benchmark"``.
    title : str
        Section title in the report page: the file's ``"title"``, else the script's name.
    """

    name: str
    title: str


def with_rendering(
    result: dict,
    *,
    markdown: str,
    title: str | None = None,
    readme: str | None = None,
    charts: Sequence[Chart] = (),
) -> dict:
    """Return `result` with its rendering stored in it, as :func:`detect_kind` reads it back.

    A previous rendering is replaced; ``"readme"`` and ``"charts"`` are left out when empty.

    Parameters
    ----------
    result : dict
        The benchmark's JSON object; it must have its ``"benchmark"`` key.
    markdown : str
        What the script writes to ``<benchmark>.md``.
    title : str, optional
        Section title of the report page.
    readme : str, optional
        The condensed table the README shows, where it differs from `markdown`.
    charts : sequence of BarChart or LineChart
        The figures the report draws.

    Returns
    -------
    dict
        A new dict: `result`'s data, then the rendering keys.

    Raises
    ------
    ValueError
        If `result` has no ``"benchmark"`` key.

    Examples
    --------
    >>> sorted(with_rendering({"benchmark": "x", "rows": []}, markdown="| a |"))
    ['benchmark', 'markdown', 'rows']
    """
    if not isinstance(result.get("benchmark"), str):
        raise ValueError("a result needs its 'benchmark' key (the script's stem) to be rendered")
    data = {key: value for key, value in result.items() if key not in RENDERING_KEYS}
    rendering = {"title": title, "markdown": markdown, "readme": readme}
    data.update({key: value for key, value in rendering.items() if value is not None})
    if charts:
        data["charts"] = [chart_to_spec(chart) for chart in charts]
    return data


def write_result(result: dict, path: Path) -> str:
    """Write a rendered result: the JSON to `path`, its ``"markdown"`` to the ``.md`` beside it.

    Each file is replaced atomically (``noise2x.data.atomic``): an interrupted run leaves the
    previous file, never half of one.

    Parameters
    ----------
    result : dict
        A result with its rendering (:func:`with_rendering`).
    path : Path
        The ``.json`` file; its folder is created if missing.

    Returns
    -------
    str
        The Markdown written (for the script to print).

    Raises
    ------
    KeyError
        If `result` has no ``"markdown"``.
    OSError
        If a file cannot be written.
    """
    markdown = result["markdown"]
    for target, text in ((path, json.dumps(result, indent=1)), (path.with_suffix(".md"), markdown)):
        with atomic_write(target) as tmp:
            tmp.write_text(text, encoding="utf-8")
    return markdown


def detect_kind(data: object, source: str) -> Kind:
    """Return the benchmark of a loaded result, checking it carries its rendering.

    Parameters
    ----------
    data : object
        The parsed JSON.
    source : str
        The file it came from; every error message starts with it.

    Returns
    -------
    Kind

    Raises
    ------
    ValueError
        If `data` is not a JSON object, has no ``"benchmark"`` key, carries no ``"markdown"``
        (a file written before the scripts stored it, or a running benchmark's partial file),
        or has a rendering key of the wrong type; the message names `source` and what to do.

    Examples
    --------
    >>> detect_kind({"benchmark": "zsn2n_step", "markdown": "| a |"}, "a.json")
    Kind(name='zsn2n_step', title='zsn2n_step (benchmarks/zsn2n_step.py)')
    """
    if not isinstance(data, dict):
        raise ValueError(
            f"{source}: expected a JSON object written by a noise2x benchmark, "
            f"found a JSON {type(data).__name__}"
        )
    name = data.get("benchmark")
    if not isinstance(name, str) or not name:
        raise ValueError(
            f"{source}: not a noise2x benchmark result (no 'benchmark' key naming the script "
            "of benchmarks/ that wrote it)"
        )
    if not isinstance(data.get("markdown"), str):
        raise ValueError(
            f"{source}: result of benchmark {name!r} carries no rendered 'markdown'; "
            f"render it with: python benchmarks/{name}.py --table-only"
        )
    for key, kind in (("title", str), ("readme", str), ("charts", list)):
        if key in data and not isinstance(data[key], kind):
            raise ValueError(
                f"{source}: {key!r} of benchmark {name!r} is a JSON "
                f"{type(data[key]).__name__}; expected a {'list' if kind is list else 'string'}"
            )
    return Kind(name, data.get("title") or f"{name} (benchmarks/{name}.py)")
