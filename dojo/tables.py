"""Discriminability tables: measured cells beside what theory says, rendered as markdown, LaTeX, CSV and JSON.

Theory for a cell comes from the model's bounding test (its metadata's ``bounded_by``, under its ``group``) at the
model's depth: on an invariant-task pair the test separates when its first separating iteration is at most the
number of layers; at one layer the sharper bound of one layer's body order (``layer_bound``: IGWL_(k) at
iteration 1) applies too, and the cell's theory is the sharper of the two. On an equivariant-task pair
(orientation) a model of tensor order L sees the orientation when the pair's orientation order is at most L. A
model that declares no bound gets "no theory" and is never flagged. The iterations and orientation orders come
from ``dojo.gwl`` (float64 views of the pair).

A cell whose embedding was zero or constant (``degenerate``) says nothing and shows ``deg``. A cell is flagged
when it contradicts theory: ``!`` when the model separates what its bound cannot at that depth (a bug in the model
or a wrong claim: an upper bound was broken), ``~`` when it fails where its bound separates (the model stays below
what theory allows at that depth: weak, not wrong, but worth a look).

The CSV and JSON are deterministic: rows sorted by cell key, floats formatted to fixed significant digits, no
timings.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Sequence
from functools import cache

import counterexamples
from counterexamples import TESTS, Pair
from dojo import gwl
from dojo import models as zoo
from dojo.formatting import csv_text, markdown
from dojo.suites import pair_of

__all__ = ["first_iteration", "orientation_order", "separates_within", "bound_at", "theory", "degenerate", "flag",
           "place", "rows", "pair_rank", "variant_rank", "FLAGS", "to_markdown", "to_latex", "to_csv", "to_json",
           "FORMATS", "LEGEND"]

#: What a cell shows for each :func:`flag` (tables and heatmaps).
FLAGS = {"exceeds": "!", "below": "~"}
LEGEND = ("Cells: separating initialisations out of all (separate) or mean ± std accuracy in % (train); deg: zero "
          "or constant embedding (says nothing). Theory rows: whether each bounding test separates at the column's "
          "depth (at one layer a model is also bounded by its layer's body order, 'L=1: igwl-k'); 'ℓ≥k': the "
          "orientation is visible to tensor order k and above. Flags: ! separates what its bound cannot "
          "(contradicts theory); ~ fails where its bound separates (below what theory allows at this depth).")


def pair_rank() -> Callable[[str], tuple]:
    """A sort key for pair names: the library's order, then other pairs (pair files) by name."""
    library = {name: i for i, name in enumerate(counterexamples.names())}
    return lambda pair: (library.get(pair, len(library)), pair)


def variant_rank() -> Callable[[dict], tuple]:
    """A sort key for records (or table rows) by model variant: the zoo's order, then other models by name, then
    the options."""
    order = {m: i for i, m in enumerate(zoo.names())}
    return lambda r: (order.get(r["model"], len(order)), r["model"], sorted(r["options"].items()))


#: Per pair (held weakly: a pair of the user's may go away), its tests' first iterations.
_FIRST: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def first_iteration(pair: Pair | str, test: str, group: str) -> int | None:
    """The first iteration at which ``test`` under ``group`` separates the pair, given as a ``Pair`` or by name
    (None: never); computed once per pair."""
    pair = pair_of(pair) if isinstance(pair, str) else pair
    known = _FIRST.setdefault(pair, {})
    if (test, group) not in known:
        known[test, group] = gwl.distinguish(pair, test=test, group=group).iteration
    return known[test, group]


@cache
def orientation_order(pair_name: str, max_ell: int) -> int | None:
    """The lowest degree <= ``max_ell`` at which the pair's orientations differ (None: none)."""
    return gwl.orientation_order(pair_of(pair_name), max_ell=max_ell)


def separates_within(pair: Pair | str, test: str, group: str, depth: int) -> bool:
    """Whether ``test`` under ``group`` separates the pair (a ``Pair`` or a name) in at most ``depth`` iterations."""
    first = first_iteration(pair, test, group)
    return first is not None and first <= depth


def bound_at(pair: Pair | str, info: dict, layers: int) -> str | None:
    """The test that bounds a model of metadata ``info`` on the pair at ``layers``: its ``bounded_by``, or at one
    layer its ``layer_bound`` when that one does not separate the pair in one iteration (None: no theory)."""
    bound, layer = info["bounded_by"], info.get("layer_bound")
    if bound is None:
        return None
    if layers == 1 and layer is not None and not separates_within(pair, layer, info["group"], 1):
        return layer
    return bound


def theory(record: dict) -> dict:
    """What theory says about a record's cell: ``{"separates", "first", "bound"}``.

    ``bound`` is the test that applied (:func:`bound_at`; None when the model declares none, and then
    ``separates`` is None too). ``first`` is that test's first separating iteration (invariant task) or the
    orientation order (equivariant task), None for never.
    """
    info, pair = record["info"], pair_of(record["pair"])
    if pair.task == "equivariant":
        first = orientation_order(record["pair"], info["tensor_order"])
        return {"separates": first is not None, "first": first, "bound": "orientation"}
    bound = bound_at(record["pair"], info, record["layers"])
    if bound is None:
        return {"separates": None, "first": None, "bound": None}
    return {"separates": separates_within(record["pair"], bound, info["group"], record["layers"]),
            "first": first_iteration(record["pair"], bound, info["group"]), "bound": bound}


def place(seen: set, separated_by: Callable[[str], set]) -> tuple[str, str | None]:
    """Where verdicts put a model in the GWL hierarchy: ``(reaches, bounded_by)``.

    ``seen`` holds the cells (any hashable) the model separates, ``separated_by(test)`` those the test separates.
    ``reaches`` is the strongest test whose every separation the model reproduces; ``bounded_by`` the weakest test
    that separates everything the model separates, reported no weaker than ``reaches`` (tests that separate the
    same cells cannot be told apart there, and stronger tests refine weaker ones), or None when no test does (the
    model separates what GWL cannot).
    """
    reach, bound = TESTS[0], None
    for test in TESTS:
        by_test = separated_by(test)
        if by_test <= seen:
            reach = test
        if bound is None and seen <= by_test:
            bound = test
    return reach, None if bound is None else TESTS[max(TESTS.index(bound), TESTS.index(reach))]


def degenerate(record: dict) -> bool:
    """Whether the cell's embeddings were zero or constant for most initialisations (it then says nothing)."""
    r = record["result"]
    return 2 * r.get("degenerate", 0) > r.get("inits", 1)


def flag(record: dict) -> str:
    """``"exceeds"`` / ``"below"`` when the measurement contradicts theory (see the module docstring), else ``""``."""
    expected = theory(record)["separates"]
    if expected is None or degenerate(record):
        return ""
    if record["separated"] and not expected:
        return "exceeds"
    if expected and not record["separated"]:
        return "below"
    return ""


def _sig(x: float, digits: int = 4) -> float:
    """``x`` rounded to ``digits`` significant digits: stable output that last-bit round-off cannot change."""
    return float(f"{x:.{digits - 1}e}")


def _measured(record: dict) -> dict:
    r = record["result"]
    if record["protocol"] == "separate":
        return {"fraction": round(r["fraction"], 4), "margin": _sig(r["margin"]), "gap": _sig(r["gap"]),
                "spread": _sig(r["spread"]), "noise": _sig(r["noise"]), "degenerate": degenerate(record)}
    return {"mean": round(r["mean"], 2), "std": round(r["std"], 2), "accuracies": [round(a, 2) for a in
                                                                                   r["accuracies"]]}


def rows(records: Sequence[dict]) -> list[dict]:
    """One flat, typed row per record, sorted by cell key: what the CSV and JSON hold."""
    out = []
    for record in sorted(records, key=lambda r: r["key"]):
        info, verdict = record["info"], theory(record)
        out.append({
            "suite": record["suite"], "pair": record["pair"], "task": pair_of(record["pair"]).task,
            "model": record["model"], "variant": record["variant"], "layers": record["layers"],
            "options": record["options"], "protocol": record["protocol"], "settings": record["settings"],
            **_measured(record), "separated": record["separated"],
            "bounded_by": info["bounded_by"], "group": info["group"], "kind": info["kind"],
            "body_order": info["body_order"], "tensor_order": info["tensor_order"],
            "theory_bound": verdict["bound"], "theory_first": verdict["first"],
            "theory_separates": verdict["separates"], "flag": flag(record),
            "model_class": record.get("model_id", {}).get("class"),
            "model_hash": record.get("model_id", {}).get("hash"),
        })
    return out


def to_json(records: Sequence[dict]) -> str:
    """The rows as a JSON list (sorted keys, two-space indent, trailing newline)."""
    return json.dumps(rows(records), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def to_csv(records: Sequence[dict]) -> str:
    """The rows as CSV; nested values (options, settings, accuracies) as compact JSON."""
    table = rows(records)
    if not table:
        return ""
    header = list(table[0])
    cell = lambda v: json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else ("" if v is None else v)  # noqa: E731
    return csv_text(header, [[cell(row[h]) for h in header] for row in table])


def _cell_text(record: dict) -> str:
    r = record["result"]
    if degenerate(record):
        return "deg"
    if record["protocol"] == "separate":
        text = f"{round(r['fraction'] * r['inits'])}/{r['inits']}"
    else:
        text = f"{r['mean']:.1f} ± {r['std']:.1f}"
    return text + FLAGS.get(flag(record), "")


def _column(record: dict, by_pair: bool, by_layers: bool) -> str:
    parts = ([record["pair"]] if by_pair else []) + ([f"L={record['layers']}"] if by_layers else [])
    return " ".join(parts) or record["pair"]


def _bound_mark(record: dict, test: str, group: str) -> str:
    """✓ / ✗: whether ``test`` separates the record's invariant-task pair within its depth ("" otherwise)."""
    if pair_of(record["pair"]).task != "invariant":
        return ""
    return "✓" if separates_within(record["pair"], test, group, record["layers"]) else "✗"


def _orientation_mark(record: dict, max_ell: int) -> str:
    """"ℓ≥k": the tensor order from which the orientation of an equivariant-task pair is visible ("" otherwise)."""
    if pair_of(record["pair"]).task != "equivariant":
        return ""
    order = orientation_order(record["pair"], max_ell)
    return "✗" if order is None else f"ℓ≥{order}"


def _grid(records: Sequence[dict]) -> tuple[list[str], list[list[str]]]:
    """The wide table: theory rows, then one row per model variant; one column per (pair, depth).

    When there are more columns than rows, the table is transposed (one row per pair, theory columns first).
    """
    by_pair = len({r["pair"] for r in records}) > 1
    by_layers = len({r["layers"] for r in records}) > 1
    pair = pair_rank()
    columns: dict[str, dict] = {}
    for r in sorted(records, key=lambda r: (*pair(r["pair"]), r["layers"])):
        columns.setdefault(_column(r, by_pair, by_layers), r)
    variants: dict[str, dict[str, dict]] = {}
    for r in sorted(records, key=variant_rank()):
        variants.setdefault(r["variant"], {})[_column(r, by_pair, by_layers)] = r
    header = ["model", "bound", *columns]
    table = []
    applied = {(theory(r)["bound"], r["info"]["group"]) for r in records if pair_of(r["pair"]).task == "invariant"}
    bounds = sorted((test, group) for test, group in applied if test is not None)
    for test, group in bounds:
        table.append([f"theory: {test} {group}", group, *(_bound_mark(r, test, group) for r in columns.values())])
    if any(pair_of(r["pair"]).task == "equivariant" for r in records):
        max_ell = max(r["info"]["tensor_order"] for r in records)
        table.append(["theory: orientation", "ℓ≥k", *(_orientation_mark(r, max_ell) for r in columns.values())])
    for variant, cells in variants.items():
        info = next(iter(cells.values()))["info"]
        bound = "no theory" if info["bounded_by"] is None else f"{info['bounded_by']} {info['group']}" + (
            f" ℓ≤{info['tensor_order']}" if info["kind"] == "equivariant" else "")
        if info["bounded_by"] is not None and info.get("layer_bound") and any(
                r["layers"] == 1 and pair_of(r["pair"]).task == "invariant" for r in cells.values()):
            bound += f"; L=1: {info['layer_bound']}"
        table.append([variant, bound, *(_cell_text(cells[c]) if c in cells else "—" for c in columns)])
    if len(columns) > len(table):  # many pairs (the `all` suite): one row per pair reads better
        header, *table = [list(row) for row in zip(header, *table)]
        header[0] = "pair"
    return header, table


def to_markdown(records: Sequence[dict]) -> str:
    """The wide table in GitHub markdown, with the legend."""
    if not records:
        return "(no cells)"
    header, table = _grid(records)
    return markdown(header, table) + "\n\n" + LEGEND


_LATEX = {"&": r"\&", "%": r"\%", "#": r"\#", "_": r"\_", "✓": r"\checkmark", "✗": r"$\times$", "±": r"$\pm$",
          "ℓ": r"$\ell$", "ν": r"$\nu$", "≥": r"$\geq$", "≤": r"$\leq$", "—": "---", "~": r"\textsuperscript{$\sim$}",
          "!": r"\textsuperscript{!}"}


def _tex(text: str) -> str:
    return "".join(_LATEX.get(ch, ch) for ch in str(text))


def to_latex(records: Sequence[dict]) -> str:
    """The wide table as a LaTeX ``tabular`` with booktabs rules (needs ``booktabs`` and ``amssymb``)."""
    if not records:
        return ""
    header, table = _grid(records)
    theory_rows = sum(1 for row in table if row[0].startswith("theory"))
    lines = [r"\begin{tabular}{ll" + "c" * (len(header) - 2) + "}", r"\toprule",
             " & ".join(_tex(h) for h in header) + r" \\", r"\midrule"]
    for i, row in enumerate(table):
        if i == theory_rows and theory_rows or i == 1 and header[0] == "pair":
            lines.append(r"\midrule")
        lines.append(" & ".join(_tex(c) for c in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


#: Output formats by file extension.
FORMATS: dict[str, Callable[[Sequence[dict]], str]] = {
    "md": lambda records: to_markdown(records) + "\n", "tex": to_latex, "csv": to_csv, "json": to_json,
}
