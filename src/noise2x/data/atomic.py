"""Publishing a finished file under its final name, atomically, without replacing by surprise.

Every writer of noise2x (images, stacks, weights) writes to a temporary name beside the
target and then `publish`-es it: with ``overwrite`` an atomic ``os.replace``; without it an
atomic ``os.link`` that fails if the target exists, so that of two processes writing the same
output, the second is told and the first one's file is never replaced (a check followed by a
rename would let the second replace it). Where the file system has no hard links, an existence
check and ``os.replace`` are used instead.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["EXISTS", "publish"]

EXISTS = "already exists; not replaced without --overwrite"
"""The message of an existing output (the API's ``overwrite=True`` is the CLI's --overwrite)."""


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
