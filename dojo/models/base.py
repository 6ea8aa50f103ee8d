"""What every model of the zoo shares: its metadata, the pooling and the prediction head."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
from e3nn import o3
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.nn import global_add_pool, global_mean_pool

from dojo.graphs import check_graph
from dojo.models._cartesian import check_positive

__all__ = ["ModelInfo", "EmbeddingModel", "GeometricModel", "mlp", "graph_index"]


@dataclass(frozen=True)
class ModelInfo:
    """What theory says about an architecture, as configured.

    Attributes
    ----------
    name : str
        Display name (``"DimeNet++"``).
    kind : "invariant" or "equivariant"
        Whether layers pass only scalars between nodes or also geometric (vector/tensor) features.
    body_order : int or None
        Body order of one layer's message aggregation (2 = pairwise distances; None = unbounded).
    tensor_order : int
        Highest tensor order (spherical-harmonic degree) of the features passed between nodes.
    group : "O(3)" or "SO(3)"
        The group the model is invariant/equivariant under: "SO(3)" models can see chirality.
    bounded_by : str or None
        The GWL-family test (a name in ``counterexamples.TESTS``) that upper-bounds what the model can separate at
        any depth; None when nothing is declared (tables then show "no theory").
    reference : str
        The paper it follows.
    layer_bound : str or None
        A sharper bound for one layer: the test whose first iteration bounds the invariant readout after one
        layer (``igwl-3`` for a layer that aggregates 3-body information); None when only ``bounded_by`` applies
        (DimeNet++ and SphereNet group their angles edge by edge, so one block already reaches IGWL).
    """

    name: str
    kind: Literal["invariant", "equivariant"]
    body_order: int | None
    tensor_order: int
    group: Literal["O(3)", "SO(3)"]
    bounded_by: str | None
    reference: str
    layer_bound: str | None = None


def mlp(dims: list[int], act: type[nn.Module] = nn.SiLU) -> nn.Sequential:
    """A plain MLP: Linear layers with ``act`` between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (d_in, d_out) in enumerate(zip(dims, dims[1:])):
        layers.append(nn.Linear(d_in, d_out))
        if i < len(dims) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


def graph_index(batch: Data) -> tuple[Tensor, int]:
    """Each node's graph (``batch.batch``, zeros for a lone ``Data``) and the number of graphs."""
    index = batch.batch if batch.get("batch") is not None else torch.zeros_like(batch.z)
    return index, int(batch.num_graphs) if hasattr(batch, "num_graphs") else 1


class EmbeddingModel(nn.Module, ABC):
    """What the protocols run: a graph embedding ``embed(batch) -> [num_graphs, embed_irreps.dim]``, its metadata
    ``info``, and an MLP ``head`` on top (``forward``). The zoo's :class:`GeometricModel` and the wrapper of a
    user's model (:class:`dojo.models.wrap.Wrapped`) are the two kinds.
    """

    def __init__(self, in_dim: int, out_dim: int, equivariant_pred: bool = False) -> None:
        super().__init__()
        check_positive(getattr(self, "key", type(self).__name__), in_dim=in_dim, out_dim=out_dim)
        self.in_dim = in_dim
        self.out_dim = out_dim
        self.equivariant_pred = equivariant_pred

    @property
    @abstractmethod
    def info(self) -> ModelInfo:
        """The architecture's metadata, as configured."""

    @abstractmethod
    def embed(self, batch: Data) -> Tensor:
        """The graph embedding ``[num_graphs, embed_irreps.dim]`` that the head reads."""

    def check_batch(self, batch: Data) -> None:
        """Raise ValueError, naming the fix, for a graph this model cannot take: broken conventions, node types
        beyond ``in_dim``, or positions in another float dtype than the parameters."""
        check_graph(batch, "batch")
        top = int(batch.z.max())
        if top >= self.in_dim:
            raise ValueError(f"batch: node type {top} but the model was built for in_dim={self.in_dim} types "
                             f"(0..{self.in_dim - 1}). Fix: build it with in_dim={top + 1} or more.")
        weight = next((p for p in self.parameters() if p.is_floating_point()), None)
        if weight is not None and weight.dtype != batch.pos.dtype:
            raise ValueError(f"batch: `pos` is {batch.pos.dtype} but the model's parameters are {weight.dtype}. Fix: "
                             f"convert the model with model.to({batch.pos.dtype}), or the graph with "
                             f"graph.pos = graph.pos.to({weight.dtype}).")

    def forward(self, batch: Data) -> Tensor:
        """Predictions ``[num_graphs, out_dim]``."""
        return self.head(self.embed(batch))


class GeometricModel(EmbeddingModel):
    """Base class of the zoo: subclasses compute node features, this class pools them and applies the head.

    A subclass sets ``scalar_irreps`` (the node-wise invariant features it returns, e.g. ``"64x0e"``, with
    ``0o`` pseudo-scalars for chirality-aware models) and ``vector_irreps`` (its node-wise equivariant features,
    e.g. ``"16x1o"``, or ``None``), then calls :meth:`_build_head`. It implements :meth:`node_features` and
    :attr:`info`.

    ``embed(batch)`` pools node features into the graph embedding, which transforms under a rotation or
    reflection ``R`` by ``embed_irreps.D_from_matrix(R)``: only scalars by default, scalars followed by the pooled
    equivariant features with ``equivariant_pred=True`` (orientation tasks). ``forward`` applies an MLP head.
    """

    key: ClassVar[str]

    def __init__(self, in_dim: int, out_dim: int, equivariant_pred: bool = False,
                 pool: Literal["sum", "mean"] = "sum") -> None:
        if pool not in ("sum", "mean"):
            raise ValueError(f"pool must be 'sum' or 'mean', got {pool!r}. Fix: pool='sum' or pool='mean'.")
        super().__init__(in_dim, out_dim, equivariant_pred)
        self.pool = pool

    def _build_head(self, scalar_irreps: str | o3.Irreps, vector_irreps: str | o3.Irreps | None) -> None:
        self.scalar_irreps = o3.Irreps(scalar_irreps)
        self.vector_irreps = None if vector_irreps is None else o3.Irreps(vector_irreps)
        if self.equivariant_pred and self.vector_irreps is None:
            raise ValueError(f"{type(self).__name__} is invariant: it has no vector features for equivariant_pred. "
                             "Fix: use an equivariant model (egnn, gvp, painn, tfn, mace) or equivariant_pred=False.")
        self.embed_irreps = self.scalar_irreps + (self.vector_irreps if self.equivariant_pred else o3.Irreps(""))
        hidden = self.scalar_irreps.dim
        self.head = mlp([self.embed_irreps.dim, hidden, self.out_dim])

    @abstractmethod
    def node_features(self, batch: Data) -> tuple[Tensor, Tensor | None]:
        """Node-wise ``(scalars [N, scalar_irreps.dim], vectors [N, vector_irreps.dim] or None)``."""

    def embed(self, batch: Data) -> Tensor:
        """The graph embedding ``[num_graphs, embed_irreps.dim]`` that the head reads."""
        self.check_batch(batch)
        scalars, vectors = self.node_features(batch)
        index, size = graph_index(batch)
        pool = global_add_pool if self.pool == "sum" else global_mean_pool
        parts = [pool(scalars, index, size)]
        if self.equivariant_pred:
            parts.append(pool(vectors, index, size))
        return torch.cat(parts, dim=-1)
