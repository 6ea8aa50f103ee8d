"""Rigid motions and node permutations of geometric graphs (float), for invariance checks and the protocols."""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.data import Data

from dojo.graphs import check_graph

__all__ = ["random_rotation", "rigid_motion", "permute", "random_copy"]


def random_rotation(generator: torch.Generator, dtype: torch.dtype = torch.float64, proper: bool = True) -> Tensor:
    """A Haar-random 3x3 orthogonal matrix: a rotation (det +1) if ``proper``, else a reflection (det -1)."""
    q, r = torch.linalg.qr(torch.randn(3, 3, generator=generator, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r))  # the sign fix makes the QR factor Haar-distributed
    if (torch.det(q) > 0) != proper:
        q = q * torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)
    return q.to(dtype)


def rigid_motion(graph: Data, rotation: Tensor, translation: Tensor | None = None) -> Data:
    """A copy of ``graph`` with positions ``pos @ rotation.T + translation`` (computed in the graph's dtype)."""
    out = graph.clone()
    pos = graph.pos @ rotation.to(graph.pos.dtype).T
    out.pos = pos if translation is None else pos + translation.to(pos.dtype)
    return out


def permute(graph: Data, perm: Tensor) -> Data:
    """A copy of ``graph`` whose node ``i`` is the old node ``perm[i]``; edges are relabelled to match."""
    check_graph(graph)
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(perm.numel())
    out = graph.clone()
    out.z, out.pos = graph.z[perm], graph.pos[perm]
    out.edge_index = inverse[graph.edge_index]
    return out


def random_copy(graph: Data, generator: torch.Generator, proper: bool = True, scale: float = 10.0) -> Data:
    """``graph`` moved by a random rotation (or reflection when not ``proper``), translated and permuted."""
    rotation = random_rotation(generator, proper=proper)
    translation = scale * torch.randn(3, generator=generator, dtype=torch.float64)
    perm = torch.randperm(graph.num_nodes, generator=generator)
    return permute(rigid_motion(graph, rotation, translation), perm)
