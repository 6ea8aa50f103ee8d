"""Invariance of SphereNet and GVP-GNN on degenerate geometry (planar, collinear, centrosymmetric), in float32.

Issue 12 §1: round-off of moved positions flipped SphereNet's coplanarity decisions on planar graphs, and GVP-GNN's
vector LayerNorm blew up the round-off left at a node whose vectors cancel exactly (the middle of a straight or
centrosymmetric chain). A graph and its moved copy must embed alike: relative error at most 1e-4 in float32 (the
errors left are ~1e-6: positions moved by ~10 carry ~1e-6 of round-off) and 1e-10 in float64.
"""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch

import counterexamples
from dojo import models
from dojo.graphs import geometric_graph
from dojo.transforms import random_copy, rigid_motion

TOLERANCE = {torch.float32: 1e-4, torch.float64: 1e-10}

PLANAR = [[2.6668, 2.2874, 0], [0.3443, 0.2016, 0], [1.8195, -1.9655, 0], [0.8935, 0.4089, 0],
          [-1.9711, -2.4073, 0], [-0.3857, 1.2753, 0]]
PLANAR_EDGES = [(0, 2), (0, 3), (0, 4), (0, 5), (1, 2), (1, 3), (1, 4), (1, 5), (2, 3), (2, 4), (4, 5)]
CHAIN = [[-2.1, 0, 0], [2.1, 0, 0], [0, 0, 0]]
CHAIN_EDGES = [(0, 2), (1, 2)]


def build(name: str, in_dim: int, dtype: torch.dtype) -> models.GeometricModel:
    torch.manual_seed(0)
    return models.build(name, in_dim=in_dim, out_dim=2, num_layers=3).to(dtype).eval()


def relative_errors(model: models.GeometricModel, graphs: list, copies: list) -> torch.Tensor:
    """``|e1 - e2| / |e1|`` per graph, all graphs embedded in one batch."""
    with torch.no_grad():
        e1 = model.embed(Batch.from_data_list(graphs))
        e2 = model.embed(Batch.from_data_list(copies))
    return (e1 - e2).norm(dim=-1) / e1.norm(dim=-1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_spherenet_planar_graph_embeds_like_its_moved_copies(dtype):
    graph = geometric_graph(PLANAR, PLANAR_EDGES, dtype=dtype)
    generator = torch.Generator().manual_seed(0)
    copies = [random_copy(graph, generator) for _ in range(50)]
    errors = relative_errors(build("spherenet", 1, dtype), [graph] * len(copies), copies)
    assert errors.max() <= TOLERANCE[dtype]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("types", [[0, 0, 1], [0, 0, 0]])
def test_gvp_centrosymmetric_chain_embeds_like_its_moved_copies(dtype, types):
    graph = geometric_graph(CHAIN, CHAIN_EDGES, types, dtype=dtype)
    generator = torch.Generator().manual_seed(0)
    copies = [rigid_motion(graph, torch.eye(3), torch.tensor([11.6, 11.7, 5.4]))]
    copies += [random_copy(graph, generator) for _ in range(50)]
    errors = relative_errors(build("gvp", 2, dtype), [graph] * len(copies), copies)
    assert errors.max() <= TOLERANCE[dtype]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gvp_bodyorder_2_graphs_embed_like_their_moved_copies(dtype):
    graphs = counterexamples.load("bodyorder-2").graphs(dtype)
    generator = torch.Generator().manual_seed(0)
    copies = [random_copy(graph, generator) for graph in graphs for _ in range(10)]
    originals = [graph for graph in graphs for _ in range(10)]
    in_dim = max(int(graph.z.max()) for graph in graphs) + 1
    errors = relative_errors(build("gvp", in_dim, dtype), originals, copies)
    assert errors.max() <= TOLERANCE[dtype]


def _spread(pos: torch.Tensor) -> bool:
    """No two points closer than 0.3 (near-coincident points are another degeneracy)."""
    return bool(torch.pdist(pos).min() >= 0.3)


def _random_edges(generator: torch.Generator, n: int) -> list[tuple[int, int]]:
    """A spanning path in random order plus each other pair with probability 1/2."""
    order = torch.randperm(n, generator=generator).tolist()
    edges = set(zip(order, order[1:]))
    for a in range(n):
        for b in range(a + 1, n):
            if torch.rand(1, generator=generator).item() < 0.5:
                edges.add((a, b))
    return sorted(edges)


def symmetric_degenerate_graph(generator: torch.Generator, kind: str):
    """A random planar (z = 0; "planar-grid": on a jittered grid), collinear (on the x axis) or centrosymmetric
    graph, in float32. Unlike :func:`dojo.graphs.degenerate_graph` (random edges on degenerate positions), a
    centrosymmetric graph here is symmetric as a graph too (edges and types kept by the inversion: the case in
    which GVP-GNN's vector features cancel), and every graph is connected with no two points closer than 0.3."""
    while True:
        if kind == "centrosymmetric":
            half = int(torch.randint(1, 4, (1,), generator=generator))
            points = 4 * torch.rand(half, 3, generator=generator, dtype=torch.float64) - 2
            centre = bool(torch.rand(1, generator=generator) < 0.5)
            pos = torch.cat([points, -points] + ([torch.zeros(1, 3, dtype=torch.float64)] if centre else []))
        else:
            n = int(torch.randint(3, 8, (1,), generator=generator))
            pos = 6 * torch.rand(n, 3, generator=generator, dtype=torch.float64) - 3
            pos[:, 2] = 0
            if kind == "planar-grid":  # near-collinear triples: a grid jittered by 1e-3
                pos = pos.round() + 1e-3 * (2 * torch.rand(n, 3, generator=generator, dtype=torch.float64) - 1)
                pos[:, 2] = 0
            if kind == "collinear":
                pos[:, 1] = 0
        if _spread(pos):
            break
    n = pos.size(0)
    if kind == "centrosymmetric":
        # Edges and types mapped to themselves by the inversion x -> -x (node a <-> a + half, the centre fixed).
        image = [(a + half) % (2 * half) if a < 2 * half else a for a in range(n)]
        edges = _random_edges(generator, n)
        edges = sorted(set(edges) | {tuple(sorted((image[a], image[b]))) for a, b in edges})
        half_types = torch.randint(0, 2, (half,), generator=generator).tolist()
        types = half_types * 2 + [0] * (n - 2 * half)
    else:
        edges = _random_edges(generator, n)
        types = torch.randint(0, 2, (n,), generator=generator).tolist()
    return geometric_graph(pos, edges, types, dtype=torch.float32)


@pytest.mark.parametrize("name", ["spherenet", "gvp"])
def test_random_degenerate_graphs_embed_like_their_moved_copies_in_float32(name):
    generator = torch.Generator().manual_seed(12)
    kinds = ("planar", "planar-grid", "collinear", "centrosymmetric")
    graphs = [symmetric_degenerate_graph(generator, kind) for kind in kinds for _ in range(25)]
    copies = [random_copy(graph, generator) for graph in graphs]  # moved in float32, as a user would
    errors = relative_errors(build(name, 2, torch.float32), graphs, copies)
    assert errors.max() <= TOLERANCE[torch.float32], f"worst graph {int(errors.argmax())}: {errors.max():.3g}"
