"""The Python API for one noisy pair: fine-tune a trained model on it, safely.

``noise2x.finetune(a, b, checkpoint)`` is what ``noise2x finetune`` runs, on arrays: both
images are brought to the [0, 1] working scale by one map (``noise2x.data.scale``, so that
they stay comparable), the model is fine-tuned with the symmetric Noise2Noise loss under the
held-out-tile guard of ``noise2x.train.finetune``, and both images are denoised by the result
(``Denoiser.denoise_frame``: tile by tile, as ``noise2x denoise --checkpoint`` does) and
returned in the inputs' dtype.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["FinetunedPair", "finetune"]


@dataclass
class FinetunedPair:
    """What :func:`finetune` returns.

    Attributes
    ----------
    denoised_a, denoised_b : np.ndarray
        The two images denoised by the fine-tuned model, shape and dtype of the inputs.
    pretrained_a, pretrained_b : np.ndarray or None
        The same by the pretrained model (``compare=True`` only), to see what fine-tuning did.
    result : noise2x.train.finetune.FinetuneResult
        Held-out losses before and after, whether the guard kept the pretrained weights, the
        histories, steps and seconds.
    denoiser : noise2x.train.checkpoint.Denoiser
        The fine-tuned model (``noise2x.train.finetune.save_finetuned_checkpoint`` saves it).
    pretrained : noise2x.train.checkpoint.Denoiser
        The model it started from.
    """

    denoised_a: np.ndarray
    denoised_b: np.ndarray
    pretrained_a: np.ndarray | None
    pretrained_b: np.ndarray | None
    result: Any
    denoiser: Any
    pretrained: Any


def finetune(
    noisy_a: np.ndarray,
    noisy_b: np.ndarray,
    checkpoint,
    *,
    steps: int = 200,
    lr: float = 1e-4,
    holdout: float = 0.1,
    seed: int = 0,
    device: str = "auto",
    normalize: str = "auto",
    compare: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> FinetunedPair:
    """Fine-tune a ``noise2x train`` model on one noisy pair, then denoise both images.

    Minimises ||f(a) - b||^2 + ||f(b) - a||^2 on random crops of the pair (Lehtinen et al.
    2018's Noise2Noise loss made symmetric), guarded: a random `holdout` fraction of the
    image's tiles is never trained on, the loss there is measured before and during training,
    the best weights are kept, and the pretrained ones when fine-tuning never beats them
    (``result.kept_pretrained``). See ``noise2x.train.finetune.finetune`` for the recipe.

    Parameters
    ----------
    noisy_a, noisy_b : np.ndarray, shape (H, W) or (C, H, W), any real dtype
        Two independent noisy images of one scene, the same shape; C as the model's.
    checkpoint : str or Path or Denoiser
        A ``noise2x train`` checkpoint (``.ckpt``), or a denoiser loaded from one
        (``noise2x.api.load_checkpoint``).
    steps : int
        Most fine-tuning steps (>= 1).
    lr : float
        Adam's learning rate after the warm-up (> 0).
    holdout : float
        Fraction of tiles held out for the guard, in (0, 1).
    seed : int
        Seed of the held-out tiles and the crops.
    device : {"auto", "cpu", "cuda", "cuda:N"}
        Where a checkpoint path is loaded (a denoiser stays where it is).
    normalize : {"auto", "none", "minmax"}
        The map to the working scale, one for both images (``noise2x.data.scale``).
    compare : bool
        Also denoise both images with the pretrained model (``pretrained_a``/``_b``).
    progress : callable (done, total) or None
        Called after every step.

    Returns
    -------
    FinetunedPair

    Raises
    ------
    FileNotFoundError
        If `checkpoint` is a path that does not exist.
    ValueError
        If the images differ in shape, are identical, are not 2-D or 3-D, do not have the
        model's channels, contain NaN/Inf, or a setting is out of range.
    """
    import torch

    from noise2x.api import load_checkpoint
    from noise2x.data.scale import scale_for
    from noise2x.train.finetune import finetune as finetune_net

    pretrained = checkpoint
    if not hasattr(checkpoint, "net"):
        pretrained = load_checkpoint(checkpoint, device)
    images = [np.asarray(image) for image in (noisy_a, noisy_b)]
    for name, image in zip("ab", images, strict=True):
        if image.ndim not in (2, 3):
            raise ValueError(f"noisy_{name}: expected (H, W) or (C, H, W), got {image.shape}")
    if images[0].shape != images[1].shape:
        raise ValueError(
            f"noisy_a has shape {images[0].shape} but noisy_b has shape {images[1].shape}; "
            "fine-tuning needs two images of one scene, the same size"
        )
    if np.array_equal(images[0], images[1]):
        raise ValueError(
            "noisy_a and noisy_b are identical; fine-tuning needs two independent noisy "
            "realizations of the scene"
        )
    grey = images[0].ndim == 2
    stack = np.stack([image[None] if grey else image for image in images])
    if stack.shape[1] != pretrained.channels:
        raise ValueError(
            f"the images have {stack.shape[1]} channel(s) but the model was trained on "
            f"{pretrained.channels}"
        )
    scale = scale_for(stack, normalize)  # one map for both images
    pair = [torch.from_numpy(np.ascontiguousarray(x)) for x in scale.forward(stack)]
    result = finetune_net(
        pretrained, *pair, steps=steps, lr=lr, holdout=holdout, seed=seed, progress=progress
    )
    denoiser = result.denoiser(pretrained)

    def run(model) -> list[np.ndarray]:
        outs = scale.inverse(np.stack([model.denoise_frame(x).numpy() for x in pair]))
        return [out[0] if grey else out for out in outs]

    denoised = run(denoiser)
    before = run(pretrained) if compare else [None, None]
    return FinetunedPair(*denoised, *before, result, denoiser, pretrained)
