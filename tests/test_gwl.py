"""The GWL family against the counterexample library (exact), the API's contracts, and the ``dojo gwl`` command."""

from __future__ import annotations

import pytest
import torch

import counterexamples
from counterexamples import GROUPS, TESTS
from dojo.cli import main
from dojo.graphs import geometric_graph
from dojo.gwl import color_history, colors, distinguish, orientation_order
from dojo.transforms import random_copy

NEVER = float("inf")


def _step(value: int | None) -> float:
    return NEVER if value is None else value


@pytest.fixture(scope="module")
def exact_results() -> dict:
    """Every library pair (whatever is registered now) under every test and group, in exact arithmetic."""
    return {(p.name, t, g): distinguish(p, test=t, group=g, exact=True).iteration
            for p in counterexamples.pairs() for g in GROUPS for t in TESTS}


@pytest.mark.parametrize("name", counterexamples.names())
def test_library_claims_hold_exactly(name, exact_results):
    pair = counterexamples.load(name)
    found = {(t, g): exact_results[name, t, g] for g in GROUPS for t in TESTS}
    assert found == dict(pair.claims)


@pytest.mark.parametrize("name", counterexamples.names())
def test_hierarchy_on_library_pairs(name, exact_results):
    for g in GROUPS:
        steps = [_step(exact_results[name, t, g]) for t in TESTS]
        assert steps == sorted(steps, reverse=True), (g, steps)  # wl ⊑ igwl-2 ⊑ ... ⊑ igwl ⊑ gwl
    for t in TESTS:
        assert _step(exact_results[name, t, "SO(3)"]) <= _step(exact_results[name, t, "O(3)"])  # O(3) ⊑ SO(3)


@pytest.mark.parametrize("name", counterexamples.names())
def test_float_mode_agrees_with_exact(name, exact_results):
    pair = counterexamples.load(name)
    for g in GROUPS:
        for t in TESTS:
            assert distinguish(pair, test=t, group=g).iteration == exact_results[name, t, g], (t, g)
            if t in ("igwl", "gwl"):  # float32 views, moved: the tolerance absorbs the rounding
                a, b = pair.a, pair.b
                assert distinguish(a, b, test=t, group=g).iteration == exact_results[name, t, g], (t, g)


@pytest.mark.parametrize("pair", [p for p in counterexamples.pairs() if p.task == "equivariant"], ids=lambda p: p.name)
def test_orientation_order_matches_the_library(pair):
    assert orientation_order(pair) == pair.orientation_order


def test_verdict_holds_histograms_of_both_graphs():
    pair = counterexamples.load("kchains", k=4)
    verdict = distinguish(pair, test="gwl", exact=True)
    assert verdict.distinguished and verdict.iteration == 3 == len(verdict.histograms) - 1
    first_a, first_b = verdict.histograms[0]
    assert first_a == first_b == {0: 6}
    last_a, last_b = verdict.histograms[-1]
    assert last_a != last_b and sum(last_a.values()) == sum(last_b.values()) == 6
    assert "iteration 3" in str(verdict)
    never = distinguish(pair, test="igwl", group="SO(3)")
    assert not never.distinguished and never.iteration is None


def test_max_iter_limits_the_run():
    pair = counterexamples.load("kchains", k=6)
    assert distinguish(pair, test="gwl", max_iter=3).iteration is None
    assert distinguish(pair, test="gwl", max_iter=4).iteration == 4
    assert len(distinguish(pair, test="wl", max_iter=0).histograms) == 1


def test_iteration_zero_compares_node_types():
    a = geometric_graph([[0, 0, 0], [1, 0, 0]], [(0, 1)], [0, 1])
    b = geometric_graph([[0, 0, 0], [1, 0, 0]], [(0, 1)], [0, 0])
    assert distinguish(a, b, test="wl").iteration == 0


def test_colors_show_the_refinement():
    pair = counterexamples.load("kchains", k=4)
    wl = colors(pair.a, test="wl")
    assert wl.dtype == torch.long and wl.shape == (6,)
    assert len(set(wl.tolist())) == 3  # WL sees only the path: ends, next-to-ends, middle
    assert len(set(colors(pair.exact_a, test="gwl", exact=True).tolist())) >= len(set(wl.tolist()))
    assert colors(pair.a, test="wl", iterations=0).tolist() == [0] * 6


@pytest.mark.parametrize("test", ["igwl", "gwl"])
def test_color_history_is_colors_at_every_iteration_in_exact_mode(test):
    graph = counterexamples.load("kchains", k=4).exact_a
    history = color_history(graph, test=test, exact=True)
    assert len(history) >= 2 and len(set(history[-1].tolist())) == len(set(history[-2].tolist()))  # ran to stable
    for t, colours in enumerate(history):
        assert colours.tolist() == colors(graph, test=test, iterations=t, exact=True).tolist()


def test_exact_and_float_agree_on_a_chiral_tetrahedral_cloud():
    points = [[0, 0, 0], [1, 0, 0], [0, 2, 0], [0, 0, 3]]
    edges = [(i, j) for i in range(4) for j in range(i + 1, 4)]
    left = geometric_graph(points, edges)
    right = geometric_graph([[x, y, -z] for x, y, z in points], edges)
    for exact in (False, True):
        assert distinguish(left, right, test="gwl", group="SO(3)", exact=exact).iteration == 1
        assert not distinguish(left, right, test="gwl", group="O(3)", exact=exact).distinguished


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"test": "igwl-1"}, "unknown test"),
        ({"test": "gwl2"}, "unknown test"),
        ({"group": "E(3)"}, "unknown group"),
        ({"max_iter": -1}, "non-negative"),
        ({"exact": True, "tol": 1e-3}, "tol is a float-mode setting"),
        ({"tol": -1.0}, "tol must be positive"),
    ],
)
def test_bad_arguments_name_the_fix(kwargs, message):
    pair = counterexamples.load("kchains", k=2)
    with pytest.raises(ValueError, match=message) as err:
        distinguish(pair.a, pair.b, **kwargs)
    assert "Fix" in str(err.value)


def test_bad_graphs_are_rejected():
    good = geometric_graph([[0, 0, 0], [1, 0, 0]], [(0, 1)])
    bad = good.clone()
    bad.edge_index = torch.tensor([[0], [1]])
    with pytest.raises(ValueError, match="no reverse edge"):
        distinguish(good, bad)
    with pytest.raises(ValueError, match="two graphs"):
        distinguish(good)
    with pytest.raises(ValueError, match="not a real algebraic number"):
        from counterexamples import ExactGraph
        import sympy
        distinguish(ExactGraph([[0, 0, 0], [sympy.pi, 0, 0]], [(0, 1)], [0, 0]), good, exact=True)


def test_cli_prints_the_table(capsys):
    assert main(["gwl", "kchains-4", "rotsym-3", "--exact"]) == 0
    out = capsys.readouterr().out
    assert "| kchains-4 | ✗  | ✗      | ✗      | ✗      | ✗      | ✗    | 3   |" in out and "!" not in out.split("\n\n")[0]
    assert main(["gwl", "chiral-tetrahedral", "--group", "SO3", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "chiral-tetrahedral,✗,✗,✗,1,1,1,1"


def test_cli_reports_unknown_pairs():
    with pytest.raises(SystemExit) as err:
        main(["gwl", "no-such-pair"])
    assert err.value.code == 2


@pytest.mark.parametrize("offset", [1e4, 1e5])
def test_float32_graphs_far_from_the_origin_are_refused_not_answered_from_noise(offset):
    """Issue 12: a float32 path 1e5 from the origin was 'distinguished' from its own moved copy."""
    path = geometric_graph(torch.tensor([[0.0, 0, 0], [2.0, 0, 0], [2.0, 3.2, 0]]) + offset, [(0, 1), (1, 2)],
                           dtype=torch.float32)
    copy = random_copy(path, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="centre the graphs"):
        distinguish(path, copy, test="gwl")


def test_float32_graphs_near_the_origin_keep_their_copies_equal():
    generator = torch.Generator().manual_seed(0)
    for offset in (0.0, 1e1, 1e2, 1e3):
        path = geometric_graph(torch.tensor([[0.0, 0, 0], [2.0, 0, 0], [2.0, 3.2, 0]]) + offset, [(0, 1), (1, 2)],
                               dtype=torch.float32)
        for _ in range(20):
            assert not distinguish(path, random_copy(path, generator, scale=1.0), test="gwl").distinguished


@pytest.mark.parametrize("scale", [1e160, 1e-160])
def test_extreme_magnitudes_are_refused_in_float_mode(scale):
    pair = counterexamples.load("kchains-4")
    a, b = (geometric_graph(g.pos * scale, g.edge_index.t().tolist(), g.z.tolist(), dtype=torch.float64)
            for g in pair.graphs(torch.float64))
    with pytest.raises(ValueError, match="rescale the positions"):
        distinguish(a, b, test="gwl")
