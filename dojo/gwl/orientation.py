"""Neighbourhood moments: at which tensor order does an equivariant layer see a neighbourhood's orientation?

A layer whose features stop at tensor order ``L`` sees node ``i``'s neighbourhood only through the moments
``m_l(i) = sum_j Y_l(x_ij / |x_ij|)`` for ``l <= L``. For an equivariant-task pair (two congruent graphs that
differ by a rotation, node for node) the orientation becomes visible at the lowest ``l`` where the moments of the
two graphs differ. An L-fold symmetric planar star has vanishing moments for ``0 < l < L`` except the parts that
are invariant under rotation about its axis, so ``rotsym(fold)`` answers ``fold``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from e3nn import o3

from counterexamples.pair import Pair
from dojo.graphs import check_graph

__all__ = ["orientation_order", "moments"]


def moments(graph, ell: int) -> torch.Tensor:
    """``m_l(i) = sum_j Y_l(x_ij / |x_ij|)`` for every node (e3nn real spherical harmonics, component-normalised).

    Computed in float64; zero-length edge vectors contribute nothing. Returns a tensor ``[N, 2l+1]``.
    """
    check_graph(graph)
    pos = graph.pos.to(torch.float64)
    src, dst = graph.edge_index
    vec = pos[dst] - pos[src]
    keep = vec.norm(dim=1) > 0
    sh = o3.spherical_harmonics(ell, vec[keep], normalize=True, normalization="component")
    out = torch.zeros(graph.num_nodes, 2 * ell + 1, dtype=torch.float64)
    return out.index_add_(0, src[keep], sh)


def orientation_order(pair, max_ell: int = 12, nodes: Sequence[int] | None = None, tol: float = 1e-6) -> int | None:
    """The lowest degree ``1 <= l <= max_ell`` at which the two graphs' neighbourhood moments differ, or None.

    Parameters
    ----------
    pair : Pair
        An equivariant-task pair: ``pair.b`` is ``pair.a`` rotated, node for node.
    max_ell : int
        Highest degree tried.
    nodes : sequence of int, optional
        The nodes whose moments are compared (non-empty, each in ``0..N-1``). Default: the nodes of largest degree
        (the centre of a star), whose neighbourhood orientation is what the pair asks about.
    tol : float
        Moments are compared in float64 (from the exact coordinates); two differ when some component differs by
        more than ``tol`` times the node's degree (each ``Y_l`` component is of order one). Finite and positive.

    Raises
    ------
    ValueError
        If ``pair`` is not a Pair or not an equivariant-task pair (an invariant-task pair's graphs are not one graph
        in two orientations, so the answer would mean nothing), the two graphs do not have the same nodes and edges,
        ``max_ell`` is not an integer >= 1, ``nodes`` is empty or names nodes outside ``0..N-1``, or ``tol`` is not
        a finite positive number.

    Examples
    --------
    >>> import counterexamples
    >>> orientation_order(counterexamples.load("rotsym", fold=3))   # a 3-fold star turned by 60 degrees
    3
    """
    if not isinstance(pair, Pair):
        raise ValueError(f"orientation_order: expected a counterexample Pair, got {type(pair).__name__}. "
                         "Fix: pass an equivariant-task pair, e.g. counterexamples.load('rotsym', fold=3).")
    if pair.task != "equivariant":
        raise ValueError(f"orientation_order({pair.name}): an {pair.task}-task pair; the orientation order is only "
                         "defined for equivariant-task pairs (one graph in two orientations). Fix: use such a pair "
                         "(e.g. 'rotsym-3'), or dojo.gwl.distinguish(pair) for an invariant-task pair.")
    if isinstance(max_ell, bool) or not isinstance(max_ell, int) or max_ell < 1:
        raise ValueError(f"orientation_order({pair.name}): max_ell must be an integer >= 1, got {max_ell!r}. "
                         "Fix: e.g. max_ell=12.")
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not math.isfinite(tol) or tol <= 0:
        raise ValueError(f"orientation_order({pair.name}): tol must be a finite positive number, got {tol!r}. "
                         "Fix: e.g. tol=1e-6 (the default).")
    a, b = pair.graphs(torch.float64)
    if a.num_nodes != b.num_nodes or not torch.equal(a.edge_index, b.edge_index):
        raise ValueError(f"orientation_order({pair.name}): the graphs must have the same nodes and edges "
                         "(an equivariant-task pair is one graph in two orientations). Fix: use such a pair.")
    degree = torch.bincount(a.edge_index[0], minlength=a.num_nodes)
    chosen = (degree == degree.max()).nonzero().flatten() if nodes is None else _node_indices(pair, nodes, a.num_nodes)
    scale = tol * degree[chosen].clamp(min=1).to(torch.float64)[:, None]
    for ell in range(1, max_ell + 1):
        if ((moments(a, ell)[chosen] - moments(b, ell)[chosen]).abs() > scale).any():
            return ell
    return None


def _node_indices(pair: Pair, nodes: Sequence[int], n: int) -> torch.Tensor:
    """``nodes`` as a long tensor, after checking that it is a non-empty sequence of integers in ``0..n-1``."""
    fix = (f"Fix: pass node indices between 0 and {n - 1}, e.g. nodes=[0], or leave nodes out (the largest-degree "
           "nodes).")
    if isinstance(nodes, (str, bytes)) or not isinstance(nodes, Sequence | torch.Tensor):
        raise ValueError(f"orientation_order({pair.name}): nodes must be a sequence of node indices, got "
                         f"{type(nodes).__name__}. {fix}")
    values = nodes.tolist() if isinstance(nodes, torch.Tensor) else list(nodes)
    if not values:
        raise ValueError(f"orientation_order({pair.name}): nodes is empty, so nothing would be compared. {fix}")
    bad = [v for v in values if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < n]
    if bad:
        raise ValueError(f"orientation_order({pair.name}): nodes {bad[:5]} are not node indices of its {n}-node "
                         f"graphs (0..{n - 1}; negative indices are not accepted). {fix}")
    return torch.tensor(values, dtype=torch.long)
