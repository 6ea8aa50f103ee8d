"""The suites of the discriminability tables: which (pair, model, configuration) cells each one runs.

* ``kchains`` -- the k-chain pair with k = 4 at depths floor(k/2) .. floor(k/2) + 4, every model, MACE at
  correlation 2 as in the paper's experiment (GWL paper, Table 1);
* ``rotsym`` -- rotationally symmetric stars of fold 2, 3, 5, 10 (an equivariant task: orientation), TFN and MACE
  (at correlation 2, as in the paper's experiment) at tensor order 1, 2, 3, 5, 10 and E-GNN, GVP-GNN, PaiNN, one
  layer (GWL paper, Table 2);
* ``bodyorder`` -- the body-order and chiral families, one layer, every model, MACE at correlation 2 .. 5 (GWL
  paper, Table 3);
* ``all`` -- every model on every pair of the library, at the depth where GWL first separates the pair.

A suite lists cells for the models that are registered (``dojo.models.names()``), or for the models given: zoo
keys, ``"pkg.module:Name"`` or entry-point names of models the dojo did not write (they run like E-GNN in the
orientation suite when they declare equivariant irreps). :func:`select` narrows a suite to some pairs and depths
and adds build options (``--pairs``, ``--layers``, ``--set``).

Examples
--------
>>> cells = suite("kchains", models=["egnn"])
>>> [(c.pair, c.model, c.layers) for c in cells][:2]
[('kchains-4', 'egnn', 2), ('kchains-4', 'egnn', 3)]
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache

import counterexamples
from counterexamples.pair import Pair
from dojo import models as zoo

__all__ = ["Cell", "SUITES", "suite", "select", "pair_of", "default_depth", "frozen", "thawed", "variant_label",
           "FrozenMapping"]

#: Short labels of the model knobs that the suites vary, for row names.
KNOB_LABELS = {"max_ell": "ℓ", "correlation": "ν"}


@dataclass(frozen=True)
class Cell:
    """One measurement: a model, configured, on a pair.

    Attributes
    ----------
    suite, pair, model : str
        The suite, the pair's name or pair file path (``counterexamples.load`` accepts both) and the zoo key.
    layers : int
        The model's depth (``num_layers``).
    options : tuple of (name, value)
        Other build options that the suite sets (``max_ell``, ``correlation``), sorted by name.
    """

    suite: str
    pair: str
    model: str
    layers: int
    options: tuple[tuple[str, object], ...] = field(default=())

    @property
    def config(self) -> dict[str, object]:
        """The build options of the cell (besides those the pair fixes)."""
        return {"num_layers": self.layers, **{k: thawed(v) for k, v in self.options}}

    @property
    def variant(self) -> str:
        """The model with its suite-set knobs, e.g. ``"tfn ℓ=3"``: a row of the table."""
        return variant_label(self.model, self.options)

    @property
    def key(self) -> str:
        """A stable identity of the cell (JSON), for resuming and sorting."""
        return json.dumps([self.suite, self.pair, self.model, self.layers, [list(o) for o in self.options]])


def _family_pairs(family: str, suite_name: str) -> list[Pair]:
    if family not in counterexamples.families():
        raise ValueError(f"suite {suite_name!r} needs the counterexample family {family!r}, which is not "
                         f"registered (families: {counterexamples.families()}). Fix: add the family to "
                         "counterexamples/ or run another suite.")
    return counterexamples.pairs(family)


def pair_of(name: str) -> Pair:
    """The library pair called ``name`` (built once per process: suites, the runner and the tables all look pairs up
    by name), or the pair in the pair file ``name`` (``PATH.json``) as its bytes are now: read at every call and
    parsed and certified once per content (:mod:`counterexamples.files`), so an edited file is another pair."""
    return counterexamples.load(name) if counterexamples.is_pair_file(name) else _library_pair(name)


@cache
def _library_pair(name: str) -> Pair:
    return counterexamples.load(name)


@cache
def _has_vectors(model: str) -> bool:
    """Whether the model has equivariant features (and so can take equivariant-task pairs)."""
    return zoo.sample(zoo.resolve(model)).vector_irreps is not None


def default_depth(pair: Pair) -> int:
    """The depth of the ``all`` suite: where GWL first separates the pair (under either group), at least 1.

    Equivariant-task pairs and pairs no test separates get one layer.
    """
    first = [it for g in counterexamples.GROUPS if (it := pair.claim("gwl", g)) is not None]
    return max(1, min(first)) if first and pair.task == "invariant" else 1


#: Build options the GWL paper's experiments fix for a model (its MACE runs at correlation 2 on k-chains and stars).
PAPER_OPTIONS = {"mace": (("correlation", 2),)}


def _kchains(names: Sequence[str]) -> list[Cell]:
    pair = counterexamples.load("kchains", k=4)
    return [Cell("kchains", pair.name, m, layers, PAPER_OPTIONS.get(m, ()))
            for m in names for layers in range(2, 2 + 5)]


ORDERS = (1, 2, 3, 5, 10)
FOLDS = (2, 3, 5, 10)


def _rotsym(names: Sequence[str]) -> list[Cell]:
    _family_pairs("rotsym", "rotsym")
    pairs = [counterexamples.load("rotsym", fold=f) for f in FOLDS]
    cells = []
    for p in pairs:
        for m in names:
            if m == "tfn":
                cells += [Cell("rotsym", p.name, m, 1, (("max_ell", ell),)) for ell in ORDERS]
            elif m == "mace":
                cells += [Cell("rotsym", p.name, m, 1, (*PAPER_OPTIONS[m], ("max_ell", ell))) for ell in ORDERS]
            elif m in ("egnn", "gvp", "painn") or (m not in zoo.names() and _has_vectors(m)):
                cells.append(Cell("rotsym", p.name, m, 1))
    return cells


BODYORDER_FAMILIES = ("bodyorder", "chiral")


def _bodyorder(names: Sequence[str]) -> list[Cell]:
    pairs = [p for fam in BODYORDER_FAMILIES for p in _family_pairs(fam, "bodyorder")]
    cells = []
    for p in pairs:
        for m in names:
            if p.task == "equivariant" and not _has_vectors(m):
                continue
            if m == "mace":
                cells += [Cell("bodyorder", p.name, m, 1, (("correlation", c),)) for c in range(2, 6)]
            else:
                cells.append(Cell("bodyorder", p.name, m, 1))
    return cells


def _all(names: Sequence[str]) -> list[Cell]:
    return [Cell("all", p.name, m, default_depth(p)) for p in counterexamples.pairs() for m in names
            if p.task == "invariant" or _has_vectors(m)]


SUITES: dict[str, Callable[[Sequence[str]], list[Cell]]] = {
    "kchains": _kchains, "rotsym": _rotsym, "bodyorder": _bodyorder, "all": _all,
}


def suite(name: str, models: Sequence[str] | None = None) -> list[Cell]:
    """The cells of suite ``name`` for ``models`` (default: every registered model), sorted by key.

    Raises
    ------
    ValueError
        For an unknown suite or model, or when the suite needs a counterexample family that is not registered.
    """
    if name not in SUITES:
        raise ValueError(f"unknown suite {name!r}. Fix: one of {sorted(SUITES)}.")
    chosen = zoo.names() if models is None else list(models)
    for m in chosen:
        zoo.resolve(m)  # raises ValueError naming the registered models and the forms a model may take
    if not chosen:
        raise ValueError(f"suite {name!r}: no models to run. Fix: register a model or pass --models.")
    return sorted(SUITES[name](chosen), key=lambda c: c.key)


class FrozenMapping(tuple):
    """A mapping option value held by a cell: its sorted ``(key, value)`` items, hashable; :meth:`Cell.config` gives
    the model a dict again."""

    __slots__ = ()


def frozen(value: object) -> object:
    """A JSON-like option value in hashable form (lists become tuples, dicts :class:`FrozenMapping`), so cells can
    hold it."""
    if isinstance(value, Mapping):
        return FrozenMapping(sorted((k, frozen(v)) for k, v in value.items()))
    return tuple(frozen(v) for v in value) if isinstance(value, (list, tuple)) else value


def variant_label(model: str, options: Iterable[tuple[str, object]]) -> str:
    """A model with its knobs, e.g. ``"tfn ℓ=3"``: a row of a table, a series of a figure. Options are
    ``(name, value)`` pairs, values as a cell holds them (tuples) or as a log holds them (lists)."""
    text = lambda v: json.dumps(thawed(v)) if isinstance(v, (tuple, list)) else v  # noqa: E731
    return " ".join([model, *(f"{KNOB_LABELS.get(k, k)}={text(v)}" for k, v in options)])


def thawed(value: object) -> object:
    """The option value a model is built with: a :class:`FrozenMapping` becomes a dict again (tuples stay)."""
    if isinstance(value, FrozenMapping):
        return {k: thawed(v) for k, v in value}
    return tuple(thawed(v) for v in value) if isinstance(value, tuple) else value


def _file_cells(cells: Sequence[Cell], files: Sequence[str]) -> list[Cell]:
    """Cells that run the pairs of ``files`` against every model variant of ``cells``, at their default depth."""
    variants = list({(c.suite, c.model, c.options): None for c in cells})
    return [Cell(suite, path, model, default_depth(pair_of(path)), options) for path in files
            for suite, model, options in variants
            if pair_of(path).task == "invariant" or _has_vectors(model)]


def select(cells: Sequence[Cell], pairs: Sequence[str] | None = None, layers: Sequence[int] | None = None,
           options: Mapping[str, object] | None = None) -> list[Cell]:
    """Narrow ``cells`` to ``pairs`` (pair or family names), run them at ``layers`` instead of the suite's depths,
    and add build ``options`` to every cell.

    A pair file (``PATH.json``) among ``pairs`` adds cells: its pair against every model variant of the suite, at
    the depth where GWL first separates it (:func:`default_depth`), equivariant-task pairs only for models with
    equivariant features.

    Raises
    ------
    ValueError
        When a pair or family is not in the suite, or nothing is left.

    Examples
    --------
    >>> cells = select(suite("kchains", models=["egnn"]), layers=[3], options={"hidden": 8})
    >>> [(c.pair, c.layers, c.variant) for c in cells]
    [('kchains-4', 3, 'egnn hidden=8')]
    """
    if pairs:
        files = [p for p in pairs if counterexamples.is_pair_file(p)]
        families = {p: pair_of(p).family for p in {c.pair for c in cells}}
        unknown = sorted(set(pairs) - set(files) - set(families) - set(families.values()))
        if unknown:
            raise ValueError(f"pairs {unknown} are not in this suite. Fix: some of {sorted(families)} or of the "
                             f"families {sorted(set(families.values()))}, or a pair file PATH.json.")
        cells = [c for c in cells if c.pair in pairs or families[c.pair] in pairs] + _file_cells(cells, files)
    if layers:
        cells = list({replace(c, layers=depth): None for c in cells for depth in layers})
    if options:
        extra = tuple((k, frozen(v)) for k, v in options.items())
        cells = [replace(c, options=tuple(sorted({**dict(c.options), **dict(extra)}.items()))) for c in cells]
    if not cells:
        raise ValueError("no cells left to run. Fix: choose pairs and layers that the suite has.")
    return sorted(cells, key=lambda c: c.key)
