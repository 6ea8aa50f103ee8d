"""Exact arithmetic for certification: the coordinates of a pair as elements of one algebraic number field.

The library's coordinates are algebraic numbers (integers, rationals, radicals, cosines of rational multiples of
pi). Comparing sympy expressions for equality needs simplification, which is slow and not canonical. Instead we
embed every coordinate of the graphs being compared into one number field ``K = Q(theta)`` (sympy's
``QQ.algebraic_field``, which finds a primitive element ``theta``): an element of ``K`` is a polynomial in ``theta``
of bounded degree with rational coefficients, so equality is exact and canonical, elements are hashable, and dot
products and determinants stay in ``K``. Only the *sign* of a non-zero element needs numbers: its exact value is
non-zero, so sympy's adaptive-precision ``evalf`` gives the right sign.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import combinations
from typing import Any

import sympy
from sympy import QQ

from counterexamples.pair import ExactGraph

__all__ = ["Field", "Vector"]

#: A point or vector: three elements of a :class:`Field`'s domain.
Vector = tuple[Any, Any, Any]


def _generators(values: Iterable[sympy.Expr]) -> list[sympy.Expr]:
    """The algebraic atoms (radicals, trigonometric values) that the values are built from."""
    gens: set[sympy.Expr] = set()
    for v in values:
        if v.is_Rational:
            continue
        gens |= {p for p in v.atoms(sympy.Pow) if not p.exp.is_Integer}
        gens |= v.atoms(sympy.cos, sympy.sin, sympy.tan)
    return sorted(gens, key=sympy.default_sort_key)


class Field:
    """The number field spanned by the coordinates of some exact graphs, with exact vector operations.

    Parameters
    ----------
    graphs : ExactGraph
        All graphs whose coordinates will be compared (they must share one field).
    extra : sympy expressions, optional
        Further numbers that must lie in the field (e.g. the entries of a rotation matrix).

    Raises
    ------
    ValueError
        When a coordinate is not an algebraic number sympy can place in a number field (e.g. ``pi`` itself).
    """

    def __init__(self, *graphs: ExactGraph, extra: Iterable[sympy.Expr] = ()) -> None:
        values = [sympy.sympify(c) for g in graphs for c in g.coords] + [sympy.sympify(e) for e in extra]
        gens = _generators(values)
        try:
            self.domain = QQ.algebraic_field(*gens) if gens else QQ
        except Exception as err:  # sympy raises several types for non-algebraic input
            raise ValueError(f"cannot build a number field from {gens}: {err}. "
                             "Fix: use algebraic coordinates (rationals, radicals, cos/sin of rational multiples "
                             "of pi).") from err
        self.zero, self.one = self.domain.zero, self.domain.one
        self._cache: dict[sympy.Expr, Any] = {}
        self._signs: dict[Any, int] = {}
        self._ids: dict[Any, int] = {}

    def element(self, value: sympy.Expr | int) -> Any:
        """``value`` as an element of the field (cached per distinct sympy expression).

        Sums, products and integer powers are evaluated with field arithmetic; only the atoms (radicals,
        trigonometric values) go through sympy's ``from_sympy``, whose minimal-polynomial computation is slow.
        """
        value = sympy.sympify(value)
        if value not in self._cache:
            self._cache[value] = self._convert(value)
        return self._cache[value]

    def _convert(self, value: sympy.Expr) -> Any:
        if value.is_Rational:
            return self.domain.convert(value)
        if value.is_Add:
            return sum((self.element(t) for t in value.args), self.zero)
        if value.is_Mul:
            out = self.one
            for t in value.args:
                out = out * self.element(t)
            return out
        if value.is_Pow and value.exp.is_Integer:
            base = self.element(value.base)
            return base ** int(value.exp) if value.exp > 0 else self.one / base ** int(-value.exp)
        try:
            return self.domain.from_sympy(value)
        except Exception as err:  # sympy raises several types for numbers outside the field
            raise ValueError(f"{value} is not in the number field {self.domain}: {err}. "
                             "Fix: use algebraic coordinates.") from err

    def points(self, graph: ExactGraph) -> list[Vector]:
        """The positions of ``graph`` as field vectors."""
        c = graph.coords
        return [tuple(self.element(c[i, k]) for k in range(3)) for i in range(graph.num_nodes)]

    def intern(self, x: Any) -> int:
        """A small integer standing for the element ``x`` (equal elements, equal integers): hashing and comparing
        integers is much faster than hashing field elements, and invariants are built from many of them."""
        return self._ids.setdefault(x, len(self._ids))

    def sympy(self, x: Any) -> sympy.Expr:
        """An element back as a sympy expression."""
        return self.domain.to_sympy(x)

    def sign(self, x: Any) -> int:
        """The sign (-1, 0, 1) of a field element: zero exactly, otherwise from adaptive-precision evaluation."""
        if x == self.zero:
            return 0
        if x not in self._signs:
            value = self.sympy(x).evalf(50)
            self._signs[x] = 1 if value > 0 else -1
        return self._signs[x]

    # -- vectors -------------------------------------------------------------------------------------------------

    @staticmethod
    def sub(u: Vector, v: Vector) -> Vector:
        return (u[0] - v[0], u[1] - v[1], u[2] - v[2])

    @staticmethod
    def dot(u: Vector, v: Vector) -> Any:
        return u[0] * v[0] + u[1] * v[1] + u[2] * v[2]

    @staticmethod
    def cross(u: Vector, v: Vector) -> Vector:
        return (u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0])

    def det(self, u: Vector, v: Vector, w: Vector) -> Any:
        return self.dot(self.cross(u, v), w)

    def scale(self, s: Any, u: Vector) -> Vector:
        return (s * u[0], s * u[1], s * u[2])

    def is_zero(self, u: Vector) -> bool:
        return all(c == self.zero for c in u)

    def basis(self, vectors: Sequence[Vector]) -> tuple[int, ...]:
        """Indices of a maximal linearly independent subset (at most 3), found greedily in order.

        The rank of the configuration is ``len(basis(vectors))``: 0 all at the origin, 1 collinear, 2 coplanar.
        """
        first = next((i for i, u in enumerate(vectors) if not self.is_zero(u)), None)
        if first is None:
            return ()
        second = next((j for j in range(first + 1, len(vectors))
                       if not self.is_zero(self.cross(vectors[first], vectors[j]))), None)
        if second is None:
            return (first,)
        normal = self.cross(vectors[first], vectors[second])
        third = next((k for k in range(second + 1, len(vectors)) if self.dot(normal, vectors[k]) != self.zero), None)
        return (first, second) if third is None else (first, second, third)

    def triple_signs(self, vectors: Sequence[Vector]) -> dict[tuple[int, int, int], int] | None:
        """Signs of ``det(u_a, u_b, u_c)`` for all ``a < b < c``; ``None`` when the vectors are coplanar (all zero)."""
        if len(self.basis(vectors)) < 3:
            return None
        crosses: dict[tuple[int, int], Vector] = {}
        signs = {}
        for a, b, c in combinations(range(len(vectors)), 3):
            if (a, b) not in crosses:
                crosses[a, b] = self.cross(vectors[a], vectors[b])
            signs[a, b, c] = self.sign(self.dot(crosses[a, b], vectors[c]))
        return signs
