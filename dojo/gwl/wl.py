"""WL, the Weisfeiler-Leman colour refinement (1-WL): the test with no geometry at all.

    c_i^t = HASH(c_i^{t-1}, {{ c_j^{t-1} : j in N(i) }})

It bounds every message-passing GNN that ignores positions, and is the floor of the geometric hierarchy.
"""

from __future__ import annotations

from collections.abc import Hashable

from dojo.gwl.refinement import Refiner

__all__ = ["WL"]


class WL(Refiner):
    """Colour refinement on the graphs of one run."""

    def step(self, colours: list[list[int]]) -> list[list[Hashable]]:
        return [[(cs[i], tuple(sorted(cs[j] for j in nbrs[i]))) for i in range(len(cs))]
                for cs, nbrs in zip(colours, self.adjacency)]
