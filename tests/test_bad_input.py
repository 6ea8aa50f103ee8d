"""Bad input gets a ValueError that names the problem and the fix, never a silent wrong answer, NaN or a raw
torch/AttributeError (issue 12, section 3). Each case is a regression test for what an adversarial user found."""

from __future__ import annotations

import math

import networkx as nx
import pytest
import sympy
import torch
from torch_geometric.data import Batch

import counterexamples
from counterexamples.pair import TESTS, ExactGraph, Pair, claims
from dojo import gwl, models
from dojo.graphs import from_networkx, geometric_graph
from dojo.protocols import separate, train

POSITIONS = [[0, 0, 0], [1, 0, 0], [0, 1, 0]]


def raises(problem: str):
    """``pytest.raises`` for a ValueError whose message names ``problem`` (a regex) and gives a fix."""

    class Check:
        def __enter__(self):
            self.ctx = pytest.raises(ValueError, match=problem)
            self.info = self.ctx.__enter__()
            return self.info

        def __exit__(self, *exc):
            suppressed = self.ctx.__exit__(*exc)
            assert "Fix:" in str(self.info.value), str(self.info.value)
            return suppressed

    return Check()


def huge_pair() -> Pair:
    """Two three-node graphs whose edges are 1e20 long: E-GNN overflows on them."""
    big = sympy.Integer(10) ** 20
    a = ExactGraph(sympy.Matrix([[0, 0, 0], [big, 0, 0], [0, big, 0]]), [(0, 1), (0, 2)], [0, 0, 0])
    b = ExactGraph(sympy.Matrix([[0, 0, 0], [big, 0, 0], [0, 0, 2 * big]]), [(0, 1), (0, 2)], [0, 0, 0])
    return Pair(name="huge", family="test", params={}, description="edges 1e20 long", reference="issue 12",
                task="invariant", exact_a=a, exact_b=b, claims=claims({t: None for t in TESTS}))


# 1. Non-integral node types and edge indices are rejected, never truncated.

@pytest.mark.parametrize("kwargs, problem", [
    ({"edges": [(0, 1)], "types": [0.5, 1.7, 0]}, r"`types`.*non-integral values \[0.5, 1.7"),
    ({"edges": [(0, 1)], "types": [float("nan"), 0, 0]}, r"`types`.*non-integral values \[nan"),
    ({"edges": [(0, 1)], "types": ["a", "b", "c"]}, r"`types`: must be integers"),
    ({"edges": [(0.5, 1)]}, r"`edges`.*non-integral values \[0.5"),
    ({"edges": torch.tensor([[0.5], [1.0]])}, r"`edges`.*non-integral values \[0.5"),
])
def test_geometric_graph_rejects_non_integral_types_and_edges(kwargs, problem):
    with raises(problem):
        geometric_graph(POSITIONS, **kwargs)


def test_geometric_graph_accepts_integral_floats():
    g = geometric_graph(POSITIONS, edges=[(0, 1.0)], types=[1.0, 0, 0])
    assert g.z.tolist() == [1, 0, 0] and g.edge_index.tolist() == [[0, 1], [1, 0]]


def test_from_networkx_rejects_non_integral_types():
    g = nx.Graph()
    g.add_node(0, pos=(0, 0, 0), z=0.5)
    g.add_node(1, pos=(1, 0, 0), z=1)
    g.add_edge(0, 1)
    with raises(r"node attribute `z`.*non-integral values \[0.5\]"):
        from_networkx(g)


@pytest.mark.parametrize("edges, types", [([(0, 1)], [0.5, 0]), ([(0.5, 1)], [0, 0]),
                                          ([(0, 1)], [sympy.Rational(1, 2), 0])])
def test_exact_graph_rejects_non_integral_types_and_edges(edges, types):
    with raises(r"ExactGraph: node types and edge endpoints must be integers"):
        ExactGraph(sympy.Matrix([[0, 0, 0], [1, 0, 0]]), edges, types)


def test_exact_graph_accepts_integral_floats():
    g = ExactGraph(sympy.Matrix([[0, 0, 0], [1, 0, 0]]), [(0, 1.0)], [1.0, 0])
    assert g.edges == ((0, 1),) and g.types == (1, 0)


# 2. A graph in another float dtype than the model: one clear error for every model.

@pytest.mark.parametrize("model_dtype, graph_dtype", [(torch.float32, torch.float64), (torch.float64, torch.float32)])
@pytest.mark.parametrize("name", models.names())
def test_dtype_mismatch_is_one_clear_error(name, model_dtype, graph_dtype):
    model = models.build(name, in_dim=1, out_dim=2, num_layers=1, hidden=4).to(model_dtype)
    batch = Batch.from_data_list([geometric_graph(POSITIONS, [(0, 1), (0, 2)], dtype=graph_dtype)])
    with raises(rf"`pos` is {graph_dtype}.*parameters are {model_dtype}.*model.to\({graph_dtype}\)"):
        model(batch)


# 3. Sizes that are not positive integers.

BAD_SIZES = [{"hidden": 0}, {"num_layers": 0}, {"out_dim": -1}, {"in_dim": 0}, {"num_layers": 1.5},
             {"hidden": -3}]


@pytest.mark.parametrize("bad", BAD_SIZES, ids=lambda b: ",".join(f"{k}={v}" for k, v in b.items()))
@pytest.mark.parametrize("name", models.names())
def test_build_rejects_non_positive_sizes(name, bad):
    (key, value), = bad.items()
    with raises(rf"{key} must be an integer >= 1, got {value!r}"):
        models.build(name, **{"in_dim": 1, "out_dim": 2, "num_layers": 1, "hidden": 4, **bad})


@pytest.mark.parametrize("name, bad", [("schnet", {"num_gaussians": 0}), ("dimenet", {"num_radial": 0}),
                                       ("spherenet", {"num_spherical": 0}), ("tfn", {"num_basis": 0}),
                                       ("mace", {"radial_hidden": 0}), ("mace", {"correlation": 0})])
def test_build_rejects_a_models_own_sizes(name, bad):
    (key, _), = bad.items()
    with raises(rf"{key} must be an integer >= 1"):
        models.build(name, in_dim=1, out_dim=2, num_layers=1, hidden=4, **bad)


# 4. Non-finite embeddings and losses are errors, never measurements.

def test_separate_rejects_non_finite_embeddings():
    with raises(r"E-GNN on huge: the embeddings .* NaN or infinite.*rescale the graph"):
        separate(huge_pair(), "egnn", {"num_layers": 3, "hidden": 8}, inits=1, copies=2)


@pytest.mark.parametrize("mode", ["auto", "loop"])
def test_train_rejects_a_non_finite_loss(mode):
    with raises(r"train\(huge\): E-GNN: the training loss is nan"):
        train(huge_pair(), "egnn", {"num_layers": 3, "hidden": 8}, seeds=2, epochs=2, mode=mode)


# 5. Out-of-range or wrongly typed arguments.

@pytest.mark.parametrize("kwargs, problem", [
    ({"nodes": [99]}, r"nodes \[99\] are not node indices"),
    ({"nodes": [-1]}, r"nodes \[-1\] are not node indices"),
    ({"nodes": []}, r"nodes is empty"),
    ({"nodes": [0.5]}, r"nodes \[0.5\] are not node indices"),
    ({"tol": -1.0}, r"tol must be a finite positive number, got -1.0"),
    ({"tol": math.nan}, r"tol must be a finite positive number, got nan"),
    ({"max_ell": 0}, r"max_ell must be an integer >= 1"),
])
def test_orientation_order_rejects_bad_arguments(kwargs, problem):
    with raises(problem):
        gwl.orientation_order(counterexamples.load("rotsym", fold=3), **kwargs)


@pytest.mark.parametrize("pair, problem", [("kchains-4", r"invariant-task pair"), (None, r"got NoneType"),
                                           ("rotsym-3", r"got str")])
def test_orientation_order_needs_an_orientation_pair(pair, problem):
    with raises(problem):
        gwl.orientation_order(counterexamples.load(pair) if pair == "kchains-4" else pair)


@pytest.mark.parametrize("kwargs, problem", [({"lr": math.nan}, r"train: lr .* got nan"),
                                             ({"lr": 0.0}, r"train: lr .* got 0.0"),
                                             ({"lr": -1e-3}, r"train: lr .* got -0.001"),
                                             ({"mode": "bogus"}, r"train: unknown mode 'bogus'")])
def test_train_rejects_bad_lr_and_mode(kwargs, problem):
    with raises(problem):
        train("kchains-4", "schnet", {"num_layers": 1, "hidden": 4}, seeds=1, epochs=1, **kwargs)


def test_wrongly_typed_first_arguments():
    pair = counterexamples.load("kchains-4")
    with raises(r"load: the pair name must be a str, got NoneType"):
        counterexamples.load(None)
    with raises(r"test must be a test name, got NoneType"):
        gwl.distinguish(pair, test=None)
    with raises(r"expected a counterexample Pair or a pair name, got tuple"):
        separate((pair.a, pair.b), "schnet")
    with raises(r"expected a counterexample Pair or a pair name, got tuple"):
        train((pair.a, pair.b), "schnet")
