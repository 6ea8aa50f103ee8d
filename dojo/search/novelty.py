"""Whether a found pair is new: equal, up to congruence and one common scaling, to a known pair or not."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import numpy as np
import sympy
import torch

from counterexamples.pair import ExactGraph

__all__ = ["Known", "match"]


class Known:
    """A pair (the library's, one found earlier in the search, or a candidate) with its float shape and exact
    diameter, each computed once, for :func:`match`."""

    def __init__(self, name: str, a: ExactGraph, b: ExactGraph) -> None:
        self.name, self.a, self.b, self.shape = name, a, b, _shape(a, b)

    @cached_property
    def diameter(self) -> sympy.Expr:
        return _diameter(self.a, self.b)


def match(pair: Known, known: Sequence[Known], group: str) -> str | None:
    """The name of a known pair equal to ``pair`` (either order) up to congruence under ``group`` and one common
    scaling, or ``None``. Cheap float checks first (sizes, types, degrees, all squared distances relative to the
    largest), then :func:`counterexamples.certify.congruence` on the scaled graphs, exactly."""
    from counterexamples.certify import congruence

    # The shape of (b, a) is that of (a, b) reversed; the diameter is symmetric.
    orders = (((pair.a, pair.b), pair.shape), ((pair.b, pair.a), pair.shape[::-1]))
    for other in known:
        p, q = other.a, other.b
        for (x, y), shape in orders:
            if not _same_shape(shape, other.shape):
                continue
            factor = sympy.sqrt(sympy.radsimp(other.diameter / pair.diameter))
            if factor != 1:
                x, y = (ExactGraph((g.coords * factor).applyfunc(sympy.radsimp), g.edges, g.types) for g in (x, y))
            if congruence(x, p, group) is not None and congruence(y, q, group) is not None:
                return other.name
    return None


def _squares(graph: ExactGraph) -> np.ndarray:
    """All squared distances between two nodes of ``graph`` (float64), row by row."""
    pos = graph.graph(torch.float64).pos.numpy()
    return ((pos[:, None, :] - pos[None, :, :]) ** 2).sum(-1)


def _shape(x: ExactGraph, y: ExactGraph) -> list[tuple]:
    """Per graph: node count, sorted types and degrees, and sorted squared distances over the largest of both."""
    squares = [_squares(x), _squares(y)]
    scale = max(max(s.max() for s in squares), 1e-300)
    return [(g.num_nodes, sorted(g.types), sorted(sum(k in e for e in g.edges) for k in range(g.num_nodes)),
             np.sort(s.ravel()) / scale) for g, s in zip((x, y), squares)]


def _same_shape(mine: list[tuple], theirs: list[tuple]) -> bool:
    return all(m[:3] == t[:3] and np.allclose(m[3], t[3], rtol=0, atol=1e-9) for m, t in zip(mine, theirs))


def _diameter(x: ExactGraph, y: ExactGraph) -> sympy.Expr:
    """The largest squared distance between two nodes of one of the graphs (chosen in floats, computed exactly)."""
    squares = [_squares(x), _squares(y)]
    k = int(squares[1].max() > squares[0].max())
    graph = (x, y)[k]
    i, j = np.unravel_index(int(squares[k].argmax()), (graph.num_nodes, graph.num_nodes))
    return sympy.expand(sum((graph.coords[i, c] - graph.coords[j, c]) ** 2 for c in range(3)))
