"""Pieces shared by the spherical-tensor models (TFN, MACE): the channel-wise layout of irreps features, edge
geometry, the channel-wise tensor product with the edge spherical harmonics, and per-irrep linear maps.

Layout. Both models give every irrep the same number of channels ``K``, so node features are kept as ``[N, d, K]``
tensors: component ``c`` of a *per-channel* :class:`e3nn.o3.Irreps` of multiplicity 1 (``"0e+1o+2e"``, ``d = 9``,
in e3nn's component order) for every channel ``k``. Components first and channels last make every selection of
components a copy of contiguous rows. :func:`to_e3nn` flattens such a tensor to e3nn's layout of
``"Kx0e+Kx1o+Kx2e"``, which is what the zoo's interface returns, so ``Irreps.D_from_matrix`` applies as it is.

Why not e3nn's ``TensorProduct`` and ``Linear`` modules: they run one small kernel per path, and on the dojo's graphs
(tens of nodes) the per-call overhead dominates. Measured here (one thread, 10 edges): about 3 ms forward plus
backward for one ``'uvu'`` product of ``0e+1o+2e`` features with the harmonics and about 2 ms per ``Linear``, at any
width from 16 to 64 channels, so a three-layer TFN built from them needed about 30 ms per training step. In the
channel-wise layout one batched matrix product covers all paths of a tensor product, and another all irreps of a
linear map. e3nn still supplies the irreps and their parities, the spherical harmonics, the
Clebsch-Gordan coefficients (``wigner_3j``) and the Wigner matrices.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from e3nn import o3
from e3nn.math import normalize2mom
from torch import Tensor, nn

from dojo.models.radial import BesselBasis

__all__ = ["GROUP_NAMES", "check_spherical_config", "group_irreps", "channelwise", "to_e3nn", "split_scalars",
           "edge_harmonics", "aggregate", "product_irreps", "RadialEmbedding", "RadialMLP", "ExactConstants",
           "ChannelTensorProduct", "IrrepsLinear"]

GROUP_NAMES = ("O(3)", "SO(3)")


def check_spherical_config(model: str, num_layers: int, hidden: int, max_ell: int, group: str) -> None:
    """Raise a ``ValueError`` naming the fix for a configuration no spherical model can run."""
    if group not in GROUP_NAMES:
        raise ValueError(f"{model}: group must be one of {GROUP_NAMES}, got {group!r}. Fix: 'O(3)' for parity-even "
                         "features (mirror images identical), 'SO(3)' to add pseudo-scalars (chirality visible).")
    for name, value in (("num_layers", num_layers), ("hidden", hidden), ("max_ell", max_ell)):
        if not isinstance(value, int) or value < 1:
            hint = " (max_ell=0 leaves only scalars: use an invariant model)" if name == "max_ell" else ""
            raise ValueError(f"{model}: {name} must be an integer >= 1, got {value!r}. Fix: pass a positive "
                             f"integer{hint}.")


def group_irreps(max_ell: int, group: str) -> o3.Irreps:
    """The per-channel irreps a model of ``group`` may carry, up to degree ``max_ell``.

    O(3): the parities of the spherical harmonics, ``0e + 1o + 2e + ...``, so that every scalar is a true scalar and
    mirror images get identical invariants. SO(3): both parities of every degree; the pseudo-scalars ``0o`` (e.g.
    triple products) change sign under reflections and let the model tell a chiral graph from its mirror image.

    Examples
    --------
    >>> group_irreps(2, "O(3)"), group_irreps(1, "SO(3)")
    (1x0e+1x1o+1x2e, 1x0o+1x0e+1x1o+1x1e)
    """
    return o3.Irreps([(1, (l, p)) for l in range(max_ell + 1) for p in (1, -1)
                      if group == "SO(3)" or p == (-1) ** l]).sort().irreps


def channelwise(irreps: o3.Irreps, channels: int) -> o3.Irreps:
    """The e3nn irreps of ``channels`` copies of per-channel ``irreps``: ``"0e+1o"`` and 8 give ``"8x0e+8x1o"``."""
    return o3.Irreps([(channels, ir) for _, ir in irreps])


def to_e3nn(x: Tensor, irreps: o3.Irreps) -> Tensor:
    """Flatten channel-wise features ``[N, irreps.dim, K]`` to e3nn's layout ``[N, K * irreps.dim]`` of
    ``channelwise(irreps, K)``, which stores a block ``"Kx1o"`` as ``[K, 3]`` flattened, channel after channel."""
    return torch.cat([x[:, s].transpose(1, 2).flatten(1) for s in irreps.slices()], dim=-1)


def split_scalars(irreps: o3.Irreps) -> tuple[o3.Irreps, o3.Irreps]:
    """Split per-channel ``irreps`` into its degree-0 part (``0e``, ``0o``) and the rest, keeping the order."""
    return (o3.Irreps([(mul, ir) for mul, ir in irreps if ir.l == 0]),
            o3.Irreps([(mul, ir) for mul, ir in irreps if ir.l > 0]))


def edge_harmonics(pos: Tensor, edge_index: Tensor, irreps_sh: o3.Irreps) -> tuple[Tensor, Tensor]:
    """Length ``|x_ij|`` and spherical harmonics ``Y(x_ij / |x_ij|)`` of every edge ``j -> i``, ``x_ij = x_j - x_i``.

    The harmonics are e3nn's, component-normalised (each ``Y_l`` has squared norm ``2l + 1`` on the unit sphere).
    Coincident points get the zero vector as direction, where the harmonics of degree ``l > 0`` vanish (they are
    homogeneous polynomials): the one value every rotation and reflection agrees on, finite, with finite gradients.

    Returns
    -------
    (Tensor [E], Tensor [E, irreps_sh.dim])
    """
    j, i = edge_index
    vec = pos[j] - pos[i]
    length = torch.linalg.vector_norm(vec, dim=-1)
    unit = vec / torch.where(length > 0, length, torch.ones_like(length)).unsqueeze(-1)
    return length, o3.spherical_harmonics(irreps_sh, unit, normalize=False, normalization="component")


def aggregate(messages: Tensor, index: Tensor, num_nodes: int) -> Tensor:
    """Sum the edge messages ``[E, ...]`` into their target nodes: ``[num_nodes, ...]``.

    ``index_add_`` rather than ``torch_geometric.utils.scatter``, which broadcasts the index over every feature
    dimension and calls ``scatter_add_``: measured here with two threads on a busy CPU, 5 ms against 0.1 ms for
    ``[12, 8, 35]`` messages (equal with one thread).
    """
    return messages.new_zeros(num_nodes, *messages.shape[1:]).index_add_(0, index, messages)


def _paths(irreps_in: o3.Irreps, irreps_sh: o3.Irreps, allowed: o3.Irreps) -> list[tuple[int, int, o3.Irrep]]:
    """``(index in irreps_in, index in irreps_sh, output irrep)`` of every coupling whose output is ``allowed``."""
    keep = {ir for _, ir in allowed}
    return [(a, b, ir) for a, (_, ir_a) in enumerate(irreps_in) for b, (_, ir_b) in enumerate(irreps_sh)
            for ir in ir_a * ir_b if ir in keep]


def product_irreps(irreps_in: o3.Irreps, irreps_sh: o3.Irreps, allowed: o3.Irreps) -> o3.Irreps:
    """The per-channel irreps the product of ``irreps_in`` with ``irreps_sh`` reaches within ``allowed``, sorted.

    Examples
    --------
    >>> product_irreps(o3.Irreps("0e"), o3.Irreps("0e+1o+2e"), group_irreps(2, "SO(3)"))
    1x0e+1x1o+1x2e
    """
    return o3.Irreps([(1, ir) for ir in sorted({ir for _, _, ir in _paths(irreps_in, irreps_sh, allowed)})])


class RadialEmbedding(nn.Module):
    r"""The edge-length features that TFN and MACE feed their radial MLPs: Bessel functions with a polynomial
    envelope, of the same mean square on every edge.

    .. math:: e_n(r) = s\, u(x)\, \mathrm{sinc}(n x) \Big/ \Big(\frac{1}{N} \sum_{n'=1}^{N}
              \mathrm{sinc}^2(n' x)\Big)^{1/2}, \qquad x = r / c,

    with ``sinc(n x) = sin(n pi x) / (n pi x)``, the frequency-scaled form of DimeNet's ``sin(n pi x) / x`` (MACE's
    basis: :class:`~dojo.models.radial.BesselBasis` divided by its frequencies), and ``u`` that basis's envelope,
    which takes every feature smoothly to zero at the cutoff ``c``. Dividing by the root mean square over ``n``
    gives every edge features of mean square ``s^2 u(x)^2``: the radial MLP, whose first layer has weights of
    variance ``1 / N``, starts with pre-activations of variance ``s^2 u^2`` on every edge, and radial weights of
    order ``s``. The direction of the vector ``(sinc(n x))_n`` still tells every length apart (``sinc(2x) / sinc(x)
    = cos(pi x)``), so nothing is lost.

    Why: ``sinc(n x)`` falls from 1 at ``x = 0`` to ``2 / (n pi)`` or 0 at ``x = 1/2`` (the ``1/r`` of the Bessel
    basis), so the features' size, and the radial weights with it, varied fivefold with the edge length. On the
    k-chains (edges at half the cutoff) the radial weights started about 0.12 in size, every hop of a message took
    that factor, and the two k-chains' embeddings differed by 5e-8 (MACE, 3 layers) and 8e-6 (TFN, 4 layers) of
    their size at random initialisation (float64): neither model learned to tell them apart. A single constant
    large enough for half-cutoff edges made the radial weights of short edges (``x = 0.1``, as in ``rotsym``) about
    1.8, where MACE's product basis diverged within two layers.
    """

    def __init__(self, num_basis: int, cutoff: float, envelope_exponent: int, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = scale
        self.bessel = BesselBasis(num_basis, cutoff, envelope_exponent, trainable=False)

    def forward(self, length: Tensor) -> Tensor:
        """Edge lengths ``[E]`` (below the cutoff) -> ``[E, num_basis]``."""
        x = (length / self.bessel.cutoff).unsqueeze(-1)
        sinc = self.bessel.from_scaled(x, torch.ones_like(x)) / self.bessel.freq  # sinc(n x), without the envelope
        rms = sinc.pow(2).mean(-1, keepdim=True).clamp_min(torch.finfo(x.dtype).tiny).sqrt()  # 0 only at x = 1
        return self.bessel.envelope(x) * self.scale * sinc / rms


class RadialMLP(nn.Sequential):
    """The radial network of TFN and MACE: linear layers with SiLU between, variance-preserving at initialisation.

    Weights start normal with variance ``1 / fan_in`` (biases, if any, at zero) and the SiLU is scaled to unit second
    moment on unit Gaussians (e3nn's ``normalize2mom``), as in e3nn's ``FullyConnectedNet`` that MACE uses, so that
    inputs of unit mean square (:class:`RadialEmbedding`) give radial weights of order one at any depth. With
    PyTorch's default initialisation MACE's three hidden layers shrank them about twentyfold, and MACE's products of
    the resulting small messages left the terms that tell the k-chains apart at 1e-11 of the output.
    """

    def __init__(self, dims: list[int], bias: bool) -> None:
        layers: list[nn.Module] = []
        for d_in, d_out in zip(dims, dims[1:]):
            layers += [nn.Linear(d_in, d_out, bias=bias), _NormalizedSiLU()]
        super().__init__(*layers[:-1])
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for layer in self:
            if isinstance(layer, nn.Linear):
                nn.init.normal_(layer.weight, std=layer.in_features ** -0.5)
                if layer.bias is not None:
                    nn.init.zeros_(layer.bias)


class _NormalizedSiLU(nn.Module):
    """``c * silu(x)`` with ``E[(c silu(x))^2] = 1`` for ``x ~ N(0, 1)`` (``c`` found at construction, not inside
    a forward pass that may run under ``torch.func.vmap``)."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = _silu_scale()

    def forward(self, x: Tensor) -> Tensor:
        return F.silu(x) * self.scale


@functools.cache
def _silu_scale() -> float:
    """e3nn's ``normalize2mom`` constant of the SiLU (computed once: it integrates numerically, ~60 ms)."""
    return normalize2mom(F.silu).cst


class ExactConstants(nn.Module):
    """A module with constant buffers (Clebsch-Gordan coefficients, change-of-basis matrices) exact in any dtype.

    Buffers follow ``.to(dtype)``, ``.double()`` and so on, but a float32 buffer cast to float64 keeps float32's
    precision, and Clebsch-Gordan coefficients rounded to float32 break equivariance at the 1e-7 level in a float64
    model. So :meth:`register_constant` keeps the float64 values aside, and every cast re-derives the buffer from
    them. Constants follow from the configuration, so they are not part of the ``state_dict``.
    """

    def __init__(self) -> None:
        super().__init__()
        self._exact: dict[str, Tensor] = {}

    def register_constant(self, name: str, value: Tensor) -> None:
        """Register float64 ``value`` as buffer ``name``, in the default dtype until the module is cast."""
        self._exact[name] = value.to(torch.float64)
        self.register_buffer(name, value.to(torch.get_default_dtype()), persistent=False)

    def _apply(self, fn, recurse=True):  # noqa: ANN001,ANN202  (overrides nn.Module's, which every cast goes through)
        module = super()._apply(fn, recurse)
        for name, exact in self._exact.items():
            current = self._buffers[name]
            self._buffers[name] = exact.to(device=current.device, dtype=current.dtype)
        return module


class ChannelTensorProduct(ExactConstants):
    r"""Channel-wise tensor product of features with edge spherical harmonics, one weight per path, channel, edge.

    For every path ``p = (l_1, l_2 -> L)`` coupling an input irrep with a harmonic into an ``allowed`` irrep,

    .. math:: y_{e,pM,k} = w_{e,p,k} \sqrt{2L+1} \sum_{m_1 m_2} C^{L M}_{l_1 m_1, l_2 m_2}\, x_{e,l_1 m_1,k}\,
              Y_{l_2 m_2}(e),

    with ``C`` e3nn's ``wigner_3j``: e3nn's ``'uvu'`` instruction with per-edge weights, as a single batched matrix
    product (see the module docstring for why). The output keeps the paths apart (per-channel irreps
    :attr:`irreps_out`, one per path); :meth:`sum_paths` adds the paths that end in the same irrep.
    """

    def __init__(self, irreps_in: o3.Irreps, irreps_sh: o3.Irreps, allowed: o3.Irreps) -> None:
        super().__init__()
        paths = _paths(irreps_in, irreps_sh, allowed)
        self.irreps_in, self.irreps_sh = irreps_in, irreps_sh
        self.irreps_out = o3.Irreps([(1, ir) for _, _, ir in paths])
        self.irreps_sum = product_irreps(irreps_in, irreps_sh, allowed)
        self.num_paths = len(paths)
        cg = torch.zeros(irreps_sh.dim, self.irreps_out.dim, irreps_in.dim, dtype=torch.float64)
        path_of = torch.zeros(self.irreps_out.dim, dtype=torch.long)
        to_sum = torch.zeros(self.irreps_sum.dim, self.irreps_out.dim)
        sum_slices = dict(zip((ir for _, ir in self.irreps_sum), self.irreps_sum.slices()))
        in_slices, sh_slices = irreps_in.slices(), irreps_sh.slices()
        for p, ((a, b, ir), out) in enumerate(zip(paths, self.irreps_out.slices())):
            w3j = o3.wigner_3j(irreps_in[a].ir.l, irreps_sh[b].ir.l, ir.l, dtype=torch.float64) * math.sqrt(ir.dim)
            cg[sh_slices[b], out, in_slices[a]] = w3j.permute(1, 2, 0)
            path_of[out] = p
            to_sum[sum_slices[ir], out] = torch.eye(ir.dim)
        self.register_constant("cg", cg.flatten(1))
        self.register_buffer("path_of", path_of)
        self.register_buffer("to_sum", to_sum)

    def forward(self, x: Tensor, sh: Tensor, weight: Tensor) -> Tensor:
        """``x [E, irreps_in.dim, K]``, ``sh [E, irreps_sh.dim]``, ``weight [E, num_paths, K]`` -> ``[E, P, K]``."""
        edge_filter = (sh @ self.cg).view(-1, self.irreps_out.dim, self.irreps_in.dim)
        return torch.bmm(edge_filter, x) * weight.index_select(1, self.path_of)

    def sum_paths(self, y: Tensor) -> Tensor:
        """Add the paths that end in the same irrep: ``[N, irreps_out.dim, K] -> [N, irreps_sum.dim, K]``."""
        return self.to_sum @ y


class IrrepsLinear(nn.Module):
    r"""Channel mixing within each irrep type: e3nn's ``Linear`` in the channel-wise layout.

    .. math:: y_{LM, k'} = \sum_{c, k} x_{c M, k}\, W_{c, k k'},

    summing over channels ``k`` and over the copies ``c`` of irrep ``L`` in ``irreps_in`` (several paths may end in
    the same irrep), each copy with its own matrix. Mixing only whole irreps of one type is what makes it
    equivariant. Input irreps absent from ``irreps_out`` are ignored; output irreps with no copy in the input are
    zero. With ``num_elements``, every node type has its own matrices (MACE's element-dependent skip), computed as
    e3nn's product with the one-hot node type. Weights start normal with variance ``1 / fan_in``, so that
    unit-variance inputs give unit-variance outputs. All components are mixed by one batched matrix product.
    """

    def __init__(self, irreps_in: o3.Irreps, irreps_out: o3.Irreps, channels_in: int, channels_out: int,
                 num_elements: int | None = None) -> None:
        super().__init__()
        self.irreps_in, self.irreps_out, self.num_elements = irreps_in, irreps_out, num_elements
        out_slices = {ir: s for (_, ir), s in zip(irreps_out, irreps_out.slices())}
        copies = [(s, ir) for s, (_, ir) in zip(irreps_in.slices(), irreps_in) if ir in out_slices]
        used = torch.cat([torch.arange(s.start, s.stop) for s, _ in copies]) if copies else torch.zeros(0).long()
        to_out = torch.zeros(irreps_out.dim, len(used))
        column = 0
        for s, ir in copies:
            to_out[out_slices[ir], column: column + ir.dim] = torch.eye(ir.dim)
            column += ir.dim
        # Which input components are read and where they go, left out where that is all of them, in order.
        everything = torch.equal(used, torch.arange(irreps_in.dim))
        self.register_buffer("used", None if everything else used)
        self.register_buffer("to_out", None if torch.equal(to_out, torch.eye(irreps_out.dim)) else to_out)
        self.register_buffer("copy_of", torch.arange(len(copies)).repeat_interleave(
            torch.tensor([ir.dim for _, ir in copies], dtype=torch.long)))
        self.fan_in = [channels_in * sum(ir_c == ir for _, ir_c in copies) for _, ir in copies]
        self.weight = nn.Parameter(torch.empty(len(copies), channels_in * (num_elements or 1), channels_out))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            for weight, fan_in in zip(self.weight, self.fan_in):
                weight.normal_(std=fan_in ** -0.5)

    def forward(self, x: Tensor, z: Tensor | None = None) -> Tensor:
        """``x [N, irreps_in.dim, channels_in]`` (and node types ``z`` with ``num_elements``) -> ``[N, d', K']``."""
        if self.used is not None:
            x = x.index_select(1, self.used)
        if self.num_elements is not None:  # [N, d, K] -> [N, d, K * num_elements], zero but for the node's type
            x = (x.unsqueeze(-1) * F.one_hot(z, self.num_elements).to(x.dtype)[:, None, None, :]).flatten(2)
        y = torch.bmm(x.transpose(0, 1), self.weight.index_select(0, self.copy_of)).transpose(0, 1)
        return y if self.to_out is None else self.to_out @ y
