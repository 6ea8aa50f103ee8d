"""PaiNN: the polarizable atom interaction neural network, with scalar and vector channels."""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor, nn
from torch_geometric.data import Data

from dojo.models import register
from dojo.models._cartesian import as_irreps, check_positive, edge_vectors, safe_norm
from dojo.models.base import GeometricModel, ModelInfo, mlp
from dojo.models.radial import check_cutoff

__all__ = ["PaiNN"]


@register("painn")
class PaiNN(GeometricModel):
    r"""PaiNN of Schütt, Unke and Gastegger, "Equivariant message passing for the prediction of tensorial properties
    and molecular spectra", ICML 2021 (https://arxiv.org/abs/2102.03150), equations (7)-(12) and Figure 2.

    Every node carries ``F`` scalar channels ``s_i`` (an embedding of its type) and ``F`` vector channels ``v_i``
    (initially zero). Each layer is a message block then an update block, both residual:

    .. math::
        x_{ij} &= \phi(s_j) \circ W(\lVert r_{ij} \rVert) = (x^{vv}_{ij}, x^{s}_{ij}, x^{vs}_{ij}) \\
        \Delta s_i^m &= \textstyle\sum_j x^{s}_{ij}, \qquad
        \Delta v_i^m = \textstyle\sum_j v_j \circ x^{vv}_{ij} + x^{vs}_{ij} \circ \frac{r_{ij}}{\lVert r_{ij}\rVert} \\
        a_i &= a(s_i, \lVert V v_i \rVert) = (a^{vv}_i, a^{sv}_i, a^{ss}_i) \\
        \Delta s_i^u &= a^{ss}_i + a^{sv}_i \circ \langle U v_i, V v_i \rangle, \qquad
        \Delta v_i^u = a^{vv}_i \circ U v_i

    with ``phi`` and ``a`` two-layer SiLU MLPs (``F -> F -> 3F`` and ``2F -> F -> 3F``), ``U, V`` channel-mixing
    linear maps without bias, and the filter ``W`` a linear map of ``num_rbf`` radial functions
    ``sin(n pi d / c) / d`` times the cosine cutoff ``(cos(pi d / c) + 1) / 2``. Here ``r_ij = x_j - x_i`` (the
    dojo's convention; the paper's opposite sign is absorbed by the learned weights).

    The update's inner products of two sums over neighbours make each layer 3-body (angles at ``i``); vector
    channels carry relative orientation between layers, so PaiNN is bounded by GWL. It uses no cross product, so
    it is O(3)-equivariant and blind to mirror images. ``node_features`` returns ``s`` (``"Fx0e"``) and ``v``
    (``"Fx1o"``); without ``equivariant_pred`` the last update block computes no vector update, which nothing would
    read.

    Parameters
    ----------
    in_dim : int
        Number of node types.
    out_dim : int
        Output dimension of the head.
    num_layers : int
        Number of message + update blocks (3 in the paper).
    hidden : int
        ``F``, the number of scalar and of vector channels (128 in the paper).
    equivariant_pred : bool
        Whether the head also reads the pooled vector channels.
    pool : "sum" or "mean"
        Graph pooling.
    num_rbf : int
        Number of radial basis functions (20 in the paper).
    cutoff : float
        ``c``. The paper uses 5 Å with a 5 Å radius graph; the dojo's graphs carry explicit edges up to 5 long, so
        the default is 10. An edge reaching the cutoff raises ValueError (the cutoff would silently drop it).
    """

    def __init__(self, in_dim: int, out_dim: int, num_layers: int = 3, hidden: int = 128,
                 equivariant_pred: bool = False, pool: Literal["sum", "mean"] = "sum", num_rbf: int = 20,
                 cutoff: float = 10.0) -> None:
        check_positive("painn", num_layers=num_layers, hidden=hidden, num_rbf=num_rbf)
        if not cutoff > 0:
            raise ValueError(f"painn: cutoff must be positive, got {cutoff!r}. Fix: pass a cutoff longer than every "
                             "edge (e.g. the default 10.0).")
        super().__init__(in_dim, out_dim, equivariant_pred, pool)
        self.cutoff = cutoff
        self.num_rbf = num_rbf
        self.embedding = nn.Embedding(in_dim, hidden)
        # The filters W(d) of every message block read the same radial functions, so they are one linear map
        # (layer after layer along its output), evaluated once per pass; schnetpack's PaiNN does the same.
        self.filters = nn.Linear(num_rbf, num_layers * 3 * hidden)
        self.messages = nn.ModuleList(MessageBlock(hidden) for _ in range(num_layers))
        self.updates = nn.ModuleList(
            UpdateBlock(hidden, update_vectors=equivariant_pred or layer < num_layers - 1)
            for layer in range(num_layers))
        self._build_head(f"{hidden}x0e", f"{hidden}x1o")

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(
            name="PaiNN", kind="equivariant", body_order=3, tensor_order=1, group="O(3)", bounded_by="gwl",
            reference="Schütt, Unke, Gastegger, ICML 2021, arXiv 2102.03150", layer_bound="igwl-3")

    def node_features(self, batch: Data) -> tuple[Tensor, Tensor]:
        _, dist, unit = edge_vectors(batch.pos, batch.edge_index)
        check_cutoff(dist, self.cutoff, "painn")
        rbf = sine_basis(dist, self.num_rbf, self.cutoff) * cosine_cutoff(dist, self.cutoff).unsqueeze(-1)
        filters = self.filters(rbf).chunk(len(self.messages), dim=-1)
        s = self.embedding(batch.z)
        # Vector channels are kept as [N, 3, F] so that the channel-mixing maps act on the last axis. They start at
        # zero, which the first message block knows from v = None.
        v = None
        unit = unit.unsqueeze(-1)
        for message, update, filt in zip(self.messages, self.updates, filters):
            s, v = message(s, v, filt, unit, batch.edge_index)
            s, v = update(s, v)
        return s, as_irreps(v.transpose(1, 2))


class MessageBlock(nn.Module):
    """PaiNN's message block: continuous filters ``W(d)`` gate ``phi(s_j)``, which feeds scalars and vectors."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.phi = mlp([hidden, hidden, 3 * hidden])
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for layer in self.phi[::2]:
            layer.reset_parameters()

    def forward(self, s: Tensor, v: Tensor | None, filt: Tensor, unit: Tensor, edge_index: Tensor
                ) -> tuple[Tensor, Tensor]:
        """One block; ``filt`` is this block's ``W(|r_ij|)`` ``[E, 3F]``, ``unit`` the ``[E, 3, 1]`` directions,
        ``v = None`` stands for zero vectors. ``index_add`` sums the messages straight onto the residual."""
        j, i = edge_index
        x_vv, x_s, x_vs = (self.phi(s).index_select(0, j) * filt).chunk(3, dim=-1)
        dv = unit * x_vs.unsqueeze(1)  # [E, 3, F]
        if v is None:
            v = dv.new_zeros(s.size(0), *dv.shape[1:])
        else:
            dv = torch.addcmul(dv, v.index_select(0, j), x_vv.unsqueeze(1))
        return s.index_add(0, i, x_s), v.index_add(0, i, dv)


class UpdateBlock(nn.Module):
    """PaiNN's update block: node-wise mixing of each node's scalar and vector channels.

    Without ``update_vectors`` (the last block when nothing reads the vectors) it computes only ``Delta s^u``.
    """

    def __init__(self, hidden: int, update_vectors: bool = True) -> None:
        super().__init__()
        self.update_vectors = update_vectors
        self.uv = nn.Linear(hidden, 2 * hidden, bias=False)  # U and V, stacked
        self.a = mlp([2 * hidden, hidden, (3 if update_vectors else 2) * hidden])
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for layer in (self.uv, *self.a[::2]):
            layer.reset_parameters()

    def forward(self, s: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        n, _, f = v.shape
        # U v_i and V v_i as [N, 3, F]: one 2D matrix product over the flattened (node, component) rows.
        uv, vv = self.uv(v.reshape(3 * n, f)).view(n, 3, 2 * f).chunk(2, dim=-1)
        a = self.a(torch.cat([s, safe_norm(vv, dim=1)], dim=-1))
        if self.update_vectors:
            a_vv, a_sv, a_ss = a.chunk(3, dim=-1)
            v = torch.addcmul(v, a_vv.unsqueeze(1), uv)
        else:
            a_sv, a_ss = a.chunk(2, dim=-1)
        return torch.addcmul(s + a_ss, a_sv, (uv * vv).sum(1)), v


def sine_basis(dist: Tensor, num: int, cutoff: float) -> Tensor:
    """PaiNN's radial basis ``sin(n pi d / c) / d``, ``n = 1..num``, as ``[E, num]``.

    Evaluated as ``f_n sinc(f_n d / pi)`` with ``f_n = n pi / c``: exact at ``d = 0`` (coincident points), where
    the formula divides by zero. (``radial.BesselBasis`` is the same family times DimeNet's polynomial envelope;
    PaiNN uses the cosine cutoff instead.)

    Examples
    --------
    >>> [round(x, 4) for x in sine_basis(torch.tensor([0.0]), 2, math.pi)[0].tolist()]
    [1.0, 2.0]
    """
    freq = math.pi / cutoff * torch.arange(1, num + 1, dtype=dist.dtype, device=dist.device)
    return freq * torch.sinc(dist.unsqueeze(-1) * freq / math.pi)


def cosine_cutoff(dist: Tensor, cutoff: float) -> Tensor:
    """The cosine cutoff ``(cos(pi d / c) + 1) / 2`` for ``d < c``, and 0 beyond."""
    return torch.where(dist < cutoff, 0.5 * (torch.cos(math.pi / cutoff * dist) + 1), torch.zeros_like(dist))
