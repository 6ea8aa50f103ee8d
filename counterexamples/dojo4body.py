"""dojo4body: the original dojo's two "4-body" pairs -- congruent by a proper rotation, so isomorphic controls."""

from __future__ import annotations

import sympy

from counterexamples.pair import ExactGraph, Pair, TESTS, claims, star
from counterexamples.registry import family

__all__ = ["dojo4body"]


def _rotation_y(angle: sympy.Expr) -> sympy.Matrix:
    c, s = sympy.cos(angle), sympy.sin(angle)
    return sympy.Matrix([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _graphs(variant: str) -> tuple[ExactGraph, ExactGraph]:
    if variant == "chiral":
        common = [[3, 0, -4], [0, 0, 5], [-3, 0, -4]]
    else:
        upper = [[3, 2, -4], [0, 2, 5], [-3, 2, -4]]
        turn = _rotation_y(sympy.pi / 5)
        lower = [list(turn * sympy.Matrix([x, -2, z])) for x, _, z in upper]
        common = upper + lower
    return star(common + [[0, 5, 0]]), star(common + [[0, -5, 0]])


@family("dojo4body", defaults=[{"variant": v} for v in ("chiral", "nonchiral")])
def dojo4body(variant: str = "chiral") -> Pair:
    """ISOMORPHIC CONTROL: the original dojo's "4-body" pairs, which are the same geometric graph twice.

    The original dojo's incompleteness notebook presents these as counterexamples for 4-body invariants
    (after Pozdnyakov et al. 2020, Fig. 2(e) and (f)), but each ``b`` is ``a`` moved by a proper rotation, so no
    test can or should separate them. We keep them, labelled as controls, because they show how a construction can
    go wrong; the genuine 4-body pair is ``bodyorder-4``.

    Geometry: stars with centre at the origin and one node type.

    * ``"chiral"``: leaves ``(3,0,-4), (0,0,5), (-3,0,-4)`` and ``(0,5,0)`` in ``a``, ``(0,-5,0)`` in ``b``. The
      rotation by pi about the z-axis swaps the first and third leaf, fixes the second and maps ``(0,5,0)`` to
      ``(0,-5,0)``.
    * ``"nonchiral"``: leaves ``(3,2,-4), (0,2,5), (-3,2,-4)``, the same three with y = -2 rotated by pi/5 about the
      y-axis, and ``(0,5,0)`` vs ``(0,-5,0)``. The rotation by pi about the axis in the xz-plane at angle pi/10 from
      the z-axis maps y to -y, and reflects the xz-plane in that axis, which takes the upper triangle (symmetric
      under x -> -x) onto the rotated lower one and back: a proper congruence.

    Claims: congruent under O(3) and SO(3), so every test never separates (all claims ``None``).

    Reference: the original dojo, https://github.com/chaitjo/geometric-gnn-dojo, experiments/incompleteness.ipynb;
    the congruences above (checked exactly in the certification).

    Examples
    --------
    >>> pair = dojo4body("chiral")
    >>> pair.is_control, pair.claim("gwl", "SO(3)")
    (True, None)
    """
    if variant not in ("chiral", "nonchiral"):
        raise ValueError(f"dojo4body: unknown variant {variant!r}. Fix: 'chiral' or 'nonchiral'.")
    a, b = _graphs(variant)
    return Pair(
        name=f"dojo4body-{variant}",
        family="dojo4body",
        params={"variant": variant},
        description=f"isomorphic control: the original dojo's {variant} '4-body' pair, congruent by a proper rotation",
        reference="original dojo, experiments/incompleteness.ipynb (after Pozdnyakov et al. 2020, Fig. 2); "
                  "congruence proof in counterexamples/dojo4body.py",
        task="invariant",
        exact_a=a,
        exact_b=b,
        claims=claims({t: None for t in TESTS}),
        congruent_under=frozenset({"O(3)", "SO(3)"}),
    )
