# size: one build path: the registry, its settings (types, defaults, docs) and their checks
"""The name -> component registry, and the one typed build path of every component.

Follows the spirit of torchvision's model registry: ``register(name)`` is a decorator that
rejects duplicates, ``get(name)`` returns the object or raises a ``KeyError`` that lists the
known names and suggests the closest one.

Every component a config names (net, loss, noise model, method) is built the same way,
``REGISTRY.build({"name": KEY, **settings}, **context)``: its *settings* are the fields of its
``Config`` dataclass when it has one (the methods), else the parameters of its constructor
(nets, losses, noise models); *context* is what the caller supplies and a config does not (a
net's ``channels``, a dataset method's ``loss`` and ``total_steps``). `Registry.settings` lists
them with types, defaults and documentation (``noise2x list``), `Registry.check` checks a node
(unknown keys with the closest one, missing keys, types) without building it. Registries of
plain values (the pair downsamplers) are built with ``factory=False``: ``build`` returns the
entry and refuses settings.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import difflib
import inspect
import numbers
import re
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_MISSING = inspect.Parameter.empty


def _documented_mro(obj: Any) -> dict[str, str]:
    """`_documented` over a class and its bases (a subclass's text wins); a function's own."""
    docs: dict[str, str] = {}
    for klass in reversed(getattr(obj, "__mro__", (obj,))):
        docs.update({k: v for k, v in _documented(klass.__doc__).items() if v})
    return docs


class SettingError(ValueError, TypeError):
    """A config node that does not fit its component.

    A ValueError (a bad config value) and a TypeError (as Python raises for an unknown keyword
    argument), so callers of either convention catch it. The attributes let a caller word the
    same finding its own way (``noise2x train``'s ``config key 'net.widht'``, ``noise2x
    denoise``'s ``method.stesp``).

    Attributes
    ----------
    key : str
        The offending setting (``"name"`` for a node without one).
    problem : {"unknown", "type", "missing", "name"}
        Not a setting of the component; a value of the wrong type; a required setting not
        given; no ``name`` in the node.
    close : str or None
        For ``"unknown"``: the closest setting, if any is close.
    accepted : tuple of str
        The component's settings.
    expected : str or None
        For ``"type"``: the readable type the setting needs (`type_name`).
    """

    def __init__(
        self,
        message: str,
        key: str,
        problem: str = "name",
        close: str | None = None,
        accepted: tuple[str, ...] = (),
        expected: str | None = None,
    ) -> None:
        super().__init__(message)
        self.key, self.problem, self.close = key, problem, close
        self.accepted, self.expected = accepted, expected


@dataclasses.dataclass(frozen=True)
class Setting:
    """One setting of a registered component.

    Attributes
    ----------
    name : str
        The key in a config node.
    hint : object
        Its type annotation (``Any`` when unannotated).
    default : object
        Its default; ``inspect.Parameter.empty`` when it must be given.
    doc : str
        Its description from the component's docstring (numpydoc ``Attributes`` or
        ``Parameters``), units included, on one line; empty when undocumented.
    """

    name: str
    hint: Any
    default: Any
    doc: str = ""

    @property
    def required(self) -> bool:
        """True when a config node must give this setting."""
        return self.default is _MISSING


def accepts(value: Any, hint: Any) -> bool:
    """Return whether `value` (from YAML or a ``key=value`` word) fits the annotation `hint`.

    Integers are accepted for floats (never booleans for numbers), strings and paths for
    ``Path``, lists and tuples for sequences (items checked), ``Literal`` values by equality.

    Examples
    --------
    >>> accepts(3, float), accepts(True, int), accepts("a", int | None), accepts(None, int | None)
    (True, False, False, True)
    """
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(accepts(value, h) for h in typing.get_args(hint))
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if hint is Path:
        return isinstance(value, str | Path)
    sequences = (list, tuple, collections.abc.Sequence, collections.abc.Iterable)
    if origin in sequences or hint in (list, tuple):
        if not isinstance(value, list | tuple):
            return False
        args = typing.get_args(hint)
        if not args:
            return True
        if len(args) == 1 or (len(args) == 2 and args[1] is Ellipsis):
            return all(accepts(v, args[0]) for v in value)
        return len(value) == len(args) and all(map(accepts, value, args))
    if origin is not None:
        return isinstance(value, origin)
    return isinstance(value, hint) if isinstance(hint, type) else True


def type_name(hint: Any) -> str:
    """Return a short readable name of an annotation: ``int``, ``float | None``.

    Examples
    --------
    >>> type_name(int), type_name(float | None)
    ('int', 'float or null')
    """
    if hint is type(None):
        return "null"
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(h) for h in typing.get_args(hint))
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def _documented(doc: str | None) -> dict[str, str]:
    """Map each field of a numpydoc ``Attributes``/``Parameters`` section to its one-line text."""
    docs: dict[str, str] = {}
    lines = (doc or "").splitlines()
    indent = min((len(x) - len(x.lstrip()) for x in lines[1:] if x.strip()), default=0)
    for i, line in enumerate(lines):
        match = re.match(rf"^\s{{{indent}}}([A-Za-z_][A-Za-z0-9_, ]*)(?: : .*)?$", line)
        if not match:
            continue
        text = []
        for follow in lines[i + 1 :]:  # the description: the lines indented under the field
            if not follow.startswith(" " * (indent + 4)) or not follow.strip():
                break
            text.append(follow.strip())
        for name in match.group(1).split(", "):
            docs.setdefault(name, " ".join(text))
    return docs


class Registry(Generic[T]):
    """Map lower-snake-case names to objects of one kind.

    Parameters
    ----------
    kind : str
        What the registry holds (``"method"``, ``"net"``, ...); used in error messages.

    factory : bool
        True (default) when entries are classes or factories that `build` calls with the
        node's settings; False when entries are finished values (`build` returns them).

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

    def __init__(self, kind: str, factory: bool = True) -> None:
        self.kind = kind
        self.factory = factory
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

    def unregister(self, name: str) -> T:
        """Remove the entry `name` and return it (for components registered by a test or plugin).

        Raises
        ------
        KeyError
            If `name` is unknown.
        """
        entry = self.get(name)
        del self._items[name]
        return entry

    def names(self) -> list[str]:
        """Return the registered names, sorted."""
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def settings(self, name: str, context: typing.Iterable[str] = ()) -> list[Setting]:
        """Return the settings of the entry `name`, in declaration order.

        The fields of its ``Config`` dataclass when it has one, else the named parameters of
        its constructor (or of the function itself), without the `context` parameters.

        Raises
        ------
        KeyError
            If `name` is unknown (the message lists the known names and the closest).
        """
        entry = self.get(name)
        if not self.factory:
            return []
        config = getattr(entry, "Config", None)
        if dataclasses.is_dataclass(config):
            hints = typing.get_type_hints(config)
            docs = _documented_mro(config)
            found = []
            for field in dataclasses.fields(config):
                default = field.default
                if default is dataclasses.MISSING:
                    factory = field.default_factory
                    default = _MISSING if factory is dataclasses.MISSING else factory()
                found.append(Setting(field.name, hints.get(field.name, Any), default,
                                     docs.get(field.name, "")))  # fmt: skip
            return [s for s in found if s.name not in context]
        init = entry.__init__ if isinstance(entry, type) else entry
        try:
            hints = typing.get_type_hints(init)
        except (NameError, TypeError):
            hints = {}
        variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        docs = _documented_mro(entry)
        return [
            Setting(p.name, hints.get(p.name, Any), p.default, docs.get(p.name, ""))
            for p in inspect.signature(entry).parameters.values()
            if p.kind not in variadic and p.name not in context
        ]

    def check(
        self, node: Mapping[str, Any] | str, context: typing.Iterable[str] = ()
    ) -> tuple[str, dict[str, Any]]:
        """Check a config node against the settings of the entry it names; return both.

        Parameters
        ----------
        node : mapping or str
            ``{"name": KEY, **settings}`` (a dict or an OmegaConf node), or just ``KEY``.
        context : iterable of str
            Constructor parameters the caller supplies; a node may not set them.

        Returns
        -------
        name : str
        settings : dict
            The node's settings (without ``name``), unchanged.

        Raises
        ------
        KeyError
            If the node names an unknown entry (the message lists the known names and the
            closest).
        SettingError
            If the node has no name, has a key that is not a setting (with the closest one and
            the list of settings), misses a required setting, or has a value of the wrong type.
        """
        if isinstance(node, str):
            node = {"name": node}
        elif type(node).__module__.startswith("omegaconf"):  # a DictConfig: plain containers
            from omegaconf import OmegaConf

            node = OmegaConf.to_container(node, resolve=True)
        if not isinstance(node, Mapping) or not isinstance(node.get("name"), str):
            raise SettingError(f"a {self.kind} config needs a 'name' key, got {node!r}", "name")
        name = node["name"]
        settings = self.settings(name, context)
        given = {str(k): v for k, v in node.items() if k != "name"}
        known = {s.name: s for s in settings}
        accepted = tuple(known)
        for key, value in given.items():
            if key not in known:
                close = (difflib.get_close_matches(key, known, n=1, cutoff=0.5) or [None])[0]
                hint = f" Did you mean {close!r}?" if close else ""
                raise SettingError(
                    f"{self.kind} {name!r} does not accept parameter {key!r}; "
                    f"accepted: {', '.join(known) or '(none)'}.{hint}",
                    key, "unknown", close=close, accepted=accepted,
                )  # fmt: skip
            if not accepts(value, known[key].hint):
                expected = type_name(known[key].hint)
                raise SettingError(
                    f"{self.kind} {name!r}: {key} must be {expected}, "
                    f"got {value!r} ({type(value).__name__})",
                    key, "type", accepted=accepted, expected=expected,
                )  # fmt: skip
        missing = [s.name for s in settings if s.required and s.name not in given]
        if missing:
            raise SettingError(
                f"{self.kind} {name!r} needs parameter(s) {', '.join(missing)}; "
                f"accepted: {', '.join(known)}",
                missing[0], "missing", accepted=accepted,
            )  # fmt: skip
        return name, given

    def build(self, node: Mapping[str, Any] | str, /, **context: Any) -> T:
        """Build the entry a config node names, with its settings and the caller's `context`.

        Parameters
        ----------
        node : mapping or str
            ``{"name": KEY, **settings}`` (a dict or an OmegaConf node), or just ``KEY``.
        **context
            Constructor arguments that are not settings (a net's ``channels``).

        Returns
        -------
        The built component (the entry itself for a registry of values).

        Raises
        ------
        KeyError, SettingError
            As `check`; also ValueError or TypeError from the component's own checks.

        Examples
        --------
        >>> noises = Registry("noise")
        >>> @noises.register("gaussian")
        ... class Gaussian:
        ...     def __init__(self, sigma: float, clip: bool = False):
        ...         self.sigma = sigma
        >>> noises.build({"name": "gaussian", "sigma": 25}).sigma
        25
        >>> noises.build({"name": "gaussian", "sigam": 25})
        Traceback (most recent call last):
            ...
        noise2x.registry.SettingError: noise 'gaussian' does not accept parameter 'sigam'; \
accepted: sigma, clip. Did you mean 'sigma'?
        """
        name, settings = self.check(node, context)
        entry = self.get(name)
        if not self.factory:
            return entry
        return entry(**context, **settings)
