"""IGWL, the invariant geometric Weisfeiler-Leman test (Joshi et al., ICML 2023, arXiv 2301.09308).

    c_i^t = I-HASH(c_i^{t-1}, {{ (c_j^{t-1}, x_ij) : j in N(i) }})

The whole coloured neighbourhood point cloud is hashed up to the group (unbounded body order), but only invariant
colours pass between nodes: this is GWL with every previous object forgotten to a point of its colour, so it bounds
every invariant geometric GNN. The canonical form of the cloud is :func:`dojo.gwl.canonical.candidate_encodings`
applied to points.
"""

from __future__ import annotations

from collections.abc import Hashable

from dojo.gwl.canonical import next_objects
from dojo.gwl.gwl import GWL

__all__ = ["IGWL"]


class IGWL(GWL):
    """The IGWL test on the graphs of one run; ``chiral`` selects SO(3) (else O(3))."""

    def step(self, colours: list[list[int]]) -> list[list[Hashable]]:
        points = [[o.forget() for o in objs] for objs in self.previous(colours)]
        keys, _ = next_objects(self.arith, self.chiral, self.adjacency, points)
        return keys

    def signature(self) -> Hashable:
        return None
