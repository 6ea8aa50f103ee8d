"""MACE: higher-order equivariant message passing, with the atomic cluster expansion's product basis in every layer."""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F
from e3nn import o3
from torch import Tensor, nn
from torch_geometric.data import Data

from dojo.models import register
from dojo.models._spherical import (ChannelTensorProduct, ExactConstants, IrrepsLinear, RadialEmbedding, RadialMLP,
                                    aggregate, channelwise, check_spherical_config, edge_harmonics, group_irreps,
                                    product_irreps, split_scalars, to_e3nn)
from dojo.models.base import GeometricModel, ModelInfo
from dojo.models.radial import check_cutoff

__all__ = ["MACE", "coupled_basis", "symmetric_power_basis"]


@register("mace")
class MACE(GeometricModel):
    r"""MACE of Batatia, Kovács, Simm, Ortner and Csányi, "MACE: Higher Order Equivariant Message Passing Neural
    Networks for Fast and Accurate Force Fields", NeurIPS 2022 (https://arxiv.org/abs/2206.07697), equations (8)-(12).

    Every node ``i`` carries ``hidden`` channels ``k`` of each irrep ``l <= max_ell``, starting from an embedding
    of its type ``z_i``. Layer ``t``, with ``x_ij = x_j - x_i``, ``r = |x_ij|``:

    .. math::
        A_{i,k l_3 m_3} &= \sum_{j \in N(i)} \sum_{l_1 m_1, l_2 m_2} C^{l_3 m_3}_{l_1 m_1, l_2 m_2}\,
                          R^{(t)}_{k l_1 l_2 l_3}(r)\, Y_{l_1 m_1}(\hat x_{ij}) \sum_{\tilde k}
                          W^{(t)}_{k \tilde k l_2} h^{(t)}_{j, \tilde k l_2 m_2} \\
        B_{i,\eta_\nu k LM} &= \sum_{l m} U^{LM}_{\eta_\nu, l_1 m_1 \ldots l_\nu m_\nu}
                              \prod_{\xi=1}^{\nu} A_{i,k l_\xi m_\xi} \\
        m_{i,kLM} &= \sum_{\nu=1}^{\mathrm{correlation}} \sum_{\eta_\nu} W^{(t)}_{z_i k L, \eta_\nu}
                    B_{i,\eta_\nu k LM} \\
        h^{(t+1)}_{i,kLM} &= \sum_{\tilde k} W^{(t)}_{kL, \tilde k}\, m_{i,\tilde k LM}
                            + \sum_{\tilde k} W^{(t)}_{z_i k L, \tilde k}\, h^{(t)}_{i,\tilde k LM}

    ``A`` is a 2-body, channel-wise (``'uvu'``) Clebsch-Gordan product with one radial weight per path
    ``(l_1, l_2 -> l_3)`` and channel; the radial part ``R`` is an MLP without biases (three hidden layers of
    ``radial_hidden``, SiLU, as the paper's code; see :class:`~dojo.models._spherical.RadialMLP`) on ``num_basis``
    Bessel functions ``sin(n pi r/c)/r`` with a polynomial envelope (``p = 5``). ``B`` is the product basis of the
    atomic cluster expansion: ``U`` spans the equivariant polynomials of degree ``nu`` in one channel's ``A`` (see
    :class:`SymmetricContraction`), so one layer has body order ``correlation + 1``. Weights marked ``z_i`` depend
    on the node type. The head reads the scalars of every layer, as the paper's readout (eq. 12) does, through the
    zoo's shared head: an MLP on their pooled concatenation (the paper sums per-node readouts, linear but for the
    last layer's). Without ``equivariant_pred`` the last layer computes only scalars.

    Deviations: the paper divides the sum over neighbours by the average number of neighbours of its data set,
    which keeps ``A`` of order one, as the products in ``B`` need (they grow like its cube, layer after layer). The
    dojo has no data set, so by default each graph's own average number of neighbours is used (a function of its
    degrees, which WL sees at once, so it adds nothing GWL lacks); a constant ``avg_num_neighbors`` restores the
    paper's form, where every layer is exactly ``(correlation + 1)``-body. The default ``cutoff`` is 10 rather than
    the paper's 5 Å, as in the original dojo: the k-chains' edges are 5 long, and an edge at the cutoff carries
    nothing. Each Bessel function is divided by its frequency, ``u(x) sinc(n x)`` (raw, they reach ``n pi`` on short
    edges), and the radial features are normalised on every edge, as the next paragraph explains.

    Scale at initialisation. ``B`` is a polynomial in ``A``: its terms of degree 2 and 3 matter only where ``A`` is
    of order one, and on the k-chains they are the only terms that differ (at the middle nodes, products of what
    each bent end sent, two and three hops away). Two choices keep them there. The radial features have the same
    mean square on every edge (:class:`~dojo.models._spherical.RadialEmbedding`, scaled by 0.6), so the radial
    weights start between 0.25 and 0.6 in size whatever the edge length; before, they were 0.12 on the k-chains'
    edges (at half the cutoff), and every hop of a message took that factor. And the product basis is normalised
    per component and initialised as in the paper's code (:class:`SymmetricContraction`); before, a vector passed
    through ``B`` at a fifth of its size. On the k-chains (k = 4, float64, random initialisation, median of 3 seeds,
    ``benchmarks/init_gaps.py``) the two embeddings differed by 5e-8 of their size at 3 layers and 8e-8 at 4
    layers before, by 6e-4 and 3e-3 after, and training now widens the gap (tenfold in 100 epochs for some seeds):
    with the train protocol (10 seeds) MACE went from 50 % at every depth to 55 ± 15, 70 ± 25, 85 ± 23 and
    90 ± 20 % at 3, 4, 5 and 6 layers (with ``correlation=2``, as in the GWL paper's experiment: 75 ± 25 and
    100 % at 3 and 4). The 0.6 is a bound, not a tuning: ``B`` grows like the cube of ``A`` and the skip adds up
    the layers, so larger radial weights make deep models diverge (with 0.7, two of 10 seeds reached 4e6 and 2e10
    at 6 layers on the k-chains; with 0.6 all stay below 1e3). Stars still diverge at depth, as before: a centre
    sums all its messages and divides by the average degree (``rotsym-10``: 10 messages, divided by 1.8).

    With ``group="SO(3)"`` the features take both parities of every degree, so pseudo-scalars ``0o`` (triple
    products) reach the readout. One layer cannot make one: one channel's ``0e + 1o + 2e`` has no pseudo-scalar
    polynomial below degree 6. From the second layer on, cross products (``1e``) made in the first meet vectors.

    Parameters
    ----------
    in_dim : int
        Number of node types (chemical elements).
    out_dim : int
        Output dimension of the head.
    num_layers : int
        Number of MACE layers (the paper uses 2).
    hidden : int
        Channels per irrep ``k`` (multiplicity of each of ``0e, 1o, 2e, ...``): 64 as in the original dojo (the
        paper's molecular models use 128 to 256).
    max_ell : int
        Highest degree of the spherical harmonics, of ``A`` and of the node features (the paper uses 2 or 3).
    correlation : int
        Highest degree ``nu`` of the product basis (the paper uses 3).
    group : "O(3)" or "SO(3)"
        O(3): features ``0e + 1o + 2e + ...`` only, mirror images are identical. SO(3): both parities.
    num_basis : int
        Number of Bessel radial basis functions (the paper uses 8).
    cutoff : float
        Radial cutoff; longer edges raise a ``ValueError`` (they would carry no message).
    radial_hidden : int
        Width of the radial MLP's hidden layers.
    avg_num_neighbors : float or None
        What the sum over neighbours is divided by: a constant, as the paper's data-set average, or None for each
        graph's own average number of neighbours.
    equivariant_pred : bool
        Whether the head also reads the last layer's pooled ``l > 0`` features.
    pool : "sum" or "mean"
        Graph pooling.

    Examples
    --------
    >>> from dojo import models
    >>> model = models.build("mace", in_dim=2, out_dim=1, num_layers=2, hidden=4, max_ell=1, correlation=2)
    >>> model.info.body_order, model.scalar_irreps, model.vector_irreps
    (3, 4x0e+4x0e, 4x1o)
    """

    def __init__(self, in_dim: int, out_dim: int, num_layers: int = 2, hidden: int = 64, max_ell: int = 2,
                 correlation: int = 3, group: Literal["O(3)", "SO(3)"] = "O(3)", num_basis: int = 8,
                 cutoff: float = 10.0, radial_hidden: int = 64, avg_num_neighbors: float | None = None,
                 equivariant_pred: bool = False, pool: Literal["sum", "mean"] = "sum") -> None:
        super().__init__(in_dim, out_dim, equivariant_pred, pool)
        check_spherical_config("mace", num_layers, hidden, max_ell, group)
        if not isinstance(correlation, int) or correlation < 1:
            raise ValueError(f"mace: correlation must be an integer >= 1, got {correlation!r}. Fix: pass correlation=3 "
                             "(the paper's; 1 leaves a 2-body model).")
        if avg_num_neighbors is not None and not avg_num_neighbors > 0:
            raise ValueError(f"mace: avg_num_neighbors must be positive or None, got {avg_num_neighbors!r}. Fix: pass "
                             "the average number of neighbours of your graphs, or None for each graph's own.")
        self.hidden, self.max_ell, self.correlation, self.group = hidden, max_ell, correlation, group
        self.cutoff, self.avg_num_neighbors = cutoff, avg_num_neighbors
        self.irreps_sh = o3.Irreps.spherical_harmonics(max_ell)
        allowed = group_irreps(max_ell, group)
        self.embedding = nn.Embedding(in_dim, hidden)
        self.radial_basis = RadialEmbedding(num_basis, cutoff, envelope_exponent=4, scale=0.6)
        irreps = [o3.Irreps("0e")]
        for _ in range(num_layers):
            irreps_a = product_irreps(irreps[-1], self.irreps_sh, allowed)
            irreps.append(product_basis_irreps(irreps_a, correlation, allowed))
        self._scalars = [split_scalars(ir)[0] for ir in irreps[1:]]
        tensors = split_scalars(irreps[-1])[1]
        self.layers = nn.ModuleList(
            MACELayer(irreps[t], self.irreps_sh, allowed, irreps[t + 1] if t < num_layers - 1 or equivariant_pred
                      else self._scalars[-1], hidden, correlation, in_dim, num_basis, radial_hidden)
            for t in range(num_layers))
        scalars = sum((channelwise(s, hidden) for s in self._scalars), o3.Irreps(""))
        self._build_head(scalars, channelwise(tensors, hidden))
        self._tensors = tensors

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(
            name="MACE", kind="equivariant", body_order=self.correlation + 1, tensor_order=self.max_ell,
            group=self.group, bounded_by="gwl", reference="Batatia et al., NeurIPS 2022, arXiv 2206.07697")

    def node_features(self, batch: Data) -> tuple[Tensor, Tensor | None]:
        length, sh = edge_harmonics(batch.pos, batch.edge_index, self.irreps_sh)
        check_cutoff(length, self.cutoff, "mace")
        basis = self.radial_basis(length)
        norm = self._neighbour_norm(batch)
        h = self.embedding(batch.z).unsqueeze(1)  # [N, 1, hidden]: one 0e per channel
        scalars = []
        for layer, irreps in zip(self.layers, self._scalars):
            h = layer(h, batch.z, sh, basis, batch.edge_index, norm)
            scalars.append(to_e3nn(h[:, : irreps.dim], irreps))
        tensors = to_e3nn(h[:, self._scalars[-1].dim:], self._tensors) if self.equivariant_pred else None
        return torch.cat(scalars, dim=-1), tensors

    def _neighbour_norm(self, batch: Data) -> Tensor | float:
        """What each node divides its sum over neighbours by: the constant, or its graph's average degree."""
        if self.avg_num_neighbors is not None:
            return self.avg_num_neighbors
        graph = batch.batch if batch.get("batch") is not None else torch.zeros_like(batch.z)
        num_nodes = torch.bincount(graph)
        num_edges = torch.bincount(graph[batch.edge_index[1]], minlength=num_nodes.numel())
        average = (num_edges / num_nodes).to(batch.pos.dtype)
        return torch.where(average > 0, average, 1.0)[graph].view(-1, 1, 1)  # no edges: nothing to divide


class MACELayer(nn.Module):
    """One MACE layer: the 2-body features ``A``, the product basis and the update with an element-dependent skip,
    from per-channel ``irreps_in`` to ``irreps_out`` (sorted, scalars first)."""

    def __init__(self, irreps_in: o3.Irreps, irreps_sh: o3.Irreps, allowed: o3.Irreps, irreps_out: o3.Irreps,
                 hidden: int, correlation: int, num_elements: int, num_basis: int, radial_hidden: int) -> None:
        super().__init__()
        self.hidden = hidden
        self.up = IrrepsLinear(irreps_in, irreps_in, hidden, hidden)
        self.conv = ChannelTensorProduct(irreps_in, irreps_sh, allowed)
        self.radial = RadialMLP([num_basis, radial_hidden, radial_hidden, radial_hidden, hidden * self.conv.num_paths],
                                bias=False)
        self.product = SymmetricContraction(self.conv.irreps_sum, irreps_out, allowed, correlation, hidden,
                                            num_elements)
        self.mix = IrrepsLinear(irreps_out, irreps_out, hidden, hidden)
        self.skip = IrrepsLinear(irreps_in, irreps_out, hidden, hidden, num_elements=num_elements)

    def reset_parameters(self) -> None:
        for module in (self.radial, self.up, self.product, self.mix, self.skip):
            module.reset_parameters()

    def forward(self, h: Tensor, z: Tensor, sh: Tensor, basis: Tensor, edge_index: Tensor,
                norm: Tensor | float) -> Tensor:
        """Node features ``h [N, irreps_in.dim, hidden]`` -> ``[N, irreps_out.dim, hidden]``; ``norm`` divides the
        sum over neighbours (a constant or ``[N, 1, 1]``)."""
        j, i = edge_index
        weight = self.radial(basis).view(-1, self.conv.num_paths, self.hidden)
        a = self.conv.sum_paths(aggregate(self.conv(self.up(h)[j], sh, weight), i, h.size(0))) / norm
        return self.mix(self.product(a, z)) + self.skip(h, z)


class SymmetricContraction(ExactConstants):
    r"""MACE's product basis: equivariant polynomials of degree ``1..correlation`` in each channel's ``A``.

    For every degree ``nu`` and channel ``k``, the products ``A_{a_1,k} ... A_{a_nu,k}`` of components of one channel
    span the symmetric tensor power ``Sym^nu`` of the per-channel irreps; :func:`coupled_basis` gives a basis of its
    equivariant polynomials into each irrep (the paper's generalised Clebsch-Gordan coefficients ``U``), each a
    combination ``alpha`` of coupling trees: irreps ``A_{f_1}, ..., A_{f_nu}`` (``f_1 <= ... <= f_nu``) coupled left
    to right by Clebsch-Gordan coefficients. The output is
    ``m_{LM,k} = sum_{nu, eta_nu} W_{z, eta_nu, k} B_{eta_nu, LM, k}``, one weight per node type, basis polynomial and
    channel. The basis polynomials are normalised per component (unit mean square when ``A`` is standard normal,
    see :func:`coupled_basis`), and the weights of the ``n`` polynomials of degree ``nu`` into ``L`` start normal with
    standard deviation ``1 / n``, as in the paper's code (``randn / num_params``): a vector's degree-1 term keeps
    its size, the many terms of degree 3 stay small. (Unit-norm coefficients divided by the square root of the
    number of polynomials into each irrep passed ``A_1o`` through degree 1 at ``1 / sqrt(24)`` of its size while
    degree-3 invariants came out at unit size: on the k-chains, 10 seeds, the median gap at 3 layers was 3e-5
    instead of 2.2e-4 and the largest embedding at 6 layers 1e32 instead of 5e2.)

    Evaluation never forms ``U`` or the products of ``nu`` components. As in the paper's code, the weights are
    applied before the last factor: ``sum_eta W_eta B_eta = sum_t W'_t T_t`` over trees ``t`` with
    ``W' = W alpha``, and ``T_t = C(X_s, A_f)`` couples the tree's prefix ``s`` (the first ``nu - 1`` factors,
    coupled) with its last factor ``A_f``. Grouping the trees by (prefix irrep, ``f``, output irrep), each group first
    sums its weighted prefixes ``Q = sum_t W'_t X_{s_t}`` and then couples ``Q`` with ``A_f`` once. The prefixes
    themselves are computed level by level, each from a shorter one and one factor, and shared by every tree that
    starts with them (degree 1's prefix is the constant 1). Every Clebsch-Gordan product is a list of its nonzero
    entries: gather the two factors, multiply, ``index_add`` into the output. Cost per node and channel: the nonzero
    Clebsch-Gordan entries of the prefixes and groups, and the trees times their prefix's dimension, instead of
    the nonzero entries of ``U`` (millions for ``max_ell = 10``, ``correlation = 3``).
    """

    def __init__(self, irreps_in: o3.Irreps, irreps_out: o3.Irreps, allowed: o3.Irreps, correlation: int,
                 channels: int, num_elements: int) -> None:
        super().__init__()
        self.irreps_in, self.irreps_out = irreps_in, irreps_out
        out_start = {ir: s.start for (_, ir), s in zip(irreps_out, irreps_out.slices())}
        paths: list[tuple[int, o3.Irrep]] = []  # (degree, output irrep) of every basis polynomial kept
        trees: dict[tuple, int] = {}  # (factors, chain of irreps) -> tree number
        mix = []  # (basis polynomial, tree, alpha)
        for degree in range(1, correlation + 1):
            for factors, ir, chains, alpha in coupled_basis(str(irreps_in), degree, str(allowed)):
                if ir not in out_start:
                    continue
                for row in alpha.tolist():
                    mix += [(len(paths), trees.setdefault((factors, chain), len(trees)), value)
                            for chain, value in zip(chains, row) if value != 0.0]
                    paths.append((degree, ir))
        # The paper's code starts the weights of degree nu into L at N(0, 1) / (number of them).
        self.weight_std = [paths.count(p) ** -1.0 for p in paths]
        path, tree, value = zip(*mix) if mix else ((), (), ())
        self.register_buffer("mix_path", torch.tensor(path, dtype=torch.long))
        self.register_buffer("mix_tree", torch.tensor(tree, dtype=torch.long))
        self.register_constant("mix_value", torch.tensor(value, dtype=torch.float64).view(-1, 1))
        self.num_trees = len(trees)
        offset = self._build_prefixes(list(trees))
        self._build_groups(list(trees), offset, out_start)
        self.weight = nn.Parameter(torch.empty(num_elements, len(paths), channels))
        self.reset_parameters()

    def _build_prefixes(self, trees: list[tuple]) -> dict[tuple, int]:
        """The entries that compute each level of prefixes; returns where every prefix lives in
        ``X = [1, A, level 2, level 3, ...]``."""
        a_start = [1 + s.start for s in self.irreps_in.slices()]
        offset = {((), ()): 0} | {((f,), (ir,)): a_start[f] for f, (_, ir) in enumerate(self.irreps_in)}
        needed = {(factors[:k], chain[:k]) for factors, chain in trees for k in range(2, len(factors))}
        self.levels, size = [], 1 + self.irreps_in.dim
        for level in range(2, max((len(f) for f, _ in needed), default=1) + 1):
            entries = []  # (output component, prefix component, A component, Clebsch-Gordan entry)
            start = size
            for factors, chain in sorted(k for k in needed if len(k[0]) == level):
                offset[factors, chain] = size
                parent = offset[factors[:-1], chain[:-1]]
                entries += _cg_entries(chain[-2], self.irreps_in[factors[-1]].ir, chain[-1], size - start, parent,
                                       a_start[factors[-1]])
                size += chain[-1].dim
            self._register_entries(f"level{level}", entries)
            self.levels.append((level, size - start))
        return offset

    def _build_groups(self, trees: list[tuple], offset: dict[tuple, int], out_start: dict[o3.Irrep, int]) -> None:
        """The entries of ``Q`` (weighted prefixes, grouped by prefix irrep, last factor and output irrep) and of the
        coupling of every group with its last factor into the output."""
        a_start = [1 + s.start for s in self.irreps_in.slices()]
        groups: dict[tuple, int] = {}
        q_entries, cg_entries, size = [], [], 0
        for t, (factors, chain) in enumerate(trees):
            constant = len(factors) == 1
            prefix_ir, f, ir = o3.Irrep("0e") if constant else chain[-2], factors[-1], chain[-1]
            key = (constant, prefix_ir, f, ir)
            if key not in groups:
                groups[key] = size
                if constant:  # degree 1: the factor itself
                    cg_entries += [(out_start[ir] + m, size, a_start[f] + m, 1.0) for m in range(ir.dim)]
                else:
                    cg_entries += _cg_entries(prefix_ir, self.irreps_in[f].ir, ir, out_start[ir], size, a_start[f])
                size += prefix_ir.dim
            prefix = offset[factors[:-1], chain[:-1]]
            q_entries += [(groups[key] + m, prefix + m, t) for m in range(prefix_ir.dim)]
        self.q_size = size
        q_out, q_prefix, q_tree = zip(*q_entries) if q_entries else ((), (), ())
        for name, values in (("q_out", q_out), ("q_prefix", q_prefix), ("q_tree", q_tree)):
            self.register_buffer(name, torch.tensor(values, dtype=torch.long))
        self._register_entries("out", cg_entries)

    def _register_entries(self, name: str, entries: list[tuple[int, int, int, float]]) -> None:
        out, left, right, value = zip(*entries) if entries else ((), (), (), ())
        for suffix, values in (("out", out), ("left", left), ("right", right)):
            self.register_buffer(f"{name}_{suffix}", torch.tensor(values, dtype=torch.long))
        self.register_constant(f"{name}_value", torch.tensor(value, dtype=torch.float64).view(-1, 1))

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.weight.normal_().mul_(self.weight.new_tensor(self.weight_std).unsqueeze(-1))

    def _product(self, name: str, left: Tensor, right: Tensor, size: int) -> Tensor:
        """The Clebsch-Gordan product listed as ``name``: ``out[c] += value * left[l] * right[r]`` per entry."""
        terms = (left.index_select(1, getattr(self, f"{name}_left"))
                 * right.index_select(1, getattr(self, f"{name}_right")))
        return left.new_zeros(left.size(0), size, left.size(2)).index_add_(
            1, getattr(self, f"{name}_out"), terms * getattr(self, f"{name}_value"))

    def forward(self, a: Tensor, z: Tensor) -> Tensor:
        """``a [N, irreps_in.dim, K]`` and node types ``z [N]`` -> ``[N, irreps_out.dim, K]``."""
        x = torch.cat([a.new_ones(a.size(0), 1, a.size(2)), a], dim=1)
        for level, size in self.levels:
            x = torch.cat([x, self._product(f"level{level}", x, x, size)], dim=1)
        tree_weight = self.weight.new_zeros(self.weight.size(0), self.num_trees, self.weight.size(2)).index_add_(
            1, self.mix_tree, self.weight.index_select(1, self.mix_path) * self.mix_value)
        q = x.new_zeros(x.size(0), self.q_size, x.size(2)).index_add_(
            1, self.q_out, x.index_select(1, self.q_prefix) * tree_weight.index_select(1, self.q_tree)[z])
        return self._product("out", q, x, self.irreps_out.dim)


def product_basis_irreps(irreps_a: o3.Irreps, correlation: int, allowed: o3.Irreps) -> o3.Irreps:
    """The per-channel irreps (sorted, within ``allowed``) of the product basis of degrees ``1..correlation``."""
    found = {ir for degree in range(1, correlation + 1)
             for _, ir, _, _ in coupled_basis(str(irreps_a), degree, str(allowed))}
    return o3.Irreps([(1, ir) for ir in sorted(found)])


Block = tuple[tuple[int, ...], o3.Irrep, tuple[tuple[o3.Irrep, ...], ...], Tensor]


@functools.lru_cache(maxsize=None)
def coupled_basis(irreps: str, degree: int, allowed: str) -> tuple[Block, ...]:
    """A basis of the equivariant polynomials of degree ``degree`` in a vector ``A`` of per-channel ``irreps``, as
    combinations of coupling trees.

    The products ``A_{a_1} ... A_{a_nu}`` span the symmetric tensor power ``Sym^nu``. For every multiset
    ``f_1 <= ... <= f_nu`` of irreps of ``A`` and every way of coupling ``A_{f_1}, ..., A_{f_nu}`` left to right
    with Clebsch-Gordan coefficients (e3nn's ``wigner_3j``) into an ``allowed`` irrep ``L`` (a *tree*, named by its
    chain of irreps ``(ir_{f_1}, L_2, ..., L)``), the coupled tensor is a polynomial in ``A``; the trees of one
    multiset into one ``L`` may coincide or vanish as polynomials (``A_1 x A_1 -> 1e`` is zero), so an SVD keeps
    a basis of their span, as e3nn's ``ReducedTensorProducts("ijk=jik=ikj")`` does on each multiset's own
    monomials. The basis is orthonormal for the inner product ``E[p_M(A) q_M(A)]`` with ``A`` standard normal (each
    component): every basis polynomial has unit mean square per component when ``A`` has, whatever its degree and
    irreps. That is e3nn's *component* normalisation, which MACE's code applies to its coupling coefficients (there
    as if the factors were independent; here exactly, for ``nu`` copies of one ``A``). Cached per process: models of one
    configuration share it.

    Returns
    -------
    tuple of (factors, L, chains, alpha), sorted by ``L`` (stable)
        For each multiset ``factors`` and irrep ``L``: the trees' chains and ``alpha [rank, len(chains)]``, whose
        rows are the basis polynomials ``sum_c alpha_c T_c(A)``.

    Examples
    --------
    >>> [(factors, str(ir), alpha.shape) for factors, ir, _, alpha in coupled_basis("1x0e+1x1o", 2, "0e+1o+1e")]
    [((0, 0), '0e', torch.Size([1, 1])), ((1, 1), '0e', torch.Size([1, 1])), ((0, 1), '1o', torch.Size([1, 1]))]
    """
    irreps_in, keep = o3.Irreps(irreps), {ir for _, ir in o3.Irreps(allowed)}
    slices = irreps_in.slices()
    blocks: list[Block] = []
    for factors in itertools.combinations_with_replacement(range(len(irreps_in)), degree):
        rows, monomials = _block_monomials(irreps_in.dim, [slices[f] for f in factors])
        gaussian = _gaussian_coordinates(monomials, irreps_in.dim)
        couplings = _couplings([irreps_in[f].ir for f in factors], keep)
        for ir in sorted({chain[-1] for chain, _ in couplings}):
            chosen = [(chain, c) for chain, c in couplings if chain[-1] == ir]
            folded = [torch.zeros(ir.dim, len(monomials), dtype=torch.float64).index_add_(1, rows, c.flatten(1))
                      for _, c in chosen]
            alpha = _span_coefficients(gaussian(torch.stack(folded)))
            if len(alpha):
                blocks.append((factors, ir, tuple(chain for chain, _ in chosen), alpha))
    blocks.sort(key=lambda block: block[1])
    return tuple(blocks)


def symmetric_power_basis(irreps: str, degree: int, allowed: str) -> tuple[o3.Irreps, Tensor, Tensor]:
    """The basis of :func:`coupled_basis` written out on all monomials: the dense ``U`` with ``B = monomials(A) @ U``.

    A reference for checking (its size grows like ``dim(A) ** degree``); the model never forms it.

    Returns
    -------
    (o3.Irreps, Tensor [M, degree], Tensor [M, irreps_out.dim])
        The output irreps (one ``1x`` entry per basis polynomial, sorted), the monomials (rows: sorted component
        indices) and ``U``.

    Examples
    --------
    >>> irreps, monomials, u = symmetric_power_basis("1x0e+1x1o", 2, "0e+1o+1e")  # 1o x 1o -> 1e vanishes
    >>> irreps, monomials.shape, u.shape
    (1x0e+1x0e+1x1o, torch.Size([10, 2]), torch.Size([10, 5]))
    """
    irreps_in, keep = o3.Irreps(irreps), {ir for _, ir in o3.Irreps(allowed)}
    d, slices = irreps_in.dim, irreps_in.slices()
    monomials = torch.tensor(list(itertools.combinations_with_replacement(range(d), degree))).view(-1, degree)
    columns, found = [], []
    for factors, ir, chains, alpha in coupled_basis(irreps, degree, allowed):
        rows = _monomial_rows(d, [slices[f] for f in factors], monomials)
        tensors = dict(_couplings([irreps_in[f].ir for f in factors], keep))
        folded = torch.stack([torch.zeros(ir.dim, len(monomials), dtype=torch.float64).index_add_(
            1, rows, tensors[chain].flatten(1)) for chain in chains])
        columns += [v.t() for v in torch.einsum("rc,cmx->rmx", alpha, folded)]
        found += [ir] * len(alpha)
    u = torch.cat(columns, dim=1) if columns else torch.zeros(len(monomials), 0, dtype=torch.float64)
    return o3.Irreps([(1, ir) for ir in found]), monomials, u


def _monomial_rows(d: int, slices: list[slice], monomials: Tensor) -> Tensor:
    """The row in ``monomials`` (sorted index tuples, in increasing order) of the monomial of every ordered tuple
    ``(a_1 in slices[0], ...)``, flattened."""
    grid = torch.cartesian_prod(*[torch.arange(s.start, s.stop) for s in slices]).view(-1, len(slices))
    powers = d ** torch.arange(len(slices) - 1, -1, -1)
    codes = grid.sort(dim=1).values @ powers  # base-d codes of sorted tuples increase along the monomials
    return torch.searchsorted(monomials @ powers, codes)


def _block_monomials(d: int, slices: list[slice]) -> tuple[Tensor, Tensor]:
    """The monomials that the ordered tuples ``(a_1 in slices[0], ...)`` make (sorted index tuples ``[n, len]``, in
    increasing order) and the row among them of every tuple, flattened."""
    grid = torch.cartesian_prod(*[torch.arange(s.start, s.stop) for s in slices]).view(-1, len(slices))
    powers = d ** torch.arange(len(slices) - 1, -1, -1)
    codes, rows = torch.unique(grid.sort(dim=1).values @ powers, return_inverse=True)
    return rows, codes.unsqueeze(-1) // powers % d


def _gaussian_coordinates(monomials: Tensor, d: int) -> Callable[[Tensor], Tensor]:
    r"""A map from polynomials ``v [n, L.dim, len(monomials)]`` (coefficients on ``monomials``) to coefficients
    ``w`` whose Euclidean inner products are the Gaussian ones, per component:
    ``<w_p, w_q> = sum_M E[p_M(A) q_M(A)] / L.dim`` for ``A`` of ``d`` standard normal components.

    ``E[m(A) m'(A)]`` is the product over components of the Gaussian moments ``E[A_k^c] = (c - 1)!!`` (``c`` even;
    zero for odd ``c``), ``c`` the power of ``A_k`` in ``m m'``; it vanishes unless ``m`` and ``m'`` have the same
    parity in every component. So this moment matrix is block-diagonal over the parity classes of the monomials;
    each block is factorised ``G = R R^T`` (Cholesky) and applied as ``w = v R``. Most classes hold one monomial,
    whose ``R`` is the square root of its moment.
    """
    counts = F.one_hot(monomials, d).sum(1)  # [n, d]: the power of every component
    moments = torch.tensor([float(math.prod(range(c - 1, 0, -2))) if c % 2 == 0 else 0.0
                            for c in range(2 * monomials.size(1) + 1)], dtype=torch.float64)
    classes, sizes = torch.unique(counts % 2, dim=0, return_inverse=True, return_counts=True)[1:]
    diagonal = moments[2 * counts].prod(-1).sqrt() * (sizes[classes] == 1)  # the singletons' R
    blocks = []
    for c in torch.nonzero(sizes > 1).flatten().tolist():
        members = torch.nonzero(classes == c).flatten()
        power = counts[members]
        blocks.append((members, torch.linalg.cholesky(moments[power.unsqueeze(1) + power.unsqueeze(0)].prod(-1))))

    def apply(vectors: Tensor) -> Tensor:
        whitened = vectors * diagonal
        for members, factor in blocks:
            whitened[..., members] = vectors[..., members] @ factor
        return whitened / math.sqrt(vectors.size(1))

    return apply


def _couplings(irreps: list[o3.Irrep], keep: set[o3.Irrep]) -> list[tuple[tuple[o3.Irrep, ...], Tensor]]:
    """Every left-to-right Clebsch-Gordan coupling of ``irreps[0] x irreps[1] x ...`` into an irrep of ``keep``:
    ``(chain of irreps, C [L.dim, dims...])``."""
    chains = [((irreps[0],), torch.eye(irreps[0].dim, dtype=torch.float64))]
    for step, ir_next in enumerate(irreps[1:], start=2):
        chains = [(chain + (ir,), torch.einsum("p...,pqm->m...q", c,
                                                o3.wigner_3j(chain[-1].l, ir_next.l, ir.l, dtype=torch.float64)))
                  for chain, c in chains for ir in chain[-1] * ir_next if step < len(irreps) or ir in keep]
    return [(chain, c) for chain, c in chains if chain[-1] in keep]


def _cg_entries(ir_1: o3.Irrep, ir_2: o3.Irrep, ir: o3.Irrep, out: int, left: int,
                right: int) -> list[tuple[int, int, int, float]]:
    """The nonzero entries ``(out + m, left + p, right + q, C_pqm)`` of e3nn's ``wigner_3j`` coupling ``ir_1 x ir_2``
    into ``ir``, placed at the given component offsets."""
    w3j = o3.wigner_3j(ir_1.l, ir_2.l, ir.l, dtype=torch.float64)
    p, q, m = w3j.nonzero(as_tuple=True)
    return list(zip((out + m).tolist(), (left + p).tolist(), (right + q).tolist(), w3j[p, q, m].tolist()))


def _span_coefficients(vectors: Tensor, tol: float = 1e-8) -> Tensor:
    """``alpha [rank, n]`` such that the rows of ``alpha @ vectors.flatten(1)`` are an orthonormal basis of the span
    of ``vectors [n, ...]``: the SVD's right singular vectors, written in terms of the vectors."""
    flat = vectors.flatten(1)
    support = flat.abs().sum(0) > 0  # the SVD of the nonzero columns only
    u, s, _ = torch.linalg.svd(flat[:, support], full_matrices=False)
    rank = int((s > tol * max(float(s[0]), 1.0)).sum()) if s.numel() else 0
    return (u[:, :rank] / s[:rank]).t()
