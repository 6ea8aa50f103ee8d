"""The point sets a search draws vertex subsets from, prepared once: exact and float coordinates, distance classes,
nearest neighbours and the symmetries that map subsets onto congruent copies."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import sympy

from counterexamples.algebra import Field
from counterexamples.distance_degenerate import SOURCES as _LI_SOURCES
from counterexamples.platonic import solid_vertices

__all__ = ["SOURCES", "PointSet", "prepared", "orbit_representatives"]


def _integer_points(points: list[tuple[int, int, int]]) -> list[list[sympy.Expr]]:
    """Integer points as exact coordinates, most zero coordinates first, then by decreasing absolute values and
    coordinates: ``(5, 0, 0), (-5, 0, 0), (0, 5, 0), ...``."""
    key = lambda p: (-p.count(0), [-abs(c) for c in p], [-c for c in p])  # noqa: E731
    return [[sympy.Integer(c) for c in p] for p in sorted(points, key=key)]


def _sphere(radius: int) -> list[list[sympy.Expr]]:
    """The integer points at distance ``radius`` from the origin, axis points first."""
    r = range(-radius, radius + 1)
    return _integer_points([p for p in itertools.product(r, r, r) if sum(c * c for c in p) == radius ** 2])


def _lattice() -> list[list[sympy.Expr]]:
    """The 26 neighbours of a cubic-lattice point, ``{-1, 0, 1}^3`` without the origin: the octahedron's 6 points,
    the cuboctahedron's 12 (edge midpoints of the cube) and the cube's 8, in that order."""
    r = (1, 0, -1)
    return _integer_points([p for p in itertools.product(r, r, r) if any(p)])


#: The point sets searched, each centred at the origin, in exact coordinates: the Platonic solids
#: (:func:`counterexamples.platonic.solid_vertices`), Li et al.'s two-solid unions
#: (:data:`counterexamples.distance_degenerate.SOURCES`: a cube with an octahedron, two cubes), the 26 neighbours of
#: a cubic-lattice point (where the library's 3-body star pair lives, scaled), and the 30 integer points of the
#: sphere of radius 5 (the six axis points and the permutations of (+-3, +-4, 0), where its 2-body star pair lives).
SOURCES: dict[str, list[list[sympy.Expr]]] = {
    **{s: [[sympy.sympify(c) for c in p] for p in solid_vertices(s)]
       for s in ("tetrahedron", "octahedron", "cube", "icosahedron", "dodecahedron")},
    "cube_octahedron": _LI_SOURCES["cube_octahedron"],
    "two_cubes": _LI_SOURCES["two_cubes"],
    "lattice26": _lattice(),
    "sphere5": _sphere(5),
}


#: Float tolerance for telling the (exact, well separated) values of a point set apart.
TOL = 1e-9


@dataclass
class PointSet:
    """A point set prepared for enumeration: exact and float coordinates (the origin appended last), classes of
    squared distances between any two points (origin included), its nearest-neighbour adjacency, and per group the
    lookup tables of its symmetries (:func:`_byte_tables`; under SO(3) the rotations only, so that mirror images
    stay apart)."""

    name: str
    exact: list[list[sympy.Expr]]
    pos: np.ndarray
    distance_class: np.ndarray
    nearest: np.ndarray
    tables: dict[str, np.ndarray]

    @classmethod
    def build(cls, name: str, exact: list[list[sympy.Expr]]) -> PointSet:
        pos = np.array([[float(sympy.N(c, 30)) for c in p] for p in exact] + [[0.0, 0.0, 0.0]])
        squared = ((pos[:, None, :] - pos[None, :, :]) ** 2).sum(-1)
        scale = max(squared.max(), 1.0)
        values = np.sort(squared.ravel())
        edges = values[1:][np.diff(values) > TOL * scale]  # the smallest value of each class but the first
        distance_class = np.searchsorted(edges, squared, side="right")
        n = len(exact)
        off = squared[:n, :n] + np.eye(n) * 2 * scale
        shortest = off.min()
        close = np.argwhere(np.triu(off <= shortest + TOL * scale))
        field = Field(extra=[c for p in exact for c in p])  # float shortlist, decided exactly in the number field
        exact_points = [tuple(field.element(c) for c in p) for p in exact]

        def square(i: int, j: int):  # an exact squared distance, a field element (canonical: == decides)
            offset = field.sub(exact_points[i], exact_points[j])
            return field.dot(offset, offset)

        exact_shortest = square(*close[0])
        nearest = np.zeros((n, n), dtype=bool)
        for i, j in close:
            if square(i, j) == exact_shortest:
                nearest[i, j] = nearest[j, i] = True
        symmetries, proper = _symmetries(pos[:n], scale)
        tables = {"O(3)": _byte_tables(symmetries), "SO(3)": _byte_tables(symmetries[proper])}
        return cls(name, exact, pos, distance_class, nearest, tables)


def _symmetries(pos: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """The orthogonal maps that permute the points, as permutations ``[g, n]`` (identity included), and which of
    them are rotations (determinant +1).

    A map fixing the origin is determined by the images of three independent points; each ordered triple with the
    same Gram matrix gives a candidate, kept when it maps the whole set onto itself. Used only to skip subsets
    congruent to earlier ones, so a missed symmetry costs time, never correctness.
    """
    n = len(pos)
    gram = pos @ pos.T
    basis = _independent(pos)
    if basis is None:  # flat sets: only the identity is used
        return np.arange(n)[None, :], np.array([True])
    target = gram[np.ix_(basis, basis)]
    inverse = np.linalg.inv(pos[basis].T)
    perms, proper = [], []
    for triple in itertools.permutations(range(n), 3):
        if np.abs(gram[np.ix_(triple, triple)] - target).max() > TOL * scale:
            continue
        rotation = pos[list(triple)].T @ inverse
        images = pos @ rotation.T
        gaps = ((images[:, None, :] - pos[None, :, :]) ** 2).sum(-1)
        perm = gaps.argmin(1)
        if gaps[np.arange(n), perm].max() <= TOL * scale and len(set(perm.tolist())) == n:
            perms.append(perm)
            proper.append(np.linalg.det(rotation) > 0)
    return np.array(perms), np.array(proper)


def _independent(pos: np.ndarray) -> list[int] | None:
    """Three points spanning space (the first found in index order), or ``None`` for a flat set."""
    for triple in itertools.combinations(range(len(pos)), 3):
        if abs(np.linalg.det(pos[list(triple)])) > 1e-6 * max(np.abs(pos).max(), 1.0) ** 3:
            return list(triple)
    return None


def _byte_tables(symmetries: np.ndarray) -> np.ndarray:
    """Lookup tables ``[g, byte, 256]``: the image under symmetry ``g`` of the vertices a byte of a bit mask holds."""
    g, n = symmetries.shape
    nbytes = (n + 7) // 8
    bits = (np.arange(256)[:, None] >> np.arange(8)) & 1
    padded = np.full((g, 8 * nbytes), -1)
    padded[:, :n] = symmetries
    tables = np.zeros((g, nbytes, 256), dtype=np.uint64)
    for b in range(nbytes):
        images = padded[:, 8 * b: 8 * b + 8]  # [g, 8]: where each vertex of this byte goes (-1: no vertex)
        weights = np.where(images >= 0, np.left_shift(np.uint64(1), np.maximum(images, 0).astype(np.uint64)),
                           np.uint64(0))
        tables[:, b, :] = (bits[None, :, :].astype(np.uint64) * weights[:, None, :]).sum(-1, dtype=np.uint64)
    return tables


def orbit_representatives(subsets: np.ndarray, tables: np.ndarray) -> np.ndarray:
    """The rows of ``subsets`` (sorted vertex indices) that come first in their orbit under the symmetries.

    A subset is a bit mask; its images under every symmetry come from byte lookup tables (:func:`_byte_tables`),
    and it is kept when its own mask is the smallest (so one subset per orbit survives, in enumeration order).
    """
    masks = np.bitwise_or.reduce(np.left_shift(np.uint64(1), subsets.astype(np.uint64)), axis=1)
    smallest = masks.copy()
    for table in tables:
        image = np.zeros_like(masks)
        for b, lookup in enumerate(table):
            image |= lookup[(masks >> np.uint64(8 * b)) & np.uint64(255)]
        np.minimum(smallest, image, out=smallest)
    return subsets[masks == smallest]


#: Point sets prepared once per process (symmetries and exact adjacency take a moment for the larger sets).
_PREPARED: dict[tuple[str, str], PointSet] = {}


def prepared(name: str, exact: list[list[sympy.Expr]]) -> PointSet:
    key = (name, repr(exact))
    if key not in _PREPARED:
        _PREPARED[key] = PointSet.build(name, exact)
    return _PREPARED[key]
