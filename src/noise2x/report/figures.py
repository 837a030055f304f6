"""Figures of a report: small declarative chart specs, drawn with matplotlib when it is there.

A benchmark script describes its charts as :class:`BarChart` and :class:`LineChart` values (pure
data, testable without matplotlib) and stores them in its result file as specs
(:func:`chart_to_spec`); the report reads them back (:func:`chart_from_spec`) and :func:`draw`
turns one into a PNG. matplotlib is optional
(``pip install -e ".[bench]"`` or ``pip install matplotlib``): :func:`matplotlib_missing` says
why figures cannot be drawn, and the tables are written either way. Only the object-oriented
``matplotlib.figure.Figure`` is used (no pyplot, no global backend state).
"""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path


@dataclass(frozen=True)
class BarChart:
    """Grouped bars: one group per category, one bar per series in each group.

    Parameters
    ----------
    name : str
        Short lower-snake-case name; the PNG is ``<result stem>_<name>.png``.
    title : str
        Title above the axes (also the image's alt text in the page).
    categories : list of str
        Group labels along the axis, in order.
    series : dict of str to list of (float or None)
        Legend label -> one value per category; None leaves a gap.
    ylabel : str
        Label of the value axis, with its unit.
    log : bool
        Logarithmic value axis (times that span orders of magnitude).
    horizontal : bool
        Bars along x, categories down the y axis (long category labels).
    value_format : str
        Format of the number written on each bar.
    """

    name: str
    title: str
    categories: list[str]
    series: dict[str, list[float | None]]
    ylabel: str
    log: bool = False
    horizontal: bool = False
    value_format: str = "{:.2f}"


@dataclass(frozen=True)
class LineChart:
    """Curves against a common kind of x (steps, epochs): one line per series.

    Parameters
    ----------
    name : str
        Short lower-snake-case name; the PNG is ``<result stem>_<name>.png``.
    title : str
        Title above the axes (also the image's alt text in the page).
    series : dict of str to (list of float, list of float)
        Legend label -> (x values, y values) of one curve.
    xlabel, ylabel : str
        Axis labels, with units.
    log : bool
        Logarithmic y axis.
    """

    name: str
    title: str
    series: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    xlabel: str = "step"
    ylabel: str = ""
    log: bool = False


Chart = BarChart | LineChart

#: The ``"kind"`` of a chart spec in a result file, and the class it builds.
CHART_KINDS: dict[str, type] = {"bar": BarChart, "line": LineChart}


def chart_to_spec(chart: Chart) -> dict:
    """Return `chart` as a JSON-ready spec: ``{"kind": "bar" | "line", **its fields}``.

    A benchmark script stores these specs in its result file (``"charts"``), and
    :func:`chart_from_spec` turns them back into the chart; the report draws them.

    Parameters
    ----------
    chart : BarChart or LineChart
        The chart.

    Returns
    -------
    dict
        ``"kind"`` and every field of the chart; a line chart's series are ``[x, y]`` lists.

    Raises
    ------
    TypeError
        If `chart` is neither a BarChart nor a LineChart.

    Examples
    --------
    >>> chart_to_spec(LineChart("loss", "Loss", {"a": ([1, 2], [0.5, 0.25])}))["series"]
    {'a': [[1, 2], [0.5, 0.25]]}
    """
    kind = next((k for k, cls in CHART_KINDS.items() if type(chart) is cls), None)
    if kind is None:
        raise TypeError(f"cannot store {type(chart).__name__}; expected BarChart or LineChart")
    spec = {"kind": kind, **{f.name: getattr(chart, f.name) for f in fields(chart)}}
    if kind == "line":
        spec["series"] = {label: [list(x), list(y)] for label, (x, y) in chart.series.items()}
    else:
        spec["categories"] = list(chart.categories)
        spec["series"] = {label: list(values) for label, values in chart.series.items()}
    return spec


def chart_from_spec(spec: object) -> Chart:
    """Build the chart a spec of a result file's ``"charts"`` describes.

    Parameters
    ----------
    spec : object
        A parsed JSON object: ``"kind"`` (``"bar"`` or ``"line"``) and the fields of
        :class:`BarChart` or :class:`LineChart` (those with defaults may be left out).

    Returns
    -------
    BarChart or LineChart

    Raises
    ------
    ValueError
        If `spec` is not an object, names an unknown kind or field, lacks a required field,
        or has a series whose length does not fit; the message says which.

    Examples
    --------
    >>> chart = chart_from_spec({"kind": "bar", "name": "psnr", "title": "PSNR",
    ...                          "categories": ["a"], "series": {"x": [1.0]}, "ylabel": "dB"})
    >>> type(chart).__name__, chart.series
    ('BarChart', {'x': [1.0]})
    """
    if not isinstance(spec, dict):
        raise ValueError(f"a chart spec is a JSON object, found a JSON {type(spec).__name__}")
    kind = spec.get("kind")
    if kind not in CHART_KINDS:
        raise ValueError(f"chart kind {kind!r} is not one of {', '.join(map(repr, CHART_KINDS))}")
    cls = CHART_KINDS[kind]
    known = {f.name: f for f in fields(cls)}
    given = {key: value for key, value in spec.items() if key != "kind"}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ValueError(
            f"{kind} chart: unknown field(s) {', '.join(unknown)}; known: {', '.join(known)}"
        )
    missing = [
        name
        for name, f in known.items()
        if name not in given and f.default is MISSING and f.default_factory is MISSING
    ]
    if missing:
        raise ValueError(f"{kind} chart {given.get('name')!r}: missing {', '.join(missing)}")
    series = given.get("series", {})
    if not isinstance(series, dict):
        raise ValueError(f"{kind} chart {given['name']!r}: series is not a JSON object")
    if kind == "line":
        if not all(
            isinstance(xy, list)
            and len(xy) == 2
            and all(isinstance(values, list) for values in xy)
            and len(xy[0]) == len(xy[1])
            for xy in series.values()
        ):
            raise ValueError(
                f"line chart {given['name']!r}: each series is [x values, y values] of one length"
            )
        given["series"] = {label: (list(x), list(y)) for label, (x, y) in series.items()}
    elif not isinstance(given["categories"], list) or not all(
        isinstance(values, list) and len(values) == len(given["categories"])
        for values in series.values()
    ):
        raise ValueError(
            f"bar chart {given['name']!r}: each series has one value per category "
            f"({len(given['categories'])})"
        )
    return cls(**given)


def matplotlib_missing() -> str | None:
    """Return why figures cannot be drawn, or None when matplotlib is importable.

    Returns
    -------
    str or None
        A one-line reason naming the package to install, or None.
    """
    try:
        from matplotlib.figure import Figure  # noqa: F401
    except ImportError:
        return 'matplotlib is not installed (pip install -e ".[bench]" or pip install matplotlib)'
    return None


def draw(chart: Chart, path: Path) -> Path:
    """Draw `chart` into the PNG file `path`, atomically (temporary name, then rename).

    Parameters
    ----------
    chart : BarChart or LineChart
        What to draw.
    path : Path
        Output ``.png``; replaced if it exists (the caller checks ``--overwrite``).

    Returns
    -------
    Path
        `path`.

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    TypeError
        If `chart` is neither a BarChart nor a LineChart.
    OSError
        If the file cannot be written; no partial file is left.
    """
    from matplotlib.figure import Figure

    if isinstance(chart, BarChart):
        figure = Figure(figsize=_bar_size(chart), layout="constrained")
        _draw_bars(figure.add_subplot(), chart)
    elif isinstance(chart, LineChart):
        figure = Figure(figsize=(6.4, 4.0), layout="constrained")
        _draw_lines(figure.add_subplot(), chart)
    else:
        raise TypeError(f"cannot draw {type(chart).__name__}; expected BarChart or LineChart")
    figure.suptitle(chart.title, fontsize=10)  # over the figure: the legend may be outside
    from noise2x.data.atomic import atomic_write

    with atomic_write(path) as tmp:
        figure.savefig(tmp, dpi=110)
    return path


def _bar_size(chart: BarChart) -> tuple[float, float]:
    bars = len(chart.categories) * max(1, len(chart.series))
    if chart.horizontal:
        return 7.5, max(2.5, 0.35 * bars + 1.2)
    return min(16.0, max(6.4, 0.32 * bars + 1.5)), 4.2


def _draw_bars(axes, chart: BarChart) -> None:
    n = max(1, len(chart.series))
    width = 0.8 / n
    positions = range(len(chart.categories))
    for i, (label, values) in enumerate(chart.series.items()):
        where = [p - 0.4 + width * (i + 0.5) for p in positions]
        heights = [math.nan if v is None else v for v in values]
        bars = (axes.barh if chart.horizontal else axes.bar)(where, heights, width, label=label)
        text = ["" if v is None else chart.value_format.format(v) for v in values]
        upright = not chart.horizontal and n >= 3  # narrow bars: vertical labels do not overlap
        axes.bar_label(bars, labels=text, fontsize=7, padding=2, rotation=90 if upright else 0)
    ticks, labels = list(positions), chart.categories
    if chart.horizontal:
        axes.set_yticks(ticks, labels)
        axes.invert_yaxis()  # first category on top, as in the table
        axes.set_xlabel(chart.ylabel)
        if chart.log:
            axes.set_xscale("log")
        axes.margins(x=0.15)
    else:
        long = len(chart.categories) > 5 or max(map(len, chart.categories), default=0) > 12
        axes.set_xticks(ticks, labels, rotation=25 if long else 0, ha="right" if long else "center")
        axes.set_ylabel(chart.ylabel)
        axes.margins(y=0.15)
        if chart.log:
            axes.set_yscale("log")
            top = max((v for vs in chart.series.values() for v in vs if v), default=1.0)
            axes.set_ylim(top=top * 4)  # room for the upright labels above the highest bar
    if len(chart.series) > 1:  # outside the axes: never over a bar
        axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def _draw_lines(axes, chart: LineChart) -> None:
    for label, (x, y) in chart.series.items():
        axes.plot(x, y, marker="o", markersize=3, label=label)
    axes.set(xlabel=chart.xlabel, ylabel=chart.ylabel)
    if chart.log:
        axes.set_yscale("log")
    axes.grid(alpha=0.3)
    if len(chart.series) > 1:
        axes.legend(fontsize=8)
