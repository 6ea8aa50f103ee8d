"""Symmetry and orientation: whether a given motion maps one graph onto another, rotational symmetry, and the
spherical-harmonic moments that decide the tensor order at which a neighbourhood's orientation becomes visible."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import sympy
from torch_geometric.data import Data

from counterexamples.algebra import Field
from counterexamples.certify.exact import Exact, as_exact, exact_pair
from counterexamples.certify.rigid import apply, is_orthogonal
from counterexamples.pair import ExactGraph

__all__ = ["maps_onto", "is_symmetry", "centre", "orientation_order"]


def maps_onto(a: ExactGraph | Data, b: ExactGraph | Data, rotation: sympy.Matrix,
              translation: sympy.Matrix | None = None) -> tuple[int, ...] | None:
    """Whether the orthogonal matrix ``rotation`` (about the origin, then ``translation`` if given) maps ``a`` onto
    ``b`` exactly, with types and edges: the node permutation (node ``i`` of ``a`` to ``perm[i]`` of ``b``) if it
    does, ``None`` if not.

    Raises ``ValueError`` if ``rotation`` is not an exact orthogonal 3x3 matrix.

    Examples
    --------
    >>> from counterexamples import load
    >>> from counterexamples.rotsym import rotation_z
    >>> pair = load("rotsym", fold=3)
    >>> maps_onto(pair.exact_a, pair.exact_b, rotation_z(sympy.pi / 3))
    (0, 1, 2, 3)
    """
    a, b = as_exact(a), as_exact(b)
    rotation = sympy.Matrix(rotation)
    shift = sympy.zeros(3, 1) if translation is None else sympy.Matrix(translation)
    if rotation.shape != (3, 3) or shift.shape != (3, 1):
        raise ValueError(f"maps_onto: rotation must be 3x3 and translation 3x1, got {rotation.shape}, {shift.shape}. "
                         "Fix: pass a 3x3 sympy Matrix and a column of three numbers.")
    field = Field(a, b, extra=[*rotation, *shift])
    rot = [[field.element(rotation[r, c]) for c in range(3)] for r in range(3)]
    if not is_orthogonal(field, rot):
        raise ValueError("maps_onto: the matrix is not orthogonal. Fix: pass an exact rotation or reflection.")
    offset = tuple(field.element(x) for x in shift)
    where = {(t, p): i for i, (t, p) in enumerate(zip(b.types, field.points(b)))}
    image = [where.get((t, tuple(x + y for x, y in zip(apply(rot, p), offset))))
             for t, p in zip(a.types, field.points(a))]
    if a.num_nodes != b.num_nodes or None in image or len(set(image)) != a.num_nodes:
        return None
    if {tuple(sorted((image[i], image[j]))) for i, j in a.edges} != set(b.edges):
        return None
    return tuple(image)


def is_symmetry(graph: ExactGraph | Data, rotation: sympy.Matrix) -> bool:
    """Whether the orthogonal matrix ``rotation`` (acting about the origin) maps the graph onto itself, with types
    and edges, exactly.

    Examples
    --------
    >>> from counterexamples import load
    >>> from counterexamples.rotsym import rotation_z
    >>> star = load("rotsym", fold=5).exact_a
    >>> is_symmetry(star, rotation_z(sympy.pi * 2 / 5)), is_symmetry(star, rotation_z(sympy.pi / 5))
    (True, False)
    """
    graph = as_exact(graph)
    return maps_onto(graph, graph, rotation) is not None


def centre(graph: ExactGraph) -> int:
    """The node whose neighbourhood's orientation an equivariant-task pair is about: the first of largest degree
    (a star's centre). Both the orientation order a pair file leaves out and its certificate are taken there."""
    degree = Counter(i for edge in graph.edges for i in edge)
    return max(range(graph.num_nodes), key=lambda i: degree[i])


def orientation_order(a: ExactGraph | Data, b: ExactGraph | Data, node: int = 0, max_degree: int = 12) -> int | None:
    """The lowest degree l >= 1 at which node ``node``'s neighbourhood moments differ between ``a`` and ``b``.

    The degree-l moments are ``sum_j h(x_j - x_i)`` over the neighbours, for the 2l + 1 real solid harmonics ``h``
    of degree l, taken separately for each distance shell (so a learnable radial weight cannot hide a difference).
    Solid harmonics are ``|x|^l Y_lm(x/|x|)``, polynomials in ``x``: ``Re/Im (x + i y)^m`` times ``|x|^(l-m)
    P_l^(m)(z/|x|)`` (the m-th derivative of the Legendre polynomial, homogenised). A layer whose features stop at
    degree L sees the neighbourhood's orientation only through these moments for l <= L. ``None`` if they agree up
    to ``max_degree``.
    """
    ga, gb = exact_pair(a, b)
    if not (0 <= node < ga.n and node < gb.n):
        raise ValueError(f"orientation_order: node {node} is not in both graphs. Fix: 0 <= node < {min(ga.n, gb.n)}.")
    moments_a, moments_b = _moments(ga, node, max_degree), _moments(gb, node, max_degree)
    for degree in range(1, max_degree + 1):
        if next(moments_a) != next(moments_b):
            return degree
    return None


def _moments(g: Exact, node: int, max_degree: int) -> Iterator[dict[Any, tuple]]:
    """For degree 1, 2, ...: per shell (interned squared norm), the sums of the solid harmonics of that degree."""
    f = g.field
    vecs = g.local(node)[0]
    norms = [f.dot(v, v) for v in vecs]
    powers = []  # per vector: powers of z, of |x|^2, and Re/Im of (x + i y)^m, up to max_degree
    for v, r2 in zip(vecs, norms):
        z_pow, r_pow, re_im = [f.one], [f.one], [(f.one, f.zero)]
        for _ in range(max_degree):
            re, im = re_im[-1]
            z_pow.append(z_pow[-1] * v[2])
            r_pow.append(r_pow[-1] * r2)
            re_im.append((re * v[0] - im * v[1], re * v[1] + im * v[0]))
        powers.append((z_pow, r_pow, re_im))
    for degree in range(1, max_degree + 1):
        radial_terms = _radial_terms(f, degree)
        shells: dict[int, list] = {}
        for r2, (z_pow, r_pow, re_im) in zip(norms, powers):
            values = []
            for m, terms in enumerate(radial_terms):
                radial = sum((c * z_pow[p] * r_pow[(degree - m - p) // 2] for p, c in terms), f.zero)
                values += [re_im[m][0] * radial] + ([re_im[m][1] * radial] if m else [])
            acc = shells.setdefault(f.intern(r2), [f.zero] * len(values))
            shells[f.intern(r2)] = [x + y for x, y in zip(acc, values)]
        yield {r2: tuple(f.intern(x) for x in vals) for r2, vals in shells.items()}


def _radial_terms(field: Field, degree: int) -> list[list[tuple[int, Any]]]:
    """For m = 0..degree, the terms ``(power of z, coefficient)`` of the m-th derivative of the Legendre polynomial
    ``P_degree``; homogenised with powers of ``|x|^2`` they give the z-part of the solid harmonics of order m."""
    t = sympy.Symbol("t")
    poly = sympy.Poly(sympy.legendre_poly(degree, t), t)
    out = []
    for _ in range(degree + 1):
        out.append([(p, field.element(c)) for (p,), c in poly.terms() if c != 0])
        poly = poly.diff(t)
    return out
