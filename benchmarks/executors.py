"""Wall time of a table's cells run locally with two processes and through Dask with two workers on this machine,
the engine's overhead per cell, and how the run would scale to N workers.

For the ``all`` suite (separate protocol) and a train-protocol suite (``kchains``, 2 seeds x 30 epochs), each run
starts from an empty log. The Dask run uses a ``LocalCluster`` of two single-threaded worker processes on loopback,
started before the clock (its start-up is printed apart: a real cluster is started once for many runs). Scaling:
from the cells' own durations (the log's ``seconds``), N workers cannot finish before the longest cell (the critical
path: cells are independent) nor before the total work divided by N; the greedy longest-first schedule printed is
within 4/3 of the optimum.

Run: .venv/bin/python benchmarks/executors.py
"""

from __future__ import annotations

import heapq
import tempfile
import time
from pathlib import Path

from dojo import executors, runner, suites
from dojo.formatting import markdown

RUNS = {
    "all (separate)": ("all", "separate", runner.settings_for("separate")),
    "kchains (train, 2 seeds x 30 epochs)": ("kchains", "train", runner.settings_for("train", seeds=2, epochs=30)),
}
WORKERS = (1, 2, 4, 8, 16, 32)


def timed(cells, protocol, settings, engine) -> tuple[float, list[float]]:
    """Wall seconds of one run into a fresh log, and every cell's own seconds."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        records = runner.run(cells, protocol, Path(folder) / "log.jsonl", settings=settings, executor=engine,
                             progress=False)
        return time.perf_counter() - start, [r["seconds"] for r in records]


def schedule(durations: list[float], workers: int) -> float:
    """The makespan of the longest-first greedy schedule of ``durations`` on ``workers``."""
    loads = [0.0] * workers
    for d in sorted(durations, reverse=True):
        heapq.heappush(loads, heapq.heappop(loads) + d)
    return max(loads)


def main() -> None:
    from distributed import LocalCluster

    start = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                           host="127.0.0.1")
    print(f"Dask LocalCluster of 2 workers started in {time.perf_counter() - start:.1f} s")
    rows, scaling = [], []
    try:
        for label, (name, protocol, settings) in RUNS.items():
            cells = suites.suite(name)
            local, durations = timed(cells, protocol, settings, executors.Local(2))
            remote, _ = timed(cells, protocol, settings, executors.Dask(cluster.scheduler_address))
            rows.append([label, len(cells), f"{sum(durations):.1f}", f"{local:.1f}", f"{remote:.1f}",
                         f"{(remote - local) / len(cells) * 1e3:+.0f}"])
            scaling.append([label, f"{max(durations):.2f}",
                            *(f"{schedule(durations, n):.1f}" for n in WORKERS)])
    finally:
        cluster.close()
    print(markdown(["suite", "cells", "sum of cells (s)", "local --jobs 2 (s)", "Dask, 2 workers (s)",
                    "Dask overhead per cell (ms)"], rows))
    print()
    print(markdown(["suite", "longest cell (s)", *(f"N={n} (s)" for n in WORKERS)], scaling))
    print("\nN=n: makespan of the cells' measured durations on n workers (longest first); it stops falling at the "
          "longest cell.")


if __name__ == "__main__":
    main()
