"""A counterexample pair: two geometric graphs in exact coordinates, plus what the literature claims about them."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

import sympy
import torch
from torch_geometric.data import Data

from dojo.graphs import geometric_graph

__all__ = ["TESTS", "GROUPS", "ExactGraph", "Pair", "claims", "describe_claim", "star", "complete"]

#: The tests of the geometric Weisfeiler-Leman family, weakest first (each refines the one before it).
TESTS: tuple[str, ...] = ("wl", "igwl-2", "igwl-3", "igwl-4", "igwl-5", "igwl", "gwl")
#: The symmetry groups: O(3) identifies mirror images, SO(3) does not (chirality-aware).
GROUPS: tuple[str, ...] = ("O(3)", "SO(3)")

Claims = Mapping[tuple[str, str], "int | None"]


def claims(o3: Mapping[str, int | None],
           so3: Mapping[str, int | None] | None = None) -> dict[tuple[str, str], int | None]:
    """Build a complete claims table: the first separating iteration (``None`` = never) per (test, group).

    ``o3`` gives the O(3) claim of every test in :data:`TESTS`; ``so3`` gives the SO(3) claims that differ from
    O(3) (for chiral pairs), everything else is copied. Missing or unknown tests raise ``ValueError``.

    Examples
    --------
    >>> c = claims({t: None for t in TESTS}, so3={"igwl-4": 1, "igwl-5": 1, "igwl": 1, "gwl": 1})
    >>> c["igwl-3", "SO(3)"], c["igwl-4", "SO(3)"], c["igwl-4", "O(3)"]
    (None, 1, None)
    """
    unknown = (set(o3) | set(so3 or {})) - set(TESTS)
    if unknown:
        raise ValueError(f"claims: unknown tests {sorted(unknown)}. Fix: use names from {TESTS}.")
    missing = set(TESTS) - set(o3)
    if missing:
        raise ValueError(f"claims: no O(3) claim for {sorted(missing)}. Fix: give every test in {TESTS}.")
    table = {(t, "O(3)"): o3[t] for t in TESTS}
    table.update({(t, "SO(3)"): (so3 or {}).get(t, o3[t]) for t in TESTS})
    return table


def describe_claim(iteration: int | None) -> str:
    """A claim in words, for certificates and error messages: ``"never separates"`` or ``"first separates at
    iteration 2"``."""
    return "never separates" if iteration is None else f"first separates at iteration {iteration}"


def _integral(value: object) -> bool:
    """Whether ``value`` equals an integer (``2``, ``2.0``, ``sympy.Integer(2)``; not ``0.5``, NaN or ``"2"``)."""
    try:
        return not isinstance(value, (str, bytes)) and int(value) == value
    except (TypeError, ValueError, OverflowError):
        return False


@dataclass(frozen=True, eq=False)
class ExactGraph:
    """One geometric graph in exact arithmetic: the source of truth for its float views.

    ``coords`` is an ``N x 3`` sympy Matrix of exact numbers (integers, rationals, radicals, ``cos(pi/5)``, ...),
    ``edges`` the undirected edges as ``(i, j)`` pairs, ``types`` the node types. Edge endpoints and types must be
    integers: integral floats (``1.0``) are accepted as the integer they equal, non-integral values (``0.5``) raise
    ``ValueError`` (never truncated).
    """

    coords: sympy.Matrix
    edges: tuple[tuple[int, int], ...]
    types: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "coords", sympy.Matrix(self.coords))
        bad = [v for v in (*self.types, *(i for e in self.edges for i in e)) if not _integral(v)]
        if bad:
            raise ValueError(f"ExactGraph: node types and edge endpoints must be integers, got {bad[:5]}. "
                             "Fix: give integer node types (0, 1, 2, ...) and edges as integer index pairs (i, j).")
        object.__setattr__(self, "edges", tuple(sorted({(min(int(i), int(j)), max(int(i), int(j)))
                                                        for i, j in self.edges})))
        object.__setattr__(self, "types", tuple(int(t) for t in self.types))
        if self.coords.cols != 3 or self.coords.rows != len(self.types):
            raise ValueError(f"ExactGraph: coords is {self.coords.shape}, types has {len(self.types)} entries. "
                             "Fix: one row of three coordinates and one type per node.")
        if any(c.has(sympy.Float) or not c.is_real for c in self.coords):
            raise ValueError("ExactGraph: coordinates must be exact real numbers. "
                             "Fix: use integers, sympy.Rational, sympy.sqrt(...) and the like, never Python floats.")
        n = self.num_nodes
        bad = [e for e in self.edges if e[0] == e[1] or e[0] < 0 or e[1] >= n]
        if bad:
            raise ValueError(f"ExactGraph: edges {bad[:5]} are self-loops or refer to nodes outside 0..{n - 1}. "
                             "Fix: list each edge (i, j) once, with i != j and both in range.")
        if any(t < 0 for t in self.types):
            raise ValueError("ExactGraph: negative node types. Fix: number node types from 0.")

    @property
    def num_nodes(self) -> int:
        return self.coords.rows

    @cached_property
    def _positions(self) -> list[list[float]]:
        """The coordinates evaluated to 30 digits, then rounded to float64, once (sympy evaluation is slow)."""
        return [[float(sympy.N(c, 30)) for c in self.coords.row(i)] for i in range(self.num_nodes)]

    def graph(self, dtype: torch.dtype = torch.float32) -> Data:
        """The float view: a checked geometric graph with ``pos`` evaluated from the exact coordinates."""
        return geometric_graph(self._positions, list(self.edges), list(self.types), dtype=dtype)


@dataclass(frozen=True, eq=False)
class Pair:
    """Two geometric graphs and what is claimed about telling them apart.

    Attributes
    ----------
    name : str
        Unique name, e.g. ``"kchains-4"``; :func:`counterexamples.load` accepts it.
    family : str
        The generator that made it, e.g. ``"kchains"``.
    params : dict
        The generator's arguments.
    description, reference : str
        What the pair is, and where it comes from (paper, or "proof sketch in <module>").
    task : "invariant" or "equivariant"
        ``"invariant"``: tell the two graphs apart. ``"equivariant"``: the graphs are congruent and what must be
        seen is their orientation (e.g. ``rotsym``), so equivariant outputs are compared.
    exact_a, exact_b : ExactGraph
        The two graphs in exact coordinates.
    claims : dict[(test, group), int | None]
        For every test in :data:`TESTS` and group in :data:`GROUPS`, the first iteration at which the test
        separates the pair, or ``None`` for never. Iteration 0 compares the initial node types.
    congruent_under : frozenset of str
        The groups under which ``a`` and ``b`` are congruent (a permutation plus a rigid motion of that group maps
        one onto the other, with edges and types): empty for a counterexample, ``{"O(3)"}`` for a chiral pair,
        both groups for an isomorphic control or an orientation pair.
    orientation_order : int or None
        For equivariant-task pairs, the lowest spherical-harmonic degree at which the two graphs' neighbourhood
        moments differ.
    """

    name: str
    family: str
    params: Mapping[str, object]
    description: str
    reference: str
    task: Literal["invariant", "equivariant"]
    exact_a: ExactGraph
    exact_b: ExactGraph
    claims: Claims
    congruent_under: frozenset[str] = field(default_factory=frozenset)
    orientation_order: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "congruent_under", frozenset(self.congruent_under))
        if self.task not in ("invariant", "equivariant"):
            raise ValueError(f"Pair {self.name}: task must be 'invariant' or 'equivariant', got {self.task!r}.")
        missing = {(t, g) for t in TESTS for g in GROUPS} - set(self.claims)
        if missing:
            raise ValueError(f"Pair {self.name}: claims missing for {sorted(missing)}. Fix: build them with claims().")
        if not self.congruent_under <= set(GROUPS):
            raise ValueError(f"Pair {self.name}: congruent_under must be a subset of {GROUPS}.")
        if "SO(3)" in self.congruent_under and "O(3)" not in self.congruent_under:
            raise ValueError(f"Pair {self.name}: congruent under SO(3) implies congruent under O(3).")
        for g in self.congruent_under:
            wrong = [t for t in TESTS if self.claims[t, g] is not None]
            if wrong:
                raise ValueError(f"Pair {self.name}: congruent under {g} yet claimed separated by {wrong}.")
        self._check_hierarchy()

    def _check_hierarchy(self) -> None:
        """A stronger test never separates later than a weaker one (WL ⊑ IGWL_(2) ⊑ ... ⊑ GWL; O(3) ⊑ SO(3))."""
        never = float("inf")
        for g in GROUPS:
            for weak, strong in zip(TESTS, TESTS[1:]):
                w, s = self.claims[weak, g], self.claims[strong, g]
                if (never if s is None else s) > (never if w is None else w):
                    raise ValueError(f"Pair {self.name}: claims {strong} ({g}) separates later than {weak}: {s} > {w}.")
        for t in TESTS:
            o, s = self.claims[t, "O(3)"], self.claims[t, "SO(3)"]
            if (never if s is None else s) > (never if o is None else o):
                raise ValueError(f"Pair {self.name}: claims {t} separates later under SO(3) than under O(3).")

    def claim(self, test: str, group: str = "O(3)") -> int | None:
        """The claimed first separating iteration of ``test`` under ``group`` (``None`` = never)."""
        if (test, group) not in self.claims:
            raise ValueError(f"Pair {self.name}: no claim for test={test!r}, group={group!r}. "
                             f"Fix: test in {TESTS}, group in {GROUPS}.")
        return self.claims[test, group]

    @property
    def is_control(self) -> bool:
        """True when the two graphs are congruent under both groups and the task is invariant."""
        return self.task == "invariant" and self.congruent_under == frozenset(GROUPS)

    def graphs(self, dtype: torch.dtype = torch.float32) -> tuple[Data, Data]:
        """Float views of both graphs in ``dtype``, built once per dtype and shared: treat them as read-only."""
        views = self.__dict__.setdefault("_views", {})
        if dtype not in views:
            views[dtype] = (self.exact_a.graph(dtype), self.exact_b.graph(dtype))
        return views[dtype]

    @property
    def a(self) -> Data:
        """Graph ``a`` in float32."""
        return self.graphs()[0]

    @property
    def b(self) -> Data:
        """Graph ``b`` in float32."""
        return self.graphs()[1]

    def summary(self) -> str:
        """One line: name, family, sizes and the claims that matter, for listings."""
        sep = ", ".join(f"{t}@{self.claims[t, g]}" + ("" if g == "O(3)" else "/SO3")
                        for g in GROUPS for t in TESTS
                        if self.claims[t, g] is not None and (g == "O(3)" or self.claims[t, "O(3)"] is None))
        return f"{self.name} ({self.family}): {self.exact_a.num_nodes}+{self.exact_b.num_nodes} nodes; {sep or 'never'}"

    def save(self, path: str | os.PathLike) -> Path:
        """Write the pair to a JSON pair file (format: :mod:`counterexamples.files`) and return its path;
        :func:`counterexamples.load_file` reads it back, exactly."""
        from counterexamples.files import save

        return save(self, path)


def star(leaves: Sequence[Sequence[object]]) -> ExactGraph:
    """A centre at the origin (node 0) joined to every leaf (nodes 1..n, in order); one node type."""
    return ExactGraph([[0, 0, 0], *leaves], [(0, k) for k in range(1, len(leaves) + 1)], [0] * (len(leaves) + 1))


def complete(points: Sequence[Sequence[object]]) -> ExactGraph:
    """Every two of ``points`` joined; one node type."""
    n = len(points)
    return ExactGraph(points, [(i, j) for i in range(n) for j in range(i + 1, n)], [0] * n)
