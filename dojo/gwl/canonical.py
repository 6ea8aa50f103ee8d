"""Canonical forms, up to O(3) or SO(3), of coloured point clouds and of GWL's nested geometric objects.

The object of node ``i`` after ``t`` iterations is ``g_i^t = (g_i^{t-1}, {{ (g_j^{t-1}, x_ij) : j in N(i) }})``:
its depth-``t`` computation tree with every position relative to ``x_i``. We never store the tree. An object is
summarised by a :class:`NodeObject`: its class (a colour id) and its *frames*, a finite set of bases made of edge
vectors of the object, such that

* the set of frames moves with the object: rotating the object by ``Q`` rotates every frame by ``Q``;
* any two frames of an object are related by a symmetry of the object (the frames are one orbit of its stabiliser);
* each frame spans the object's span (``rank`` = 0 for a point, 1 for a collinear object, 2 planar, 3 spatial).

Class plus frames determine the object up to nothing: two objects of the same class with the same frames are equal.

Encoding an object in a basis ``B`` (``r`` edge vectors spanning its span) means writing everything equivariant
about it as dot products with ``B``: the Gram matrix of ``B``, the root's frames and, for every child, its colour,
``B^T x_ij`` and its frames. Equal encodings in bases ``B`` and ``B'`` of two objects mean that the orthogonal map
``B -> B'`` (it exists: the Gram matrices agree) maps one object onto the other; for SO(3) the encoding also holds
``det B`` when ``r = 3`` (when ``r < 3`` a reflection through the object's plane makes any congruence proper).
So the canonical form is the minimum encoding over an equivariant finite set of candidate bases, and the new
frames are the candidates that reach it. Candidates are

* the root's own frames, when the children add no new direction (the usual case once an object spans space);
* otherwise bases built greedily from the object's vectors (root frame vectors, edge vectors ``x_ij``, children's
  frame vectors): at each step, every vector outside the current span whose invariant key (label, squared length,
  dot products with the basis so far, and for SO(3) the triple product) is minimal. Ties are all kept, which
  handles symmetric configurations; collinear and coplanar objects stop with 1 or 2 vectors, points with none.

The same routine gives IGWL's I-HASH: there every previous object is forgotten to a point of its colour, so an
encoding is the canonical form of the coloured neighbourhood point cloud ``{{ (c_j, x_ij) }}`` around ``c_i``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dojo.gwl.arithmetic import Arithmetic, Bag, Geometry, Handle

__all__ = ["NodeObject", "POINT", "candidate_encodings"]

Basis = tuple[Handle, ...]


@dataclass(frozen=True)
class NodeObject:
    """A geometric object up to its position: its class ``colour``, ``rank`` and equivariant ``frames``."""

    colour: int
    rank: int
    frames: tuple[Basis, ...]

    def forget(self) -> NodeObject:
        """The same class as a point: what an invariant (IGWL) layer passes on."""
        return NodeObject(self.colour, 0, ((),))


#: The frames of a point object: one empty basis.
POINT: tuple[Basis, ...] = ((),)


def candidate_encodings(
    arith: Arithmetic, geometry: Geometry, chiral: bool, root: NodeObject,
    children: Sequence[tuple[NodeObject, Handle]],
) -> list[tuple[tuple, Basis]]:
    """Raw encodings of the object ``(root, {{ (child, x) }})`` in each of its candidate bases.

    Parameters
    ----------
    arith, geometry : the run's arithmetic and the graph's geometry.
    chiral : bool
        True for SO(3) (mirror images differ), False for O(3).
    root : NodeObject
        The node's previous object.
    children : list of (NodeObject, Handle)
        Each neighbour's previous object and the edge vector ``x_ij`` as a handle ``(i, j)``.

    Returns
    -------
    list of (encoding, basis)
        Encodings are nested tuples of ints and numbers with :class:`Bag` multisets; after
        :meth:`Arithmetic.finalize` the minimal one is the canonical form and its bases are the new frames.
    """
    return [(_encode(geometry, chiral, root, children, basis), basis)
            for basis in _candidates(arith, geometry, chiral, root, children)]


def _candidates(arith: Arithmetic, g: Geometry, chiral: bool, root: NodeObject,
                children: Sequence[tuple[NodeObject, Handle]]) -> list[Basis]:
    if root.rank == 3:
        return list(root.frames)
    vectors = [x for _, x in children] + [v for child, _ in children for frame in child.frames for v in frame]
    if root.rank > 0 and not any(arith.independent(g, v, root.frames[0]) for v in vectors):
        return list(root.frames)
    pool = [((0, a), v) for frame in root.frames for a, v in enumerate(frame)]
    pool += [((1, child.colour), x) for child, x in children]
    pool += [((2, child.colour, a), v) for child, _ in children for frame in child.frames for a, v in enumerate(frame)]
    return _greedy_bases(arith, g, chiral, pool)


def _greedy_bases(arith: Arithmetic, g: Geometry, chiral: bool, pool: list[tuple[tuple, Handle]]) -> list[Basis]:
    """All bases a greedy choice by minimal invariant key can produce (every tie followed)."""
    done: list[Basis] = []
    partial: list[Basis] = [()]
    while partial:
        grown: list[Basis] = []
        for basis in partial:
            eligible = [(label, v) for label, v in pool if arith.independent(g, v, basis)]
            if not eligible:
                done.append(basis)
                continue

            def key(entry, basis=basis):
                label, v = entry
                tail = (g.det(basis[0], basis[1], v),) if chiral and len(basis) == 2 else ()
                return (*label, g.dot(v, v), *(g.dot(b, v) for b in basis), *tail)

            grown += [(*basis, v) for _, v in arith.minimal(eligible, key)]
        partial = list(dict.fromkeys(grown))
    return done


def _frames_in(g: Geometry, basis: Basis, frames: tuple[Basis, ...]) -> Bag:
    """Each frame as the flat tuple of dot products of its vectors with ``basis`` (ranks fix the shape)."""
    return Bag([tuple([g.dot(b, v) for v in frame for b in basis]) for frame in frames])


def _encode(g: Geometry, chiral: bool, root: NodeObject, children: Sequence[tuple[NodeObject, Handle]],
            basis: Basis) -> tuple:
    """``(colour, r, Gram(B), [det B], root frames in B, {{ (colour_j, B^T x_ij, [frames_j in B]) }})``, flat.

    The class fixes a child's rank, so rows of equal colour have equal shapes; point children carry no frames.
    """
    r = len(basis)
    gram = [g.dot(basis[a], basis[b]) for a in range(r) for b in range(a, r)]
    hand = [g.det(*basis)] if chiral and r == 3 else []
    kids = Bag([(child.colour, *[g.dot(b, x) for b in basis],
                 *([_frames_in(g, basis, child.frames)] if child.rank else []))
                for child, x in children])
    return (root.colour, r, *gram, *hand, _frames_in(g, basis, root.frames) if root.rank else (), kids)


def next_objects(
    arith: Arithmetic, chiral: bool, adjacency: Sequence[list[list[int]]], objects: Sequence[Sequence[NodeObject]],
) -> tuple[list[list[tuple]], list[list[NodeObject]]]:
    """One refinement step of every node of every graph: canonical keys and the new objects' frames.

    ``objects[g][i]`` is node ``i``'s previous object in graph ``g``. Encodings of all candidates of all nodes are
    finalised together (so that float values are clustered across all graphs at once); each node's key is its
    minimal encoding, and its new frames are the candidates that reach it. The returned objects carry colour -1
    until the caller relabels the keys.
    """
    raw: list[tuple[int, int, list[tuple[tuple, Basis]]]] = []
    for gi, (geometry, nbrs, objs) in enumerate(zip(arith.geometries, adjacency, objects)):
        for i, root in enumerate(objs):
            children = [(objs[j], (i, j)) for j in nbrs[i]]
            raw.append((gi, i, candidate_encodings(arith, geometry, chiral, root, children)))
    final = iter(arith.finalize([enc for _, _, cands in raw for enc, _ in cands]))
    keys: list[list[tuple]] = [[()] * len(objs) for objs in objects]
    new: list[list[NodeObject]] = [[None] * len(objs) for objs in objects]  # type: ignore[list-item]
    for gi, i, cands in raw:
        encoded = [(next(final), basis) for _, basis in cands]
        best = min(e for e, _ in encoded)
        frames = tuple(basis for e, basis in encoded if e == best)
        keys[gi][i] = best
        new[gi][i] = NodeObject(-1, len(frames[0]), frames)
    return keys, new
