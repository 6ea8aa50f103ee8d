"""TFN: Tensor Field Networks, spherical-tensor features coupled with spherical harmonics by Clebsch-Gordan products."""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from e3nn import o3
from torch import Tensor, nn
from torch_geometric.data import Data

from dojo.models import register
from dojo.models._cartesian import check_positive
from dojo.models._spherical import (ChannelTensorProduct, IrrepsLinear, RadialEmbedding, RadialMLP, aggregate,
                                    channelwise, check_spherical_config, edge_harmonics, group_irreps, product_irreps,
                                    split_scalars, to_e3nn)
from dojo.models.base import GeometricModel, ModelInfo
from dojo.models.radial import check_cutoff

__all__ = ["TFN"]


@register("tfn")
class TFN(GeometricModel):
    r"""Tensor Field Network of Thomas, Smidt, Kearnes, Yang, Li, Kohlhoff and Riley, "Tensor field networks:
    Rotation- and translation-equivariant neural networks for 3D point clouds", 2018
    (https://arxiv.org/abs/1802.08219), Section 4: point convolution, self-interaction, norm nonlinearity.

    Every node ``a`` carries ``hidden`` channels ``c`` of each irrep ``l <= max_ell``. Layer ``t``, with
    ``x_ab = x_b - x_a`` and ``r = |x_ab|``, for every path ``p = (l_i, l_f -> l_o)``:

    .. math::
        m_{a,c,p} &= \sum_{b \in N(a)} R^{(t)}_{c,p}(r)\, \big[\, Y^{(l_f)}(\hat x_{ab}) \otimes
                     h^{(t)\,(l_i)}_{b,c} \big]^{(l_o)} \\
        h'_a &= W^{(t)} m_a + W^{(t)}_{\mathrm{self}}\, h^{(t)}_a \\
        h^{(t+1)}_a &= \eta_0(h'_a + b) \ \text{for } 0e, \qquad \eta(\lVert h'_a \rVert + b)\, h'_a \ \text{otherwise}

    The filter ``R Y`` is the paper's ``F = R(r) Y(r̂)``; its radial part ``R^{(t)} = MLP(e(r))`` has one hidden
    layer, as in the paper, on ``num_basis`` Bessel functions ``e(r)`` with a polynomial envelope that vanishes at
    ``cutoff`` (the paper uses Gaussians). ``[.]^{(l_o)}`` is the Clebsch-Gordan product, one learned radial weight
    per path and channel (e3nn's ``'uvu'``), so an edge needs ``paths x hidden`` weights, not a dense matrix.
    The paper's self-interaction ``W`` (channel mixing within each irrep; here also over the paths that end in the
    same irrep, the paper's concatenation of filter outputs) follows; ``W_self h_a`` is the ``b = a`` term of the
    paper's sum over all points, where ``r = 0`` leaves only the ``l_f = 0`` filter. ``|.|`` is the norm of each
    irrep of each channel; ``eta_0`` is the shifted softplus (as in the TFN code) and ``eta`` the logistic sigmoid,
    a bounded choice of the paper's free ``eta``: with the shifted softplus there the feature norms grew like
    ``|h|^2`` per layer (to ~1e8 after four layers at random initialisation), and the paper's code instead divides
    by ``|h|``, whose gradient blows up at zero features (isolated nodes, coincident points).

    Every layer is 2-body (one neighbour per term); the tensor features carry relative orientation between layers,
    so TFN is bounded by GWL. But a layer is linear in each neighbour's features until the nonlinearity, so the
    relative orientation of two branches reaches a scalar one layer after it reaches a node: on the k-chains TFN
    needs ``floor(k/2) + 2`` layers, one more than GWL (measured here for k = 4). With ``group="SO(3)"`` the
    features take both parities; a pseudo-scalar is a triple product, which a 2-body layer builds from the third
    layer on (vectors, then cross products, then their dot products with vectors): three layers see a chiral
    helix, the stereocentre of ``chiral-tetrahedral`` needs four. The irreps no path reaches are left out, and
    without ``equivariant_pred`` the last layer computes only the scalars the head reads.

    Deviation: the paper's Gaussian radial basis has no cutoff; here the Bessel basis vanishes at ``cutoff`` (10 by
    default, as in the original dojo; the k-chains' edges are 5 long), divided by its frequency (raw, it reaches
    ``n pi`` on short edges, and the features grew tenfold per layer) and normalised to the same mean square on
    every edge (:class:`~dojo.models._spherical.RadialEmbedding`), so that the radial weights start of order one
    (0.7 to 1.1) whatever the edge length, as the radial MLP's initialisation intends. Raw, they are about 0.2 on
    the k-chains' edges (at half the cutoff) and every hop of a message takes that factor: the two k-chains then
    embed 8e-6 apart at 4 layers (float64, random initialisation) instead of 1e-3, and TFN does not learn to tell
    them apart (train protocol: 50 % at every depth, against 90 % at 4 layers and 100 % at 5 and 6 now).

    Parameters
    ----------
    in_dim : int
        Number of node types.
    out_dim : int
        Output dimension of the head.
    num_layers : int
        Number of TFN layers.
    hidden : int
        Channels per irrep (multiplicity of each of ``0e, 1o, 2e, ...``), 64 as in the original dojo.
    max_ell : int
        Highest degree of the spherical harmonics and of the features.
    group : "O(3)" or "SO(3)"
        O(3): features ``0e + 1o + 2e + ...`` only, mirror images are identical. SO(3): both parities, so
        pseudo-scalars ``0o`` reach the scalar readout and chirality is visible.
    num_basis : int
        Number of Bessel radial basis functions.
    cutoff : float
        Radial cutoff; longer edges raise a ``ValueError`` (they would carry no message).
    radial_hidden : int
        Width of the radial MLP's hidden layer.
    equivariant_pred : bool
        Whether the head also reads the pooled ``l > 0`` features.
    pool : "sum" or "mean"
        Graph pooling.

    Examples
    --------
    >>> from dojo import models
    >>> model = models.build("tfn", in_dim=2, out_dim=1, num_layers=2, hidden=4, max_ell=2)
    >>> model.scalar_irreps, model.vector_irreps
    (4x0e, 4x1o+4x2e)
    """

    def __init__(self, in_dim: int, out_dim: int, num_layers: int = 3, hidden: int = 64, max_ell: int = 2,
                 group: Literal["O(3)", "SO(3)"] = "O(3)", num_basis: int = 8, cutoff: float = 10.0,
                 radial_hidden: int = 64, equivariant_pred: bool = False, pool: Literal["sum", "mean"] = "sum") -> None:
        super().__init__(in_dim, out_dim, equivariant_pred, pool)
        check_spherical_config("tfn", num_layers, hidden, max_ell, group)
        check_positive("tfn", num_basis=num_basis, radial_hidden=radial_hidden)
        self.hidden, self.max_ell, self.group, self.cutoff = hidden, max_ell, group, cutoff
        self.irreps_sh = o3.Irreps.spherical_harmonics(max_ell)
        allowed = group_irreps(max_ell, group)
        self.embedding = nn.Embedding(in_dim, hidden)
        self.radial_basis = RadialEmbedding(num_basis, cutoff, envelope_exponent=5)
        irreps = [o3.Irreps("0e")]
        for _ in range(num_layers):
            irreps.append(product_irreps(irreps[-1], self.irreps_sh, allowed))
        scalars, tensors = split_scalars(irreps[-1])
        last = irreps[-1] if equivariant_pred else scalars
        self.layers = nn.ModuleList(
            TFNLayer(irreps[t], self.irreps_sh, irreps[t + 1] if t < num_layers - 1 else last, hidden, num_basis,
                     radial_hidden) for t in range(num_layers))
        self._build_head(channelwise(scalars, hidden), channelwise(tensors, hidden))
        self._scalars, self._tensors = scalars, tensors

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(
            name="TFN", kind="equivariant", body_order=2, tensor_order=self.max_ell, group=self.group,
            bounded_by="gwl", reference="Thomas et al., Tensor field networks, 2018, arXiv 1802.08219",
            layer_bound="igwl-2")

    def node_features(self, batch: Data) -> tuple[Tensor, Tensor | None]:
        length, sh = edge_harmonics(batch.pos, batch.edge_index, self.irreps_sh)
        check_cutoff(length, self.cutoff, "tfn")
        basis = self.radial_basis(length)
        h = self.embedding(batch.z).unsqueeze(1)  # [N, 1, hidden]: one 0e per channel
        for layer in self.layers:
            h = layer(h, sh, basis, batch.edge_index)
        scalars = to_e3nn(h[:, : self._scalars.dim], self._scalars)
        tensors = to_e3nn(h[:, self._scalars.dim:], self._tensors) if self.equivariant_pred else None
        return scalars, tensors


class TFNLayer(nn.Module):
    """One TFN layer: point convolution, self-interaction and norm nonlinearity, from ``irreps_in`` to ``irreps_out``
    (per-channel irreps; ``irreps_out`` is sorted with the scalars first)."""

    def __init__(self, irreps_in: o3.Irreps, irreps_sh: o3.Irreps, irreps_out: o3.Irreps, hidden: int,
                 num_basis: int, radial_hidden: int) -> None:
        super().__init__()
        self.hidden = hidden
        self.conv = ChannelTensorProduct(irreps_in, irreps_sh, irreps_out)
        self.radial = RadialMLP([num_basis, radial_hidden, hidden * self.conv.num_paths], bias=True)
        self.self_interaction = IrrepsLinear(self.conv.irreps_out, irreps_out, hidden, hidden)
        self.self_term = IrrepsLinear(irreps_in, irreps_out, hidden, hidden)
        self.nonlinearity = NormNonlinearity(irreps_out, hidden)

    def reset_parameters(self) -> None:
        for module in (self.radial, self.self_interaction, self.self_term, self.nonlinearity):
            module.reset_parameters()

    def forward(self, h: Tensor, sh: Tensor, basis: Tensor, edge_index: Tensor) -> Tensor:
        b, a = edge_index  # messages flow from b to a
        weight = self.radial(basis).view(-1, self.conv.num_paths, self.hidden)
        m = aggregate(self.conv(h[b], sh, weight), a, h.size(0))
        return self.nonlinearity(self.self_interaction(m) + self.self_term(h))


class NormNonlinearity(nn.Module):
    r"""TFN's nonlinearity: ``ssp(x + b)`` on true scalars ``0e``, ``sigmoid(|x| + b) x`` on every other irrep.

    One bias per channel and irrep; ``ssp`` is the shifted softplus ``log(0.5 e^x + 0.5)``. Scaling an irrep by a
    function of its norm keeps it equivariant (and odd, so ``0o`` pseudo-scalars change sign under reflections as
    they should). The norm is taken as 0, with zero gradient, at the zero vector, where the plain norm's gradient is
    NaN.
    """

    def __init__(self, irreps: o3.Irreps, hidden: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(len(irreps), hidden))
        irrep_of = torch.cat([torch.full((ir.dim,), n) for n, (_, ir) in enumerate(irreps)])  # per component
        is_true_scalar = torch.tensor([ir == o3.Irrep("0e") for _, ir in irreps]).unsqueeze(-1)
        self.register_buffer("irrep_of", irrep_of)
        self.register_buffer("sum_per_irrep", F.one_hot(irrep_of, len(irreps)).t().float())
        self.register_buffer("is_true_scalar", is_true_scalar)
        self.register_buffer("is_true_scalar_component", is_true_scalar[irrep_of])

    def reset_parameters(self) -> None:
        nn.init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        """``x [N, irreps.dim, hidden]`` -> the same shape."""
        squared = self.sum_per_irrep @ (x * x)  # [N, irreps, hidden]
        positive = squared > 0
        norm = torch.where(positive, torch.where(positive, squared, 1.0).sqrt(), 0.0)
        value = self.sum_per_irrep @ x  # the value itself for 0e (one component)
        gate = torch.where(self.is_true_scalar, _shifted_softplus(value + self.bias), torch.sigmoid(norm + self.bias))
        gate = gate.index_select(1, self.irrep_of)
        return torch.where(self.is_true_scalar_component, gate, gate * x)


def _shifted_softplus(x: Tensor) -> Tensor:
    """``log(0.5 e^x + 0.5) = softplus(x) - log 2``: zero at zero, as in the TFN and SchNet code."""
    return F.softplus(x) - math.log(2.0)
