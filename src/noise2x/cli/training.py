"""``noise2x train``, ``noise2x split-frames`` and ``noise2x finetune``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

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
    _number,
    _plain_table,
    _print_error,
    _print_failures,
    _print_plain,
    _progress,
    _usage_error,
    app,
    console,
)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def train(
    ctx: typer.Context,
    resume: Annotated[
        Path | None, typer.Option(help="Run directory to continue from its last.ckpt.")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="Also show Lightning's own messages and warnings.")
    ] = False,
) -> None:
    """Train a dataset method; KEY=VALUE overrides change the packaged Hydra config.

    Example: noise2x train net=resunet loss=l1_perceptual data.root=DIR noise.sigma=25
    trainer.max_steps=2000. Every run gets a new folder runs/<method>/<timestamp>-<id>/ with
    config.yaml, checkpoints/last.ckpt and best.ckpt, samples/ and logs; --resume RUN_DIR
    continues it (only trainer.max_steps, trainer.threads, trainer.progress_bar and
    data.num_workers may change).
    """
    from noise2x.train.config import ConfigError
    from noise2x.train.runs import AlreadyTrained
    from noise2x.train.runs import train as run_training

    overrides = list(ctx.args)
    for item in overrides:
        if item.startswith("-"):
            _usage_error(f"unknown option {item!r}; config changes are KEY=VALUE items")
    try:
        result = run_training(overrides, resume=resume, verbose=verbose)
    except AlreadyTrained as err:
        _print_plain(str(err))
        return
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
    from noise2x import api
    from noise2x.data.io import write_image
    from noise2x.pair import finetune
    from noise2x.train.finetune import save_finetuned_checkpoint

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
        denoiser = api.load_checkpoint(checkpoint, device)
    except FILE_ERRORS as err:
        _usage_error(_message(err))
    images, metas = _finetune_read_pair([noisy_a, noisy_b], denoiser.channels, reference)
    targets = _finetune_targets(output, noisy_a, noisy_b, overwrite)
    try:
        with _progress() as progress:
            task = progress.add_task("fine-tuning", total=steps)
            tuned = finetune(
                *images,
                denoiser,
                steps=steps,
                lr=lr,
                holdout=holdout,
                seed=seed,
                compare=reference is not None,
                progress=lambda done, total: progress.update(task, completed=done),
            )
        for target, denoised, meta in zip(
            targets[:2], (tuned.denoised_a, tuned.denoised_b), metas, strict=True
        ):
            write_image(target, denoised, like=meta, overwrite=overwrite)
        save_finetuned_checkpoint(targets[2], denoiser, tuned.result, overwrite, source=checkpoint)
    except FILE_ERRORS as err:
        _print_error(_message(err))
        raise typer.Exit(1) from None
    _finetune_report(tuned.result, targets)
    if reference is not None:
        pretrained = [tuned.pretrained_a, tuned.pretrained_b]
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
