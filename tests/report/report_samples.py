"""Small hand-made result files in the generic format: data, rendered Markdown, chart specs."""

from __future__ import annotations

MARKDOWN = (
    "Toy benchmark, 2026-01-02, Test CPU; PSNR (dB), mean over n images.\n"
    "\n"
    "| set | n | noisy | a | b |\n"
    "| --- | --- | --- | --- | --- |\n"
    "| Set12 | 2 | 20.00 | 29.94 | 28.63 |\n"
    "| BSD68 | 3 | 20.50 | 28.93 | 28.97 |\n"
)
README = "| set | a | b |\n| --- | --- | --- |\n| Set12 | **29.94** | 28.63 |\n"


def bar_spec() -> dict:
    """A bar chart spec with a gap (None) and every optional field left out."""
    return {
        "kind": "bar",
        "name": "psnr",
        "title": "Toy: mean PSNR",
        "categories": ["Set12", "BSD68"],
        "series": {"a": [29.94, 28.93], "b": [28.63, None]},
        "ylabel": "PSNR (dB)",
    }


def line_spec() -> dict:
    """A line chart spec: one curve per label, ``[x values, y values]``."""
    return {
        "kind": "line",
        "name": "curves",
        "title": "Toy: PSNR per step",
        "series": {"a": [[10, 20], [27.0, 29.0]], "b": [[10, 20], [25.0, 27.0]]},
        "xlabel": "step",
        "ylabel": "PSNR (dB)",
        "log": False,
    }


def toy(name: str = "toy") -> dict:
    """A result with everything: data, title, Markdown, README table and two chart specs."""
    return {
        "benchmark": name,
        "date": "2026-01-02",
        "machine": {"cpu": "Test CPU", "cores": 2},
        "rows": [{"set": "Set12", "method": "a", "psnr_db": 29.94}],
        "title": "Toy benchmark: a vs b",
        "markdown": MARKDOWN,
        "readme": README,
        "charts": [bar_spec(), line_spec()],
    }


def plain(name: str = "plain") -> dict:
    """The least a result needs: its benchmark and its Markdown."""
    return {"benchmark": name, "markdown": "| x |\n| --- |\n| 1 |\n"}
