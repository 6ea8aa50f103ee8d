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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dojo", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("list", help="the counterexample library with its claims",
                       description="List every pair of the counterexample library with its claims.")
    p.add_argument("--family", help="only this family (e.g. kchains)")
    p.add_argument("--format", choices=("md", "csv"), default="md", help="output format (default: md)")
    p.set_defaults(run=_cmd_list)
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
