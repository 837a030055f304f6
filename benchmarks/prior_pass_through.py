"""Choose how much of a nearly noise-free input the prior passes through (validation only).

The shipped nets were trained on noise of sigma up to 55 and smooth the finest texture of a
clean image. This script measures it and chooses ``noise2x.weights.PRIOR_PASS_THROUGH``: at an
estimated sigma (the gate's wavelet estimate, 0-255 scale) up to `full` the result is
``weight * input + (1 - weight) * prior``; the input's share falls linearly to 0 at `none`.

Inputs: the validation images of ``prior_validation.py`` (scikit-image samples, 256x256 centre
crops, in no test set; 12 grey, 7 colour) with Gaussian noise of sigma 0 (the clean crop), 0.5,
1, 2, 3, 5, 8 and 10 (0-255 scale, seed ``9000 + 100 * k + 10 * sigma`` for the k-th image),
spatially correlated Gaussian noise of sigma 5, 10 and 15 (white noise smoothed by the 3x3
binomial kernel and rescaled, as demosaicing and camera processing correlate a sensor's noise;
the wavelet estimate reads it far too low), and, for grey, the first 3 raw captures of FMD
fields 15 and 16 (real noise; the validation fields of ``real_fmd.py``). The default prior
(gate; the 4-fold self-ensemble, fixed: the default by size would take 6 on these crops)
denoises each input once without pass-through; every rule of a
grid is then scored on those outputs: PSNR (dB) of the result clipped to [0, 1], mean over the
images, then over the noisy levels (sigma 0 is shown as its worst image, not scored: the input
itself is exact there). A rule is eligible only if no level's
mean PSNR is lower than without pass-through (FMD and correlated noise included); the best
eligible rule is chosen, or none.

Usage::

    python benchmarks/prior_pass_through.py --threads 2

Writes ``benchmarks/results/prior_pass_through.json`` and ``.md``.
"""

from __future__ import annotations

import itertools

import numpy as np
from prior_gate import fmd_pairs  # benchmarks/ is on sys.path
from prior_validation import images, start_run

SIGMAS = (0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 10.0)
CORRELATED = (5.0, 10.0, 15.0)
"""Sigma (0-255) of the spatially correlated noise: white noise smoothed by the 3x3 binomial
kernel, as demosaicing and camera processing correlate a sensor's noise, then rescaled."""
FULL = tuple(np.arange(0.0, 5.01, 0.5))
NONE = tuple(np.arange(1.0, 9.01, 0.5))
WEIGHT = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def correlated(white: np.ndarray) -> np.ndarray:
    """Return white noise of shape (H, W) or (C, H, W) smoothed by the 3x3 binomial kernel.

    Over H and W, wrapping at the borders, then rescaled to unit standard deviation.
    """
    out = white
    for axis in (-2, -1):
        out = (np.roll(out, 1, axis) + 2 * out + np.roll(out, -1, axis)) / 4
    return out / out.std()


def inputs(kind: str) -> list[dict]:
    """Return the noisy inputs of a kind: noise label, image, clean and noisy (float32)."""
    rows = []
    for k, (name, clean) in enumerate(images(kind).items()):
        for sigma in SIGMAS:
            rng = np.random.default_rng(9000 + 100 * k + round(10 * sigma))
            noisy = (clean + rng.normal(0, sigma / 255, clean.shape)).astype(np.float32)
            rows.append({"noise": f"{sigma:g}", "image": name, "clean": clean, "noisy": noisy})
        for sigma in CORRELATED:
            rng = np.random.default_rng(19000 + 100 * k + round(sigma))
            noise = correlated(rng.standard_normal(clean.shape))
            noisy = (clean + sigma / 255 * noise).astype(np.float32)
            rows.append({"noise": f"c{sigma:g}", "image": name, "clean": clean, "noisy": noisy})
    if kind == "grey":
        for k, (noisy, clean) in enumerate(fmd_pairs()):
            rows.append({"noise": "fmd", "image": f"fmd{k}", "clean": clean[0], "noisy": noisy[0]})
    return rows


def denoise(rows: list[dict]) -> None:
    """Add the estimated sigma (0-255) and the prior's output without pass-through to each row."""
    import noise2x
    from noise2x.noise.estimate import estimate_sigma

    for row in rows:
        noisy = row["noisy"]
        row["sigma_hat"] = float(255.0 * estimate_sigma(noisy if noisy.ndim == 3 else noisy[None]))
        axis = {} if noisy.ndim == 2 else {"channel_axis": 0}
        out = noise2x.denoise(noisy, normalize="none", pass_through=False, ensemble=4, **axis)
        row["out"] = out.astype(np.float64)


def score(rows: list[dict], rule: tuple[float, float, float] | None) -> dict[str, float]:
    """Return the mean PSNR (dB) per noise label of the results under `rule` (None: no rule)."""
    from noise2x.methods.prior import input_share
    from noise2x.metrics import psnr_np

    by_noise: dict[str, list[float]] = {}
    for row in rows:
        share = 0.0 if rule is None else input_share(row["sigma_hat"], *rule)
        out = np.clip((1 - share) * row["out"] + share * row["noisy"], 0.0, 1.0)
        by_noise.setdefault(row["noise"], []).append(psnr_np(out, row["clean"], 1.0))
    # sigma 0 (not scored): the worst image, since an exact result has an infinite PSNR
    return {n: round(float(np.min(v) if n == "0" else np.mean(v)), 4) for n, v in by_noise.items()}


def scored_mean(table: dict[str, float]) -> float:
    """Mean over the noisy levels (every label but sigma 0)."""
    return float(np.mean([v for noise, v in table.items() if noise != "0"]))


def choose(rows: list[dict]) -> dict:
    """Return the table without pass-through, the best eligible rule and its table.

    Also the best rule that loses at no level of white noise (nor FMD) but is not checked on
    the correlated noise (``white_only``), to show what that check changes.
    """
    base = score(rows, None)
    best, white = None, None
    for full, none, weight in itertools.product(FULL, NONE, WEIGHT):
        if none <= full:
            continue
        rule = (float(full), float(none), float(weight))
        table = score(rows, rule)
        losses = [n for n in base if n != "0" and table[n] < base[n]]
        if all(n.startswith("c") for n in losses):
            white_only = {n: v for n, v in table.items() if not n.startswith("c")}
            if white is None or scored_mean(white_only) > white[2]:
                white = (rule, table, scored_mean(white_only))
        if losses:
            continue
        if best is None or scored_mean(table) > scored_mean(best[1]):
            best = (rule, table)
    return {
        "none": base,
        "chosen": None if best is None else list(best[0]),
        "chosen_table": None if best is None else best[1],
        "white_only": None if white is None else list(white[0]),
        "white_only_table": None if white is None else white[1],
        "sigma_hat": {
            noise: [round(min(r["sigma_hat"] for r in rows if r["noise"] == noise), 2),
                    round(max(r["sigma_hat"] for r in rows if r["noise"] == noise), 2)]
            for noise in base
        },
    }  # fmt: skip


def render(report: dict) -> str:
    """Return the Markdown table: mean PSNR per kind and noise without and with the rules."""
    lines = [
        f"Pass-through of nearly noise-free inputs, {report['date']}, {report['machine']['cpu']}: "
        "the default prior (gate, 4-fold self-ensemble) on the validation images of "
        "prior_validation.py (256x256 crops, in no test set; grey also the first 3 raw captures "
        "of FMD fields 15-16); corr.: spatially correlated noise (3x3 binomial); PSNR (dB) of "
        "the result, mean over the images; σ 0: the clean crop, the worst image (not scored); "
        "rule (full, none, weight): the input's share is `weight` up to an estimated sigma of "
        "`full`, falling linearly to 0 at `none`; chosen: the best mean over the noisy levels "
        "among the rules that lose at none of them; best on white noise alone: the same, not "
        "checked on the correlated noise; shipped: noise2x.weights.PRIOR_PASS_THROUGH.",
        "",
    ]
    for kind, entry in report["kinds"].items():
        noises = list(entry["none"])
        label = {
            n: "FMD" if n == "fmd" else f"corr. σ {n[1:]}" if n.startswith("c") else f"σ {n}"
            for n in noises
        }
        lines += [
            f"| {kind} | rule | " + " | ".join(label[n] for n in noises) + " | mean |",
            "| --- " * (3 + len(noises)) + "|",
        ]
        shipped = entry["shipped"]
        rows = [("none" + (" (shipped)" if shipped is None else ""), entry["none"])]
        if entry["chosen"] is not None:
            mark = " (shipped)" if shipped == entry["chosen"] else ""
            rows.append((f"chosen {tuple(entry['chosen'])}{mark}", entry["chosen_table"]))
        if shipped is not None and shipped != entry["chosen"]:
            rows.append((f"shipped {tuple(shipped)}", entry["shipped_table"]))
        if entry.get("white_only") not in (None, entry["chosen"]):
            name = f"best on white noise alone {tuple(entry['white_only'])}"
            rows.append((name, entry["white_only_table"]))
        for name, table in rows:
            cells = " | ".join(f"{table[n]:.2f}" for n in noises)
            lines.append(f"| {kind} | {name} | {cells} | {scored_mean(table):.3f} |")
        ranges = " | ".join(f"{a:.1f}–{b:.1f}" for a, b in entry["sigma_hat"].values())
        lines += [f"| {kind} | estimated σ (min–max) | {ranges} | |", ""]
    return "\n".join(lines)


def main() -> None:
    from noise2x.report import write_result
    from noise2x.weights import PRIOR_PASS_THROUGH

    kinds, out, head = start_run(__doc__, "prior_pass_through")
    report = {**head, "sigmas": list(SIGMAS), "kinds": {}}
    for kind in kinds:
        rows = inputs(kind)
        denoise(rows)
        entry = report["kinds"][kind] = choose(rows)
        shipped = PRIOR_PASS_THROUGH.get(1 if kind == "grey" else 3)
        entry["shipped"] = None if shipped is None else list(shipped)
        entry["shipped_table"] = None if shipped is None else score(rows, shipped)
        print(kind, report["kinds"][kind]["chosen"], flush=True)
    report["markdown"] = render(report)
    write_result(report, out)
    print(report["markdown"])


if __name__ == "__main__":
    main()
