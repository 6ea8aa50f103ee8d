"""platonic: the five Platonic solids as stars around their centre, and each turned by a non-symmetry rotation."""

from __future__ import annotations

from itertools import product

import sympy

from counterexamples.controls import quaternion_rotation
from counterexamples.pair import Pair, TESTS, claims, star
from counterexamples.registry import family

__all__ = ["platonic", "solid_vertices", "TURN", "ORDERS"]

#: The golden ratio and its inverse, written as sums of radicals (no negative powers of irrational sums).
PHI = (1 + sympy.sqrt(5)) / 2
INV_PHI = (sympy.sqrt(5) - 1) / 2

#: The lowest degree l >= 1 at which the solid's moments ``sum_j Y_l(x_j)`` are non-zero (its orientation order).
ORDERS: dict[str, int] = {"tetrahedron": 3, "cube": 4, "octahedron": 4, "dodecahedron": 6, "icosahedron": 6}


def _cyclic(points: list[tuple[sympy.Expr, ...]]) -> list[list[sympy.Expr]]:
    """Every point with its coordinates cyclically permuted: (x, y, z), (z, x, y), (y, z, x)."""
    return [[p[(k - s) % 3] for k in range(3)] for s in range(3) for p in points]


def solid_vertices(solid: str) -> list[list[sympy.Expr]]:
    """The vertices of a Platonic solid centred at the origin, in the textbook exact coordinates.

    Tetrahedron: alternate vertices of the cube ``(+-1, +-1, +-1)`` with an even number of minus signs. Cube:
    ``(+-1, +-1, +-1)``. Octahedron: ``(+-1, 0, 0)`` and cyclic permutations. Icosahedron: ``(0, +-1, +-phi)`` and
    cyclic permutations. Dodecahedron: the cube plus ``(0, +-1/phi, +-phi)`` and cyclic permutations (``phi`` the
    golden ratio).
    """
    signs = list(product((1, -1), repeat=3))
    if solid == "tetrahedron":
        return [list(s) for s in signs if s[0] * s[1] * s[2] == 1]
    if solid == "cube":
        return [list(s) for s in signs]
    if solid == "octahedron":
        return _cyclic([(1, 0, 0), (-1, 0, 0)])
    if solid == "icosahedron":
        return _cyclic([(0, s, t * PHI) for s, t in product((1, -1), repeat=2)])
    if solid == "dodecahedron":
        return [list(s) for s in signs] + _cyclic([(0, s * INV_PHI, t * PHI) for s, t in product((1, -1), repeat=2)])
    raise ValueError(f"platonic: unknown solid {solid!r}. Fix: one of {sorted(ORDERS)}.")


#: The turn applied to ``b``: the rotation of the quaternion (3, 1, 1, 0) (about 50.5 degrees about (1, 1, 0)),
#: rational, so the coordinates stay in the solid's own number field; it is a symmetry of none of the solids
#: (certified: ``b`` differs from ``a`` as placed, and the moments of degree ``ORDERS[solid]`` differ).
TURN: sympy.Matrix = quaternion_rotation((3, 1, 1, 0))


@family("platonic", defaults=[{"solid": s} for s in ("tetrahedron", "octahedron")])
def platonic(solid: str = "tetrahedron") -> Pair:
    """A Platonic solid as a star around its centre, and the same star turned by a rotation that is not a symmetry.

    Geometry: the centre at the origin (node 0) joined to every vertex (:func:`solid_vertices`), one node type;
    ``b`` is ``a`` rotated by :data:`TURN`. So the two graphs are congruent under O(3) and SO(3) and, as with
    ``rotsym``, the task is equivariant: what must be seen is the orientation.

    Claims: every test is invariant and the graphs are congruent, so no test ever separates them (all claims
    never). The orientation order is the lowest degree l at which the moments ``sum_j Y_lm(x_j)`` of the vertices
    are non-zero: below it the moments of ``a`` and ``b`` are both zero, and at it they differ unless ``TURN``
    happens to fix the solid's moment, which it does not (certified):
    3 for the tetrahedron (``sum x y z = 4``; degrees 1 and 2 vanish as its inertia is isotropic), 4 for the cube
    and the octahedron (centrally symmetric, so odd degrees vanish; cubic symmetry leaves no invariant harmonic of
    degree 2 but one of degree 4), 6 for the dodecahedron and the icosahedron (icosahedral symmetry has no invariant
    harmonic of degree 1 to 5). An equivariant layer whose features stop below that degree is blind to the
    orientation. The certification computes the moments exactly, degree by degree.

    Reference: Cen et al., "Are High-Degree Representations Really Unnecessary in Equivariant Graph Neural
    Networks?" (HEGNN), NeurIPS 2024, arXiv 2410.11443, its analysis of k-fold rotations and regular polyhedra:
    equivariant outputs of some degrees (1 among them) vanish on symmetric structures. The orders above are our
    exact computation, not copied from the paper. Coordinates: the standard exact ones (:func:`solid_vertices`).

    Notes
    -----
    The default instances are the tetrahedron and the octahedron. The cube, icosahedron and dodecahedron load by
    name (``platonic-cube``) and are certified in the tests, but stay outside the defaults: GWL's canonical forms
    try every frame of a large symmetry group, which in float mode costs each of these pairs a large share of the
    library's budget (every test on every default pair in under 2 s).

    Examples
    --------
    >>> pair = platonic("cube")
    >>> pair.task, pair.orientation_order, pair.exact_a.num_nodes, pair.claim("gwl", "SO(3)")
    ('equivariant', 4, 9, None)
    """
    vertices = sympy.Matrix(solid_vertices(solid))  # raises ValueError for an unknown solid
    turned = (TURN * vertices.T).T.applyfunc(sympy.expand)
    return Pair(
        name=f"platonic-{solid}",
        family="platonic",
        params={"solid": solid},
        description=f"{solid} as a star around its centre and the same star turned (orientation order "
                    f"{ORDERS[solid]})",
        reference="Cen et al., HEGNN, NeurIPS 2024, arXiv 2410.11443 (regular polyhedra); textbook "
                  "coordinates; orders computed and certified exactly in counterexamples/platonic.py",
        task="equivariant",
        exact_a=star(vertices.tolist()),
        exact_b=star(turned.tolist()),
        claims=claims({t: None for t in TESTS}),
        congruent_under=frozenset({"O(3)", "SO(3)"}),
        orientation_order=ORDERS[solid],
    )
