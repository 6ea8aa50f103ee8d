"""The ``dojo`` command line: the counterexample library, the GWL tests, tables and a model's profile.

Names and options are checked before torch, PyG and sympy load (seconds): a typo fails at once.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from collections.abc import Sequence

from dojo.formatting import csv_text, iteration, markdown

#: The zoo's keys and the library's families, known without importing them (tests keep them equal to the
#: registries), so that names are checked before the heavy imports.
ZOO = ("schnet", "dimenet", "spherenet", "egnn", "gvp", "painn", "tfn", "mace")
FAMILIES = ("kchains", "rotsym", "bodyorder", "chiral", "onehop", "controls", "dojo4body", "platonic",
            "distance_degenerate", "sverdlov_dym", "bispectrum")

DESCRIPTION = """\
The geometric GNN dojo: can an architecture tell two geometric graphs apart, and why not?

Commands:
  list    the counterexample library: every pair with its family, size and what theory claims about it
  gwl     the geometric Weisfeiler-Leman tests on library pairs: the iteration at which each test separates them
  search  find new counterexamples: pairs a weaker test never separates and a stronger one does, certified
  table   a discriminability table: models against pairs, with the bounding tests' verdicts beside them
  profile where a model (yours or the zoo's) sits in the GWL hierarchy, from its verdicts on the library
  figures every figure of the dojo redrawn from data: pairs, colour refinement, the hierarchy, tables, margins

A model is a zoo key, 'package.module:ClassOrFactory' (your own, importable from the current directory or
installed; see dojo.models.wrap), or the name of an entry point of the 'dojo.models' group that an installed
package declares.
"""


def positive(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def setting(text: str) -> tuple[str, object]:
    """argparse type: ``KEY=VALUE``, the value read as JSON when it parses (``64``, ``[1, 2]``, ``true``)."""
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (e.g. hidden=64), got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def check_model(name: str) -> str:
    """argparse type: a zoo key, an importable 'module:attr' or an installed entry point (checked without
    importing torch)."""
    from importlib.metadata import entry_points

    if name in ZOO:
        return name
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found or not attr:
            raise argparse.ArgumentTypeError(f"cannot find module {module!r} of {name!r}: check the path, and that "
                                             "its package is installed (pip install -e .) or on PYTHONPATH")
        return name
    installed = sorted(ep.name for ep in entry_points(group="dojo.models"))
    if name in installed:
        return name
    raise argparse.ArgumentTypeError(f"unknown model {name!r}: a zoo model {list(ZOO)}, an installed model "
                                     f"{installed}, or 'package.module:ClassOrFactory'")


def group_name(text: str) -> str:
    """argparse type: ``O3``/``SO3`` (shell-friendly) or ``O(3)``/``SO(3)``, as the group's name."""
    return {"O3": "O(3)", "SO3": "SO(3)"}.get(text, text)


def check_pair(name: str) -> str:
    """argparse type: a family name, a pair name '<family>-<value>' of a known family, or a pair file 'PATH.json'
    that exists (its content is read and certified when the command runs)."""
    if name.lower().endswith(".json"):
        if not os.path.isfile(name):
            raise argparse.ArgumentTypeError(f"no pair file {name!r}: check the path (pair files are written by "
                                             "Pair.save; see counterexamples.files)")
        return name
    if name.split("-")[0] not in FAMILIES:
        raise argparse.ArgumentTypeError(f"unknown pair or family {name!r}: families are {list(FAMILIES)}; pairs "
                                         "are named '<family>-<value>' (dojo list prints them)")
    return name


def _cmd_list(args: argparse.Namespace) -> int:
    import counterexamples
    from counterexamples import GROUPS, TESTS

    chosen = counterexamples.pairs(args.family) if args.family else counterexamples.pairs()
    header = ["pair", "family", "task", "nodes", *TESTS, *(["certificate"] if args.certify else [])]
    rows = []
    for p in chosen:
        cells = []
        for t in TESTS:
            o3, so3 = (p.claim(t, g) for g in GROUPS)
            cells.append(iteration(o3) if o3 == so3 else f"{iteration(o3)}/{iteration(so3)}")
        if args.certify:
            cells.append(_certificate(p))
        rows.append([p.name, p.family, p.task, f"{p.exact_a.num_nodes}+{p.exact_b.num_nodes}", *cells])
    if args.format == "csv":
        sys.stdout.write(csv_text(header, rows))
    else:
        print(markdown(header, rows))
        print("\nCells: first iteration at which the test separates the pair (✗ never); 'x/y' = O(3)/SO(3) "
              "where they differ." + (" Certificate: the claims checked exactly, independently of the GWL code "
                                      "(counterexamples.certify)." if args.certify else ""))
    return 0


def _certificate(pair) -> str:
    """A pair's certificate in a table cell: every check verified, or what failed or stayed undecided."""
    from counterexamples.certify import certify

    certificate = certify(pair)
    if certificate.ok:
        return f"✓ {len(certificate.checks)} checks verified"
    return f"✗ {len(certificate.failures())} failed, {len(certificate.unverified())} unverified"


def _cmd_gwl(args: argparse.Namespace) -> int:
    import counterexamples
    from counterexamples import TESTS
    from dojo.gwl import distinguish

    group = args.group
    chosen = [p for name in args.names for p in (counterexamples.pairs(name) if name in FAMILIES
                                                 else [counterexamples.load(name)])] or counterexamples.pairs()
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


def _cmd_search(args: argparse.Namespace) -> int:
    from dojo.search import MAX_SUBSETS, search

    report = search(args.weaker, args.stronger, kind=args.kind, max_nodes=args.max_nodes, group=args.group,
                    sources=args.sources, min_nodes=args.min_nodes, limit=args.limit, seconds=args.seconds,
                    out=args.out, progress=not args.quiet)
    header = ["pair", "nodes", "vertices (a / b)", args.weaker, args.stronger, "certified", "library", "file"]
    print(markdown(header, report.table()))
    print(f"\n{report.summary()}")
    if report.skipped:
        print(f"Skipped (more than {MAX_SUBSETS} subsets): "
              + ", ".join(f"{name} at {size} nodes" for name, size in report.skipped))
    return 0


def _cmd_table(args: argparse.Namespace) -> int:
    """Run the suite, then write its table files from every record of the log under this protocol and these
    settings (``runner.logged``): a run of some models or pairs adds to the suite's table, it never drops what an
    earlier run logged. Everything is checked before any work or any folder is created; Ctrl-C exits 130 with the
    finished cells kept in the log."""
    from pathlib import Path

    from dojo import executors, runner, suites, tables

    engine = executors.executor(args.executor, jobs=args.jobs, address=args.address,
                                gpus_per_cell=args.gpus_per_cell)
    models = (args.models or []) + (args.model or []) or None
    cells = suites.select(suites.suite(args.suite, models), args.pairs, args.layers, dict(args.set or []))
    settings = runner.settings_for(args.protocol, seeds=args.seeds, epochs=args.epochs)
    out = Path(args.out)
    stem = f"{args.suite}-{args.protocol}"
    log = out / f"{stem}.jsonl"
    runner.check_writable([log, *(out / f"{stem}.{ext}" for ext in tables.FORMATS)])
    try:
        records = runner.run(cells, args.protocol, log, settings=settings, executor=engine,
                             progress=not args.quiet, fresh=args.fresh)
    except executors.ClusterError as err:
        print(f"dojo table: {err}", file=sys.stderr)
        return 2
    except runner.CellsFailed as err:
        for failed in err.failed:
            print(failed.traceback, file=sys.stderr)
        print(f"dojo table: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as stop:
        kept = f"{stop.kept} of {stop.total} cells kept in {stop.log}" if isinstance(stop, runner.Interrupted) else \
            f"finished cells kept in {log}"
        print(f"\ndojo table: interrupted: {kept}; rerun the same command to resume.", file=sys.stderr)
        return 130
    records = runner.logged(log, args.protocol, settings, prefer=records)
    texts = {ext: render(records) for ext, render in tables.FORMATS.items()}
    for ext, text in texts.items():
        (out / f"{stem}.{ext}").write_text(text)
    print(texts["md"].removesuffix("\n"))
    print(f"\nWritten: {out}/{stem}.{{md,tex,csv,json}} (log: .jsonl; {len(records)} cells, {len(cells)} in this run)")
    return 0


def _cmd_profile(args: argparse.Namespace) -> int:
    from dojo.testing import expressivity_profile

    profile = expressivity_profile(args.model, config=dict(args.set or []), pairs=args.pairs, inits=args.inits,
                                   progress=not args.quiet)
    print(profile.to_markdown())
    return 0


def _cmd_figures(args: argparse.Namespace) -> int:
    from dojo.figures import render_all

    written = render_all(args.out, args.results, args.formats, suites=args.suites or ("all", "kchains", "rotsym"),
                         families=args.families, models=args.models, seeds=args.seeds, progress=not args.quiet)
    for path in written:
        print(path)
    print(f"\nWritten: {len(written)} files under {args.out} (table results: {args.results}/<suite>-separate.jsonl)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dojo", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("list", help="the counterexample library with its claims",
                       description="List every pair of the counterexample library with its claims.")
    p.add_argument("--family", help="only this family (e.g. kchains)")
    p.add_argument("--certify", action="store_true",
                   help="certify every listed pair's claims exactly (seconds) and show the verdict")
    p.add_argument("--format", choices=("md", "csv"), default="md", help="output format (default: md)")
    p.set_defaults(run=_cmd_list)

    p = sub.add_parser("gwl", help="run the GWL-family tests on library pairs",
                       description="Run WL, IGWL_(k), IGWL and GWL on counterexample pairs and print, per pair and "
                                   "test, the first iteration at which the test separates the two graphs.")
    p.add_argument("names", nargs="*", metavar="NAME", type=check_pair,
                   help="pairs, families or pair files (e.g. kchains-4, kchains, mine.json; default: the whole "
                        "library)")
    p.add_argument("--group", type=group_name, choices=("O(3)", "SO(3)"), default="O(3)",
                   help="symmetry group: O3 or SO3 (default O3)")
    p.add_argument("--exact", action="store_true", help="exact arithmetic (sympy number fields) instead of floats")
    p.add_argument("--format", choices=("md", "csv"), default="md", help="output format (default: md)")
    p.set_defaults(run=_cmd_gwl)

    tests = ("wl", "igwl-2", "igwl-3", "igwl-4", "igwl-5", "igwl", "gwl")  # counterexamples.TESTS, without sympy
    p = sub.add_parser("search", help="find new counterexamples between two tests, certified",
                       description="Search vertex subsets of symmetric point sets (Platonic solids, Li et al.'s "
                                   "unions, the integer points of a sphere) for non-congruent graph pairs that "
                                   "WEAKER never separates and STRONGER does; confirm each in exact arithmetic, "
                                   "certify it, compare it with the library and write it as a pair file.")
    p.add_argument("weaker", choices=tests, metavar="WEAKER",
                   help=f"the test that must never separate: {', '.join(tests)}, weakest first")
    p.add_argument("stronger", choices=tests, metavar="STRONGER", help="the later test that must separate")
    p.add_argument("--kind", choices=("complete", "star", "radius"), default="complete",
                   help="complete graphs on the chosen vertices, stars from the centre, or nearest-neighbour graphs "
                        "(default: complete)")
    p.add_argument("--max-nodes", type=positive, default=6, help="largest graph, in nodes (default 6)")
    p.add_argument("--min-nodes", type=positive, default=3, help="smallest graph, in nodes (default 3)")
    p.add_argument("--group", type=group_name, choices=("O(3)", "SO(3)"), default="O(3)",
                   help="symmetry group: O3 or SO3 (default O3)")
    p.add_argument("--sources", nargs="+", metavar="SET",
                   choices=("tetrahedron", "octahedron", "cube", "icosahedron", "dodecahedron", "cube_octahedron",
                            "two_cubes", "lattice26", "sphere5"),
                   help="only these point sets: tetrahedron, octahedron, cube, icosahedron, dodecahedron, "
                        "cube_octahedron, two_cubes, lattice26, sphere5 (default: all)")
    p.add_argument("--limit", type=positive, help="stop after this many found pairs")
    p.add_argument("--seconds", type=positive, help="stop after about this many seconds")
    p.add_argument("--out", default="search-results", help="folder for the pair files (default: search-results)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(run=_cmd_search)

    p = sub.add_parser("table", help="a discriminability table (suites: kchains, rotsym, bodyorder, all)",
                       description="Run a suite of models against counterexample pairs and print its table; "
                                   "writes markdown, LaTeX, CSV and JSON, and resumes from its JSONL log.")
    p.add_argument("suite", choices=("kchains", "rotsym", "bodyorder", "all"))
    p.add_argument("--protocol", choices=("separate", "train"), default="separate",
                   help="separate: training-free, fast (default); train: the GWL paper's training protocol")
    p.add_argument("--models", nargs="+", metavar="MODEL", type=check_model,
                   help="only these models (default: every zoo model)")
    p.add_argument("--model", action="append", metavar="MODEL", type=check_model,
                   help="your model, 'package.module:ClassOrFactory' or an entry point (repeatable; alone: only it)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", type=setting,
                   help="a build option for the models (repeatable; VALUE as JSON, e.g. hidden=64)")
    p.add_argument("--pairs", nargs="+", metavar="PAIR", type=check_pair,
                   help="only these pairs or families; a pair file (PATH.json) adds its pair to the suite")
    p.add_argument("--layers", nargs="+", type=positive, help="run at these depths instead of the suite's")
    p.add_argument("--seeds", type=positive, help="initialisations (separate, default 5) or training seeds (train, 10)")
    p.add_argument("--epochs", type=positive, help="training epochs (train only, default 100)")
    p.add_argument("--out", default="results", help="output directory (default: results)")
    p.add_argument("--jobs", type=positive, default=1,
                   help="parallel worker processes (default 1); with --executor dask and no --address, local workers")
    p.add_argument("--executor", choices=("local", "dask"), default="local",
                   help="where cells run: local processes (default) or a Dask cluster (the [dask] extra)")
    p.add_argument("--address", help="the Dask scheduler, e.g. tcp://host:8786 (default: a local Dask cluster)")
    p.add_argument("--gpus-per-cell", type=float, default=0, metavar="N",
                   help="GPUs each cell asks of the cluster (Dask workers started with --resources GPU=1)")
    p.add_argument("--fresh", action="store_true", help="recompute every cell instead of resuming from the log")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_table)

    p = sub.add_parser("profile", help="where a model sits in the GWL hierarchy",
                       description="Run a model on every invariant-task library pair at one layer and at the depth "
                                   "where GWL first separates the pair, and place it in the GWL hierarchy.")
    p.add_argument("model", type=check_model, help="a zoo key, 'package.module:ClassOrFactory' or an entry point")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", type=setting,
                   help="a build option (repeatable; VALUE as JSON)")
    p.add_argument("--pairs", nargs="+", metavar="PAIR", type=check_pair, help="only these pairs")
    p.add_argument("--inits", type=positive, default=3, help="random initialisations per cell (default 3)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_profile)

    p = sub.add_parser("figures", help="every figure, redrawn from data",
                       description="Draw every figure of the dojo (library families, colour refinement, the axes of "
                                   "expressivity, discriminability heatmaps, separation margins) from the library, "
                                   "the GWL tests and the separate-protocol results of the all, kchains and rotsym "
                                   "suites; missing results are computed and logged as `dojo table` does.")
    p.add_argument("--out", default="docs/figures", help="output directory (default: docs/figures)")
    p.add_argument("--results", default="results",
                   help="directory of the suites' JSONL logs, read and completed (default: results)")
    p.add_argument("--formats", nargs="+", choices=("png", "pdf", "svg"), default=["png"], metavar="FORMAT",
                   help="file formats: png, pdf, svg (default: png)")
    p.add_argument("--suites", nargs="+", choices=("all", "kchains", "rotsym"), metavar="SUITE",
                   help="only these suites' figures: all, kchains, rotsym (default: all three)")
    p.add_argument("--families", nargs="+", choices=FAMILIES, metavar="FAMILY",
                   help="only these library families' figures (default: every family)")
    p.add_argument("--models", nargs="+", metavar="MODEL", type=check_model,
                   help="only these models in the suites (default: every zoo model)")
    p.add_argument("--seeds", type=positive, help="initialisations per cell (default 5)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_figures)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dojo`` console script."""
    if os.getcwd() not in sys.path:  # as `python -m` and uvicorn do: `--model mylab.models:Net` from the repo root
        sys.path.insert(0, os.getcwd())
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except ValueError as err:
        parser.exit(2, f"dojo {args.command}: error: {err}\n")


if __name__ == "__main__":
    sys.exit(main())
