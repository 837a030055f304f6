"""``noise2x evaluate``: PSNR/SSIM (and LPIPS) against references, or the FRC of two halves."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from noise2x.cli.common import (
    FILE_ERRORS,
    USER_ERRORS,
    Failures,
    _expand,
    _fail,
    _message,
    _number,
    _plain_table,
    _print_error,
    _print_failures,
    _print_plain,
    _usage_error,
    app,
    err_console,
)
from noise2x.data.atomic import atomic_write


@app.command()
def evaluate(
    images: Annotated[
        list[Path] | None, typer.Argument(help="Denoised images or folders (with --reference).")
    ] = None,
    reference: Annotated[
        Path | None,
        typer.Option(help="Clean image, or folder matched by file stem (01.tif ~ 01.png)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    lpips: Annotated[
        bool, typer.Option(help="Also report LPIPS (AlexNet) where lpips and its weights are.")
    ] = True,
    frc: Annotated[
        tuple[Path, Path] | None,
        typer.Option(
            metavar="A B",
            help="No clean image: the Fourier ring correlation of two halves of a pair "
            "(independent noisy images of one scene) and its 1/7 resolution.",
        ),
    ] = None,
    frc_denoised: Annotated[
        tuple[Path, Path] | None,
        typer.Option(
            metavar="A B",
            help="The same two halves, each denoised on its own: a second curve to compare.",
        ),
    ] = None,
    frc_plot: Annotated[
        Path | None, typer.Option(help="Write a plot of the FRC curve(s) (.png, .pdf, .svg).")
    ] = None,
    pixel_size: Annotated[
        float | None,
        typer.Option(help="Pixel size for --frc resolutions in --pixel-unit (default: MRC's)."),
    ] = None,
    pixel_unit: Annotated[str, typer.Option(help="Unit of --pixel-size.")] = "Å",
    overwrite: Annotated[bool, typer.Option(help="Replace an existing --frc-plot.")] = False,
) -> None:
    """Score images against clean references, or (--frc) two noisy halves without one.

    With --reference: PSNR (dB), SSIM (and LPIPS where available) of each image. uint8/uint16
    files are compared on [0, 1]; other pixel types with the reference's max - min as the
    data range (see ``noise2x.metrics.evaluate.evaluate_pairs``). LPIPS needs the lpips
    package, torchvision and the AlexNet weights on disk; without them one line on stderr
    says what is missing (nothing is downloaded, no random backbone is used).

    With --frc A B: the Fourier ring correlation of two images of one scene with independent
    noise (even/odd frame averages, two captures) and the resolution where it first drops
    below 1/7 (``noise2x.metrics.frc``): in cycles/pixel, pixels, and Å for MRC files (their
    voxel size) or in --pixel-unit with --pixel-size. Each half is one 2-D image (grey or
    colour); a stack is refused: average its frames into one image per half first.
    --frc-denoised DA DB adds the curve of the two halves denoised separately, by a model
    that saw neither half in training: a higher curve means the denoiser separated signal
    from noise (a model trained on A and B themselves shares their noise and inflates it).
    """
    if frc is not None or frc_denoised is not None:
        if frc is None:
            _usage_error("--frc-denoised needs --frc A B (the raw halves)")
        if reference is not None or images:
            _usage_error("--frc takes no --reference or IMAGES; score those in another call")
        _evaluate_frc(
            frc, frc_denoised, frc_plot, pixel_size, pixel_unit, overwrite, as_json=as_json
        )
        return
    if frc_plot is not None or pixel_size is not None:
        _usage_error("--frc-plot and --pixel-size need --frc A B")
    if reference is None:
        _usage_error("give --reference CLEAN and IMAGES, or --frc A B (no clean image)")
    if not images:
        _usage_error("give the IMAGES to score against --reference")
    _evaluate_reference(images, reference, as_json=as_json, lpips=lpips)


def _evaluate_reference(images: list[Path], reference: Path, as_json: bool, lpips: bool) -> None:
    """``evaluate --reference``: PSNR, SSIM (and LPIPS) of each image against its reference."""
    from noise2x.metrics.evaluate import evaluate_pairs, format_table
    from noise2x.metrics.lpips import lpips_status

    if not reference.exists():
        _usage_error(f"--reference {reference}: no such file or folder")
    lpips_net = None
    if lpips:
        reason = lpips_status("alex")
        if reason is None:
            lpips_net = "alex"
        else:
            err_console.print(Text(reason), soft_wrap=True)
    failures: Failures = []
    files = _expand(images, failures)
    rows = []
    for ref_path, path in _match_each(reference, files, failures):
        try:
            rows.extend(evaluate_pairs([(ref_path, path)], lpips_net=lpips_net))
        except FILE_ERRORS as err:
            _fail(failures, str(path), err)
    if as_json:
        # Strict JSON has no Infinity: identical images (PSNR = inf) get null.
        def finite(v):
            return None if isinstance(v, float) and not math.isfinite(v) else v

        rows = [{k: finite(v) for k, v in r.items()} for r in rows]
        _print_plain(json.dumps(rows, indent=2, allow_nan=False))
    elif rows:
        _print_plain(format_table(rows))
    _print_failures(failures)
    if failures or not rows:
        raise typer.Exit(1)


def _match_each(reference: Path, files: list[Path], failures: Failures) -> list[tuple[Path, Path]]:
    """Pair files with references; a file without one is a failure, the others go on."""
    from noise2x.metrics.evaluate import match_pairs

    try:
        return match_pairs(reference, files) if files else []
    except USER_ERRORS:
        pass  # find out which files failed, one by one
    pairs = []
    for path in files:
        try:
            pairs.extend(match_pairs(reference, [path]))
        except USER_ERRORS as err:
            _fail(failures, str(path), err)
    return pairs


_FRC_PLOT_SUFFIXES = (".png", ".pdf", ".svg")


def _evaluate_frc(
    raw: tuple[Path, Path],
    denoised: tuple[Path, Path] | None,
    plot: Path | None,
    pixel_size: float | None,
    pixel_unit: str,
    overwrite: bool,
    as_json: bool,
) -> None:
    """``evaluate --frc``: FRC curve(s) of two halves, their 1/7 resolution, table and plot."""
    if pixel_size is not None and not (pixel_size > 0 and math.isfinite(pixel_size)):
        _usage_error(f"--pixel-size must be a finite number > 0, got {pixel_size!r}")
    if plot is not None:
        if plot.suffix.lower() not in _FRC_PLOT_SUFFIXES:
            _usage_error(f"--frc-plot {plot}: expected a {', '.join(_FRC_PLOT_SUFFIXES)} file name")
        if plot.exists() and not overwrite:
            _print_error(f"--frc-plot {plot} exists; use --overwrite to replace it")
            raise typer.Exit(1)
    pairs = {"raw": raw} if denoised is None else {"raw": raw, "denoised": denoised}
    try:
        read = [_frc_curve(label, a, b) for label, (a, b) in pairs.items()]
        curves = [curve for curve, _ in read]
        size, unit = _frc_pixel_size(read[0][1], pixel_size, pixel_unit)
        _frc_resolve(curves, size, unit)
    except FILE_ERRORS as err:
        _print_error(_message(err))
        raise typer.Exit(1) from None
    if as_json:
        _print_plain(json.dumps(_frc_json(curves, size, unit), indent=2, allow_nan=False))
    else:
        _print_plain(_frc_text(curves))
    if plot is not None:
        _frc_write_plot(plot, curves)
        if not as_json:
            _print_plain(f"plot: {plot}")


def _frc_curve(label: str, path_a: Path, path_b: Path) -> tuple[dict, object]:
    """Read two halves (one 2-D image each, same shape); their FRC and the first's meta."""
    from noise2x.data.io import read_image
    from noise2x.metrics.frc import frc

    halves = []
    for path in (path_a, path_b):
        image, meta = read_image(path)
        if image.ndim == 4:
            raise ValueError(
                f"{path}: is a stack of {image.shape[0]} frames; --frc needs one image per "
                "half (average the frames of each half into one image first)"
            )
        halves.append((image, meta))
    (a, meta), (b, _) = halves
    if a.shape != b.shape:
        raise ValueError(
            f"{path_a} has shape (C, H, W) = {a.shape} but {path_b} has {b.shape}; "
            "the two halves of a pair must have the same shape"
        )
    freqs, values, counts = frc(a, b, return_counts=True)
    return {
        "label": label,
        "a": str(path_a),
        "b": str(path_b),
        "shape": list(a.shape),
        "frequencies": freqs,
        "frc": values,
        "counts": counts,
    }, meta


def _frc_pixel_size(meta, pixel_size: float | None, unit: str) -> tuple[float | None, str | None]:
    """--pixel-size in `unit`, else the MRC voxel size in Å when it is set and square."""
    if pixel_size is not None:
        return pixel_size, unit
    voxel = meta.voxel_size
    if voxel is None or voxel[0] <= 0:
        return None, None
    if voxel[0] != voxel[1]:
        err_console.print(
            Text(
                f"{meta.path}: pixels are not square ({voxel[0]:g} x {voxel[1]:g} Å); "
                "resolution in pixels only (give --pixel-size to override)"
            ),
            soft_wrap=True,
        )
        return None, None
    return voxel[0], "Å"


def _frc_resolve(curves: list[dict], pixel_size: float | None, unit: str | None) -> None:
    """Add each curve's 1/7 resolution (``noise2x.metrics.frc.frc_resolution``)."""
    from noise2x.metrics.frc import frc_resolution

    for curve in curves:
        try:
            curve["resolution"] = frc_resolution(
                curve["frequencies"], curve["frc"], pixel_size=pixel_size, unit=unit or "Å"
            )
        except ValueError as err:
            raise ValueError(f"{curve['a']} vs {curve['b']}: {_message(err)}") from err


def _frc_resolution_text(res) -> str:
    physical = "" if res.physical is None else f" = {res.physical:.4g} {res.unit}"
    if res.status == "crossed":
        return f"{res.frequency:.4f} cycles/pixel = {res.pixels:.2f} px{physical}"
    if res.status == "never_below":
        return (
            f"above 1/7 at every ring: at least {res.pixels:.2f} px{physical} "
            f"({res.frequency:.4f} cycles/pixel, the last ring)"
        )
    if res.status == "below_from_start":
        return (
            f"below 1/7 from the first ring: no better than {res.pixels:.2f} px{physical} "
            f"({res.frequency:.4f} cycles/pixel)"
        )
    raise ValueError(f"unknown FRC resolution status {res.status!r}")


def _frc_text(curves: list[dict]) -> str:
    """Resolution lines and a table of the curves at about 12 log-spaced rings."""
    import numpy as np

    lines = ["Fourier ring correlation of two halves; resolution where it drops below 1/7:"]
    width = max(len(curve["label"]) for curve in curves)
    for curve in curves:
        text = _frc_resolution_text(curve["resolution"])
        lines.append(f"  {curve['label']:<{width}}  {curve['a']} vs {curve['b']}: {text}")
    freqs = curves[0]["frequencies"]
    rows = np.unique(np.round(np.geomspace(1, len(freqs), 12)).astype(int) - 1)
    header = ["cycles/pixel", "px"] + [f"FRC {curve['label']}" for curve in curves]
    body: list[list[str] | None] = [
        [f"{freqs[i]:.4f}", f"{1 / freqs[i]:.2f}"]
        + [
            _number(float(np.interp(freqs[i], curve["frequencies"], curve["frc"])), 3)
            for curve in curves
        ]
        for i in rows
    ]
    lines += ["", _plain_table(header, body, n_left=0)]
    return "\n".join(lines)


def _frc_json(curves: list[dict], pixel_size: float | None, unit: str | None) -> dict:
    from noise2x.metrics.frc import FRC_THRESHOLD

    def finite(values) -> list:
        return [float(v) if math.isfinite(v) else None for v in values]

    return {
        "threshold": FRC_THRESHOLD,
        "window": "tukey",
        "pixel_size": pixel_size,
        "unit": unit,
        "curves": [
            {
                "label": curve["label"],
                "a": curve["a"],
                "b": curve["b"],
                "shape": curve["shape"],
                "resolution": curve["resolution"]._asdict(),
                "frequencies": finite(curve["frequencies"]),
                "frc": finite(curve["frc"]),
                "counts": [int(n) for n in curve["counts"]],
            }
            for curve in curves
        ],
    }


def _frc_write_plot(path: Path, curves: list[dict]) -> None:
    """Plot the curves and the 1/7 line into `path`, atomically; no matplotlib: one line, exit 1."""
    from noise2x.metrics.frc import FRC_THRESHOLD

    try:
        from matplotlib.figure import Figure
    except ImportError:
        _print_error(
            f"--frc-plot {path}: matplotlib is not installed (pip install matplotlib); "
            "printed the numbers only"
        )
        raise typer.Exit(1) from None
    figure = Figure(figsize=(6.4, 4.0), layout="constrained")
    axes = figure.add_subplot()
    for curve in curves:
        res = curve["resolution"]
        physical = "" if res.physical is None else f", {res.physical:.3g} {res.unit}"
        bound = {"crossed": "", "never_below": "≤ ", "below_from_start": "≥ "}[res.status]
        line = axes.plot(
            curve["frequencies"],
            curve["frc"],
            label=f"{curve['label']}: {bound}{res.pixels:.2f} px{physical}",
        )[0]
        axes.axvline(res.frequency, color=line.get_color(), linestyle=":", linewidth=1)
    axes.axhline(FRC_THRESHOLD, color="grey", linestyle="--", linewidth=1, label="1/7")
    axes.set(
        xlim=(0, 0.5),
        ylim=(-0.2, 1.05),
        xlabel="spatial frequency (cycles/pixel)",
        ylabel="FRC",
        title="Fourier ring correlation of two halves",
    )
    axes.legend()
    try:
        with atomic_write(path) as tmp:
            figure.savefig(tmp, dpi=120)
    except FILE_ERRORS as err:
        _print_error(f"--frc-plot {path}: {_message(err)}")
        raise typer.Exit(1) from None
