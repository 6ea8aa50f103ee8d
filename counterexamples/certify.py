"""Exact certification of a pair's defining properties, independent of the GWL tests (``dojo.gwl``).

Everything here works in exact arithmetic (one algebraic number field per pair, :mod:`counterexamples.algebra`)
on two :class:`~counterexamples.pair.ExactGraph` objects -- the library's or your own (a float ``Data`` graph is
accepted too and taken *exactly*: every float is a binary fraction).

* :func:`k_body_multisets` -- per graph, the multiset over nodes of (node type, multiset over all ordered
  (k-1)-tuples of neighbours, repetition allowed, of the tuple's invariant class): neighbour types, the Gram matrix
  of the vectors ``x_j - x_i`` and, under SO(3), the signs of their triple products. A Gram matrix is a complete
  O(3) invariant of an ordered configuration; adding the orientation makes it complete for SO(3). This is exactly
  the information of IGWL_(k) at iteration 1.
* :func:`neighbourhood_counts` -- the multiset over nodes of the class, up to the group, of the whole coloured
  neighbourhood: the information of IGWL and GWL at iteration 1.
* :func:`wl_separation` -- exact colour refinement of the typed graphs (no geometry), for the WL claims.
* :func:`congruence` -- a permutation (respecting types and edges) plus an orthogonal map (proper for SO(3)) that
  takes ``a`` onto ``b``, found by search with pruning and verified exactly; ``None`` when there is none.
* :func:`local_isomorphism` -- a graph isomorphism under which every node's neighbourhood is congruent to its
  image's (with matching neighbours): a certificate that no invariant test (WL, IGWL_(k), IGWL) ever separates.
* :func:`maps_onto`, :func:`is_symmetry` and :func:`orientation_order` -- a given motion, rotational symmetry,
  and spherical-harmonic moments.

:func:`certify` checks a :class:`~counterexamples.pair.Pair`'s claims with all of these and returns a
:class:`Certificate`. What it can and cannot check: claims about iteration 0 and 1 exactly; "never" for the
invariant tests through a local isomorphism; for claims at a later iteration t >= 2 only that iteration 1 does not
separate (the rest is the docstring's hand argument, checked against the GWL implementation elsewhere).

Examples
--------
>>> import counterexamples
>>> from counterexamples.certify import certify, k_body_multisets
>>> pair = counterexamples.load("bodyorder", body=4)
>>> a4, b4 = k_body_multisets(pair.exact_a, pair.exact_b, k=4, group="SO(3)")
>>> a5, b5 = k_body_multisets(pair.exact_a, pair.exact_b, k=5)
>>> a4 == b4, a5 == b5
(True, False)
>>> certify(pair).ok
True
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import combinations, product
from typing import Any

import networkx as nx
import sympy
from networkx.algorithms.isomorphism import GraphMatcher
from torch_geometric.data import Data

from counterexamples.algebra import Field, Vector
from counterexamples.pair import GROUPS, ExactGraph, Pair
from dojo.graphs import check_graph

__all__ = [
    "as_exact",
    "k_body_multisets",
    "neighbourhood_counts",
    "wl_separation",
    "Congruence",
    "congruence",
    "local_isomorphism",
    "maps_onto",
    "is_symmetry",
    "orientation_order",
    "Check",
    "Certificate",
    "certify",
]

#: Largest body order certified (the tests go up to IGWL_(5)).
MAX_BODY = 5


def as_exact(graph: ExactGraph | Data) -> ExactGraph:
    """An exact graph: ``ExactGraph`` as is; a checked float ``Data`` with every coordinate read as the exact binary
    fraction it stores (so certification speaks about exactly the float graph given)."""
    if isinstance(graph, ExactGraph):
        return graph
    check_graph(graph)
    coords = sympy.Matrix([[sympy.Rational(float(c)) for c in row] for row in graph.pos.tolist()])
    edges = [(i, j) for i, j in graph.edge_index.t().tolist() if i < j]
    return ExactGraph(coords, edges, graph.z.tolist())


def _check_group(group: str) -> bool:
    """True for SO(3) (orientation counts), False for O(3); ValueError otherwise."""
    if group not in GROUPS:
        raise ValueError(f"unknown group {group!r}. Fix: one of {GROUPS}.")
    return group == "SO(3)"


class _Exact:
    """One graph's exact data in a field shared with the graph it is compared with, with cached invariants."""

    def __init__(self, field: Field, graph: ExactGraph) -> None:
        self.field = field
        self.points = field.points(graph)
        self.types = graph.types
        self.n = graph.num_nodes
        self.edges = graph.edges
        nbrs: list[list[int]] = [[] for _ in range(self.n)]
        for i, j in graph.edges:
            nbrs[i].append(j)
            nbrs[j].append(i)
        self.nbrs = [tuple(sorted(x)) for x in nbrs]
        self._local: dict[int, tuple[list[Vector], list[list[int]]]] = {}
        self._k_body: dict[tuple[int, bool], Counter] = {}

    @cached_property
    def nx(self) -> nx.Graph:
        g = nx.Graph()
        g.add_nodes_from(range(self.n))
        g.add_edges_from(self.edges)
        return g

    def local(self, i: int) -> tuple[list[Vector], list[list[int]]]:
        """Node ``i``'s neighbour vectors ``x_j - x_i`` (in ``nbrs[i]`` order) and their (interned) Gram matrix."""
        if i not in self._local:
            f = self.field
            vecs = [f.sub(self.points[j], self.points[i]) for j in self.nbrs[i]]
            self._local[i] = vecs, _gram(f, vecs)
        return self._local[i]

    def local_dot(self, i: int, j: int, k: int) -> int:
        """``(x_j - x_i) . (x_k - x_i)`` (interned) for neighbours ``j``, ``k`` of ``i``."""
        _, gram = self.local(i)
        return gram[self.nbrs[i].index(j)][self.nbrs[i].index(k)]

    def k_body(self, k: int, so3: bool) -> Counter:
        if (k, so3) not in self._k_body:
            self._k_body[k, so3] = Counter(self._node_k_body(i, k, so3) for i in range(self.n))
        return self._k_body[k, so3]

    def _node_k_body(self, i: int, k: int, so3: bool) -> tuple[int, frozenset]:
        vecs, gram = self.local(i)
        types = [self.types[j] for j in self.nbrs[i]]
        signs = self.field.triple_signs(vecs) if so3 and k >= 4 else None
        slots = range(k - 1)
        pairs = [(x, y) for x in slots for y in slots if x <= y]
        triples = list(combinations(slots, 3)) if signs else []
        counts: Counter = Counter()
        for t in product(range(len(vecs)), repeat=k - 1):
            counts[(tuple(types[p] for p in t),
                    tuple(gram[t[x]][t[y]] for x, y in pairs),
                    tuple(_orientation(signs, t[x], t[y], t[z]) for x, y, z in triples))] += 1
        return self.types[i], frozenset(counts.items())

    def neighbourhood_key(self, i: int) -> Hashable:
        """A cheap invariant of node ``i``'s coloured neighbourhood (type, and neighbour types with norms)."""
        _, gram = self.local(i)
        shell = Counter((self.types[j], gram[x][x]) for x, j in enumerate(self.nbrs[i]))
        return self.types[i], frozenset(shell.items())

    def centred(self) -> list[Vector]:
        """``n x_i - sum_j x_j``: positions about the centroid, scaled by ``n`` to stay free of fractions."""
        f = self.field
        total = tuple(sum((p[c] for p in self.points), f.zero) for c in range(3))
        n = f.element(self.n)
        return [f.sub(f.scale(n, p), total) for p in self.points]


def _gram(field: Field, vecs: Sequence[Vector]) -> list[list[int]]:
    """The Gram matrix of ``vecs``, each entry interned (:meth:`Field.intern`): equal entries, equal integers."""
    gram = [[0] * len(vecs) for _ in vecs]
    for x, u in enumerate(vecs):
        for y in range(x, len(vecs)):
            gram[x][y] = gram[y][x] = field.intern(field.dot(u, vecs[y]))
    return gram


def _orientation(signs: dict[tuple[int, int, int], int], p: int, q: int, r: int) -> int:
    """The sign of ``det(u_p, u_q, u_r)`` from the signs of sorted triples (0 when an index repeats)."""
    if p == q or q == r or p == r:
        return 0
    s = 1
    if p > q:
        p, q, s = q, p, -s
    if q > r:
        q, r, s = r, q, -s
    if p > q:
        p, q, s = q, p, -s
    return s * signs[p, q, r]


@lru_cache(maxsize=128)
def _exact_pair(a: ExactGraph, b: ExactGraph) -> tuple[_Exact, _Exact]:
    """Both graphs in one number field (cached per pair of graph objects: certification asks many questions)."""
    field = Field(a, b)
    return _Exact(field, a), _Exact(field, b)


def _pair(a: ExactGraph | Data, b: ExactGraph | Data) -> tuple[_Exact, _Exact]:
    return _exact_pair(as_exact(a), as_exact(b))


# -- invariant information at iteration 1 -----------------------------------------------------------------------


def k_body_multisets(a: ExactGraph | Data, b: ExactGraph | Data, k: int,
                     group: str = "O(3)") -> tuple[Counter, Counter]:
    """The iteration-1 information of IGWL_(k) on both graphs, exactly.

    Parameters
    ----------
    a, b : ExactGraph or Data
        The two graphs.
    k : int
        Body order, 2 to 5: each node sees all ordered (k-1)-tuples of its neighbours, repetition allowed.
    group : "O(3)" or "SO(3)"
        Under SO(3) each tuple's class also records the signs of its triple products (its handedness).

    Returns
    -------
    (Counter, Counter)
        For each graph, the multiset over nodes of ``(node type, frozenset of (tuple class, count))``. IGWL_(k)
        separates the graphs at iteration 1 exactly when the two differ (given equal node types).

    Examples
    --------
    >>> from counterexamples import load
    >>> pair = load("bodyorder", body=2)   # same distances, different angles
    >>> [k_body_multisets(pair.exact_a, pair.exact_b, k)[0] == k_body_multisets(pair.exact_a, pair.exact_b, k)[1]
    ...  for k in (2, 3)]
    [True, False]
    """
    if not isinstance(k, int) or not 2 <= k <= MAX_BODY:
        raise ValueError(f"k_body_multisets: k must be an integer from 2 to {MAX_BODY}, got {k!r}.")
    so3 = _check_group(group)
    ga, gb = _pair(a, b)
    return ga.k_body(k, so3), gb.k_body(k, so3)


def neighbourhood_counts(a: ExactGraph | Data, b: ExactGraph | Data, group: str = "O(3)") -> list[tuple[int, int]]:
    """The iteration-1 information of IGWL and GWL: how many nodes of ``a`` and of ``b`` fall in each class.

    Two nodes are in one class when a map of the group takes one's neighbourhood onto the other's: same node type,
    and a bijection of neighbours preserving types and all inner products of the vectors ``x_j - x_i`` (plus
    handedness under SO(3)). Returns ``[(count in a, count in b), ...]``, one entry per class; IGWL and GWL
    separate at iteration 1 exactly when some entry has unequal counts (given equal node types).
    """
    so3 = _check_group(group)
    ga, gb = _pair(a, b)
    reps: list[tuple[Hashable, _Exact, int]] = []
    counts: list[list[int]] = []
    for side, g in enumerate((ga, gb)):
        for i in range(g.n):
            key = g.neighbourhood_key(i)
            for r, (rkey, rg, ri) in enumerate(reps):
                if rkey == key and _same_neighbourhood(g, i, rg, ri, so3):
                    counts[r][side] += 1
                    break
            else:
                reps.append((key, g, i))
                counts.append([int(side == 0), int(side == 1)])
    return [tuple(c) for c in counts]


def _same_neighbourhood(g1: _Exact, i: int, g2: _Exact, j: int, so3: bool) -> bool:
    vecs1, gram1 = g1.local(i)
    vecs2, gram2 = g2.local(j)
    if g1.types[i] != g2.types[j] or len(vecs1) != len(vecs2):
        return False
    labels1 = [g1.types[x] for x in g1.nbrs[i]]
    labels2 = [g2.types[x] for x in g2.nbrs[j]]
    return _match(g1.field, vecs1, labels1, gram1, vecs2, labels2, gram2, so3) is not None


def wl_separation(a: ExactGraph | Data, b: ExactGraph | Data) -> int | None:
    """The first iteration at which 1-WL colour refinement (node types, no geometry) separates the graphs.

    Written out (a few lines) rather than taken from networkx's ``weisfeiler_lehman_graph_hash`` because the
    certificate must be exact: colours are indices into one table shared by both graphs, so there are no hash
    collisions. Returns 0 when the type multisets differ, ``None`` when the refinement stabilises unseparated.
    """
    ga, gb = _pair(a, b)
    colours = [list(ga.types), list(gb.types)]
    if Counter(colours[0]) != Counter(colours[1]):
        return 0
    classes = len(set(colours[0]) | set(colours[1]))
    for t in range(1, ga.n + gb.n + 1):
        table: dict[tuple, int] = {}
        colours = [[table.setdefault((c[i], tuple(sorted(c[j] for j in g.nbrs[i]))), len(table))
                    for i in range(g.n)] for g, c in zip((ga, gb), colours)]
        if Counter(colours[0]) != Counter(colours[1]):
            return t
        if len(table) == classes:
            return None
        classes = len(table)
    return None


# -- matching configurations ------------------------------------------------------------------------------------


class _GramMatcher(GraphMatcher):
    """networkx's VF2 search with a geometric rule: a node pair may be matched when the labels agree and every
    inner product with the nodes matched so far agrees, so a complete match preserves the whole Gram matrix."""

    def __init__(self, g1: nx.Graph, g2: nx.Graph, labels1, gram1, labels2, gram2) -> None:
        super().__init__(g1, g2)
        self.labels1, self.gram1, self.labels2, self.gram2 = labels1, gram1, labels2, gram2

    def semantic_feasibility(self, n1: int, n2: int) -> bool:
        if self.labels1[n1] != self.labels2[n2] or self.gram1[n1][n1] != self.gram2[n2][n2]:
            return False
        return all(self.gram1[n1][m1] == self.gram2[n2][m2] for m1, m2 in self.core_1.items())


def _edgeless(n: int) -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(range(n))
    return g


def _same_handedness(field: Field, vecs1: Sequence[Vector], vecs2: Sequence[Vector], mapping: dict[int, int]) -> bool:
    """Whether the orthogonal map taking ``vecs1[i]`` to ``vecs2[mapping[i]]`` (equal Gram matrices) is proper or can
    be chosen proper: always for coplanar configurations (compose with the reflection in their plane)."""
    basis = field.basis(vecs1)
    if len(basis) < 3:
        return True
    p, q, r = basis
    return field.sign(field.det(vecs1[p], vecs1[q], vecs1[r])) == field.sign(
        field.det(vecs2[mapping[p]], vecs2[mapping[q]], vecs2[mapping[r]]))


def _match(field: Field, vecs1, labels1, gram1, vecs2, labels2, gram2, so3: bool,
           graphs: tuple[nx.Graph, nx.Graph] | None = None) -> dict[int, int] | None:
    """A bijection ``i -> mapping[i]`` preserving labels, Gram matrix (and edges of ``graphs`` if given, and
    handedness under SO(3)); ``None`` if there is none. Equal Gram matrices mean that one orthogonal map takes every
    ``vecs1[i]`` to ``vecs2[mapping[i]]``."""
    if len(vecs1) != len(vecs2):
        return None
    g1, g2 = graphs or (_edgeless(len(vecs1)), _edgeless(len(vecs2)))
    for mapping in _GramMatcher(g1, g2, labels1, gram1, labels2, gram2).isomorphisms_iter():
        if not so3 or _same_handedness(field, vecs1, vecs2, mapping):
            return mapping
    return None


# -- congruence -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Congruence:
    """A verified rigid motion taking ``a`` onto ``b``: node ``i`` of ``a`` goes to node ``permutation[i]`` of ``b``
    at ``rotation @ a_i + translation`` (exact sympy matrices); ``proper`` when ``det(rotation) = +1``."""

    permutation: tuple[int, ...]
    rotation: sympy.Matrix
    translation: sympy.Matrix
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
    so3 = _check_group(group)
    ga, gb = _pair(a, b)
    if ga.n != gb.n or len(ga.edges) != len(gb.edges):
        return None
    field = ga.field
    va, vb = ga.centred(), gb.centred()
    mapping = _match(field, va, ga.types, _gram(field, va), vb, gb.types, _gram(field, vb), so3, (ga.nx, gb.nx))
    if mapping is None:
        return None
    images = [vb[mapping[i]] for i in range(ga.n)]
    rotation = _orthogonal_map(field, va, images, proper=so3)
    _verify_orthogonal(field, rotation, va, images, proper=so3)
    inv_n = field.element(sympy.Rational(1, ga.n))
    ca = tuple(sum((p[c] for p in ga.points), field.zero) * inv_n for c in range(3))
    cb = tuple(sum((p[c] for p in gb.points), field.zero) * inv_n for c in range(3))
    translation = field.sub(cb, _apply(rotation, ca))
    return Congruence(
        permutation=tuple(mapping[i] for i in range(ga.n)),
        rotation=sympy.Matrix(3, 3, [field.sympy(x) for row in rotation for x in row]),
        translation=sympy.Matrix([field.sympy(x) for x in translation]),
        proper=_det3(field, rotation) == field.one,
    )


Matrix3 = list[list[Any]]


def _apply(m: Matrix3, v: Vector) -> Vector:
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


def _verify_orthogonal(field: Field, rot: Matrix3, src: Sequence[Vector], dst: Sequence[Vector], proper: bool) -> None:
    """Exact check of the congruence certificate; failing it would be a bug in the search, not a property."""
    cols = [tuple(rot[r][c] for r in range(3)) for c in range(3)]
    orthogonal = all(field.dot(cols[p], cols[q]) == (field.one if p == q else field.zero)
                     for p in range(3) for q in range(3))
    maps = all(_apply(rot, u) == v for u, v in zip(src, dst))
    if not (orthogonal and maps and (not proper or _det3(field, rot) == field.one)):
        raise RuntimeError("congruence: the solved map failed exact verification (internal error).")


# -- local isomorphism ------------------------------------------------------------------------------------------


class _LocalMatcher(GraphMatcher):
    """VF2 over graph isomorphisms that keep node types and, at every node, the Gram matrix of its neighbour vectors
    (checked as soon as both the centre and the neighbours involved are matched)."""

    def __init__(self, ga: _Exact, gb: _Exact) -> None:
        super().__init__(ga.nx, gb.nx)
        self.ga, self.gb = ga, gb

    def semantic_feasibility(self, n1: int, n2: int) -> bool:
        ga, gb, core = self.ga, self.gb, self.core_1
        if ga.types[n1] != gb.types[n2]:
            return False
        matched = [j for j in ga.nbrs[n1] if j in core]
        for x, j in enumerate(matched):  # n1 as the centre
            if any(ga.local_dot(n1, j, k) != gb.local_dot(n2, core[j], core[k]) for k in matched[x:]):
                return False
        for m in matched:  # n1 as a neighbour of an already matched centre m
            for j in ga.nbrs[m]:
                if j == n1 or j in core:
                    image = n2 if j == n1 else core[j]
                    if ga.local_dot(m, n1, j) != gb.local_dot(core[m], n2, image):
                        return False
        return True


def local_isomorphism(a: ExactGraph | Data, b: ExactGraph | Data, group: str = "O(3)") -> tuple[int, ...] | None:
    """A graph isomorphism ``phi`` (node ``i`` of ``a`` to ``phi[i]`` of ``b``) that keeps types and under which
    every node's neighbourhood maps onto its image's by a map of ``group`` sending each neighbour ``j`` to
    ``phi[j]``; ``None`` if there is none.

    Such a ``phi`` certifies that WL, every IGWL_(k) and IGWL never separate ``a`` and ``b``: by induction on t,
    ``i`` and ``phi[i]`` have equal colours at every iteration, since they see congruent neighbourhoods whose
    matched neighbours have equal colours. (It is sufficient, not necessary.) GWL can still separate: it compares
    the relative orientation of different neighbourhoods, which ``phi`` need not preserve (e.g. k-chains).

    Examples
    --------
    >>> from counterexamples import load
    >>> pair = load("kchains", k=3)
    >>> local_isomorphism(pair.exact_a, pair.exact_b, "SO(3)")
    (0, 1, 2, 3, 4)
    """
    so3 = _check_group(group)
    ga, gb = _pair(a, b)
    if ga.n != gb.n or len(ga.edges) != len(gb.edges):
        return None
    for mapping in _LocalMatcher(ga, gb).isomorphisms_iter():
        if not so3 or all(_same_handedness(ga.field, ga.local(i)[0], gb.local(mapping[i])[0],
                                           _neighbour_mapping(ga, gb, i, mapping)) for i in range(ga.n)):
            return tuple(mapping[i] for i in range(ga.n))
    return None


def _neighbour_mapping(ga: _Exact, gb: _Exact, i: int, mapping: dict[int, int]) -> dict[int, int]:
    """The mapping of ``i``'s neighbour slots induced by a node mapping."""
    slot_b = {j: x for x, j in enumerate(gb.nbrs[mapping[i]])}
    return {x: slot_b[mapping[j]] for x, j in enumerate(ga.nbrs[i])}


# -- symmetry and orientation -----------------------------------------------------------------------------------


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
        raise ValueError(f"maps_onto: rotation must be 3x3 and translation 3x1, got {rotation.shape}, {shift.shape}.")
    field = Field(a, b, extra=[*rotation, *shift])
    rot = [[field.element(rotation[r, c]) for c in range(3)] for r in range(3)]
    cols = [tuple(rot[r][c] for r in range(3)) for c in range(3)]
    if not all(field.dot(cols[p], cols[q]) == (field.one if p == q else field.zero)
               for p in range(3) for q in range(3)):
        raise ValueError("maps_onto: the matrix is not orthogonal. Fix: pass an exact rotation or reflection.")
    offset = tuple(field.element(x) for x in shift)
    where = {(t, p): i for i, (t, p) in enumerate(zip(b.types, field.points(b)))}
    image = [where.get((t, tuple(x + y for x, y in zip(_apply(rot, p), offset))))
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


def orientation_order(a: ExactGraph | Data, b: ExactGraph | Data, node: int = 0, max_degree: int = 12) -> int | None:
    """The lowest degree l >= 1 at which node ``node``'s neighbourhood moments differ between ``a`` and ``b``.

    The degree-l moments are ``sum_j h(x_j - x_i)`` over the neighbours, for the 2l + 1 real solid harmonics ``h``
    of degree l, taken separately for each distance shell (so a learnable radial weight cannot hide a difference).
    Solid harmonics are ``|x|^l Y_lm(x/|x|)``, polynomials in ``x``: ``Re/Im (x + i y)^m`` times ``|x|^(l-m)
    P_l^(m)(z/|x|)`` (the m-th derivative of the Legendre polynomial, homogenised). A layer whose features stop at
    degree L sees the neighbourhood's orientation only through these moments for l <= L. ``None`` if they agree up
    to ``max_degree``.
    """
    ga, gb = _pair(a, b)
    if not (0 <= node < ga.n and node < gb.n):
        raise ValueError(f"orientation_order: node {node} is not in both graphs. Fix: 0 <= node < {min(ga.n, gb.n)}.")
    moments_a, moments_b = _moments(ga, node, max_degree), _moments(gb, node, max_degree)
    for degree in range(1, max_degree + 1):
        if next(moments_a) != next(moments_b):
            return degree
    return None


def _moments(g: _Exact, node: int, max_degree: int) -> Iterator[dict[Any, tuple]]:
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


# -- certificates -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One certified statement: what the pair claims (and what that implies), whether it holds, and how we know."""

    claim: str
    holds: bool
    evidence: str

    def __str__(self) -> str:
        return f"{'ok  ' if self.holds else 'FAIL'} {self.claim} -- {self.evidence}"


@dataclass(frozen=True)
class Certificate:
    """The checks :func:`certify` ran on one pair; ``ok`` when every one holds."""

    pair: str
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.holds for c in self.checks)

    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.holds]

    def __str__(self) -> str:
        return "\n".join([f"certificate for {self.pair}: {'all checks hold' if self.ok else 'FAILED'}",
                          *(f"  {c}" for c in self.checks)])


def _when(iteration: int | None) -> str:
    return "never separates" if iteration is None else f"first separates at iteration {iteration}"


def _iteration_one(claim: int | None, equal: bool, test: str, group: str, what: str) -> Check | None:
    """The check a claim implies for iteration-1 information (``None`` for claims at 0, checked with the types)."""
    if claim == 0:
        return None
    if claim == 1:
        return Check(f"{test} under {group} separates at iteration 1", not equal,
                     f"{what} {'are equal' if equal else 'differ'}")
    return Check(f"{test} under {group} {_when(claim)}, so not at iteration 1", equal,
                 f"{what} {'are equal' if equal else 'differ'}")


def certify(pair: Pair) -> Certificate:
    """Check every claim of ``pair`` that exact computation can decide, without the GWL tests.

    * iteration 0: claims at 0 exactly when the node-type multisets differ;
    * WL: exact colour refinement gives the claimed iteration;
    * IGWL_(k), k = 2..5, and IGWL/GWL: the iteration-1 information (k-body multisets, neighbourhood classes)
      differs exactly when the claim is 1;
    * IGWL never separates (when claimed): a local isomorphism exists;
    * congruence under each group exactly as ``pair.congruent_under`` says (a verified motion, or none exists);
    * equivariant tasks: ``b`` differs from ``a`` as placed, and ``pair.orientation_order`` is the lowest degree at
      which the moments of the highest-degree node (the centre of a star) differ.

    Returns a :class:`Certificate`; ``certificate.ok`` is False, with the failing checks listed, when a claim is
    wrong.
    """
    if not isinstance(pair, Pair):
        raise ValueError(f"certify: expected a counterexamples.Pair, got {type(pair).__name__}. "
                         "Fix: build one with Pair(...) or load one with counterexamples.load(name).")
    a, b = pair.exact_a, pair.exact_b
    checks: list[Check] = []
    same_types = Counter(a.types) == Counter(b.types)
    at_zero = sorted({t for (t, g), c in pair.claims.items() if c == 0})
    checks.append(Check("claims at iteration 0 exactly when node types differ",
                        all((c == 0) != same_types for c in pair.claims.values()),
                        f"type multisets {'equal' if same_types else 'differ'}; claimed at 0: {at_zero or 'none'}"))
    wl = wl_separation(a, b)
    for g in GROUPS:
        checks.append(Check(f"wl under {g} {_when(pair.claim('wl', g))}", wl == pair.claim("wl", g),
                            f"exact colour refinement {_when(wl)}"))
    for g in GROUPS:
        for k in range(2, MAX_BODY + 1):
            ka, kb = k_body_multisets(a, b, k, g)
            check = _iteration_one(pair.claim(f"igwl-{k}", g), ka == kb, f"igwl-{k}", g, f"{k}-body multisets")
            checks += [check] if check else []
        counts = neighbourhood_counts(a, b, g)
        equal = all(x == y for x, y in counts)
        for test in ("igwl", "gwl"):
            check = _iteration_one(pair.claim(test, g), equal, test, g, "neighbourhood classes")
            checks += [check] if check else []
        if pair.claim("igwl", g) is None:
            phi = local_isomorphism(a, b, g)
            checks.append(Check(f"invariant tests under {g} never separate", phi is not None,
                                f"local isomorphism {phi}" if phi else "no local isomorphism exists"))
        motion = congruence(a, b, g)
        claimed = g in pair.congruent_under
        checks.append(Check(f"{'congruent' if claimed else 'not congruent'} under {g}", (motion is not None) == claimed,
                            f"motion found: permutation {motion.permutation}, proper={motion.proper}" if motion
                            else "no permutation plus motion of the group maps a onto b"))
    if pair.task == "equivariant":
        checks += _equivariant_checks(pair)
    return Certificate(pair.name, tuple(checks))


def _equivariant_checks(pair: Pair) -> list[Check]:
    ga, gb = _pair(pair.exact_a, pair.exact_b)
    placed_a = Counter(zip(ga.types, ga.points))
    placed_b = Counter(zip(gb.types, gb.points))
    checks = [Check("b is a moved copy of a (an orientation to see)", placed_a != placed_b,
                    "typed positions differ" if placed_a != placed_b else "typed positions are identical")]
    if pair.orientation_order is not None:
        centre = max(range(ga.n), key=lambda i: len(ga.nbrs[i]))
        order = orientation_order(pair.exact_a, pair.exact_b, node=centre,
                                  max_degree=max(12, pair.orientation_order + 1))
        checks.append(Check(f"orientation order {pair.orientation_order}", order == pair.orientation_order,
                            f"moments of node {centre} first differ at degree {order}"))
    return checks
