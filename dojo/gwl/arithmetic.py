"""Numbers for the geometric Weisfeiler-Leman tests: exact (algebraic numbers) or float (with a tolerance).

Every geometric quantity the tests look at is a dot product or a triple product of *edge vectors* ``x_b - x_a``.
A :class:`Geometry` holds one graph's positions and answers those products for edge handles ``(a, b)``; an
:class:`Arithmetic` holds the geometries of all graphs compared in one run (they must share one number system, one
tolerance and one table of values) and turns numbers into canonical integer ids.

Exact mode
    Coordinates are sympy expressions: rationals, radicals (nested too, ``sqrt(2 + sqrt(3))``), ``cos(pi/7)``...
    and any sums, products, quotients and powers of them (``2/(1 + sqrt(5))``). All of them are written in one
    number field ``Q(theta)`` (sympy's ``primitive_element``), where an element has a unique representation as a
    polynomial in ``theta`` of bounded degree: equality is equality of coefficient lists, with no tolerance anywhere.
    Rational coordinates use :class:`fractions.Fraction`. Canonical keys order field elements by their coefficient
    lists, a total order that is the same for every graph of the run (it need not be the order of the reals).

Float mode
    Positions are centred and divided by the length scale ``L`` (the longest edge of all graphs), so every value is
    unitless and of order one. Two values are *equal* when they fall in the same cluster: all values of a run,
    from both graphs, are sorted and cut wherever two neighbours differ by more than ``tol`` (single linkage).
    Unlike rounding to a fixed grid, this never splits two values closer than ``tol``, so a graph and its rotated,
    translated, float32-rounded copy get identical ids as long as the rounding noise stays below ``tol`` and distinct
    values of the graph are further apart than ``tol``. The default is
    ``tol = 128 * eps(dtype) * (1 + P / L)`` where ``P`` is the largest coordinate magnitude (rounding noise grows
    with distance from the origin): about ``1.5e-5 * (1 + P/L)`` for float32 input, ``3e-14 * (1 + P/L)`` for float64.
    Values genuinely closer than ``tol`` are merged, so very large float32 graphs lose resolution: use float64 there.
    When the default tolerance would exceed :data:`MAX_TOL` (float32 graphs more than ~650 edge lengths from the
    origin) the positions no longer hold the geometry to decide equalities, and the test refuses with an error
    rather than answer from noise; so does a length scale whose squares over- or underflow float64.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterable, Sequence
from fractions import Fraction
from functools import lru_cache, partial

import numpy as np
import sympy
import torch
from sympy.polys.numberfields import primitive_element
from sympy.polys.polyclasses import ANP

Handle = tuple[int, int]  # the edge vector x_b - x_a as (a, b)

__all__ = ["Bag", "Geometry", "Arithmetic", "ExactArithmetic", "FloatArithmetic", "PrecisionError", "arithmetic"]


class Bag(tuple):
    """A multiset inside an encoding: sorted only after its numbers have become canonical ids."""

    __slots__ = ()


class Geometry:
    """One graph's positions, answering dot and triple products of edge vectors (memoised)."""

    def __init__(self, points: list[tuple], zero: object) -> None:
        self.points = points
        self.zero = zero
        self._dots: dict[tuple[Handle, Handle], object] = {}
        self._dets: dict[tuple[Handle, Handle, Handle], object] = {}

    def vector(self, h: Handle) -> tuple:
        (a, b), p = h, self.points
        return (p[b][0] - p[a][0], p[b][1] - p[a][1], p[b][2] - p[a][2])

    def dot(self, u: Handle, v: Handle):
        value = self._dots.get((u, v))
        if value is None:
            x, y = self.vector(u), self.vector(v)
            value = self._dots[u, v] = self._dots[v, u] = x[0] * y[0] + x[1] * y[1] + x[2] * y[2]
        return value

    def det(self, u: Handle, v: Handle, w: Handle):
        key = (u, v, w)
        value = self._dets.get(key)
        if value is None:
            x, y, z = self.vector(u), self.vector(v), self.vector(w)
            value = self._dets[key] = (x[0] * (y[1] * z[2] - y[2] * z[1]) - x[1] * (y[0] * z[2] - y[2] * z[0])
                                       + x[2] * (y[0] * z[1] - y[1] * z[0]))
        return value


class Arithmetic(ABC):
    """The number system of one run: geometries of all graphs, zero tests, minima and canonical ids."""

    exact: bool
    geometries: list[Geometry]

    @abstractmethod
    def independent(self, geometry: Geometry, v: Handle, basis: Sequence[Handle]) -> bool:
        """Whether the edge vector ``v`` lies outside the span of the (independent) ``basis`` vectors."""

    @abstractmethod
    def minimal(self, items: Sequence, key: Callable[[object], tuple]) -> list:
        """The items whose key is minimal (keys are tuples of ints and numbers, compared position by position)."""

    @abstractmethod
    def ids(self, values: Sequence) -> np.ndarray:
        """Canonical integer ids of numbers: equal values share an id, ids follow a run-wide total order."""

    def finalize(self, encodings: Sequence) -> list:
        """Turn raw encodings (nested tuples/:class:`Bag` of ints and numbers) into canonical nested int tuples.

        Every number becomes its id (:meth:`ids`, computed over all encodings at once), then every Bag is sorted.
        """
        numbers: list = []
        for encoding in encodings:
            _collect(encoding, numbers)
        ids = iter(self.ids(numbers).tolist()) if numbers else iter(())
        return [_rebuild(e, ids) for e in encodings]


def _collect(node: tuple, out: list) -> None:
    for child in node:
        kind = type(child)
        if kind is tuple or kind is Bag:
            _collect(child, out)
        elif kind is not int:
            out.append(child)


def _rebuild(node: tuple, ids) -> tuple:
    items = [_rebuild(child, ids) if type(child) in _NESTED else (child if type(child) is int else next(ids))
             for child in node]
    return tuple(sorted(items)) if type(node) is Bag else tuple(items)


_NESTED = (tuple, Bag)


#: The largest default tolerance (relative to the longest edge) at which float mode still decides equalities.
MAX_TOL = 1e-2

#: Tolerances a float-mode run tries, as multiples of the default, when a decision sits at the tolerance.
TOL_LADDER = (1, 2, 3, 4, 5, 6)


class PrecisionError(ValueError):
    """Float mode cannot decide: some geometric decision sits at the tolerance for every tolerance tried."""


class FloatArithmetic(Arithmetic):
    """Float64 arithmetic on centred, length-normalised positions, equality up to the tolerance ``tol``.

    Every decision compares a quantity of order one whose rounding error is at most :attr:`noise` (a length, an
    area or a volume of edge vectors, a difference of two dot or triple products) with ``tol``. A decision whose
    quantity lies within ``noise`` of ``tol`` could go the other way for a moved copy of the graph: it is counted in
    :attr:`fragile`, and the caller reruns with another tolerance (:func:`decide`) rather than answer from noise.
    """

    exact = False

    def __init__(self, positions: Sequence[torch.Tensor], edges: Sequence[torch.Tensor],
                 tol: float | None = None) -> None:
        pos64 = [p.detach().to(torch.float64) for p in positions]
        lengths = [(p[e[1]] - p[e[0]]).norm(dim=1).max() for p, e in zip(pos64, edges) if e.numel()]
        scale = float(max(lengths)) if lengths else 1.0
        self.scale = scale if scale > 0 else 1.0
        if not 1e-150 < self.scale < 1e150:
            raise ValueError(f"the graphs' length scale {self.scale:.1e} is beyond what float64 squares hold. Fix: "
                             "rescale the positions (a test's verdict does not depend on the unit), or use exact=True.")
        eps = max(torch.finfo(p.dtype).eps for p in positions)
        reach = max(float(p.detach().abs().max()) for p in positions) / self.scale
        # Rounding of the input moves an edge vector by ~eps * (1 + reach) edge lengths; a product of up to three
        # such vectors (lengths <= 1), or a difference of two, moves by a few times that: 64 is the margin.
        self.noise = 64 * eps * (1 + reach)
        if tol is None:
            tol = 2 * self.noise
            if tol > MAX_TOL:
                raise ValueError(
                    f"positions up to {reach:.0f} edge lengths from the origin in {positions[0].dtype} keep too few "
                    f"digits of the geometry to decide equalities (tolerance {tol:.1e} of an edge length). Fix: "
                    "centre the graphs (pos - pos.mean(0)) before rounding to this dtype, use float64, or exact=True.")
        if not tol > 0:
            raise ValueError(f"tol must be positive, got {tol}. Fix: pass a small positive float or None.")
        self.tol = float(tol)
        self.fragile = 0
        self.geometries = [Geometry([tuple(r) for r in ((p - p.mean(0)) / self.scale).tolist()], 0.0)
                           for p in pos64]

    def with_tol(self, tol: float) -> FloatArithmetic:
        """The same graphs (and memoised products) under another tolerance, with no fragile decisions counted."""
        other = object.__new__(FloatArithmetic)
        other.__dict__.update(self.__dict__, tol=float(tol), fragile=0)
        return other

    def _beyond(self, value: float) -> bool:
        """``value > tol``, counting the decision as fragile when ``value`` is within the noise of ``tol``."""
        if abs(value - self.tol) <= self.noise:
            self.fragile += 1
        return value > self.tol

    def independent(self, geometry: Geometry, v: Handle, basis: Sequence[Handle]) -> bool:
        # Length, area or volume straight from the coordinates: their rounding error is ~eps, while the
        # Gram-determinant forms (|b|^2 |v|^2 - (b.v)^2, ...) cancel catastrophically near degeneracy.
        x = geometry.vector(v)
        if len(basis) == 0:
            return self._beyond(math.hypot(*x))
        if len(basis) == 1:
            y = geometry.vector(basis[0])
            return self._beyond(math.hypot(y[1] * x[2] - y[2] * x[1], y[2] * x[0] - y[0] * x[2],
                                           y[0] * x[1] - y[1] * x[0]))
        if len(basis) == 2:
            return self._beyond(abs(geometry.det(basis[0], basis[1], v)))
        return False

    def minimal(self, items: Sequence, key: Callable[[object], tuple]) -> list:
        keyed = [(key(item), item) for item in items]
        if not keyed:
            return []
        for position in range(len(keyed[0][0])):
            values = [k[position] for k, _ in keyed]
            low = min(values)
            if isinstance(low, float):
                keep = [not self._beyond(value - low) for value in values]
            else:
                keep = [value == low for value in values]
            keyed = [entry for entry, kept in zip(keyed, keep) if kept]
        return [item for _, item in keyed]

    def ids(self, values: Sequence) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        if len(self.geometries) == 1 and len(values) > 1:
            # One graph alone: a gap at the tolerance could be cut in this graph and not in its moved copy. (Runs
            # over several graphs cluster their values together, so a copy's values always join the original's.)
            gaps = np.diff(np.sort(values))
            self.fragile += int((np.abs(gaps - self.tol) <= self.noise).sum())
        return cluster(values, self.tol)


def cluster(values: np.ndarray, tol: float) -> np.ndarray:
    """Single-linkage clusters of ``values``: sorted, cut where neighbours differ by more than ``tol``.

    Returns the cluster id of every value; ids increase with the values.

    Examples
    --------
    >>> cluster(np.array([1.0, 0.0, 1.0 + 1e-9, 0.5]), 1e-6).tolist()
    [2, 0, 2, 1]
    """
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.concatenate([[0], (np.diff(ordered) > tol).astype(np.int64)])
    out = np.empty(len(values), dtype=np.int64)
    out[order] = np.cumsum(starts)
    return out


class ExactArithmetic(Arithmetic):
    """Exact arithmetic in one number field shared by all graphs of the run (no tolerance anywhere)."""

    exact = True

    def __init__(self, coordinates: Sequence[Sequence[Sequence[sympy.Expr]]]) -> None:
        entries = [sympy.sympify(c) for coords in coordinates for row in coords for c in row]
        convert = _field_converter(frozenset(a for e in entries for a in _atoms(e)))
        self.geometries = [Geometry([tuple(convert(sympy.sympify(c)) for c in row) for row in coords],
                                    convert(sympy.Integer(0)))
                           for coords in coordinates]

    def independent(self, geometry: Geometry, v: Handle, basis: Sequence[Handle]) -> bool:
        g = geometry
        if len(basis) == 0:
            return bool(g.dot(v, v))
        if len(basis) == 1:
            (b,) = basis
            return bool(g.dot(b, b) * g.dot(v, v) - g.dot(b, v) * g.dot(b, v))
        if len(basis) == 2:
            return bool(g.det(basis[0], basis[1], v))
        return False

    def minimal(self, items: Sequence, key: Callable[[object], tuple]) -> list:
        keyed = [(tuple(_canonical(x) for x in key(item)), item) for item in items]
        if not keyed:
            return []
        low = min(k for k, _ in keyed)
        return [item for k, item in keyed if k == low]

    def ids(self, values: Sequence) -> np.ndarray:
        keys = [_canonical(v) for v in values]
        rank = {k: r for r, k in enumerate(sorted(set(keys)))}
        return np.fromiter((rank[k] for k in keys), dtype=np.int64, count=len(keys))


def _canonical(x) -> Hashable:
    """A hashable, totally ordered key of an exact number (ints pass through: they are labels)."""
    if isinstance(x, int):
        return (0, x)
    coefficients = x.to_list() if isinstance(x, ANP) else (x,)
    return (1, tuple((int(c.numerator), int(c.denominator)) for c in coefficients))


def _atoms(expr: sympy.Expr) -> Iterable[sympy.Expr]:
    """The irrational building blocks of an expression built from them by +, *, / and integer powers.

    A rational power ``b**(p/q)`` is the integer power ``p`` of the root ``b**(1/q)``, so ``sqrt(5)**3`` and
    ``(1 + sqrt(5))**(-3/2)`` add one generator each (the root), not one per power.
    """
    if expr.is_Rational:
        return
    if expr.is_Add or expr.is_Mul:
        for arg in expr.args:
            yield from _atoms(arg)
    elif expr.is_Pow and expr.exp.is_Integer:
        yield from _atoms(expr.base)
    elif expr.is_Pow and expr.exp.is_Rational and expr.exp.p != 1:
        yield from _atoms(_root(expr))
    else:
        yield expr


def _root(power: sympy.Pow) -> sympy.Expr:
    """``b**(1/q)`` for ``power = b**(p/q)`` (sympy may simplify it, e.g. ``12**(1/2) = 2*sqrt(3)``)."""
    return sympy.Pow(power.base, sympy.Rational(1, power.exp.q))


@lru_cache(maxsize=64)
def _field_converter(atoms: frozenset) -> Callable[[sympy.Expr], object]:
    """A function writing sympy numbers built from ``atoms`` as elements of one number field.

    With no atoms the field is Q (Fractions). Otherwise sympy's ``primitive_element`` gives ``theta`` with
    ``Q(atoms) = Q(theta)`` and each atom as a polynomial in ``theta``; an expression is then evaluated by its
    tree of sums, products, inverses and integer powers (cheap, :func:`_evaluate`), instead of sympy's per-number
    ``to_number_field`` (slow). Every atom must be a real algebraic number: a radical (nested or not), a
    trigonometric value at a rational multiple of pi, a ``CRootOf``...
    """
    if not atoms:
        return partial(_evaluate, rational=lambda q: Fraction(int(q.p), int(q.q)), images={})
    for atom in atoms:
        if atom.is_real is False or atom.is_algebraic is False:
            raise ValueError(f"exact mode: coordinate part {atom} is not a real algebraic number. "
                             "Fix: use rationals, radicals and trigonometric values at rational multiples of pi, "
                             "or use exact=False.")
    ordered = sorted(atoms, key=sympy.default_sort_key)
    try:
        minpoly, _, reps = primitive_element(ordered, ex=True, polys=True)
    except Exception as err:  # sympy raises several types for numbers it cannot place in a field
        raise ValueError(f"exact mode: sympy cannot place {ordered} in a number field ({err}). Fix: write the "
                         "coordinates with rationals, radicals and cos/sin of rational multiples of pi, or use "
                         "exact=False.") from err
    coeffs = minpoly.all_coeffs()
    domain = sympy.QQ
    mod = [domain.convert(c) / domain.convert(coeffs[0]) for c in coeffs]
    images = {atom: ANP([domain.convert(c) for c in rep], mod, domain) for atom, rep in zip(ordered, reps)}
    return partial(_evaluate, rational=lambda q: ANP([domain.convert(q)] if q else [], mod, domain), images=images)


def _evaluate(value: sympy.Expr, rational: Callable[[sympy.Rational], object], images: dict) -> object:
    """``value`` in the field whose rationals are ``rational(q)`` and whose atoms (:func:`_atoms`) are ``images``."""
    if value.is_Rational:
        return rational(value)
    if value.is_Add or value.is_Mul:
        terms = [_evaluate(arg, rational, images) for arg in value.args]
        total = terms[0]
        for term in terms[1:]:
            total = total + term if value.is_Add else total * term
        return total
    if value.is_Pow and value.exp.is_Rational and (value.exp.is_Integer or value.exp.p != 1):
        base = _evaluate(value.base if value.exp.is_Integer else _root(value), rational, images)
        n = int(value.exp.p)  # an integer power of the base, or of the root b**(1/q)
        return base ** n if n >= 0 else _inverse(base) ** -n
    return images[value]


def _inverse(x):
    """``1 / x`` in the field (in a number field, sympy inverts the polynomial modulo the minimal polynomial)."""
    if not x:
        raise ValueError("exact mode: a coordinate divides by an expression that is exactly zero. "
                         "Fix: give finite coordinates.")
    return x ** -1


def arithmetic(graphs: Sequence, exact: bool, tol: float | None = None) -> Arithmetic:
    """The arithmetic of one run over ``graphs`` (``Data`` or :class:`~counterexamples.pair.ExactGraph`).

    Exact mode uses an ExactGraph's exact coordinates, and a ``Data``'s float coordinates as the exact binary
    fractions they are. Float mode uses float coordinates (an ExactGraph's float64 view).
    """
    if exact:
        if tol is not None:
            raise ValueError("tol is a float-mode setting. Fix: drop tol, or use exact=False.")
        coords = []
        for g in graphs:
            if hasattr(g, "coords"):
                coords.append([list(g.coords.row(i)) for i in range(g.coords.rows)])
            else:
                coords.append([[sympy.Rational(*float(c).as_integer_ratio()) for c in row] for row in g.pos.tolist()])
        return ExactArithmetic(coords)
    views = [g.graph(torch.float64) if hasattr(g, "coords") else g for g in graphs]
    return FloatArithmetic([v.pos for v in views], [v.edge_index for v in views], tol)
