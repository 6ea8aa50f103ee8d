"""bodyorder: star neighbourhoods that agree in every k-body invariant up to a body order and differ above it."""

from __future__ import annotations

import sympy

from counterexamples.pair import ExactGraph, Pair, TESTS, claims, star
from counterexamples.registry import family

__all__ = ["bodyorder"]

_EIGHTH = [sympy.pi * k / 4 for k in range(8)]


def _two_body() -> tuple[ExactGraph, ExactGraph]:
    return star([[5, 0, 0], [3, 0, 4]]), star([[5, 0, 0], [-5, 0, 0]])


def _three_body() -> tuple[ExactGraph, ExactGraph]:
    common = [[5, 0, 5], [5, 5, 5], [-5, -5, 5]]
    return star(common + [[0, 5, 5]]), star(common + [[0, -5, 5]])


def _four_body() -> tuple[ExactGraph, ExactGraph]:
    upper = [[sympy.cos(_EIGHTH[k]), 1, sympy.sin(_EIGHTH[k])] for k in (0, 1, 2, 5)]
    lower = [[sympy.cos(_EIGHTH[k]), -1, sympy.sin(_EIGHTH[k])] for k in (0, 1, 3, 4)]
    return star(upper + lower + [[0, 2, 0]]), star(upper + lower + [[0, -2, 0]])


_PAIRS = {
    2: (_two_body, "2-body: equal centre distances (5, 5), angles 53 vs 180 degrees",
        "Joshi et al., ICML 2023, arXiv 2301.09308 (incompleteness experiment, running example)"),
    3: (_three_body, "3-body: equal distances and angles, different 4-body correlations",
        "Pozdnyakov et al., PRL 125, 166001 (2020), arXiv 2001.11696, Fig. 1(b), as in the original dojo"),
    4: (_four_body, "4-body: equal (chiral) 4-body correlations, different 5-body ones; homometric 8-gon layers",
        "proof sketch in counterexamples/bodyorder.py; construction in the spirit of Pozdnyakov et al., "
        "PRL 125, 166001 (2020), arXiv 2001.11696, Fig. 2"),
}


@family("bodyorder", defaults=[{"body": k} for k in (2, 3, 4)])
def bodyorder(body: int = 3) -> Pair:
    """A pair of star neighbourhoods indistinguishable by ``body``-body invariants, distinguishable one order up.

    Each graph is a star: a centre at the origin (node 0) joined to every other node, one node type. An IGWL_(k)
    layer sees the centre's neighbourhood through the multiset of invariant classes of ordered (k-1)-tuples of
    neighbours (repetition allowed): distances for k = 2, plus angles for k = 3, plus Gram matrices of triples
    (and, under SO(3), their handedness) for k = 4.

    Geometry and claims, by hand:

    * ``body=2`` (the original dojo's pair): leaves ``(5,0,0), (3,0,4)`` vs ``(5,0,0), (-5,0,0)``. Equal distances;
      the angle (dot product 15 vs -25) differs, so IGWL_(3) separates at iteration 1.
    * ``body=3`` (Pozdnyakov et al. Fig. 1(b), the original dojo's pair): leaves ``a=(5,0,5), p=(5,5,5),
      q=(-5,-5,5)`` and ``c=(0,5,5)`` vs ``c=(0,-5,5)``. Dot products: ``a.p=50, a.q=0, p.q=-25, a.c=25``, and
      ``(p.c, q.c) = (50, 0)`` vs ``(0, 50)``; as ``|p| = |q|``, swapping p and q matches all pairs: equal 3-body
      multisets. But ``a``, ``c``, ``p`` with ``a.p = c.p = 50`` exist only in ``a``: IGWL_(4) separates at 1.
    * ``body=4`` (a genuine 4-body pair; our construction): a layer ``A`` of four points ``(cos t, 1, sin t)`` at
      ``t = (pi/4)(0, 1, 2, 5)``, a layer ``B`` of four points ``(cos t, -1, sin t)`` at ``t = (pi/4)(0, 1, 3, 4)``,
      and ``c = (0, 2, 0)`` in ``a`` but ``-c`` in ``b``. The two 8-gon subsets are homometric: the same multiset
      of angular differences (1,1,2,3,3,4 eighths), yet not related by a rotation or reflection of the circle
      (only ``{0,1,2,5}`` has three consecutive vertices). Ordered triples without ``c`` are identical. In a
      triple with ``c``, ``c.u = 2 sign(u_y)``, so flipping ``c`` swaps the roles of the layers: triples
      ``(c, u, v)`` with ``u, v`` in A (in ``a``) match those with ``u, v`` in B (in ``b``) by homometry, mixed
      ones match by swapping ``u`` and ``v``; the triple product ``c.(u x v) = 2 sin(t_u - t_v)`` also flips sign
      with ``c`` and with the swap, and the signed differences of each layer form a symmetric multiset, so the
      handedness matches too. Hence equal 4-body multisets under O(3) and SO(3). Quadruples separate: among
      ``(c, u1, u2, w)`` with ``u1, u2`` on c's side and ``w`` on the other, taking ``u1, u2`` three eighths apart,
      the pairs of angular distances of ``w`` to them are ``{2,3}, {1,4}, {1,2}, {1,2}, {0,3}, {1,4}, {2,3}, {1,4}``
      in ``a`` but ``{0,3}, {1,2}, {1,2}, {2,3}, {1,4}, {0,3}, {1,2}, {1,4}`` in ``b``: IGWL_(5) separates at 1.
      Not congruent: ``c`` is the only leaf at distance 2, so a congruence maps ``c`` to ``-c`` and layer A onto
      layer B, impossible as A and B are not congruent circle subsets.

    In every case: WL never separates (the same star). Leaves see only the centre at their own distance, so at
    iteration 1 leaf colours encode distances, equal as multisets in both graphs; a centre colour at iteration 2
    sees leaf colours that are functions of distances it already saw. So the refinement is stable after iteration
    1: a k-body test separates at 1 or never. IGWL and GWL see the whole neighbourhood at iteration 1 and separate
    there (the stars are not congruent). Three points and the centre are coplanar, so IGWL_(2), IGWL_(3) are the
    same under SO(3) and O(3); for these pairs all claims are the same under both groups.

    Examples
    --------
    >>> pair = bodyorder(4)
    >>> pair.claim("igwl-4", "SO(3)"), pair.claim("igwl-5"), pair.exact_a.num_nodes
    (None, 1, 10)
    """
    if body not in _PAIRS:
        raise ValueError(f"bodyorder: body must be one of {sorted(_PAIRS)}, got {body!r}.")
    make, description, reference = _PAIRS[body]
    a, b = make()
    first = {t: (1 if t in ("igwl", "gwl") or (t.startswith("igwl-") and int(t[5:]) > body) else None)
             for t in TESTS}
    return Pair(
        name=f"bodyorder-{body}",
        family="bodyorder",
        params={"body": body},
        description=description,
        reference=reference,
        task="invariant",
        exact_a=a,
        exact_b=b,
        claims=claims(first),
    )
