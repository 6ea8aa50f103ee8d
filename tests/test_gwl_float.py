"""GWL float mode never separates a graph from its own moved copy: it answers right, or refuses and says why.

Every float-mode decision (a rank, a tie, an equality) compares a quantity with the run's one tolerance, derived
from both graphs at once; a decision within rounding noise of it is retried at another tolerance, and a run that
cannot avoid one raises :class:`~dojo.gwl.PrecisionError`. The fuzz below moves degenerate graphs (planar,
collinear, nearly collinear down to offsets at float64's tolerance, centrosymmetric, tiny, far from the origin) in
float32 and float64: a few hundred runs by default, 42,000 under ``-m slow``.
"""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from dojo.graphs import DEGENERATE, degenerate_graph, geometric_graph
from dojo.gwl import PrecisionError, colors, distinguish
from dojo.gwl.arithmetic import MAX_TOL, arithmetic
from dojo.transforms import random_copy

TESTS = ("igwl-2", "igwl-3", "igwl-4", "igwl", "gwl")
#: Offsets off a line that span float64's tolerance (~1e-13 of an edge) as well as float32's (~1e-5).
KINDS = (*DEGENERATE, "barely-collinear")


def fuzz_graph(kind: str, generator: torch.Generator, dtype: torch.dtype):
    """A degenerate graph; ``barely-collinear`` puts the points within 1e-15..1e-5 of a line (log-uniform)."""
    if kind != "barely-collinear":
        return degenerate_graph(kind, generator, dtype)
    graph = degenerate_graph("collinear", generator, torch.float64)
    offset = 10 ** (-15 + 10 * torch.rand(1, generator=generator, dtype=torch.float64))
    graph.pos[:, 1:] = offset * torch.randn(graph.num_nodes, 2, generator=generator, dtype=torch.float64)
    return geometric_graph(graph.pos, graph.edge_index.t().tolist(), graph.z.tolist(), dtype=dtype)


def moved_copy(graph, generator: torch.Generator, proper: bool):
    """Rotated (or reflected), permuted and translated by ~10 times the graph's own extent."""
    extent = float((graph.pos.double() - graph.pos.double().mean(0)).abs().max())
    return random_copy(graph, generator, proper=proper, scale=10 * extent)


def fuzz(dtype: torch.dtype, kind: str, count: int, seed: int = 0) -> Counter:
    """Outcomes of every test on ``count`` graphs of ``kind`` against their moved copies (and of ``colors``).

    Outcomes: ``same`` (right), ``separated`` (wrong), ``precision`` (PrecisionError), ``far`` (the refusal of
    positions too far from the origin for the dtype); ``lone precision`` counts lone ``colors`` runs refused at the
    pair's tolerance (a lone graph's gaps between values are decisions too).
    """
    generator = torch.Generator().manual_seed(seed)
    out: Counter = Counter()
    runs = 0
    for c in range(count):
        graph = fuzz_graph(kind, generator, dtype)
        copy = moved_copy(graph, generator, proper=c % 2 == 0)
        far = arithmetic([graph, copy], exact=False, tol=1.0).noise * 2 > MAX_TOL
        for test in TESTS:
            for group in ("O(3)", "SO(3)") if c % 2 == 0 else ("O(3)",):
                runs += 1
                try:
                    verdict = distinguish(graph, copy, test=test, group=group)
                    same = not verdict.distinguished
                except PrecisionError:
                    out["precision"] += 1
                    continue
                except ValueError as err:
                    assert far and "from the origin" in str(err), err
                    out["far"] += 1
                    continue
                if test in ("igwl", "gwl") and same:  # lone runs agree at one tolerance, or refuse
                    try:
                        alone = [Counter(colors(g, test, group, tol=verdict.tol).tolist()) for g in (graph, copy)]
                        same = alone[0] == alone[1]
                    except PrecisionError:
                        out["lone precision"] += 1
                out["same" if same else "separated"] += 1
    assert sum(out.values()) - out["lone precision"] == runs
    return out


def check(outcomes: Counter) -> None:
    assert outcomes["separated"] == 0, outcomes
    runs = sum(outcomes.values()) - outcomes["lone precision"]
    assert outcomes["precision"] <= 0.01 * runs, outcomes  # refusals stay rare, even on this geometry


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_moved_degenerate_graphs_are_never_separated(dtype):
    for kind in KINDS:
        check(fuzz(dtype, kind, count=4))


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("kind", KINDS)
def test_fuzz_moved_degenerate_graphs(dtype, kind):
    """400 graphs per kind and dtype, 7.5 runs each: 21,000 runs per dtype."""
    for seed in range(4):
        check(fuzz(dtype, kind, count=100, seed=seed))


def test_rank_decision_at_the_old_tolerance():
    """Regression (issue 12): a bend whose squared offset sat at the old threshold split a path from its copy.

    Float mode used to call an edge independent of another when the squared perpendicular offset, computed from dot
    products (which cancel catastrophically), passed the tolerance; 2 copies in 400 were separated. It now compares
    the cross product's norm, whose rounding error is ~eps, and retries decisions that sit at the tolerance.
    """
    pos = torch.tensor([[0.0, 0.0, 0.0], [0.7, 0.0, 0.0], [1.45, 0.0, 0.0], [0.3, 0.09, 0.0]], dtype=torch.float64)
    path = geometric_graph(pos, [(0, 1), (1, 2), (2, 3)], [0, 0, 1, 0], dtype=torch.float64)
    old = arithmetic([path], exact=False)
    path.pos[2, 1] = (old.tol ** 0.5) * old.scale  # the old threshold, in units of the longest edge
    for seed in range(100):
        copy = random_copy(path, torch.Generator().manual_seed(seed), scale=1.0)
        for group in ("O(3)", "SO(3)"):
            assert not distinguish(path, copy, test="gwl", group=group).distinguished, seed


def bent_path(dtype: torch.dtype, area: float):
    """A path 0-1-2 whose bend at node 1 has cross product ``area`` (in units of the longest edge squared)."""
    pos = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.5, area, 0.0]], dtype=torch.float64)
    return geometric_graph(pos, [(0, 1), (1, 2)], dtype=dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_a_decision_at_the_tolerance_is_decided_at_another(dtype):
    def moved(graph):
        return random_copy(graph, torch.Generator().manual_seed(3), scale=1.0)

    flat = bent_path(dtype, 0.0)
    default = arithmetic([flat, moved(flat)], exact=False).tol
    path = bent_path(dtype, default)
    verdict = distinguish(path, moved(path), test="gwl")
    assert not verdict.distinguished
    assert verdict.tol == pytest.approx(2 * default, rel=1e-3)  # the default sat on the bend's area: the next one decided


def test_a_users_tolerance_at_a_decision_is_refused():
    path = bent_path(torch.float64, 1e-9)
    with pytest.raises(PrecisionError, match="exact=True") as err:
        distinguish(path, path, test="igwl", tol=1e-9)
    assert "tol=" in str(err.value)
    assert distinguish(path, path, test="igwl", tol=1e-6).tol == 1e-6


def test_exact_mode_and_wl_report_no_tolerance():
    path = bent_path(torch.float64, 0.5)
    assert distinguish(path, path, test="gwl", exact=True).tol is None
    assert distinguish(path, path, test="wl").tol is None
