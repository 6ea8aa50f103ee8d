"""Matching configurations exactly: a bijection of labelled vectors that keeps every inner product (and handedness).

Equal Gram matrices under a bijection mean that one orthogonal map takes each vector onto its image; under SO(3)
that map must also be proper, which only matters when the vectors span space.
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
from networkx.algorithms.isomorphism import GraphMatcher

from counterexamples.algebra import Field, Vector


class GramMatcher(GraphMatcher):
    """networkx's VF2 search with a geometric rule: a node pair may be matched when the labels agree and every
    inner product with the nodes matched so far agrees, so a complete match preserves the whole Gram matrix."""

    def __init__(self, g1: nx.Graph, g2: nx.Graph, labels1, gram1, labels2, gram2) -> None:
        super().__init__(g1, g2)
        self.labels1, self.gram1, self.labels2, self.gram2 = labels1, gram1, labels2, gram2

    def semantic_feasibility(self, n1: int, n2: int) -> bool:
        if self.labels1[n1] != self.labels2[n2] or self.gram1[n1][n1] != self.gram2[n2][n2]:
            return False
        return all(self.gram1[n1][m1] == self.gram2[n2][m2] for m1, m2 in self.core_1.items())


def _edgeless(n: int) -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(range(n))
    return g


def same_handedness(field: Field, vecs1: Sequence[Vector], vecs2: Sequence[Vector], mapping: dict[int, int]) -> bool:
    """Whether the orthogonal map taking ``vecs1[i]`` to ``vecs2[mapping[i]]`` (equal Gram matrices) is proper or can
    be chosen proper: always for coplanar configurations (compose with the reflection in their plane)."""
    basis = field.basis(vecs1)
    if len(basis) < 3:
        return True
    p, q, r = basis
    return field.sign(field.det(vecs1[p], vecs1[q], vecs1[r])) == field.sign(
        field.det(vecs2[mapping[p]], vecs2[mapping[q]], vecs2[mapping[r]]))


def match(field: Field, vecs1, labels1, gram1, vecs2, labels2, gram2, so3: bool,
          graphs: tuple[nx.Graph, nx.Graph] | None = None) -> dict[int, int] | None:
    """A bijection ``i -> mapping[i]`` preserving labels, Gram matrix (and edges of ``graphs`` if given, and
    handedness under SO(3)); ``None`` if there is none. Equal Gram matrices mean that one orthogonal map takes every
    ``vecs1[i]`` to ``vecs2[mapping[i]]``."""
    if len(vecs1) != len(vecs2):
        return None
    g1, g2 = graphs or (_edgeless(len(vecs1)), _edgeless(len(vecs2)))
    for mapping in GramMatcher(g1, g2, labels1, gram1, labels2, gram2).isomorphisms_iter():
        if not so3 or same_handedness(field, vecs1, vecs2, mapping):
            return mapping
    return None
