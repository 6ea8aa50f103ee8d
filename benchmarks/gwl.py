"""Speed of the geometric Weisfeiler-Leman tests: prints the figures quoted in the README.

    .venv/bin/python benchmarks/gwl.py            # library (float and exact) and the 1,000-node graph
    .venv/bin/python benchmarks/gwl.py --quick    # library in float mode only

Targets (issue 3), on a 2-core CPU, one thread:
* the whole library, every test, both groups: float mode < 2 s, exact mode < 60 s;
* a 1,000-node random geometric graph (radius graph, ~15 neighbours per node), 3 iterations:
  gwl < 10 s, igwl-3 < 2 s.
Each figure is the best of ``--repeat`` runs, wall clock and CPU time of this process (the machine is shared: the
CPU figure is the one less disturbed by other processes).
"""

from __future__ import annotations

import argparse
import time

import torch

import counterexamples
import dojo.gwl
from counterexamples import GROUPS, TESTS
from dojo.graphs import geometric_graph, radius_edges
from dojo.gwl import colors, distinguish


def best_of(repeat: int, run) -> str:
    """Best wall-clock and CPU (this process) seconds of ``repeat`` runs, as text."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return f"{min(wall):.2f} s wall, {min(cpu):.2f} s CPU"


def library(exact: bool) -> None:
    """Every pair, test and group, from scratch (the per-pair cache of products is emptied first)."""
    dojo.gwl._ARITHMETIC.clear()
    for pair in counterexamples.pairs():
        for group in GROUPS:
            for test in TESTS:
                distinguish(pair, test=test, group=group, exact=exact)


def random_geometric_graph(nodes: int = 1000, neighbours: float = 15.0, seed: int = 0):
    """Uniform points in a unit cube, joined within the radius that gives ``neighbours`` on average (float64)."""
    gen = torch.Generator().manual_seed(seed)
    pos = torch.rand(nodes, 3, generator=gen, dtype=torch.float64)
    radius = (3 * neighbours / (4 * torch.pi * nodes)) ** (1 / 3) * 1.1  # ~ boundary losses
    edges = radius_edges(pos, radius)
    return geometric_graph(pos, edges, dtype=torch.float64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="float-mode library only")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)

    pairs = counterexamples.pairs()
    library(exact=False)  # evaluates each pair's float64 view from its exact coordinates once (cached after)
    runs = len(pairs) * len(TESTS) * len(GROUPS)
    seconds = best_of(args.repeat, lambda: library(exact=False))
    print(f"library, float: {len(pairs)} pairs x {len(TESTS)} tests x {len(GROUPS)} groups = {runs} runs "
          f"in {seconds} (target < 2 s)")
    if args.quick:
        return
    seconds = best_of(1, lambda: library(exact=True))
    print(f"library, exact: {runs} runs in {seconds}, number fields included (target < 60 s)")

    graph = random_geometric_graph()
    degree = graph.edge_index.size(1) / graph.num_nodes
    print(f"random geometric graph: {graph.num_nodes} nodes, {degree:.1f} neighbours per node on average, float64")
    for test, target in (("igwl-3", 2), ("igwl", None), ("gwl", 10)):
        for group in GROUPS:
            seconds = best_of(args.repeat, lambda: colors(graph, test=test, group=group, iterations=3))
            goal = f" (target < {target} s)" if target else ""
            print(f"  {test:6s} {group:5s} 3 iterations: {seconds}{goal}")


if __name__ == "__main__":
    main()
