"""IGWL_(k), the k-body invariant geometric Weisfeiler-Leman tests (k = 2: SchNet-like, 3: DimeNet-like, ...).

    c_i^t = HASH(c_i^{t-1}, {{ I_k(i; j_1, ..., j_{k-1}) : j_1, ..., j_{k-1} in N(i) }})

over all ordered (k-1)-tuples of neighbours, repetition allowed (so every lower body order is included and
IGWL_(k) refines IGWL_(k-1)). ``I_k`` is the class, up to the group, of the ordered coloured configuration
``(c_i, x_i), (c_{j_1}, x_{j_1}), ...``. For O(3) the Gram matrix of the vectors ``x_{i j_a}`` with the colours is
a complete invariant of an ordered configuration; for SO(3) the triple products ``det(x_{i j_a}, x_{i j_b},
x_{i j_c})`` are added (they fix the handedness when the configuration spans space, and carry no information when
it does not). So no frames are needed: every node's local Gram matrix and triple products are computed once,
turned into canonical value ids, and a tuple's class is the row of ids it picks out plus its colours.

Cost: O(N d^2) (and O(N d^3) for SO(3), k >= 4) products once, then O(N d^(k-1)) tuple rows per iteration, hashed
together with numpy.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from itertools import combinations, combinations_with_replacement

import numpy as np

from dojo.gwl.arithmetic import Arithmetic, Geometry
from dojo.gwl.refinement import Refiner

__all__ = ["IGWLk"]


class IGWLk(Refiner):
    """The IGWL_(k) test (``k >= 2``) on the graphs of one run; ``chiral`` selects SO(3) (else O(3))."""

    def __init__(self, types: Sequence[Sequence[int]], adjacency: Sequence[list[list[int]]], arith: Arithmetic,
                 chiral: bool, k: int) -> None:
        super().__init__(types, adjacency)
        self.k = k
        order = k - 1
        use_det = chiral and order >= 3
        nodes = [(gi, geometry, i, nbrs[i]) for gi, (geometry, nbrs) in enumerate(zip(arith.geometries, adjacency))
                 for i in range(len(nbrs))]
        grams = [_local(arith, g, i, n, 2) for _, g, i, n in nodes]
        gram_ids = _split(arith.ids(_concat(grams)), [len(n) ** 2 for *_, n in nodes])
        dets = [_local(arith, g, i, n, 3) for _, g, i, n in nodes] if use_det else []
        det_ids = _split(arith.ids(_concat(dets)), [len(n) ** 3 for *_, n in nodes]) if use_det else []
        offsets = np.cumsum([0] + [len(n) for n in adjacency])
        rows, self.tuples = [], []
        for index, (gi, _, _, nbrs) in enumerate(nodes):
            d = len(nbrs)
            tuples = np.indices((d,) * order).reshape(order, -1).T
            gram = gram_ids[index].reshape(d, d)
            cols = [gram[tuples[:, a], tuples[:, b]] for a, b in combinations_with_replacement(range(order), 2)]
            if use_det:
                det = det_ids[index].reshape(d, d, d)
                cols += [det[tuples[:, a], tuples[:, b], tuples[:, c]] for a, b, c in combinations(range(order), 3)]
            rows.append(np.stack(cols, axis=1))
            self.tuples.append(offsets[gi] + np.asarray(nbrs, dtype=np.int64)[tuples])
        self.geometry_class = _split(_row_ids(np.concatenate(rows)), [len(r) for r in rows])
        self.offsets = offsets

    def step(self, colours: list[list[int]]) -> list[list[Hashable]]:
        flat = np.asarray([c for cs in colours for c in cs], dtype=np.int64)
        rows = [np.column_stack([geometry, flat[tuples]]) for tuples, geometry in zip(self.tuples, self.geometry_class)]
        classes = _split(_row_ids(np.concatenate(rows)), [len(r) for r in rows])
        keys = [(int(c), tuple(np.sort(cls).tolist())) for c, cls in zip(flat, classes)]
        return [keys[a:b] for a, b in zip(self.offsets[:-1].tolist(), self.offsets[1:].tolist())]


def _local(arith: Arithmetic, g: Geometry, i: int, nbrs: list[int], order: int):
    """Node ``i``'s Gram matrix (order 2) or triple products (order 3) of its edge vectors, flattened."""
    if not arith.exact:
        x = np.asarray([g.points[j] for j in nbrs], dtype=np.float64).reshape(-1, 3) - np.asarray(g.points[i])
        if order == 2:
            return (x @ x.T).ravel()
        return (np.cross(x[:, None, :], x[None, :, :]) @ x.T).ravel()
    handles = [(i, j) for j in nbrs]
    if order == 2:
        return [g.dot(u, v) for u in handles for v in handles]
    zero = g.zero
    out = {}
    for a, b, c in combinations(range(len(handles)), 3):
        value = g.det(handles[a], handles[b], handles[c])
        for (p, q, r), sign in (((a, b, c), 1), ((b, c, a), 1), ((c, a, b), 1),
                                ((b, a, c), -1), ((a, c, b), -1), ((c, b, a), -1)):
            out[p, q, r] = value if sign > 0 else -value
    d = len(handles)
    return [out.get((a, b, c), zero) for a in range(d) for b in range(d) for c in range(d)]


def _concat(parts: list) -> list | np.ndarray:
    if parts and isinstance(parts[0], np.ndarray):
        return np.concatenate(parts)
    return [v for part in parts for v in part]


def _split(values: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    return np.split(np.asarray(values, dtype=np.int64), np.cumsum(sizes)[:-1]) if sizes else []


def _row_ids(rows: np.ndarray) -> np.ndarray:
    """Canonical ids of non-negative integer rows (equal rows, equal ids; ids in lexicographic order of rows).

    Rows are packed into one int64 per row (mixed radix) when that fits, so a 1-D sort replaces the slow
    row-wise ``np.unique(axis=0)``.
    """
    if len(rows) == 0 or rows.shape[1] == 0:
        return np.zeros(len(rows), dtype=np.int64)
    radix = rows.max(axis=0).astype(np.int64) + 1
    if float(np.prod(radix.astype(np.float64))) < 2.0**62:
        weights = np.cumprod(np.concatenate([radix[1:], [1]])[::-1])[::-1]
        _, inverse = np.unique(rows.astype(np.int64) @ weights, return_inverse=True)
    else:
        _, inverse = np.unique(rows, axis=0, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64)
