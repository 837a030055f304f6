"""``noise2x denoise``: the shipped prior, a single-image method or a checkpoint, file by file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from noise2x.cli.common import (
    FILE_ERRORS,
    USER_ERRORS,
    Failures,
    _check_device,
    _check_output_dtype,
    _check_output_folder,
    _expand,
    _message,
    _number,
    _plain_table,
    _print_error,
    _print_failures,
    _print_plain,
    _progress,
    _target,
    _usage_error,
    app,
)


@app.command()
def denoise(
    inputs: Annotated[
        list[Path],
        typer.Argument(
            help="Noisy images or folders of images, and method=NAME / method.KEY=VALUE settings."
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder.")],
    method: Annotated[
        str, typer.Option(help="Denoising method (see `noise2x list`); default: the shipped prior.")
    ] = "prior",
    adapt: Annotated[
        bool,
        typer.Option(
            "--adapt",
            help="Fine-tune the prior on each image first (test-time adaptation, guarded): "
            "for noise unlike Gaussian/Poisson, e.g. real microscopes.",
        ),
    ] = False,
    steps: Annotated[
        int | None, typer.Option(min=1, help="Training (or adaptation) steps per image.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the network's initial weights.")] = 0,
    downsampler: Annotated[
        str | None,
        typer.Option(
            help="ZS-N2N pair downsampler (default: the paper's 'diagonal'; see `noise2x list`)."
        ),
    ] = None,
    preset: Annotated[
        str, typer.Option(help="'fast' (default schedule) or 'paper' (the paper's settings).")
    ] = "fast",
    sigma: Annotated[
        float | None,
        typer.Option(help="Noise level on the 0-255 scale for --method bm3d (default: estimated)."),
    ] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    overwrite: Annotated[bool, typer.Option(help="Replace existing outputs.")] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Worker processes on a local Dask cluster, one file per task, threads split "
            "so that workers x threads <= cores (1: in this process).",
        ),
    ] = 1,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Address (tcp://host:8786) or scheduler file of a running Dask cluster "
            "(SLURM/PBS/SGE: see the README); one file per task.",
        ),
    ] = None,
    skip_existing: Annotated[
        bool,
        typer.Option(
            "--skip-existing",
            help="Skip inputs whose output exists (outputs are written atomically, so an "
            "existing one is complete): rerun a killed batch to do only what is missing.",
        ),
    ] = False,
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
    ensemble: Annotated[
        int | None,
        typer.Option(
            help="Self-ensemble (test-time augmentation): 1-8 flips / rotations averaged, one "
            "pass each (--checkpoint models: default 1; the prior: by the image's size, 6 up "
            "to 256x256 pixels, 5 up to 280x280, 4 above); 2-4 are the quarter turns, "
            "5-8 add their mirror images; structN2V models take their flips first (rows stay "
            "rows).",
        ),
    ] = None,
) -> None:
    """Denoise each image; outputs keep name, format and dtype.

    By default each image is denoised by the prior shipped with noise2x (a U-Net trained on
    noisy pairs only, blind to the noise level); --adapt first fine-tunes it on the image.
    --method picks another single-image method; --checkpoint a model trained by `noise2x
    train`, tile by tile with blended seams. A stack
    (multi-page TIFF, MRC with several sections) is read, denoised and written one frame at a
    time (each frame scaled to [0, 1] on its own), so memory does not grow with its length. With
    ``--reference`` the summary gives PSNR (dB) and SSIM of the noisy input and of the written
    output, measured as ``noise2x evaluate`` does.
    """
    from noise2x import api
    from noise2x.batch import denoise_files
    from noise2x.methods.settings import OVERRIDE, parse_overrides
    from noise2x.ops.ensemble import is_ensemble_size

    words = [str(p) for p in inputs if OVERRIDE.match(str(p)) and not p.exists()]
    inputs = [p for p in inputs if str(p) not in words]
    overrides: dict = {}
    if words:
        if checkpoint is not None:
            _usage_error(f"{words[0]}: method settings do not apply to --checkpoint")
        try:
            method, overrides = parse_overrides(words, method)
        except USER_ERRORS as err:
            _usage_error(_message(err))
    if not inputs:
        _usage_error("no input images given")
    if checkpoint is None:
        if tile is not None or overlap is not None:
            _usage_error("--tile and --overlap apply to --checkpoint models only")
        params = _method_params(
            method, preset, steps, seed, downsampler, sigma, adapt, overrides, ensemble
        )
    else:
        for option, given in (
            ("--method", method != "prior"),
            ("--steps", steps is not None),
            ("--preset", preset != "fast"),
        ):
            if given:
                _usage_error(f"{option} does not apply to --checkpoint (the model is trained)")
        if sigma is not None:
            _usage_error("--sigma applies to --method bm3d, not --checkpoint")
        if adapt:
            _usage_error("--adapt applies to the shipped prior, not --checkpoint")
        if downsampler is not None:
            _usage_error(
                "--downsampler applies to single-image methods (--method), not --checkpoint"
            )
        if not checkpoint.is_file():
            _usage_error(f"--checkpoint {checkpoint}: no such file")
        if tile is not None and overlap is not None and overlap >= tile:
            _usage_error(f"--overlap ({overlap}) must be smaller than --tile ({tile})")
        if ensemble is not None and not is_ensemble_size(ensemble):
            _usage_error(f"--ensemble must be an integer 1-8, got {ensemble}")
        params = {"checkpoint": str(checkpoint), "tile": tile, "overlap": overlap}
        if ensemble is not None:
            params["ensemble"] = ensemble
        try:  # a file that is not a noise2x checkpoint stops the call before any image
            model = api.load_checkpoint(checkpoint, device)
        except FILE_ERRORS as err:
            _usage_error(_message(err))
        _check_tiling(tile, overlap, model.size_multiple)
    _check_device(device)
    _check_output_dtype(output_dtype)
    _check_output_folder(output)
    _check_writable(output)
    if overwrite and skip_existing:
        _usage_error("--overwrite and --skip-existing exclude each other")
    if reference is not None and not reference.exists():
        _usage_error(f"--reference {reference}: no such file or folder")
    failures: Failures = []
    files = _expand(inputs, failures)
    replaced = [p for p in files if _target(output, p, output_dtype).resolve() == p.resolve()]
    if replaced:
        _usage_error(
            f"the output of {replaced[0]} would replace the input itself ({len(replaced)} "
            "input(s) in the output folder); choose another --output"
        )
    given = bool(files)
    if skip_existing:
        done = [p for p in files if _target(output, p, output_dtype).exists()]
        files = [p for p in files if p not in done]
        if done:
            _print_plain(f"skipped {len(done)} input(s) whose output exists in {output}")
    settings = {"method": method, "device": device, **params}
    with _progress() as progress:

        def bar(path: str):
            task = progress.add_task(Path(path).name, total=None)
            return lambda done, total: progress.update(task, completed=done, total=total)

        def finished(path: str, status: str, value) -> None:
            if status == "error":
                _print_error(value)
            elif workers > 1 or scheduler is not None:
                _print_plain(f"{path} -> {value['output']}")

        try:
            rows, failed = denoise_files(
                files, output, settings, overwrite=overwrite, output_dtype=output_dtype,
                reference=reference, workers=workers, scheduler=scheduler, on_done=finished,
                progress=bar if workers <= 1 and scheduler is None else None,
            )  # fmt: skip
        except ImportError as err:
            _usage_error(_message(err))
    failures += failed
    _print_summary(rows, output)
    _print_failures(failures)
    if failures or not given:
        raise typer.Exit(1)


def _check_writable(output: Path) -> None:
    """Exit 2 unless the output folder (or the folder that will hold it) can be written to."""
    import os

    existing = output
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not os.access(existing, os.W_OK | os.X_OK):
        _usage_error(f"--output {output}: {existing} is not writable")


def _check_tiling(tile: int | None, overlap: int | None, multiple: int) -> None:
    """Exit 2 unless tiles of --tile (as ``denoise_tiled`` rounds it) advance past --overlap."""
    from noise2x.ops.tiling import DEFAULT_OVERLAP

    if tile is None:
        return
    multiple = max(1, multiple)
    used = max(tile // multiple * multiple, multiple)
    overlap = DEFAULT_OVERLAP if overlap is None else overlap
    if (used - overlap) // multiple * multiple < 1:
        _usage_error(
            f"--overlap {overlap} must be smaller than the tile by at least the model's stride "
            f"({multiple} pixels): --tile {tile} is used as {used}, so give --overlap "
            f"<= {used - multiple} or a larger --tile"
        )


def _method_params(
    method: str,
    preset: str,
    steps: int | None,
    seed: int,
    downsampler: str | None = None,
    sigma: float | None = None,
    adapt: bool = False,
    overrides: dict | None = None,
    ensemble: int | None = None,
) -> dict:
    """Keyword settings for ``api.denoise``; a bad method, preset or setting exits with 2.

    ``seed`` is passed to the methods that have one (BM3D has none); ``--steps``,
    ``--downsampler``, ``--sigma``, ``--adapt`` and ``--ensemble`` to a method without that
    setting are usage errors; `overrides` (from ``method.KEY=VALUE`` words, already checked)
    are added last.
    """
    from dataclasses import asdict

    from noise2x.methods import METHODS

    if preset not in ("fast", "paper"):
        _usage_error(f"--preset must be 'fast' or 'paper', got {preset!r}")
    try:
        cls = METHODS.get(method)
    except USER_ERRORS as err:
        _usage_error(_message(err))
    if cls.fit is None:
        _usage_error(
            f"--method {method} trains on a data set: run `noise2x train method={method} ...`, "
            "then `noise2x denoise --checkpoint RUN/checkpoints/best.ckpt`"
        )
    known = {s.name for s in METHODS.settings(method)}
    for option, value, name in (
        ("--steps", steps, "steps"),
        ("--downsampler", downsampler, "downsampler"),
        ("--sigma", sigma, "sigma"),
        ("--adapt", adapt or None, "adapt"),
        ("--ensemble", ensemble, "ensemble"),
    ):
        if value is not None and name not in known:
            _usage_error(f"{option} does not apply to --method {method}")
    params: dict = {"seed": seed} if "seed" in known else {}
    if sigma is not None:
        params["sigma"] = sigma
    if steps is not None:
        params["steps"] = steps
    if downsampler is not None:
        params["downsampler"] = downsampler
    if adapt:
        params["adapt"] = True
    if ensemble is not None:
        params["ensemble"] = ensemble
    params.update(overrides or {})  # method.KEY=VALUE words win over the shorthand flags
    try:
        if preset == "paper":  # the paper's settings, under the flags and overrides given
            if not hasattr(cls.Config, "paper"):
                raise ValueError(f"method {method!r} has no 'paper' preset")
            params = {**asdict(cls.Config.paper()), **params}
        METHODS.build({"name": method, **params})  # checks every setting as the API will
    except USER_ERRORS as err:
        _usage_error(_message(err))
    return params


_METRIC_COLUMNS = {
    "psnr_noisy_db": ("PSNR noisy (dB)", 2),
    "psnr_db": ("PSNR (dB)", 2),
    "ssim_noisy": ("SSIM noisy", 4),
    "ssim": ("SSIM", 4),
}


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
