"""Neighbourhood moments: at which tensor order does an equivariant layer see a neighbourhood's orientation?

A layer whose features stop at tensor order ``L`` sees node ``i``'s neighbourhood only through the moments
``m_l(i) = sum_j Y_l(x_ij / |x_ij|)`` for ``l <= L``. For an equivariant-task pair (two congruent graphs that
differ by a rotation, node for node) the orientation becomes visible at the lowest ``l`` where the moments of the
two graphs differ. An L-fold symmetric planar star has vanishing moments for ``0 < l < L`` except the parts that
are invariant under rotation about its axis, so ``rotsym(fold)`` answers ``fold``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from e3nn import o3

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
        The nodes whose moments are compared. Default: the nodes of largest degree (the centre of a star), whose
        neighbourhood orientation is what the pair asks about.
    tol : float
        Moments are compared in float64 (from the exact coordinates); two differ when some component differs by
        more than ``tol`` times the node's degree (each ``Y_l`` component is of order one).

    Raises
    ------
    ValueError
        If the two graphs do not have the same nodes and edges, or ``max_ell < 1``.

    Examples
    --------
    >>> import counterexamples
    >>> orientation_order(counterexamples.load("rotsym", fold=3))   # a 3-fold star turned by 60 degrees
    3
    """
    if max_ell < 1:
        raise ValueError(f"max_ell must be >= 1, got {max_ell}. Fix: e.g. max_ell=12.")
    a, b = pair.graphs(torch.float64)
    if a.num_nodes != b.num_nodes or not torch.equal(a.edge_index, b.edge_index):
        raise ValueError(f"orientation_order({pair.name}): the graphs must have the same nodes and edges "
                         "(an equivariant-task pair is one graph in two orientations). Fix: use such a pair.")
    degree = torch.bincount(a.edge_index[0], minlength=a.num_nodes)
    chosen = (degree == degree.max()).nonzero().flatten() if nodes is None else torch.as_tensor(list(nodes))
    scale = tol * degree[chosen].clamp(min=1).to(torch.float64)[:, None]
    for ell in range(1, max_ell + 1):
        if ((moments(a, ell)[chosen] - moments(b, ell)[chosen]).abs() > scale).any():
            return ell
    return None
