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
from dojo.models._cartesian import check_positive
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
        check_positive("mace", num_basis=num_basis, radial_hidden=radial_hidden)
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
            group=self.group, bounded_by="gwl", reference="Batatia et al., NeurIPS 2022, arXiv 2206.07697",
            layer_bound=f"igwl-{self.correlation + 1}" if self.correlation + 1 <= 5 else None)

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

    Evaluation never forms ``U`` or the products of ``nu`` components. With ``W' = W alpha``,
    ``sum_eta W_eta B_eta = sum_t W'_t T_t`` over trees ``t``, where ``T_t = C(X_s, A_f)`` couples the tree's
    prefix ``s`` (its first ``nu - 1`` factors, coupled) with its last factor ``A_f``. The prefixes are computed level
    by level, each from a shorter one and one factor, and shared by every tree that starts with them (degree 1's
    prefix is the constant 1). Every such coupling is block-sparse: the outer product of a prefix's block of
    components with a factor's, ``X_s (x) A_f`` (``d_s d_f`` rows per node and channel), projected by one dense
    Clebsch-Gordan block onto every irrep needed from it. Blocks of one padded shape are evaluated together by one
    ``bmm``; small blocks are split into their nonzero entries instead (gather both factors, multiply,
    ``index_add``), all entries of a coupling in one batch. The weights go after the last coupling or before it.
    After: ``W'_t`` multiplies ``T_t`` (exact, the projection being linear), so the trees of one (prefix, ``f``)
    share one outer product, projected onto all their output irreps at once. Before, as in the paper's code: the
    trees of one (prefix irrep, ``f``, output irrep) first sum their weighted prefixes ``Q = sum_t W'_t X_s``, which
    is then coupled with ``A_f`` once. A cost model, :func:`_plan_blocks`, picks the batches, the blocks to split and
    where the weights go; every plan computes the same polynomials, up to round-off.

    Why: at ``max_ell = 10``, ``correlation = 2`` the last coupling has 37,621 nonzero entries per node and channel,
    and as entries alone (the evaluation before) its gathered factors were tensors of 100 MB each on ``rotsym-10``
    (11 nodes): a memory-bound training step of 460 ms. As 77 dense blocks (443 k multiply-adds per node and channel,
    at BLAS speed, on outer products of 8,327 rows, weights after) the step takes 48 ms
    (``benchmarks/train_step.py mace --pair rotsym-10 --layers 1 --set max_ell=10 correlation=2``). At ``max_ell = 2``
    the blocks are tiny and a ``bmm`` call costs more than its work, so the plan is mostly entries, weights before:
    the default configuration's step is as fast as before (6.7 ms, ``benchmarks/train_step.py mace``).
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
        self.buckets: dict[str, list[tuple[int, int, int, int]]] = {}
        self.bucket_trees: list[int] = []
        offset = self._build_prefixes(list(trees))
        renumber = self._build_output(list(trees), offset, out_start)
        path, tree, value = zip(*mix) if mix else ((), (), ())
        self.register_buffer("mix_path", torch.tensor(path, dtype=torch.long))
        self.register_buffer("mix_tree", torch.tensor([renumber[t] for t in tree], dtype=torch.long))
        self.register_constant("mix_value", torch.tensor(value, dtype=torch.float64).view(-1, 1, 1))
        self.num_trees = len(trees)
        self.weight = nn.Parameter(torch.empty(num_elements, len(paths), channels))
        self.reset_parameters()

    def _build_prefixes(self, trees: list[tuple]) -> dict[tuple, int]:
        """The couplings that compute each level of prefixes; returns where every prefix lives in
        ``X = [1, A, level 2, level 3, ...]``."""
        a_start = [1 + s.start for s in self.irreps_in.slices()]
        offset = {((), ()): 0} | {((f,), (ir,)): a_start[f] for f, (_, ir) in enumerate(self.irreps_in)}
        needed = {(factors[:k], chain[:k]) for factors, chain in trees for k in range(2, len(factors))}
        self.levels, size = [], 1 + self.irreps_in.dim
        for level in range(2, max((len(f) for f, _ in needed), default=1) + 1):
            blocks: dict[tuple, list[o3.Irrep]] = {}  # (parent prefix, last factor) -> irreps of its prefixes
            for factors, chain in sorted(k for k in needed if len(k[0]) == level):
                blocks.setdefault((factors[:-1], chain[:-1], factors[-1]), []).append(chain[-1])
            couplings, start = [], size
            for (parent, chain, f), irreps in blocks.items():
                outputs = []
                for ir in irreps:
                    offset[parent + (f,), chain + (ir,)] = size
                    outputs.append((ir, size - start, None))
                    size += ir.dim
                couplings.append((offset[parent, chain], chain[-1], a_start[f], self.irreps_in[f].ir, outputs))
            self._register_coupling(f"level{level}", _blocks(couplings))
            self.levels.append((f"level{level}", size - start))
        self.x_size = size
        return offset

    def _build_output(self, trees: list[tuple], offset: dict[tuple, int], out_start: dict[o3.Irrep, int]
                      ) -> dict[int, int]:
        """The last coupling, into the output, with the weights after it or before it, whichever plan is estimated
        cheaper; returns the trees' new numbers (see :meth:`_register_coupling`)."""
        a_start = [1 + s.start for s in self.irreps_in.slices()]
        shared: dict[tuple, list[int]] = {}  # weights after: (prefix, last factor) -> trees
        grouped: dict[tuple, list[int]] = {}  # weights before: (prefix irrep, last factor, output irrep) -> trees
        for t, (factors, chain) in enumerate(trees):
            shared.setdefault((factors[:-1], chain[:-1], factors[-1]), []).append(t)
            grouped.setdefault((chain[-2] if len(chain) > 1 else None, factors[-1], chain[-1]), []).append(t)
        after = _blocks([(offset[prefix, chain], chain[-1] if prefix else None, a_start[f], self.irreps_in[f].ir,
                          [(trees[t][1][-1], out_start[trees[t][1][-1]], t) for t in members])
                         for (prefix, chain, f), members in shared.items()])
        size = self.x_size
        q_start = list(itertools.accumulate((1 if ir is None else ir.dim for ir, _, _ in grouped), initial=size))
        before = _blocks([(start, ir, a_start[f], self.irreps_in[f].ir, [(ir_out, out_start[ir_out], None)])
                          for start, (ir, f, ir_out) in zip(q_start, grouped)])
        q_entries = [(q_start[g] - size + m, offset[trees[t][0][:-1], trees[t][1][:-1]] + m, t)
                     for g, members in enumerate(grouped.values()) for t in members
                     for m in range(1 if len(trees[t][0]) == 1 else trees[t][1][-2].dim)]
        weighted_rows = sum(block[0].size(0) for block in after)  # the rows that "after" multiplies by a weight
        if _plan_blocks(_shapes(before))[0] + 4 * PASS_COST * len(q_entries) < (
                _plan_blocks(_shapes(after))[0] + 2 * PASS_COST * weighted_rows):
            self.q_size = q_start[-1] - size
            for name, values in zip(("q_out", "q_prefix", "q_tree"), zip(*q_entries)):
                self.register_buffer(name, torch.tensor(values, dtype=torch.long))
            self._register_coupling("out", before)
            return {t: t for t in range(len(trees))}
        self.q_size = 0
        return self._register_coupling("out", after)

    def _register_coupling(self, name: str, blocks: list[tuple]) -> dict[int, int]:
        """Register the Clebsch-Gordan coupling ``name`` of :func:`_blocks` as buckets, each one batched product.

        :func:`_plan_blocks` decides which blocks ``[rows, left dim, right dim]`` stay dense, sorted into buckets of
        one padded shape (padded factor components read component 0 and meet zero coefficients, so padded rows are
        zero and may go anywhere: to row 0, tree 0), and which are split into their nonzero entries, all in one
        bucket of ``1 x 1 x 1`` blocks. Per bucket are registered the coefficients, the destination of every row
        and, where the rows have trees (weights after the coupling), the tree whose weight multiplies it, numbered
        within the bucket (:attr:`bucket_trees` counts them); returns the trees' numbers over all buckets."""
        _, split, dense = _plan_blocks(_shapes(blocks))
        entries = [(matrix[s, p, q].view(1, 1, 1), [lefts[p]], [rights[q]], [rows[s]], [trees[s]])
                   for matrix, lefts, rights, rows, trees in (blocks[b] for b in split)
                   for s, p, q in matrix.nonzero().tolist()]
        lefts, rights, spec, renumber, bucket_trees = [], [], [], {}, []
        for i, members in enumerate([[blocks[b] for b in bucket] for bucket in dense] + [entries] * bool(entries)):
            height, left_dim, right_dim = (max(block[0].shape[d] for block in members) for d in range(3))
            cg = torch.zeros(len(members), height, left_dim, right_dim, dtype=torch.float64)
            rows, trees, local = [0] * (len(members) * height), [0] * (len(members) * height), {}
            for j, (matrix, left_rows, right_rows, destinations, tree_of) in enumerate(members):
                cg[j, : matrix.size(0), : matrix.size(1), : matrix.size(2)] = matrix
                lefts += left_rows + [0] * (left_dim - len(left_rows))
                rights += right_rows + [0] * (right_dim - len(right_rows))
                rows[j * height: j * height + len(destinations)] = destinations
                trees[j * height: j * height + len(tree_of)] = [local.setdefault(t, len(local)) for t in tree_of]
            self.register_constant(f"{name}_cg{i}", cg.flatten(2))
            self.register_buffer(f"{name}_rows{i}", torch.tensor(rows, dtype=torch.long))
            if None not in local:
                self.register_buffer(f"{name}_trees{i}", torch.tensor(trees, dtype=torch.long))
                renumber |= {t: len(renumber) + k for t, k in local.items()}
                bucket_trees.append(len(local))
            spec.append((len(members), height, left_dim, right_dim))
        self.register_buffer(f"{name}_factors", torch.tensor(lefts + rights, dtype=torch.long))
        self.buckets[name] = spec
        self.bucket_trees = bucket_trees or self.bucket_trees
        return renumber

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.weight.normal_().mul_(self.weight.new_tensor(self.weight_std).unsqueeze(-1))

    def _couple(self, name: str, x: Tensor, size: int, weights: tuple[Tensor, ...] = ()) -> Tensor:
        """The coupling ``name`` of ``x [C, N, K]``, its rows added into ``[size, N, K]`` (after multiplying each
        by its tree's weight ``weights[bucket] [trees, N, K]``, where given)."""
        spec = self.buckets[name]
        factors = x.index_select(0, getattr(self, f"{name}_factors")).split(
            [c * d for c, _, d, _ in spec] + [c * d for c, _, _, d in spec])
        out = x.new_zeros(size, *x.shape[1:])
        for i, (left, right, (count, height, left_dim, right_dim)) in enumerate(zip(factors, factors[len(spec):],
                                                                                  spec)):
            cg = getattr(self, f"{name}_cg{i}")
            if height * left_dim * right_dim == 1:  # entries: bmm would spend about 1.4 us on every 1 x 1 block
                terms = left * right * cg
            else:
                outer = left.view(count, left_dim, 1, -1) * right.view(count, 1, right_dim, -1)
                terms = torch.bmm(cg, outer.view(count, left_dim * right_dim, -1)).view(-1, *x.shape[1:])
            if weights:
                terms = terms * weights[i].index_select(0, getattr(self, f"{name}_trees{i}"))
            out.index_add_(0, getattr(self, f"{name}_rows{i}"), terms)
        return out

    def forward(self, a: Tensor, z: Tensor) -> Tensor:
        """``a [N, irreps_in.dim, K]`` and node types ``z [N]`` -> ``[N, irreps_out.dim, K]``."""
        x = torch.cat([a.new_ones(1, a.size(0), a.size(2)), a.transpose(0, 1)])  # X = [1, A], components first
        for name, size in self.levels:
            x = torch.cat([x, self._couple(name, x, size)])
        tree_weight = self.weight.new_zeros(self.num_trees, self.weight.size(0), self.weight.size(2)).index_add_(
            0, self.mix_tree, self.weight.transpose(0, 1).index_select(0, self.mix_path) * self.mix_value)
        weights = tree_weight.index_select(1, z)
        if self.q_size:  # weights before: q_g = sum of the weighted prefixes of the trees of group g
            q = x.new_zeros(self.q_size, x.size(1), x.size(2)).index_add_(
                0, self.q_out, x.index_select(0, self.q_prefix) * weights.index_select(0, self.q_tree))
            return self._couple("out", torch.cat([x, q]), self.irreps_out.dim).transpose(0, 1)
        return self._couple("out", x, self.irreps_out.dim, weights.split(self.bucket_trees)).transpose(0, 1)


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


def _blocks(couplings: list[tuple]) -> list[tuple[Tensor, list[int], list[int], list[int], list]]:
    """The dense blocks of Clebsch-Gordan couplings of rows of ``X``: ``(coefficients [rows, left dim, right dim],
    left rows, right rows, destination of every row, tree of every row)``.

    Every coupling ``(left start, left irrep, right start, right irrep, outputs)`` projects the outer product of
    ``X``'s components of ``left`` and ``right`` onto the irreps ``(L, destination row, tree)`` of ``outputs`` in
    turn (a ``None`` left irrep: one component, passed through)."""
    blocks = []  # (coefficients [rows, left dim, right dim], left rows, right rows, destinations, trees)
    for left, left_ir, right, right_ir, outputs in couplings:
        if left_ir is None:
            matrix, lefts = torch.eye(right_ir.dim, dtype=torch.float64).unsqueeze(1), [left]
        else:
            matrix = torch.cat([o3.wigner_3j(left_ir.l, right_ir.l, ir.l, dtype=torch.float64).permute(2, 0, 1)
                                for ir, _, _ in outputs])
            lefts = list(range(left, left + left_ir.dim))
        blocks.append((matrix, lefts, list(range(right, right + right_ir.dim)),
                       [row + m for ir, row, _ in outputs for m in range(ir.dim)],
                       [t for ir, _, t in outputs for _ in range(ir.dim)]))
    return blocks


def _shapes(blocks: list[tuple]) -> tuple[tuple[int, int, int, int], ...]:
    """``(rows, left dim, right dim, nonzero entries)`` of every block of :func:`_blocks`."""
    return tuple((*b[0].shape, int(b[0].count_nonzero())) for b in blocks)


#: What one more bucket of a coupling costs (about ten calls forward and backward, 5-10 us each), counted in
#: multiply-adds per node and channel of the padded dense blocks (a ``bmm`` does one, forward and backward, in about
#: 0.1 ns per node and channel at BLAS speed, 64 channels and some 10 nodes); see :func:`_plan_blocks`. With these
#: two costs, training steps (one thread, old and new code interleaved) were as fast as with entries alone at
#: ``max_ell = 2`` (``correlation`` 3, O(3) and SO(3)) and faster at ``correlation = 5`` (bodyorder-3: 5.5 against
#: 6.2 ms), ``max_ell`` 3 and 5 (10.8 against 12.1 ms, 5.8 against 8.0 ms) and 10 (46 against 460 ms). The plan at
#: ``max_ell = 10`` keeps to dense blocks down to ``PASS_COST = 4``; at 3 it falls back to entries alone.
BUCKET_COST = 1000

#: What one pass over a row ``[N, K]`` costs (gathering it, multiplying it, adding it somewhere; forward and
#: backward), in the same unit: memory-bound, about ten times a multiply-add in a ``bmm``.
PASS_COST = 10


def _bucket_cost(count: int, rows: int, left_dim: int, right_dim: int) -> float:
    """The estimated cost of a bucket of ``count`` blocks ``[rows, left dim, right dim]``: its calls, its
    multiply-adds, and the passes over the gathered factors, their outer products and the output rows."""
    width = left_dim * right_dim
    return BUCKET_COST + count * (rows * width + PASS_COST * (left_dim + right_dim + width + rows))


@functools.lru_cache(maxsize=None)
def _plan_blocks(blocks: tuple[tuple[int, int, int, int], ...]) -> tuple[float, list[int], list[list[int]]]:
    """Which blocks ``(rows, left dim, right dim, nonzero entries)`` of a coupling to split into their entries, and
    the buckets of the others: the plan of least estimated cost.

    A bucket costs :func:`_bucket_cost`; the entries of the split blocks form one bucket of ``1 x 1 x 1`` blocks.
    The blocks are sorted by size; the smallest ones are split, the others cut into consecutive runs by dynamic
    programming. Returns the estimated cost, the blocks to
    split and the buckets (indices into ``blocks``)."""
    order = sorted(range(len(blocks)), key=lambda b: (math.prod(blocks[b][:3]), blocks[b]))
    best, cut = [math.inf] * len(order) + [0.0], [len(order)] * (len(order) + 1)  # dense buckets of order[start:]
    for start in range(len(order) - 1, -1, -1):
        padded = (0, 0, 0)
        for end in range(start + 1, len(order) + 1):
            padded = tuple(map(max, padded, blocks[order[end - 1]][:3]))
            cost = _bucket_cost(end - start, *padded)
            if cost >= best[start]:
                break  # longer runs only pad more
            if cost + best[end] < best[start]:
                best[start], cut[start] = cost + best[end], end
    entries = list(itertools.accumulate((blocks[b][3] for b in order), initial=0))
    costs = [best[k] + _bucket_cost(entries[k], 1, 1, 1) * (k > 0) for k in range(len(order) + 1)]
    split = costs.index(min(costs))
    buckets, start = [], split
    while start < len(order):
        buckets.append(order[start: cut[start]])
        start = cut[start]
    return costs[split], order[:split], buckets


def _span_coefficients(vectors: Tensor, tol: float = 1e-8) -> Tensor:
    """``alpha [rank, n]`` such that the rows of ``alpha @ vectors.flatten(1)`` are an orthonormal basis of the span
    of ``vectors [n, ...]``: the SVD's right singular vectors, written in terms of the vectors."""
    flat = vectors.flatten(1)
    support = flat.abs().sum(0) > 0  # the SVD of the nonzero columns only
    u, s, _ = torch.linalg.svd(flat[:, support], full_matrices=False)
    rank = int((s > tol * max(float(s[0]), 1.0)).sum()) if s.numel() else 0
    return (u[:, :rank] / s[:rank]).t()
