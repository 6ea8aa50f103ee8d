"""Pair files: a counterexample pair as JSON, so that a pair of your own needs no Python code in the dojo.

``pair.save("mine.json")`` writes one, ``counterexamples.load_file("mine.json")`` reads it (and so does
``counterexamples.load``, ``dojo gwl mine.json``, ``dojo table all --pairs mine.json`` and the pytest plugin's
``@pytest.mark.dojo(pair="mine.json")``). The format, version 1::

    {
      "format": "geometric-gnn-dojo-pair",    required, this string
      "version": 1,                           required
      "name": "arms",                         required: how tables and messages name the pair
      "description": "mirror-image arms",     optional (default "")
      "reference": "doi:... or a URL",        optional: citation or source (default "")
      "task": "invariant",                    optional: "invariant" (default) or "equivariant"
      "family": "mine", "params": {},         optional: where the pair comes from (default "file", {})
      "graphs": [                             required: graph a, then graph b
        {"types": [0, 0, 0],                  node types, integers from 0
         "edges": [[0, 1], [0, 2]],           undirected edges, node indices from 0
         "coords": [["0", "0", "0"], ["1", "0", "0"], ["0", "sqrt(3)/2", "1/2"]]},
        {...}
      ],
      "claims": {"O(3)": {"wl": null, "igwl-2": null, ..., "gwl": 3}, "SO(3)": {...}},   optional
      "congruent_under": ["O(3)"],            optional: groups under which a and b are congruent
      "orientation_order": 2                  optional: equivariant-task pairs only
    }

Coordinates are strings in the exact grammar of :mod:`counterexamples.expr` (integers, decimals read as exact
rationals, fractions, ``sqrt``, rational powers, ``pi``, ``cos``/``sin`` of rational multiples of pi); JSON
integers are accepted, JSON floats are not (a float is not the number its author wrote). Claims give, per group
and test, the first separating iteration (``null`` = never); an ``SO(3)`` table may list only the tests that differ
from ``O(3)``.

Reading never runs code: JSON is parsed by :mod:`json`, coordinates by a grammar that only knows numbers. Every
pair read is checked, not trusted: its claims are computed with the exact GWL tests (:mod:`dojo.gwl`), and the
file's claims, if any, must agree; its congruence under each group is decided exactly (missing
``congruent_under`` is computed), and :func:`counterexamples.certify.certify` must accept the result. A malformed,
hostile or wrong file raises ``ValueError`` naming the file and the field, e.g.
``mine.json: graphs[0].coords[3][1]: unknown name 'eval' at position 0: ...``.

Examples
--------
>>> import tempfile, pathlib, counterexamples
>>> pair = counterexamples.load("kchains-4")
>>> path = pair.save(pathlib.Path(tempfile.mkdtemp()) / "kchains-4.json")
>>> again = counterexamples.load_file(path)
>>> again.claim("gwl"), again.exact_b.coords == pair.exact_b.coords
(3, True)
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import sympy

from counterexamples.expr import format_exact, parse_exact
from counterexamples.pair import GROUPS, TESTS, ExactGraph, Pair, claims as claims_table, describe_claim

__all__ = ["FORMAT", "VERSION", "MAX_FILE_BYTES", "MAX_NODES", "MAX_WORK", "save", "load_file", "to_dict", "from_dict",
           "pair_from_graphs"]

#: The value of a pair file's ``format`` field.
FORMAT = "geometric-gnn-dojo-pair"
#: The version of the format this module writes and reads.
VERSION = 1
#: Largest pair file read, in bytes.
MAX_FILE_BYTES = 16 * 2 ** 20
#: Largest graph of a pair file or builder (:mod:`counterexamples.formats`, :mod:`dojo.search`), in nodes, and
#: largest work of its exact tests: the claims are computed or checked exactly, and IGWL_(5) looks at every 4-tuple
#: of each node's neighbours (the sum of degree^4 over nodes; a 20-node complete graph is 2.6e6). A stranger's
#: pair must not run for hours: raise these (``counterexamples.files.MAX_NODES = ...``) for a pair you trust.
MAX_NODES = 64
MAX_WORK = 4_000_000

_REQUIRED = ("format", "version", "name", "graphs")
_OPTIONAL = ("description", "reference", "task", "family", "params", "claims", "congruent_under", "orientation_order")
_GRAPH_FIELDS = ("types", "edges", "coords")


def save(pair: Pair, path: str | os.PathLike) -> Path:
    """Write ``pair`` to the JSON pair file ``path`` (claims included) and return the path.

    Raises
    ------
    ValueError
        When a coordinate uses something the exact grammar cannot write (see :func:`counterexamples.expr.format_exact`).
    """
    path = Path(path)
    path.write_text(_dumps(to_dict(pair)) + "\n", encoding="utf-8")
    return path


def to_dict(pair: Pair) -> dict[str, Any]:
    """The pair as the JSON object of a pair file (coordinates as exact strings)."""
    graphs = []
    for label, graph in (("a", pair.exact_a), ("b", pair.exact_b)):
        try:
            coords = [[format_exact(c) for c in graph.coords.row(i)] for i in range(graph.num_nodes)]
        except ValueError as err:
            raise ValueError(f"Pair {pair.name}: graph {label}: {err}") from None
        graphs.append({"types": list(graph.types), "edges": [list(e) for e in graph.edges], "coords": coords})
    return {
        "format": FORMAT, "version": VERSION, "name": pair.name, "description": pair.description,
        "reference": pair.reference, "task": pair.task, "family": pair.family, "params": _plain(pair.params),
        "graphs": graphs,
        "claims": {g: {t: pair.claims[t, g] for t in TESTS} for g in GROUPS},
        "congruent_under": [g for g in GROUPS if g in pair.congruent_under],
        "orientation_order": pair.orientation_order,
    }


def load_file(path: str | os.PathLike) -> Pair:
    """Read, check and certify the pair in the JSON pair file ``path``.

    Raises
    ------
    ValueError
        Naming the file and the field: for a missing, oversized or malformed file, a coordinate outside the exact
        grammar, fields of the wrong type or length, edges outside the graph, and claims, congruences or an
        orientation order that the exact computation contradicts.
    """
    source = str(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise ValueError(f"{source}: cannot read the pair file ({err.strerror}). Fix: check the path.") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ValueError(f"{source}: more than the limit of {MAX_FILE_BYTES} bytes. Fix: a pair file holds two small "
                         "graphs; shrink it.")
    return _parsed(raw, source)


@lru_cache(maxsize=64)
def _parsed(raw: bytes, source: str) -> Pair:
    """The pair of a file's bytes, checked and certified once per process (certification takes seconds, and the
    protocols, tables, figures and the pytest plugin all load pairs by name); edited bytes are parsed afresh."""
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except RecursionError:
        raise ValueError(f"{source}: JSON nested too deeply. Fix: a pair file nests lists three levels deep.") \
            from None
    except ValueError as err:  # UnicodeDecodeError and json.JSONDecodeError included
        raise ValueError(f"{source}: not a JSON pair file: {err}. Fix: write it with Pair.save or follow the "
                         "format in counterexamples.files.") from None
    return from_dict(data, source)


def from_dict(data: object, source: str = "pair") -> Pair:
    """The pair in ``data``, a pair file's JSON object, checked and certified; errors are prefixed by ``source``."""
    if not isinstance(data, dict):
        raise ValueError(f"{source}: expected a JSON object at the top level, got {_kind(data)}. Fix: see the "
                         "format in counterexamples.files.")
    unknown = sorted(set(data) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise ValueError(f"{source}: unknown fields {unknown}. Fix: use only {[*_REQUIRED, *_OPTIONAL]}.")
    missing = [f for f in _REQUIRED if f not in data]
    if missing:
        raise ValueError(f"{source}: missing fields {missing}. Fix: a pair file needs {list(_REQUIRED)}.")
    if data["format"] != FORMAT:
        raise ValueError(f"{source}: format: expected {FORMAT!r}, got {data['format']!r:.60}.")
    if data["version"] != VERSION or isinstance(data["version"], bool):
        raise ValueError(f"{source}: version: this dojo reads version {VERSION}, got {data['version']!r:.20}. "
                         "Fix: upgrade the dojo, or write the file with this one.")
    text = {f: _string(data, f, source) for f in ("name", "description", "reference", "family")}
    task = data.get("task", "invariant")
    if task not in ("invariant", "equivariant"):
        raise ValueError(f"{source}: task: expected 'invariant' or 'equivariant', got {task!r:.40}.")
    params = data.get("params", {})
    if not isinstance(params, dict):
        raise ValueError(f"{source}: params: expected a JSON object, got {_kind(params)}.")
    graphs = data["graphs"]
    if not isinstance(graphs, list) or len(graphs) != 2:
        raise ValueError(f"{source}: graphs: expected a list of two graphs (a and b), got "
                         f"{_kind(graphs) if not isinstance(graphs, list) else f'{len(graphs)} entries'}.")
    exact_a, exact_b = (_graph(g, f"{source}: graphs[{k}]") for k, g in enumerate(graphs))
    return pair_from_graphs(
        exact_a, exact_b, name=text["name"], task=task, description=text["description"] or "",
        reference=text["reference"] or "", family=text["family"] or "file", params=params,
        claims=_claims(data["claims"], source) if data.get("claims") is not None else None,
        congruent_under=_groups(data["congruent_under"], source) if data.get("congruent_under") is not None else None,
        orientation_order=_order(data.get("orientation_order"), source), source=source)


def pair_from_graphs(exact_a: ExactGraph, exact_b: ExactGraph, *, name: str, task: str = "invariant",
                     description: str = "", reference: str = "", family: str = "file",
                     params: Mapping[str, object] | None = None,
                     claims: Mapping[tuple[str, str], int | None] | None = None,
                     congruent_under: Sequence[str] | None = None, orientation_order: int | None = None,
                     source: str | None = None) -> Pair:
    """A certified pair from two exact graphs, with whatever is not given computed exactly.

    Claims come from the exact GWL tests (:func:`dojo.gwl.distinguish` with ``exact=True``); given claims must
    agree with them. ``congruent_under`` comes from :func:`counterexamples.certify.congruence`; an
    equivariant-task pair's ``orientation_order`` from the exact moments at its centre
    (:func:`counterexamples.certify.orientation_order`, where the certificate checks it). Finally
    :func:`counterexamples.certify.certify` must accept the pair.

    Raises
    ------
    ValueError
        Prefixed by ``source`` (or the pair's name): for claims the computation contradicts, and for a pair that
        fails certification (each failing check is listed).
    """
    from counterexamples.certify import certify, congruence, orientation_order as exact_order
    from counterexamples.certify.moments import centre
    from dojo.gwl import distinguish

    where = source or f"Pair {name}"
    for k, graph in enumerate((exact_a, exact_b)):
        _check_size(graph.num_nodes, graph.edges, f"{where}: graphs[{k}]")
    if task == "invariant" and orientation_order is not None:
        raise ValueError(f"{where}: orientation_order is given for an invariant-task pair. Fix: leave it out, or "
                         "set task to 'equivariant' (one graph in two orientations).")
    try:
        blank = Pair(name=name, family=family, params=dict(params or {}), description=description,
                     reference=reference, task=task, exact_a=exact_a, exact_b=exact_b,
                     claims={(t, g): None for t in TESTS for g in GROUPS})
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    congruent = [g for g in GROUPS if congruence(exact_a, exact_b, g) is not None]
    # Under a group that maps a onto b no test separates them: the exact GWL runs are needed for the others only.
    computed = {(t, g): None if g in congruent else distinguish(blank, test=t, group=g, exact=True).iteration
                for t in TESTS for g in GROUPS}
    wrong = [f"claims.{g}.{t}: claimed {describe_claim(claims[t, g])}, but the exact {t} test "
             f"{describe_claim(computed[t, g])}"
             for g in GROUPS for t in TESTS if claims is not None and claims[t, g] != computed[t, g]]
    if wrong:
        raise ValueError(f"{where}: " + "; ".join(wrong) + ". Fix: correct the claims, or leave them out to have "
                         "them computed.")
    try:
        pair = replace(blank, claims=computed,
                       congruent_under=frozenset(congruent if congruent_under is None else congruent_under))
        if task == "equivariant" and orientation_order is None:
            orientation_order = exact_order(exact_a, exact_b, node=centre(exact_a))
        pair = replace(pair, orientation_order=orientation_order)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    certificate = certify(pair)
    if failures := certificate.failures():
        raise ValueError(f"{where}: certification failed: " + "; ".join(f"{c.claim} ({c.evidence})" for c in failures)
                         + ". Fix: correct congruent_under or orientation_order, or leave them out to have them "
                           "computed.")
    if unverified := certificate.unverified():
        raise ValueError(f"{where}: claims that certification could not decide within its budget: "
                         + "; ".join(f"{c.claim} ({c.evidence})" for c in unverified) + ". Fix: a smaller pair "
                         "(fewer nodes or neighbours), or certify(pair, budget=...) by hand before trusting it.")
    return pair


# -- reading fields -------------------------------------------------------------------------------------------------

def _graph(data: object, where: str) -> ExactGraph:
    """One graph of a pair file: types, edges and exact coordinates, each checked."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a JSON object with {list(_GRAPH_FIELDS)}, got {_kind(data)}.")
    unknown = sorted(set(data) - set(_GRAPH_FIELDS))
    missing = [f for f in _GRAPH_FIELDS if f not in data]
    if unknown or missing:
        raise ValueError(f"{where}: {f'unknown fields {unknown}' if unknown else f'missing fields {missing}'}. "
                         f"Fix: a graph has exactly {list(_GRAPH_FIELDS)}.")
    types, edges, coords = data["types"], data["edges"], data["coords"]
    for field, value in (("types", types), ("edges", edges), ("coords", coords)):
        if not isinstance(value, list):
            raise ValueError(f"{where}.{field}: expected a list, got {_kind(value)}.")
    if not types:
        raise ValueError(f"{where}.types: no nodes. Fix: give one type per node.")
    for i, t in enumerate(types):
        if not _is_int(t) or t < 0:
            raise ValueError(f"{where}.types[{i}]: expected an integer >= 0, got {t!r:.40}.")
    if len(coords) != len(types):
        raise ValueError(f"{where}.coords: {len(coords)} rows for {len(types)} nodes. Fix: one row of three "
                         "coordinates per node, in the order of types.")
    for k, edge in enumerate(edges):
        if not isinstance(edge, list) or len(edge) != 2 or not all(_is_int(i) for i in edge):
            raise ValueError(f"{where}.edges[{k}]: expected a pair of node indices [i, j], got {edge!r:.40}.")
        if not all(0 <= i < len(types) for i in edge) or edge[0] == edge[1]:
            raise ValueError(f"{where}.edges[{k}]: {edge} is a self-loop or names a node outside 0..{len(types) - 1}.")
    _check_size(len(types), [tuple(e) for e in edges], where)  # before the coordinates are parsed
    rows = []
    for i, row in enumerate(coords):
        if not isinstance(row, list) or len(row) != 3:
            raise ValueError(f"{where}.coords[{i}]: expected three coordinates [x, y, z], got {row!r:.60}.")
        rows.append([_coordinate(c, f"{where}.coords[{i}][{k}]") for k, c in enumerate(row)])
    return ExactGraph(sympy.Matrix(rows), [tuple(e) for e in edges], types)


def _check_size(num_nodes: int, edges: Sequence[tuple[int, int]], where: str) -> None:
    """Refuse a graph whose exact tests would run for hours: more than :data:`MAX_NODES` nodes, or more than
    :data:`MAX_WORK` neighbour tuples for IGWL_(5) (the sum of degree^4 over nodes)."""
    if num_nodes > MAX_NODES:
        raise ValueError(f"{where}.types: {num_nodes} nodes, more than the {MAX_NODES} a pair may hold (its claims "
                         "are computed exactly). Fix: a smaller pair, or raise counterexamples.files.MAX_NODES for "
                         "a pair you trust.")
    degree = [0] * num_nodes
    for i, j in {(min(e), max(e)) for e in edges}:
        degree[i] += 1
        degree[j] += 1
    work = sum(d ** 4 for d in degree)
    if work > MAX_WORK:
        raise ValueError(f"{where}.edges: the exact IGWL_(5) test would enumerate {work:.1e} neighbour tuples (the "
                         f"sum of degree^4), more than the {MAX_WORK:.0e} a pair may ask for. Fix: a sparser graph "
                         "(a radius cutoff) or fewer nodes, or raise counterexamples.files.MAX_WORK for a pair you "
                         "trust.")


def _coordinate(value: object, where: str) -> sympy.Expr:
    if _is_int(value):
        return sympy.Integer(value)
    if isinstance(value, float):
        raise ValueError(f"{where}: the JSON number {value!r} is a binary float. Fix: write it as a string, "
                         f"\"{value!r}\", which is read exactly as the decimal it writes.")
    try:
        return parse_exact(value)
    except ValueError as err:
        raise ValueError(f"{where}: {err}. Fix: write an exact number such as \"1/2\", \"0.25\" or \"sqrt(3)/2\" "
                         "(numbers, + - * / ^, parentheses, sqrt, pi, cos and sin of rational multiples of pi).") \
            from None


def _claims(data: object, source: str) -> dict[tuple[str, str], int | None]:
    if not isinstance(data, dict) or "O(3)" not in data or not set(data) <= set(GROUPS):
        raise ValueError(f"{source}: claims: expected an object with an 'O(3)' table and optionally an 'SO(3)' "
                         f"table, got {_kind(data) if not isinstance(data, dict) else sorted(data)}.")
    tables = {}
    for g in GROUPS:
        table = data.get(g, {})
        if not isinstance(table, dict) or not set(table) <= set(TESTS):
            raise ValueError(f"{source}: claims.{g}: expected an object whose keys are tests in {TESTS}, got "
                             f"{_kind(table) if not isinstance(table, dict) else sorted(set(table) - set(TESTS))}.")
        for t, v in table.items():
            if v is not None and (not _is_int(v) or v < 0):
                raise ValueError(f"{source}: claims.{g}.{t}: expected an iteration >= 0 or null (never), got "
                                 f"{v!r:.40}.")
        tables[g] = table
    missing = [t for t in TESTS if t not in tables["O(3)"]]
    if missing:
        raise ValueError(f"{source}: claims.O(3): no claim for {missing}. Fix: give every test in {TESTS}, or leave "
                         "the claims out to have them computed.")
    return claims_table(tables["O(3)"], tables["SO(3)"])


def _groups(data: object, source: str) -> list[str]:
    if not isinstance(data, list) or not all(isinstance(g, str) and g in GROUPS for g in data):
        raise ValueError(f"{source}: congruent_under: expected a list of groups from {GROUPS}, got {data!r:.60}.")
    return data


def _order(data: object, source: str) -> int | None:
    if data is not None and (not _is_int(data) or data < 1):
        raise ValueError(f"{source}: orientation_order: expected an integer >= 1 or null, got {data!r:.40}.")
    return data


def _string(data: dict, field: str, source: str) -> str | None:
    value = data.get(field)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{source}: {field}: expected a string, got {_kind(value)}.")
    if field == "name" and not value:
        raise ValueError(f"{source}: name: empty. Fix: name the pair, e.g. \"arms\".")
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number a pair file may hold")


# -- writing --------------------------------------------------------------------------------------------------------

def _plain(value: object) -> object:
    """``value`` as JSON: containers kept, numbers and strings as they are, anything else (sympy) as its text."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _dumps(value: object, indent: str = "") -> str:
    """JSON a person can read: objects, lists of graphs and coordinate lists spread one entry (node) a line; edge
    lists and node rows inline."""
    inner = indent + "  "
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(k)}: {_dumps(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    spread = lambda v: isinstance(v, dict) or (isinstance(v, list) and any(isinstance(x, str) for x in v))  # noqa: E731
    if isinstance(value, list) and any(spread(v) for v in value):
        return "[\n" + ",\n".join(inner + _dumps(v, inner) for v in value) + f"\n{indent}]"
    return json.dumps(value, ensure_ascii=False)
