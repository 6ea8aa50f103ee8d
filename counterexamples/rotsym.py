"""rotsym: a planar star with fold-fold rotational symmetry, and the same star turned in its plane."""

from __future__ import annotations

import sympy

from counterexamples.pair import ExactGraph, Pair, TESTS, claims
from counterexamples.registry import family

__all__ = ["rotsym", "rotation_z"]


def rotation_z(angle: sympy.Expr) -> sympy.Matrix:
    """The exact rotation by ``angle`` (a sympy expression, e.g. ``sympy.pi / 5``) about the z-axis."""
    c, s = sympy.cos(angle), sympy.sin(angle)
    return sympy.Matrix([[c, -s, 0], [s, c, 0], [0, 0, 1]])


@family("rotsym", defaults=[{"fold": f} for f in (2, 3, 5, 10)])
def rotsym(fold: int = 3, turn: sympy.Rational = sympy.Rational(1, 2)) -> Pair:
    """A fold-fold symmetric planar star and the same star turned by a fraction of its symmetry angle.

    Geometry: a centre at the origin (node 0) and ``fold`` unit spokes in the xy-plane at angles ``2 pi k / fold``
    (nodes ``1..fold``), every edge centre-spoke, one node type. ``b`` is ``a`` rotated about the z-axis by
    ``turn * 2 pi / fold`` (default: half the symmetry angle, ``pi / fold``), which is not a symmetry of ``a`` unless
    ``turn`` is an integer. Coordinates are exact (cos/sin of rational multiples of pi).

    Claims, by hand:

    * Task "equivariant": ``b`` is a rotation of ``a``, so the graphs are congruent under O(3) and SO(3) and no test
      ever separates them (every test is invariant; corresponding nodes keep equal colours). What differs is the
      orientation, which an equivariant model must report.
    * Orientation order ``fold``: the centre sees its neighbourhood through the moments ``sum_k Y_lm(s_k)`` over
      the spokes ``s_k``. For a unit spoke in the plane, ``Y_lm(s_k)`` is ``N_lm P_l^m(0) e^(i m phi_k)``, and
      ``sum_k e^(i m phi_k)`` is ``fold * e^(i m delta)`` when ``fold`` divides ``m`` and 0 otherwise (``delta`` the
      turn). Below degree ``fold`` only ``m = 0`` survives, and it does not depend on the turn: ``a`` and ``b`` have
      equal moments. At ``l = m = fold`` (``P_fold^fold(0) != 0``) the moment is multiplied by
      ``e^(2 pi i turn) != 1``: they differ. So a layer needs tensor order >= ``fold`` to see the orientation.

    Reference: Joshi et al., "On the Expressive Power of Geometric Graph Neural Networks", ICML 2023
    (arXiv 2301.09308), Section 5 (rotationally symmetric structures) and its rotsym experiment.

    Examples
    --------
    >>> pair = rotsym(5)
    >>> pair.task, pair.orientation_order, pair.claim("gwl", "SO(3)"), sorted(pair.congruent_under)
    ('equivariant', 5, None, ['O(3)', 'SO(3)'])
    """
    if not isinstance(fold, int) or fold < 2:
        raise ValueError(f"rotsym: fold must be an integer >= 2, got {fold!r}.")
    turn = sympy.Rational(turn)
    if turn.is_integer:
        raise ValueError(f"rotsym: turn={turn} is a symmetry of the star, so b would equal a. "
                         "Fix: a non-integer turn, e.g. 1/2.")
    def star(offset: sympy.Rational) -> sympy.Matrix:
        angles = [2 * sympy.pi * (k + offset) / fold for k in range(fold)]
        return sympy.Matrix([[0, 0, 0]] + [[sympy.cos(t), sympy.sin(t), 0] for t in angles])

    coords_a, coords_b = star(sympy.Integer(0)), star(turn)
    edges = [(0, k) for k in range(1, fold + 1)]
    types = [0] * (fold + 1)
    suffix = "" if turn == sympy.Rational(1, 2) else f"-turn{turn.p}_{turn.q}"
    return Pair(
        name=f"rotsym-{fold}{suffix}",
        family="rotsym",
        params={"fold": fold, "turn": turn},
        description=f"{fold}-fold symmetric planar star and the same star turned by {turn} of its symmetry angle",
        reference="Joshi et al., ICML 2023, arXiv 2301.09308, Sec. 5 (rotationally symmetric structures)",
        task="equivariant",
        exact_a=ExactGraph(coords_a, edges, types),
        exact_b=ExactGraph(coords_b, edges, types),
        claims=claims({t: None for t in TESTS}),
        congruent_under=frozenset({"O(3)", "SO(3)"}),
        orientation_order=fold,
    )
