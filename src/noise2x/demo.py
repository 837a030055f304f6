"""``noise2x demo``: the main job on a bundled input, end to end, in about a minute on a CPU.

Takes a 256x256 crop (rows and columns 128-383) of scikit-image's ``camera`` (512x512), adds
Gaussian noise sigma = 25 (seed 0, not clipped), denoises it with Zero-Shot Noise2Noise and
writes ``clean.png``, ``noisy.png`` (clipped to 8 bits for viewing), ``denoised.png`` and
``comparison.png`` (clean | noisy | denoised) into a new folder. PSNR and SSIM are computed on
the float images, before any 8-bit rounding.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

CROP = (slice(128, 384), slice(128, 384))
SIGMA = 25.0
SEED = 0


def free_run_dir(output: Path | None, stem: str = "noise2x-demo") -> Path:
    """Return a folder name that does not exist yet (nothing is created).

    Parameters
    ----------
    output : Path or None
        The folder asked for; None picks the first free ``<stem>-1``, ``<stem>-2``, ... in the
        current directory.

    Raises
    ------
    FileExistsError
        If `output` already exists (results are never mixed into an old folder).
    """
    if output is None:
        index = 1
        while Path(f"{stem}-{index}").exists():
            index += 1
        return Path(f"{stem}-{index}")
    if output.exists():
        raise FileExistsError(f"output folder {output} exists; give a new one with -o")
    return Path(output)


def new_run_dir(output: Path | None, stem: str = "noise2x-demo") -> Path:
    """Create and return a new, empty output folder (see `free_run_dir` for the name).

    Raises
    ------
    FileExistsError
        If `output` already exists (results are never mixed into an old folder).
    """
    output = free_run_dir(output, stem)
    try:
        output.mkdir(parents=True)
    except FileExistsError:
        raise FileExistsError(f"output folder {output} exists; give a new one with -o") from None
    return output


def demo_image() -> np.ndarray:
    """Return the demo's clean image: float32 (1, 256, 256) in [0, 1]."""
    from skimage import data

    return (data.camera()[CROP].astype(np.float32) / 255.0)[None]


def run_demo(
    output: Path | None = None,
    steps: int | None = None,
    device: str = "auto",
    console=None,
    progress: Callable | None = None,
) -> dict:
    """Run the demo and return its metrics.

    The folder is checked first and created only after denoising, so a failed or
    interrupted run leaves nothing behind.

    Parameters
    ----------
    output : Path or None
        A new folder; None picks ``noise2x-demo-N`` in the current directory.
    steps : int or None
        ZS-N2N training steps; None uses the method's default.
    device : {"auto", "cpu", "cuda", "cuda:N"}
        Where to compute.
    console : rich.console.Console or None
        Where to print the results; None prints nothing.
    progress : callable or None
        Factory of a ``rich.progress.Progress`` for a progress bar; None shows none.

    Returns
    -------
    dict
        ``folder``, ``psnr_noisy_db``, ``psnr_db`` (dB), ``ssim_noisy``, ``ssim``, ``seconds``.

    Raises
    ------
    FileExistsError
        If `output` exists.
    ValueError
        If `steps` < 1 or `device` is unknown or unavailable.
    """
    from noise2x.data.io import to_uint8_preview, write_image
    from noise2x.device import resolve_device
    from noise2x.methods.zsn2n import ZeroShotNoise2Noise
    from noise2x.metrics import psnr_np, ssim_np
    from noise2x.noise import add_noise

    folder = free_run_dir(output)
    resolve_device(device)
    method = ZeroShotNoise2Noise(**({"steps": steps} if steps is not None else {}))
    clean = demo_image()
    noisy = add_noise(torch.from_numpy(clean)[None], "gaussian", seed=SEED, sigma=SIGMA)
    if progress is not None:
        with progress() as bar:
            task = bar.add_task("zsn2n on camera 256x256", total=method.config.steps)
            result = method.fit(
                noisy, device=device, progress=lambda done, total: bar.update(task, completed=done)
            )
    else:
        result = method.fit(noisy, device=device)
    noisy_np, denoised = noisy[0].numpy(), result.denoised[0].cpu().numpy()
    folder = new_run_dir(folder)
    metrics = {
        "folder": str(folder),
        "psnr_noisy_db": psnr_np(noisy_np, clean, 1.0),
        "psnr_db": psnr_np(denoised, clean, 1.0),
        "ssim_noisy": ssim_np(noisy_np, clean, 1.0),
        "ssim": ssim_np(denoised, clean, 1.0),
        "seconds": result.seconds,
    }
    for name, image in (("clean", clean), ("noisy", noisy_np), ("denoised", denoised)):
        write_image(folder / f"{name}.png", np.clip(image, 0.0, 1.0), dtype="uint8")
    gap = np.full((clean.shape[1], 8), 255, np.uint8)
    panels = [to_uint8_preview(x) for x in (clean, noisy_np, denoised)]
    side_by_side = np.concatenate([panels[0], gap, panels[1], gap, panels[2]], axis=1)
    write_image(folder / "comparison.png", side_by_side[None].astype(np.float32) / 255.0)
    if console is not None:
        m = metrics
        console.print(
            f"camera 256x256, Gaussian sigma={SIGMA:g}, zsn2n {method.config.steps} steps "
            f"in {result.seconds:.1f} s\n"
            f"  noisy:    PSNR {m['psnr_noisy_db']:.2f} dB  SSIM {m['ssim_noisy']:.3f}\n"
            f"  denoised: PSNR {m['psnr_db']:.2f} dB  SSIM {m['ssim']:.3f}\n"
            f"  wrote clean.png, noisy.png, denoised.png, comparison.png to {folder}/",
            highlight=False,
            markup=False,
        )
    return metrics
