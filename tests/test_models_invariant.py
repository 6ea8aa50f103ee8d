"""The invariant models (SchNet, DimeNet++, SphereNet) and their parts: bases, triplets, torsions."""

from __future__ import annotations

import math

import mpmath
import pytest
import torch
from hypothesis import given, settings, strategies as st
from scipy.special import spherical_jn
from torch_geometric.data import Batch
from torch_geometric.nn.models.dimenet import BesselBasisLayer, SphericalBasisLayer

import counterexamples
from dojo import models
from dojo.graphs import geometric_graph, radius_edges
from dojo.models._directional import legendre, safe_unit, triplets
from dojo.models.radial import BesselBasis, SphericalBesselBasis, spherical_bessel, spherical_bessel_zeros
from dojo.models.spherenet import torsions
from dojo.transforms import rigid_motion

INVARIANT = ["schnet", "dimenet", "spherenet"]


def small(name: str, **config) -> models.GeometricModel:
    torch.manual_seed(0)
    return models.build(name, **{"in_dim": 3, "out_dim": 2, "num_layers": 2, "hidden": 8, **config}).double().eval()


def embed(model: models.GeometricModel, graph) -> torch.Tensor:
    with torch.no_grad():
        return model.embed(Batch.from_data_list([graph]))


def test_spherical_bessel_matches_mpmath_from_zero_to_far_in_float64_and_float32():
    x = [0.0, 1e-8, 1e-3, 0.1, 0.5, 0.99, 1.0, 1.5, 2.9, 3.1, 5.0, 6.99, 7.0, 12.3, 25.0]
    exact = torch.tensor([[float(mpmath.sqrt(mpmath.pi / (2 * mpmath.mpf(v))) * mpmath.besselj(l + 0.5, v))
                           if v else float(l == 0) for l in range(7)] for v in x], dtype=torch.float64)
    assert (spherical_bessel(6, torch.tensor(x, dtype=torch.float64)) - exact).abs().max() < 1e-13
    assert (spherical_bessel(6, torch.tensor(x, dtype=torch.float32)).double() - exact).abs().max() < 1e-6


def test_spherical_bessel_gradient_is_finite_and_correct_at_zero():
    x = torch.tensor([0.0, 0.5, 1.0, 4.0, 9.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: spherical_bessel(6, t), (x,))


def test_bessel_zeros_are_zeros():
    zeros = spherical_bessel_zeros(6, 6)
    for l, row in enumerate(zeros):
        assert abs(spherical_jn(l, row)).max() < 1e-12
        assert (row[1:] > row[:-1]).all() and row[0] > l  # increasing, the first one past l
    assert torch.allclose(torch.tensor(zeros[0]), math.pi * torch.arange(1, 7, dtype=torch.float64))


def test_bases_agree_with_pyg_dimenet_where_pyg_is_accurate_and_stay_finite_at_zero():
    """Ours = PyG's up to the factor 1/d that PyG's envelope adds (and we leave out of the spherical basis)."""
    dist = torch.linspace(1.0, 4.9, 20, dtype=torch.float64)
    angle = torch.linspace(0.0, math.pi, 20, dtype=torch.float64)
    idx = torch.arange(20)
    rbf = BesselBasis(6, cutoff=5.0).double()
    assert torch.allclose(rbf(dist), BesselBasisLayer(6, cutoff=5.0).double()(dist), rtol=1e-10, atol=1e-10)
    ours = SphericalBesselBasis(4, 3, cutoff=5.0).double()(dist) * legendre(torch.cos(angle), 4).unsqueeze(-1)
    theirs = SphericalBasisLayer(4, 3, cutoff=5.0)(dist, angle, idx).view(20, 4, 3)
    assert torch.allclose(ours * 5.0 / dist.view(-1, 1, 1), theirs, rtol=1e-5, atol=1e-5)  # PyG's zeros are float32
    at_zero = SphericalBesselBasis(7, 6, cutoff=5.0)(torch.zeros(1))
    assert torch.isfinite(at_zero).all() and torch.isfinite(rbf(torch.zeros(1, dtype=torch.float64))).all()
    assert SphericalBesselBasis(7, 6, cutoff=5.0)(torch.tensor([5.0])).abs().max() == 0


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_triplets_are_all_two_paths(seed):
    g = torch.Generator().manual_seed(seed)
    pos = 2 * torch.randn(8, 3, generator=g)
    edge_index = radius_edges(pos, 3.0)
    idx_kj, idx_ji = triplets(edge_index, 8)
    edges = edge_index.t().tolist()
    got = sorted((edges[a][0], edges[a][1], edges[b][1]) for a, b in zip(idx_kj.tolist(), idx_ji.tolist()))
    want = sorted((k, j, i) for k, j in edges for j2, i in edges if j2 == j and i != k)
    assert got == want
    assert (idx_ji[1:] >= idx_ji[:-1]).all()  # grouped by edge j -> i, as the torsions need


def test_torsion_turns_are_counterclockwise_and_flip_under_a_mirror():
    # Node 0 with the axis neighbour 1 and three more at 0, 100 and 250 degrees about the axis.
    angles = [0.0, 100.0, 250.0]
    ring = [[math.cos(math.radians(a)), math.sin(math.radians(a)), 0.3] for a in angles]
    pos = torch.tensor([[0, 0, 0], [0, 0, 1.0], *ring], dtype=torch.float64)
    graph = geometric_graph(pos, [(0, v) for v in range(1, 5)], dtype=torch.float64)
    for mirror, expected in ((1.0, [100, 150, 110]), (-1.0, [110, 100, 150])):
        p = graph.pos * torch.tensor([mirror, 1.0, 1.0], dtype=torch.float64)
        j, i = graph.edge_index
        unit, _ = safe_unit(p[i] - p[j])
        idx_kj, idx_ji = triplets(graph.edge_index, 5)
        _, _, phi = torsions(unit, idx_kj, idx_ji)
        onto_axis = (graph.edge_index[0, idx_ji] == 0) & (graph.edge_index[1, idx_ji] == 1)
        k = graph.edge_index[0, idx_kj[onto_axis]]
        got = phi[onto_axis][k.argsort()] * 180 / math.pi
        assert torch.allclose(got, torch.tensor(expected, dtype=torch.float64)), got


def test_collinear_neighbours_give_the_same_embedding_for_mirror_images():
    """A planar graph with collinear triplets: its mirror image is a rotation of it, so even SphereNet must agree."""
    pos = [[0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 0, 0], [1, 1, 0], [2, -1, 0], [0, -1.5, 0]]
    edges = [(0, 1), (1, 2), (2, 3), (1, 4), (2, 5), (0, 6), (0, 2)]
    graph = geometric_graph(pos, edges, [0, 1, 2, 0, 1, 2, 0], dtype=torch.float64)
    mirror = rigid_motion(graph, torch.diag(torch.tensor([1.0, -1.0, 1.0], dtype=torch.float64)))
    for name in INVARIANT:
        model = small(name, num_layers=3)
        a, b = embed(model, graph), embed(model, mirror)
        assert (a - b).abs().max() <= 1e-12 * a.abs().max(), name


def test_spherenet_sees_a_chiral_centre_that_dimenet_and_schnet_cannot():
    """Four distinct neighbours of one node form a chiral centre; its mirror image is a different graph."""
    pos = [[0, 0, 0], [1, 0.1, 0.2], [-0.3, 1.1, 0.1], [-0.2, -0.4, 1.3], [-0.5, -0.6, -0.9]]
    graph = geometric_graph(pos, [(0, v) for v in range(1, 5)], [0, 1, 2, 0, 1], dtype=torch.float64)
    mirror = rigid_motion(graph, -torch.eye(3, dtype=torch.float64))
    gaps = {name: (embed(small(name), graph) - embed(small(name), mirror)).abs().max().item() for name in INVARIANT}
    assert gaps["spherenet"] > 1e-4 and gaps["dimenet"] < 1e-12 and gaps["schnet"] < 1e-12, gaps


@pytest.mark.parametrize("name", INVARIANT)
def test_edges_reaching_the_cutoff_are_refused_not_ignored(name):
    graph = geometric_graph([[0, 0, 0], [3, 0, 0]], [(0, 1)], dtype=torch.float64)
    embed(small(name, cutoff=3.5), graph)
    with pytest.raises(ValueError, match="cutoff"):
        embed(small(name, cutoff=2.0), graph)


@pytest.mark.parametrize("name", INVARIANT)
def test_metadata_matches_the_papers(name):
    info = small(name).info
    assert (info.body_order, info.bounded_by, info.group) == {
        "schnet": (2, "igwl-2", "O(3)"), "dimenet": (3, "igwl", "O(3)"), "spherenet": (4, "igwl", "SO(3)")}[name]
    with pytest.raises(ValueError, match="invariant"):
        small(name, equivariant_pred=True)


def test_batched_blocks_compute_what_pygs_dimenet_blocks_compute():
    """Our batched output blocks, basis projections and interaction block against PyG's blocks, weights copied."""
    from torch.nn.functional import silu
    from torch_geometric.nn.models.dimenet import InteractionPPBlock as PyGInteraction, OutputPPBlock

    from dojo.models._directional import BasisProjections, InteractionPPBlock, OutputPPBlocks, TripletMaps

    torch.manual_seed(0)
    pos = torch.randn(6, 3)
    graph = geometric_graph(pos, radius_edges(pos, 2.5))
    idx_kj, idx_ji = triplets(graph.edge_index, 6)
    assert idx_kj.numel() > 0
    e, t, i = graph.edge_index.size(1), idx_kj.numel(), graph.edge_index[1]
    m = torch.randn(3, e, 8, dtype=torch.float64)
    rbf, sbf = torch.randn(e, 4, dtype=torch.float64), torch.randn(t, 8, dtype=torch.float64)
    ours = OutputPPBlocks(3, num_radial=4, hidden=8, out_emb_channels=16, out_channels=5).double()
    theirs = [OutputPPBlock(4, 8, 16, 5, 3, silu, output_initializer="glorot_orthogonal").double() for _ in range(3)]
    rbf_proj = BasisProjections(3, 4, 2, 8).double()
    sbf_proj = BasisProjections(3, 8, 2, 3).double()
    interactions = [InteractionPPBlock(8, 3, 1, 2).double() for _ in range(3)]
    pyg = [PyGInteraction(8, 3, 2, 2, 4, 1, 2, silu).double() for _ in range(3)]
    with torch.no_grad():
        for b, block in enumerate(theirs):
            block.lin_rbf.weight.copy_(ours.lin_rbf[:, b].T)
            block.lin_up.weight.copy_(ours.lin_up[b].T)
            for lin, weight, bias in zip(block.lins, ours.weights, ours.biases):
                lin.weight.copy_(weight[b].T)
                lin.bias.copy_(bias[b, 0])
            block.lin.weight.copy_(ours.lin[b].T)
        for b, (block, interaction) in enumerate(zip(pyg, interactions)):
            block.lin_ji.weight.copy_(interaction.lin_ji_kj[:, :8].T)
            block.lin_kj.weight.copy_(interaction.lin_ji_kj[:, 8:].T)
            block.lin_ji.bias.copy_(interaction.bias_ji_kj[:8])
            block.lin_kj.bias.copy_(interaction.bias_ji_kj[8:])
            block.lin_down.weight.copy_(interaction.lin_down.T)
            block.lin_up.weight.copy_(interaction.lin_up.T)
            layers = [lin for layer in block.layers_before_skip for lin in (layer.lin1, layer.lin2)] + [block.lin] + [
                lin for layer in block.layers_after_skip for lin in (layer.lin1, layer.lin2)]
            for lin, weight, bias in zip(layers, interaction.weights, interaction.biases, strict=True):
                lin.weight.copy_(weight.T)
                lin.bias.copy_(bias)
            block.lin_rbf1.weight.copy_(rbf_proj.first[:, 2 * b:2 * b + 2].T)
            block.lin_rbf2.weight.copy_(rbf_proj.second[b].T)
            block.lin_sbf1.weight.copy_(sbf_proj.first[:, 2 * b:2 * b + 2].T)
            block.lin_sbf2.weight.copy_(sbf_proj.second[b].T)
        expected = sum(block(m[b], rbf, i, num_nodes=6) for b, block in enumerate(theirs))
        assert torch.allclose(ours(m.transpose(0, 1), rbf, i, num_nodes=6), expected, rtol=0, atol=1e-12)
        for b in range(3):
            for dense in (False, True):  # both ways of moving features between edges and triplets
                maps = TripletMaps(idx_kj, idx_ji, e, torch.float64, dense=dense)
                got = interactions[b](m[b], rbf_proj(rbf)[b], sbf_proj(sbf)[b], maps)
                assert torch.allclose(got, pyg[b](m[b], rbf, sbf, idx_kj, idx_ji), rtol=0, atol=1e-12)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for block in theirs for p in block.parameters())
    assert (sum(p.numel() for module in [rbf_proj, sbf_proj, *interactions] for p in module.parameters())
            == sum(p.numel() for block in pyg for p in block.parameters()))


@pytest.mark.parametrize("name, pair",
                         [("dimenet", "bodyorder-3"), ("dimenet", "bodyorder-4"), ("spherenet", "bodyorder-4")])
def test_edge_messages_see_more_than_their_body_order(name, pair):
    """One block separates a pair whose k-body multisets are equal (k = 3 for DimeNet++, 4 for SphereNet): edge
    messages group angles/torsions edge by edge, which is why their bounding test is IGWL, not IGWL_(k)."""
    from dojo.protocols import separate

    assert separate(counterexamples.load(pair), name, {"num_layers": 1, "hidden": 16}, inits=2).fraction == 1.0


@pytest.mark.parametrize("name", ["dimenet", "spherenet"])
def test_cached_geometry_never_goes_stale(name):
    """DimeNet++ and SphereNet cache their per-graph geometry: a graph moved in place, positions that need gradients
    (forces), inference mode and ``functional_call`` under ``vmap`` (other buffers, batched) must all see their own
    geometry, and leave none behind that a later call cannot use."""
    from torch.func import functional_call, stack_module_state, vmap

    pos = torch.tensor([[0, 0, 0], [1.2, 0, 0], [1.5, 1.1, 0], [0.4, 1.3, 0.9], [2.2, 0.3, -0.8]], dtype=torch.float64)
    graph = geometric_graph(pos, radius_edges(pos, 2.0), [0, 1, 2, 0, 1], dtype=torch.float64)
    batch = Batch.from_data_list([graph])
    model = small(name)
    with torch.no_grad():
        before = model(batch)
        batch.pos[3, 2] += 0.25  # in place: same tensor, new content
        after, fresh = model(batch), model(Batch.from_data_list([batch.get_example(0)]))
    assert (after - before).abs().max() > 1e-6 and torch.equal(after, fresh)

    unseen = Batch.from_data_list([graph])
    with torch.inference_mode():
        model(unseen)
    model(unseen).sum().backward()  # autograd cannot save inference tensors: none may come from the cache

    forces = batch.pos.clone().requires_grad_()
    batch.pos = forces
    model(batch).sum().backward()
    assert forces.grad is not None and forces.grad.abs().max() > 0

    nets = [small(name), small(name)]
    with torch.no_grad():
        for p in nets[1].parameters():
            p.mul_(0.9)
    params, buffers = stack_module_state(nets)
    batch = Batch.from_data_list([graph])
    with torch.no_grad():
        # vmap first: geometry made from its batched buffers must not be what a later call reuses
        together = [vmap(lambda p, b: functional_call(nets[0], (p, b), (batch,)))(params, buffers) for _ in range(2)]
        alone = torch.stack([net(batch) for net in nets])
    assert all(torch.allclose(t, alone, rtol=0, atol=1e-12) for t in together)
