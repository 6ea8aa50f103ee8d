"""k-chains: long planar chains whose two bent ends are either on the same side or on opposite sides."""

from __future__ import annotations

from counterexamples.pair import ExactGraph, Pair, TESTS, claims
from counterexamples.registry import family

__all__ = ["kchains"]


@family("kchains", defaults=[{"k": k} for k in (2, 3, 4, 5, 6)])
def kchains(k: int = 4) -> Pair:
    """The k-chain pair of the GWL paper: a path of k + 2 nodes, bent at both ends.

    Geometry: ``k`` chain nodes on the y-axis, 5 apart, at ``(0, 5i, 0)`` for ``i = 0..k-1``, and two end nodes,
    each 5 away from its chain neighbour, ``(±4, -3, 0)`` before the first and ``(4, 5(k-1) + 3, 0)`` after the
    last. In ``a`` both ends bend towards +x (same side); in ``b`` the first bends towards -x (opposite sides).
    Edges: the path ``0 - 1 - ... - k+1``; all nodes of one type.

    Claims, by hand:

    * WL and every invariant test (IGWL_(k), IGWL) never separate: the two graphs are the same path, and every
      node's neighbourhood (itself and its neighbours, with positions) is congruent to the corresponding node's in
      the other graph, by a reflection of the plane for the first end and the identity elsewhere. Invariant
      refinement only ever sees these neighbourhoods and colours, so corresponding nodes keep equal colours.
    * GWL separates at iteration ``floor(k/2) + 1``, under O(3) and SO(3) alike. A single bend looks the same in
      both graphs; what differs is the relative side of the two bends, which one node sees only when both end
      nodes are in its depth-t computation tree, i.e. t >= max(distance to either end). On the path of k + 2
      nodes the best node needs ``ceil((k + 1) / 2) = floor(k / 2) + 1``; at that depth its tree holds both bends
      in one frame and no rotation or reflection maps cis onto trans. The graphs are planar, so a reflection acts
      as a proper rotation by pi about an in-plane axis, and SO(3) sees no more than O(3).
    * Not congruent (cis vs trans), under either group.

    Reference: Joshi, Bodnar, Mathis, Cohen, Liò, "On the Expressive Power of Geometric Graph Neural Networks",
    ICML 2023 (arXiv 2301.09308), Section 5 and Figure 3 (k-chains).

    Examples
    --------
    >>> pair = kchains(4)
    >>> pair.exact_a.num_nodes, pair.claim("gwl"), pair.claim("igwl", "SO(3)")
    (6, 3, None)
    """
    if not isinstance(k, int) or k < 2:
        raise ValueError(f"kchains: k must be an integer >= 2, got {k!r}.")
    chain = [(0, 5 * i, 0) for i in range(k)]
    last = (4, 5 * (k - 1) + 3, 0)
    edges = [(i, i + 1) for i in range(k + 1)]
    types = [0] * (k + 2)
    a = ExactGraph([(4, -3, 0), *chain, last], edges, types)
    b = ExactGraph([(-4, -3, 0), *chain, last], edges, types)
    gwl = k // 2 + 1
    return Pair(
        name=f"kchains-{k}",
        family="kchains",
        params={"k": k},
        description=f"{k}-chain: a bent path of {k + 2} nodes, ends on the same side (a) or opposite sides (b)",
        reference="Joshi et al., ICML 2023, arXiv 2301.09308, Sec. 5",
        task="invariant",
        exact_a=a,
        exact_b=b,
        claims=claims({t: (gwl if t == "gwl" else None) for t in TESTS}),
    )
