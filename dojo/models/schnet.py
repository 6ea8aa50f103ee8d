"""SchNet: continuous-filter convolutions on pairwise distances (2-body, invariant)."""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor, nn
from torch.nn.functional import linear
from torch_geometric.data import Data
from torch_geometric.nn.models.schnet import GaussianSmearing, InteractionBlock, ShiftedSoftplus

from dojo.models import register
from dojo.models._cartesian import check_positive
from dojo.models.base import GeometricModel, ModelInfo
from dojo.models.radial import check_cutoff

__all__ = ["SchNet"]


@register("schnet")
class SchNet(GeometricModel):
    r"""SchNet of Schütt, Kindermans, Sauceda, Chmiela, Tkatchenko and Müller, "SchNet: A continuous-filter
    convolutional neural network for modeling quantum interactions", NeurIPS 2017 (https://arxiv.org/abs/1706.08566),
    built from PyG's blocks (``InteractionBlock``, ``CFConv``, ``GaussianSmearing``).

    Node features ``h_i`` start as an embedding of the node type; each interaction adds a continuous-filter
    convolution over the edges ``j -> i``:

    .. math::
        W_{ij} &= \mathrm{MLP}(\mathrm{rbf}(d_{ij}))\, C(d_{ij}), \qquad
            \mathrm{rbf}_k(d) = \exp(-\gamma (d - \mu_k)^2) \\
        h_i &\leftarrow h_i + \mathrm{Lin}(\mathrm{ssp}(\mathrm{Lin}(\textstyle\sum_{j} \mathrm{Lin}(h_j) \odot W_{ij})))

    with ``ssp`` the shifted softplus and ``C(d) = (cos(pi d / c) + 1) / 2`` the cosine cutoff of SchNet's 2018
    version (PyG's ``CFConv``; the 2017 paper has no cutoff). The node-wise output is the paper's atom-wise layer,
    ``ssp(Lin(h_i))`` of width ``hidden // 2``; the shared head replaces its final atom-wise layer after pooling.
    Every message depends on one distance: body order 2, bounded by IGWL_(2), blind to reflections (O(3)).

    Parameters
    ----------
    in_dim : int
        Number of node types.
    out_dim : int
        Output dimension of the head.
    num_layers : int
        Number of interaction blocks (the paper uses 3 on QM9, 6 in PyG's default).
    hidden : int
        Width of ``h`` (the paper uses 64; PyG and SchNetPack default to 128).
    equivariant_pred : bool
        Must be False: SchNet has no vector features.
    pool : "sum" or "mean"
        Graph pooling.
    num_filters : int
        Width of the filters ``W_ij`` (128).
    num_gaussians : int
        Number of Gaussians in ``rbf``, evenly spaced on ``[0, cutoff]`` (50, as in PyG).
    cutoff : float
        Cutoff ``c`` (10, as in PyG; edges reaching it raise ValueError rather than being silently ignored).
    """

    def __init__(self, in_dim: int, out_dim: int, num_layers: int = 6, hidden: int = 128,
                 equivariant_pred: bool = False, pool: Literal["sum", "mean"] = "sum", num_filters: int = 128,
                 num_gaussians: int = 50, cutoff: float = 10.0) -> None:
        super().__init__(in_dim, out_dim, equivariant_pred, pool)
        check_positive("schnet", num_layers=num_layers, hidden=hidden, num_filters=num_filters,
                       num_gaussians=num_gaussians)
        self.cutoff = cutoff
        self.embedding = nn.Embedding(in_dim, hidden)
        self.rbf = GaussianSmearing(0.0, cutoff, num_gaussians)
        self.interactions = nn.ModuleList(
            InteractionBlock(hidden, num_gaussians, num_filters, cutoff) for _ in range(num_layers))
        self.atomwise = nn.Sequential(nn.Linear(hidden, max(1, hidden // 2)), ShiftedSoftplus())
        self._build_head(f"{max(1, hidden // 2)}x0e", None)

    def reset_parameters(self) -> None:
        self.embedding.reset_parameters()
        for block in self.interactions:
            block.reset_parameters()
        self.atomwise[0].reset_parameters()

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(name="SchNet", kind="invariant", body_order=2, tensor_order=0, group="O(3)",
                         bounded_by="igwl-2", reference="Schütt et al., NeurIPS 2017, arXiv 1706.08566",
                         layer_bound="igwl-2")

    def node_features(self, batch: Data) -> tuple[Tensor, None]:
        j, i = batch.edge_index
        dist = (batch.pos[i] - batch.pos[j]).norm(dim=-1)
        check_cutoff(dist, self.cutoff, "schnet")
        h = self.embedding(batch.z)
        for block, filters in zip(self.interactions, self._filters(dist)):
            conv = block.conv  # PyG's CFConv with its message passing written out: gather, weight, scatter-add
            messages = conv.lin1(h).index_select(0, j) * filters
            aggregated = messages.new_zeros(h.size(0), messages.size(1)).index_add_(0, i, messages)
            h = h + block.lin(block.act(conv.lin2(aggregated)))
        return self.atomwise(h), None

    def _filters(self, dist: Tensor) -> Tensor:
        """The filters ``W_ij`` of every block, ``[num_layers, E, num_filters]``, in two batched products.

        Each block's filter network reads the same edge features, so the first layers of all blocks run as one
        matrix product (their weights stacked) and the second layers as one batched product; the cosine cutoff
        is computed once. Equal to calling each block's ``CFConv`` filter network in turn.
        """
        first = [block.mlp[0] for block in self.interactions]
        second = [block.mlp[2] for block in self.interactions]
        weight, bias = torch.cat([lin.weight for lin in first]), torch.cat([lin.bias for lin in first])
        hidden = linear(self.rbf(dist), weight, bias)
        hidden = self.interactions[0].mlp[1](hidden).unflatten(1, (len(first), -1)).transpose(0, 1)
        filters = torch.baddbmm(torch.stack([lin.bias for lin in second]).unsqueeze(1), hidden,
                                torch.stack([lin.weight for lin in second]).transpose(1, 2))
        return filters * (0.5 * (torch.cos(dist * math.pi / self.cutoff) + 1)).unsqueeze(-1)
