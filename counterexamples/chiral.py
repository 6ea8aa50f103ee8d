"""chiral: a geometric graph and its mirror image, told apart only by tests that see handedness (SO(3))."""

from __future__ import annotations

import sympy

from counterexamples.pair import ExactGraph, Pair, TESTS, claims
from counterexamples.registry import family

__all__ = ["chiral"]


def _mirror(graph: ExactGraph) -> ExactGraph:
    """The mirror image through the plane x = 0 (the same nodes, edges and types)."""
    flip = sympy.diag(-1, 1, 1)
    return ExactGraph(graph.coords * flip, graph.edges, graph.types)


def _tetrahedral() -> ExactGraph:
    leaves = [[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]
    return ExactGraph([[0, 0, 0], *leaves], [(0, k) for k in range(1, 5)], [0, 1, 2, 3, 4])


def _helix(n: int = 6) -> ExactGraph:
    quarter = [(1, 0), (0, 1), (-1, 0), (0, -1)]  # cos and sin of i * pi / 2
    coords = [[*quarter[i % 4], i] for i in range(n)]
    return ExactGraph(coords, [(i, i + 1) for i in range(n - 1)], [0] * n)


_NEVER = {t: None for t in TESTS}
_VARIANTS = {
    "tetrahedral": (_tetrahedral, "a centre with four differently typed tetrahedral neighbours (a stereocentre, "
                    "like CHFClBr) and its mirror image", {"igwl-4": 1, "igwl-5": 1, "igwl": 1, "gwl": 1}),
    "helix": (_helix, "a right-handed square helix path of 6 nodes and its left-handed mirror image", {"gwl": 2}),
}


@family("chiral", defaults=[{"variant": v} for v in _VARIANTS])
def chiral(variant: str = "tetrahedral") -> Pair:
    """A chiral geometric graph and its mirror image: congruent under O(3), not under SO(3).

    ``b`` is ``a`` reflected through the plane x = 0, node for node. Under O(3) the pair is congruent, so no test
    separates it. Under SO(3) it is not (checked exactly in the certification), and what separates it depends on
    where the handedness lives:

    * ``"tetrahedral"``: a centre (type 0) at the origin joined to leaves of types 1, 2, 3, 4 at the alternate
      cube vertices ``(1,1,1), (1,-1,-1), (-1,1,-1), (-1,-1,1)`` -- a stereocentre. Claims under SO(3): WL,
      IGWL_(2) and IGWL_(3) never (a tuple of at most two neighbours and the centre is planar, hence equal to its
      mirror image up to a proper rotation, so SO(3) sees what O(3) sees, and under O(3) the pair is congruent).
      IGWL_(4), IGWL_(5), IGWL and GWL separate at iteration 1: the centre's ordered triple of leaves of types
      (1, 2, 3) has ``det = +4`` in ``a`` and ``-4`` in ``b``, and it is the only triple with those types.
    * ``"helix"``: a path of 6 nodes at ``(cos(i pi/2), sin(i pi/2), i)``, bond length sqrt(3), bond angle
      arccos(1/3), dihedral angle non-zero and of one sign along the chain. Every node has at most two neighbours,
      so every neighbourhood is planar and congruent to its mirror image by a proper rotation: node ``i`` of ``a``
      and node ``i`` of ``b`` keep equal colours under every invariant test (induction over iterations), so WL,
      IGWL_(k) and IGWL never separate, even under SO(3). GWL separates under SO(3) at iteration 2: at depth 1 the
      trees are the planar neighbourhoods; at depth 2 the tree of node 1 holds nodes 0, 1, 2, 3 with their
      positions, whose handedness (sign of the dihedral) is opposite in ``b``, and the tree's shape (root, a leaf
      child, a child with two children) forces the labelling, so no proper rotation maps it onto any depth-2 tree
      of ``b`` (those with four non-coplanar points all have the other handedness).

    Reference: chirality in the GWL hierarchy, Joshi et al., ICML 2023 (arXiv 2301.09308), Sections 3-4 (O(3) vs
    SO(3)); Pozdnyakov & Ceriotti, arXiv 2201.07136 (chirality and body order). Proof sketches here.

    Examples
    --------
    >>> pair = chiral("helix")
    >>> sorted(pair.congruent_under), pair.claim("gwl", "O(3)"), pair.claim("gwl", "SO(3)"), pair.claim("igwl", "SO(3)")
    (['O(3)'], None, 2, None)
    """
    if variant not in _VARIANTS:
        raise ValueError(f"chiral: unknown variant {variant!r}. Fix: one of {sorted(_VARIANTS)}.")
    make, description, so3 = _VARIANTS[variant]
    a = make()
    return Pair(
        name=f"chiral-{variant}",
        family="chiral",
        params={"variant": variant},
        description=description,
        reference="Joshi et al., ICML 2023, arXiv 2301.09308 (O(3) vs SO(3)); "
                  "proof sketch in counterexamples/chiral.py",
        task="invariant",
        exact_a=a,
        exact_b=_mirror(a),
        claims=claims(_NEVER, so3=so3),
        congruent_under=frozenset({"O(3)"}),
    )
