"""PyG's own SchNet, DimeNet++ and ViSNet through dojo.models.pyg: the graph's edges, triplets, cutoffs, outputs."""

from __future__ import annotations

import copy
import functools

import pytest
import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap
from torch_geometric.data import Batch, Data
import torch_geometric.nn as pyg_nn
from torch_geometric.nn import DimeNetPlusPlus, SchNet, ViSNet, radius, radius_graph
from torch_geometric.nn.models import dimenet as pyg_dimenet

import counterexamples
from dojo import models
from dojo.graphs import geometric_graph
from dojo.models.pyg import PyGAdapter, edge_triplets, takes_z_pos_batch
from dojo.transforms import random_copy


def schnet(cutoff: float) -> nn.Module:
    return SchNet(hidden_channels=16, num_filters=16, num_interactions=2, cutoff=cutoff)


def dimenetpp(cutoff: float) -> nn.Module:
    return DimeNetPlusPlus(hidden_channels=16, out_channels=4, num_blocks=2, int_emb_size=8, basis_emb_size=4,
                           out_emb_channels=16, num_spherical=3, num_radial=4, cutoff=cutoff,
                           output_initializer="glorot_orthogonal")


def visnet(cutoff: float) -> nn.Module:
    return ViSNet(hidden_channels=16, num_layers=2, num_heads=2, num_rbf=8, lmax=1, cutoff=cutoff)


MODELS = {"schnet": schnet, "dimenet++": dimenetpp, "visnet": visnet}
WIDTH = {"schnet": 1, "dimenet++": 4, "visnet": 1}


@functools.cache
def built(name: str, cutoff: float) -> nn.Module:
    """Each configuration built once: DimeNet++ derives its bases with sympy (about 1.5 s)."""
    return MODELS[name](cutoff)


def pyg_model(name: str, seed: int = 0, cutoff: float = 10.0) -> nn.Module:
    """A fresh small PyG model; cutoff 10 by default, above the library pair's longest edge (8.66)."""
    model = copy.deepcopy(built(name, cutoff))
    torch.manual_seed(seed)
    model.reset_parameters()
    return model


def adapter(name: str, dtype: torch.dtype = torch.float64, seed: int = 0) -> PyGAdapter:
    return PyGAdapter(pyg_model(name, seed)).to(dtype)


def pair_graphs(dtype: torch.dtype = torch.float64) -> tuple[Data, Data]:
    """The bodyorder-3 pair: two five-node stars of type 0."""
    return counterexamples.load("bodyorder", body=3).graphs(dtype)


def drop_edge(graph: Data, u: int, v: int) -> Data:
    out = graph.clone()
    src, dst = graph.edge_index
    out.edge_index = graph.edge_index[:, ~(((src == u) & (dst == v)) | ((src == v) & (dst == u)))]
    return out


@pytest.mark.parametrize("name", MODELS)
def test_runs_on_a_batch_and_is_invariant_in_float64(name):
    model = adapter(name)
    a, b = pair_graphs()
    moved = random_copy(a, torch.Generator().manual_seed(3))  # rotated, translated and permuted
    with torch.no_grad():
        y, y_moved = model(Batch.from_data_list([a, b])), model(Batch.from_data_list([moved, b]))
    assert y.shape == (2, WIDTH[name]) and y.dtype == torch.float64
    assert torch.allclose(y, y_moved, rtol=0, atol=1e-10), (y - y_moved).abs().max()


@pytest.mark.parametrize("name", MODELS)
def test_runs_in_float32_and_on_a_lone_graph(name):
    model = adapter(name, torch.float32)
    a, _ = pair_graphs(torch.float32)
    with torch.no_grad():
        y = model(a)
    assert y.shape == (1, WIDTH[name]) and y.dtype == torch.float32 and torch.isfinite(y).all()


@pytest.mark.parametrize("name", MODELS)
def test_reads_the_graphs_own_edges(name):
    model = adapter(name)
    a, b = pair_graphs()
    with torch.no_grad():
        y = model(Batch.from_data_list([a, b]))
        y_dropped = model(Batch.from_data_list([drop_edge(a, 0, 1), b]))
    assert (y[0] - y_dropped[0]).abs().max() > 1e-3  # (SchNet would be all zeros on type 0 without the shift)
    assert torch.allclose(y[1], y_dropped[1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", MODELS)
def test_vmap_over_stacked_parameters_equals_a_loop(name):
    copies = [adapter(name, seed=seed) for seed in (0, 1)]
    batch = Batch.from_data_list(list(pair_graphs()))
    params, buffers = stack_module_state(copies)
    template = copy.deepcopy(copies[0]).to("meta")
    with torch.no_grad():
        stacked = vmap(lambda p, bufs, x: functional_call(template, (p, bufs), (x,)), in_dims=(0, 0, None))(
            params, buffers, batch)
        looped = torch.stack([m(batch) for m in copies])
    assert torch.allclose(stacked, looped, rtol=0, atol=1e-12)
    assert not torch.allclose(looped[0], looped[1])


class RadiusSum(nn.Module):
    """A PyG-style model of the test's own: each node's summed neighbour distances, on a radius graph of r = 1."""

    def forward(self, z: torch.Tensor, pos: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
        row, col = radius_graph(pos, r=1.0, batch=batch)
        return torch.zeros_like(pos[:, 0]).index_add(0, col, (pos[row] - pos[col]).norm(dim=1))


class RadiusPairs(nn.Module):
    """Returns what ``radius(pos, pos, ...)`` gave it, as graph-level output of the one graph (for inspection)."""

    def forward(self, z, pos, batch):
        return radius(pos, pos, 1.0, batch, batch).flatten().unsqueeze(0).double()


def test_far_apart_connected_nodes_get_messages_and_radius_pairs_include_each_node():
    path = geometric_graph([[0, 0, 0], [5, 0, 0], [5, 7, 0]], edges=[(0, 1), (1, 2)], dtype=torch.float64)
    y = PyGAdapter(RadiusSum())(path)  # a radius graph of r = 1 would have no edge at all
    assert y.tolist() == [[5.0 + 5.0 + 7.0 + 7.0]]
    pairs = PyGAdapter(RadiusPairs())(path).long().view(2, -1)  # [index into y, index into x], self-pairs included
    expected = {(0, 1), (1, 0), (1, 2), (2, 1), (0, 0), (1, 1), (2, 2)}
    assert set(map(tuple, pairs.T.tolist())) == expected and pairs.size(1) == len(expected)
    assert globals()["radius_graph"] is pyg_nn.radius_graph and globals()["radius"] is pyg_nn.radius


def test_globals_are_restored_after_an_exception():
    class Broken(nn.Module):
        def forward(self, z, pos, batch):
            assert radius_graph is not pyg_nn.radius_graph  # swapped here
            raise RuntimeError("inside")

    with pytest.raises(RuntimeError, match="inside"):
        PyGAdapter(Broken())(pair_graphs()[0])
    assert globals()["radius_graph"] is pyg_nn.radius_graph and torch.get_default_dtype() == torch.float32


def test_dimenet_sees_edge_triplets_and_the_graphs_edges_during_the_call_only():
    model = adapter("dimenet++")
    seen = {}
    model.model.register_forward_pre_hook(lambda *_: seen.update(vars(pyg_dimenet)))
    a, _ = pair_graphs()
    with torch.no_grad():
        model(a)
    assert seen["triplets"] is edge_triplets
    assert torch.equal(seen["radius_graph"](a.pos, 10.0, None), a.edge_index)
    assert torch.equal(seen["radius_graph"](a.pos, 10.0, loop=True)[:, -5:], torch.arange(5).expand(2, 5))
    assert pyg_dimenet.triplets is not edge_triplets and pyg_dimenet.radius_graph is pyg_nn.radius_graph


def test_schnet_and_visnet_neighbourhoods_are_the_graphs_edges():
    a, _ = pair_graphs()
    schnet_model, visnet_model = adapter("schnet"), adapter("visnet")
    seen = {}
    schnet_model.model.interaction_graph.register_forward_hook(lambda m, args, out: seen.update(schnet=out))
    visnet_model.model.representation_model.distance.register_forward_hook(lambda m, args, out: seen.update(vis=out))
    with torch.no_grad():
        schnet_model(a)
        visnet_model(a)
    edge_index, edge_weight = seen["schnet"]
    assert torch.equal(edge_index, a.edge_index)
    assert torch.allclose(edge_weight, (a.pos[edge_index[0]] - a.pos[edge_index[1]]).norm(dim=1), rtol=0, atol=0)
    edge_index, edge_weight, _ = seen["vis"]  # ViSNet asks for self-loops (loop=True), of length 0
    assert torch.equal(edge_index, torch.cat([a.edge_index, torch.arange(5).expand(2, 5)], 1))
    assert edge_weight.dtype == torch.float64 and torch.equal(edge_weight[-5:], torch.zeros(5, dtype=torch.float64))


def test_a_radius_graph_on_other_points_is_refused():
    with pytest.raises(ValueError, match="other points than the graph's nodes"):
        PyGAdapter(Returns(lambda pos: radius_graph(pos[:2], 1.0).double()))(pair_graphs()[0])


def random_edges(seed: int, n: int = 8, p: float = 0.45) -> torch.Tensor:
    """Random undirected edges in both directions, in a shuffled order."""
    g = torch.Generator().manual_seed(seed)
    upper = torch.triu(torch.rand(n, n, generator=g) < p, diagonal=1)
    edges = (upper | upper.T).nonzero().T
    return edges[:, torch.randperm(edges.size(1), generator=g)]


@pytest.mark.parametrize("seed", range(3))
def test_edge_triplets_equal_brute_force_enumeration_in_pygs_order(seed):
    edge_index = random_edges(seed)
    i, j, idx_i, idx_j, idx_k, idx_kj, idx_ji = edge_triplets(edge_index, 8)
    assert torch.equal(i, edge_index[1]) and torch.equal(j, edge_index[0])  # (target, source) of each j -> i edge
    edges = edge_index.T.tolist()
    brute = [(i_, j_, k_, kj, ji) for ji, (j_, i_) in enumerate(edges)
             for kj, (k_, j2) in enumerate(edges) if j2 == j_ and k_ != i_]
    found = list(zip(*(t.tolist() for t in (idx_i, idx_j, idx_k, idx_kj, idx_ji))))
    assert len(found) == len(set(found)) and set(found) == set(brute) and len(brute) > 0
    assert found == sorted(found, key=lambda t: (t[4], t[2]))  # PyG's order: by edge j -> i, then by k


def test_edge_triplets_on_a_path_by_hand():
    edge_index = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])  # edges 0->1, 1->0, 1->2, 2->1
    out = edge_triplets(edge_index, 3)
    expected = [[1, 0, 2, 1], [0, 1, 1, 2], [0, 2], [1, 1], [2, 0], [3, 0], [1, 2]]
    assert [t.tolist() for t in out] == expected


@pytest.mark.parametrize("name", ["dimenet++", "visnet"])
def test_an_edge_beyond_the_cutoff_is_refused(name):
    model = PyGAdapter(pyg_model(name, cutoff=5.0)).double()  # PyG's default cutoff for both
    with pytest.raises(ValueError, match=r"longest edge \(8\.66\).*cutoff \(5\).*cutoff=9 or larger"):
        model(pair_graphs()[0])


def test_takes_z_pos_batch():
    assert all(takes_z_pos_batch(pyg_model(name)) for name in MODELS)
    zoo_model = models.build("schnet", in_dim=1, out_dim=2, num_layers=1)
    assert not takes_z_pos_batch(nn.Linear(2, 2)) and not takes_z_pos_batch(zoo_model)
    with pytest.raises(ValueError, match=r"does not start with \(z, pos, batch\)"):
        PyGAdapter(nn.Linear(2, 2))


class Returns(nn.Module):
    """A PyG-style model returning ``make(pos)``."""

    def __init__(self, make):
        super().__init__()
        self.make = make

    def forward(self, z, pos, batch):
        return self.make(pos)


def test_node_level_outputs_are_summed_per_graph_and_tuples_and_vectors_reshaped():
    a, b = pair_graphs()
    batch = Batch.from_data_list([a, b])
    y = PyGAdapter(Returns(lambda pos: pos))(batch)
    assert torch.allclose(y, torch.stack([a.pos.sum(0), b.pos.sum(0)]))
    assert torch.allclose(PyGAdapter(Returns(lambda pos: pos[:, 0]))(batch), y[:, :1])
    assert torch.equal(PyGAdapter(Returns(lambda pos: (pos[:2, :2], None)))(batch), batch.pos[:2, :2])
    assert torch.equal(PyGAdapter(Returns(lambda pos: pos[:2, 0]))(batch), batch.pos[:2, :1])


@pytest.mark.parametrize("make", [lambda pos: pos[:3], lambda pos: pos.view(1, -1, 3)], ids=["rows", "3-D"])
def test_an_output_of_another_shape_is_refused(make):
    with pytest.raises(ValueError, match=r"Returns returned shape \((3, 3|1, 10, 3)\); expected \[num_graphs=2, D\]"):
        PyGAdapter(Returns(make))(Batch.from_data_list(list(pair_graphs())))
