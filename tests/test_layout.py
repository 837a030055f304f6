"""The house rules of ../shared/STYLE.md that a test can check: no cross-package private import."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "noise2x"


def _package(module: str) -> str:
    """``noise2x.data.io`` -> ``data``; a top-level module (``noise2x.api``) is its own package."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def private_imports(root: Path = SRC) -> list[str]:
    """Every ``from noise2x.X import _name`` (or ``module._name`` use) across packages."""
    found = []
    for path in sorted(root.rglob("*.py")):
        module = ".".join(path.relative_to(root.parent).with_suffix("").parts)
        tree = ast.parse(path.read_text())
        aliases: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):  # import noise2x.data.io as io; io._read(...)
                for alias in node.names:
                    if alias.name.startswith("noise2x") and alias.asname:
                        aliases[alias.asname] = alias.name
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("noise2x"):
                for alias in node.names:
                    target = f"{node.module}.{alias.name}"
                    aliases[alias.asname or alias.name] = target
                    if alias.name.startswith("_") and _package(node.module) != _package(module):
                        found.append(f"{path.relative_to(root.parent)}: {target}")
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and _package(aliases[node.value.id]) != _package(module)
            ):
                found.append(
                    f"{path.relative_to(root.parent)}: {aliases[node.value.id]}.{node.attr}"
                )
    return found


def test_no_module_imports_a_private_name_of_another_package():
    assert private_imports() == []


def test_no_benchmark_imports_a_private_name_of_noise2x():
    """Benchmarks call the public API and modules, like a user's script."""
    assert private_imports(SRC.parents[1] / "benchmarks") == []


def test_the_checker_finds_a_private_import(tmp_path):
    pkg = tmp_path / "noise2x"
    (pkg / "cli").mkdir(parents=True)
    (pkg / "cli" / "x.py").write_text(
        "from noise2x import api\nfrom noise2x.data.io import _read\napi._hidden()\n"
        "import noise2x.data.scale as sc\nsc._private()\n"
    )
    assert private_imports(pkg) == [
        "noise2x/cli/x.py: noise2x.data.io._read",
        "noise2x/cli/x.py: noise2x.api._hidden",
        "noise2x/cli/x.py: noise2x.data.scale._private",
    ]


def test_every_module_over_400_lines_says_why_at_its_top():
    """../shared/STYLE.md: a module over ~400 lines is split, or its size is justified."""
    benchmarks = SRC.parents[1] / "benchmarks"
    long = [
        str(path.relative_to(SRC.parents[1]))
        for path in sorted([*SRC.rglob("*.py"), *benchmarks.glob("*.py")])
        if len(path.read_text().splitlines()) > 400 and not path.read_text().startswith("# size: ")
    ]
    assert long == []
