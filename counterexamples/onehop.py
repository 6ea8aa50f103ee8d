"""onehop: rings whose every node sees an identical neighbourhood, with different global shapes."""

from __future__ import annotations

import sympy

from counterexamples.pair import ExactGraph, Pair, TESTS, claims
from counterexamples.registry import family

__all__ = ["onehop"]


def _cyclohexane(chair: bool) -> ExactGraph:
    """A six-ring with bond length 3 and every bond angle arccos(-1/3) (tetrahedral), as a chair or a boat."""
    r2, r6 = sympy.sqrt(2), sympy.sqrt(6)
    coords = [
        [sympy.Rational(-5, 2), 0, -r2 if chair else r2],
        [sympy.Rational(-3, 2), -r6, 0],
        [sympy.Rational(3, 2), -r6, 0],
        [sympy.Rational(5, 2), 0, r2],
        [sympy.Rational(3, 2), r6, 0],
        [sympy.Rational(-3, 2), r6, 0],
    ]
    return ExactGraph(coords, [(i, (i + 1) % 6) for i in range(6)], [0] * 6)


def _cubic(steps: str) -> ExactGraph:
    """A six-ring walking unit steps along the axes (``"xyzXYZ"``: capitals are negative steps)."""
    unit = {"x": (1, 0, 0), "y": (0, 1, 0), "z": (0, 0, 1)}
    coords, here = [], (0, 0, 0)
    for s in steps:
        coords.append(list(here))
        sign = -1 if s.isupper() else 1
        here = tuple(h + sign * u for h, u in zip(here, unit[s.lower()]))
    return ExactGraph(coords, [(i, (i + 1) % 6) for i in range(6)], [0] * 6)


_VARIANTS = {
    "cyclohexane": (lambda: (_cyclohexane(chair=True), _cyclohexane(chair=False)),
                    "cyclohexane ring skeletons: chair vs boat, identical bond lengths and angles"),
    "cubic": (lambda: (_cubic("xyzXYZ"), _cubic("xzyZXY")),
              "right-angled unit six-rings on the cube lattice: skew (chair-like) vs U-shaped (boat-like)"),
}


@family("onehop", defaults=[{"variant": v} for v in _VARIANTS])
def onehop(variant: str = "cyclohexane") -> Pair:
    """Two geometric graphs whose every node neighbourhood is identical, yet which are not congruent.

    Both graphs are the same 6-cycle with one node type.

    ``"cyclohexane"``: the carbon ring of cyclohexane as a chair (``a``) and a boat (``b``). Nodes 1, 2, 4, 5 at
    ``(-3/2, -sqrt 6, 0), (3/2, -sqrt 6, 0), (3/2, sqrt 6, 0), (-3/2, sqrt 6, 0)``, node 3 at ``(5/2, 0, sqrt 2)``
    and node 0 at ``(-5/2, 0, -sqrt 2)`` (chair: opposite sides of the plane) or ``(-5/2, 0, sqrt 2)`` (boat: the
    same side). Every bond has length 3 and every bond angle is arccos(-1/3)
    (e.g. at node 2: ``(-3, 0, 0) . (1, sqrt 6, sqrt 2) = -3 = 9 cos``).

    ``"cubic"``: the same phenomenon with integer coordinates: six-rings of unit steps along the axes, every bond
    angle 90 degrees. ``a`` steps x, y, z, -x, -y, -z (a skew ring, chair-like: any three consecutive steps are
    mutually perpendicular, all dihedral angles +-90 degrees); ``b`` steps x, z, y, -z, -x, -y (U-shaped,
    boat-like: the steps z, y, -z make nodes 1, 2, 3, 4 coplanar, a zero dihedral angle).

    Claims, by hand (both variants):

    * WL, every IGWL_(k) and IGWL never separate, under O(3) and SO(3): the graphs are the same 6-cycle and every
      node's neighbourhood -- itself and two neighbours at one bond length with one bond angle -- is congruent to every
      other's, by a proper rotation (three points are coplanar). So all nodes of both graphs keep one colour.
    * GWL separates at iteration 2, under both groups. At depth 1 the trees are the identical neighbourhoods. At
      depth 2 the tree of node ``i`` holds the chain ``i-2 .. i+2`` in one frame, and a congruence of trees must map
      the chain onto a chain in order or reversed (the root goes to the root, the grandchild at the root's position
      to the like grandchild), so it keeps the absolute dihedral angles of the chain. In the chairs all dihedral
      angles are non-zero; in the boat, nodes 0, 1, 2, 3 are coplanar (nodes 0 and 3 are mirror images across
      x = 0, as are 1 and 2), a zero dihedral angle that the depth-2 tree of node 1 contains (in the U-shaped
      ring, nodes 1..4 and the tree of node 2).
    * Not congruent (a zero dihedral angle in one, none in the other).

    Reference: the GWL paper's point that invariant GNNs cannot distinguish graphs whose local neighbourhoods
    coincide (Joshi et al., ICML 2023, arXiv 2301.09308, Section 5); chair/boat cyclohexane is the textbook case of
    conformers with identical bond lengths and angles. Proof sketch here.

    Examples
    --------
    >>> pair = onehop("cyclohexane")
    >>> pair.claim("igwl", "SO(3)"), pair.claim("gwl")
    (None, 2)
    """
    if variant not in _VARIANTS:
        raise ValueError(f"onehop: unknown variant {variant!r}. Fix: one of {sorted(_VARIANTS)}.")
    make, description = _VARIANTS[variant]
    a, b = make()
    return Pair(
        name=f"onehop-{variant}",
        family="onehop",
        params={"variant": variant},
        description=description,
        reference="Joshi et al., ICML 2023, arXiv 2301.09308, Sec. 5; proof sketch in counterexamples/onehop.py",
        task="invariant",
        exact_a=a,
        exact_b=b,
        claims=claims({t: (2 if t == "gwl" else None) for t in TESTS}),
    )
