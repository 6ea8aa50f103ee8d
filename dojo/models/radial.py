"""Radial bases and cutoff envelopes: learnable-friendly expansions of an edge length ``d`` in ``[0, cutoff]``.

Shared by the models that expand distances in Bessel functions (DimeNet++, SphereNet; MACE and PaiNN use the same
sine/Bessel family). Written here rather than taken from PyG because PyG's ``BesselBasisLayer`` and
``SphericalBasisLayer`` divide by ``d`` (NaN for coincident points) and evaluate spherical Bessel functions from
their closed forms, which cancel catastrophically near ``d = 0`` (in float32 the round-off of a rotated copy of a
graph then changes the output at the 1e-2 level). Here every basis is finite and accurate on all of ``[0, cutoff]``.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
from scipy.optimize import brentq
from scipy.special import spherical_jn
from torch import Tensor, nn

__all__ = ["PolynomialEnvelope", "BesselBasis", "SphericalBesselBasis", "spherical_bessel", "spherical_bessel_zeros",
           "check_cutoff"]

# Terms of the power series of j_l(x), used below x = l + 1 (where the recurrence would cancel); with 20 terms the
# truncation error there stays below 1e-15 for l <= 8 (checked against mpmath in tests/test_models_invariant.py).
_SERIES_TERMS = 20


class PolynomialEnvelope(nn.Module):
    r"""The smooth cutoff of DimeNet (Gasteiger et al. 2020, arXiv 2003.03123, eq. 8), of ``x = d / cutoff``:

    .. math:: u(x) = 1 - \tfrac{(p+1)(p+2)}{2} x^p + p(p+2) x^{p+1} - \tfrac{p(p+1)}{2} x^{p+2} \quad (x < 1),

    and ``0`` for ``x >= 1``: ``u(0) = 1`` and ``u`` falls to zero at the cutoff with vanishing first and second
    derivatives. DimeNet's ``envelope_exponent = 5`` is ``p = 6``; MACE's polynomial cutoff is the same function.

    Examples
    --------
    >>> env = PolynomialEnvelope(p=6)
    >>> env(torch.tensor([0.0, 1.0, 2.0])).tolist()
    [1.0, 0.0, 0.0]
    """

    def __init__(self, p: int = 6) -> None:
        super().__init__()
        if p < 1:
            raise ValueError(f"PolynomialEnvelope: p must be a positive integer, got {p}. Fix: use p >= 1 (e.g. 6).")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        p = self.p
        x_p = x.pow(p)
        u = 1 - (p + 1) * (p + 2) / 2 * x_p + p * (p + 2) * x_p * x - p * (p + 1) / 2 * x_p * x * x
        return torch.where(x < 1, u, torch.zeros_like(u))


class BesselBasis(nn.Module):
    r"""DimeNet's radial basis (eq. 7) times the envelope: ``e_n(d) = u(d/c) sin(f_n d/c) / (d/c)``, ``n = 1..N``.

    The frequencies start at ``f_n = n pi`` and are trainable when ``trainable`` (as in DimeNet). The paper's
    constant ``sqrt(2/c)/c`` is left out, as in the authors' code (a fixed scale the next linear layer absorbs).
    ``sin(f x)/x`` is evaluated as ``f sinc(f x / pi)``, which is exact at ``d = 0`` (coincident points), where the
    reference implementations divide by zero.

    Parameters
    ----------
    num_radial : int
        Number of basis functions ``N``.
    cutoff : float
        ``c``: the basis and its envelope vanish for ``d >= c``.
    envelope_exponent : int
        DimeNet's exponent: the envelope is :class:`PolynomialEnvelope` with ``p = envelope_exponent + 1``.
    trainable : bool
        Whether the frequencies are parameters.

    Examples
    --------
    >>> rbf = BesselBasis(num_radial=3, cutoff=5.0)
    >>> rbf(torch.tensor([0.0, 5.0])).shape
    torch.Size([2, 3])
    >>> [round(v, 4) for v in rbf(torch.tensor([0.0]))[0].tolist()]  # f_n at d = 0
    [3.1416, 6.2832, 9.4248]
    """

    def __init__(self, num_radial: int, cutoff: float, envelope_exponent: int = 5, trainable: bool = True) -> None:
        super().__init__()
        self.cutoff = cutoff
        self.envelope = PolynomialEnvelope(envelope_exponent + 1)
        freq = math.pi * torch.arange(1, num_radial + 1, dtype=torch.get_default_dtype())
        if trainable:
            self.freq = nn.Parameter(freq)
        else:
            self.register_buffer("freq", freq)

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.freq.copy_(math.pi * torch.arange(1, self.freq.numel() + 1, dtype=self.freq.dtype))

    def forward(self, dist: Tensor) -> Tensor:
        x = (dist / self.cutoff).unsqueeze(-1)
        return self.from_scaled(x, self.envelope(x))

    def from_scaled(self, x: Tensor, envelope: Tensor) -> Tensor:
        """The basis ``[..., N]`` from ``x = d / c`` and its envelope ``u(x)`` (both ``[..., 1]``): the part that the
        trainable frequencies enter, for models that compute the geometry once per graph and reuse it."""
        return envelope * self.freq * torch.sinc(self.freq * x / math.pi)


def spherical_bessel(l_max: int, x: Tensor) -> Tensor:
    r"""Spherical Bessel functions of the first kind ``j_0(x) .. j_l_max(x)``, stacked on a new last axis.

    Accurate to round-off for every ``x >= 0`` in float32 and float64, including ``x = 0``: below ``x = l + 1`` from
    the power series :math:`j_l(x) = x^l \sum_k (-x^2/2)^k / (k!\,(2l+2k+1)!!)`, above it from the upward
    recurrence :math:`j_{l+1} = \tfrac{2l+1}{x} j_l - j_{l-1}`, which is stable there. (The closed forms that
    DimeNet's sympy code evaluates lose all digits near ``x = 0``.) Differentiable in ``x``.

    Examples
    --------
    >>> j = spherical_bessel(2, torch.tensor([0.0, 1.0], dtype=torch.float64))
    >>> [[round(v, 6) for v in row] for row in j.tolist()]
    [[1.0, 0.0, 0.0], [0.841471, 0.301169, 0.062035]]
    """
    x = x.unsqueeze(-1)
    ls = torch.arange(l_max + 1, device=x.device).to(x.dtype)
    # The series runs on x clamped to its own range, so that no overflow in the unused branch reaches the gradient.
    xs = x.clamp(max=l_max + 1.0)
    series = (_powers(xs * xs, _SERIES_TERMS) @ _series_coefficients(l_max).to(x).T) * _powers(xs, l_max + 1)
    # The recurrence runs on x clamped away from the series' range, so that no inf/NaN reaches the gradient.
    xr = x.clamp(min=1.0)
    out = [torch.sinc(xr / math.pi), (torch.sinc(xr / math.pi) - torch.cos(xr)) / xr]
    for l in range(1, l_max):
        out.append((2 * l + 1) / xr * out[l] - out[l - 1])
    recurrence = torch.cat(out[: l_max + 1], dim=-1)
    return torch.where(x < ls + 1, series, recurrence)


def _powers(x: Tensor, num: int) -> Tensor:
    """``x^0 .. x^(num-1)`` along the last axis of ``x [..., 1]`` (a cumulative product: much faster than ``pow``)."""
    return torch.cat([torch.ones_like(x), x.expand(*x.shape[:-1], num - 1)], dim=-1).cumprod(-1)


@functools.cache
def _series_coefficients(l_max: int) -> Tensor:
    """``c[l, k] = (-1/2)^k / (k! (2l+2k+1)!!)``, the power-series coefficients of ``j_l``, in float64."""
    return torch.tensor([[(-0.5) ** k / (math.factorial(k) * math.prod(range(2 * l + 2 * k + 1, 0, -2)))
                          for k in range(_SERIES_TERMS)] for l in range(l_max + 1)], dtype=torch.float64)


def spherical_bessel_zeros(l_max: int, num: int) -> np.ndarray:
    """The first ``num`` positive zeros of ``j_0 .. j_l_max``, as a float64 array ``[l_max + 1, num]``.

    Found with scipy's root finder between consecutive zeros of ``j_{l-1}``, which interlace with those of ``j_l``
    (the zeros of ``j_0`` are ``n pi``).

    Examples
    --------
    >>> z = spherical_bessel_zeros(1, 2)
    >>> z.round(4).tolist()
    [[3.1416, 6.2832], [4.4934, 7.7253]]
    """
    zeros = [np.pi * np.arange(1, num + l_max + 1)]
    for l in range(1, l_max + 1):
        previous = zeros[-1]
        zeros.append(np.array([brentq(lambda x: spherical_jn(l, x), a, b, xtol=1e-15)
                               for a, b in zip(previous[:-1], previous[1:])]))
    return np.stack([z[:num] for z in zeros])


class SphericalBesselBasis(nn.Module):
    r"""The radial part of DimeNet's spherical basis (eq. 9) times the envelope, for ``l = 0..L-1``, ``n = 1..N``:

    .. math:: R_{ln}(d) = u(d/c)\,\sqrt{2} \, j_l(z_{ln} d / c) / |j_{l+1}(z_{ln})|,

    with ``z_ln`` the ``n``-th zero of ``j_l``, so that every function vanishes at the cutoff and the ``n``-family of
    each ``l`` is orthonormal on ``[0, 1]`` with weight ``x^2`` (the paper's normalisation with ``c = 1``). The
    envelope ``u`` (no ``1/d`` factor, as in the paper) keeps ``R`` finite at ``d = 0``. Returns ``[..., L, N]``.

    Examples
    --------
    >>> basis = SphericalBesselBasis(num_spherical=3, num_radial=2, cutoff=5.0)
    >>> basis(torch.tensor([0.0, 2.5, 5.0])).shape
    torch.Size([3, 3, 2])
    """

    def __init__(self, num_spherical: int, num_radial: int, cutoff: float, envelope_exponent: int = 5) -> None:
        super().__init__()
        self.cutoff = cutoff
        self.envelope = PolynomialEnvelope(envelope_exponent + 1)
        zeros = spherical_bessel_zeros(num_spherical - 1, num_radial)
        norm = np.sqrt(2.0) / np.abs(np.stack([spherical_jn(l + 1, z) for l, z in enumerate(zeros)]))
        self.register_buffer("zeros", torch.as_tensor(zeros, dtype=torch.get_default_dtype()))
        self.register_buffer("norm", torch.as_tensor(norm, dtype=torch.get_default_dtype()))
        # Which l each of the L*N arguments belongs to, to pick j_l(z_ln x) out of all orders.
        self.register_buffer("order", torch.arange(num_spherical).repeat_interleave(num_radial))

    def forward(self, dist: Tensor) -> Tensor:
        x = (dist / self.cutoff).unsqueeze(-1)
        num_spherical, num_radial = self.zeros.shape
        args = (x * self.zeros.flatten()).unsqueeze(-1)  # [..., L*N, 1]
        j = spherical_bessel(num_spherical - 1, args.squeeze(-1))  # [..., L*N, L]
        j = j.gather(-1, self.order.expand(*j.shape[:-1]).unsqueeze(-1)).squeeze(-1)
        out = self.envelope(x) * self.norm.flatten() * j
        return out.unflatten(-1, (num_spherical, num_radial))


def check_cutoff(dist: Tensor, cutoff: float, model: str) -> None:
    """Raise if an edge is at least ``cutoff`` long: the envelope would silently zero its message.

    The dojo's graphs carry their edges explicitly (no radius graph inside models), so an edge the model cannot see
    is a configuration error, not a modelling choice.

    Raises
    ------
    ValueError
        Naming the longest edge and the fix.
    """
    if dist.numel() and bool(dist.max() >= cutoff):
        raise ValueError(f"{model}: an edge of length {float(dist.max()):.4g} reaches the cutoff {cutoff}, where the "
                         "envelope zeroes its message, so the model would silently ignore it. Fix: build the model "
                         "with a larger cutoff= or leave such edges out of edge_index.")
