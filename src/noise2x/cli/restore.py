"""``noise2x restore-lines``: fill dead rows/columns of each image from its own content."""

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
    _plain_table,
    _print_failures,
    _print_plain,
    _progress,
    _target,
    _usage_error,
    app,
)

AXIS_CHOICES = ("auto", "rows", "cols", "both")
DENOISERS = ("bm3d", "self2self")


@app.command("restore-lines")
def restore_lines_cmd(
    inputs: Annotated[list[Path], typer.Argument(help="Damaged images or folders of images.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder.")],
    axis: Annotated[
        str,
        typer.Option(help="Dead lines to look for and learn: auto, rows, cols or both."),
    ] = "auto",
    mask: Annotated[
        Path | None,
        typer.Option(help="Image marking the dead pixels (nonzero = dead), instead of detection."),
    ] = None,
    denoise: Annotated[
        bool, typer.Option("--denoise", help="Also denoise the pixels that are not dead.")
    ] = False,
    denoiser: Annotated[
        str,
        typer.Option(help="With --denoise: 'bm3d' (fill, then BM3D) or 'self2self' (the net)."),
    ] = "bm3d",
    sigma: Annotated[
        float | None,
        typer.Option(help="Noise level on the 0-255 scale for BM3D (default: estimated)."),
    ] = None,
    steps: Annotated[int | None, typer.Option(min=1, help="Training steps per image.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the weights, masks and dropout.")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    overwrite: Annotated[bool, typer.Option(help="Replace existing outputs.")] = False,
    output_dtype: Annotated[
        str | None,
        typer.Option(help="uint8, uint16 or float32 (default: the input's)."),
    ] = None,
) -> None:
    """Fill dead (all-black or all-white) rows or columns of each image.

    The dead lines are the rows/columns constant at the image's minimum or maximum (or the
    pixels marked by --mask). A Self2Self network is trained on the image alone, with training
    masks that hide whole lines of the same orientation, and fills the dead lines; every other
    pixel is kept exactly, or, with --denoise, the filled image is denoised by BM3D (noise
    level --sigma or estimated) or by the same network (--denoiser self2self). Outputs keep
    name, format and dtype; a stack is restored frame by frame.
    """
    if axis not in AXIS_CHOICES:
        _usage_error(f"--axis must be one of {', '.join(AXIS_CHOICES)}, got {axis!r}")
    if denoiser not in DENOISERS:
        _usage_error(f"--denoiser must be one of {', '.join(DENOISERS)}, got {denoiser!r}")
    if sigma is not None and not (denoise and denoiser == "bm3d"):
        _usage_error("--sigma applies to --denoise with --denoiser bm3d")
    if sigma is not None and not sigma > 0:
        _usage_error(f"--sigma must be positive, got {sigma}")
    settings: dict = {"axis": axis, "denoise": denoise, "denoiser": denoiser, "seed": seed}
    if sigma is not None:
        settings["sigma"] = sigma
    if steps is not None:
        settings["steps"] = steps
    dead_mask = _read_mask(mask) if mask is not None else None
    _check_device(device)
    _check_output_dtype(output_dtype)
    _check_output_folder(output)
    failures: Failures = []
    files = _expand(inputs, failures)
    rows: list[list[str]] = []
    written: dict[Path, Path] = {}
    with _progress() as progress:
        for path in files:
            target = _target(output, path, output_dtype)
            try:
                _claim(target, path, overwrite, written)
                task = progress.add_task(path.name, total=None)

                def report(done: int, total: int, t=task) -> None:
                    progress.update(t, completed=done, total=total)

                found = _restore_file(
                    path, target, dead_mask, settings, device, overwrite, output_dtype, report
                )
                written[target] = path
                rows.append([str(path), str(target), str(found[0]), str(found[1])])
            except FILE_ERRORS as err:
                _fail(failures, str(path), err)
    if rows:
        header = ["image", "output", "dead rows", "dead cols"]
        _print_plain(_plain_table(header, rows, n_left=2))
        _print_plain(f"restored {len(rows)} image(s) into {output}")
    _print_failures(failures)
    if failures or not files:
        raise typer.Exit(1)


def _read_mask(path: Path):
    """Read --mask as a bool (H, W) array; a bad file is a usage error (exit 2)."""
    from noise2x.data.io import read_image

    try:
        pixels, meta = read_image(path)
    except USER_ERRORS as err:
        _usage_error(f"--mask: {_message(err)}")
    if meta.is_stack:
        _usage_error(f"--mask {path}: is a stack; give one image (nonzero = dead)")
    dead = (pixels != 0).any(axis=0)
    if not dead.any():
        _usage_error(f"--mask {path}: marks no pixel as dead (nonzero = dead)")
    return dead


def _restore_file(
    path, target, dead_mask, settings, device, overwrite, output_dtype, report
) -> tuple[int, int]:
    """Restore every frame of `path` into `target`; return the dead rows and columns found."""
    from noise2x.data.io import write_image
    from noise2x.data.stream import StackReader, StackWriter

    with StackReader(path) as reader:
        _, h, w = reader.frame_shape
        if dead_mask is not None and dead_mask.shape != (h, w):
            raise ValueError(
                f"{path}: the mask is {dead_mask.shape[0]}x{dead_mask.shape[1]} (HxW) but the "
                f"image is {h}x{w}; expected the same size"
            )
        if reader.n_frames == 1:
            restored, found = _restore_frame(
                reader.read_frame(0), dead_mask, settings, device, report
            )
            write_image(target, restored, like=reader.meta, overwrite=overwrite, dtype=output_dtype)
            return found
        total = [0, 0]
        with StackWriter(
            target,
            reader.meta,
            reader.n_frames,
            reader.frame_shape,
            overwrite=overwrite,
            dtype=output_dtype,
        ) as writer:
            for index, frame in enumerate(reader):
                restored, found = _restore_frame(frame, dead_mask, settings, device, None)
                writer.write(restored)
                total = [total[0] + found[0], total[1] + found[1]]
                report(index + 1, reader.n_frames)
        return total[0], total[1]


def _restore_frame(frame, dead_mask, settings, device, report):
    """Restore one (C, H, W) float32 frame; return it and the counts of dead rows/columns.

    Dead lines are found on the frame's raw values; ``noise2x.api.restore_lines`` maps the
    frame to [0, 1] as ``noise2x denoise`` does and keeps the pixels that are not dead unless
    --denoise.
    """
    import numpy as np
    import torch

    from noise2x.api import restore_lines
    from noise2x.methods.lines import dead_lines_from_mask, detect_dead_lines

    frame = np.ascontiguousarray(frame)
    if dead_mask is None:
        found = detect_dead_lines(torch.from_numpy(frame), settings["axis"])
    else:
        found = dead_lines_from_mask(torch.from_numpy(dead_mask))
    restored = restore_lines(
        frame, mask=found.mask.numpy(), device=device, progress=report, **settings
    )
    return restored.astype(np.float32), (len(found.rows), len(found.cols))
