"""GVP-GNN: message passing with geometric vector perceptrons on scalar and vector channels."""

from __future__ import annotations

from typing import Literal, NamedTuple

import torch
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.nn.models.schnet import GaussianSmearing

from dojo.models import register
from dojo.models._cartesian import as_irreps, check_positive, edge_vectors, mean_weights, safe_norm
from dojo.models.base import GeometricModel, ModelInfo, graph_index

__all__ = ["GVPGNN"]


@register("gvp")
class GVPGNN(GeometricModel):
    r"""GVP-GNN of Jing, Eismann, Suriana, Townshend and Dror, "Learning from Protein Structure with Geometric
    Vector Perceptrons", ICLR 2021 (https://arxiv.org/abs/2009.01411), Section 3 and Algorithm 1; by default with
    the vector gating of Jing, Eismann, Soni and Dror, "Equivariant Graph Neural Networks for 3D Macromolecular
    Structure", 2021 (https://arxiv.org/abs/2106.03843).

    A node carries scalars ``s`` (``hidden``) and vector channels ``V`` (``vector_dim``), an edge scalars (a
    Gaussian expansion of its length) and vectors (its unit direction ``x_ij / |x_ij|``), both embedded by a
    :class:`GVP`. A GVP maps ``(s, V)`` to ``(s', V')``:

    .. math::
        V_h = W_h V, \quad V_\mu = W_\mu V_h, \quad s_m = W_m [s, \lVert V_h \rVert] + b, \quad s' = \sigma(s_m), \\
        V' = \sigma^+(\lVert V_\mu \rVert) \odot V_\mu
        \quad\text{or, vector-gated,}\quad V' = \sigma_g(W_g \sigma^+(s_m) + b_g) \odot V_\mu

    with ``sigma = ReLU`` and ``sigma^+ = sigma_g = sigmoid``, norms taken per vector channel. Each layer is

    .. math::
        h_m^{(j \to i)} &= g\big([h_V^{(j)}, h_E^{(j \to i)}, h_V^{(i)}]\big) \\
        h_V^{(i)} &\leftarrow \mathrm{LayerNorm}\big(h_V^{(i)} + \tfrac{1}{k'} \textstyle\sum_{j} h_m^{(j \to i)}\big) \\
        h_V^{(i)} &\leftarrow \mathrm{LayerNorm}\big(h_V^{(i)} + g_{ff}(h_V^{(i)})\big)

    with ``g`` three GVPs (the last without activations), ``g_ff`` two GVPs through ``(4 hidden, 2 vector_dim)``
    channels, and ``k'`` the number of neighbours. A final LayerNorm and a GVP to scalars only (the paper's
    ``W_out``) make the node-wise invariant features, reading the vectors through their norms. Node scalars start
    as an embedding of the node type, node vectors at zero.

    Body order: a GVP's norms of mixed vector channels hold inner products of a neighbour's vectors with the edge
    direction (angles), so a layer is 3-body; vector channels carry orientation between layers, so GVP-GNN is
    bounded by GWL. No cross products: O(3). ``node_features`` returns ``W_out``'s scalars (``"hiddenx0e"``) and
    the last layer's vectors (``"vector_dimx1o"``).

    Deviations from the papers: node and edge inputs are the node type and the edge geometry only (no protein
    features such as dihedrals or sequence offsets); edges' Gaussians are PyG's ``GaussianSmearing`` (16 on
    ``[0, 20]``, width the spacing; the authors' code uses width 20/16); the message reads the receiving node's
    ``h_V^{(i)}`` besides ``h_V^{(j)}`` and the edge, as the authors' code and the GWL paper's models do (the
    paper's equation leaves it out); the vector LayerNorm's floor is relative to the graph (see
    :class:`GVPLayerNorm`); no dropout (a regulariser, not part of what the layers can express).

    Parameters
    ----------
    in_dim : int
        Number of node types.
    out_dim : int
        Output dimension of the head.
    num_layers : int
        Number of GVP-GNN layers (3 in the papers).
    hidden : int
        Node scalar channels (100 in the papers).
    equivariant_pred : bool
        Whether the head also reads the pooled vector channels.
    pool : "sum" or "mean"
        Graph pooling.
    vector_dim : int
        Node vector channels (16 in the papers).
    edge_dims : (int, int)
        Edge scalar and vector channels after embedding ((32, 1) in the papers).
    num_rbf : int
        Gaussians in the expansion of edge lengths on ``[0, 20]`` (16 in the papers).
    vector_gate : bool
        Gate vectors by the scalars (the 2021 variant, default) instead of by their own norms (the ICLR paper).
    """

    def __init__(self, in_dim: int, out_dim: int, num_layers: int = 3, hidden: int = 100,
                 equivariant_pred: bool = False, pool: Literal["sum", "mean"] = "sum", vector_dim: int = 16,
                 edge_dims: tuple[int, int] = (32, 1), num_rbf: int = 16, vector_gate: bool = True) -> None:
        check_positive("gvp", num_layers=num_layers, hidden=hidden,
                       vector_dim=vector_dim, edge_scalars=edge_dims[0], edge_vectors=edge_dims[1], num_rbf=num_rbf)
        super().__init__(in_dim, out_dim, equivariant_pred, pool)
        node_dims = (hidden, vector_dim)
        self.vector_dim = vector_dim
        self.embedding = nn.Embedding(in_dim, hidden)
        self.rbf = GaussianSmearing(0.0, 20.0, num_rbf)
        self.edge_embedding = GVP((num_rbf, 1), tuple(edge_dims), activations=False, vector_gate=vector_gate)
        self.layers = nn.ModuleList(GVPConvLayer(node_dims, tuple(edge_dims), vector_gate) for _ in range(num_layers))
        self.out_norm = GVPLayerNorm(hidden)
        self.out = GVP(node_dims, (hidden, 0), vector_gate=vector_gate)
        self._build_head(f"{hidden}x0e", f"{vector_dim}x1o")

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(
            name="GVP-GNN", kind="equivariant", body_order=3, tensor_order=1, group="O(3)", bounded_by="gwl",
            reference="Jing et al., ICLR 2021, arXiv 2009.01411 (vector gating: arXiv 2106.03843)",
            layer_bound="igwl-3")

    def node_features(self, batch: Data) -> tuple[Tensor, Tensor]:
        _, dist, unit = edge_vectors(batch.pos, batch.edge_index)
        edge_s, edge_v = self.edge_embedding(self.rbf(dist), unit.T.unsqueeze(-1))
        s = self.embedding(batch.z)
        # Vector channels are kept component-major, as [3, N, C]: the channel-mixing maps act on the last axis, and
        # per-channel gates [N, C] broadcast over the components without reshaping.
        v = s.new_zeros(3, s.size(0), self.vector_dim)
        graph = _Graph.of(batch, edge_s, edge_v)
        for layer in self.layers:
            s, v = layer(s, v, graph)
        scalars, _ = self.out(*self.out_norm(s, v, graph))
        return scalars, as_irreps(v.permute(1, 2, 0))


class _Graph(NamedTuple):
    """What every layer reads of the batch, computed once per forward pass instead of in every layer or norm.

    ``edge_s`` [E, es] and ``edge_v`` [3, E, ev] are the embedded edges, ``source_target`` [2E] each edge's
    ``(j, i)`` in turn (one gather then gives ``[h^(j), h^(i)]`` side by side), ``target`` [E] the ``i``,
    ``weight`` [E, 1] is ``1/k'``, ``graph`` [N] each node's graph and ``graph_mean`` [G, N] averages over each
    graph's nodes and multiplies by :data:`GVPLayerNorm.FLOOR` (one matrix product instead of a scatter).
    """

    edge_s: Tensor
    edge_v: Tensor
    source_target: Tensor
    target: Tensor
    weight: Tensor
    graph: Tensor
    graph_mean: Tensor

    @classmethod
    def of(cls, batch: Data, edge_s: Tensor, edge_v: Tensor) -> _Graph:
        graph, num_graphs = graph_index(batch)
        members = (graph == torch.arange(num_graphs, device=graph.device).unsqueeze(-1)).to(edge_s.dtype)
        graph_mean = members * (GVPLayerNorm.FLOOR / members.sum(dim=1, keepdim=True))
        return cls(edge_s, edge_v, batch.edge_index.T.reshape(-1), batch.edge_index[1],
                   mean_weights(batch.edge_index, batch.num_nodes, edge_s.dtype), graph, graph_mean)


class GVP(nn.Module):
    """A geometric vector perceptron ``(s, V) -> (s', V')`` on ``[N, si]`` scalars and ``[3, N, vi]`` vectors.

    ``activations=False`` leaves out ``sigma`` and ``sigma^+`` (the vector gate, if any, still applies, as in the
    authors' code); ``out_dims[1] = 0`` makes a GVP to scalars only, which returns ``None`` as vectors.

    Weights are stored as ``[in, out]`` parameters used directly (``x @ w``: no ``nn.Linear`` call, no transpose
    in forward or backward). ``W_m`` stays one matrix on the concatenation ``[s, |V_h|]``: its two blocks as two
    products cost two more matrix products in backward than the concatenation saves (measured, ~3% of a step).
    """

    def __init__(self, in_dims: tuple[int, int], out_dims: tuple[int, int], activations: bool = True,
                 vector_gate: bool = True) -> None:
        super().__init__()
        (si, vi), (so, vo) = in_dims, out_dims
        h = max(vi, vo)
        self.activations = activations
        self.w_h = nn.Parameter(torch.empty(vi, h))
        self.w_m = nn.Parameter(torch.empty(si + h, so))
        self.b_m = nn.Parameter(torch.empty(so))
        self.w_mu = nn.Parameter(torch.empty(h, vo)) if vo else None
        self.w_g = nn.Parameter(torch.empty(so, vo)) if vo and vector_gate else None
        self.b_g = nn.Parameter(torch.empty(vo)) if vo and vector_gate else None
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Each of ``W_h, W_m, W_mu, W_g`` (and its bias) uniform on ``±1/sqrt(fan_in)``, as ``nn.Linear`` initialises
        it (Kaiming-uniform with ``a = sqrt(5)`` is that bound)."""
        layers = [(self.w_h,), (self.w_m, self.b_m), (self.w_mu,), (self.w_g, self.b_g)]
        for params in layers:
            if params[0] is not None:
                bound = params[0].size(0) ** -0.5
                for p in params:
                    p.uniform_(-bound, bound)

    def forward(self, s: Tensor, v: Tensor) -> tuple[Tensor, Tensor | None]:
        v_h = v @ self.w_h
        s_m = torch.addmm(self.b_m, torch.cat([s, safe_norm(v_h, dim=0)], dim=-1), self.w_m)
        s_out = torch.relu(s_m) if self.activations else s_m
        if self.w_mu is None:
            return s_out, None
        v_mu = v_h @ self.w_mu
        if self.w_g is not None:
            gate = torch.addmm(self.b_g, torch.sigmoid(s_m) if self.activations else s_m, self.w_g)
            return s_out, v_mu * gate.sigmoid_()
        if self.activations:
            return s_out, v_mu * torch.sigmoid(safe_norm(v_mu, dim=0))
        return s_out, v_mu


class GVPLayerNorm(nn.Module):
    """LayerNorm of the scalars; vectors divided by the root-mean-square norm of their channels (no parameters).

    The authors' code floors each channel's squared norm at 1e-8, which divides vectors that are zero in exact
    arithmetic but carry 1e-16 of round-off (the middle of a mirror-symmetric chain, the centre of a star) by
    1e-4; seven such normalisations blow the round-off up to order one, so a graph and its rotated copy embed
    apart. Here a node's rms is floored at a tenth of its graph's rms instead (and at 1e-6 absolutely): vectors
    of typical size for their graph are normalised to unit rms as in the paper, however small the whole graph's
    vectors are (at initialisation the first layer's messages are ~1e-3), while round-off at a symmetric node grows
    at most tenfold per normalisation (tested on every library graph). Seven tenfold growths still take float32's
    round-off (~1e-7, more on translated positions) to order one, so a node whose rms is at most ``sqrt(eps)`` of
    its graph's (``eps`` the dtype's machine epsilon: 3e-4 in float32, 1.5e-8 in float64) is taken to hold
    round-off only and set to exactly zero. The floor and that threshold are invariant, so the map stays
    equivariant, and per graph, so batched and one-by-one outputs agree.
    """

    #: The floor on a node's mean square norm, relative to its graph's mean (a tenth of the rms).
    FLOOR = 1e-2

    def __init__(self, scalar_dim: int) -> None:
        super().__init__()
        self.scalar_norm = nn.LayerNorm(scalar_dim)

    def reset_parameters(self) -> None:
        self.scalar_norm.reset_parameters()

    def forward(self, s: Tensor, v: Tensor, graph: _Graph) -> tuple[Tensor, Tensor]:
        """``graph`` supplies each node's graph and the per-graph mean behind the floor (see :class:`_Graph`)."""
        mean_square = v.square().sum(dim=0).mean(dim=-1, keepdim=True)
        floor = (graph.graph_mean @ mean_square).index_select(0, graph.graph).clamp_min(1e-12)
        # A node whose rms is below sqrt(eps) times its graph's holds round-off only (see the class docstring):
        # it becomes exactly zero instead of being scaled up.
        zero = mean_square * self.FLOOR <= floor * torch.finfo(v.dtype).eps
        return self.scalar_norm(s), v * mean_square.clamp_min(floor).rsqrt().masked_fill(zero, 0.0)


class GVPConvLayer(nn.Module):
    """One GVP-GNN layer: mean of three-GVP messages, then a two-GVP feed-forward, each residual + LayerNorm.

    The message's inputs are concatenated as ``[h^(j), h^(i), h_E]`` (the paper writes ``[h^(j), h_E, h^(i)]``:
    the same map, with the weight's rows in another order).
    """

    def __init__(self, node_dims: tuple[int, int], edge_dims: tuple[int, int], vector_gate: bool = True) -> None:
        super().__init__()
        (ns, nv), (es, ev) = node_dims, edge_dims
        hidden_dims = (4 * ns, 2 * nv)
        self.message = nn.ModuleList([
            GVP((2 * ns + es, 2 * nv + ev), node_dims, vector_gate=vector_gate),
            GVP(node_dims, node_dims, vector_gate=vector_gate),
            GVP(node_dims, node_dims, activations=False, vector_gate=vector_gate),
        ])
        self.feedforward = nn.ModuleList([
            GVP(node_dims, hidden_dims, vector_gate=vector_gate),
            GVP(hidden_dims, node_dims, activations=False, vector_gate=vector_gate),
        ])
        self.norms = nn.ModuleList([GVPLayerNorm(ns), GVPLayerNorm(ns)])

    def reset_parameters(self) -> None:
        for module in (*self.message, *self.feedforward, *self.norms):
            module.reset_parameters()

    def forward(self, s: Tensor, v: Tensor, graph: _Graph) -> tuple[Tensor, Tensor]:
        """One layer; ``index_add`` sums the weighted messages straight onto the residual."""
        num_edges = graph.target.size(0)
        ms = torch.cat([s.index_select(0, graph.source_target).view(num_edges, 2 * s.size(-1)), graph.edge_s], dim=-1)
        mv = torch.cat([v.index_select(1, graph.source_target).view(3, num_edges, 2 * v.size(-1)), graph.edge_v],
                       dim=-1)
        for gvp in self.message:
            ms, mv = gvp(ms, mv)
        s, v = self.norms[0](s.index_add(0, graph.target, ms * graph.weight),
                             v.index_add(1, graph.target, mv * graph.weight), graph)
        fs, fv = s, v
        for gvp in self.feedforward:
            fs, fv = gvp(fs, fv)
        return self.norms[1](s + fs, v + fv, graph)
