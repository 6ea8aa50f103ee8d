"""SphereNet: spherical message passing with distances, angles and torsions (4-body, invariant, chiral)."""

from __future__ import annotations

import math
from typing import Literal

import torch
from e3nn import o3
from torch import Tensor
from torch_geometric.utils import scatter

from dojo.models import register
from dojo.models._directional import BasisProjections, legendre, pairs_in_groups, safe_unit
from dojo.models.base import ModelInfo
from dojo.models.dimenet import DimeNetPlusPlus

__all__ = ["SphereNet", "torsions"]


@register("spherenet")
class SphereNet(DimeNetPlusPlus):
    r"""SphereNet of Liu, Wang, Liu, Lin, Zhang, Oztekin and Ji, "Spherical Message Passing for 3D Molecular Graphs",
    ICLR 2022 (https://arxiv.org/abs/2102.05013), following the authors' implementation in DIG.

    DimeNet++ (see :class:`~dojo.models.dimenet.DimeNetPlusPlus`) with a third basis: the message ``k -> j`` that
    feeds edge ``j -> i`` is located by the spherical coordinates ``(d, theta, phi)`` of ``x_k`` in a frame at
    ``x_j`` whose polar axis points to ``x_i``: ``d = d_kj``, ``theta`` the angle ``k-j-i``, ``phi`` the torsion
    of the plane ``(k, j, i)`` about the axis, measured from a reference plane ``(r, j, i)``:

    .. math::
        \mathrm{tbf}_{lmn}(d, \theta, \varphi) &= R_{ln}(d)\, Y_l^m(\theta, \varphi) \\
        m_{ji} &\leftarrow \mathrm{Res}\Big(m_{ji} + \sigma(W_{ji} m_{ji}) + \sigma\big(W_{up}
            \textstyle\sum_{k} \sigma(W_{down}(\sigma(W_{kj} m_{kj}) \odot W_{rbf}\,\mathrm{rbf}(d_{kj})))
            \odot W_{sbf}\,\mathrm{sbf}(d_{kj}, \theta) \odot W_{tbf}\,\mathrm{tbf}(d_{kj}, \theta, \varphi)\big)\Big)

    with node outputs ``v_i`` summed over blocks as in DimeNet++ (``rbf``, ``sbf`` and ``R`` from
    :mod:`dojo.models.radial`; ``Y_l^m`` from e3nn, orthonormal real harmonics that match the paper's up to sign
    and order within each ``l``, which the next linear layer absorbs).

    The reference plane is the authors' choice: among the other neighbours ``r != i`` of ``j``, the one reached
    first turning counterclockwise about ``j -> i`` from ``k``, so ``phi`` in ``(0, 2 pi]`` (``2 pi`` when ``k`` is the
    only one). ``phi`` is signed, so a mirror image changes it: SphereNet sees chirality and is SO(3)-invariant
    only (verified in the tests). A torsion involves ``k, j, i, r``: body order 4. As for DimeNet++, messages on
    directed edges keep the torsions grouped edge by edge, which IGWL_(4) does not see (one block separates the
    ``bodyorder-4`` pair, whose 4-body multisets are equal), so the bounding test is IGWL under SO(3).

    Degenerate geometry: when ``k`` (or a candidate ``r``) lies on the axis ``j -> i`` its plane, hence its torsion,
    is undefined, and the reference code returns whatever round-off gives (it separates the two k-chains, which
    no invariant model can see, by ~1e-7). Here a direction within ``sqrt(machine epsilon)`` (a relative,
    scale-free threshold) of the axis counts as on it: its ``sin theta`` is set to exactly 0, so ``Y_l^m`` take
    their polar values whatever ``phi`` is, and it is never chosen as a reference. Mirror images and the two
    k-chains then embed identically.

    Deviations from the reference code, and why: the same as DimeNet++'s (type embedding, Glorot-orthogonal output
    layers, envelope ``u(d)`` on the spherical bases, cutoff 10), plus the torsion basis pairs ``Y_l^m`` with the
    radial functions of the same ``l`` as the paper writes it (the reference code's reshape pairs them differently).

    Parameters
    ----------
    in_dim : int
        Number of node types.
    out_dim : int
        Output dimension of the head.
    num_layers : int
        Number of interaction blocks (4, as in the paper).
    hidden : int
        Width of the edge messages (128).
    equivariant_pred : bool
        Must be False: SphereNet has no vector features.
    pool : "sum" or "mean"
        Graph pooling.
    int_emb_size, basis_emb_size, out_emb_channels : int
        Triplet, basis and output-block widths (64, 8, 256, as in the authors' QM9 set-up).
    num_spherical, num_radial : int
        Degrees ``l < num_spherical`` and radial functions per degree (3 and 6, the authors' QM9 set-up).
    cutoff : float
        Cutoff of the bases (10; edges reaching it raise ValueError).
    envelope_exponent : int
        Envelope smoothness, ``p = envelope_exponent + 1`` (5).
    num_before_skip, num_after_skip, num_output_layers : int
        Residual layers before and after the skip connection, and dense layers per output block (1, 2, 3).
    """

    def __init__(self, in_dim: int, out_dim: int, num_layers: int = 4, hidden: int = 128,
                 equivariant_pred: bool = False, pool: Literal["sum", "mean"] = "sum", int_emb_size: int = 64,
                 basis_emb_size: int = 8, out_emb_channels: int = 256, num_spherical: int = 3, num_radial: int = 6,
                 cutoff: float = 10.0, envelope_exponent: int = 5, num_before_skip: int = 1, num_after_skip: int = 2,
                 num_output_layers: int = 3) -> None:
        super().__init__(in_dim, out_dim, num_layers, hidden, equivariant_pred, pool, int_emb_size, basis_emb_size,
                         out_emb_channels, num_spherical, num_radial, cutoff, envelope_exponent, num_before_skip,
                         num_after_skip, num_output_layers)
        self.harmonics = o3.SphericalHarmonics(list(range(num_spherical)), normalize=False, normalization="integral")
        # The degree l of each of the num_spherical**2 harmonics, to pair Y_l^m with R_ln.
        degrees = torch.arange(num_spherical)
        self.register_buffer("degree", degrees.repeat_interleave(2 * degrees + 1))
        # SphereNet's edge update (``update_e`` in the authors' code) is DimeNet++'s, its triplet messages gated by
        # the projected torsion basis too.
        self.tbf_projections = BasisProjections(num_layers, num_spherical ** 2 * num_radial, basis_emb_size,
                                                int_emb_size)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.tbf_projections.reset_parameters()

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(name="SphereNet", kind="invariant", body_order=4, tensor_order=0, group="SO(3)",
                         bounded_by="igwl", reference="Liu et al., ICLR 2022, arXiv 2102.05013")

    def triplet_bases(self, unit: Tensor, dist: Tensor, idx_kj: Tensor, idx_ji: Tensor) -> tuple[Tensor, Tensor]:
        """DimeNet++'s ``sbf(d_kj, theta)`` ``[T, L N]`` and the torsion basis ``tbf(d_kj, theta, phi)``
        ``[T, L^2 N]``."""
        cos_theta, sin_theta, phi = torsions(unit, idx_kj, idx_ji)
        # The direction of x_k in the frame at x_j, polar axis towards x_i (e3nn's polar axis is its y).
        local = torch.stack([sin_theta * torch.cos(phi), cos_theta, sin_theta * torch.sin(phi)], dim=-1)
        radial = self.sbf(dist)[idx_kj]  # [T, L, N]
        sbf = (radial * legendre(cos_theta, radial.size(1)).unsqueeze(-1)).flatten(1)
        tbf = (radial[:, self.degree] * self.harmonics(local).unsqueeze(-1)).flatten(1)
        return sbf, tbf

    def triplet_gates(self, sbf: Tensor, tbf: Tensor) -> Tensor:
        """DimeNet++'s gate times the projected torsion basis, per block."""
        return self.sbf_projections(sbf) * self.tbf_projections(tbf)


def torsions(unit: Tensor, idx_kj: Tensor, idx_ji: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(cos theta, sin theta, phi)`` of every triplet ``k -> j -> i``, from the unit edge vectors ``unit``.

    ``theta`` is the angle between ``x_k - x_j`` and the axis ``x_i - x_j``; ``phi`` in ``(0, 2 pi]`` the
    counterclockwise turn about the axis from the plane of ``k`` to the first plane of another neighbour ``r != i``
    of ``j`` (``2 pi`` if there is none; a neighbour in the plane of ``k``, on its side, counts as a full turn).
    Directions within ``sqrt(eps)`` of the axis get ``sin theta = 0`` exactly and are never a reference (see
    :class:`SphereNet`); a reference whose triple product with ``k`` and the axis is within ``sqrt(eps)`` of zero
    counts as in the plane of ``k``: a full turn on ``k``'s side, exactly ``pi`` on the other.

    Examples
    --------
    Node 0 has neighbours 1 (the axis), 2 and 3, a quarter turn apart about the axis:

    >>> vec = torch.tensor([[0.0, 0, 1], [1, 0, 0], [0, 1, 0]], dtype=torch.float64)  # x_1, x_2, x_3 - x_0
    >>> unit = torch.cat([vec, -vec])  # edges 0->1, 0->2, 0->3, then their reverses 1->0, 2->0, 3->0
    >>> idx_kj, idx_ji = torch.tensor([4, 5]), torch.tensor([0, 0])  # 2->0->1 and 3->0->1
    >>> cos, sin, phi = torsions(unit, idx_kj, idx_ji)
    >>> cos.tolist(), sin.tolist(), [round(p / math.pi, 3) for p in phi.tolist()]
    ([0.0, 0.0], [1.0, 1.0], [0.5, 1.5])
    """
    axis, to_k = unit[idx_ji], -unit[idx_kj]
    cos_theta = (axis * to_k).sum(-1).clamp(-1, 1)
    perp, sin_theta = safe_unit(to_k - cos_theta.unsqueeze(-1) * axis)
    on_axis = sin_theta <= math.sqrt(torch.finfo(unit.dtype).eps)
    perp = perp.masked_fill(on_axis.unsqueeze(-1), 0.0)
    sin_theta = sin_theta.masked_fill(on_axis, 0.0)
    # Quadruplets: triplet t with every candidate reference s on the same edge j -> i (s = t included).
    t, s = pairs_in_groups(idx_ji)
    same_side = (perp[t] * perp[s]).sum(-1)
    turn = torch.atan2((axis[t] * torch.linalg.cross(perp[t], perp[s])).sum(-1), same_side)
    # A reference in the plane of k is a full turn away on k's side (as k itself is) and half a turn on the other,
    # decided with a tolerance: round-off (fused multiply-adds, moved inputs) leaves a tiny turn of either sign
    # there, which would flip between ~0 and ~2 pi and make phi jump on symmetric geometry (planar stars, stacked
    # rings, any planar graph). The decision reads the triple product axis . (x_k x x_r) of the unit vectors
    # (= sin theta_k sin theta_r sin turn), whose round-off is that of the unit vectors, a few eps, however close k
    # or r is to the axis; the turn's own round-off grows as 1 / sin theta, so that a near-axis k or r (sin theta
    # ~ 1e-3 in float32) would flip a tolerance on the turn between a graph and its moved copy.
    volume = (axis[t] * torch.linalg.cross(to_k[t], to_k[s])).sum(-1)
    coplanar = volume.abs() <= math.sqrt(torch.finfo(unit.dtype).eps)
    turn = torch.where(turn <= 0, turn + 2 * math.pi, turn).masked_fill(coplanar & (same_side < 0), math.pi)
    turn = turn.masked_fill(on_axis[s] | (t == s) | (coplanar & (same_side >= 0)), 2 * math.pi)
    phi = scatter(turn, t, dim=0, dim_size=idx_ji.numel(), reduce="min")
    return cos_theta, sin_theta, phi

