"""Local isomorphism: a graph isomorphism under which every node's neighbourhood is congruent to its image's.

Such a map certifies that no invariant test (WL, IGWL_(k), IGWL) ever separates two graphs: by induction on the
iteration, matched nodes see congruent neighbourhoods whose matched neighbours have equal colours.
"""

from __future__ import annotations

from networkx.algorithms.isomorphism import GraphMatcher
from torch_geometric.data import Data

from counterexamples.certify.exact import Exact, check_group, exact_pair
from counterexamples.certify.matching import same_handedness
from counterexamples.pair import ExactGraph

__all__ = ["local_isomorphism"]


class _LocalMatcher(GraphMatcher):
    """VF2 over graph isomorphisms that keep node types and, at every node, the Gram matrix of its neighbour vectors
    (checked as soon as both the centre and the neighbours involved are matched)."""

    def __init__(self, ga: Exact, gb: Exact) -> None:
        super().__init__(ga.nx, gb.nx)
        self.ga, self.gb = ga, gb

    def semantic_feasibility(self, n1: int, n2: int) -> bool:
        ga, gb, core = self.ga, self.gb, self.core_1
        if ga.types[n1] != gb.types[n2]:
            return False
        matched = [j for j in ga.nbrs[n1] if j in core]
        for x, j in enumerate(matched):  # n1 as the centre
            if any(ga.local_dot(n1, j, k) != gb.local_dot(n2, core[j], core[k]) for k in matched[x:]):
                return False
        for m in matched:  # n1 as a neighbour of an already matched centre m
            for j in ga.nbrs[m]:
                if j == n1 or j in core:
                    image = n2 if j == n1 else core[j]
                    if ga.local_dot(m, n1, j) != gb.local_dot(core[m], n2, image):
                        return False
        return True


def local_isomorphism(a: ExactGraph | Data, b: ExactGraph | Data, group: str = "O(3)") -> tuple[int, ...] | None:
    """A graph isomorphism ``phi`` (node ``i`` of ``a`` to ``phi[i]`` of ``b``) that keeps types and under which
    every node's neighbourhood maps onto its image's by a map of ``group`` sending each neighbour ``j`` to
    ``phi[j]``; ``None`` if there is none.

    Such a ``phi`` certifies that WL, every IGWL_(k) and IGWL never separate ``a`` and ``b``: by induction on t,
    ``i`` and ``phi[i]`` have equal colours at every iteration, since they see congruent neighbourhoods whose
    matched neighbours have equal colours. (It is sufficient, not necessary.) GWL can still separate: it compares
    the relative orientation of different neighbourhoods, which ``phi`` need not preserve (e.g. k-chains).

    Examples
    --------
    >>> from counterexamples import load
    >>> pair = load("kchains", k=3)
    >>> local_isomorphism(pair.exact_a, pair.exact_b, "SO(3)")
    (0, 1, 2, 3, 4)
    """
    so3 = check_group(group)
    ga, gb = exact_pair(a, b)
    if ga.n != gb.n or len(ga.edges) != len(gb.edges):
        return None
    for mapping in _LocalMatcher(ga, gb).isomorphisms_iter():
        if not so3 or all(same_handedness(ga.field, ga.local(i)[0], gb.local(mapping[i])[0],
                                           _neighbour_mapping(ga, gb, i, mapping)) for i in range(ga.n)):
            return tuple(mapping[i] for i in range(ga.n))
    return None


def _neighbour_mapping(ga: Exact, gb: Exact, i: int, mapping: dict[int, int]) -> dict[int, int]:
    """The mapping of ``i``'s neighbour slots induced by a node mapping."""
    slot_b = {j: x for x, j in enumerate(gb.nbrs[mapping[i]])}
    return {x: slot_b[mapping[j]] for x, j in enumerate(ga.nbrs[i])}
