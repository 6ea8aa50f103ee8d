"""GWL, the geometric Weisfeiler-Leman test (Joshi et al., ICML 2023, arXiv 2301.09308).

Every node carries a geometric object, its depth-``t`` computation tree with positions relative to the node,

    g_i^t = (g_i^{t-1}, {{ (g_j^{t-1}, x_ij) : j in N(i) }}),    g_i^0 = c_i^0,

and its colour is the class of that object up to the group: equal colours exactly when ONE rotation (plus a
permutation of tree children) maps one whole tree onto the other. The group acts on the nested object at once,
which is what lets GWL carry the relative orientation of distant nodes (and separate k-chains, which no invariant
test does). Objects are kept as classes plus equivariant frames (:mod:`dojo.gwl.canonical`).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from dojo.gwl.arithmetic import Arithmetic
from dojo.gwl.canonical import POINT, NodeObject, next_objects
from dojo.gwl.refinement import Refiner

__all__ = ["GWL"]


class GWL(Refiner):
    """The GWL test on the graphs of one run; ``chiral`` selects SO(3) (else O(3))."""

    def __init__(self, types: Sequence[Sequence[int]], adjacency: Sequence[list[list[int]]], arith: Arithmetic,
                 chiral: bool) -> None:
        super().__init__(types, adjacency)
        self.arith, self.chiral = arith, chiral
        self.objects = [[NodeObject(-1, 0, POINT) for _ in t] for t in self.types]

    def previous(self, colours: list[list[int]]) -> list[list[NodeObject]]:
        """The objects of the last iteration, with their colours."""
        return [[NodeObject(c, o.rank, o.frames) for c, o in zip(cs, objs)] for cs, objs in zip(colours, self.objects)]

    def step(self, colours: list[list[int]]) -> list[list[Hashable]]:
        keys, self.objects = next_objects(self.arith, self.chiral, self.adjacency, self.previous(colours))
        return keys

    def signature(self) -> Hashable:
        return tuple((o.rank, len(o.frames)) for objs in self.objects for o in objs)
