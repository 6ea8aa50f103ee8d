"""Congruence: a node permutation plus a rigid motion of the group taking one graph onto the other, found and
verified exactly."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sympy
from torch_geometric.data import Data

from counterexamples.algebra import Field, Vector
from counterexamples.certify.exact import as_exact, check_group, exact_pair
from counterexamples.certify.matching import match
from counterexamples.pair import ExactGraph

__all__ = ["Congruence", "congruence"]


@dataclass(frozen=True)
class Congruence:
    """A verified rigid motion taking ``a`` onto ``b``: node ``i`` of ``a`` goes to node ``permutation[i]`` of ``b``
    at ``rotation @ a_i + translation`` (exact sympy matrices); ``proper`` when ``det(rotation) = +1``."""

    permutation: tuple[int, ...]
    rotation: sympy.ImmutableMatrix
    translation: sympy.ImmutableMatrix
    proper: bool


def congruence(a: ExactGraph | Data, b: ExactGraph | Data, group: str = "O(3)") -> Congruence | None:
    """Find and verify, exactly, a rigid motion of ``group`` plus a node permutation that maps ``a`` onto ``b``.

    Both graphs are centred on their centroids; a VF2 search (networkx) over permutations that respect types and
    edges is pruned by the Gram matrix of the centred positions (two configurations with equal Gram matrices differ
    by an orthogonal map), and under SO(3) by handedness. The orthogonal map is then solved from a spanning set of
    points (completed by cross products or a Householder reflection when the points are coplanar or collinear) and
    checked exactly: orthogonal, proper when SO(3) is asked, and mapping every node onto its image.

    Parameters
    ----------
    a, b : ExactGraph or Data
    group : "O(3)" or "SO(3)"

    Returns
    -------
    Congruence or None
        The certificate, or ``None`` when no motion of the group maps ``a`` onto ``b``.

    Examples
    --------
    >>> from counterexamples import load
    >>> pair = load("chiral", variant="tetrahedral")   # a molecule and its mirror image
    >>> congruence(pair.exact_a, pair.exact_b, "O(3)").proper, congruence(pair.exact_a, pair.exact_b, "SO(3)")
    (False, None)
    """
    return _congruence(as_exact(a), as_exact(b), group)


@lru_cache(maxsize=128)
def _congruence(a: ExactGraph, b: ExactGraph, group: str) -> Congruence | None:
    """:func:`congruence`, once per pair of graph objects and group: a pair built from a file or by a builder asks
    it when its congruences are computed and again when they are certified."""
    so3 = check_group(group)
    ga, gb = exact_pair(a, b)
    if ga.n != gb.n or len(ga.edges) != len(gb.edges):
        return None
    field = ga.field
    (va, gram_a), (vb, gram_b) = ga.centred, gb.centred
    mapping = match(field, va, ga.types, gram_a, vb, gb.types, gram_b, so3, (ga.nx, gb.nx))
    if mapping is None:
        return None
    images = [vb[mapping[i]] for i in range(ga.n)]
    rotation = _orthogonal_map(field, va, images, proper=so3)
    _verify_orthogonal(field, rotation, va, images, proper=so3)
    inv_n = field.element(sympy.Rational(1, ga.n))
    ca = tuple(sum((p[c] for p in ga.points), field.zero) * inv_n for c in range(3))
    cb = tuple(sum((p[c] for p in gb.points), field.zero) * inv_n for c in range(3))
    translation = field.sub(cb, apply(rotation, ca))
    return Congruence(
        permutation=tuple(mapping[i] for i in range(ga.n)),
        rotation=sympy.ImmutableMatrix(3, 3, [field.sympy(x) for row in rotation for x in row]),
        translation=sympy.ImmutableMatrix([field.sympy(x) for x in translation]),
        proper=_det3(field, rotation) == field.one,
    )


Matrix3 = list[list[Any]]


def apply(m: Matrix3, v: Vector) -> Vector:
    return tuple(m[r][0] * v[0] + m[r][1] * v[1] + m[r][2] * v[2] for r in range(3))


def _columns(cols: Sequence[Vector]) -> Matrix3:
    return [[cols[c][r] for c in range(3)] for r in range(3)]


def _det3(field: Field, m: Matrix3) -> Any:
    return field.det(*[tuple(m[r][c] for r in range(3)) for c in range(3)])


def _reflection(field: Field, w: Vector) -> Matrix3:
    """The Householder reflection ``I - 2 w w^T / (w . w)`` (exact, in the field)."""
    two_over = field.element(2) / field.dot(w, w)
    return [[(field.one if r == c else field.zero) - two_over * w[r] * w[c] for c in range(3)] for r in range(3)]


def _orthogonal_map(field: Field, src: Sequence[Vector], dst: Sequence[Vector], proper: bool) -> Matrix3:
    """An orthogonal matrix ``R`` with ``R src_i = dst_i`` for all i, assuming equal Gram matrices; proper if asked."""
    f = field
    identity = [[f.one if r == c else f.zero for c in range(3)] for r in range(3)]
    basis = f.basis(src)
    if not basis:
        return identity
    if len(basis) == 1:
        u, v = src[basis[0]], dst[basis[0]]
        rot = identity if u == v else _reflection(f, f.sub(u, v))
        if proper and _det3(f, rot) != f.one:
            # a second reflection, in a plane containing v, fixes v and makes the map proper
            axis = next(e for e in ((f.one, f.zero, f.zero), (f.zero, f.one, f.zero), (f.zero, f.zero, f.one))
                        if not f.is_zero(f.cross(v, e)))
            rot = _matmul(f, _reflection(f, f.cross(v, axis)), rot)
        return rot
    i, j = basis[:2]
    a_cols = [src[i], src[j], src[basis[2]] if len(basis) == 3 else f.cross(src[i], src[j])]
    b_cols = [dst[i], dst[j], dst[basis[2]] if len(basis) == 3 else f.cross(dst[i], dst[j])]
    rot = _solve(f, _columns(b_cols), a_cols)
    if proper and len(basis) == 2 and _det3(f, rot) != f.one:
        b_cols[2] = f.scale(-f.one, b_cols[2])
        rot = _solve(f, _columns(b_cols), a_cols)
    return rot


def _solve(field: Field, b: Matrix3, a_cols: Sequence[Vector]) -> Matrix3:
    """``B A^-1`` for ``A`` with columns ``a_cols``: the rows of ``A^-1`` are the cross products of its columns."""
    det = field.det(*a_cols)
    inv_rows = [field.cross(a_cols[1], a_cols[2]), field.cross(a_cols[2], a_cols[0]), field.cross(a_cols[0], a_cols[1])]
    inv = [[x / det for x in row] for row in inv_rows]
    return _matmul(field, b, inv)


def _matmul(field: Field, x: Matrix3, y: Matrix3) -> Matrix3:
    return [[sum((x[r][k] * y[k][c] for k in range(3)), field.zero) for c in range(3)] for r in range(3)]


def is_orthogonal(field: Field, rot: Matrix3) -> bool:
    """Whether the columns of ``rot`` (field elements, row-major) are orthonormal, exactly."""
    cols = [tuple(rot[r][c] for r in range(3)) for c in range(3)]
    return all(field.dot(cols[p], cols[q]) == (field.one if p == q else field.zero) for p in range(3) for q in range(3))


def _verify_orthogonal(field: Field, rot: Matrix3, src: Sequence[Vector], dst: Sequence[Vector], proper: bool) -> None:
    """Exact check of the congruence certificate; failing it would be a bug in the search, not a property."""
    maps = all(apply(rot, u) == v for u, v in zip(src, dst))
    if not (is_orthogonal(field, rot) and maps and (not proper or _det3(field, rot) == field.one)):
        raise RuntimeError("congruence: the solved map failed exact verification (internal error).")
