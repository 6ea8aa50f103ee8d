"""The ``dojo`` command line: list the counterexample library (and, as they land, run tests and tables)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dojo.formatting import csv_text, iteration, markdown

DESCRIPTION = """\
The geometric GNN dojo: can an architecture tell two geometric graphs apart, and why not?

Commands:
  list    the counterexample library: every pair with its family, size and what theory claims about it
  gwl     the geometric Weisfeiler-Leman tests on library pairs: the iteration at which each test separates them
  table   a discriminability table: models against pairs, with the bounding tests' verdicts beside them
"""


def _cmd_list(args: argparse.Namespace) -> int:
    import counterexamples
    from counterexamples import GROUPS, TESTS

    chosen = counterexamples.pairs(args.family) if args.family else counterexamples.pairs()
    header = ["pair", "family", "task", "nodes", *TESTS]
    rows = []
    for p in chosen:
        cells = []
        for t in TESTS:
            o3, so3 = (p.claim(t, g) for g in GROUPS)
            cells.append(iteration(o3) if o3 == so3 else f"{iteration(o3)}/{iteration(so3)}")
        rows.append([p.name, p.family, p.task, f"{p.exact_a.num_nodes}+{p.exact_b.num_nodes}", *cells])
    if args.format == "csv":
        sys.stdout.write(csv_text(header, rows))
    else:
        print(markdown(header, rows))
        print("\nCells: first iteration at which the test separates the pair (✗ never); 'x/y' = O(3)/SO(3) "
              "where they differ.")
    return 0


def _cmd_gwl(args: argparse.Namespace) -> int:
    import counterexamples
    from counterexamples import TESTS
    from dojo.gwl import distinguish

    group = {"O3": "O(3)", "SO3": "SO(3)"}.get(args.group, args.group)
    chosen = [counterexamples.load(name) for name in args.names] if args.names else counterexamples.pairs()
    rows = []
    for pair in chosen:
        cells = []
        for test in TESTS:
            found = distinguish(pair, test=test, group=group, exact=args.exact).iteration
            cells.append(iteration(found) + ("" if found == pair.claim(test, group) else " !"))
        rows.append([pair.name, *cells])
    header = ["pair", *TESTS]
    if args.format == "csv":
        sys.stdout.write(csv_text(header, rows))
    else:
        print(markdown(header, rows))
        print(f"\nCells: first iteration at which the test separates the pair under {group} (✗ never), "
              f"{'exact' if args.exact else 'float'} arithmetic; '!' marks a disagreement with the pair's claim.")
    return 0


def _cmd_table(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dojo import runner, suites, tables

    cells = suites.suite(args.suite, args.models)
    settings = runner.settings_for(args.protocol, seeds=args.seeds, epochs=args.epochs)
    out = Path(args.out)
    records = runner.run(cells, args.protocol, out / f"{args.suite}-{args.protocol}.jsonl", settings=settings,
                         jobs=args.jobs, progress=not args.quiet)
    for ext, render in tables.FORMATS.items():
        (out / f"{args.suite}-{args.protocol}.{ext}").write_text(render(records))
    print(tables.to_markdown(records))
    print(f"\nWritten: {out}/{args.suite}-{args.protocol}.{{md,tex,csv,json}} (log: .jsonl)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dojo", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("list", help="the counterexample library with its claims",
                       description="List every pair of the counterexample library with its claims.")
    p.add_argument("--family", help="only this family (e.g. kchains)")
    p.add_argument("--format", choices=("md", "csv"), default="md", help="output format (default: md)")
    p.set_defaults(run=_cmd_list)

    p = sub.add_parser("gwl", help="run the GWL-family tests on library pairs",
                       description="Run WL, IGWL_(k), IGWL and GWL on counterexample pairs and print, per pair and "
                                   "test, the first iteration at which the test separates the two graphs.")
    p.add_argument("names", nargs="*", metavar="NAME", help="pairs (e.g. kchains-4; default: the whole library)")
    p.add_argument("--group", choices=("O3", "SO3", "O(3)", "SO(3)"), default="O3", help="symmetry group (default O3)")
    p.add_argument("--exact", action="store_true", help="exact arithmetic (sympy number fields) instead of floats")
    p.add_argument("--format", choices=("md", "csv"), default="md", help="output format (default: md)")
    p.set_defaults(run=_cmd_gwl)

    p = sub.add_parser("table", help="a discriminability table (suites: kchains, rotsym, bodyorder, all)",
                       description="Run a suite of models against counterexample pairs and print its table; "
                                   "writes markdown, LaTeX, CSV and JSON, and resumes from its JSONL log.")
    p.add_argument("suite", choices=("kchains", "rotsym", "bodyorder", "all"))
    p.add_argument("--protocol", choices=("separate", "train"), default="separate",
                   help="separate: training-free, fast (default); train: the GWL paper's training protocol")
    p.add_argument("--models", nargs="+", metavar="MODEL", help="only these zoo models (default: all registered)")
    p.add_argument("--seeds", type=int, help="initialisations (separate, default 5) or training seeds (train, 10)")
    p.add_argument("--epochs", type=int, help="training epochs (train only, default 100)")
    p.add_argument("--out", default="results", help="output directory (default: results)")
    p.add_argument("--jobs", type=int, default=1, help="parallel worker processes (default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_table)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dojo`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except ValueError as err:
        parser.exit(2, f"dojo {args.command}: error: {err}\n")


if __name__ == "__main__":
    sys.exit(main())
