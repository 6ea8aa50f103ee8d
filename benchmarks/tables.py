"""Time the discriminability tables: `all` with the separate protocol, the paper's suites with the train protocol.

Run: .venv/bin/python benchmarks/tables.py [--protocol separate|train|both] [--jobs N] [--models M ...]
                                            [--seeds N] [--epochs N]
Targets on the 2-core CPU: `all --protocol separate` under 60 s; kchains + rotsym + bodyorder with
`--protocol train` (10 seeds x 100 epochs) under 30 minutes in total. Every run starts from an empty log (nothing
resumed). Prints the table of each suite and the seconds per cell beside its result, then the time per suite.
One thread per cell; timings are wall-clock and noisy on a shared machine.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from dojo import runner, suites, tables
from dojo.formatting import markdown

PLAN = {"separate": ["all"], "train": ["kchains", "rotsym", "bodyorder"]}
TARGET_S = {"separate": 60, "train": 30 * 60}


def _result(record: dict) -> str:
    r = record["result"]
    if record["protocol"] == "separate":
        return f"{round(r['fraction'] * r['inits'])}/{r['inits']} (margin {r['margin']:.1e})"
    return f"{r['mean']:.1f} ± {r['std']:.1f} ({r['mode']})"


def time_suite(name: str, protocol: str, args: argparse.Namespace, workdir: Path) -> tuple[float, list[dict]]:
    """Run one suite from scratch; return its wall-clock seconds and records."""
    cells = suites.suite(name, args.models)
    settings = runner.settings_for(protocol, seeds=args.seeds, epochs=args.epochs if protocol == "train" else None)
    start = time.perf_counter()
    records = runner.run(cells, protocol, workdir / f"{name}-{protocol}.jsonl", settings=settings, jobs=args.jobs)
    return time.perf_counter() - start, records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--protocol", choices=("separate", "train", "both"), default="separate")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--models", nargs="+")
    parser.add_argument("--seeds", type=int, help="override the protocol's seeds (for a quick trial)")
    parser.add_argument("--epochs", type=int, help="override the train protocol's epochs (for a quick trial)")
    parser.add_argument("--suites", nargs="+", help="only these suites of the protocol's plan")
    args = parser.parse_args()
    torch.set_num_threads(1)
    protocols = ["separate", "train"] if args.protocol == "both" else [args.protocol]
    totals = []
    with tempfile.TemporaryDirectory() as tmp:
        for protocol in protocols:
            spent = 0.0
            for name in [s for s in PLAN[protocol] if not args.suites or s in args.suites]:
                seconds, records = time_suite(name, protocol, args, Path(tmp))
                spent += seconds
                print(f"\n## {name} --protocol {protocol}: {len(records)} cells in {seconds:.1f} s "
                      f"(median {statistics.median(r['seconds'] for r in records):.2f} s per cell)\n")
                print(tables.to_markdown(records))
                print()
                print(markdown(["pair", "model", "layers", "result", "seconds"],
                               [[r["pair"], r["variant"], r["layers"], _result(r), f"{r['seconds']:.2f}"]
                                for r in records]))
                totals.append([name, protocol, len(records), f"{seconds:.1f}"])
            totals.append([f"total ({protocol})", "", "", f"{spent:.1f} (target < {TARGET_S[protocol]})"])
    print(f"\n## Time per suite (jobs={args.jobs}, one thread per cell)\n")
    print(markdown(["suite", "protocol", "cells", "seconds"], totals))


if __name__ == "__main__":
    main()
