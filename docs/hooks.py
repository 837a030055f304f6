"""MkDocs hooks: fill generated parts of the pages from the code and the committed results.

- ``<!-- settings: NAME -->`` becomes the table of a method's settings (name, default,
  meaning), from its ``Config`` dataclass (``noise2x.methods.settings.describe_settings``).
- ``<!-- benchmark: STEM -->`` becomes the Markdown that ``noise2x report`` renders for
  ``benchmarks/results/STEM.json`` (the same text the README's tables are checked against),
  or a note when that benchmark has not been run.
- The benchmarks' own figures (``benchmarks/results/*.png``) are copied to
  ``docs/assets/benchmarks/`` before the build (git-ignored), so pages can show them.
- The gallery: every ``docs/examples/*.py`` is run before the build (its figure is written to
  ``docs/assets/gallery/NAME.png``, git-ignored), and ``<!-- example: NAME -->`` becomes its
  one-line description, its figure and its code. A failing example fails the build.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
ASSETS = ROOT / "docs" / "assets" / "benchmarks"
EXAMPLES = ROOT / "docs" / "examples"
GALLERY = ROOT / "docs" / "assets" / "gallery"


def on_pre_build(config, **kwargs) -> None:
    """Copy the benchmarks' figures into the docs and run the gallery's examples."""
    import runpy

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ASSETS.mkdir(parents=True, exist_ok=True)
    for png in RESULTS.glob("*.png"):
        shutil.copyfile(png, ASSETS / png.name)
    GALLERY.mkdir(parents=True, exist_ok=True)
    for script in sorted(EXAMPLES.glob("*.py")):
        runpy.run_path(str(script), init_globals={"OUTPUT": str(GALLERY / f"{script.stem}.png")})
        plt.close("all")


def _example(name: str) -> str:
    import ast

    code = (EXAMPLES / f"{name}.py").read_text()
    summary = ast.get_docstring(ast.parse(code)) or ""
    body = code.split('"""', 2)[2].strip() if code.startswith('"""') else code
    return f"{summary}\n\n![{name}](assets/gallery/{name}.png)\n\n```python\n{body}\n```"


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
        script = f"benchmarks/{stem}.py"
        return f"*Not run yet: `python {script}` writes `benchmarks/results/{stem}.json`.*"
    return load_result(path).markdown


def on_page_markdown(markdown: str, page, config, files) -> str:
    """Replace the settings and benchmark markers of a page."""
    markdown = re.sub(r"<!-- settings: (\w+) -->", lambda m: _settings(m.group(1)), markdown)
    markdown = re.sub(r"<!-- example: (\w+) -->", lambda m: _example(m.group(1)), markdown)
    return re.sub(r"<!-- benchmark: (\w+) -->", lambda m: _benchmark(m.group(1)), markdown)
