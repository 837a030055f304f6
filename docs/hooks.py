"""MkDocs hooks: fill generated parts of the pages from the code and the committed results.

- ``<!-- settings: NAME -->`` becomes the table of a method's settings (name, default,
  meaning), from its ``Config`` dataclass (``noise2x.methods.settings.describe_settings``).
- ``<!-- benchmark: STEM -->`` becomes the Markdown that ``noise2x report`` renders for
  ``benchmarks/results/STEM.json`` (the same text the README's tables are checked against),
  or a note when that benchmark has not been run.
- The benchmarks' own figures (``benchmarks/results/*.png``) are copied to
  ``docs/assets/benchmarks/`` before the build (git-ignored), so pages can show them.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
ASSETS = ROOT / "docs" / "assets" / "benchmarks"


def on_pre_build(config, **kwargs) -> None:
    """Copy the benchmarks' figures into the docs."""
    ASSETS.mkdir(parents=True, exist_ok=True)
    for png in RESULTS.glob("*.png"):
        shutil.copyfile(png, ASSETS / png.name)


def _settings(name: str) -> str:
    from noise2x.methods.settings import describe_settings

    rows = ["| setting | default | meaning |", "| --- | --- | --- |"]
    for key, default, doc in describe_settings(name):
        rows.append(f"| `method.{key}` | `{default!r}` | {doc.replace('|', '/')} |")
    return "\n".join(rows)


def _benchmark(stem: str) -> str:
    from noise2x.report import load_result

    path = RESULTS / f"{stem}.json"
    if not path.is_file():
        return f"*Not run yet: `python benchmarks/{stem}.py` writes `benchmarks/results/{stem}.json`.*"
    return load_result(path).markdown


def on_page_markdown(markdown: str, page, config, files) -> str:
    """Replace the settings and benchmark markers of a page."""
    markdown = re.sub(r"<!-- settings: (\w+) -->", lambda m: _settings(m.group(1)), markdown)
    return re.sub(r"<!-- benchmark: (\w+) -->", lambda m: _benchmark(m.group(1)), markdown)
