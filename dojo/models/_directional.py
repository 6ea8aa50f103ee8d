"""What DimeNet++ and SphereNet share: triplets ``k -> j -> i`` in plain torch, angles, the per-graph geometry and
its cache, the type embedding, the basis projections, the interaction block and the output blocks.

Written here because PyG's ``DimeNet.triplets`` needs torch-sparse, which has no wheel for the torch we support.
An edge ``e = (j, i)`` of ``edge_index`` is the message direction ``j -> i`` (PyG's convention).

On molecule-sized graphs these models spend their time on the overhead of each operation, not on arithmetic, so
the blocks are written for few operations and few parameter tensors: everything that depends only on the graph is
computed once per graph (:class:`GeometryCache`), parallel linear maps run as one product, same-shape layers are
stored as one stacked tensor, weights are stored ``[in, out]`` (what a matrix product reads without a transpose),
and features move between edges and triplets by one-hot products on small graphs (:class:`TripletMaps`). Each
block computes what its PyG counterpart computes, with the same initialisation and parameter count (checked in
``tests/test_models_invariant.py``).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Callable, NamedTuple

import torch
from torch import Tensor, nn
from torch.nn.functional import silu
from torch_geometric.data import Data
from torch_geometric.nn.inits import glorot_orthogonal

__all__ = ["triplets", "pairs_in_groups", "safe_unit", "legendre", "TripletMaps", "Geometry", "GeometryCache",
           "TypeEmbeddingBlock", "BasisProjections", "InteractionPPBlock", "OutputPPBlocks"]


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


#: Graphs with at most this many (triplet, edge) pairs move features between edges and triplets by products with
#: one-hot matrices, which cost less than PyTorch's gather and scatter kernels on small inputs; larger graphs index.
DENSE_TRIPLETS = 4096


class TripletMaps:
    """The two linear maps between edge and triplet features of the triplets ``(idx_kj, idx_ji)``: :meth:`gather`
    reads, for each triplet ``k -> j -> i``, the row of edge ``k -> j``; :meth:`scatter` sums each triplet's row into
    edge ``j -> i``. On small graphs (see :data:`DENSE_TRIPLETS`; ``dense`` overrides) both are products with
    one-hot matrices.

    Examples
    --------
    >>> maps = TripletMaps(torch.tensor([3, 1]), torch.tensor([0, 2]), num_edges=4, dtype=torch.float32)
    >>> x = torch.arange(4.0).unsqueeze(-1)
    >>> maps.gather(x).squeeze(-1).tolist(), maps.scatter(maps.gather(x)).squeeze(-1).tolist()
    ([3.0, 1.0], [3.0, 0.0, 1.0, 0.0])
    """

    def __init__(self, idx_kj: Tensor, idx_ji: Tensor, num_edges: int, dtype: torch.dtype,
                 dense: bool | None = None) -> None:
        self.idx_kj, self.idx_ji, self.num_edges = idx_kj, idx_ji, num_edges
        self.dense = idx_kj.numel() * num_edges <= DENSE_TRIPLETS if dense is None else dense
        if self.dense:
            edges = torch.arange(num_edges, device=idx_kj.device)
            self.take = (idx_kj.unsqueeze(1) == edges).to(dtype)  # [T, E], one-hot rows
            self.put = (edges.unsqueeze(1) == idx_ji).to(dtype)  # [E, T], one-hot columns

    def gather(self, x: Tensor) -> Tensor:
        """``[T, C]``: row ``idx_kj[t]`` of the edge features ``x [E, C]`` for each triplet ``t``."""
        return self.take @ x if self.dense else x.index_select(0, self.idx_kj)

    def scatter(self, y: Tensor) -> Tensor:
        """``[E, C]``: the triplet features ``y [T, C]`` summed into their edges ``idx_ji``."""
        if self.dense:
            return self.put @ y
        return y.new_zeros(self.num_edges, y.size(1)).index_add_(0, self.idx_ji, y)


class Geometry(NamedTuple):
    """What a directional model reads from a (batched) graph that no weight changes.

    ``types`` are the node types at both ends of each edge ``j -> i`` in the order PyG's embedding block reads them
    (``z_i`` first); ``scaled_dist`` and ``envelope`` are ``d_ji / cutoff`` and its envelope, from which the radial
    basis is evaluated with its trainable frequencies; ``bases`` are the per-triplet bases (DimeNet++: the
    spherical basis; SphereNet adds the torsion basis).
    """

    target: Tensor  # i of each edge j -> i, [E]
    types: Tensor  # (z_i, z_j) of each edge, [E, 2]
    scaled_dist: Tensor  # [E, 1]
    envelope: Tensor  # [E, 1]
    triplets: TripletMaps  # between the edges and the triplets k -> j -> i
    bases: tuple[Tensor, ...]  # each [T, size]
    num_nodes: int


class GeometryCache:
    """Remembers ``compute(batch)`` for the last ``size`` graphs, keyed on their content.

    A training loop feeds the same few graphs again and again, and on small graphs what a directional model derives
    from the positions alone (triplets, angles, torsions and their bases) costs more than its layers. An entry is
    reused only when the graph's ``pos``, ``z`` and ``edge_index`` equal (``torch.equal``) copies of those it was
    computed from, so an in-place edit or recycled memory never serves stale geometry, and when ``state``, the
    module tensors ``compute`` reads (its buffers), are the very same tensor objects: ``.to()``/``.double()``
    replace them, and so does ``torch.func.functional_call`` when it is given buffers (under ``vmap``, batched
    stand-ins), so an entry never crosses any of those. (The train protocol passes parameters only, so its seeds,
    run together under ``vmap``, share the template's entries.) Positions that require grad (forces) bypass the
    cache, so gradients reach them, and so does inference mode, whose tensors autograd could not use later.

    Examples
    --------
    >>> from dojo.graphs import geometric_graph
    >>> cache, calls = GeometryCache(), []
    >>> graph = geometric_graph([[0, 0, 0], [1, 0, 0]], [(0, 1)])
    >>> _ = cache.get(graph, calls.append), cache.get(graph, calls.append)
    >>> len(calls)  # computed once
    1
    >>> graph.pos[1, 0] = 2.0  # moved in place: recomputed
    >>> _ = cache.get(graph, calls.append)
    >>> len(calls)
    2
    """

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._entries: OrderedDict[tuple, tuple[tuple[Tensor, ...], tuple[Tensor, ...], object]] = OrderedDict()

    def get(self, batch: Data, compute: Callable[[Data], object], state: tuple[Tensor, ...] = ()) -> object:
        """``compute(batch)``, or what it returned for a graph with the same content and the same ``state``."""
        inputs = (batch.pos, batch.z, batch.edge_index)
        if batch.pos.requires_grad or torch.is_inference_mode_enabled():
            return compute(batch)
        key = (*((t.data_ptr(), t.shape, t.dtype, t.device) for t in inputs), *(id(t) for t in state))
        entry = self._entries.get(key)
        if (entry is not None and all(a is b for a, b in zip(entry[1], state))
                and all(torch.equal(a, b) for a, b in zip(entry[0], inputs))):
            self._entries.move_to_end(key)
            return entry[2]
        value = compute(batch)
        self._entries[key] = (tuple(t.clone() for t in inputs), state, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return value


class TypeEmbeddingBlock(nn.Module):
    r"""PyG's DimeNet embedding block, ``m_ji = act(W [h_{z_i}, h_{z_j}, act(W_rbf rbf(d_ji) + b_rbf)] + b)``, with
    ``in_dim`` node types instead of its fixed 95 atomic numbers; same parameters and initialisation."""

    def __init__(self, in_dim: int, num_radial: int, hidden: int) -> None:
        super().__init__()
        self.emb = nn.Embedding(in_dim, hidden)
        self.lin_rbf = nn.Linear(num_radial, hidden)
        self.lin = nn.Linear(3 * hidden, hidden)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.emb.weight.uniform_(-math.sqrt(3), math.sqrt(3))
        self.lin_rbf.reset_parameters()
        self.lin.reset_parameters()

    def forward(self, types: Tensor, rbf: Tensor) -> Tensor:
        """Messages ``[E, hidden]`` from the end types ``(z_i, z_j)`` ``[E, 2]`` and ``rbf [E, num_radial]``."""
        h = self.emb.weight[types].flatten(1)  # [h_i, h_j] in one gather
        return silu(self.lin(torch.cat([h, silu(self.lin_rbf(rbf))], dim=-1)))


class BasisProjections(nn.Module):
    r"""The bias-free two-layer projections ``W_2 W_1 basis`` of every interaction block, evaluated together.

    Each of DimeNet++'s ``num_blocks`` interaction blocks projects the same graph-fixed basis (``rbf``, ``sbf``, or
    SphereNet's ``tbf``) through its own ``in_dim -> basis_emb_size -> out_dim`` pair of linear layers (PyG's
    ``lin_rbf1``/``lin_rbf2``, ``lin_sbf1``/``lin_sbf2``). The first layers of all blocks are stored side by side as
    one ``[in_dim, num_blocks * basis_emb_size]`` matrix and the second ones stacked, so that all blocks' projections
    take two matrix products per forward instead of two per block; initialisation (Glorot-orthogonal per block)
    and parameter count are PyG's.

    Examples
    --------
    >>> BasisProjections(num_blocks=3, in_dim=6, basis_emb_size=8, out_dim=16)(torch.randn(10, 6)).shape
    torch.Size([3, 10, 16])
    """

    def __init__(self, num_blocks: int, in_dim: int, basis_emb_size: int, out_dim: int) -> None:
        super().__init__()
        self.first = nn.Parameter(torch.empty(in_dim, num_blocks * basis_emb_size))
        self.second = nn.Parameter(torch.empty(num_blocks, basis_emb_size, out_dim))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            for first in self.first.unflatten(1, (self.second.size(0), -1)).unbind(1):
                first.copy_(glorot_orthogonal_(first.new_empty(first.shape[::-1])).T)
            for second in self.second:
                second.copy_(glorot_orthogonal_(second.new_empty(second.shape[::-1])).T)

    def forward(self, basis: Tensor) -> Tensor:
        """``[num_blocks, *basis.shape[:-1], out_dim]``: block ``b``'s projection of ``basis [X, in_dim]``."""
        return torch.bmm((basis @ self.first).unflatten(1, (self.second.size(0), -1)).transpose(0, 1), self.second)


class InteractionPPBlock(nn.Module):
    r"""DimeNet++'s edge update (PyG's ``InteractionPPBlock``), with the basis projections done by the caller:

    .. math::
        m_{ji} \leftarrow \mathrm{Res}\Big(m_{ji} + \sigma(W_{ji} m_{ji}) + \sigma\big(W_{up}
            \textstyle\sum_{k} \sigma(W_{down} (\sigma(W_{kj} m_{kj}) \odot P_{rbf}(d_{kj}))) \odot G_{kji}\big)\Big)

    with ``P_rbf`` this block's projection of the radial basis and ``G`` its triplet gate: the projected spherical
    basis for DimeNet++, times the projected torsion basis for SphereNet (see :class:`BasisProjections`).

    Parameter layout (PyG's, rearranged for fewer operations and tensors): every matrix is stored ``[in, out]``;
    ``W_ji`` and ``W_kj`` read the same messages, so they are one ``[hidden, 2 hidden]`` matrix ``lin_ji_kj``
    (one product, then split); and the ``hidden -> hidden`` layers that follow, in the order they run (the residual
    layers before the skip connection, two each, the layer before the skip, the residual layers after it), are one
    stack ``weights [L, hidden, hidden]`` with ``biases [L, hidden]``. Each matrix is initialised as PyG initialises
    it (Glorot-orthogonal, zero biases).
    """

    def __init__(self, hidden: int, int_emb_size: int, num_before_skip: int, num_after_skip: int) -> None:
        super().__init__()
        self.num_before_skip, self.num_after_skip = num_before_skip, num_after_skip
        self.lin_ji_kj = nn.Parameter(torch.empty(hidden, 2 * hidden))
        self.bias_ji_kj = nn.Parameter(torch.empty(2 * hidden))
        self.lin_down = nn.Parameter(torch.empty(hidden, int_emb_size))
        self.lin_up = nn.Parameter(torch.empty(int_emb_size, hidden))
        num_dense = 2 * num_before_skip + 1 + 2 * num_after_skip
        self.weights = nn.Parameter(torch.empty(num_dense, hidden, hidden))
        self.biases = nn.Parameter(torch.empty(num_dense, hidden))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            for weight in [*self.lin_ji_kj.chunk(2, dim=1), self.lin_down, self.lin_up, *self.weights]:
                weight.copy_(glorot_orthogonal_(weight.new_empty(weight.shape[::-1])).T)
            self.bias_ji_kj.zero_()
            self.biases.zero_()

    def forward(self, m: Tensor, rbf: Tensor, gate: Tensor, triplets: TripletMaps) -> Tensor:
        """The new messages ``[E, hidden]`` from ``m [E, hidden]``, this block's projected ``rbf [E, hidden]`` and
        triplet ``gate [T, int_emb_size]`` of the ``triplets``."""
        m_ji, m_kj = silu(torch.addmm(self.bias_ji_kj, m, self.lin_ji_kj)).chunk(2, dim=-1)
        x = triplets.gather(silu((m_kj * rbf) @ self.lin_down)) * gate
        x = silu(triplets.scatter(x) @ self.lin_up)
        layers = iter(zip(self.weights.unbind(0), self.biases.unbind(0)))
        h = m_ji + x
        for _ in range(self.num_before_skip):
            h = _residual(h, next(layers), next(layers))
        weight, bias = next(layers)
        h = silu(torch.addmm(bias, h, weight)) + m
        for _ in range(self.num_after_skip):
            h = _residual(h, next(layers), next(layers))
        return h


def _residual(h: Tensor, first: tuple[Tensor, Tensor], second: tuple[Tensor, Tensor]) -> Tensor:
    """PyG's DimeNet ``ResidualLayer``, ``h + act(W_2 act(W_1 h + b_1) + b_2)``, from ``(W, b)`` pairs."""
    return h + silu(torch.addmm(second[1], silu(torch.addmm(first[1], h, first[0])), second[0]))


class OutputPPBlocks(nn.Module):
    r"""``num_blocks`` output blocks of DimeNet++ (PyG's ``OutputPPBlock``), evaluated together and summed.

    Block ``b`` turns the edge messages ``m^b`` (after interaction ``b``) into node outputs

    .. math:: t^b_i = W^b_{out}\, \sigma(W^b_3 \sigma(W^b_2 \sigma(W^b_1 W^b_{up} \textstyle\sum_j
        (W^b_{rbf}\, \mathrm{rbf}(d_{ji})) \odot m^b_{ji} + c^b_1) + c^b_2) + c^b_3)

    and the model reads ``sum_b t^b``. Each block reads only its own messages, so all of them run as one batched
    product over the block axis. The weights are stored stacked and transposed (block ``b``'s ``W_up`` is
    ``lin_up[b].T``), which is the layout a batched product reads without copies; the radial filters, which all
    read the same ``rbf``, side by side (block ``b``'s ``W_rbf`` is ``lin_rbf[:, b].T``), so that one product
    computes them all. This computes what
    ``num_blocks`` separate ``OutputPPBlock`` s compute, with their Glorot-orthogonal initialisation and parameter
    count, in a fraction of the operations (the per-operation overhead, not arithmetic, is what costs on
    molecule-sized graphs); ``tests/test_models_invariant.py`` checks it against PyG's block.

    Examples
    --------
    >>> blocks = OutputPPBlocks(num_blocks=2, num_radial=3, hidden=4, out_emb_channels=8, out_channels=5)
    >>> m, rbf, i = torch.randn(6, 2, 4), torch.randn(6, 3), torch.tensor([0, 0, 1, 1, 2, 2])
    >>> blocks(m, rbf, i, num_nodes=3).shape
    torch.Size([3, 5])
    """

    def __init__(self, num_blocks: int, num_radial: int, hidden: int, out_emb_channels: int, out_channels: int,
                 num_layers: int = 3) -> None:
        super().__init__()
        self.lin_rbf = nn.Parameter(torch.empty(num_radial, num_blocks, hidden))
        self.lin_up = nn.Parameter(torch.empty(num_blocks, hidden, out_emb_channels))
        # One parameter per dense layer (not one stacked over layers, whose gradient would be re-stacked each step).
        self.weights = nn.ParameterList(torch.empty(num_blocks, out_emb_channels, out_emb_channels)
                                        for _ in range(num_layers))
        self.biases = nn.ParameterList(torch.empty(num_blocks, 1, out_emb_channels) for _ in range(num_layers))
        self.lin = nn.Parameter(torch.empty(num_blocks, out_emb_channels, out_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            for weight in [*self.lin_rbf.unbind(1), *self.lin_up, *(w for weights in self.weights for w in weights),
                           *self.lin]:
                weight.copy_(glorot_orthogonal_(weight.new_empty(weight.shape[::-1])).T)
            for bias in self.biases:
                bias.zero_()

    def forward(self, m: Tensor, rbf: Tensor, i: Tensor, num_nodes: int) -> Tensor:
        """``sum_b t^b`` ``[num_nodes, out_channels]`` from the messages ``m [E, num_blocks, hidden]`` of edges
        ``j -> i`` (targets ``i [E]``) and their radial basis ``rbf [E, num_radial]``."""
        x = (rbf @ self.lin_rbf.flatten(1)).view_as(m) * m
        x = x.new_zeros(num_nodes, x.size(1) * x.size(2)).index_add_(0, i, x.flatten(1))  # blocks side by side
        x = torch.bmm(x.view(num_nodes, *m.shape[1:]).transpose(0, 1), self.lin_up)
        for weight, bias in zip(self.weights, self.biases):
            x = silu(torch.baddbmm(bias, x, weight))
        return torch.bmm(x, self.lin).sum(0)


def glorot_orthogonal_(weight: Tensor) -> Tensor:
    """PyG's DimeNet initialisation (``glorot_orthogonal`` with scale 2) of an ``[out, in]`` matrix, returned."""
    glorot_orthogonal(weight, scale=2.0)
    return weight
