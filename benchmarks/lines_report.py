"""The rendering of ``benchmarks/lines.py``'s results: the Markdown tables and the charts.

JSON: ``{"benchmark": "lines", "date", "machine": {"cpu", ...}, "workers", "threads", "torch",
"subset", "rows": [...]}``, one row per (image, axis, fraction, noise) with
``damaged_black`` / ``damaged_white`` (PSNR, SSIM, whether detection found exactly the planted
lines), and per method ``noise2x``, ``interp``, ``biharmonic`` (and, for some conditions,
``noise2x_net``: the network as denoiser) a dict ``{psnr_db, ssim, psnr_lines_db, seconds}``.

The script imports its conditions' names from here (``NOISES``, ``VALUES``, ``METHODS``).
"""

from __future__ import annotations

from pathlib import Path

from noise2x.report import BarChart, with_rendering, write_result
from noise2x.report.figures import Chart
from noise2x.report.tables import mean, psnr_ssim, table_lines

TITLE = "Dead sensor lines: noise2x restore-lines vs interpolation and inpainting"
NOISES = ("none", "gauss25")  # noise-free rows first
VALUES = ("black", "white")  # the dead lines' value
METHODS = ("noise2x", "interp", "biharmonic")  # table columns
#: The first attempt quoted by issue 5 (noise-free, PSNR in dB).
FIRST_ATTEMPT = {
    ("rows", 0.1): 26.3,
    ("rows", 0.2): 28.7,
    ("rows", 0.3): 26.3,
    ("cols", 0.1): 14.2,
    ("cols", 0.3): 9.4,
}

Condition = tuple[str, float, str]  # (axis, fraction, noise)


def groups(result: dict) -> dict[Condition, list[dict]]:
    """Return the rows of each (axis, fraction, noise), noise-free first, rows before columns."""
    found: dict[Condition, list[dict]] = {}
    for row in result["rows"]:
        found.setdefault((row["axis"], row["fraction"], row["noise"]), []).append(row)
    return dict(
        sorted(
            found.items(),
            key=lambda item: (NOISES.index(item[0][2]), item[0][0] != "rows", item[0][1]),
        )
    )


def _mean(group: list[dict], method: str, key: str) -> float:
    return mean(r[method][key] for r in group)


def markdown(result: dict) -> str:
    """Return the text written to ``lines.md`` (and shown in the README).

    Parameters
    ----------
    result : dict
        The parsed ``lines.json``.

    Returns
    -------
    str
        Caption, table (one row per condition: PSNR / SSIM of each method, the margin over
        the better baseline, detection counts, seconds), the network-denoiser rows where
        measured, and the first attempt's figures; ends with a newline.
    """
    rows = result["rows"]
    steps = next((r.get("steps") for r in rows if r.get("steps")), "?")
    lines = [
        f"Dead-line benchmark, {result['date']}, {result['machine']['cpu']}, "
        f"{result['workers']} worker(s) x {result['threads']} thread(s), torch "
        f"{result['torch']}; noise2x restore_lines: {steps} steps; with noise every method "
        "ends with BM3D at the true sigma (noise2x: --denoise, its default BM3D denoiser, "
        "--sigma 25). PSNR (dB) / SSIM against the clean image, mean over n images "
        f"({result['subset']} subset). Black and white lines at the same places give the "
        "same restorations (no method reads a dead pixel); 'detected' counts the images whose "
        "dead lines were found exactly, black / white.",
        "",
    ]
    body = []
    for (axis, fraction, noise), group in groups(result).items():
        cells = [
            psnr_ssim(_mean(group, m, "psnr_db"), _mean(group, m, "ssim"))
            for m in ("damaged_black", *METHODS)
        ]
        best = max(_mean(group, "interp", "psnr_db"), _mean(group, "biharmonic", "psnr_db"))
        detected = " / ".join(
            str(sum(r[f"damaged_{v}"]["detected"] for r in group)) for v in VALUES
        )
        body.append(
            [
                f"{fraction:.0%} {axis}",
                noise,
                str(len(group)),
                *cells,
                f"{_mean(group, 'noise2x', 'psnr_db') - best:+.2f} dB",
                f"{detected} of {len(group)}",
                f"{_mean(group, 'noise2x', 'seconds'):.0f}",
            ]
        )
    lines += table_lines(
        [
            "lost",
            "noise",
            "n",
            "damaged (black)",
            "noise2x",
            "linear interp.",
            "biharmonic",
            "noise2x − best baseline",
            "detected",
            "noise2x s/image",
        ],
        body,
    )
    net = [
        (key, [r for r in group if "noise2x_net" in r])
        for key, group in groups(result).items()
        if any("noise2x_net" in r for r in group)
    ]
    if net:
        lines += [
            "",
            "The network as denoiser instead of BM3D (`--denoise --denoiser self2self`), same "
            "inputs:",
            "",
        ]
        lines += table_lines(
            ["lost", "noise", "n", "noise2x, net denoiser", "noise2x, BM3D denoiser"],
            [
                [
                    f"{fraction:.0%} {axis}",
                    noise,
                    str(len(group)),
                    psnr_ssim(
                        _mean(group, "noise2x_net", "psnr_db"), _mean(group, "noise2x_net", "ssim")
                    ),
                    psnr_ssim(_mean(group, "noise2x", "psnr_db"), _mean(group, "noise2x", "ssim")),
                ]
                for (axis, fraction, noise), group in net
            ],
        )
    lines += [
        "",
        "First attempt (issue 5), noise-free: "
        + ", ".join(f"{f:.0%} {a} {p} dB" for (a, f), p in FIRST_ATTEMPT.items())
        + ".",
    ]
    return "\n".join(lines) + "\n"


def charts(result: dict) -> list[Chart]:
    """Return PSNR per condition (bars: noise2x and the baselines), whole image and lines only.

    Parameters
    ----------
    result : dict
        The parsed ``lines.json``.

    Returns
    -------
    list of BarChart
    """
    found = groups(result)
    names = [f"{f:.0%} {a}, {n}" for a, f, n in found]
    labels = {"noise2x": "noise2x", "interp": "linear interp.", "biharmonic": "biharmonic"}
    return [
        BarChart(
            name,
            title,
            names,
            {labels[m]: [_mean(g, m, key) for g in found.values()] for m in METHODS},
            "PSNR (dB)",
            horizontal=True,
            value_format="{:.1f}",
        )
        for name, title, key in (
            ("psnr", "Dead lines: PSNR of the whole image", "psnr_db"),
            ("psnr_lines", "Dead lines: PSNR on the dead lines only", "psnr_lines_db"),
        )
    ]


def save(result: dict, out: Path) -> str:
    """Render `result` into itself; write it to `out` and the ``.md`` beside it; return that."""
    rendered = with_rendering(result, title=TITLE, markdown=markdown(result), charts=charts(result))
    return write_result(rendered, out)
