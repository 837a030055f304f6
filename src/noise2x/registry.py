"""A small name -> object registry used for methods, nets, noise models and downsamplers.

Follows the spirit of torchvision's model registry: ``register(name)`` is a decorator that
rejects duplicates, ``get(name)`` returns the object or raises a ``KeyError`` that lists the
known names and suggests the closest one.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Map lower-snake-case names to objects of one kind.

    Parameters
    ----------
    kind : str
        What the registry holds (``"method"``, ``"net"``, ...); used in error messages.

    Examples
    --------
    >>> nets = Registry("net")
    >>> @nets.register("tiny")
    ... def make_tiny():
    ...     return "tiny net"
    >>> nets.get("tiny")()
    'tiny net'
    >>> nets.names()
    ['tiny']
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Return a decorator that registers its argument under ``name``.

        Raises
        ------
        ValueError
            If ``name`` is already registered.
        """

        def decorator(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._items[name] = obj
            return obj

        return decorator

    def get(self, name: str) -> T:
        """Return the object registered under ``name``.

        Raises
        ------
        KeyError
            If ``name`` is unknown; the message lists the known names and the closest match.
        """
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items))
            close = difflib.get_close_matches(name, self._items, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise KeyError(f"unknown {self.kind} {name!r}; known: {known}.{hint}") from None

    def names(self) -> list[str]:
        """Return the registered names, sorted."""
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
