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

import dataclasses
import difflib
import re
import types
import typing
from typing import Any

from noise2x.methods.base import METHODS

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


def _allowed(hint: Any) -> tuple[type, ...]:
    """Return the runtime types a field annotated `hint` accepts (int is accepted for float)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return tuple(t for arg in typing.get_args(hint) for t in _allowed(arg))
    if hint is type(None):
        return (type(None),)
    if hint is float:
        return (float, int)
    return (hint,) if isinstance(hint, type) else (object,)


def _type_name(hint: Any) -> str:
    return " or ".join(t.__name__ if t is not type(None) else "null" for t in _allowed(hint))


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
    config = METHODS.get(method).Config
    hints = typing.get_type_hints(config)
    fields = [f.name for f in dataclasses.fields(config)]
    typed = {}
    for key, text in settings.items():
        if key not in fields:
            close = difflib.get_close_matches(key, fields, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            known = ", ".join(fields)
            raise ValueError(
                f"method.{key}: {method} has no setting {key!r}{hint} (settings: {known})"
            )
        value = _parse_value(text)
        allowed = _allowed(hints[key])
        if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
            raise ValueError(f"method.{key}={text}: expected {_type_name(hints[key])}")
        typed[key] = value
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
    config = METHODS.get(method).Config
    docs: dict[str, str] = {}
    lines = (config.__doc__ or "").splitlines()
    for i, line in enumerate(lines):
        match = re.match(r"^\s{4}([a-z_][a-z0-9_, ]*) : .*$", line)
        if not match:
            continue
        text = []
        for follow in lines[i + 1 :]:  # the description: the lines indented under the field
            if not follow.startswith(" " * 8) or not follow.strip():
                break
            text.append(follow.strip())
        for name in match.group(1).split(", "):
            docs[name] = " ".join(text)
    rows = []
    for field in dataclasses.fields(config):
        default = field.default
        if default is dataclasses.MISSING and field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        rows.append((field.name, default, docs.get(field.name, "")))
    return rows
