"""What DimeNet++ and SphereNet share: triplets ``k -> j -> i`` in plain torch, angles, and the type embedding.

Written here because PyG's ``DimeNet.triplets`` needs torch-sparse, which has no wheel for the torch we support.
An edge ``e = (j, i)`` of ``edge_index`` is the message direction ``j -> i`` (PyG's convention).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch_geometric.nn.models.dimenet import EmbeddingBlock

__all__ = ["triplets", "pairs_in_groups", "safe_unit", "legendre", "TypeEmbeddingBlock"]


def _ragged_arange(counts: Tensor) -> tuple[Tensor, Tensor]:
    """For ``counts = [2, 0, 3]``: owners ``[0, 0, 2, 2, 2]`` and offsets ``[0, 1, 0, 1, 2]``."""
    owner = torch.repeat_interleave(torch.arange(counts.numel(), device=counts.device), counts)
    start = torch.cumsum(counts, 0) - counts
    return owner, torch.arange(owner.numel(), device=counts.device) - start[owner]


def triplets(edge_index: Tensor, num_nodes: int) -> tuple[Tensor, Tensor]:
    """Every pair of edges ``(k -> j, j -> i)`` with ``k != i``, as edge indices ``(idx_kj, idx_ji)``.

    The triplets come grouped by ``idx_ji`` (sorted), which :func:`pairs_in_groups` relies on.

    Examples
    --------
    >>> edge_index = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])  # the path 0 - 1 - 2: edges 0->1, 1->0, 1->2, 2->1
    >>> [t.tolist() for t in triplets(edge_index, 3)]  # 2->1->0 and 0->1->2
    [[3, 0], [1, 2]]
    """
    j, i = edge_index
    order = torch.argsort(i, stable=True)  # edges grouped by their target
    in_degree = torch.bincount(i, minlength=num_nodes)
    first_in = torch.cumsum(in_degree, 0) - in_degree
    idx_ji, offset = _ragged_arange(in_degree[j])  # for each edge j -> i, every edge into j
    idx_kj = order[first_in[j[idx_ji]] + offset]
    keep = j[idx_kj] != i[idx_ji]
    return idx_kj[keep], idx_ji[keep]


def pairs_in_groups(group: Tensor) -> tuple[Tensor, Tensor]:
    """All ordered pairs ``(a, b)`` of positions with ``group[a] == group[b]``, for a sorted ``group``.

    Examples
    --------
    >>> [t.tolist() for t in pairs_in_groups(torch.tensor([0, 0, 2]))]
    [[0, 0, 1, 1, 2], [0, 1, 0, 1, 2]]
    """
    size = torch.bincount(group)
    first = torch.cumsum(size, 0) - size
    a, offset = _ragged_arange(size[group])
    return a, first[group[a]] + offset


def safe_unit(vec: Tensor) -> tuple[Tensor, Tensor]:
    """``(vec / |vec|, |vec|)`` along the last axis, with the zero vector mapped to zero (coincident points)."""
    norm = torch.linalg.vector_norm(vec, dim=-1, keepdim=True)
    return vec / norm.clamp(min=torch.finfo(vec.dtype).tiny), norm.squeeze(-1)


def legendre(cos: Tensor, num: int) -> Tensor:
    r"""``Y_l^0 = sqrt((2l+1)/(4 pi)) P_l(cos)`` for ``l = 0..num-1``, stacked last: the real spherical harmonics of
    order ``m = 0``, which is all an angle (no torsion) can feed. Bonnet's recurrence, exact at ``cos = +-1``.

    Examples
    --------
    >>> y = legendre(torch.tensor([1.0]), 3) * math.sqrt(4 * math.pi)
    >>> [round(v, 4) for v in y[0].tolist()]
    [1.0, 1.7321, 2.2361]
    """
    p = [torch.ones_like(cos), cos]
    for l in range(1, num - 1):
        p.append(((2 * l + 1) * cos * p[l] - l * p[l - 1]) / (l + 1))
    norm = torch.tensor([math.sqrt((2 * l + 1) / (4 * math.pi)) for l in range(num)], dtype=cos.dtype)
    return torch.stack(p[:num], dim=-1) * norm


class TypeEmbeddingBlock(EmbeddingBlock):
    """PyG's DimeNet embedding block (``e_ji = act(W [h_j, h_i, act(W_rbf rbf(d_ji))])``) with ``in_dim`` node types
    instead of its fixed 95 atomic numbers."""

    def __init__(self, in_dim: int, num_radial: int, hidden: int, act) -> None:
        super().__init__(num_radial, hidden, act)
        self.emb = nn.Embedding(in_dim, hidden)
        self.reset_parameters()
