"""bispectrum: Nigam, Pozdnyakov et al.'s bispectrum-degenerate environments (equal 4-body, different 5-body)."""

from __future__ import annotations

import sympy

from counterexamples.pair import ExactGraph, Pair, TESTS, claims
from counterexamples.registry import family

__all__ = ["bispectrum", "PARAMETERS"]

R = sympy.Rational

#: Exact parameter values: ring points (x, y) on the circle of radius 5, then (cos psi, sin psi), z1, z2. The rings
#: are scalene triangles (no mirror symmetry), which keeps the two environments apart.
PARAMETERS: dict[str, tuple[list[tuple[int, int]], tuple[sympy.Rational, sympy.Rational], int, int]] = {
    "a": ([(5, 0), (3, 4), (-4, 3)], (R(3, 5), R(4, 5)), 2, 3),
    "b": ([(5, 0), (0, 5), (-3, -4)], (R(-7, 25), R(24, 25)), 2, 3),
    "c": ([(5, 0), (4, 3), (-3, 4)], (R(0), R(1)), 2, 3),
}


def _environment(ring: list[tuple[int, int]], turn: tuple[sympy.Rational, sympy.Rational], z1: int, z2: int,
                 up: bool) -> ExactGraph:
    """Centre (type 0) joined to a ring at height ``z1``, the ring turned by ``psi`` at ``-z1`` (type 1) and an
    axial atom (type 2) at ``+z2`` (``up``) or ``-z2``."""
    c, s = turn
    upper = [[x, y, z1] for x, y in ring]
    lower = [[c * x - s * y, s * x + c * y, -z1] for x, y in ring]
    points = [[0, 0, 0], *upper, *lower, [0, 0, z2 if up else -z2]]
    n = len(points)
    return ExactGraph(points, [(0, k) for k in range(1, n)], [0] + [1] * (2 * len(ring)) + [2])


@family("bispectrum", defaults=[{"variant": v} for v in ("a", "b")])
def bispectrum(variant: str = "a") -> Pair:
    """Two atomic environments with equal bispectrum (4-body correlations), told apart by 5-body ones.

    Geometry (Nigam et al.'s parametric family): a centre at the origin (type 0), a ring of ``n`` atoms (type 1)
    at angles ``phi_k`` and radius ``r`` in the plane ``z = z1``, the same ring turned by ``psi`` about z in the
    plane ``z = -z1``, and one axial atom (type 2) at ``(0, 0, z2)`` in ``a`` and ``(0, 0, -z2)`` in ``b``. The
    graph is the centre's environment: a star from the centre. :data:`PARAMETERS` gives the exact values used
    (three ring points on the circle of radius 5 with integer coordinates, rational ``cos psi, sin psi``).

    Claims (certified exactly; also exact ``dojo.gwl`` runs):

    * WL, IGWL_(2), IGWL_(3), IGWL_(4) never separate, under O(3) and SO(3). Ordered triples of neighbours
      without the axial atom ``c`` are the same in both. With ``c``: ``c.u = z2 z1`` for ``u`` in the ring on
      ``c``'s side and ``-z2 z1`` on the other, so flipping ``c`` swaps the roles of the rings; the rings are
      turned copies of each other (the same inner products), and a mixed pair ``(u_j, v_k)`` (``v`` in the turned
      ring) matches ``(v_j, u_k)``: ``cos(phi_j - phi_k - psi) = cos(phi_k - phi_j + psi)``. So the 4-body
      multisets agree; the triple products (``c.(u x v)``, sign flipping with ``c`` and with the swap) agree too.
      Leaves see only the centre, so nothing new appears after iteration 1.
    * IGWL_(5), IGWL and GWL separate at iteration 1 (5-body correlations differ; certified).
    * Not congruent: a congruence would map the rings onto each other with a mirror symmetry of the ring, and a
      scalene triangle has none (certified).

    Reference: Nigam, Pozdnyakov, Huguenin-Dumittan, Ceriotti, "Completeness of Atomic Structure
    Representations", arXiv 2302.14770: the bispectrum-degenerate family, as generated in their data archive
    (github.com/curiosity54/completeness-three-center, dataset_generation/generate_bispectrum_structures.py,
    ``generate_nu3_degen_structs(r, phi, psi, z1, z2)``). Our parameter values are chosen to be exact; the
    species (C centre, H ring, O axial) become types 0, 1, 2.

    Examples
    --------
    >>> pair = bispectrum("a")
    >>> pair.claim("igwl-4", "SO(3)"), pair.claim("igwl-5"), pair.exact_a.num_nodes
    (None, 1, 8)
    """
    if variant not in PARAMETERS:
        raise ValueError(f"bispectrum: unknown variant {variant!r}. Fix: one of {sorted(PARAMETERS)}.")
    ring, turn, z1, z2 = PARAMETERS[variant]
    return Pair(
        name=f"bispectrum-{variant}",
        family="bispectrum",
        params={"variant": variant},
        description=f"bispectrum-degenerate environments: rings of {len(ring)} at z = +-{z1} (one turned), axial "
                    f"atom at z = +-{z2}; equal 4-body, different 5-body correlations",
        reference="Nigam, Pozdnyakov et al., arXiv 2302.14770 (bispectrum-degenerate family); generator in "
                  "github.com/curiosity54/completeness-three-center; exact parameters in counterexamples/bispectrum.py",
        task="invariant",
        exact_a=_environment(ring, turn, z1, z2, up=True),
        exact_b=_environment(ring, turn, z1, z2, up=False),
        claims=claims({t: (1 if t in ("igwl-5", "igwl", "gwl") else None) for t in TESTS}),
    )
