"""The geometric-graph conventions: construction, networkx round trips, and a clear error for each bad input."""

from __future__ import annotations

import networkx as nx
import pytest
import torch
from torch_geometric.data import Data

from dojo.graphs import check_graph, complete_edges, from_networkx, geometric_graph, radius_edges, to_networkx


def triangle() -> Data:
    return geometric_graph([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [(0, 1), (1, 2), (2, 0)], [0, 1, 1])


def test_geometric_graph_follows_the_conventions():
    g = triangle()
    assert g.z.dtype == torch.long and g.pos.dtype == torch.float32 and g.edge_index.dtype == torch.long
    assert g.edge_index.shape == (2, 6)
    assert sorted(map(tuple, g.edge_index.t().tolist())) == [(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)]
    assert geometric_graph([[0, 0, 0]], [], dtype=torch.float64).pos.dtype == torch.float64


def test_duplicate_and_two_way_input_edges_are_merged():
    g = geometric_graph([[0, 0, 0], [1, 0, 0]], [(0, 1), (1, 0), (0, 1)])
    assert g.edge_index.tolist() == [[0, 1], [1, 0]]


def test_networkx_round_trip():
    g = triangle()
    nxg = to_networkx(g)
    assert nxg.nodes[1] == {"z": 1, "pos": (1.0, 0.0, 0.0)}
    back = from_networkx(nxg)
    assert torch.equal(back.z, g.z) and torch.equal(back.pos, g.pos) and torch.equal(back.edge_index, g.edge_index)


def test_from_networkx_needs_positions():
    with pytest.raises(ValueError, match="no `pos`"):
        from_networkx(nx.path_graph(3))


def test_complete_and_radius_edges():
    assert complete_edges(4).shape == (2, 12)
    pos = torch.tensor([[0.0, 0, 0], [1, 0, 0], [5, 0, 0]])
    assert radius_edges(pos, 2.0).tolist() == [[0, 1], [1, 0]]


def broken(**changes) -> Data:
    g = triangle()
    for key, value in changes.items():
        g[key] = value
    return g


@pytest.mark.parametrize(
    "graph, message",
    [
        (broken(pos=None), "missing `pos`"),
        (broken(z=None), "missing `z`"),
        (broken(edge_index=None), "missing `edge_index`"),
        (broken(pos=torch.zeros(3, 2)), r"`pos` must have shape \[N, 3\]"),
        (broken(pos=torch.zeros(3, 3, dtype=torch.long)), "`pos` must be a float tensor"),
        (broken(pos=torch.tensor([[0.0, 0, 0], [float("nan"), 0, 0], [0, 1, 0]])), "NaN or inf"),
        (broken(pos=torch.tensor([[0.0, 0, 0], [float("inf"), 0, 0], [0, 1, 0]])), "NaN or inf"),
        (broken(z=torch.zeros(2, dtype=torch.long)), r"`z` must have shape \[N\]"),
        (broken(z=torch.zeros(3)), "`z` must be a long tensor"),
        (broken(z=torch.tensor([0, -1, 0])), "negative node types"),
        (broken(edge_index=torch.tensor([0, 1])), r"`edge_index` must have shape \[2, E\]"),
        (broken(edge_index=torch.tensor([[0.0, 1.0], [1.0, 0.0]])), "`edge_index` must be a long tensor"),
        (broken(edge_index=torch.tensor([[0, 3], [3, 0]])), "outside 0..2"),
        (broken(edge_index=torch.tensor([[0, 1, 1], [1, 0, 1]])), "self-loops"),
        (broken(edge_index=torch.tensor([[0, 1, 0], [1, 0, 1]])), "duplicate edges"),
        (broken(edge_index=torch.tensor([[0, 1, 1], [1, 0, 2]])), "has no reverse edge"),
        (Data(z=torch.zeros(0, dtype=torch.long), pos=torch.zeros(0, 3), edge_index=torch.zeros(2, 0, dtype=torch.long)),
         "empty"),
        ({"pos": torch.zeros(1, 3)}, "expected a torch_geometric.data.Data"),
    ],
)
def test_bad_graphs_get_errors_that_name_problem_and_fix(graph, message):
    with pytest.raises(ValueError, match=message) as err:
        check_graph(graph)
    assert "Fix:" in str(err.value)


def test_builder_validates_too():
    with pytest.raises(ValueError, match="outside"):
        geometric_graph([[0, 0, 0]], [(0, 1)])
    with pytest.raises(ValueError, match="self-loops"):
        geometric_graph([[0, 0, 0], [1, 1, 1]], [(1, 1)])
