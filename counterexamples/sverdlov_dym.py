"""sverdlov_dym: Sverdlov and Dym's "hard" pair: two centrally symmetric 6-point clouds on complete graphs."""

from __future__ import annotations

import sympy

from counterexamples.pair import ExactGraph, Pair, TESTS, claims
from counterexamples.registry import family

__all__ = ["sverdlov_dym", "SCALE"]


#: The paper's coordinates are scaled by 1/3 (a similarity: no test's verdict changes) so that the longest edge,
#: 13.2 in the paper, becomes 4.4: the library keeps edges within the zoo models' radial cutoff.
SCALE = sympy.Rational(1, 3)


def _cloud(flip: bool) -> ExactGraph:
    """Three antipodal pairs ``+-p``; ``flip`` mirrors the first pair in the xy-plane (z -> -z)."""
    r = sympy.Rational
    angle = 2 * sympy.pi / 5
    first = [0, r(11, 10), -r(11, 5) if flip else r(11, 5)]      # 1.1 (cos, sin)(pi/2), +-2.2
    second = [r(33, 5) * sympy.cos(angle), r(33, 5) * sympy.sin(angle), 0]   # 6.6 (cos, sin)(2 pi/5), 0
    third = [-r(33, 10), 0, r(22, 5)]                               # 3.3 (cos, sin)(pi), 4.4
    points = [[SCALE * x for x in q] for p in (first, second, third) for q in (p, [-x for x in p])]
    return ExactGraph(points, [(i, j) for i in range(6) for j in range(i + 1, 6)], [0] * 6)


@family("sverdlov_dym", defaults=[{"variant": "hard"}])
def sverdlov_dym(variant: str = "hard") -> Pair:
    """Sverdlov and Dym's "hard" pair: 6 points on a complete graph, the clouds differing in one antipodal pair.

    Geometry: each cloud is three antipodal pairs ``+-p_1, +-p_2, +-p_3`` (nodes ``2k, 2k+1`` are ``p_k, -p_k``),
    every pair of points an edge, one node type: ``p_2 = 6.6 (cos 2pi/5, sin 2pi/5, 0)`` and
    ``p_3 = 3.3 (cos pi, sin pi, 4/3)`` in both, ``p_1 = 1.1 (cos pi/2, sin pi/2, 2)`` in ``a`` and the same with
    ``z`` negated in ``b``. Exact: the decimals are the rationals 11/10, 33/5, ... and ``cos, sin (2 pi/5)`` are
    radicals. The radii are ``1.1 sqrt 5``, 6.6 and 5.5; the library scales all by :data:`SCALE` = 1/3.

    Claims (certified exactly by :func:`counterexamples.certify.certify`; also exact ``dojo.gwl`` runs):

    * WL never separates (two complete graphs on 6 nodes).
    * IGWL_(2) never separates. At iteration 1: ``|p_1 - q|^2 = |p_1|^2 + |q|^2 - 2 p_1.q``, and flipping ``p_1``
      keeps ``p_1.q`` for ``q = +-p_2`` (in the plane z = 0) and negates it for ``q = +-p_3``, which only swaps the
      distances from ``q`` to ``p_1`` and to ``-p_1``: every node sees the same multiset of distances. So
      distance-only models (SchNet, the "vanilla" DisGNN) cannot tell them apart. Certified by exact refinement:
      equal colours at iteration 1, and the partition is then stable.
    * IGWL_(3) and above (IGWL_(4), IGWL_(5), IGWL, GWL) separate at iteration 1: a node's ordered pairs of
      neighbours give its triangles, whose multisets differ. Under O(3) and SO(3) alike.
    * Not congruent (certified).

    Reference: Sverdlov and Dym, "On the Expressive Power of Sparse Geometric MPNNs" (arXiv 2407.02025), their
    "hard" complete-graph example; coordinates from their code (github.com/yonatansverdlov/E-GenNet,
    data_creation/data_utils.py, ``create_hard``), whose floats are ``6.6 (cos, sin)(2 pi/5)`` and the like: written
    here exactly. Their sparse pairs (separable only in the second or third power of the graph) are drawn at random
    in their code and are not in the library.

    Examples
    --------
    >>> pair = sverdlov_dym()
    >>> pair.claim("igwl-2"), pair.claim("igwl-3"), pair.exact_a.num_nodes
    (None, 1, 6)
    """
    if variant != "hard":
        raise ValueError(f"sverdlov_dym: unknown variant {variant!r}. Fix: 'hard'.")
    return Pair(
        name=f"sverdlov_dym-{variant}",
        family="sverdlov_dym",
        params={"variant": variant},
        description="6 points on a complete graph, three antipodal pairs, one pair mirrored: equal distance-WL "
                    "colours, different angles",
        reference="Sverdlov & Dym, arXiv 2407.02025, the 'hard' pair; coordinates from github.com/yonatansverdlov/"
                  "E-GenNet data_creation/data_utils.py (create_hard), in exact arithmetic, scaled by 1/3",
        task="invariant",
        exact_a=_cloud(flip=False),
        exact_b=_cloud(flip=True),
        claims=claims({t: (None if t in ("wl", "igwl-2") else 1) for t in TESTS}),
    )
