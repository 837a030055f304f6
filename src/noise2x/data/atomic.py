"""Publishing a finished file under its final name, atomically, without replacing by surprise.

Every writer of noise2x (images, stacks, weights, checkpoints, configs, figures, reports)
writes to a `temporary_path` beside the target and then `publish`-es it, most through the
`atomic_write` context manager: with ``overwrite`` an atomic ``os.replace``; without it an
atomic ``os.link`` that fails if the target exists, so that of two processes writing the same
output, the second is told and the first one's file is never replaced (a check followed by a
rename would let the second replace it). Where the file system has no hard links, an existence
check and ``os.replace`` are used instead.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["EXISTS", "atomic_write", "publish", "temporary_path"]

EXISTS = "already exists; not replaced without --overwrite"
"""The message of an existing output (the API's ``overwrite=True`` is the CLI's --overwrite)."""


def temporary_path(path: str | Path) -> Path:
    """Return a fresh hidden name beside `path` that keeps its suffix: ``.NAME.tmp-XXXXXXXX.SUF``.

    Writers that choose a format from the suffix (matplotlib, tifffile, mrcfile) see the
    target's; the random part keeps two processes apart.

    Examples
    --------
    >>> name = temporary_path("out/a.tif").name
    >>> name.startswith(".a.tif.tmp-") and name.endswith(".tif")
    True
    """
    path = Path(path)
    return path.parent / f".{path.name}.tmp-{secrets.token_hex(4)}{path.suffix}"


@contextmanager
def atomic_write(path: str | Path, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path to write; publish it as `path` when the block succeeds.

    The folder of `path` is created. If the block raises, the temporary file is removed and
    `path` is untouched; otherwise `publish` gives it its name (atomically).

    Parameters
    ----------
    path : str or Path
        The final name.
    overwrite : bool
        Replace an existing `path` (else FileExistsError, `path` untouched).

    Raises
    ------
    FileExistsError
        As `publish`.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "sub" / "a.txt"
    >>> with atomic_write(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text(), sorted(p.name for p in target.parent.iterdir())
    ('done', ['a.txt'])
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    try:
        yield tmp
        publish(tmp, path, overwrite)
    finally:
        tmp.unlink(missing_ok=True)


def publish(tmp: str | Path, path: str | Path, overwrite: bool) -> Path:
    """Give the finished temporary file `tmp` its final name `path`; `tmp` is gone after.

    Parameters
    ----------
    tmp : str or Path
        A complete file, on the same file system as `path`.
    path : str or Path
        The final name.
    overwrite : bool
        Replace an existing `path`.

    Returns
    -------
    Path
        `path`.

    Raises
    ------
    FileExistsError
        If `path` exists and `overwrite` is False (`tmp` is removed; `path` is untouched).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.tmp").write_text("new"); _ = (folder / "a.txt").write_text("old")
    >>> try:
    ...     publish(folder / "a.tmp", folder / "a.txt", overwrite=False)
    ... except FileExistsError as err:
    ...     print("refused:", (folder / "a.txt").read_text(), (folder / "a.tmp").exists())
    refused: old False
    """
    tmp, path = Path(tmp), Path(path)
    try:
        if overwrite:
            os.replace(tmp, path)
            return path
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise FileExistsError(
                f"{path}: {EXISTS} (another process wrote it meanwhile)"
            ) from None
        except OSError:  # no hard links here: check, then rename
            if path.exists():
                raise FileExistsError(f"{path}: {EXISTS}") from None
            os.replace(tmp, path)
        return path
    finally:
        tmp.unlink(missing_ok=True)
