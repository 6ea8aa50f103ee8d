"""Exact graphs for certification: two graphs' positions in one number field, with cached local invariants."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from functools import cached_property, lru_cache
from typing import Any

import networkx as nx
import sympy
from torch_geometric.data import Data

from counterexamples.algebra import Field, Vector
from counterexamples.pair import GROUPS, ExactGraph
from dojo.graphs import check_graph

__all__ = ["as_exact"]


def as_exact(graph: ExactGraph | Data) -> ExactGraph:
    """An exact graph: ``ExactGraph`` as is; a checked float ``Data`` with every coordinate read as the exact binary
    fraction it stores (so certification speaks about exactly the float graph given)."""
    if isinstance(graph, ExactGraph):
        return graph
    check_graph(graph)
    coords = sympy.Matrix([[sympy.Rational(float(c)) for c in row] for row in graph.pos.tolist()])
    edges = [(i, j) for i, j in graph.edge_index.t().tolist() if i < j]
    return ExactGraph(coords, edges, graph.z.tolist())


def check_group(group: str) -> bool:
    """True for SO(3) (orientation counts), False for O(3); ValueError otherwise."""
    if group not in GROUPS:
        raise ValueError(f"unknown group {group!r}. Fix: one of {GROUPS}.")
    return group == "SO(3)"


class Exact:
    """One graph's exact data in a field shared with the graph it is compared with, with cached invariants."""

    def __init__(self, field: Field, graph: ExactGraph) -> None:
        self.field = field
        self.points = field.points(graph)
        self.types = graph.types
        self.n = graph.num_nodes
        self.edges = graph.edges
        nbrs: list[list[int]] = [[] for _ in range(self.n)]
        for i, j in graph.edges:
            nbrs[i].append(j)
            nbrs[j].append(i)
        self.nbrs = [tuple(sorted(x)) for x in nbrs]
        self._local: dict[int, tuple[list[Vector], list[list[int]]]] = {}
        self._signs: dict[int, dict[tuple[int, int, int], int] | None] = {}
        self._relative: dict[int, list[Vector]] = {}
        self._relative_dots: dict[tuple[int, int, int], Any] = {}
        #: Derived data other modules compute once per graph (e.g. a node's k-body tuples), keyed by their name.
        self.memo: dict[Hashable, Any] = {}

    @cached_property
    def nx(self) -> nx.Graph:
        g = nx.Graph()
        g.add_nodes_from(range(self.n))
        g.add_edges_from(self.edges)
        return g

    def local(self, i: int) -> tuple[list[Vector], list[list[int]]]:
        """Node ``i``'s neighbour vectors ``x_j - x_i`` (in ``nbrs[i]`` order) and their (interned) Gram matrix."""
        if i not in self._local:
            f = self.field
            rel = self.relative(i)
            self._local[i] = ([rel[j] for j in self.nbrs[i]],
                              [[f.intern(self.relative_dot(i, j, k)) for k in self.nbrs[i]] for j in self.nbrs[i]])
        return self._local[i]

    def signs(self, i: int) -> dict[tuple[int, int, int], int] | None:
        """Signs of the triple products of node ``i``'s neighbour vectors (:meth:`Field.triple_signs`, cached)."""
        if i not in self._signs:
            self._signs[i] = self.field.triple_signs(self.local(i)[0])
        return self._signs[i]

    def local_dot(self, i: int, j: int, k: int) -> int:
        """``(x_j - x_i) . (x_k - x_i)`` (interned) for neighbours ``j``, ``k`` of ``i``."""
        _, g = self.local(i)
        return g[self.nbrs[i].index(j)][self.nbrs[i].index(k)]

    def relative(self, u: int) -> list[Vector]:
        """Every position relative to node ``u``: ``x_v - x_u`` for all nodes ``v`` (cached)."""
        if u not in self._relative:
            self._relative[u] = [self.field.sub(p, self.points[u]) for p in self.points]
        return self._relative[u]

    def relative_dot(self, u: int, v: int, w: int) -> Any:
        """``(x_v - x_u) . (x_w - x_u)`` as a field element: the one cache of inner products (neighbourhoods,
        computation trees)."""
        key = (u, min(v, w), max(v, w))
        if key not in self._relative_dots:
            rel = self.relative(u)
            self._relative_dots[key] = self.field.dot(rel[v], rel[w])
        return self._relative_dots[key]

    def shell(self, i: int, colours: Sequence[Hashable]) -> Hashable:
        """A cheap invariant of node ``i``'s coloured neighbourhood: its colour, neighbour colours with norms."""
        _, g = self.local(i)
        return colours[i], tuple(sorted((colours[j], g[x][x]) for x, j in enumerate(self.nbrs[i])))

    @cached_property
    def centred(self) -> tuple[list[Vector], list[list[int]]]:
        """``n x_i - sum_j x_j`` (positions about the centroid, scaled by ``n`` to stay free of fractions) and their
        interned Gram matrix, once per graph (congruence asks under each group)."""
        f = self.field
        total = tuple(sum((p[c] for p in self.points), f.zero) for c in range(3))
        n = f.element(self.n)
        vecs = [f.sub(f.scale(n, p), total) for p in self.points]
        return vecs, gram(f, vecs)


def gram(field: Field, vecs: Sequence[Vector]) -> list[list[int]]:
    """The Gram matrix of ``vecs``, each entry interned (:meth:`Field.intern`): equal entries, equal integers."""
    out = [[0] * len(vecs) for _ in vecs]
    for x, u in enumerate(vecs):
        for y in range(x, len(vecs)):
            out[x][y] = out[y][x] = field.intern(field.dot(u, vecs[y]))
    return out


@lru_cache(maxsize=128)
def _exact_pair(a: ExactGraph, b: ExactGraph) -> tuple[Exact, Exact]:
    """Both graphs in one number field (cached per pair of graph objects: certification asks many questions)."""
    field = Field(a, b)
    return Exact(field, a), Exact(field, b)


def exact_pair(a: ExactGraph | Data, b: ExactGraph | Data) -> tuple[Exact, Exact]:
    """Both graphs (exact or float) as :class:`Exact` data in one shared number field."""
    return _exact_pair(as_exact(a), as_exact(b))
