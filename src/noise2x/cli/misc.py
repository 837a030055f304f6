"""``noise2x add-noise``, ``noise2x demo`` and ``noise2x list``."""

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
    _claim,
    _expand,
    _fail,
    _message,
    _print_error,
    _print_failures,
    _print_plain,
    _progress,
    _target,
    _usage_error,
    app,
    console,
)


def _as_override(value: object) -> str:
    """Return `value` as a ``KEY=VALUE`` override would give it: ``null``, ``true``, ``0.5``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


@app.command("add-noise")
def add_noise_cmd(
    inputs: Annotated[list[Path], typer.Argument(help="Clean images or folders.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder.")],
    noise: Annotated[str, typer.Option(help="Noise model (see `noise2x list`).")] = "gaussian",
    sigma: Annotated[
        str | None,
        typer.Option(help="Gaussian std on the 0-255 scale; LO:HI draws it per image (uniform)."),
    ] = None,
    lam: Annotated[
        str | None,
        typer.Option(help="Poisson photons at intensity 1; LO:HI draws it per image (log scale)."),
    ] = None,
    p: Annotated[float | None, typer.Option(help="Pixel probability (bernoulli, impulse).")] = None,
    fraction: Annotated[float | None, typer.Option(help="Fraction of lines (lines).")] = None,
    axis: Annotated[str | None, typer.Option(help="rows, cols or both (lines).")] = None,
    value: Annotated[str | None, typer.Option(help="black, white or random (lines).")] = None,
    coverage: Annotated[float | None, typer.Option(help="Covered fraction (text).")] = None,
    clip: Annotated[bool, typer.Option(help="Clip the noisy image to [0, 1].")] = False,
    seed: Annotated[int, typer.Option(help="Seed; image i uses seed + i.")] = 0,
    level_seed: Annotated[
        int | None,
        typer.Option(
            help="Seed of the per-image levels drawn from LO:HI ranges (default: --seed); give "
            "two calls the same one and different --seed for independent pairs at equal levels."
        ),
    ] = None,
    output_dtype: Annotated[
        str | None,
        typer.Option(help="uint8, uint16 or float32; float32 writes TIFF (PNG/JPEG can't)."),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace existing outputs.")] = False,
) -> None:
    """Add synthetic noise to clean images (seeded, reproducible).

    Integer outputs (the default for PNG/JPEG inputs) are rounded and clipped to the dtype's
    range; use ``--output-dtype float32`` to keep the noise exactly (written as TIFF).
    ``--sigma 0:55`` or ``--lam 10:200`` draw the level of each image from a range (seeded by
    ``--level-seed``), for training a model that is blind to the noise level.
    """
    import torch

    from noise2x.data.io import read_image, write_image
    from noise2x.noise import build_noise, draw_levels, parse_level

    try:
        levels = {
            key: parse_level(key, text) for key, text in (("sigma", sigma), ("lam", lam)) if text
        }
        given = dict(p=p, fraction=fraction, axis=axis, value=value, coverage=coverage)
        kwargs = {k: v for k, v in given.items() if v is not None}
        first = draw_levels(levels, seed if level_seed is None else level_seed, 0)
        build_noise(noise, clip=clip, **kwargs, **first)
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
            drawn = draw_levels(levels, seed if level_seed is None else level_seed, index)
            model = build_noise(noise, clip=clip, **kwargs, **drawn)
            generator = torch.Generator().manual_seed(seed + index)
            noisy = model(batch, generator=generator).numpy()
            noisy = noisy if clean.ndim == 4 else noisy[0]
            write_image(target, noisy, like=meta, overwrite=overwrite, dtype=output_dtype)
            written[target] = path
            shown = "".join(f" ({k} {v:.4g})" for k, v in drawn.items() if len(set(levels[k])) > 1)
            _print_plain(f"{path} -> {target}{shown}")
        except FILE_ERRORS as err:
            _fail(failures, str(path), err)
    _print_failures(failures)
    if failures or not files:
        raise typer.Exit(1)


@app.command()
def demo(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="New folder (default: noise2x-demo-N).")
    ] = None,
    steps: Annotated[
        int | None, typer.Option(min=1, help="Also run ZS-N2N for this many steps.")
    ] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
) -> None:
    """Denoise a 256x256 crop of `camera` (Gaussian sigma=25): noise2x's default vs BM3D."""
    from noise2x.demo import run_demo

    _check_device(device)
    try:
        run_demo(output, steps=steps, device=device, console=console, progress=_progress)
    except USER_ERRORS as err:
        _print_error(_message(err))
        raise typer.Exit(1) from None


@app.command("list")
def list_cmd() -> None:
    """List the registered methods, networks, noise models, pair downsamplers and shipped models."""
    from noise2x.losses import LOSSES
    from noise2x.methods import METHODS
    from noise2x.nets import NETS
    from noise2x.noise import NOISES
    from noise2x.ops.downsamplers import DOWNSAMPLERS
    from noise2x.train.config import CONTEXT
    from noise2x.weights import shipped_models

    registries = (("methods", METHODS), ("nets", NETS), ("losses", LOSSES), ("noise", NOISES))
    for title, registry in (*registries, ("downsamplers", DOWNSAMPLERS)):
        _print_plain(f"{title}: {', '.join(registry.names())}")

    def settings(group: str, registry, names: list[str], context=()) -> None:
        for name in names:
            _print_plain(f"  {group}={name}")
            for s in registry.settings(name, context):
                default = "(required)" if s.required else _as_override(s.default)
                line = f"    {group}.{s.name} = {default}"
                _print_plain(f"{line}  # {s.doc}" if s.doc else line)

    single = [n for n in METHODS.names() if METHODS.get(n).fit is not None]
    _print_plain("settings of the single-image methods (noise2x denoise method.KEY=VALUE):")
    settings("method", METHODS, single)
    _print_plain("settings of a training run (noise2x train GROUP=NAME GROUP.KEY=VALUE):")
    dataset = [n for n in METHODS.names() if not METHODS.get(n).single_image]
    settings("method", METHODS, [n for n in dataset if METHODS.get(n).trainable])
    for group, registry in (("net", NETS), ("loss", LOSSES), ("noise", NOISES)):
        settings(group, registry, registry.names(), CONTEXT[group])
    _print_plain("shipped models (noise2x denoise's default, method prior):")
    for model in shipped_models():
        kind = "grey" if model["channels"] == 1 else "colour"
        val = model["val_psnr_db"]
        _print_plain(
            f"  {model['file']}: {kind} ({model['use']}), {model['net']}, "
            f"{model['steps']} steps on noisy pairs"
            + (f", val PSNR {val:.2f} dB (noisy targets)" if val is not None else "")
        )
