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
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import networkx
import numpy as np
import sympy
import torch
from torch_geometric.data import Data

from counterexamples.expr import parse_exact
from counterexamples.pair import GROUPS, TESTS, ExactGraph, Pair
from dojo.graphs import geometric_graph
from dojo.search.novelty import Known, match
from dojo.search.points import SOURCES, PointSet, orbit_representatives, prepared
from dojo.search.report import Found, SearchReport

__all__ = ["KINDS", "SOURCES", "MAX_NODES", "MAX_SUBSETS", "Found", "SearchReport", "search"]


#: The graph kinds a subset of vertices becomes.
KINDS: tuple[str, ...] = ("complete", "star", "radius")


#: The largest graph searched (nodes per graph; a star's centre counts): exact certification grows quickly beyond.
MAX_NODES = 12


#: Sizes of a point set with more subsets than this are skipped (and reported in ``SearchReport.skipped``).
MAX_SUBSETS = 2_000_000


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
        self.library = [Known(p.name, p.exact_a, p.exact_b) for p in library]
        self.earlier: list[Known] = []  # the pairs this search found, so that a congruent copy counts once
        self.start, self.limit, self.seconds = start, limit, seconds

    def stop(self) -> bool:
        """Whether the search must end now (and record why)."""
        if self.limit is not None and self.report.found >= self.limit:
            self.report.stopped = "limit"
        elif self.seconds is not None and time.perf_counter() - self.start > self.seconds:
            self.report.stopped = "seconds"
        return self.report.stopped is not None


def _graph_nodes_edges(points: PointSet, subset: Sequence[int], kind: str) -> tuple[list[int], list[tuple[int, int]]]:
    """A subset as a graph: its nodes (indices into the point set, the origin being index ``n``) and edges."""
    n = len(points.exact)
    if kind == "star":
        return [n, *subset], [(0, k) for k in range(1, len(subset) + 1)]
    if kind == "complete":
        return list(subset), list(itertools.combinations(range(len(subset)), 2))
    return list(subset), [(a, b) for a, b in itertools.combinations(range(len(subset)), 2)
                          if points.nearest[subset[a], subset[b]]]


def _connected(size: int, edges: list[tuple[int, int]]) -> bool:
    graph = networkx.Graph(edges)
    graph.add_nodes_from(range(size))
    return networkx.is_connected(graph)


def _bucket_key(points: PointSet, nodes: list[int], edges: list[tuple[int, int]], weaker: str) -> tuple:
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

    points: PointSet
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
    points = prepared(name, exact)
    subsets = np.array(list(itertools.combinations(range(len(exact)), chosen)), dtype=np.int64)
    report.subsets += total
    representatives = orbit_representatives(subsets, points.tables[report.group])
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
    candidate = Known(f"search-{report.kind}-{report.weaker}-{report.stronger}-{report.found + 1}", a, b)
    if match(candidate, hunt.earlier, report.group) is not None:
        report.duplicates += 1
        return
    name = candidate.name
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
        problem = None
    path = None
    if pair is not None and hunt.folder is not None:
        try:
            path = pair.save(hunt.folder / f"{name}.json")
        except ValueError as err:  # a coordinate the pair-file grammar cannot write (a point set of your own)
            problem = f"not written: {err}"
    hunt.earlier.append(candidate)
    report.results.append(Found(name, points.name, first.subset, other.subset, a, b, strong, pair, problem, path,
                                match(candidate, hunt.library, report.group)))
