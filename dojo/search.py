"""Search for new counterexamples: pairs that a weaker GWL-family test never separates and a stronger one does.

:func:`search` enumerates vertex subsets of symmetric point sets with exact coordinates -- the Platonic solids, the
two-solid unions of Li et al. (arXiv 2302.05743), the integer points of a sphere -- as Li et al. sample theirs,
turns each subset into a geometric graph of one kind, and looks for two non-congruent graphs of the same size that
the weaker test never separates and the stronger one does. Each candidate is confirmed by both tests in exact
arithmetic, certified (:func:`counterexamples.files.pair_from_graphs`: every claim computed by the exact tests, then
:func:`counterexamples.certify.certify`), compared with the library up to congruence and scale, and written as a
pair file.

The strategy, step by step (every step deterministic):

1. **Enumerate.** For each point set and each size, every subset of its vertices (``itertools.combinations``;
   sizes with more than :data:`MAX_SUBSETS` subsets are skipped and reported). A subset becomes a graph of the
   chosen ``kind``: ``"complete"`` (every pair of chosen vertices joined), ``"star"`` (the set's centre, the
   origin, joined to each chosen vertex, as in :mod:`counterexamples.bodyorder`) or ``"radius"`` (chosen vertices
   joined when they are nearest neighbours in the point set, i.e. closer than or at its shortest distance, decided
   exactly; only connected graphs). One node type throughout.
2. **Up to symmetry.** Subsets that a symmetry of the point set maps onto each other give congruent graphs, so
   only the first subset of each orbit is kept (a symmetry permutes the vertices; orbits are found by bit masks).
3. **Bucket.** Every test from IGWL_(2) up refines distance colour refinement at iteration 1, so two graphs the
   weaker test never separates have the same multiset, over nodes, of sorted neighbour distances (for WL: the same
   degrees). Graphs are bucketed by it; only buckets of two or more graphs go on.
4. **Screen in floats.** Inside a bucket the graphs are split into classes the weaker test does not separate
   (:func:`dojo.gwl.distinguish` on float64 views, each graph against one representative per class), and each
   class into classes the stronger test does not separate. Every two stronger classes inside one weaker class
   hold a candidate; the search keeps, per weaker class, its first stronger class paired with each of the others
   (every other candidate of the class is then implied).
5. **Certify.** Both tests rerun in exact arithmetic (a candidate is *found* when the weaker never separates and
   the stronger does), then :func:`~counterexamples.files.pair_from_graphs` computes every claim exactly and
   :func:`~counterexamples.certify.certify` must accept the pair (*certified*), which is written with
   :meth:`Pair.save <counterexamples.pair.Pair.save>`. A found pair that fails certification is reported with the
   failing checks and not written.
6. **Novelty.** A confirmed candidate equal to a pair found earlier in the same search (from another point set:
   the cube's vertices lie in the cube + octahedron too) counts once. A found pair is *in the library* when both
   of its graphs are congruent (under the search's group) to those of a library pair after one common scaling
   (cheap float checks first, then :func:`counterexamples.certify.congruence` exactly); otherwise it is new.

Examples
--------
>>> import tempfile
>>> from dojo.search import search
>>> report = search("igwl-2", "igwl-3", kind="star", max_nodes=3, sources=["sphere5"],
...                 out=tempfile.mkdtemp(), progress=False)
>>> report.certified > 0, any(f.library == "bodyorder-2" for f in report.results)
(True, True)
"""

from __future__ import annotations

import itertools
import math
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import sympy
import torch
from torch_geometric.data import Data

from counterexamples.distance_degenerate import SOURCES as _LI_SOURCES
from counterexamples.expr import parse_exact
from counterexamples.pair import GROUPS, TESTS, ExactGraph, Pair
from counterexamples.platonic import solid_vertices
from dojo.graphs import geometric_graph

__all__ = ["KINDS", "SOURCES", "MAX_NODES", "MAX_SUBSETS", "Found", "SearchReport", "search"]

#: The graph kinds a subset of vertices becomes.
KINDS: tuple[str, ...] = ("complete", "star", "radius")
#: The largest graph searched (nodes per graph; a star's centre counts): exact certification grows quickly beyond.
MAX_NODES = 12
#: Sizes of a point set with more subsets than this are skipped (and reported in ``SearchReport.skipped``).
MAX_SUBSETS = 2_000_000


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
_TOL = 1e-9


@dataclass(frozen=True, eq=False)
class Found:
    """One pair the weaker test never separates and the stronger does, confirmed in exact arithmetic.

    ``vertices_a`` and ``vertices_b`` index the point set ``source``; ``stronger_iteration`` is the first iteration
    at which the stronger test separates the pair (exact). ``pair`` is the certified pair (``None`` when
    certification failed: ``problem`` says why), ``path`` the pair file written (``None`` when nothing was written:
    no ``out``, not certified, or ``problem`` says why), ``library`` the name of the library pair it equals up to
    congruence and scale (``None``: new).
    """

    name: str
    source: str
    vertices_a: tuple[int, ...]
    vertices_b: tuple[int, ...]
    exact_a: ExactGraph
    exact_b: ExactGraph
    stronger_iteration: int
    pair: Pair | None
    problem: str | None
    path: Path | None
    library: str | None

    @property
    def certified(self) -> bool:
        return self.pair is not None

    @property
    def nodes(self) -> int:
        return self.exact_a.num_nodes


@dataclass
class SearchReport:
    """What a :func:`search` did and found.

    Counts: ``subsets`` enumerated, ``tried`` float comparisons of two graphs (weaker or stronger test),
    ``screened`` candidate pairs that passed the float screen, ``duplicates`` confirmed candidates equal (up to
    congruence and scale) to a pair found earlier in the search, from another point set or size, and not counted
    again; ``found`` pairs confirmed by both tests in exact arithmetic, ``certified`` found pairs that
    :func:`~counterexamples.certify.certify` accepts (those are written).
    ``stopped`` says why the search ended early (``"limit"``, ``"seconds"``) or is ``None`` when it covered
    everything; ``skipped`` lists (point set, size) combinations with more than :data:`MAX_SUBSETS` subsets.
    """

    weaker: str
    stronger: str
    kind: str
    group: str
    subsets: int = 0
    tried: int = 0
    screened: int = 0
    duplicates: int = 0
    found: int = 0
    certified: int = 0
    elapsed: float = 0.0
    results: list[Found] = field(default_factory=list)
    skipped: list[tuple[str, int]] = field(default_factory=list)
    stopped: str | None = None

    @property
    def pairs(self) -> list[Pair]:
        """The certified pairs."""
        return [f.pair for f in self.results if f.pair is not None]

    @property
    def paths(self) -> list[Path]:
        """The pair files written."""
        return [f.path for f in self.results if f.path is not None]

    @property
    def new(self) -> list[Found]:
        """Found pairs that the library does not have."""
        return [f for f in self.results if f.library is None]

    def per_minute(self) -> dict[str, float]:
        """Candidates tried, found and certified per minute of wall time."""
        minutes = max(self.elapsed, 1e-9) / 60
        return {"tried": self.tried / minutes, "found": self.found / minutes, "certified": self.certified / minutes}

    def table(self) -> list[list[str]]:
        """One row per found pair: name, nodes, source and vertices, iterations, certified, novelty, file."""
        return [[f.name, str(f.nodes), f"{f.source} {list(f.vertices_a)} / {list(f.vertices_b)}", "never",
                 str(f.stronger_iteration), "yes" if f.certified else f"no: {f.problem}",
                 f.library or "new", str(f.path) if f.path else (f.problem if f.certified and f.problem else "-")]
                for f in self.results]

    def summary(self) -> str:
        """One line: the setting, the counts and the rates."""
        rate = self.per_minute()
        end = {None: "complete", "limit": "stopped at the limit", "seconds": "stopped at the time limit"}[self.stopped]
        return (f"{self.weaker} vs {self.stronger} [{self.group}], {self.kind} graphs: {self.subsets} subsets, "
                f"{self.tried} tried, {self.screened} screened, {self.duplicates} duplicates, {self.found} found, "
                f"{self.certified} certified, {len(self.new)} new, in {self.elapsed:.1f} s ({rate['tried']:.0f} "
                f"tried, {rate['found']:.1f} found, {rate['certified']:.1f} certified per minute; {end})")


def search(weaker: str, stronger: str, kind: str = "complete", max_nodes: int = 6, group: str = "O(3)", *,
           sources: Sequence[str] | Mapping[str, Sequence[Sequence[object]]] | None = None, min_nodes: int = 3,
           limit: int | None = None, seconds: float | None = None, out: str | os.PathLike | None = "search-results",
           library: Sequence[Pair] | None = None, progress: bool = True) -> SearchReport:
    """Find and certify pairs of graphs that ``weaker`` never separates and ``stronger`` does.

    Parameters
    ----------
    weaker, stronger : str
        Tests from :data:`counterexamples.TESTS`, ``weaker`` before ``stronger`` (e.g. ``"igwl-2"``, ``"igwl-3"``).
    kind : "complete", "star" or "radius"
        The graph a subset of vertices becomes (see the module docstring).
    max_nodes, min_nodes : int
        Sizes searched, in nodes per graph (a star's centre counts): ``3 <= min_nodes <= max_nodes <=``
        :data:`MAX_NODES`. Smaller sizes are searched first.
    group : "O(3)" or "SO(3)"
        The group of both tests and of the novelty comparison.
    sources : names or a mapping, optional
        The point sets: names from :data:`SOURCES` (default: all of them), or your own ``{name: points}`` with
        exact coordinates (sympy numbers, integers or strings sympy reads), centred at the origin for stars.
    limit : int, optional
        Stop after this many found pairs.
    seconds : float, optional
        Stop starting new work after this many seconds (the pair in hand is finished).
    out : path or None
        The folder the certified pairs are written to, as ``<name>.json`` (created if needed); ``None`` writes
        nothing.
    library : sequence of Pair, optional
        The pairs novelty is judged against (default: :func:`counterexamples.pairs`, the library's default
        instances).
    progress : bool
        Print a line per point set and size to stderr.

    Returns
    -------
    SearchReport
        The counts, the found pairs (:class:`Found`) and the files written.

    Raises
    ------
    ValueError
        For unknown tests, a ``weaker`` test not before ``stronger``, an unknown kind, group or point set, sizes
        out of range, or a non-positive ``limit`` or ``seconds``; each message names the fix.
    """
    points = _check(weaker, stronger, kind, group, min_nodes, max_nodes, sources, limit, seconds)
    if library is None:
        import counterexamples

        library = counterexamples.pairs()
    folder = None if out is None else Path(out)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    report = SearchReport(weaker, stronger, kind, group)
    start = time.perf_counter()
    hunt = _Hunt(report, library, folder, start, limit, seconds)
    for size, (name, pts) in itertools.product(range(min_nodes, max_nodes + 1), points.items()):
        if hunt.stop():
            break
        found_before = report.found
        counts = _search_set(hunt, name, pts, size)
        if progress and counts is not None:
            print(f"search {weaker} vs {stronger} [{group}] {kind}: {name}, {size} nodes: {counts[0]} subsets, "
                  f"{counts[1]} up to symmetry, {counts[2]} in shared buckets; {report.found - found_before} "
                  f"found ({time.perf_counter() - start:.1f} s)", file=sys.stderr)
    report.elapsed = time.perf_counter() - start
    return report


def _check(weaker: str, stronger: str, kind: str, group: str, min_nodes: int, max_nodes: int,
           sources: Sequence[str] | Mapping[str, Sequence[Sequence[object]]] | None, limit: int | None,
           seconds: float | None) -> dict[str, list[list[sympy.Expr]]]:
    """Validate the arguments of :func:`search` and return the point sets, in exact coordinates."""
    for test in (weaker, stronger):
        if test not in TESTS:
            raise ValueError(f"search: unknown test {test!r}. Fix: one of {TESTS}.")
    if TESTS.index(weaker) >= TESTS.index(stronger):
        raise ValueError(f"search: the weaker test {weaker!r} must come before the stronger test {stronger!r} in "
                         f"{TESTS} (each refines the one before it). Fix: swap them, or pick a stronger test.")
    if kind not in KINDS:
        raise ValueError(f"search: unknown kind {kind!r}. Fix: one of {KINDS}.")
    if group not in GROUPS:
        raise ValueError(f"search: unknown group {group!r}. Fix: one of {GROUPS}.")
    for label, value in (("min_nodes", min_nodes), ("max_nodes", max_nodes)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"search: {label} must be an int, got {value!r}. Fix: e.g. {label}=6.")
    if not 3 <= min_nodes <= max_nodes <= MAX_NODES:
        raise ValueError(f"search: sizes min_nodes={min_nodes}, max_nodes={max_nodes} out of range. Fix: "
                         f"3 <= min_nodes <= max_nodes <= {MAX_NODES} (smaller graphs have no counterexamples worth "
                         "the name; larger ones take too long to certify exactly).")
    for label, value in (("limit", limit), ("seconds", seconds)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0):
            raise ValueError(f"search: {label} must be positive, got {value!r}. Fix: leave it out, or e.g. "
                             f"{label}=10.")
    if sources is None:
        return dict(SOURCES)
    if isinstance(sources, str):
        raise ValueError(f"search: sources must be a list of names, got the string {sources!r}. "
                         f"Fix: sources=[{sources!r}].")
    if isinstance(sources, Mapping):
        chosen = {}
        for name, pts in sources.items():
            try:
                rows = [[parse_exact(c) if isinstance(c, str) else sympy.sympify(c, strict=True) for c in p]
                        for p in pts]
                graph = ExactGraph(sympy.Matrix(rows), [], [0] * len(rows))
            except (ValueError, TypeError, sympy.SympifyError) as err:
                raise ValueError(f"search: point set {name!r}: {err}") from None
            if not 2 <= graph.num_nodes <= 64:
                raise ValueError(f"search: point set {name!r} has {graph.num_nodes} points. Fix: give 2 to 64 "
                                 "points.")
            if kind == "star" and any(all(c == 0 for c in row) for row in rows):
                raise ValueError(f"search: point set {name!r} contains the origin, the centre of every star. "
                                 "Fix: leave the origin out for kind='star'.")
            chosen[str(name)] = graph.coords.tolist()
        return chosen
    unknown = [s for s in sources if s not in SOURCES]
    if unknown or not sources:
        raise ValueError(f"search: unknown point sets {unknown or sources!r}. Fix: names from {list(SOURCES)}, or "
                         "a mapping {name: exact points} of your own.")
    return {s: SOURCES[s] for s in sources}


class _Hunt:
    """The state one :func:`search` shares between point sets: the report, the clock, the library, the output."""

    def __init__(self, report: SearchReport, library: Sequence[Pair], folder: Path | None, start: float,
                 limit: int | None, seconds: float | None) -> None:
        self.report, self.folder = report, folder
        self.library = [_Known(p.name, p.exact_a, p.exact_b) for p in library]
        self.earlier: list[_Known] = []  # the pairs this search found, so that a congruent copy counts once
        self.start, self.limit, self.seconds = start, limit, seconds

    def stop(self) -> bool:
        """Whether the search must end now (and record why)."""
        if self.limit is not None and self.report.found >= self.limit:
            self.report.stopped = "limit"
        elif self.seconds is not None and time.perf_counter() - self.start > self.seconds:
            self.report.stopped = "seconds"
        return self.report.stopped is not None


@dataclass
class _PointSet:
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
    def build(cls, name: str, exact: list[list[sympy.Expr]]) -> _PointSet:
        pos = np.array([[float(sympy.N(c, 30)) for c in p] for p in exact] + [[0.0, 0.0, 0.0]])
        squared = ((pos[:, None, :] - pos[None, :, :]) ** 2).sum(-1)
        scale = max(squared.max(), 1.0)
        values = np.sort(squared.ravel())
        edges = values[1:][np.diff(values) > _TOL * scale]  # the smallest value of each class but the first
        distance_class = np.searchsorted(edges, squared, side="right")
        n = len(exact)
        off = squared[:n, :n] + np.eye(n) * 2 * scale
        shortest = off.min()
        close = np.argwhere(np.triu(off <= shortest + _TOL * scale))
        exact_shortest = _exact_square(exact, *close[0])
        nearest = np.zeros((n, n), dtype=bool)
        for i, j in close:  # float shortlist, decided exactly
            if sympy.simplify(_exact_square(exact, i, j) - exact_shortest) == 0:
                nearest[i, j] = nearest[j, i] = True
        symmetries, proper = _symmetries(pos[:n], scale)
        tables = {"O(3)": _byte_tables(symmetries), "SO(3)": _byte_tables(symmetries[proper])}
        return cls(name, exact, pos, distance_class, nearest, tables)


def _exact_square(points: list[list[sympy.Expr]], i: int, j: int) -> sympy.Expr:
    return sympy.expand(sum((a - b) ** 2 for a, b in zip(points[i], points[j])))


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
        if np.abs(gram[np.ix_(triple, triple)] - target).max() > _TOL * scale:
            continue
        rotation = pos[list(triple)].T @ inverse
        images = pos @ rotation.T
        gaps = ((images[:, None, :] - pos[None, :, :]) ** 2).sum(-1)
        perm = gaps.argmin(1)
        if gaps[np.arange(n), perm].max() <= _TOL * scale and len(set(perm.tolist())) == n:
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


def _orbit_representatives(subsets: np.ndarray, tables: np.ndarray) -> np.ndarray:
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


def _graph_nodes_edges(points: _PointSet, subset: Sequence[int], kind: str) -> tuple[list[int], list[tuple[int, int]]]:
    """A subset as a graph: its nodes (indices into the point set, the origin being index ``n``) and edges."""
    n = len(points.exact)
    if kind == "star":
        return [n, *subset], [(0, k) for k in range(1, len(subset) + 1)]
    if kind == "complete":
        return list(subset), list(itertools.combinations(range(len(subset)), 2))
    return list(subset), [(a, b) for a, b in itertools.combinations(range(len(subset)), 2)
                          if points.nearest[subset[a], subset[b]]]


def _connected(size: int, edges: list[tuple[int, int]]) -> bool:
    reached, frontier = {0}, [0]
    while frontier:
        i = frontier.pop()
        for a, b in edges:
            for x, y in ((a, b), (b, a)):
                if x == i and y not in reached:
                    reached.add(y)
                    frontier.append(y)
    return len(reached) == size


def _bucket_key(points: _PointSet, nodes: list[int], edges: list[tuple[int, int]], weaker: str) -> tuple:
    """A necessary condition for ``weaker`` never separating two graphs: equal sorted degrees (WL) or, from
    IGWL_(2) up, equal multisets over nodes of sorted neighbour squared-distance classes."""
    rows: list[list[int]] = [[] for _ in nodes]
    for a, b in edges:
        value = -1 if weaker == "wl" else int(points.distance_class[nodes[a], nodes[b]])
        rows[a].append(value)
        rows[b].append(value)
    return tuple(sorted(tuple(sorted(r)) for r in rows))


@dataclass(eq=False)
class _Candidate:
    """A subset of a point set as a graph: ``nodes`` index the point set (the origin is index ``n``)."""

    points: _PointSet
    subset: tuple[int, ...]
    nodes: list[int]
    edges: list[tuple[int, int]]

    @cached_property
    def graph(self) -> Data:
        """The float64 view, for the screen."""
        return geometric_graph(self.points.pos[self.nodes], self.edges, dtype=torch.float64)

    @cached_property
    def exact(self) -> ExactGraph:
        """The graph in the point set's exact coordinates."""
        zero = [sympy.Integer(0)] * 3
        n = len(self.points.exact)
        coords = [self.points.exact[i] if i < n else zero for i in self.nodes]
        return ExactGraph(sympy.Matrix(coords), self.edges, [0] * len(self.nodes))


def _search_set(hunt: _Hunt, name: str, exact: list[list[sympy.Expr]], size: int) -> tuple[int, int, int] | None:
    """Search one point set at one size; returns (subsets, up to symmetry, in shared buckets), or ``None`` when the
    size does not fit the set."""
    report = hunt.report
    chosen = size - 1 if report.kind == "star" else size
    if chosen > len(exact) or chosen < 2:
        return None
    total = math.comb(len(exact), chosen)
    if total > MAX_SUBSETS:
        report.skipped.append((name, size))
        return None
    points = _prepared(name, exact)
    subsets = np.array(list(itertools.combinations(range(len(exact)), chosen)), dtype=np.int64)
    report.subsets += total
    representatives = _orbit_representatives(subsets, points.tables[report.group])
    buckets: dict[tuple, list[_Candidate]] = {}
    for subset in representatives.tolist():
        nodes, edges = _graph_nodes_edges(points, subset, report.kind)
        if report.kind == "radius" and not _connected(size, edges):
            continue
        key = _bucket_key(points, nodes, edges, report.weaker)
        buckets.setdefault(key, []).append(_Candidate(points, tuple(subset), nodes, edges))
    shared = [b for b in buckets.values() if len(b) > 1]
    for bucket in shared:
        for first, other in _screen(hunt, bucket):
            if hunt.stop():
                return total, len(representatives), sum(map(len, shared))
            _confirm(hunt, first, other)
    return total, len(representatives), sum(map(len, shared))


#: Point sets prepared once per process (symmetries and exact adjacency take a moment for the larger sets).
_PREPARED: dict[tuple[str, str], _PointSet] = {}


def _prepared(name: str, exact: list[list[sympy.Expr]]) -> _PointSet:
    key = (name, repr(exact))
    if key not in _PREPARED:
        _PREPARED[key] = _PointSet.build(name, exact)
    return _PREPARED[key]


def _screen(hunt: _Hunt, bucket: list[_Candidate]) -> list[tuple[_Candidate, _Candidate]]:
    """Float screen of one bucket: classes the weaker test does not separate, split by the stronger test; each weaker
    class yields its first stronger class paired with each of the others."""
    report = hunt.report
    candidates = []
    for weak_class in _classes(hunt, bucket, report.weaker):
        strong_classes = _classes(hunt, weak_class, report.stronger) if len(weak_class) > 1 else [weak_class]
        candidates += [(strong_classes[0][0], c[0]) for c in strong_classes[1:]]
    report.screened += len(candidates)
    return candidates


def _classes(hunt: _Hunt, graphs: list[_Candidate], test: str) -> list[list[_Candidate]]:
    """Split ``graphs`` into classes that ``test`` does not separate (each graph compared with one member per
    class, in float64)."""
    from dojo.gwl import PrecisionError, distinguish

    classes: list[list[_Candidate]] = []
    for c in graphs:
        if hunt.stop():
            break
        for cls in classes:
            hunt.report.tried += 1
            try:
                separated = distinguish(c.graph, cls[0].graph, test=test, group=hunt.report.group).distinguished
            except PrecisionError:  # too close to call in floats: let exact arithmetic decide
                separated = distinguish(c.exact, cls[0].exact, test=test, group=hunt.report.group,
                                        exact=True).distinguished
            if not separated:
                cls.append(c)
                break
        else:
            classes.append([c])
    return classes


def _confirm(hunt: _Hunt, first: _Candidate, other: _Candidate) -> None:
    """Confirm a candidate in exact arithmetic, certify it, judge its novelty and write it."""
    from counterexamples.files import pair_from_graphs
    from dojo.gwl import distinguish

    report = hunt.report
    points, a, b = first.points, first.exact, other.exact
    weak = distinguish(a, b, test=report.weaker, group=report.group, exact=True).iteration
    strong = distinguish(a, b, test=report.stronger, group=report.group, exact=True).iteration
    if weak is not None or strong is None:
        return
    if _match(a, b, hunt.earlier, report.group) is not None:
        report.duplicates += 1
        return
    report.found += 1
    name = f"search-{report.kind}-{report.weaker}-{report.stronger}-{report.found}"
    vertices = f"vertices {list(first.subset)} and {list(other.subset)}"
    shape = {"complete": "complete graphs on", "star": "stars from the origin to",
             "radius": "nearest-neighbour graphs on"}[report.kind]
    try:
        pair = pair_from_graphs(
            a, b, name=name, family="search",
            params={"source": points.name, "kind": report.kind, "vertices_a": list(first.subset),
                    "vertices_b": list(other.subset)},
            description=f"{shape} {vertices} of the {points.name.replace('_', ' + ')}: {report.weaker} never "
                        f"separates them under {report.group}, {report.stronger} at iteration {strong}",
            reference=f"found by dojo.search (vertex subsets of symmetric point sets, as Li et al., arXiv "
                      f"2302.05743, sample theirs): search({report.weaker!r}, {report.stronger!r}, "
                      f"kind={report.kind!r}, group={report.group!r}, sources=[{points.name!r}])")
    except ValueError as err:
        pair, problem = None, str(err)
    else:
        report.certified += 1
        problem = None
    path = None
    if pair is not None and hunt.folder is not None:
        try:
            path = pair.save(hunt.folder / f"{name}.json")
        except ValueError as err:  # a coordinate the pair-file grammar cannot write (a point set of your own)
            problem = f"not written: {err}"
    hunt.earlier.append(_Known(name, a, b))
    report.results.append(Found(name, points.name, first.subset, other.subset, a, b, strong, pair, problem, path,
                                _match(a, b, hunt.library, report.group)))


class _Known:
    """A known pair (the library's, or one found earlier in the search) and its float shape, for :func:`_match`."""

    def __init__(self, name: str, a: ExactGraph, b: ExactGraph) -> None:
        self.name, self.a, self.b, self.shape = name, a, b, _shape(a, b)


def _match(a: ExactGraph, b: ExactGraph, known: Sequence[_Known], group: str) -> str | None:
    """The name of a known pair equal to ``(a, b)`` (either order) up to congruence under ``group`` and one
    common scaling, or ``None``. Cheap float checks first (sizes, types, degrees, all squared distances relative to
    the largest), then :func:`counterexamples.certify.congruence` on the scaled graphs, exactly."""
    from counterexamples.certify import congruence

    for pair in known:
        p, q = pair.a, pair.b
        for x, y in ((a, b), (b, a)):
            if not _same_shape(_shape(x, y), pair.shape):
                continue
            factor = sympy.sqrt(sympy.radsimp(_diameter(p, q) / _diameter(x, y)))
            if factor != 1:
                x, y = (ExactGraph((g.coords * factor).applyfunc(sympy.radsimp), g.edges, g.types) for g in (x, y))
            if congruence(x, p, group) is not None and congruence(y, q, group) is not None:
                return pair.name
    return None


def _squares(graph: ExactGraph) -> np.ndarray:
    """All squared distances between two nodes of ``graph`` (float64), row by row."""
    pos = graph.graph(torch.float64).pos.numpy()
    return ((pos[:, None, :] - pos[None, :, :]) ** 2).sum(-1)


def _shape(x: ExactGraph, y: ExactGraph) -> list[tuple]:
    """Per graph: node count, sorted types and degrees, and sorted squared distances over the largest of both."""
    squares = [_squares(x), _squares(y)]
    scale = max(max(s.max() for s in squares), 1e-300)
    return [(g.num_nodes, sorted(g.types), sorted(sum(k in e for e in g.edges) for k in range(g.num_nodes)),
             np.sort(s.ravel()) / scale) for g, s in zip((x, y), squares)]


def _same_shape(mine: list[tuple], theirs: list[tuple]) -> bool:
    return all(m[:3] == t[:3] and np.allclose(m[3], t[3], rtol=0, atol=1e-9) for m, t in zip(mine, theirs))


def _diameter(x: ExactGraph, y: ExactGraph) -> sympy.Expr:
    """The largest squared distance between two nodes of one of the graphs (chosen in floats, computed exactly)."""
    graph = max((x, y), key=lambda g: _squares(g).max())
    i, j = np.unravel_index(int(_squares(graph).argmax()), (graph.num_nodes, graph.num_nodes))
    return sympy.expand(sum((graph.coords[i, c] - graph.coords[j, c]) ** 2 for c in range(3)))
