"""The registry of benchmark kinds, and recognising a result file's kind from its content.

A *kind* is one benchmark script of ``benchmarks/`` (registry key == script stem == module of
``noise2x.report``). It knows how to turn that script's JSON into the script's own Markdown
(character for character, so ``--table-only`` and ``noise2x report`` agree), into the variant
the README shows where the README condenses it, and into chart specs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from noise2x.registry import Registry
from noise2x.report.figures import Chart


@dataclass(frozen=True)
class Kind:
    """How to report one benchmark's JSON.

    Parameters
    ----------
    name : str
        Registry key: the script's stem (``benchmarks/<name>.py``) and the module name.
    title : str
        Section title in the report page.
    markdown : callable (dict) -> str
        The script's Markdown output (what it writes to ``<name>.md``), ending in a newline.
    charts : callable (dict) -> list of BarChart or LineChart
        The figures the data allows.
    readme : callable (dict) -> str, optional
        The condensed table the README shows, where it differs from `markdown`.
    layout : callable (dict) -> bool, optional
        Recognises the JSON of a script that writes no ``"benchmark"`` key.
    """

    name: str
    title: str
    markdown: Callable[[dict], str]
    charts: Callable[[dict], list[Chart]]
    readme: Callable[[dict], str] | None = None
    layout: Callable[[dict], bool] | None = None


#: Every benchmark kind that ``noise2x report`` renders, by script stem.
KINDS: Registry[Kind] = Registry("benchmark kind")


def register(kind: Kind) -> Kind:
    """Add `kind` to :data:`KINDS` under its name; return it.

    Parameters
    ----------
    kind : Kind
        The kind; its ``name`` is the registry key.

    Returns
    -------
    Kind
        `kind` itself, so a module can write ``KIND = register(Kind(...))``.

    Raises
    ------
    ValueError
        If a kind of that name is already registered.
    """
    return KINDS.register(kind.name)(kind)


def generic_kind(name: str) -> Kind:
    """Return the kind of a result that carries its own Markdown (the generic renderer).

    A benchmark script that keeps its rendering beside itself in ``benchmarks/`` writes the
    rendered page into its JSON (``"markdown"``, and ``"readme"`` where the README condenses
    it); the report copies them and draws no chart (the script writes its own figure).

    Examples
    --------
    >>> kind = generic_kind("prior")
    >>> kind.markdown({"markdown": "| a |"}), kind.charts({})
    ('| a |', [])
    """
    return Kind(
        name=name,
        title=f"{name} (benchmarks/{name}.py)",
        markdown=lambda data: data["markdown"],
        charts=lambda data: [],
        readme=lambda data: data.get("readme") or data["markdown"],
    )


def detect_kind(data: object, source: str) -> Kind:
    """Return the kind of a loaded result: its ``"benchmark"`` key, else its layout.

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
        If `data` is not a JSON object, names an unknown benchmark, or matches no known
        layout (or more than one); the message names `source` and the known kinds.

    Examples
    --------
    >>> detect_kind({"benchmark": "zsn2n_step", "rows": []}, "a.json").name
    'zsn2n_step'
    """
    known = ", ".join(KINDS.names())
    if not isinstance(data, dict):
        raise ValueError(
            f"{source}: expected a JSON object written by a noise2x benchmark, "
            f"found a JSON {type(data).__name__}"
        )
    name = data.get("benchmark")
    if name is not None:
        if isinstance(name, str) and name in KINDS:
            return KINDS.get(name)
        if isinstance(name, str) and isinstance(data.get("markdown"), str):
            return generic_kind(name)
        raise ValueError(f"{source}: unknown benchmark {name!r}; known: {known}")
    found = [n for n in KINDS.names() if KINDS.get(n).layout and KINDS.get(n).layout(data)]
    if len(found) == 1:
        return KINDS.get(found[0])
    if found:
        raise ValueError(f"{source}: ambiguous result: matches the layouts of {', '.join(found)}")
    raise ValueError(
        f"{source}: not a noise2x benchmark result (no 'benchmark' key, and not the layout "
        f"of any known kind: {known})"
    )
