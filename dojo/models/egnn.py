"""E-GNN: E(n) equivariant graph neural network, with position updates."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn
from torch_geometric.data import Data

from dojo.models import register
from dojo.models._cartesian import as_irreps, check_positive, mean_weights
from dojo.models.base import GeometricModel, ModelInfo, mlp

__all__ = ["EGNN"]


@register("egnn")
class EGNN(GeometricModel):
    r"""E-GNN of Satorras, Hoogeboom and Welling, "E(n) Equivariant Graph Neural Networks", ICML 2021
    (https://arxiv.org/abs/2102.09844), equations (3)-(6), with the node-update residual of its Appendix C.

    Each layer updates invariant node features ``h`` and the positions ``x`` themselves:

    .. math::
        m_{ij} &= \phi_e(h_i, h_j, \lVert x_i - x_j \rVert^2) \\
        x_i &\leftarrow x_i + \tfrac{1}{|N(i)|} \textstyle\sum_{j \in N(i)} (x_i - x_j)\, \phi_x(m_{ij}) \\
        m_i &= \textstyle\sum_{j \in N(i)} m_{ij} \\
        h_i &\leftarrow h_i + \phi_h(h_i, m_i)

    with ``h_i`` initialised as an embedding of the node type. The paper's ``C = 1/(M - 1)`` on a fully connected
    graph of ``M`` nodes is the mean over the neighbours, which is what is used here for any graph. Messages are
    2-body (``h_i``, ``h_j`` and one distance), but the updated positions carry relative orientation between
    layers, so E-GNN is equivariant and bounded by GWL.

    The node-wise vector feature (``"1x1o"``) is each node's total displacement ``x_i^L - x_i^0``: translation
    invariant and rotation/reflection equivariant, and it is what ``equivariant_pred=True`` pools. Without
    ``equivariant_pred`` nothing reads the last layer's position update, so that layer does not compute one.

    Parameters
    ----------
    in_dim : int
        Number of node types.
    out_dim : int
        Output dimension of the head.
    num_layers : int
        Number of E-GNN layers (the paper uses 7 on QM9).
    hidden : int
        Width of ``h`` and of the messages (the paper uses 128).
    equivariant_pred : bool
        Whether the head also reads the pooled displacements.
    pool : "sum" or "mean"
        Graph pooling.
    """

    def __init__(self, in_dim: int, out_dim: int, num_layers: int = 7, hidden: int = 128,
                 equivariant_pred: bool = False, pool: Literal["sum", "mean"] = "sum") -> None:
        check_positive("egnn", num_layers=num_layers, hidden=hidden)
        super().__init__(in_dim, out_dim, equivariant_pred, pool)
        self.embedding = nn.Embedding(in_dim, hidden)
        self.layers = nn.ModuleList(
            EGNNLayer(hidden, update_pos=equivariant_pred or layer < num_layers - 1) for layer in range(num_layers))
        self._build_head(f"{hidden}x0e", "1x1o")

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(
            name="E-GNN", kind="equivariant", body_order=2, tensor_order=1, group="O(3)", bounded_by="gwl",
            reference="Satorras, Hoogeboom, Welling, ICML 2021, arXiv 2102.09844", layer_bound="igwl-2")

    def node_features(self, batch: Data) -> tuple[Tensor, Tensor]:
        h = self.embedding(batch.z)
        j, i = batch.edge_index
        diff0 = batch.pos.index_select(0, i) - batch.pos.index_select(0, j)
        weight = mean_weights(batch.edge_index, h.size(0), diff0.dtype)
        disp = None  # no displacement yet
        for layer in self.layers:
            h, disp = layer(h, disp, diff0, weight, batch.edge_index)
        if disp is None:  # a single layer that does not move the nodes
            disp = torch.zeros_like(batch.pos)
        return h, as_irreps(disp.unsqueeze(1))


class EGNNLayer(nn.Module):
    """One E-GNN layer: messages ``m_ij``, the position update (if ``update_pos``) and the residual node update."""

    def __init__(self, hidden: int, update_pos: bool = True) -> None:
        super().__init__()
        self.phi_e = nn.Sequential(mlp([2 * hidden + 1, hidden, hidden]), nn.SiLU())
        # No bias on phi_x's last layer, as in the authors' implementation: a bias b moves each node by
        # b (x_i - mean_j x_j), which sums to zero over any regular graph (a ring, a clique), so the pooled
        # displacement could not train it.
        self.phi_x = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 1, bias=False)
                                   ) if update_pos else None
        self.phi_h = mlp([2 * hidden, hidden, hidden])
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Linear):
                module.reset_parameters()
        if self.phi_x is not None:
            # The authors' implementation starts the position update near zero (Xavier, gain 0.001) for stability.
            nn.init.xavier_uniform_(self.phi_x[-1].weight, gain=0.001)

    def forward(self, h: Tensor, disp: Tensor | None, diff0: Tensor, weight: Tensor, edge_index: Tensor
                ) -> tuple[Tensor, Tensor | None]:
        """Update ``h`` and the displacements ``disp = x - x^0`` (``None`` while they are zero, and kept ``None``
        by a layer that does not update positions).

        ``diff0`` holds the input ``x_i^0 - x_j^0`` per edge, ``weight`` the ``1/|N(i)|`` per edge. Working with
        displacements rather than positions keeps the small position updates exact in float32 (no ``(x + dx) - x``
        cancellation) and makes translation invariance hold by construction.
        """
        j, i = edge_index
        diff = diff0 if disp is None else diff0 + (disp.index_select(0, i) - disp.index_select(0, j))
        h_i, h_j = h.index_select(0, i), h.index_select(0, j)
        m_ij = self.phi_e(torch.cat([h_i, h_j, diff.square().sum(-1, keepdim=True)], dim=-1))
        m_i = m_ij.new_zeros(h.size(0), m_ij.size(1)).index_add_(0, i, m_ij)
        if self.phi_x is not None:
            dx = diff * (self.phi_x(m_ij) * weight)
            disp = dx.new_zeros(h.size(0), 3).index_add_(0, i, dx) if disp is None else disp.index_add(0, i, dx)
        return h + self.phi_h(torch.cat([h, m_i], dim=-1)), disp
