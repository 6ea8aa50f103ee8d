"""GWL written out: every node's depth-t computation tree, compared up to the group exactly (no ``dojo.gwl``).

GWL gives node ``i`` at iteration ``t`` the object ``g_i^t = (g_i^{t-1}, {{ (g_j^{t-1}, x_ij) : j in N(i) }})``,
``g_i^0 = c_i``, and two nodes one colour when ONE map ``Q`` of the group takes one object onto the other. Unrolled,
``g_i^t`` is the depth-t computation tree of ``i`` (the children of a tree node are all neighbours of its graph
node), every tree node carrying its type and its position relative to the root, ``x_v - x_i`` (the ``x_ij`` of the
recursion are differences of these, and the inner ``g_i^{t-1}`` is the same tree cut at depth ``t-1``). So ``i``
and ``i'`` share a colour at ``t`` exactly when some ``Q`` of the group and some bijection of tree nodes keeping the
root, parent links and types satisfy ``Q (x_v - x_i) = x'_v' - x'_i'`` for every tree node. Decided in two steps:

* With ``Q`` fixed, trees are compared by their recursive key (type, position, sorted keys of the children),
  memoised per (graph node, remaining depth) since a tree node's position depends only on its graph node.
* ``Q`` matters only on the span of the tree's positions. Take a basis ``b_1..b_r`` (``r <= 3``) among them: ``Q b_k``
  must be a position of the other tree with the same type, and when the Gram matrices agree the linear map
  ``b_k -> w_k`` is an isometry of the span (it extends to a rotation, proper included, unless ``r = 3`` under
  SO(3), where the determinants must also agree). Every such candidate ``(w_1..w_r)`` is tried; the trees are
  congruent iff one makes the keys equal.

When GWL never separates. Let ``S_t(u, v)`` be the set of maps of the group taking ``u``'s depth-t tree onto
``v``'s, for all nodes ``u, v`` of both graphs. Unrolling one level, ``S_{t+1}(u, v)`` is the set of ``Q`` with
equal root types and a bijection ``s`` of neighbours with ``Q x_uj = x_vs(j)`` and ``Q`` in ``S_t(j, s(j))``: a
function ``F`` of the family ``S_t``, with ``S_{t+1}(u, v)`` inside ``S_t(u, v)``. A non-empty ``S_t(u, v)`` is a
coset of ``u``'s stabiliser, fixed by the span of ``u``'s tree and the finite set ``A_t(u)`` of isometries of that
span keeping the tree. If from ``t`` to ``t+1`` no class splits and no node's rank or ``|A|`` changes, each
``S_{t+1}(u, v)`` is a coset of the same group inside ``S_t(u, v)``, hence equal to it; then
``S_{t+2} = F(S_{t+1}) = F(S_t) = S_{t+1}`` and nothing changes again. Ranks only grow (at most 3 times), ``|A|``
only shrinks while the rank stays, and classes split at most ``N_a + N_b - 1`` times, so that state is reached.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sympy.polys.matrices import DomainMatrix

from counterexamples.algebra import Vector
from counterexamples.certify.budget import Budget
from counterexamples.certify.exact import Exact

Colours = Sequence[Sequence[int]]


@dataclass
class _Ball:
    """The positions of one node's depth-t tree: graph nodes within t hops, relative to the root, in a basis."""

    root: int
    nodes: list[int]  # within t hops, by distance then index
    within: list[list[int]]  # within[d]: the nodes within d hops
    rel: dict[int, Vector]  # x_v - x_root
    basis: list[int]  # graph nodes whose positions form a basis of the span
    coords: dict[int, list[Any]]  # rel[v] = sum_k coords[v][k] * rel[basis[k]]
    gram: list[list[int]]  # interned inner products of the basis
    det: Any  # det of the basis when it spans space, else None


class Trees:
    """The computation trees of the nodes of two graphs (one number field), compared under O(3) or SO(3)."""

    def __init__(self, graphs: Sequence[Exact], so3: bool, budget: Budget) -> None:
        self.graphs, self.so3, self.budget = graphs, so3, budget
        self.field = graphs[0].field
        self._vectors: dict[Vector, int] = {}
        self._keys: dict[Hashable, int] = {}
        self._shapes: dict[Hashable, int] = {}
        self._balls: dict[tuple[int, int, int], _Ball] = {}

    # -- one iteration -----------------------------------------------------------------------------------------

    def step(self, colours: Colours, t: int) -> tuple[list[list[Hashable]], tuple]:
        """Keys of iteration ``t`` (previous colour, class of the depth-t tree) and the signature (rank, |A|) of
        every node, which with the partition decides when nothing can change any more (module docstring)."""
        reps: dict[Hashable, list[tuple[int, int, int, int]]] = {}  # per shape: (graph, node, class, tree key)
        keys: list[list[Hashable]] = [[], []]
        signature: list[tuple[int, int]] = []
        classes: list[tuple[int, int]] = []  # per class: (rank, |A|) of its representative, shared by congruent trees
        for g, graph in enumerate(self.graphs):
            for u in range(graph.n):
                candidates = reps.setdefault((colours[g][u], self._shape(g, u, t)), [])
                cls = next((c for h, w, c, key in candidates if self.congruent(g, u, h, w, t, key)), None)
                if cls is None:
                    cls = len(classes)
                    key = self._key(g, self.ball(g, u, t), None, t)
                    candidates.append((g, u, cls, key))
                    classes.append((len(self.ball(g, u, t).basis), self.symmetries(g, u, t, key)))
                keys[g].append((colours[g][u], cls))
                signature.append(classes[cls])
        return keys, tuple(signature)

    # -- comparing trees ---------------------------------------------------------------------------------------

    def congruent(self, g: int, u: int, h: int, w: int, t: int, target: int) -> bool:
        """Whether a map of the group takes node ``u``'s depth-t tree (graph ``g``) onto ``w``'s (graph ``h``), whose
        key as placed is ``target``."""
        return next(self._maps(g, u, h, w, t, target), None) is not None

    def symmetries(self, g: int, u: int, t: int, key: int) -> int:
        """``|A_t(u)|``: the isometries of the span of ``u``'s tree (key as placed: ``key``) that keep the tree (with
        the group's rule), counted by the images of the basis as positions (coincident graph nodes give one map)."""
        ball = self.ball(g, u, t)
        return len({tuple(self._vector(ball.rel[x]) for x in images) for images in self._maps(g, u, g, u, t, key)})

    def _maps(self, g: int, u: int, h: int, w: int, t: int, target: int) -> Iterator[tuple[int, ...]]:
        """The basis images that map ``u``'s tree onto the tree whose key is ``target`` (rooted at ``w`` of ``h``)."""
        src, dst = self.ball(g, u, t), self.ball(h, w, t)
        for images in self._candidates(g, src, h, dst, []):
            targets = [dst.rel[x] for x in images]
            moved = {v: self._vector(tuple(sum((c * y[axis] for c, y in zip(src.coords[v], targets)),
                                               self.field.zero) for axis in range(3)))
                     for v in src.nodes}
            if self._key(g, src, moved, t) == target:
                yield images

    def _candidates(self, g: int, src: _Ball, h: int, dst: _Ball, chosen: list[int]) -> Iterator[tuple[int, ...]]:
        """Images of the basis of ``src`` among ``dst``'s nodes with the same types, Gram matrix and (r = 3 under
        SO(3)) determinant."""
        k = len(chosen)
        if k == len(src.basis):
            if not (self.so3 and src.det is not None) or self.field.det(*(dst.rel[x] for x in chosen)) == src.det:
                yield tuple(chosen)
            return
        kind = self.graphs[g].types[src.basis[k]]
        for x in dst.nodes:
            self.budget.spend(1)
            fits = (self.graphs[h].types[x] == kind and self._dot(h, dst, x, x) == src.gram[k][k]
                    and all(self._dot(h, dst, x, chosen[m]) == src.gram[k][m] for m in range(k)))
            if fits:
                yield from self._candidates(g, src, h, dst, chosen + [x])

    def _key(self, g: int, ball: _Ball, moved: dict[int, int] | None, t: int) -> int:
        """The tree's key with positions ``moved`` (vector ids; ``None``: as placed), memoised per graph node and
        remaining depth: equal keys exactly when the trees are equal as typed, positioned trees."""
        place = moved if moved is not None else {v: self._vector(ball.rel[v]) for v in ball.nodes}
        self.budget.spend(len(ball.nodes) * (t + 1))
        return _tree_key(self._keys, self.graphs[g], ball, place, t)

    def _shape(self, g: int, u: int, t: int) -> int:
        """A cheap invariant of the tree: its key with every position replaced by its squared norm."""
        ball = self.ball(g, u, t)
        return _tree_key(self._shapes, self.graphs[g], ball, {v: self._dot(g, ball, v, v) for v in ball.nodes}, t)

    # -- positions -----------------------------------------------------------------------------------------------

    def ball(self, g: int, u: int, t: int) -> _Ball:
        """Node ``u``'s tree positions at depth ``t`` (cached)."""
        if (g, u, t) not in self._balls:
            self._balls[g, u, t] = self._make_ball(self.graphs[g], u, t)
        return self._balls[g, u, t]

    def _make_ball(self, graph: Exact, u: int, t: int) -> _Ball:
        f = self.field
        distance = {u: 0}
        frontier = [u]
        for d in range(1, t + 1):
            frontier = sorted({j for v in frontier for j in graph.nbrs[v] if j not in distance})
            distance.update((j, d) for j in frontier)
        nodes = sorted(distance, key=lambda v: (distance[v], v))
        everywhere = graph.relative(u)
        rel = {v: everywhere[v] for v in nodes}
        basis = [nodes[x] for x in f.basis([rel[v] for v in nodes])]
        gram_values = [[graph.relative_dot(u, p, q) for q in basis] for p in basis]
        inverse = DomainMatrix(gram_values, (len(basis), len(basis)), f.domain).inv().to_list()
        coords = {v: [sum((x * graph.relative_dot(u, p, v) for x, p in zip(row, basis)), f.zero) for row in inverse]
                  for v in nodes}
        return _Ball(root=u, nodes=nodes, within=[[v for v in nodes if distance[v] <= d] for d in range(t + 1)],
                     rel=rel, basis=basis, coords=coords, gram=[[f.intern(x) for x in row] for row in gram_values],
                     det=f.det(*(rel[p] for p in basis)) if len(basis) == 3 else None)

    def _dot(self, g: int, ball: _Ball, v: int, w: int) -> int:
        """``rel[v] . rel[w]``, interned."""
        return self.field.intern(self.graphs[g].relative_dot(ball.root, v, w))

    def _vector(self, v: Vector) -> int:
        return _intern(self._vectors, v)


def _intern(table: dict, key: Hashable) -> int:
    return table.setdefault(key, len(table))


def _tree_key(table: dict, graph: Exact, ball: _Ball, label: dict[int, Hashable], t: int) -> int:
    """The depth-t tree of ``ball.root`` interned in ``table`` bottom up: each tree node by its type, its
    ``label`` and the sorted keys of its children (one key per graph node and remaining depth)."""
    level = {v: _intern(table, (graph.types[v], label[v])) for v in ball.nodes}
    for s in range(1, t + 1):
        level = {v: _intern(table, (graph.types[v], label[v], tuple(sorted(level[j] for j in graph.nbrs[v]))))
                 for v in ball.within[t - s]}
    return level[ball.root]
