"""The registry of counterexample families: generators register here, users load pairs by name."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from counterexamples.pair import Pair

__all__ = ["family", "families", "pairs", "names", "load", "is_pair_file"]


@dataclass(frozen=True)
class Family:
    """A generator of pairs and the parameters of its default instances."""

    name: str
    make: Callable[..., Pair]
    defaults: tuple[Mapping[str, object], ...]


_FAMILIES: dict[str, Family] = {}


def family(name: str, defaults: Sequence[Mapping[str, object]] = ({},)) -> Callable:
    """Register a generator as the family ``name``; ``defaults`` lists the parameters of its default instances."""
    if "-" in name:
        raise ValueError(f"family name {name!r} must not contain '-': full pair names are '<family>-<parameter>'.")

    def register(make: Callable[..., Pair]) -> Callable[..., Pair]:
        _FAMILIES[name] = Family(name, make, tuple(dict(d) for d in defaults))
        return make

    return register


def families() -> list[str]:
    """Names of the registered families, in registration order."""
    return list(_FAMILIES)


@cache
def _defaults(name: str) -> tuple[Pair, ...]:
    fam = _FAMILIES[name]
    return tuple(fam.make(**params) for params in fam.defaults)


def pairs(family: str | None = None) -> list[Pair]:
    """The default instances of every family (or of one), in registry order."""
    if family is not None and family not in _FAMILIES:
        raise ValueError(f"unknown family {family!r}. Fix: one of {families()}.")
    return [p for f in ([family] if family else _FAMILIES) for p in _defaults(f)]


def names() -> list[str]:
    """Names of the default instances of every family, e.g. ``"kchains-4"``."""
    return [p.name for p in pairs()]


def load(name: str | os.PathLike, **params: object) -> Pair:
    """Load a pair by family and parameters (``load("kchains", k=4)``), by full name (``load("kchains-4")``) or
    from a pair file (``load("mine.json")``).

    A full name is a default instance's name, or ``<family>-<value>`` where the value is the family's first
    parameter (``"kchains-7"`` is ``kchains(k=7)``). A name ending in ``.json`` (or a ``pathlib.Path``) is a pair
    file, read, checked and certified by :func:`counterexamples.files.load_file`.

    Examples
    --------
    >>> load("kchains", k=4).name == load("kchains-4").name == "kchains-4"
    True
    """
    if is_pair_file(name):
        if params:
            raise ValueError(f"load({str(name)!r}, ...): a pair file takes no parameters. Fix: load({str(name)!r}).")
        from counterexamples.files import load_file

        return load_file(name)
    if not isinstance(name, str):
        raise ValueError(f"load: the pair name must be a str, got {type(name).__name__} {name!r:.60}. "
                         f"Fix: a pair name such as 'kchains-4' or a family in {families()} with parameters.")
    if name in _FAMILIES:
        return _make(name, params) if params else _defaults(name)[0]
    if params:
        raise ValueError(f"load({name!r}, ...): parameters go with a family name, not a full pair name. "
                         f"Fix: load('{name.split('-')[0]}', **params).")
    for fam in _FAMILIES:
        for p in _defaults(fam):
            if p.name == name:
                return p
    head, _, value = name.partition("-")
    if head in _FAMILIES and value:
        first = next(iter(inspect.signature(_FAMILIES[head].make).parameters.values()))
        converter = type(first.default) if first.default is not inspect.Parameter.empty else str
        try:
            return _make(head, {first.name: converter(value)})
        except ValueError as err:
            raise ValueError(f"cannot load {name!r}: {err}. Fix: `dojo list --family {head}` prints its pairs.") \
                from err
    raise ValueError(f"unknown pair {name!r}. Fix: one of {names()} or a family in {families()} with parameters.")


def is_pair_file(name: object) -> bool:
    """Whether ``name`` names a pair file rather than a library pair: a path object, or a string ending in ``.json``."""
    return isinstance(name, os.PathLike) or (isinstance(name, str) and name.lower().endswith(".json"))


def _make(name: str, params: Mapping[str, object]) -> Pair:
    """Call a family's generator, turning unknown parameter names into a ValueError that lists the known ones."""
    make = _FAMILIES[name].make
    known = list(inspect.signature(make).parameters)
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ValueError(f"family {name!r} has no parameters {unknown}. Fix: use {known}.")
    return make(**params)
