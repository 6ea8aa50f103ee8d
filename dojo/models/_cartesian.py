"""Pieces shared by the Cartesian-vector models (E-GNN, GVP-GNN, PaiNN): edge geometry and the vector layout.

These models keep vector channels as ``[N, C, 3]`` tensors in (x, y, z) order. The zoo's interface returns them as
e3nn irreps ``"Cx1o"``, channel after channel. In e3nn 0.6 the components of a ``1o`` irrep are in (x, y, z) order
too (``Irreps("1o").D_from_matrix(R)`` is ``R`` itself; some older releases used (y, z, x)), so
``embed_irreps.D_from_matrix(R)`` is exactly how a rotation or reflection ``R`` acts on them.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["check_positive", "edge_vectors", "mean_weights", "as_irreps", "safe_norm"]


def check_positive(model: str, **sizes: int) -> None:
    """Raise a ``ValueError`` naming the fix if a layer count or width is not a positive integer.

    Examples
    --------
    >>> check_positive("painn", num_layers=3, hidden=0)
    Traceback (most recent call last):
    ...
    ValueError: painn: hidden must be an integer >= 1, got 0. Fix: pass a positive integer (e.g. the default).
    """
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{model}: {name} must be an integer >= 1, got {value!r}. "
                             "Fix: pass a positive integer (e.g. the default).")

def edge_vectors(pos: Tensor, edge_index: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Relative positions ``x_ij = x_j - x_i`` of every edge ``j -> i``, their lengths and unit directions.

    Coincident points get length 0 and the zero vector as direction (not NaN), with finite gradients: there is no
    direction to see, and the zero vector is the only choice that every rotation and reflection agrees on.

    Parameters
    ----------
    pos : Tensor [N, 3]
        Node positions.
    edge_index : Tensor [2, E]
        Edges ``(j, i)``: messages flow from ``edge_index[0]`` to ``edge_index[1]`` (PyG's source-to-target flow).

    Returns
    -------
    (Tensor [E, 3], Tensor [E], Tensor [E, 3])
        ``x_ij``, ``|x_ij|`` and ``x_ij / |x_ij|`` (zero where ``|x_ij| = 0``).
    """
    j, i = edge_index
    vec = pos[j] - pos[i]
    length = torch.linalg.vector_norm(vec, dim=-1)
    # Divide by 1 where the length is 0, so that neither the value nor its gradient is NaN.
    unit = vec / torch.where(length > 0, length, torch.ones_like(length)).unsqueeze(-1)
    return vec, length, unit


def mean_weights(edge_index: Tensor, num_nodes: int, dtype: torch.dtype) -> Tensor:
    """``1 / |N(i)|`` for every edge ``j -> i``, as ``[E, 1]``: a sum of weighted messages is then their mean.

    Computed once per forward pass and shared by all layers, instead of counting neighbours in every layer's
    mean aggregation.
    """
    i = edge_index[1]
    degree = torch.zeros(num_nodes, dtype=dtype, device=i.device).index_add_(0, i, torch.ones_like(i, dtype=dtype))
    return degree.reciprocal()[i].unsqueeze(-1)


def safe_norm(vectors: Tensor, dim: int = -1, eps: float = 1e-8, keepdim: bool = False) -> Tensor:
    """``sqrt(max(|v|^2, eps))`` along ``dim``: the norm, but with a finite gradient at the zero vector.

    Vector channels start at zero in GVP-GNN and PaiNN, where the gradient of ``sqrt(|v|^2)`` is infinite; clamping
    the squared norm at ``eps`` (as the GVP and PaiNN reference implementations do) keeps training finite.
    (Written out rather than ``torch.linalg.vector_norm``, which is ~15x slower on CPU over a non-last axis.)
    """
    return vectors.square().sum(dim, keepdim=keepdim).clamp_min(eps).sqrt()


def as_irreps(vectors: Tensor) -> Tensor:
    """``[N, C, 3]`` Cartesian vector channels as ``[N, 3C]`` laid out like the e3nn irreps ``"Cx1o"``.

    Examples
    --------
    >>> as_irreps(torch.tensor([[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]]))
    tensor([[1., 2., 3., 4., 5., 6.]])
    """
    return vectors.flatten(1)
