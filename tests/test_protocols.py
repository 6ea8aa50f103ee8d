"""The protocols: training-free separation and the paper's training, on small models with known expressive power.

Two small models written here give the tests a ground truth independent of the zoo: ``DistanceNet`` passes
distances only (bounded by IGWL_(2): blind to k-chains at any depth) and ``VectorNet`` also passes vectors
(bounded by GWL: it sees the 4-chain from 3 layers). Tests over the zoo are parametrised over what is registered.
"""

from __future__ import annotations

import copy
import dataclasses

import pytest
import sympy
import torch
import torch.nn.functional as F
from e3nn import o3
from torch import Tensor, nn
from torch_geometric.data import Batch, Data
from torch_geometric.utils import scatter

import counterexamples
from dojo import models
from dojo.models.base import GeometricModel, ModelInfo, mlp
from dojo.protocols import separate, train
from dojo.protocols.common import float64_default
from dojo.protocols.separate import unrotate
from dojo.protocols.train import fit
from dojo.transforms import random_rotation


class DistanceNet(GeometricModel):
    """Invariant, 2-body: h_i <- h_i + sum_j MLP(h_j, |x_ij|)."""

    def __init__(self, in_dim: int, out_dim: int, num_layers: int = 2, hidden: int = 8,
                 equivariant_pred: bool = False) -> None:
        super().__init__(in_dim, out_dim, equivariant_pred)
        self.num_layers = num_layers
        self.embedding = nn.Embedding(in_dim, hidden)
        self.messages = nn.ModuleList(mlp([hidden + 1, hidden, hidden]) for _ in range(num_layers))
        self._build_head(f"{hidden}x0e", None)

    @property
    def info(self) -> ModelInfo:
        return ModelInfo("DistanceNet", "invariant", 2, 0, "O(3)", "igwl-2", "test model")

    def node_features(self, batch: Data) -> tuple[Tensor, None]:
        h = self.embedding(batch.z)
        src, dst = batch.edge_index
        dist = (batch.pos[dst] - batch.pos[src]).norm(dim=-1, keepdim=True)
        for message in self.messages:
            h = h + scatter(message(torch.cat([h[src], dist], -1)), dst, 0, dim_size=h.size(0), reduce="sum")
        return h, None


class VectorNet(GeometricModel):
    """Equivariant, vectors of tensor order 1: v_i <- v_i + sum_j (a(h_j, d) x_ij + b(h_j, d) v_j),
    h_i <- h_i + sum_j MLP(h_j, d) + MLP(|v_i|^2 per channel)."""

    def __init__(self, in_dim: int, out_dim: int, num_layers: int = 2, hidden: int = 8,
                 equivariant_pred: bool = False) -> None:
        super().__init__(in_dim, out_dim, equivariant_pred)
        self.hidden = hidden
        self.embedding = nn.Embedding(in_dim, hidden)
        self.messages = nn.ModuleList(mlp([hidden + 1, hidden, 3 * hidden]) for _ in range(num_layers))
        self.norms = nn.ModuleList(mlp([hidden, hidden, hidden]) for _ in range(num_layers))
        self._build_head(f"{hidden}x0e", f"{hidden}x1o")

    @property
    def info(self) -> ModelInfo:
        return ModelInfo("VectorNet", "equivariant", 2, 1, "O(3)", "gwl", "test model")

    def node_features(self, batch: Data) -> tuple[Tensor, Tensor]:
        h = self.embedding(batch.z)
        v = h.new_zeros(h.size(0), self.hidden, 3)
        src, dst = batch.edge_index
        rel = batch.pos[src] - batch.pos[dst]
        dist = rel.norm(dim=-1, keepdim=True)
        for message, norm in zip(self.messages, self.norms):
            m_h, m_x, m_v = message(torch.cat([h[src], dist], -1)).chunk(3, -1)
            vec = m_x.unsqueeze(-1) * rel.unsqueeze(1) + m_v.unsqueeze(-1) * v[src]
            v = v + scatter(vec, dst, 0, dim_size=h.size(0), reduce="sum")
            h = h + scatter(m_h, dst, 0, dim_size=h.size(0), reduce="sum") + norm(v.square().sum(-1))
        return h, v.reshape(h.size(0), -1)


KCHAINS = counterexamples.load("kchains", k=4)
ZOO = models.names()


def test_distance_model_never_separates_kchains_and_vector_model_does_from_gwl_depth():
    for layers in (2, 3, 4):
        blind = separate(KCHAINS, DistanceNet, {"num_layers": layers}, inits=3)
        assert blind.fraction == 0.0 and blind.margin < 10, blind
    too_shallow = separate(KCHAINS, VectorNet, {"num_layers": 2}, inits=3)
    assert too_shallow.fraction == 0.0, too_shallow
    deep = separate(KCHAINS, VectorNet, {"num_layers": 3}, inits=3)
    assert deep.fraction == 1.0 and deep.margin > 1e3 and deep.gap > 1e-8, deep


def reference_training(net: GeometricModel, graphs, epochs: int, shuffle_seed: int) -> float:
    """The paper's loop written plainly for one seed: batch size 1, Adam, ReduceLROnPlateau, best accuracy."""
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.9, patience=25, min_lr=1e-5)
    shuffler = torch.Generator().manual_seed(shuffle_seed)
    best = -1.0
    for _ in range(epochs):
        net.train()
        for i in torch.randperm(2, generator=shuffler).tolist():
            opt.zero_grad()
            F.cross_entropy(net(Batch.from_data_list([graphs[i]])), torch.tensor([i])).backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            pred = [net(Batch.from_data_list([g])).argmax(-1).item() for g in graphs]
        acc = 50.0 * ((pred[0] == 0) + (pred[1] == 1))
        best = max(best, acc)
        sched.step(acc)
    return best


@pytest.mark.parametrize("mode", ["vmap", "loop"])
def test_seeds_trained_together_match_plain_batch_size_one_training(mode):
    """Six seeds for 30 epochs: some reach 100% and some do not, so their plateau schedules (learning rates) part."""
    graphs = KCHAINS.graphs(torch.float64)
    nets = []
    for seed in range(6):
        torch.manual_seed(seed)
        nets.append(VectorNet(in_dim=1, out_dim=2, num_layers=3, hidden=16).double())
    plain = copy.deepcopy(nets)
    accuracies, used = fit(nets, graphs, epochs=30, lr=1e-4, shuffle_seeds=range(10, 16), mode=mode)
    assert used == mode and len(set(accuracies)) > 1
    for seed, (net, ref) in enumerate(zip(nets, plain)):
        assert accuracies[seed] == reference_training(ref, graphs, epochs=30, shuffle_seed=10 + seed)
        for (name, p), q in zip(net.named_parameters(), ref.parameters()):
            assert torch.allclose(p, q, rtol=0, atol=1e-12), name


def test_train_is_fresh_per_seed_deterministic_and_learns_what_the_model_can_see():
    blind = train(KCHAINS, DistanceNet, {"num_layers": 3}, seeds=4, epochs=20)
    assert blind.accuracies == (50.0,) * 4 and not blind.separated and blind.mode == "vmap"
    seeing = train(KCHAINS, VectorNet, {"num_layers": 3, "hidden": 16}, seeds=6, epochs=40)
    assert seeing == train(KCHAINS, VectorNet, {"num_layers": 3, "hidden": 16}, seeds=6, epochs=40)
    assert len(set(seeing.accuracies)) > 1 or seeing.mean == 100.0  # fresh models: seeds differ
    assert seeing.mean > 50.0


def test_seeds_trained_together_reuse_the_geometry_cached_per_graph(monkeypatch):
    """DimeNet++ caches what depends only on the graph; the seeds run together under vmap must hit that cache."""
    computed = []
    geometry = models.model_class("dimenet").geometry
    monkeypatch.setattr(models.model_class("dimenet"), "geometry", lambda self, batch: computed.append(1) or
                        geometry(self, batch))
    result = train(KCHAINS, "dimenet", {"num_layers": 2, "hidden": 8, "out_emb_channels": 8, "int_emb_size": 4},
                   seeds=3, epochs=5)
    assert result.mode == "vmap" and len(computed) <= 3  # both graphs together, and each alone for vmap's check


def test_seeds_with_different_buffers_are_not_run_together():
    nets = [VectorNet(in_dim=1, out_dim=2, num_layers=3, hidden=4) for _ in range(2)]
    nets[1].register_buffer("scale", torch.ones(1))
    nets[0].register_buffer("scale", torch.zeros(1))
    graphs = KCHAINS.graphs(torch.float32)
    assert fit(nets, graphs, epochs=1, shuffle_seeds=[0, 1])[1] == "loop"
    with pytest.raises(ValueError, match="buffers"):
        fit(nets, graphs, epochs=1, shuffle_seeds=[0, 1], mode="vmap")


@pytest.mark.parametrize("proper", [True, False])
def test_unrotate_inverts_the_embedding_irreps_action(proper):
    irreps = o3.Irreps("3x0e + 2x1o + 0o + 2x2e + 3e")
    gen = torch.Generator().manual_seed(1)
    rotations = torch.stack([random_rotation(gen, proper=proper) for _ in range(4)])
    emb = torch.randn(4, irreps.dim, generator=gen, dtype=torch.float64)
    with float64_default():  # Wigner matrices exact to float64 (under the float32 default they err by ~1e-7)
        moved = torch.stack([irreps.D_from_matrix(r) @ e for r, e in zip(rotations, emb)])
    assert torch.allclose(unrotate(moved, irreps, rotations), emb, atol=1e-13, rtol=0)


@pytest.mark.parametrize("name", ZOO)
def test_no_zoo_model_separates_beyond_its_bounding_test_on_kchains(name):
    """An upper bound must hold: below GWL's depth (2 layers) nothing separates; invariant models never do."""
    for layers in (2, 4):
        result = separate(KCHAINS, name, {"num_layers": layers}, inits=2, copies=4)
        bound = models.build(name, in_dim=1, out_dim=2, num_layers=layers).info.bounded_by
        if layers == 2 or bound != "gwl":
            assert result.fraction == 0.0, (layers, result)


def test_equivariant_task_compares_orientation_with_shared_rotations():
    """A graph against a rotated copy of itself: invisible to invariant embeddings, visible to vectors."""
    graph = KCHAINS.exact_a
    turned = counterexamples.ExactGraph(graph.coords * sympy.Matrix([[0, -1, 0], [1, 0, 0], [0, 0, 1]]).T,
                                        graph.edges, graph.types)
    pair = dataclasses.replace(KCHAINS, name="turned", task="equivariant", exact_b=turned,
                               congruent_under=frozenset(counterexamples.GROUPS),
                               claims=counterexamples.claims({t: None for t in counterexamples.TESTS}))
    assert separate(pair, VectorNet, {"num_layers": 2}, inits=2).fraction == 1.0
    same = dataclasses.replace(pair, exact_b=graph)
    assert separate(same, VectorNet, {"num_layers": 2}, inits=2).fraction == 0.0
    with pytest.raises(ValueError, match="invariant"):
        separate(pair, DistanceNet, {"num_layers": 1})


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="copies"):
        separate(KCHAINS, DistanceNet, copies=1)
    with pytest.raises(ValueError, match="seeds"):
        train(KCHAINS, DistanceNet, seeds=0)
