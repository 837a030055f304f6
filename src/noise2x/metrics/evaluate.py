"""The logic behind ``noise2x evaluate --reference CLEAN DENOISED...``.

:func:`match_pairs` pairs each image with its clean reference (same file name without the
suffix, so ``01.png`` matches ``01.tif``), :func:`evaluate_pairs` measures PSNR (dB) and SSIM of
each pair, and :func:`format_table` lays the results out as plain text with a mean row.
Files are read with :func:`noise2x.data.io.read_image`, so uint8/uint16 pixels are on [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from noise2x.metrics.psnr import psnr_np
from noise2x.metrics.ssim import ssim_np


def match_pairs(reference: str | Path, candidates: Sequence[str | Path]) -> list[tuple[Path, Path]]:
    """Pair each candidate image with its clean reference.

    Candidate folders are expanded to their image files (:func:`noise2x.data.io.list_images`:
    own files only, sorted by name). If `reference` is a folder, each candidate is matched to
    the reference file with the same stem (file name without suffix: ``01.png`` matches
    ``01.tif``; case-sensitive). If `reference` is a file, every candidate is compared to it.

    Parameters
    ----------
    reference : str or Path
        A clean image file, or a folder of clean images.
    candidates : sequence of str or Path
        Images to evaluate (e.g. denoised) and folders of them.

    Returns
    -------
    list of (Path, Path)
        ``(reference_file, candidate_file)`` pairs, in the candidates' order.

    Raises
    ------
    FileNotFoundError
        If `reference` or a candidate does not exist.
    ValueError
        If some candidates have no reference of the same stem (one message lists all of
        them), or a needed stem belongs to two reference files (e.g. ``01.png`` and
        ``01.tif``). ``noise2x.data.io.ImageError`` (a ValueError) if a folder holds no images.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for name in ("clean/01.png", "clean/02.png", "out/01.tif"):
    ...         (Path(tmp) / name).parent.mkdir(exist_ok=True)
    ...         _ = (Path(tmp) / name).write_bytes(b"")
    ...     pairs = match_pairs(Path(tmp) / "clean", [Path(tmp) / "out"])
    >>> [(ref.name, image.name) for ref, image in pairs]
    [('01.png', '01.tif')]
    """
    from noise2x.data.io import list_images

    reference = Path(reference)
    if not reference.exists():
        raise FileNotFoundError(f"{reference}: no such reference file or folder")
    images = list_images(list(candidates))
    if not reference.is_dir():
        return [(reference, image) for image in images]
    by_stem: dict[str, Path] = {}
    ambiguous: dict[str, list[Path]] = {}
    for path in list_images([reference]):
        if path.stem in by_stem:
            ambiguous.setdefault(path.stem, [by_stem[path.stem]]).append(path)
        by_stem.setdefault(path.stem, path)
    pairs, unmatched = [], []
    for image in images:
        if image.stem in ambiguous:
            names = ", ".join(p.name for p in ambiguous[image.stem])
            raise ValueError(
                f"{image}: more than one reference in {reference} has the stem "
                f"{image.stem!r} ({names}); keep one of them"
            )
        if image.stem not in by_stem:
            unmatched.append(image)
        else:
            pairs.append((by_stem[image.stem], image))
    if unmatched:
        raise ValueError(
            f"no reference in {reference} with the same file name (without suffix) for "
            f"{len(unmatched)} image(s): {', '.join(str(p) for p in unmatched)}"
        )
    return pairs


def _default_range(reference: np.ndarray, scale: float, path: Path) -> float:
    """1.0 for uint8/uint16 files (read on [0, 1]); otherwise max - min of the reference."""
    if scale != 1.0:
        return 1.0
    span = float(reference.max() - reference.min())
    if span <= 0:
        raise ValueError(
            f"{path}: reference is constant ({float(reference.min()):g}), so its data range "
            "is 0; pass data_range explicitly"
        )
    return span


def evaluate_pairs(
    pairs: Sequence[tuple[str | Path, str | Path]],
    data_range: float | None = None,
    lpips_net: str | None = None,
) -> list[dict]:
    """PSNR (dB) and SSIM of each (reference, image) file pair.

    Both files are read with :func:`noise2x.data.io.read_image` (uint8 and uint16 scaled to
    [0, 1]; other types kept as they are); nothing is clipped. PSNR is
    10 log10(data_range^2 / MSE); SSIM uses Wang et al.'s settings (:func:`ssim_np`). A stack
    (N, C, H, W) is measured frame by frame against the matching reference frame, and the
    row holds the mean over frames of PSNR (of the dB values) and of SSIM.

    Parameters
    ----------
    pairs : sequence of (reference, image) paths
        E.g. from :func:`match_pairs`.
    data_range : float, optional
        Peak-to-peak pixel range. Default, per pair: 1.0 when the reference file holds uint8
        or uint16 pixels (read on [0, 1]); for any other pixel type (floats, and integers that
        are kept unscaled, e.g. int16 MRC) the reference's ``max() - min()`` over the whole
        file, which depends on the image's content: pass `data_range` to compare numbers
        across files.
    lpips_net : {"alex", "vgg", "squeeze"} or None
        Also report LPIPS (``noise2x.metrics.lpips``) with this backbone, on images read on
        [0, 1]; the row's ``lpips`` is None when LPIPS cannot be computed here
        (``lpips_status`` says why).

    Returns
    -------
    list of dict
        One row per pair: ``{"reference": str, "image": str, "psnr_db": float,
        "ssim": float}``; ``psnr_db`` is ``inf`` for identical images.

    Raises
    ------
    FileNotFoundError
        If a file does not exist.
    ValueError
        If the two files of a pair differ in shape (the message names both files and
        shapes), an image is smaller than 11x11, the default data range of a constant
        reference would be 0, or a file cannot be read (``noise2x.data.io.ImageError``).

    Examples
    --------
    >>> import tempfile
    >>> from noise2x.data.io import write_image
    >>> clean = np.full((1, 16, 16), 0.5, np.float32)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     ref = write_image(Path(tmp) / "clean.png", clean)
    ...     out = write_image(Path(tmp) / "out.png", clean + 0.1)
    ...     rows = evaluate_pairs([(ref, out)])
    >>> sorted(rows[0])
    ['image', 'psnr_db', 'reference', 'ssim']
    >>> round(rows[0]["psnr_db"], 2)  # pixels 128 and 153 of 255: 20 log10(255 / 25)
    20.17
    """
    from noise2x.data.io import read_image

    rows = []
    for ref_path, image_path in pairs:
        ref_path, image_path = Path(ref_path), Path(image_path)
        clean, meta = read_image(ref_path)
        image, _ = read_image(image_path)
        if clean.shape != image.shape:
            raise ValueError(
                f"{image_path} has shape {image.shape} but its reference {ref_path} has shape "
                f"{clean.shape}; expected the same (C, H, W) or (N, C, H, W)"
            )
        span = data_range if data_range is not None else _default_range(clean, meta.scale, ref_path)
        frames = zip(image, clean, strict=True) if clean.ndim == 4 else [(image, clean)]
        try:
            scores = [(psnr_np(a, b, span), ssim_np(a, b, span)) for a, b in frames]
        except ValueError as err:
            raise ValueError(f"{image_path} against {ref_path}: {err}") from err
        psnr_db, ssim = np.mean(np.array(scores), axis=0)
        row = {
            "reference": str(ref_path),
            "image": str(image_path),
            "psnr_db": float(psnr_db),
            "ssim": float(ssim),
        }
        if lpips_net is not None:
            row["lpips"] = _lpips(image, clean, lpips_net)
        rows.append(row)
    return rows


def _lpips(image: np.ndarray, clean: np.ndarray, net: str) -> float | None:
    """Mean LPIPS over the frames of (C, H, W) or (N, C, H, W) arrays; None if unavailable."""
    import torch

    from noise2x.metrics.lpips import lpips_or_none

    as_batch = (lambda a: a) if image.ndim == 4 else (lambda a: a[None])
    values, _reason = lpips_or_none(
        torch.from_numpy(as_batch(image)), torch.from_numpy(as_batch(clean)), net=net
    )
    return None if values is None else float(values.mean())


def _number(value: float, digits: int) -> str:
    return f"{value:.{digits}f}" if math.isfinite(value) else str(value)


def format_table(rows: Sequence[dict]) -> str:
    """Lay out evaluation rows as a plain-text table with a mean row.

    Columns: image, reference, PSNR (dB) with 2 decimals, SSIM with 4 decimals, and LPIPS
    with 4 decimals when a row has it (lower is better). The last row is
    the plain mean over rows (a single ``inf`` PSNR makes the PSNR mean ``inf``). The text has
    no markup; print it with ``print`` or ``console.print(text, markup=False)`` (file names
    may contain square brackets).

    Parameters
    ----------
    rows : sequence of dict
        Rows from :func:`evaluate_pairs` (keys ``image``, ``reference``, ``psnr_db``,
        ``ssim``).

    Returns
    -------
    str
        The table, lines separated by newlines, without a trailing newline.

    Raises
    ------
    ValueError
        If `rows` is empty.

    Examples
    --------
    >>> rows = [
    ...     {"reference": "clean/01.png", "image": "out/01.png", "psnr_db": 30.0, "ssim": 0.9},
    ...     {"reference": "clean/02.png", "image": "out/02.png", "psnr_db": 28.0, "ssim": 0.8},
    ... ]
    >>> print(format_table(rows))
    image            reference     PSNR (dB)    SSIM
    ---------------  ------------  ---------  ------
    out/01.png       clean/01.png      30.00  0.9000
    out/02.png       clean/02.png      28.00  0.8000
    ---------------  ------------  ---------  ------
    mean (2 images)                    29.00  0.8500
    """
    if not rows:
        raise ValueError("format_table needs at least one row, got none")
    with_lpips = any(row.get("lpips") is not None for row in rows)
    header = ["image", "reference", "PSNR (dB)", "SSIM"] + (["LPIPS"] if with_lpips else [])

    def cells(row: dict) -> list[str]:
        out = [row["image"], row["reference"], _number(row["psnr_db"], 2), _number(row["ssim"], 4)]
        if with_lpips:
            value = row.get("lpips")
            out.append("n/a" if value is None else _number(value, 4))
        return out

    body = [cells(row) for row in rows]
    label = f"mean ({len(rows)} image{'s' if len(rows) != 1 else ''})"
    mean = {
        "image": label,
        "reference": "",
        "psnr_db": float(np.mean([row["psnr_db"] for row in rows])),
        "ssim": float(np.mean([row["ssim"] for row in rows])),
    }
    if with_lpips:
        values = [row["lpips"] for row in rows if row.get("lpips") is not None]
        mean["lpips"] = float(np.mean(values))
    mean = cells(mean)
    widths = [max(len(line[i]) for line in [header, *body, mean]) for i in range(len(header))]
    rule = ["-" * w for w in widths]

    def line(cells: list[str]) -> str:
        text = [cells[0].ljust(widths[0]), cells[1].ljust(widths[1])]
        text += [c.rjust(w) for c, w in zip(cells[2:], widths[2:], strict=True)]
        return "  ".join(text).rstrip()

    return "\n".join(line(cells) for cells in [header, rule, *body, rule, mean])
