"""What testing your own model costs: `expressivity_profile` per model, and the pytest plugin's import overhead.

Run: .venv/bin/python benchmarks/profiles.py [--models schnet painn mace] [--inits 3] [--repeat 5]
Prints, per model at its zoo defaults, the seconds of one profile over the default library (every invariant-task
pair at one layer and at GWL's depth, ``--inits`` initialisations each; target < 30 s), and the wall time of
``pytest --collect-only`` in an empty folder with the dojo plugin and with ``-p no:dojo`` (median of
``--repeat`` runs; target: the plugin adds < 1 s to a session that does not use it).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

import torch

from dojo.formatting import markdown
from dojo.testing import expressivity_profile


def profile_seconds(model: str, inits: int) -> tuple[float, str]:
    start = time.perf_counter()
    profile = expressivity_profile(model, inits=inits)
    return time.perf_counter() - start, profile.summary()[0]


def collect_seconds(extra: list[str], repeat: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *extra],
                           cwd=folder, capture_output=True, check=False)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["schnet", "painn", "mace"])
    parser.add_argument("--inits", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for name in args.models:
        seconds, first = profile_seconds(name, args.inits)
        rows.append([name, f"{seconds:.1f}", first])
    print(markdown(["model", "profile seconds", "first line"], rows))
    with_plugin, without = collect_seconds([], args.repeat), collect_seconds(["-p", "no:dojo"], args.repeat)
    print(f"\npytest --collect-only in an empty folder: {with_plugin:.2f} s with the dojo plugin, {without:.2f} s "
          f"without (plugin adds {with_plugin - without:+.2f} s)")


if __name__ == "__main__":
    main()
