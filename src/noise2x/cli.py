"""The ``noise2x`` command line: denoise, train, add-noise, evaluate, demo, list.

Every command that takes many files processes each one independently: a bad file gets one
line on stderr naming it and the problem, the others are still processed, the summary lists
the failures and the exit code is 1. A bad option (unknown method, noise model, parameter,
device or output dtype) is one line and exit code 2, before any file is touched. Nothing is
overwritten without ``--overwrite``; files are written atomically by ``noise2x.data.io``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.text import Text

app = typer.Typer(
    help="noise2x: remove noise from images without clean training data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

#: Errors that mean "this input or option is bad": reported in one line, never as a traceback.
USER_ERRORS = (FileNotFoundError, FileExistsError, ValueError, KeyError, TypeError, OSError)
#: Errors while processing one file: also torch's RuntimeError (e.g. out of memory).
FILE_ERRORS = (*USER_ERRORS, RuntimeError, MemoryError)

Failures = list[tuple[str, str]]


def _message(err: BaseException) -> str:
    text = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    return " ".join(text.split()) or type(err).__name__  # one line, whatever the library wrote


def _print_error(message: str) -> None:
    """Print ``error: <message>`` on one line of stderr, without markup or wrapping."""
    err_console.print(Text.assemble(("error", "red"), ": ", message), soft_wrap=True)


def _usage_error(message: str) -> NoReturn:
    """Report a bad option and exit with code 2."""
    _print_error(message)
    raise typer.Exit(2)


def _fail(failures: Failures, name: str, err: BaseException) -> None:
    """Record and print the failure of input `name`; the message always names it."""
    message = _message(err)
    if name not in message:
        message = f"{name}: {message}"
    failures.append((name, message))
    _print_error(message)


def _print_failures(failures: Failures) -> None:
    if failures:
        err_console.print(
            Text.assemble((f"{len(failures)} input(s) failed:", "red")), soft_wrap=True
        )
        for _, message in failures:
            err_console.print(Text(f"  {message}"), soft_wrap=True)


def _print_plain(text: str) -> None:
    """Print `text` to stdout as it is: no markup, highlighting or wrapping."""
    console.out(text, highlight=False)


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    )


def _expand(inputs: Iterable[Path], failures: Failures) -> list[Path]:
    """Expand folders to image files; record missing paths and empty folders as failures."""
    from noise2x.data.io import list_images

    files: list[Path] = []
    for path in inputs:
        try:
            files.extend(list_images([path]))
        except USER_ERRORS as err:
            _fail(failures, str(path), err)
    return files


def _check_output_dtype(output_dtype: str | None) -> None:
    from noise2x.data.io import OUTPUT_DTYPES

    if output_dtype is not None and output_dtype not in OUTPUT_DTYPES:
        _usage_error(
            f"--output-dtype must be one of {', '.join(OUTPUT_DTYPES)}, got {output_dtype!r}"
        )


def _check_device(device: str) -> None:
    from noise2x.device import resolve_device

    try:
        resolve_device(device)
    except ValueError as err:
        _usage_error(f"--device: {_message(err)}")


def _check_output_folder(output: Path) -> None:
    if output.exists() and not output.is_dir():
        _usage_error(f"--output {output}: is a file; give a folder")


def _target(output: Path, path: Path, output_dtype: str | None) -> Path:
    """Output path of input `path`: same name; ``.tif`` when float32 is asked of PNG/JPEG."""
    target = output / path.name
    if output_dtype == "float32" and path.suffix.lower() in (".png", ".jpg", ".jpeg"):
        target = target.with_suffix(".tif")
    return target


def _claim(target: Path, path: Path, overwrite: bool, written: dict[Path, Path]) -> None:
    """Refuse an existing output (without `overwrite`) or one written earlier in this call."""
    if target in written:
        raise FileExistsError(
            f"{path}: same output name as {written[target]} ({target}); "
            "put inputs with one name in separate calls or output folders"
        )
    if target.exists() and not overwrite:
        raise FileExistsError(f"{path}: output {target} exists; use --overwrite to replace it")


@app.command()
def denoise(
    inputs: Annotated[list[Path], typer.Argument(help="Noisy images or folders of images.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder.")],
    method: Annotated[str, typer.Option(help="Denoising method (see `noise2x list`).")] = "zsn2n",
    steps: Annotated[int | None, typer.Option(min=1, help="Training steps per image.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the network's initial weights.")] = 0,
    preset: Annotated[
        str, typer.Option(help="'fast' (default schedule) or 'paper' (the paper's settings).")
    ] = "fast",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    overwrite: Annotated[bool, typer.Option(help="Replace existing outputs.")] = False,
    reference: Annotated[
        Path | None,
        typer.Option(help="Clean image, or folder matched by file stem, for PSNR/SSIM."),
    ] = None,
    output_dtype: Annotated[
        str | None,
        typer.Option(
            help="uint8, uint16 or float32 (default: the input's); float32 writes TIFF "
            "for PNG/JPEG inputs."
        ),
    ] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(help="A model trained by `noise2x train` (.ckpt) instead of --method."),
    ] = None,
    tile: Annotated[
        int | None, typer.Option(min=16, help="Tile side in pixels (default: from free memory).")
    ] = None,
    overlap: Annotated[
        int | None, typer.Option(min=0, help="Overlap of neighbouring tiles in pixels.")
    ] = None,
) -> None:
    """Denoise each image; outputs keep name, format and dtype.

    Without --checkpoint each image is denoised on its own by a single-image method
    (--method); with --checkpoint by a trained model, tile by tile with blended seams. A stack
    (multi-page TIFF, MRC with several sections) is read, denoised and written one frame at a
    time (each frame scaled to [0, 1] on its own), so memory does not grow with its length. With
    ``--reference`` the summary gives PSNR (dB) and SSIM of the noisy input and of the written
    output, measured as ``noise2x evaluate`` does.
    """
    from noise2x import api
    from noise2x.data.io import write_image
    from noise2x.data.stream import StackReader

    if checkpoint is None:
        if tile is not None or overlap is not None:
            _usage_error("--tile and --overlap apply to --checkpoint models only")
        params = _method_params(method, preset, steps, seed)
    else:
        if not checkpoint.is_file():
            _usage_error(f"--checkpoint {checkpoint}: no such file")
        if tile is not None and overlap is not None and overlap >= tile:
            _usage_error(f"--overlap ({overlap}) must be smaller than --tile ({tile})")
        params = {"checkpoint": str(checkpoint), "tile": tile, "overlap": overlap}
        try:  # a file that is not a noise2x checkpoint stops the call before any image
            api._load_denoiser(checkpoint, device)
        except FILE_ERRORS as err:
            _usage_error(_message(err))
    _check_device(device)
    _check_output_dtype(output_dtype)
    _check_output_folder(output)
    if reference is not None and not reference.exists():
        _usage_error(f"--reference {reference}: no such file or folder")
    failures: Failures = []
    files = _expand(inputs, failures)
    settings = {"method": method, "device": device, **params}
    rows: list[dict] = []
    written: dict[Path, Path] = {}
    with _progress() as progress:
        for path in files:
            target = _target(output, path, output_dtype)
            try:
                _claim(target, path, overwrite, written)
                with StackReader(path) as reader:
                    shape = (reader.n_frames, *reader.frame_shape)
                    ref_path = _reference_for(
                        reference, path, shape[1:] if shape[0] == 1 else shape
                    )
                    task = progress.add_task(path.name, total=None)
                    if reader.n_frames == 1:
                        denoised = api.denoise(
                            reader.read_frame(0),
                            progress=lambda done, total, t=task: progress.update(
                                t, completed=done, total=total
                            ),
                            **settings,
                        )
                        write_image(
                            target,
                            denoised,
                            like=reader.meta,
                            overwrite=overwrite,
                            dtype=output_dtype,
                        )
                    else:
                        _denoise_stream(
                            reader, target, overwrite, output_dtype, settings, progress, task
                        )
                written[target] = path
                rows.append(_summary_row(path, target, ref_path))
            except FILE_ERRORS as err:
                _fail(failures, str(path), err)
    _print_summary(rows, output)
    _print_failures(failures)
    if failures or not files:
        raise typer.Exit(1)


def _denoise_stream(reader, target, overwrite, output_dtype, settings, progress, task) -> None:
    """Denoise a stack frame by frame, writing each result as it comes (atomic at the end)."""
    from noise2x import api
    from noise2x.data.stream import StackWriter

    progress.update(task, total=reader.n_frames)
    with StackWriter(
        target,
        reader.meta,
        reader.n_frames,
        reader.frame_shape,
        overwrite=overwrite,
        dtype=output_dtype,
    ) as writer:
        for index, frame in enumerate(reader):
            writer.write(api.denoise(frame, **settings))
            progress.update(task, completed=index + 1)


def _reference_for(reference: Path | None, path: Path, shape: tuple) -> Path | None:
    """Return the clean file matched to `path` (None without --reference), of `shape`."""
    from noise2x.data.io import read_image
    from noise2x.metrics.evaluate import match_pairs

    if reference is None:
        return None
    ref_path = match_pairs(reference, [path])[0][0]
    clean, _ = read_image(ref_path)
    if clean.shape != shape:
        raise ValueError(
            f"{path} has shape {shape} but its reference {ref_path} has shape {clean.shape}; "
            "expected the same"
        )
    return ref_path


def _method_params(method: str, preset: str, steps: int | None, seed: int) -> dict:
    """Keyword settings for ``api.denoise``; a bad method, preset or setting exits with 2."""
    from noise2x.methods import METHODS

    if preset not in ("fast", "paper"):
        _usage_error(f"--preset must be 'fast' or 'paper', got {preset!r}")
    params: dict = {"seed": seed}
    if steps is not None:
        params["steps"] = steps
    try:
        cls = METHODS.get(method)
        if preset == "paper":
            if not hasattr(cls.Config, "paper"):
                raise ValueError(f"method {method!r} has no 'paper' preset")
            params["config"] = cls.Config.paper()
        cls(**params)
    except USER_ERRORS as err:
        _usage_error(_message(err))
    return params


_METRIC_COLUMNS = {
    "psnr_noisy_db": ("PSNR noisy (dB)", 2),
    "psnr_db": ("PSNR (dB)", 2),
    "ssim_noisy": ("SSIM noisy", 4),
    "ssim": ("SSIM", 4),
}


def _summary_row(path: Path, written: Path, ref_path: Path | None) -> dict:
    row = {"image": str(path), "output": str(written)}
    if ref_path is not None:
        from noise2x.metrics.evaluate import evaluate_pairs

        try:
            before, after = evaluate_pairs([(ref_path, path), (ref_path, written)])
        except FILE_ERRORS as err:
            raise ValueError(f"{path}: wrote {written}, but scoring failed: {err}") from err
        row.update(
            psnr_noisy_db=before["psnr_db"],
            psnr_db=after["psnr_db"],
            ssim_noisy=before["ssim"],
            ssim=after["ssim"],
        )
    return row


def _number(value: float, digits: int) -> str:
    return f"{value:.{digits}f}" if math.isfinite(value) else str(value)


def _plain_table(header: list[str], body: list[list[str] | None], n_left: int) -> str:
    """Lay out rows of cells in columns; None in `body` is a rule.

    The first `n_left` columns are left-aligned, the others right-aligned.
    """
    rows = [header, None, *body]
    width = [max(len(r[i]) for r in rows if r is not None) for i in range(len(header))]
    rule = ["-" * w for w in width]

    def line(cells: list[str]) -> str:
        padded = [
            cell.ljust(w) if i < n_left else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(cells, width, strict=True))
        ]
        return "  ".join(padded).rstrip()

    return "\n".join(line(rule if cells is None else cells) for cells in rows)


def _print_summary(rows: list[dict], output: Path) -> None:
    """Print the table of written files (and their scores) to stdout."""
    if not rows:
        return
    keys = [key for key in _METRIC_COLUMNS if key in rows[0]]
    digits = [_METRIC_COLUMNS[key][1] for key in keys]

    def cells(label: str, out: str, values: list[float]) -> list[str]:
        return [label, out] + [_number(v, d) for v, d in zip(values, digits, strict=True)]

    header = ["image", "output"] + [_METRIC_COLUMNS[key][0] for key in keys]
    body: list[list[str] | None] = [
        cells(row["image"], row["output"], [row[k] for k in keys]) for row in rows
    ]
    if keys and len(rows) > 1:
        means = [sum(row[k] for row in rows) / len(rows) for k in keys]
        body += [None, cells(f"mean ({len(rows)} images)", "", means)]
    _print_plain(_plain_table(header, body, n_left=2))
    _print_plain(f"denoised {len(rows)} image(s) into {output}")


@app.command("add-noise")
def add_noise_cmd(
    inputs: Annotated[list[Path], typer.Argument(help="Clean images or folders.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder.")],
    noise: Annotated[str, typer.Option(help="Noise model (see `noise2x list`).")] = "gaussian",
    sigma: Annotated[float | None, typer.Option(help="Gaussian std on the 0-255 scale.")] = None,
    lam: Annotated[float | None, typer.Option(help="Poisson photons at intensity 1.")] = None,
    p: Annotated[float | None, typer.Option(help="Pixel probability (bernoulli, impulse).")] = None,
    fraction: Annotated[float | None, typer.Option(help="Fraction of lines (lines).")] = None,
    axis: Annotated[str | None, typer.Option(help="rows, cols or both (lines).")] = None,
    value: Annotated[str | None, typer.Option(help="black, white or random (lines).")] = None,
    coverage: Annotated[float | None, typer.Option(help="Covered fraction (text).")] = None,
    clip: Annotated[bool, typer.Option(help="Clip the noisy image to [0, 1].")] = False,
    seed: Annotated[int, typer.Option(help="Seed; image i uses seed + i.")] = 0,
    output_dtype: Annotated[
        str | None,
        typer.Option(help="uint8, uint16 or float32; float32 writes TIFF (PNG/JPEG can't)."),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace existing outputs.")] = False,
) -> None:
    """Add synthetic noise to clean images (seeded, reproducible).

    Integer outputs (the default for PNG/JPEG inputs) are rounded and clipped to the dtype's
    range; use ``--output-dtype float32`` to keep the noise exactly (written as TIFF).
    """
    import torch

    from noise2x.data.io import read_image, write_image
    from noise2x.noise import build_noise

    given = dict(
        sigma=sigma, lam=lam, p=p, fraction=fraction, axis=axis, value=value, coverage=coverage
    )
    kwargs = {k: v for k, v in given.items() if v is not None}
    try:
        model = build_noise(noise, clip=clip, **kwargs)
    except USER_ERRORS as err:
        _usage_error(_message(err))
    _check_output_dtype(output_dtype)
    _check_output_folder(output)
    failures: Failures = []
    files = _expand(inputs, failures)
    written: dict[Path, Path] = {}
    for index, path in enumerate(files):
        target = _target(output, path, output_dtype)
        try:
            _claim(target, path, overwrite, written)
            clean, meta = read_image(path)
            batch = torch.from_numpy(clean if clean.ndim == 4 else clean[None])
            generator = torch.Generator().manual_seed(seed + index)
            noisy = model(batch, generator=generator).numpy()
            noisy = noisy if clean.ndim == 4 else noisy[0]
            write_image(target, noisy, like=meta, overwrite=overwrite, dtype=output_dtype)
            written[target] = path
            _print_plain(f"{path} -> {target}")
        except FILE_ERRORS as err:
            _fail(failures, str(path), err)
    _print_failures(failures)
    if failures or not files:
        raise typer.Exit(1)


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
    import os
    import secrets

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
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{secrets.token_hex(4)}.tmp{path.suffix}")
    try:
        figure.savefig(tmp, dpi=120)
        os.replace(tmp, path)
    except FILE_ERRORS as err:
        tmp.unlink(missing_ok=True)
        _print_error(f"--frc-plot {path}: {_message(err)}")
        raise typer.Exit(1) from None


@app.command()
def demo(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="New folder (default: noise2x-demo-N).")
    ] = None,
    steps: Annotated[
        int | None, typer.Option(min=1, help="Training steps (default: the method's).")
    ] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
) -> None:
    """Denoise a 256x256 crop of scikit-image's `camera` with Gaussian noise sigma=25 (seed 0)."""
    from noise2x.demo import run_demo

    _check_device(device)
    try:
        run_demo(output, steps=steps, device=device, console=console, progress=_progress)
    except USER_ERRORS as err:
        _print_error(_message(err))
        raise typer.Exit(1) from None


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def train(
    ctx: typer.Context,
    resume: Annotated[
        Path | None, typer.Option(help="Run directory to continue from its last.ckpt.")
    ] = None,
) -> None:
    """Train a dataset method; KEY=VALUE overrides change the packaged Hydra config.

    Example: noise2x train net=resunet loss=l1_perceptual data.root=DIR noise.sigma=25
    trainer.max_steps=2000. Every run gets a new folder runs/<method>/<timestamp>-<id>/ with
    config.yaml, checkpoints/last.ckpt and best.ckpt, samples/ and logs; --resume RUN_DIR
    continues it (only trainer.max_steps, trainer.threads, trainer.progress_bar and
    data.num_workers may change).
    """
    from noise2x.train.config import ConfigError
    from noise2x.train.runs import train as run_training

    overrides = list(ctx.args)
    for item in overrides:
        if item.startswith("-"):
            _usage_error(f"unknown option {item!r}; config changes are KEY=VALUE items")
    try:
        result = run_training(overrides, resume=resume)
    except ConfigError as err:
        _usage_error(_message(err))
    except USER_ERRORS as err:
        _print_error(_message(err))
        raise typer.Exit(1) from None
    score = (
        f", val PSNR {result.val_psnr_db:.2f} dB, SSIM {result.val_ssim:.4f}"
        if result.val_psnr_db is not None
        else ""
    )
    console.print(
        Text(f"{result.steps} steps in {result.seconds:.1f} s{score}; run: {result.run_dir}"),
        soft_wrap=True,
    )
    best = result.best_checkpoint or result.last_checkpoint
    console.print(
        Text(f"denoise with: noise2x denoise --checkpoint {best} INPUT... -o OUTDIR"),
        soft_wrap=True,
    )


@app.command("list")
def list_cmd() -> None:
    """List the registered methods, networks and noise models."""
    from noise2x.methods import METHODS
    from noise2x.nets import NETS
    from noise2x.noise import NOISES

    for title, registry in (("methods", METHODS), ("nets", NETS), ("noise", NOISES)):
        _print_plain(f"{title}: {', '.join(registry.names())}")


def main(argv: list[str] | None = None) -> None:
    """Run the command line (the ``noise2x`` console script and ``python -m noise2x``)."""
    app(args=argv, prog_name="noise2x")


@app.command("split-frames")
def split_frames_cmd(
    movies: Annotated[
        list[Path],
        typer.Argument(help="Movies or stacks (TIFF, MRC) of N >= 2 frames, or folders."),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder.")],
    window: Annotated[
        int | None,
        typer.Option(min=2, help="Frames per window: N - k + 1 pairs (default: whole movie)."),
    ] = None,
    output_dtype: Annotated[
        str | None,
        typer.Option(help="uint8, uint16 or float32 (default: the input's; integers are rounded)."),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace existing outputs.")] = False,
) -> None:
    """Split each movie into Noise2Noise pairs: mean of even frames vs mean of odd frames.

    Writes OUTDIR/even/NAME and OUTDIR/odd/NAME in the input's format and dtype (means are
    taken in float64; integer outputs are rounded to the nearest integer, so use
    --output-dtype float32 to keep them exactly). With --window k, each output is a stack of
    the N - k + 1 pairs of the windows of k consecutive frames: shorter windows blur less what
    drifts, but each image is noisier and overlapping windows share frames. Train on the result
    with: noise2x train data=pairs data.a=OUTDIR/even data.b=OUTDIR/odd
    """
    from noise2x.data.frames import split_frames

    _check_output_dtype(output_dtype)
    _check_output_folder(output)
    failures: Failures = []
    files = _expand(movies, failures)
    written: dict[Path, Path] = {}
    for path in files:
        targets = [output / "even" / path.name, output / "odd" / path.name]
        try:
            for target in targets:
                _claim(target, path, overwrite, written)
            even, odd = split_frames(path, output, window, overwrite=overwrite, dtype=output_dtype)
            written.update({even: path, odd: path})
            _print_plain(f"{path} -> {even}, {odd}")
        except FILE_ERRORS as err:
            _fail(failures, str(path), err)
    _print_failures(failures)
    if failures or not files:
        raise typer.Exit(1)


@app.command("finetune")
def finetune_cmd(
    noisy_a: Annotated[Path, typer.Argument(help="A noisy image of the scene.")],
    noisy_b: Annotated[
        Path, typer.Argument(help="A second noisy image of it (independent noise).")
    ],
    checkpoint: Annotated[Path, typer.Option(help="A model trained by `noise2x train` (.ckpt).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder.")],
    steps: Annotated[int, typer.Option(min=1, help="Most fine-tuning steps.")] = 200,
    lr: Annotated[float, typer.Option(help="Adam's learning rate after the warm-up.")] = 1e-4,
    holdout: Annotated[
        float, typer.Option(help="Fraction of tiles held out for the guard, in (0, 1).")
    ] = 0.1,
    seed: Annotated[int, typer.Option(help="Seed of the held-out tiles and the crops.")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    overwrite: Annotated[bool, typer.Option(help="Replace existing outputs.")] = False,
    reference: Annotated[
        Path | None, typer.Option(help="Clean image of the scene: PSNR/SSIM before and after.")
    ] = None,
) -> None:
    """Fine-tune a trained model on one noisy pair (symmetric loss), then denoise both.

    Minimises ||f(A) - B||^2 + ||f(B) - A||^2 on random crops of the pair. A random 10 % of
    its tiles is never trained on: the loss on those tiles is measured before and during
    training, the best weights are kept, and when fine-tuning never beats the pretrained model
    there, the pretrained weights are kept (the guard). Writes OUTDIR/<name of A> and
    OUTDIR/<name of B> (format and dtype of the inputs; <stem>_a and <stem>_b when both have
    one name) and OUTDIR/finetuned.ckpt (for `noise2x denoise --checkpoint`).
    """
    import numpy as np
    import torch

    from noise2x import api
    from noise2x.data.io import write_image
    from noise2x.train.finetune import finetune, save_finetuned_checkpoint

    _check_device(device)
    if not (lr > 0 and math.isfinite(lr)):
        _usage_error(f"--lr must be a number > 0, got {lr!r}")
    if not 0 < holdout < 1:
        _usage_error(f"--holdout must be in (0, 1), got {holdout!r}")
    _check_output_folder(output)
    if not checkpoint.is_file():
        _usage_error(f"--checkpoint {checkpoint}: no such file")
    if reference is not None and not reference.is_file():
        _usage_error(f"--reference {reference}: no such file")
    try:
        denoiser = api._load_denoiser(checkpoint, device)
    except FILE_ERRORS as err:
        _usage_error(_message(err))
    images, metas = _finetune_read_pair([noisy_a, noisy_b], denoiser.channels, reference)
    targets = _finetune_targets(output, noisy_a, noisy_b, overwrite)
    scale = api._scale_for(np.stack(images), "auto")  # one map for both images
    pair = [torch.from_numpy(scale.forward(image)) for image in images]
    try:
        with _progress() as progress:
            task = progress.add_task("fine-tuning", total=steps)
            result = finetune(
                denoiser,
                *pair,
                steps=steps,
                lr=lr,
                holdout=holdout,
                seed=seed,
                progress=lambda done, total: progress.update(task, completed=done),
            )
        for target, noisy, meta in zip(targets[:2], pair, metas, strict=True):
            denoised = _finetune_apply(result.denoiser(denoiser), noisy)
            write_image(target, scale.inverse(denoised), like=meta, overwrite=overwrite)
        save_finetuned_checkpoint(targets[2], denoiser, result, overwrite, source=checkpoint)
    except FILE_ERRORS as err:
        _print_error(_message(err))
        raise typer.Exit(1) from None
    _finetune_report(result, targets)
    if reference is not None:
        pretrained = [scale.inverse(_finetune_apply(denoiser, noisy)) for noisy in pair]
        _finetune_scores(reference, [noisy_a, noisy_b], pretrained, targets[:2], metas)


def _finetune_read_pair(paths: list[Path], channels: int, reference: Path | None) -> tuple:
    """Read the two noisy images (and check the reference); exit 1 with one line per problem."""
    import numpy as np

    from noise2x.data.io import read_image

    images, metas, failures = [], [], []
    for path in paths:
        try:
            image, meta = read_image(path)
            if image.ndim != 3:
                raise ValueError(f"{path}: is a stack of {len(image)} frames; give single images")
            if image.shape[0] != channels:
                raise ValueError(
                    f"{path}: has {image.shape[0]} channel(s) but the model was trained on "
                    f"{channels}"
                )
            images.append(image)
            metas.append(meta)
        except FILE_ERRORS as err:
            _fail(failures, str(path), err)
    if not failures and images[0].shape != images[1].shape:
        _fail(
            failures,
            str(paths[0]),
            ValueError(
                f"{paths[0]} has shape {images[0].shape} but {paths[1]} has shape "
                f"{images[1].shape}; fine-tuning needs two images of one scene, the same size"
            ),
        )
    if not failures and np.array_equal(images[0], images[1]):
        _fail(
            failures,
            str(paths[0]),
            ValueError(
                f"{paths[0]} and {paths[1]} are identical; fine-tuning needs two independent "
                "noisy realizations of the scene"
            ),
        )
    if not failures and reference is not None:
        try:
            clean, _ = read_image(reference)
            if clean.shape != images[0].shape:
                raise ValueError(
                    f"--reference {reference} has shape {clean.shape} but the noisy images "
                    f"have shape {images[0].shape}; expected the same"
                )
        except FILE_ERRORS as err:
            _fail(failures, str(reference), err)
    if failures:
        raise typer.Exit(1)
    return images, metas


def _finetune_targets(output: Path, path_a: Path, path_b: Path, overwrite: bool) -> list[Path]:
    """Return the two image outputs and the checkpoint; exit 1 if one exists (no --overwrite)."""
    names = [path_a.name, path_b.name]
    if names[0] == names[1]:
        names = [f"{path_a.stem}_a{path_a.suffix}", f"{path_b.stem}_b{path_b.suffix}"]
    targets = [output / names[0], output / names[1], output / "finetuned.ckpt"]
    existing = [target for target in targets if target.exists()]
    if existing and not overwrite:
        for target in existing:
            _print_error(f"{target}: output exists; use --overwrite to replace it")
        raise typer.Exit(1)
    return targets


def _finetune_apply(denoiser, noisy):
    """Denoise one (C, H, W) tensor on the working scale, tile by tile; (C, H, W) in [0, 1]."""
    import torch

    from noise2x.ops.tiling import denoise_tiled

    x = noisy[None].to(next(denoiser.net.parameters()).device)
    with torch.inference_mode():
        out = denoise_tiled(
            denoiser,
            x,
            multiple=denoiser.size_multiple,
            bytes_per_pixel=denoiser.bytes_per_pixel,
        )
    return out[0].float().clamp(0.0, 1.0).cpu().numpy()  # as `noise2x denoise --checkpoint`


def _finetune_report(result, targets: list[Path]) -> None:
    """Print the held-out loss before/after, what the guard decided, and the files written."""
    tiles, side = result.settings["holdout_tiles"], result.settings["holdout_tile"]
    _print_plain(
        f"held-out loss ({tiles} tile(s) of {side}x{side} px, symmetric L2): "
        f"{result.holdout_before:.6f} before, {result.holdout_after:.6f} after"
    )
    if result.kept_pretrained:
        _print_plain(
            "guard: fine-tuning did not lower the held-out loss; kept the pretrained weights"
        )
    else:
        _print_plain(
            f"guard: kept the fine-tuned weights of step {result.best_step} "
            f"(lowest held-out loss; {result.steps} steps run)"
        )
    files = ", ".join(str(target) for target in targets)
    _print_plain(f"wrote {files} in {result.seconds:.1f} s of fine-tuning")


def _finetune_scores(reference, noisy_paths, pretrained, targets, metas) -> None:
    """Print PSNR (dB) / SSIM of noisy, pretrained and fine-tuned images, as `evaluate` does."""
    import tempfile

    from noise2x.data.io import write_image
    from noise2x.metrics.evaluate import evaluate_pairs

    body = []
    with tempfile.TemporaryDirectory() as folder:
        for noisy, array, target, meta in zip(noisy_paths, pretrained, targets, metas, strict=True):
            before = write_image(Path(folder) / target.name, array, like=meta)
            rows = evaluate_pairs([(reference, noisy), (reference, before), (reference, target)])
            psnrs = [_number(row["psnr_db"], 2) for row in rows]
            ssims = [_number(row["ssim"], 4) for row in rows]
            body.append([str(noisy), *psnrs, *ssims])
    header = ["image", "PSNR noisy", "pretrained", "fine-tuned"]
    header += ["SSIM noisy", "pretrained", "fine-tuned"]
    _print_plain(_plain_table(header, body, n_left=1))
