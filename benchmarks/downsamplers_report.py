"""The rendering of ``benchmarks/downsamplers.py``'s results: the Markdown tables and charts.

JSON: ``{"benchmark": "downsamplers", "date", "machine": {"cpu", ...}, "workers", "threads",
"subset", "rows": [...]}``. Study rows (``"part": "study"``) hold one ZS-N2N training:
``dataset, image, noise, downsampler, steps, noisy_psnr_db, psnr_db, ssim, psnr_history
[[step, dB], ...], seconds``. At most one ``"part": "ne2ne"`` row holds the Neighbor2Neighbor
training and its per-image BSD68 results (``images: [{image, noisy_psnr_db, psnr_db, ssim,
n2n?, n2c?, bm3d?}]``, the last three copied from ``benchmarks/results/n2n.json``).

The study table has one row per (set, noise) and one column per downsampler (PSNR / SSIM, mean
over the images), plus the best one; the curves are the mean PSNR per step of each downsampler,
one chart per (set, noise).
"""

from __future__ import annotations

from pathlib import Path

from noise2x.report import BarChart, LineChart, with_rendering, write_result
from noise2x.report.figures import Chart
from noise2x.report.tables import mean, psnr_ssim, table_lines

TITLE = "Pair downsamplers in ZS-N2N, and Neighbor2Neighbor vs N2N vs N2C"
Group = tuple[str, str]  # (dataset, noise)


def _noise_rank(noise: str) -> float:
    digits = "".join(ch for ch in noise if ch.isdigit())
    return float(digits) if digits else float("inf")


def study_rows(result: dict) -> list[dict]:
    """Return the study rows of `result` (one ZS-N2N training each)."""
    return [r for r in result["rows"] if r.get("part", "study") == "study"]


def downsamplers(result: dict) -> list[str]:
    """Return the downsampler names of the study, the paper's ``diagonal`` first, then sorted."""
    names = sorted({r["downsampler"] for r in study_rows(result)})
    return sorted(names, key=lambda n: (n != "diagonal", n))


def summarize(result: dict) -> dict[Group, dict[str, dict]]:
    """Return mean PSNR / SSIM and the mean PSNR curve of each (set, noise) and downsampler.

    Parameters
    ----------
    result : dict
        The parsed ``downsamplers.json``.

    Returns
    -------
    dict
        (dataset, noise) -> downsampler -> ``{"n", "psnr_db", "ssim", "noisy_psnr_db",
        "curve": ([step, ...], [dB, ...])}``; groups ordered Set12 first, then by set name,
        then by sigma. The curve averages the images that logged the same steps.
    """
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for row in study_rows(result):
        groups.setdefault((row["dataset"], row["noise"], row["downsampler"]), []).append(row)
    summary: dict[Group, dict[str, dict]] = {}
    for (dataset, noise, name), members in groups.items():
        steps = [s for s, _ in members[0]["psnr_history"]]
        same = [m for m in members if [s for s, _ in m["psnr_history"]] == steps]
        curve = [mean(m["psnr_history"][i][1] for m in same) for i in range(len(steps))]
        summary.setdefault((dataset, noise), {})[name] = {
            "n": len(members),
            "psnr_db": mean(r["psnr_db"] for r in members),
            "ssim": mean(r["ssim"] for r in members),
            "noisy_psnr_db": mean(r["noisy_psnr_db"] for r in members),
            "curve": (steps, curve),
        }
    return dict(
        sorted(
            summary.items(),
            key=lambda item: (item[0][0] != "Set12", item[0][0], _noise_rank(item[0][1])),
        )
    )


def _study_table(result: dict) -> list[str]:
    names = downsamplers(result)
    body = []
    for (dataset, noise), cells in summarize(result).items():
        present = [n for n in names if n in cells]
        best = max(present, key=lambda n: cells[n]["psnr_db"])
        first = cells[present[0]]
        body.append(
            [
                dataset,
                noise,
                str(first["n"]),
                f"{first['noisy_psnr_db']:.2f}",
                *(
                    psnr_ssim(cells[n]["psnr_db"], cells[n]["ssim"]) if n in cells else "not run"
                    for n in names
                ),
                best,
            ]
        )
    return table_lines(["set", "noise", "n", "noisy", *names, "best"], body)


def _ne2ne_table(row: dict) -> list[str]:
    images = row["images"]
    labels = {"psnr_db": "Ne2Ne"}
    refs = [m for m in ("n2n", "n2c", "bm3d") if all(m in i for i in images)]
    cells = [
        row["set"],
        row["noise"],
        str(len(images)),
        f"{mean(i['noisy_psnr_db'] for i in images):.2f}",
        psnr_ssim(mean(i["psnr_db"] for i in images), mean(i["ssim"] for i in images)),
    ]
    for m in refs:
        cells.append(
            psnr_ssim(mean(i[m]["psnr_db"] for i in images), mean(i[m]["ssim"] for i in images))
        )
    headers = {"n2n": "N2N (noisy pairs)", "n2c": "N2C (clean targets)", "bm3d": "BM3D"}
    return table_lines(
        ["set", "noise", "n", "noisy", labels["psnr_db"] + " (single noisy images)"]
        + [headers[m] for m in refs],
        [cells],
    )


def markdown(result: dict) -> str:
    """Return the text written to ``downsamplers.md``.

    Parameters
    ----------
    result : dict
        The parsed ``downsamplers.json``.

    Returns
    -------
    str
        The study's caption and table, then (when the JSON has it) the Neighbor2Neighbor
        caption and table; ends with a newline.
    """
    rows = study_rows(result)
    steps = rows[0]["steps"] if rows else "?"
    crops = sorted({f"{r['dataset']}/{r['image']}: {r['shape'][1]}x{r['shape'][2]}" for r in rows})
    lines = [
        f"Pair-downsampler study, {result['date']}, {result['machine']['cpu']}, "
        f"{result['workers']} worker(s) x {result['threads']} thread(s); ZS-N2N with the "
        f"library's defaults ({steps} steps) and only the downsampler changed; Gaussian noise "
        "(sigma on the 0-255 scale); PSNR (dB) / SSIM against the clean image, mean over n "
        f"images ({result['subset']} subset: {', '.join(crops)}).",
        "",
        *_study_table(result),
    ]
    for row in result["rows"]:
        if row.get("part") != "ne2ne":
            continue
        reference = row.get("reference")
        source = (
            f"N2N, N2C and BM3D from {reference['file']} ({reference['date']}, "
            f"{reference['steps']} steps, same net, crops, seed and noisy inputs)"
            if reference
            else "no N2N/N2C reference attached"
        )
        lines += [
            "",
            f"Neighbor2Neighbor: the paper's U-Net trained on Train400 noisy images only "
            f"({row['steps']} steps of 8 crops of 64x64, fixed noisy set, "
            f"{row['train_seconds'] / 60:.0f} min on one thread); {source}. PSNR (dB) / SSIM, "
            "mean over n images.",
            "",
            *_ne2ne_table(row),
        ]
    return "\n".join(lines) + "\n"


def charts(result: dict) -> list[Chart]:
    """Return one PSNR-per-step chart and one final-PSNR bar chart per (set, noise).

    Parameters
    ----------
    result : dict
        The parsed ``downsamplers.json``.

    Returns
    -------
    list of LineChart and BarChart
        ``curves_<set>_<noise>`` (one line per downsampler) for every group, then
        ``psnr`` (final PSNR, groups as categories, downsamplers as series).
    """
    summary = summarize(result)
    names = downsamplers(result)
    found: list[Chart] = []
    for (dataset, noise), cells in summary.items():
        found.append(
            LineChart(
                f"curves_{dataset}_{noise}".lower(),
                f"ZS-N2N PSNR per step, {dataset} {noise}",
                {n: cells[n]["curve"] for n in names if n in cells and cells[n]["curve"][0]},
                xlabel="step",
                ylabel="PSNR (dB)",
            )
        )
    if summary:
        found.append(
            BarChart(
                "psnr",
                "ZS-N2N final PSNR per downsampler",
                [f"{d} {noise}" for d, noise in summary],
                {
                    n: [cells[n]["psnr_db"] if n in cells else None for cells in summary.values()]
                    for n in names
                },
                "PSNR (dB)",
                value_format="{:.1f}",
            )
        )
    return found


def save(result: dict, out: Path) -> str:
    """Render `result` into itself; write it to `out` and the ``.md`` beside it; return that."""
    rendered = with_rendering(result, title=TITLE, markdown=markdown(result), charts=charts(result))
    return write_result(rendered, out)
