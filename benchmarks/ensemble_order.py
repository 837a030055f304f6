"""Choose which 4 of the 8 flips / rotations the prior's self-ensemble averages (validation).

The 4-fold self-ensemble (``noise2x.ops.ensemble``, the prior's default on images above
280 x 280 pixels, and its first 4 transforms on smaller ones) averages the net's
outputs over 4 of the 8 symmetries of the square. Every 4 cost the same 4 passes; which 4
matters when the net's errors depend on the orientation of an edge. Three orders are
compared, each the default prior otherwise (the gate, float32, tiling) on the same inputs:

- ``rows``: identity, horizontal flip, half turn, vertical flip (``ROW_ORDER``; rows stay
  rows, as structN2V needs; the prior's default before this script's first run);
- ``turns``: identity and the quarter, half and three-quarter turns (``ENSEMBLE_ORDER``);
- ``transposes``: identity, half turn and the two transposes.

Inputs are those of ``prior_gate.py``: the validation images of ``prior_validation.py``
(scikit-image samples, 256x256 centre crops, in no test set) with Gaussian noise sigma 5, 10,
..., 50 (0-255 scale) and Poisson lambda 10, 30, 100, and, for grey, the first 3 raw
captures of FMD fields 15 and 16 (real noise, the validation fields of ``real_fmd.py``).
PSNR (dB) against the clean image (avg50 for FMD), the output clipped to [0, 1].

Usage::

    python benchmarks/ensemble_order.py --threads 2

Writes ``benchmarks/results/ensemble_order.json`` and ``.md``.
"""

from __future__ import annotations

import numpy as np
from prior_gate import NOISES, validation_inputs  # benchmarks/ is on sys.path
from prior_validation import start_run

ORDERS = {
    "rows": (0, 4, 2, 6),
    "turns": (0, 1, 2, 3),
    "transposes": (0, 2, 5, 7),
}
"""The 4 transforms of each order (``noise2x.ops.ensemble.dihedral`` indices)."""


def score(kind: str, fmd: bool) -> dict[str, dict[str, list[float]]]:
    """Return psnr_db[order][noise]: one PSNR per image, the default prior with that order."""
    import noise2x
    import noise2x.ops.ensemble as ensemble
    from noise2x.metrics import psnr_np

    inputs = validation_inputs(kind, fmd, channel_axis=False)
    psnr_db: dict[str, dict[str, list[float]]] = {name: {} for name in ORDERS}
    default = ensemble.ENSEMBLE_ORDER
    try:
        for noise, pairs in inputs.items():
            for noisy, clean in pairs:
                axis = {} if noisy.ndim == 2 else {"channel_axis": 0}
                for name, order in ORDERS.items():
                    ensemble.ENSEMBLE_ORDER = (*order, *(k for k in range(8) if k not in order))
                    out = noise2x.denoise(
                        noisy, normalize="none", ensemble=4, pass_through=False, **axis
                    )
                    value = psnr_np(np.clip(out, 0.0, 1.0), clean, 1.0)
                    psnr_db[name].setdefault(noise, []).append(round(float(value), 4))
            print(kind, noise, *(f"{n} {np.mean(v[noise]):.4f}" for n, v in psnr_db.items()))
    finally:
        ensemble.ENSEMBLE_ORDER = default
    return psnr_db


def render(report: dict) -> str:
    """Return the Markdown table: mean PSNR per kind, order and noise, and over every noise."""
    kinds = report["kinds"].values()
    noises = [n for n in (*NOISES, "fmd") if any(n in e[o] for e in kinds for o in e)]
    label = {n: (f"σ {n}" if n.isdigit() else n.replace("poisson", "λ ")) for n in noises}
    lines = [
        f"The prior's 4-fold self-ensemble by order, {report['date']}, "
        f"{report['machine']['cpu']}: "
        "the default prior (gate, float32) on the validation images of prior_validation.py "
        "(scikit-image samples, 256x256 crops, in no test set; grey also the first 3 raw "
        "captures of FMD fields 15-16); PSNR (dB), mean over the images; rows: identity, "
        "horizontal flip, half turn, vertical flip; turns: identity and the quarter, half and "
        "three-quarter turns; transposes: identity, half turn and both transposes.",
        "",
        "| model | order | " + " | ".join(label[n] for n in noises) + " | mean |",
        "| --- " * (3 + len(noises)) + "|",
    ]
    for kind, entry in report["kinds"].items():
        for name, by_noise in entry.items():
            means = [np.mean(by_noise[n]) if n in by_noise else None for n in noises]
            cells = [f"{m:.3f}" if m is not None else "" for m in means]
            overall = np.mean([m for m in means if m is not None])
            lines.append(f"| {kind} | {name} | " + " | ".join(cells) + f" | {overall:.3f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    from noise2x.report import write_result

    kinds, out, head = start_run(__doc__, "ensemble_order")
    report = {
        **head,
        "orders": {name: list(order) for name, order in ORDERS.items()},
        "kinds": {kind: score(kind, fmd=kind == "grey") for kind in kinds},
    }
    report["markdown"] = render(report)
    write_result(report, out)
    print(report["markdown"])


if __name__ == "__main__":
    main()
