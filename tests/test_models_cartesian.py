"""The Cartesian-vector models (E-GNN, GVP-GNN, PaiNN): exact equivariance, symmetric inputs, k-chains, edge cases."""

from __future__ import annotations

import pytest
import torch
from e3nn import o3
from hypothesis import given, settings, strategies as st
from torch_geometric.data import Batch

import counterexamples
from dojo import models
from dojo.graphs import geometric_graph
from dojo.models._cartesian import as_irreps
from dojo.models.gvp import GVP
from dojo.models.painn import sine_basis
from dojo.transforms import random_rotation, rigid_motion

# (name, extra options): GVP-GNN in both of its variants.
CONFIGS = [("egnn", {}), ("gvp", {}), ("gvp", {"vector_gate": False}), ("painn", {})]
IDS = ["egnn", "gvp", "gvp-ungated", "painn"]


def small(name: str, seed: int = 0, **config) -> models.GeometricModel:
    torch.manual_seed(seed)
    config = {"in_dim": 3, "out_dim": 2, "num_layers": 2, "hidden": 8, **config}
    return models.build(name, **config).double().eval()


def batch(graph) -> Batch:
    return Batch.from_data_list([graph])


def node_vectors(model: models.GeometricModel, graph) -> torch.Tensor:
    """The model's node-wise vector channels as ``[N, C, 3]`` Cartesian vectors."""
    with torch.no_grad():
        _, vectors = model.node_features(batch(graph))
    return vectors.unflatten(1, (-1, 3))


def random_graph(gen: torch.Generator, n: int = 6, spread: float = 1.5):
    pos = spread * torch.randn(n, 3, generator=gen, dtype=torch.float64)
    edges = [(i, j) for i in range(n) for j in range(i) if torch.rand(1, generator=gen) < 0.6]
    return geometric_graph(pos, edges, torch.randint(0, 3, (n,), generator=gen), dtype=torch.float64)


def test_the_vector_layout_is_the_e3nn_1o_convention():
    """``as_irreps`` relies on e3nn ordering 1o components as (x, y, z); checked in float64 throughout."""
    rot = random_rotation(torch.Generator().manual_seed(0), proper=False)
    vectors = torch.randn(4, 2, 3, dtype=torch.float64)
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # e3nn builds its Wigner matrices in the default dtype
    try:
        wigner = o3.Irreps("2x1o").D_from_matrix(rot)
    finally:
        torch.set_default_dtype(default)
    assert torch.allclose(as_irreps(vectors @ rot.T), as_irreps(vectors) @ wigner.T, rtol=0, atol=1e-12)


@pytest.mark.parametrize(("name", "config"), CONFIGS, ids=IDS)
@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), proper=st.booleans())
def test_embedding_is_exactly_equivariant_in_float64(name, config, seed, proper):
    """Scalars invariant, pooled vectors rotated (or reflected) by R itself, to round-off: 1e-12 relative."""
    model = small(name, equivariant_pred=True, **config)
    gen = torch.Generator().manual_seed(seed)
    graph = random_graph(gen)
    rot = random_rotation(gen, proper=proper)
    with torch.no_grad():
        e = model.embed(batch(graph))
        e_moved = model.embed(batch(rigid_motion(graph, rot, 10 * torch.randn(3, generator=gen, dtype=torch.float64))))
    num_scalars = model.scalar_irreps.dim
    expected = torch.cat([e[:, :num_scalars], (e[:, num_scalars:].unflatten(1, (-1, 3)) @ rot.T).flatten(1)], dim=1)
    assert torch.allclose(e_moved, expected, rtol=0, atol=1e-12 * e.abs().max().item())


@pytest.mark.parametrize(("name", "config"), CONFIGS, ids=IDS)
def test_a_collinear_graph_gets_vectors_along_its_line(name, config):
    """Rotations about the line fix the graph, so equivariant vectors must lie on the line.

    The tolerance is loose (1e-7) because the true answer has exact cancellations here (node 4's two neighbours pull
    in opposite directions, its third coincides with it): GVP's vector LayerNorm rescales the ~1e-13 round-off
    left by such a cancellation by up to ``1/sqrt(eps) = 1e4``. A model that leaked a direction would be off by O(1).
    """
    gen = torch.Generator().manual_seed(1)
    direction = torch.nn.functional.normalize(torch.randn(3, generator=gen, dtype=torch.float64), dim=0)
    offsets = torch.tensor([0.0, 1.3, 2.1, 4.0, 4.0, 6.5], dtype=torch.float64)  # with two coincident points
    pos = offsets[:, None] * direction + torch.randn(3, generator=gen, dtype=torch.float64)
    graph = geometric_graph(pos, [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (0, 2), (1, 4)], [0, 1, 2, 0, 1, 2],
                            dtype=torch.float64)
    v = node_vectors(small(name, num_layers=3, equivariant_pred=True, **config), graph)
    assert v.abs().max() > 1e-8, "the vector channels should not all vanish"
    off_line = torch.linalg.cross(v, direction.expand_as(v), dim=-1)
    assert off_line.abs().max() < 1e-7 * v.abs().max()


@pytest.mark.parametrize(("name", "config"), CONFIGS, ids=IDS)
def test_a_planar_graph_gets_vectors_in_its_plane(name, config):
    """The mirror through the plane fixes the graph: O(3)-equivariant polar vectors must lie in the plane."""
    gen = torch.Generator().manual_seed(2)
    pos = torch.randn(6, 3, generator=gen, dtype=torch.float64)
    pos[:, 2] = 0.0
    graph = geometric_graph(pos, [(i, (i + 1) % 6) for i in range(6)] + [(0, 3)], [0, 1, 2, 0, 1, 2],
                            dtype=torch.float64)
    v = node_vectors(small(name, num_layers=3, equivariant_pred=True, **config), graph)
    assert v[..., :2].abs().max() > 1e-8
    assert v[..., 2].abs().max() < 1e-12 * v.abs().max()


@pytest.mark.parametrize("name", ["egnn", "gvp", "painn"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_kchains_look_the_same_below_the_gwl_depth(name, num_layers):
    """GWL separates the 4-chains only at iteration 3: with fewer layers a GWL-bounded model must not (to round-off)."""
    a, b = counterexamples.load("kchains", k=4).graphs(torch.float64)
    model = small(name, num_layers=num_layers, in_dim=1)
    with torch.no_grad():
        ea, eb = model.embed(batch(a)), model.embed(batch(b))
    assert (ea - eb).abs().max() < 1e-12 * ea.abs().max()


@pytest.mark.parametrize("name", ["gvp", "painn"])
def test_vector_channels_separate_kchains_at_the_gwl_depth(name):
    """At 3 layers the vector channels carry both bends into one node's view: the invariant embeddings differ."""
    a, b = counterexamples.load("kchains", k=4).graphs(torch.float64)
    model = small(name, num_layers=3, in_dim=1)
    with torch.no_grad():
        ea, eb = model.embed(batch(a)), model.embed(batch(b))
    assert (ea - eb).abs().max() > 1e-8 * ea.abs().max()


@pytest.mark.parametrize("name", ["egnn", "gvp", "painn"])
def test_forces_are_finite_at_coincident_points(name):
    """The gradient with respect to positions (forces) stays finite where two points coincide."""
    graph = geometric_graph([[0, 0, 0], [0, 0, 0], [1, 0, 0], [1, 1, 0]], [(0, 1), (1, 2), (0, 2), (2, 3)],
                            dtype=torch.float64)
    model = small(name, equivariant_pred=True)
    data = batch(graph)
    data.pos.requires_grad_(True)
    model(data).sum().backward()
    assert torch.isfinite(data.pos.grad).all()


def test_egnn_moves_each_node_by_the_mean_over_its_neighbours():
    """One layer, against the paper's equation (4) with C = 1/|N(i)|, on a star (degrees 3 and 1)."""
    graph = geometric_graph([[0, 0, 0], [1, 0, 0], [0, 2, 0], [0, 0, 3]], [(0, 1), (0, 2), (0, 3)], [0, 1, 2, 0],
                            dtype=torch.float64)
    model = small("egnn", num_layers=1, equivariant_pred=True)
    layer = model.layers[0]
    x, h = graph.pos, model.embedding(graph.z)
    expected = torch.zeros_like(x)
    for i in range(4):
        neighbours = graph.edge_index[0, graph.edge_index[1] == i].tolist()
        for j in neighbours:
            m_ij = layer.phi_e(torch.cat([h[i], h[j], (x[i] - x[j]).square().sum().reshape(1)]))
            expected[i] += (x[i] - x[j]) * layer.phi_x(m_ij) / len(neighbours)
    assert torch.allclose(node_vectors(model, graph)[:, 0], expected.detach(), rtol=0, atol=1e-14)



@pytest.mark.parametrize(("out_dims", "activations", "vector_gate"),
                         [((5, 3), True, True), ((5, 3), False, True), ((5, 3), True, False), ((5, 3), False, False),
                          ((5, 0), True, True)])
def test_gvp_computes_the_papers_equations(out_dims, activations, vector_gate):
    """A GVP against its equations written out per node and channel, with W as ``[out, in]`` matrices acting on
    ``[N, C, 3]`` vectors (the code keeps ``[3, N, C]`` and ``[in, out]`` weights): every variant, float64."""
    torch.manual_seed(0)
    gvp = GVP((4, 2), out_dims, activations=activations, vector_gate=vector_gate).double()
    s, v = torch.randn(7, 4, dtype=torch.float64), torch.randn(7, 2, 3, dtype=torch.float64)
    with torch.no_grad():
        s_out, v_out = gvp(s, v.permute(2, 0, 1))
    w_h, w_m = gvp.w_h.detach().T, gvp.w_m.detach().T
    v_h = torch.einsum("hc,nci->nhi", w_h, v)
    s_m = torch.cat([s, v_h.square().sum(-1).clamp_min(1e-8).sqrt()], dim=-1) @ w_m.T + gvp.b_m.detach()
    assert torch.allclose(s_out, torch.relu(s_m) if activations else s_m, rtol=0, atol=1e-14)
    if not out_dims[1]:
        assert v_out is None
        return
    v_mu = torch.einsum("oh,nhi->noi", gvp.w_mu.detach().T, v_h)
    if vector_gate:
        gate = torch.sigmoid((torch.sigmoid(s_m) if activations else s_m) @ gvp.w_g.detach() + gvp.b_g.detach())
    else:
        gate = torch.sigmoid(v_mu.square().sum(-1).clamp_min(1e-8).sqrt()) if activations else torch.ones(7, 3)
    assert torch.allclose(v_out.permute(1, 2, 0), v_mu * gate.unsqueeze(-1), rtol=0, atol=1e-14)


def test_gvp_weights_start_as_nn_linears():
    """Each of W_h, W_m (with bias), W_mu, W_g (with bias) uniform on ±1/sqrt(fan_in), nn.Linear's initialisation
    for the layer it stands for; W_m's fan-in is the scalar inputs plus the vector norms."""
    torch.manual_seed(0)
    (si, vi), (so, vo) = (200, 40), (300, 20)
    gvp = GVP((si, vi), (so, vo))
    fan_in = {"w_h": vi, "w_m": si + vi, "b_m": si + vi, "w_mu": vi, "w_g": so, "b_g": so}
    for name, param in gvp.named_parameters():
        bound = fan_in[name] ** -0.5
        assert param.abs().max() <= bound, name
        # Kolmogorov-Smirnov distance to the uniform distribution, below its 1% critical value
        u = ((param.detach().flatten() / bound + 1) / 2).sort().values
        n = u.numel()
        assert (u - (torch.arange(n) + 0.5) / n).abs().max() < 1.63 / n**0.5, name


def test_painn_rejects_edges_that_reach_its_cutoff():
    graph = geometric_graph([[0, 0, 0], [3, 0, 0]], [(0, 1)], dtype=torch.float64)
    with pytest.raises(ValueError, match="cutoff"):
        small("painn", cutoff=2.0)(batch(graph))


def test_painn_radial_basis_is_continuous_at_zero_distance():
    d = torch.tensor([0.0, 1e-7, 2.5], dtype=torch.float64)
    basis = sine_basis(d, 20, 5.0)
    n = torch.arange(1, 21, dtype=torch.float64)
    assert torch.allclose(basis[0], basis[1], rtol=1e-10, atol=0)
    assert torch.allclose(basis[2], torch.sin(n * torch.pi * 2.5 / 5.0) / 2.5, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["egnn", "gvp", "painn"])
def test_metadata_is_that_of_an_o3_equivariant_cartesian_model(name):
    info = small(name).info
    assert (info.kind, info.tensor_order, info.group, info.bounded_by) == ("equivariant", 1, "O(3)", "gwl")
    assert info.body_order == (2 if name == "egnn" else 3)


@pytest.mark.parametrize(("name", "option"), [("egnn", {"num_layers": 0}), ("gvp", {"vector_dim": 0}),
                                              ("painn", {"hidden": -1}), ("painn", {"cutoff": 0.0})])
def test_bad_configurations_get_a_value_error(name, option):
    with pytest.raises(ValueError, match="Fix"):
        small(name, **option)
