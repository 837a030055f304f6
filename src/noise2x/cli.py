"""The ``noise2x`` command line: denoise, add-noise, evaluate, demo, list.

Every command that takes many files processes each one independently: a bad file gets one
line naming it and the problem, the others are still processed, the summary lists the
failures and the exit code is 1. Nothing is overwritten without ``--overwrite``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="noise2x: remove noise from images without clean training data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

#: Errors that mean "this input is bad": reported in one line, never as a traceback.
USER_ERRORS = (FileNotFoundError, FileExistsError, ValueError, KeyError, TypeError, OSError)


def _message(err: BaseException) -> str:
    return str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)


def _fail(failures: list[tuple[str, str]], name: str, err: BaseException) -> None:
    message = _message(err)
    failures.append((name, message))
    err_console.print(f"[red]error[/red] {name}: {message}", highlight=False, soft_wrap=True)


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


def _expand(inputs: Iterable[Path], failures: list[tuple[str, str]]) -> list[Path]:
    """Expand folders to image files; record missing paths and empty folders as failures."""
    from noise2x.data.io import list_images

    files: list[Path] = []
    for path in inputs:
        try:
            files.extend(list_images([path]))
        except USER_ERRORS as err:
            _fail(failures, str(path), err)
    return files


def _print_failures(failures: list[tuple[str, str]]) -> None:
    if failures:
        err_console.print(f"[red]{len(failures)} input(s) failed:[/red]")
        for name, message in failures:
            err_console.print(f"  {name}: {message}", highlight=False, soft_wrap=True)


@app.command()
def denoise(
    inputs: Annotated[list[Path], typer.Argument(help="Noisy images or folders of images.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder.")],
    method: Annotated[str, typer.Option(help="Denoising method (see `noise2x list`).")] = "zsn2n",
    steps: Annotated[int | None, typer.Option(help="Training steps per image.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the network's initial weights.")] = 0,
    preset: Annotated[
        str, typer.Option(help="'fast' (default schedule) or 'paper' (the paper's settings).")
    ] = "fast",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    overwrite: Annotated[bool, typer.Option(help="Replace existing outputs.")] = False,
    reference: Annotated[
        Path | None, typer.Option(help="Clean image or folder (matched by name) for PSNR/SSIM.")
    ] = None,
    output_dtype: Annotated[
        str | None, typer.Option(help="uint8, uint16 or float32 (default: the input's).")
    ] = None,
) -> None:
    """Denoise each image with a single-image method; outputs keep name, format and dtype."""
    from noise2x import api
    from noise2x.data.io import read_image, write_image
    from noise2x.metrics.evaluate import match_pairs

    failures: list[tuple[str, str]] = []
    params = _method_params(method, preset, steps, seed)
    files = _expand(inputs, failures)
    rows = []
    with _progress() as progress:
        for path in files:
            target = output / path.name
            try:
                if target.exists() and not overwrite:
                    raise FileExistsError(f"output {target} exists; use --overwrite to replace it")
                ref_path = match_pairs(reference, [path])[0][0] if reference else None
                noisy, meta = read_image(path)
                task = progress.add_task(path.name, total=None)
                denoised = api.denoise(
                    noisy,
                    method,
                    device=device,
                    progress=lambda done, total, t=task: progress.update(
                        t, completed=done, total=total
                    ),
                    **params,
                )
                written = write_image(
                    target, denoised, like=meta, overwrite=overwrite, dtype=output_dtype
                )
                rows.append(_summary_row(path, written, noisy, denoised, ref_path))
            except USER_ERRORS as err:
                _fail(failures, str(path), err)
    _print_summary(rows)
    _print_failures(failures)
    if failures or not files:
        raise typer.Exit(1)


def _method_params(method: str, preset: str, steps: int | None, seed: int) -> dict:
    from noise2x import api

    if preset not in ("fast", "paper"):
        err_console.print(f"[red]error[/red] --preset must be 'fast' or 'paper', got {preset!r}")
        raise typer.Exit(2)
    params: dict = {"seed": seed}
    if steps is not None:
        params["steps"] = steps
    if preset == "paper":
        runner = api.build_method(method)
        params["config"] = type(runner.config).paper()
    try:
        api.build_method(method, **params)
    except USER_ERRORS as err:
        err_console.print(f"[red]error[/red] {_message(err)}")
        raise typer.Exit(2) from None
    return params


def _summary_row(path, written, noisy, denoised, ref_path) -> dict:
    row = {"image": str(path), "output": str(written)}
    if ref_path is not None:
        from noise2x.data.io import read_image
        from noise2x.metrics import psnr_np, ssim_np

        clean, _ = read_image(ref_path)
        if clean.shape != noisy.shape:
            raise ValueError(
                f"reference {ref_path} has shape {clean.shape}, the image {path} {noisy.shape}"
            )
        row.update(
            psnr_noisy_db=psnr_np(noisy, clean, 1.0),
            psnr_db=psnr_np(denoised, clean, 1.0),
            ssim_noisy=ssim_np(noisy, clean, 1.0),
            ssim=ssim_np(denoised, clean, 1.0),
        )
    return row


def _print_summary(rows: list[dict]) -> None:
    if not rows:
        return
    table = Table(title="noise2x denoise")
    table.add_column("image")
    table.add_column("output")
    metrics = [k for k in ("psnr_noisy_db", "psnr_db", "ssim_noisy", "ssim") if k in rows[0]]
    for key in metrics:
        table.add_column(key, justify="right")
    for row in rows:
        table.add_row(row["image"], row["output"], *(f"{row[k]:.4g}" for k in metrics))
    console.print(table)


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
        err_console.print(f"[red]error[/red] {_message(err)}")
        raise typer.Exit(2) from None
    failures: list[tuple[str, str]] = []
    files = _expand(inputs, failures)
    for index, path in enumerate(files):
        target = output / path.name
        if output_dtype == "float32" and path.suffix.lower() in (".png", ".jpg", ".jpeg"):
            target = target.with_suffix(".tif")
        try:
            if target.exists() and not overwrite:
                raise FileExistsError(f"output {target} exists; use --overwrite to replace it")
            clean, meta = read_image(path)
            batch = torch.from_numpy(clean if clean.ndim == 4 else clean[None])
            generator = torch.Generator().manual_seed(seed + index)
            noisy = model(batch, generator=generator).numpy()
            noisy = noisy if clean.ndim == 4 else noisy[0]
            write_image(target, noisy, like=meta, overwrite=overwrite, dtype=output_dtype)
            console.print(f"{path} -> {target}", highlight=False)
        except USER_ERRORS as err:
            _fail(failures, str(path), err)
    _print_failures(failures)
    if failures or not files:
        raise typer.Exit(1)


@app.command()
def evaluate(
    images: Annotated[list[Path], typer.Argument(help="Denoised images or folders.")],
    reference: Annotated[Path, typer.Option(help="Clean image, or folder matched by name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Print PSNR (dB) and SSIM of images against clean references."""
    from noise2x.metrics.evaluate import evaluate_pairs, format_table, match_pairs

    failures: list[tuple[str, str]] = []
    files = _expand(images, failures)
    rows = []
    try:
        pairs = match_pairs(reference, files) if files else []
    except USER_ERRORS as err:
        _fail(failures, str(reference), err)
        pairs = []
    for pair in pairs:
        try:
            rows.extend(evaluate_pairs([pair]))
        except USER_ERRORS as err:
            _fail(failures, str(pair[1]), err)
    if as_json:
        print(json.dumps(rows, indent=2))
    elif rows:
        console.print(format_table(rows), highlight=False)
    _print_failures(failures)
    if failures or not rows:
        raise typer.Exit(1)


@app.command()
def demo(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="New folder (default: noise2x-demo-N).")
    ] = None,
    steps: Annotated[int | None, typer.Option(help="Training steps (default: the method's).")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
) -> None:
    """Denoise a 256x256 crop of scikit-image's `camera` with Gaussian noise sigma=25 (seed 0)."""
    from noise2x.demo import run_demo

    try:
        run_demo(output, steps=steps, device=device, console=console, progress=_progress)
    except USER_ERRORS as err:
        err_console.print(f"[red]error[/red] {_message(err)}")
        raise typer.Exit(1) from None


@app.command("list")
def list_cmd() -> None:
    """List the registered methods, networks and noise models."""
    from noise2x.methods import METHODS
    from noise2x.nets import NETS
    from noise2x.noise import NOISES

    for title, registry in (("methods", METHODS), ("nets", NETS), ("noise", NOISES)):
        console.print(f"{title}: {', '.join(registry.names())}")


def main(argv: list[str] | None = None) -> None:
    """Run the command line (the ``noise2x`` console script and ``python -m noise2x``)."""
    app(args=argv)


