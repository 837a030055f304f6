"""Settings of the single-image methods from ``key=value`` overrides, and their documentation.

``noise2x denoise img.tif -o out method=zsn2n method.steps=500 method.downsampler=diagonal``
takes the same ``key=value`` form as ``noise2x train``: `parse_overrides` turns the words into a
method name and its settings, checked against the method's ``Config`` dataclass (unknown keys
get a "did you mean", values are parsed as YAML scalars and checked against the field's type).
A new setting of a method is a new field of its ``Config``: no command-line edit is needed.
`describe_settings` lists a method's settings with defaults and the first line of their
documentation (units included), for ``noise2x list``.
"""

from __future__ import annotations

import re
import typing
from typing import Any

from noise2x.methods.base import METHODS
from noise2x.registry import SettingError

__all__ = ["OVERRIDE", "describe_settings", "parse_overrides"]

OVERRIDE = re.compile(r"^method(\.[A-Za-z_][A-Za-z0-9_]*)?=")
"""A ``key=value`` word of ``noise2x denoise``: ``method=NAME`` or ``method.KEY=VALUE``."""


def _parse_value(text: str) -> Any:
    """Parse a YAML scalar: ``500`` -> 500, ``1e-4`` -> 0.0001, ``true``, ``null``, strings."""
    import yaml

    try:
        value = yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError:
        return text
    if isinstance(value, str) and re.fullmatch(r"[-+]?\d*\.?\d+[eE][-+]?\d+", value):
        return float(value)  # YAML 1.1 reads 1e-4 as a string
    return value


def parse_overrides(words: typing.Sequence[str], method: str) -> tuple[str, dict[str, Any]]:
    """Return the method name and settings given by ``method=...`` / ``method.KEY=...`` words.

    Parameters
    ----------
    words : sequence of str
        Overrides, each matching `OVERRIDE`; later words win.
    method : str
        The method when no ``method=NAME`` word is given (e.g. ``--method``'s value).

    Returns
    -------
    name : str
        The registered method.
    settings : dict
        Field of the method's ``Config`` -> typed value.

    Raises
    ------
    KeyError
        If the method is not registered (the message lists the known ones).
    ValueError
        If a word is not an override, a key is not a setting of the method (with the closest
        one), or a value does not have the field's type.

    Examples
    --------
    >>> parse_overrides(["method=zsn2n", "method.steps=500", "method.lr=1e-4"], "prior")
    ('zsn2n', {'steps': 500, 'lr': 0.0001})
    """
    settings: dict[str, str] = {}
    for word in words:
        if not OVERRIDE.match(word):
            raise ValueError(f"{word!r} is not an override; expected method=NAME or method.KEY=V")
        key, _, value = word.partition("=")
        if key == "method":
            method = value
        else:
            settings[key.split(".", 1)[1]] = value
    typed = {key: _parse_value(text) for key, text in settings.items()}
    try:
        METHODS.check({"name": method, **typed})
    except SettingError as err:  # the registry's finding, worded as the words given
        if err.problem == "unknown":
            hint = f"; did you mean {err.close!r}?" if err.close else ""
            raise ValueError(
                f"method.{err.key}: {method} has no setting {err.key!r}{hint} "
                f"(settings: {', '.join(err.accepted)})"
            ) from None
        if err.problem == "type":
            raise ValueError(
                f"method.{err.key}={settings[err.key]}: expected {err.expected}"
            ) from None
        raise ValueError(str(err)) from None
    return method, typed


def describe_settings(method: str) -> list[tuple[str, Any, str]]:
    """Return (field, default, its documentation) for each setting of `method`.

    The text is the field's description in the ``Attributes`` section of the ``Config``
    docstring (numpydoc), where the units are stated, joined into one line; an undocumented
    field gets an empty string.

    Raises
    ------
    KeyError
        If the method is not registered.
    """
    return [(s.name, s.default, s.doc) for s in METHODS.settings(method)]
