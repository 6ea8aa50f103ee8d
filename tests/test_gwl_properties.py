"""Property tests of the GWL family: symmetries never change colours, geometry always does (hypothesis)."""

from __future__ import annotations

from collections import Counter

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dojo.graphs import complete_edges, geometric_graph
from dojo.gwl import PrecisionError, colors, distinguish
from dojo.transforms import permute, random_rotation, rigid_motion

TESTS = ("wl", "igwl-2", "igwl-3", "igwl-4", "igwl", "gwl")
FAST = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def random_graph(draw, max_nodes: int = 7):
    """A random geometric graph: integer-ish coordinates (so symmetric configurations occur), random edges/types."""
    n = draw(st.integers(2, max_nodes))
    coordinate = st.integers(-3, 3).map(float) | st.floats(-3, 3, allow_nan=False, width=32)
    pos = draw(st.lists(st.tuples(coordinate, coordinate, coordinate), min_size=n, max_size=n))
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    edges = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=len(pairs)))
    types = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    return geometric_graph(pos, edges, types)


def moved(graph, seed: int, proper: bool):
    """A rotated (or reflected), translated, permuted float32 copy."""
    gen = torch.Generator().manual_seed(seed)
    rotation = random_rotation(gen, proper=proper)
    copy = rigid_motion(graph, rotation, 5 * torch.randn(3, generator=gen, dtype=torch.float64))
    return permute(copy, torch.randperm(graph.num_nodes, generator=gen))


@FAST
@given(graph=random_graph(), seed=st.integers(0, 2**31 - 1), test=st.sampled_from(TESTS),
       group=st.sampled_from(["O(3)", "SO(3)"]))
def test_rigid_motions_and_permutations_never_separate(graph, seed, test, group):
    copy = moved(graph, seed, proper=group == "SO(3)" or seed % 2 == 0)
    try:
        verdict = distinguish(graph, copy, test=test, group=group)
        ours, theirs = colors(graph, test, group), colors(copy, test, group)
    except PrecisionError:
        # Float mode may refuse (a value gap within rounding noise of every tolerance tried: near-coincident
        # points, found by hypothesis in a lone float32 copy); it must never answer wrongly. Rejecting the example
        # keeps refusals rare: hypothesis fails its health check when it must reject many.
        assume(False)
    assert not verdict.distinguished, verdict
    assert Counter(ours.tolist()) == Counter(theirs.tolist())


@FAST
@given(graph=random_graph(max_nodes=5), seed=st.integers(0, 2**31 - 1), test=st.sampled_from(TESTS))
def test_exact_mode_agrees_on_copies_given_exact_coordinates(graph, seed, test):
    """Exact mode on a permuted, translated copy (no rotation: float rotation is not exact)."""
    tiny = (graph.pos != 0) & (graph.pos.abs() < 2**-20)
    assume(not tiny.any())  # float32 values (not tiny) plus a float64 shift by halves stay exact
    gen = torch.Generator().manual_seed(seed)
    graph.pos = graph.pos.double()
    copy = permute(rigid_motion(graph, torch.eye(3, dtype=torch.float64), torch.tensor([1.0, -2.0, 0.5])),
                   torch.randperm(graph.num_nodes, generator=gen))
    assert not distinguish(graph, copy, test=test, group="SO(3)", exact=True).distinguished


@st.composite
def point_cloud(draw, n: int):
    return draw(st.lists(st.tuples(*[st.floats(-2, 2, allow_nan=False)] * 3), min_size=n, max_size=n))


def cloud_graph(points) -> object:
    pos = torch.tensor(points, dtype=torch.float64)
    return geometric_graph(pos, complete_edges(len(points)), dtype=torch.float64)


def well_separated(points) -> bool:
    """No two points closer than 0.1 (so 'not congruent' is not decided by rounding)."""
    pos = torch.tensor(points, dtype=torch.float64)
    dist = torch.cdist(pos, pos) + 10 * torch.eye(len(points), dtype=torch.float64)
    return bool(dist.min() > 0.1)


@FAST
@given(n=st.integers(3, 6), data=st.data(), seed=st.integers(0, 2**31 - 1))
def test_gwl_separates_non_congruent_clouds_at_iteration_one(n, data, seed):
    first, second = data.draw(point_cloud(n)), data.draw(point_cloud(n))
    if not (well_separated(first) and well_separated(second)):
        return
    a, b = cloud_graph(first), cloud_graph(second)
    gram = lambda p: sorted(round(float(d), 6) for d in torch.pdist(torch.tensor(p)))  # noqa: E731
    if gram(first) == gram(second):
        return  # equal distance multisets: congruent or a rare genuine counterexample; not this property's job
    assert distinguish(a, b, test="gwl").iteration == 1
    assert not distinguish(a, moved(a, seed, proper=True), test="gwl", group="SO(3)").distinguished


@FAST
@given(graph=random_graph(max_nodes=6), group=st.sampled_from(["O(3)", "SO(3)"]), data=st.data())
def test_hierarchy_on_random_pairs(graph, group, data):
    other = data.draw(random_graph(max_nodes=6))
    never = float("inf")
    found = {t: distinguish(graph, other, test=t, group=group, exact=True).iteration for t in TESTS}
    steps = [never if found[t] is None else found[t] for t in TESTS]
    assert steps == sorted(steps, reverse=True), found


def test_reflections_are_seen_only_under_so3():
    corner = [[0, 0, 0], [1, 0, 0], [0, 2, 0], [0, 0, 3]]
    left = geometric_graph(corner, [(0, 1), (0, 2), (0, 3)])
    right = rigid_motion(left, torch.diag(torch.tensor([1.0, 1.0, -1.0])))
    for test in ("igwl-4", "igwl", "gwl"):
        assert distinguish(left, right, test=test, group="SO(3)", exact=True).iteration == 1
        assert not distinguish(left, right, test=test, group="O(3)", exact=True).distinguished
    assert not distinguish(left, right, test="igwl-3", group="SO(3)", exact=True).distinguished


@pytest.mark.parametrize("shape", ["centre", "line", "plane"])
@pytest.mark.parametrize("test", ["igwl", "gwl"])
def test_degenerate_configurations(shape, test):
    """Centre-only, collinear and coplanar neighbourhoods: congruent copies agree, a bent copy differs."""
    points = {"centre": [[0, 0, 0], [0, 0, 0], [0, 0, 0]],
              "line": [[0, 0, 0], [1, 0, 0], [-2, 0, 0]],
              "plane": [[0, 0, 0], [1, 0, 0], [0, 2, 0]]}[shape]
    graph = geometric_graph(points, [(0, 1), (0, 2)])
    for exact in (False, True):
        copy = moved(graph, 7, proper=True) if not exact else permute(graph, torch.tensor([0, 2, 1]))
        assert not distinguish(graph, copy, test=test, group="SO(3)", exact=exact).distinguished
    bent = geometric_graph([*points[:2], [points[2][0], points[2][1], 1]], [(0, 1), (0, 2)])
    assert distinguish(graph, bent, test=test, exact=True).iteration == 1
