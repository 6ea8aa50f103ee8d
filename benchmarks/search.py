"""Speed of ``dojo search``: candidates tried, found and certified per minute, the figures quoted in the README.

    .venv/bin/python benchmarks/search.py            # every setting below
    .venv/bin/python benchmarks/search.py --quick    # the two fast settings only

Each setting runs :func:`dojo.search.search` once and writes nothing (``out=None``); a point set's preparation (its
symmetries) is done once per process, inside the first setting that uses it. *Tried* counts float comparisons of two
graphs, *found* pairs confirmed by both tests in exact arithmetic, *certified* found pairs that ``certify``
accepts; *in the library* names the library pairs rediscovered (up to congruence and scale). Rates are per minute of
this process's CPU time (the machine is shared; wall time is printed too).
"""

from __future__ import annotations

import argparse
import time

import counterexamples
from dojo.search import search

#: (weaker, stronger, kind, search arguments, quick): what each setting searches.
SETTINGS = [
    ("igwl-2", "igwl-3", "star", {"max_nodes": 3, "sources": ["sphere5"]}, True),
    ("igwl-2", "igwl-3", "complete", {"max_nodes": 6}, True),
    ("igwl-3", "igwl-4", "star", {"min_nodes": 5, "max_nodes": 5, "sources": ["lattice26"]}, False),
    ("igwl", "gwl", "radius", {"max_nodes": 6}, False),
    ("igwl-4", "igwl-5", "star", {"min_nodes": 5, "max_nodes": 6,
                                  "sources": ["cube_octahedron", "icosahedron", "dodecahedron"]}, False),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the fast settings only")
    args = parser.parse_args()
    library = counterexamples.pairs()
    for weaker, stronger, kind, options, quick in SETTINGS:
        if args.quick and not quick:
            continue
        start_cpu = time.process_time()
        report = search(weaker, stronger, kind, out=None, library=library, progress=False, **options)
        cpu_minutes = (time.process_time() - start_cpu) / 60
        where = ", ".join(f"{k}={v}" for k, v in options.items())
        rediscovered = sorted({f.library for f in report.results if f.library})
        print(f"{weaker} vs {stronger}, {kind} ({where}):\n  {report.subsets} subsets, {report.tried} tried, "
              f"{report.found} found, {report.certified} certified, {len(report.new)} new; in the library: "
              f"{', '.join(rediscovered) or 'none'}\n  {report.elapsed:.1f} s wall, {cpu_minutes * 60:.1f} s CPU; "
              f"per CPU minute: {report.tried / cpu_minutes:.0f} tried, {report.found / cpu_minutes:.1f} found, "
              f"{report.certified / cpu_minutes:.1f} certified", flush=True)


if __name__ == "__main__":
    main()
