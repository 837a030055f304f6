"""``noise2x demo``: the main job on a bundled input, end to end, in seconds on a CPU.

Takes a 256x256 crop (rows and columns 128-383) of scikit-image's ``camera`` (512x512), adds
Gaussian noise sigma = 25 (seed 0, not clipped), denoises it with the default of ``noise2x
denoise`` (the shipped prior) and with BM3D given the true sigma (and, with ``--steps N``,
with Zero-Shot Noise2Noise), and writes ``clean.png``, ``noisy.png`` (clipped to 8 bits for
viewing), ``denoised.png`` (the default), ``bm3d.png`` (, ``zsn2n.png``) and
``comparison.png`` (the same, left to right) into a new folder. PSNR and SSIM are computed on
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

    Denoises the noisy crop with the default of ``noise2x denoise`` (the shipped prior, given
    no noise level) and with BM3D given the true sigma (the classical filter a user already
    has, in its best case); with `steps`, also with Zero-Shot Noise2Noise for that many steps
    (its 2000-step default takes about 100 s here, so it is not run by default; its measured
    results are in the README). The folder is checked first and created only after
    denoising, so a failed or interrupted run leaves nothing behind.

    Parameters
    ----------
    output : Path or None
        A new folder; None picks ``noise2x-demo-N`` in the current directory.
    steps : int or None
        ZS-N2N training steps (>= 1); None leaves ZS-N2N out.
    device : {"auto", "cpu", "cuda", "cuda:N"}
        Where to compute.
    console : rich.console.Console or None
        Where to print the results; None prints nothing.
    progress : callable or None
        Factory of a ``rich.progress.Progress`` for ZS-N2N's progress bar; None shows none.

    Returns
    -------
    dict
        ``folder``, ``psnr_noisy_db``, ``psnr_db`` (dB), ``ssim_noisy``, ``ssim``, ``seconds``
        of the default (the prior), and ``results``: method -> {``psnr_db``, ``ssim``,
        ``seconds``} for ``prior``, ``bm3d`` and (with `steps`) ``zsn2n``.

    Raises
    ------
    FileExistsError
        If `output` exists.
    ValueError
        If `steps` < 1 or `device` is unknown or unavailable.
    """
    import time

    from noise2x.data.io import to_uint8_preview, write_image
    from noise2x.device import resolve_device
    from noise2x.methods import BM3D, Prior, ZeroShotNoise2Noise
    from noise2x.metrics import psnr_np, ssim_np
    from noise2x.noise import add_noise

    folder = free_run_dir(output)
    resolve_device(device)
    clean = demo_image()
    noisy = add_noise(torch.from_numpy(clean)[None], "gaussian", seed=SEED, sigma=SIGMA)
    methods = {"prior": Prior(), "bm3d": BM3D(sigma=SIGMA)}
    if steps is not None:
        methods["zsn2n"] = ZeroShotNoise2Noise(steps=steps)
    outputs, results = {}, {}
    for name, method in methods.items():
        start = time.perf_counter()
        if name == "zsn2n" and progress is not None:
            with progress() as bar:
                task = bar.add_task("zsn2n on camera 256x256", total=steps)
                fit = method.fit(
                    noisy,
                    device=device,
                    progress=lambda d, t, task=task: bar.update(task, completed=d),
                )
        else:
            fit = method.fit(noisy, device=device)
        outputs[name] = fit.denoised[0].cpu().numpy()
        results[name] = {
            "psnr_db": psnr_np(outputs[name], clean, 1.0),
            "ssim": ssim_np(outputs[name], clean, 1.0),
            "seconds": time.perf_counter() - start,
        }
    noisy_np = noisy[0].numpy()
    folder = new_run_dir(folder)
    metrics = {
        "folder": str(folder),
        "psnr_noisy_db": psnr_np(noisy_np, clean, 1.0),
        "psnr_db": results["prior"]["psnr_db"],
        "ssim_noisy": ssim_np(noisy_np, clean, 1.0),
        "ssim": results["prior"]["ssim"],
        "seconds": results["prior"]["seconds"],
        "results": results,
    }
    images = {"clean": clean, "noisy": noisy_np, "denoised": outputs["prior"]}
    images.update({name: out for name, out in outputs.items() if name != "prior"})
    for name, image in images.items():
        write_image(folder / f"{name}.png", np.clip(image, 0.0, 1.0), dtype="uint8")
    gap = np.full((clean.shape[1], 8), 255, np.uint8)
    panels = []
    for image in images.values():
        panels += [to_uint8_preview(image), gap]
    side_by_side = np.concatenate(panels[:-1], axis=1)
    write_image(folder / "comparison.png", side_by_side[None].astype(np.float32) / 255.0)
    if console is not None:
        labels = {
            "prior": "noise2x (default)",
            "bm3d": f"BM3D (given sigma={SIGMA:g})",
            "zsn2n": f"ZS-N2N ({steps} steps)",
        }
        lines = [
            f"camera 256x256, Gaussian sigma={SIGMA:g}",
            f"  {'noisy':<26} PSNR {metrics['psnr_noisy_db']:.2f} dB  "
            f"SSIM {metrics['ssim_noisy']:.3f}",
        ]
        for name, r in results.items():
            lines.append(
                f"  {labels[name]:<26} PSNR {r['psnr_db']:.2f} dB  SSIM {r['ssim']:.3f}  "
                f"{r['seconds']:.1f} s"
            )
        shown = ", ".join(f"{n}.png" for n in images)
        lines.append(f"  wrote {shown}, comparison.png (left to right) to {folder}/")
        console.print("\n".join(lines), highlight=False, markup=False)
    return metrics
