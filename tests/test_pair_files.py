"""Pairs of your own without Python code: pair files (counterexamples.files), the exact grammar of their
coordinates (counterexamples.expr), builders from arrays, XYZ and ASE (counterexamples.formats), and pair files in
the CLI, the suites and the pytest plugin."""

from __future__ import annotations

import json
import re
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
import sympy

import counterexamples
import dojo.protocols.common
import dojo.testing
from counterexamples import files
from counterexamples.expr import format_exact, parse_exact
from dojo import cli, suites

#: Imported before pytester snapshots sys.modules, so the plugin test's run keeps them (see test_pytest_plugin).
PRELOADED = (dojo.protocols.common, dojo.testing)


def arms() -> dict:
    """A small pair file's JSON: right-angled arms and their mirror image, without claims."""
    graph = {"types": [0, 0, 0, 0], "edges": [[0, 1], [0, 2], [0, 3]],
             "coords": [["0", "0", "0"], ["1", "0", "0"], ["0", "2", "0"], ["0", "0", "3"]]}
    mirror = json.loads(json.dumps(graph))
    mirror["coords"][3][2] = "-3"
    return {"format": files.FORMAT, "version": 1, "name": "arms", "description": "mirror-image arms",
            "graphs": [graph, mirror]}


def write(path: Path, data: object) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


# -- round trip -------------------------------------------------------------------------------------------------

def test_every_library_pair_round_trips_exactly(tmp_path):
    for pair in counterexamples.pairs():
        again = counterexamples.load_file(pair.save(tmp_path / f"{pair.name}.json"))
        assert again.exact_a.coords == pair.exact_a.coords and again.exact_b.coords == pair.exact_b.coords
        assert (again.exact_a.types, again.exact_a.edges) == (pair.exact_a.types, pair.exact_a.edges)
        assert (again.exact_b.types, again.exact_b.edges) == (pair.exact_b.types, pair.exact_b.edges)
        assert (again.name, again.task, again.claims, again.congruent_under, again.orientation_order) == \
            (pair.name, pair.task, pair.claims, pair.congruent_under, pair.orientation_order)
        assert files.to_dict(again) == files.to_dict(pair)


def test_load_accepts_pair_files_beside_names(tmp_path):
    path = counterexamples.load("kchains-4").save(tmp_path / "k4.json")
    assert counterexamples.load(str(path)).claim("gwl") == counterexamples.load(path).claim("gwl") == 3
    assert counterexamples.is_pair_file("mine.json") and not counterexamples.is_pair_file("kchains-4")
    with pytest.raises(ValueError, match="takes no parameters"):
        counterexamples.load(str(path), k=4)


@pytest.mark.parametrize("name", ["chiral-tetrahedral", "rotsym-3", "controls-kchains-4"])
def test_claims_congruence_and_orientation_are_computed_when_absent(tmp_path, name):
    pair = counterexamples.load(name)
    data = files.to_dict(pair)
    for field in ("claims", "congruent_under", "orientation_order"):
        del data[field]
    again = counterexamples.load_file(write(tmp_path / "p.json", data))
    assert (again.claims, again.congruent_under, again.orientation_order) == \
        (pair.claims, pair.congruent_under, pair.orientation_order)


def test_own_pair_from_a_file_is_certified(tmp_path):
    pair = counterexamples.load_file(write(tmp_path / "arms.json", arms()))
    assert pair.congruent_under == {"O(3)"} and pair.claim("igwl-4", "SO(3)") == 1 and pair.claim("gwl") is None
    assert (pair.family, pair.reference, pair.task) == ("file", "", "invariant")


def test_an_so3_table_may_list_only_what_differs(tmp_path):
    data = arms()
    data["claims"] = {"O(3)": {t: None for t in counterexamples.TESTS},
                      "SO(3)": {"igwl-4": 1, "igwl-5": 1, "igwl": 1, "gwl": 1}}
    assert counterexamples.load_file(write(tmp_path / "arms.json", data)).claim("igwl", "SO(3)") == 1


@pytest.mark.parametrize("field, value, match", [
    ("claims", {"O(3)": {t: 1 for t in counterexamples.TESTS}},
     r"claims\.O\(3\)\.wl: claimed first separates at iteration 1, but the exact wl test never separates"),
    ("claims", {"O(3)": {t: None for t in counterexamples.TESTS}},
     r"claims\.SO\(3\)\.igwl-4: claimed never separates, but the exact igwl-4 test first separates at iteration 1"),
    ("congruent_under", ["O(3)", "SO(3)"], r"congruent under SO\(3\) yet claimed separated"),
    ("congruent_under", [], r"certification failed: not congruent under O\(3\)"),
    ("orientation_order", 2, "orientation_order is given for an invariant-task pair"),
])
def test_wrong_claims_are_refused_naming_the_file_and_the_claim(tmp_path, field, value, match):
    data = arms()
    data[field] = value
    path = write(tmp_path / "arms.json", data)
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))}: .*{match}"):
        counterexamples.load_file(path)


def test_a_pair_file_is_readable_json(tmp_path):
    text = counterexamples.load("chiral-tetrahedral").save(tmp_path / "c.json").read_text()
    assert '["1", "-1", "-1"]' in text and '"edges": [[0, 1], [0, 2], [0, 3], [0, 4]]' in text
    assert json.loads(text)["claims"]["SO(3)"]["igwl-4"] == 1


def test_saving_refuses_what_the_grammar_cannot_write(tmp_path):
    pair = counterexamples.load("kchains-2")
    bent = counterexamples.ExactGraph(sympy.Matrix([[0, 0, 0], [1, 0, 0], [sympy.acos(sympy.Rational(1, 3)), 1, 0]]),
                                      [(0, 1), (1, 2)], [0, 0, 0])
    odd = replace(pair, exact_a=bent, name="odd")
    with pytest.raises(ValueError, match=r"Pair odd: graph a: cannot write 'acos\(1/3\)' exactly"):
        odd.save(tmp_path / "odd.json")


# -- the exact grammar ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("-sqrt(3)/2 + 1", 1 - sympy.sqrt(3) / 2), ("0.1", sympy.Rational(1, 10)), ("1.5e-3", sympy.Rational(3, 2000)),
    ("2^3^2", sympy.Integer(512)), ("-2**2", sympy.Integer(-4)), ("2^-1", sympy.Rational(1, 2)),
    ("cos(2*pi/5)", sympy.cos(2 * sympy.pi / 5)), ("sin(pi/7)", sympy.sin(sympy.pi / 7)),
    ("3^(1/3)", sympy.cbrt(3)), ("(1 + sqrt(2))^2", (1 + sympy.sqrt(2)) ** 2), (" 7 ", sympy.Integer(7)),
])
def test_exact_grammar(text, value):
    assert parse_exact(text) == value
    assert parse_exact(format_exact(value)) == value


PWNED = "pwned-marker"


def hostile(folder: Path) -> list[tuple[str, str]]:
    """Coordinate strings that try to run code or exhaust the reader, with what the error must say."""
    marker = folder / PWNED
    return [
        (f"__import__('os').system('touch {marker}')", "unexpected character '_'"),
        (f"eval(\"__import__('os').system('touch {marker}')\")", "unexpected character '\"' at position 5"),
        (f"exec('open(\"{marker}\", \"w\")')", "unexpected character \"'\" at position 5"),
        ("eval(1)", "unknown name 'eval'"),
        ("getattr(pi, 1)", "unexpected character ','"),
        ("lambda: 1", "unexpected character ':'"),
        ("(1).__class__", "unexpected character '.'"),
        ("pi.evalf", "unexpected character '.'"),
        ("Symbol(1)", "unknown name 'Symbol'"),
        ("1" * 5000, "more than the limit of 2000"),
        ("(" * 200 + "1" + ")" * 200, "nested more than 40 levels deep"),
        ("-" * 200 + "1", "nested more than 40 levels deep"),
        ("10**10**10", "exponent 10000000000 at position 2 is too large"),
        ("9" * 300 + "^99", "would be too large"),
        ("sqrt(2^99 * 3^99 * 5^99 * 7^99)", "more than 512 bits"),
        ("1e999999999", "exponent too large"),
        ("sqrt(-1)", "root of a negative or non-real number"),
        ("(-8)^(1/3)", "root of a negative or non-real number"),
        ("1/0", "division by zero"),
        ("1/(sqrt(2)*sqrt(3) - sqrt(6))", "division by zero"),
        ("nan", "unknown name 'nan'"),
        ("inf", "unknown name 'inf'"),
        ("oo", "unknown name 'oo'"),
        ("I", "unknown name 'I'"),
        ("cos(1)", "takes a rational multiple of pi"),
        ("2^pi", "must be a rational number"),
        ("", "empty"),
        ("1 2", "unexpected '2' at position 2"),
        ("(1", "unexpected end"),
    ]


def test_hostile_coordinates_are_refused_and_never_run(tmp_path):
    for text, match in hostile(tmp_path):
        data = arms()
        data["graphs"][0]["coords"][3][1] = text
        path = write(tmp_path / "pair.json", data)
        with pytest.raises(ValueError) as err:
            counterexamples.load_file(path)
        assert str(err.value).startswith(f"{path}: graphs[0].coords[3][1]: ") and match in str(err.value), text
    assert not (tmp_path / PWNED).exists()


@pytest.mark.parametrize("change, field, match", [
    (lambda d: d["graphs"][1]["coords"][0].__setitem__(0, 0.5), "graphs[1].coords[0][0]", "is a binary float"),
    (lambda d: d["graphs"][1]["coords"][0].__setitem__(0, True), "graphs[1].coords[0][0]", "expected a string"),
    (lambda d: d["graphs"][1]["coords"][0].__setitem__(0, None), "graphs[1].coords[0][0]", "expected a string"),
    (lambda d: d["graphs"][0]["coords"].__setitem__(1, ["1", "0"]), "graphs[0].coords[1]", "three coordinates"),
    (lambda d: d["graphs"][0]["coords"].pop(), "graphs[0].coords", "3 rows for 4 nodes"),
    (lambda d: d["graphs"][0]["types"].__setitem__(0, "C"), "graphs[0].types[0]", "integer >= 0"),
    (lambda d: d["graphs"][0]["types"].__setitem__(0, -1), "graphs[0].types[0]", "integer >= 0"),
    (lambda d: d["graphs"][0]["types"].__setitem__(0, True), "graphs[0].types[0]", "integer >= 0"),
    (lambda d: d["graphs"][0].__setitem__("types", {}), "graphs[0].types", "expected a list, got an object"),
    (lambda d: d["graphs"][0]["edges"].append([0, 9]), "graphs[0].edges[3]", "outside 0..3"),
    (lambda d: d["graphs"][0]["edges"].append([2, 2]), "graphs[0].edges[3]", "self-loop"),
    (lambda d: d["graphs"][0]["edges"].append([0, 1.0]), "graphs[0].edges[3]", "pair of node indices"),
    (lambda d: d["graphs"][0]["edges"].append("0-1"), "graphs[0].edges[3]", "pair of node indices"),
    (lambda d: d["graphs"][0].pop("edges"), "graphs[0]", "missing fields ['edges']"),
    (lambda d: d["graphs"][0].__setitem__("code", "print(1)"), "graphs[0]", "unknown fields ['code']"),
    (lambda d: d["graphs"].pop(), "graphs", "a list of two graphs"),
    (lambda d: d.__setitem__("graphs", "ab"), "graphs", "a list of two graphs"),
    (lambda d: d["graphs"].__setitem__(0, [1, 2]), "graphs[0]", "expected a JSON object"),
    (lambda d: d.pop("name"), "", "missing fields ['name']"),
    (lambda d: d.__setitem__("name", ""), "name", "empty"),
    (lambda d: d.__setitem__("name", ["x"]), "name", "expected a string, got a list"),
    (lambda d: d.__setitem__("__class__", "x"), "", "unknown fields ['__class__']"),
    (lambda d: d.__setitem__("format", "pickle"), "format", "expected 'geometric-gnn-dojo-pair'"),
    (lambda d: d.__setitem__("version", 2), "version", "reads version 1"),
    (lambda d: d.__setitem__("task", "exec"), "task", "'invariant' or 'equivariant'"),
    (lambda d: d.__setitem__("params", []), "params", "expected a JSON object"),
    (lambda d: d.__setitem__("claims", {"O(3)": {"wl": None}}), "claims.O(3)", "no claim for"),
    (lambda d: d.__setitem__("claims", {"O(3)": {"wl": "never"}}), "claims.O(3).wl", "iteration >= 0 or null"),
    (lambda d: d.__setitem__("claims", {"E(3)": {}}), "claims", "an 'O(3)' table"),
    (lambda d: d.__setitem__("congruent_under", "O(3)"), "congruent_under", "a list of groups"),
    (lambda d: d.__setitem__("orientation_order", 0), "orientation_order", "integer >= 1"),
])
def test_malformed_fields_are_named(tmp_path, change, field, match):
    data = arms()
    change(data)
    path = write(tmp_path / "pair.json", data)
    with pytest.raises(ValueError) as err:
        counterexamples.load_file(path)
    assert str(err.value).startswith(f"{path}: {field}{': ' if field else ''}"), str(err.value)
    assert match in str(err.value)


@pytest.mark.parametrize("text, match", [
    ("{", "not a JSON pair file"),
    ('{"x": NaN}', "NaN is not a number a pair file may hold"),
    ('{"x": Infinity}', "Infinity is not a number a pair file may hold"),
    ("[" * 100000 + "]" * 100000, "nested too deeply"),
    ('{"version": ' + "9" * 5000 + "}", "not a JSON pair file"),
    ("[1, 2]", "expected a JSON object at the top level, got a list"),
    ("\xff\xfe", "not a JSON pair file"),
])
def test_malformed_json_is_refused(tmp_path, text, match):
    path = tmp_path / "pair.json"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))}: .*{re.escape(match)}"):
        counterexamples.load_file(path)


def test_missing_and_oversized_files_are_refused(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"nope.json: cannot read the pair file \(No such file or directory\)"):
        counterexamples.load_file(tmp_path / "nope.json")
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 100)
    with pytest.raises(ValueError, match="more than the limit of 100"):
        counterexamples.load_file(write(tmp_path / "arms.json", arms()))


def test_files_whose_exact_tests_would_run_for_hours_are_refused_before_any_work(tmp_path):
    n = files.MAX_NODES + 1
    big = {"types": [0] * n, "edges": [], "coords": [[str(i), "0", "0"] for i in range(n)]}
    data = {**arms(), "graphs": [big, big]}
    with pytest.raises(ValueError, match=rf"graphs\[0\].types: {n} nodes, more than the {files.MAX_NODES}.*Fix"):
        counterexamples.load_file(write(tmp_path / "big.json", data))
    n = 30  # a complete graph of 30 nodes: 30 * 29^4 = 2.1e7 tuples for IGWL_(5)
    dense = {"types": [0] * n, "edges": [[i, j] for i in range(n) for j in range(i + 1, n)],
             "coords": [[str(i), str(i * i), "0"] for i in range(n)]}
    with pytest.raises(ValueError, match=r"graphs\[0\].edges: the exact IGWL_\(5\) test would enumerate 2.1e\+07"):
        counterexamples.load_file(write(tmp_path / "dense.json", {**arms(), "graphs": [dense, dense]}))


# -- builders ---------------------------------------------------------------------------------------------------

def test_from_arrays_with_a_cutoff_or_edges():
    square = [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]]
    pair = counterexamples.from_arrays(square, [[0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 0, 0]], cutoff=1.0,
                                       name="square-vs-line")
    assert pair.exact_a.edges == ((0, 1), (0, 3), (1, 2), (2, 3)) and pair.exact_b.edges == ((0, 1), (1, 2), (2, 3))
    assert pair.claim("wl") == 1 and pair.congruent_under == frozenset()
    same = counterexamples.from_arrays(square, square, types=[0, 1, 0, 1], edges=[(0, 1), (1, 2), (2, 3)])
    assert same.is_control and same.exact_b.types == (0, 1, 0, 1)
    floats = counterexamples.from_arrays([[0.1, 0, 0], [0, 0, 0]], [["1/10", 0, 0], [0, 0, 0]], edges=[(0, 1)])
    assert floats.exact_a.coords[0, 0] == sympy.Rational(0.1) != floats.exact_b.coords[0, 0] == sympy.Rational(1, 10)


def test_a_cutoff_tie_is_decided_exactly_however_the_distance_is_written():
    # sqrt(2 + sqrt 3) = (sqrt 6 + sqrt 2) / 2, two writings of one number: the points below are exactly the cutoff
    # apart (an edge) in a, and 1e-30 further in b (none). Floats cannot tell these apart.
    tie = [["sqrt(2 + sqrt(3))", 0, 0], ["(sqrt(6) + sqrt(2))/2 + 1", 0, 0]]
    beyond = [["sqrt(2 + sqrt(3))", 0, 0], ["(sqrt(6) + sqrt(2))/2 + 1 + 1/10^30", 0, 0]]
    pair = counterexamples.from_arrays(tie, beyond, cutoff=1)
    assert pair.exact_a.edges == ((0, 1),) and pair.exact_b.edges == ()


def test_builders_refuse_pairs_too_large_to_certify(monkeypatch):
    monkeypatch.setattr(files, "MAX_NODES", 3)
    line = [[i, 0, 0] for i in range(4)]
    with pytest.raises(ValueError, match=r"from_arrays: graphs\[0\].types: 4 nodes, more than the 3.*Fix"):
        counterexamples.from_arrays(line, line, cutoff=1)


@pytest.mark.parametrize("kwargs, match", [
    ({}, "give either cutoff"),
    ({"cutoff": 1, "edges": [(0, 1)]}, "not both"),
    ({"cutoff": -1}, "cutoff must be positive"),
    ({"cutoff": 1, "types": [0]}, "graph a has 2 positions but 1 types"),
    ({"edges": [(0, 5)]}, "outside 0..1"),
])
def test_from_arrays_refuses_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        counterexamples.from_arrays([[0, 0, 0], [1, 0, 0]], [[0, 0, 0], [0, 1, 0]], **kwargs)


@pytest.mark.parametrize("pos, match", [
    ([[0, 0, float("nan")], [1, 0, 0]], r"pos_a\[0\]\[2\]: nan is not a finite number"),
    ([[0, 0, "__import__('os')"], [1, 0, 0]], r"pos_a\[0\]\[2\]: unexpected character '_'"),
    ([[0, 0], [1, 0, 0]], r"pos_a\[0\]: expected three coordinates"),
    ([[0, 0, True], [1, 0, 0]], r"pos_a\[0\]\[2\]: expected a number, got the boolean"),
])
def test_from_arrays_refuses_bad_positions(pos, match):
    with pytest.raises(ValueError, match=match):
        counterexamples.from_arrays(pos, [[0, 0, 0], [1, 0, 0]], cutoff=2)


WATER = "3\nwater\nO 0.0 0.0 0.1173\nH 0.0 0.7572 -0.4692\nH 0.0 -0.7572 -0.4692\n"
BENT = "3\nbent water, extended XYZ columns ignored\nO 0.0 0.0 0.1173 8\nh 0.0 0.7572 -0.4692 1\nH 0.0 -0.5 -0.7 1\n"


def test_from_xyz_reads_decimals_exactly(tmp_path):
    a, b = write(tmp_path / "water.xyz", WATER), write(tmp_path / "bent.xyz", BENT)
    pair = counterexamples.from_xyz(a, b, cutoff=1.2)
    assert pair.name == "water-vs-bent" and pair.params["elements"] == ["H", "O"]
    assert pair.exact_a.types == (1, 0, 0) and pair.exact_a.coords[1, 1] == sympy.Rational(7572, 10000)
    assert pair.exact_a.edges == pair.exact_b.edges == ((0, 1), (0, 2)) and pair.claim("igwl-2") == 1
    again = counterexamples.load_file(pair.save(tmp_path / "water.json"))
    assert again.exact_b.coords == pair.exact_b.coords and again.claims == pair.claims


@pytest.mark.parametrize("text, match", [
    ("x\n\nO 0 0 0\n", "line 1: expected the number of atoms"),
    ("2\n\nO 0 0 0\n", "announces 2 atoms, but the file has 1"),
    ("1\n\nQq 0 0 0\n", "line 3: unknown element 'Qq'"),
    ("1\n\nO 0 0 sqrt(2)\n", "line 3: coordinate 'sqrt(2)' is not a decimal number"),
    ("1\n\nO 0 0\n", "line 3: expected 'Symbol x y z'"),
    ("1\n\nO 0 0 0\n1\n\nO 1 1 1\n", "line 4: more than one frame"),
    ("1\n\nO 0 0 1e99999\n", "exponent too large"),
])
def test_from_xyz_refuses_what_is_not_xyz(tmp_path, text, match):
    bad, good = write(tmp_path / "bad.xyz", text), write(tmp_path / "water.xyz", WATER)
    with pytest.raises(ValueError, match=f"^{re.escape(str(bad))}: .*{re.escape(match)}"):
        counterexamples.from_xyz(bad, good, cutoff=1.2)


def test_from_ase(tmp_path):
    ase = pytest.importorskip("ase")
    a = ase.Atoms("OH2", positions=[[0, 0, 0.1173], [0, 0.7572, -0.4692], [0, -0.7572, -0.4692]])
    b = ase.Atoms("OH2", positions=[[0, 0, 0.1173], [0, 0.7572, -0.4692], [0, 0.5, -0.7]])
    pair = counterexamples.from_ase(a, b, cutoff=1.2)
    assert pair.name == "H2O-vs-H2O" and pair.exact_a.types == (1, 0, 0) and pair.claim("igwl-2") == 1
    assert pair.exact_a.coords[0, 2] == sympy.Rational(0.1173)   # the float's exact binary fraction
    with pytest.raises(ValueError, match="atoms_a is periodic"):
        counterexamples.from_ase(ase.Atoms("H2", positions=[[0, 0, 0], [0, 0, 1]], cell=[5, 5, 5], pbc=True), b,
                                 cutoff=1.2)
    with pytest.raises(ValueError, match="atoms_b is a list, not ase.Atoms"):
        counterexamples.from_ase(a, [[0, 0, 0]], cutoff=1.2)


def test_from_ase_without_ase_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ase", None)
    with pytest.raises(ImportError, match=r"from_ase needs ASE, which is not installed. Fix: pip install ase"):
        counterexamples.from_ase(object(), object(), cutoff=1.0)


# -- command line, suites and the pytest plugin -----------------------------------------------------------------

def test_dojo_gwl_takes_pair_files_beside_library_names(tmp_path, capsys):
    path = write(tmp_path / "arms.json", arms())
    assert cli.main(["gwl", str(path), "kchains-2", "--group", "SO3", "--exact"]) == 0
    out = capsys.readouterr().out
    assert "| arms " in out and "| kchains-2 " in out and "!" not in out.split("\n\n")[0]
    with pytest.raises(SystemExit):
        cli.main(["gwl", str(tmp_path / "missing.json")])
    assert "no pair file" in capsys.readouterr().err
    data = arms()
    data["graphs"][1]["coords"][0][0] = "eval(1)"
    with pytest.raises(SystemExit):
        cli.main(["gwl", str(write(tmp_path / "bad.json", data))])
    assert f"dojo gwl: error: {tmp_path / 'bad.json'}: graphs[1].coords[0][0]: unknown name 'eval'" in \
        capsys.readouterr().err


def test_suites_run_pair_files_against_every_model_variant(tmp_path):
    path = str(write(tmp_path / "arms.json", arms()))
    cells = suites.select(suites.suite("bodyorder", models=["schnet", "mace"]), pairs=[path])
    assert {(c.pair, c.variant, c.layers) for c in cells} == \
        {(path, "schnet", 1), *((path, f"mace ν={c}", 1) for c in range(2, 6))}
    mixed = suites.select(suites.suite("all", models=["schnet"]), pairs=["kchains-4", path])
    assert {(c.pair, c.layers) for c in mixed} == {("kchains-4", 3), (path, 1)}


def test_dojo_table_with_a_pair_file(tmp_path, capsys):
    path = write(tmp_path / "arms.json", arms())
    assert cli.main(["table", "all", "--models", "schnet", "--pairs", str(path), "--seeds", "1", "--quiet",
                     "--out", str(tmp_path / "results")]) == 0
    assert f"| {path} " in capsys.readouterr().out


def test_the_plugin_marker_takes_a_pair_file_beside_the_test(pytester):
    (pytester.path / "data").mkdir()
    write(pytester.path / "data" / "arms.json", arms())
    bad = arms()
    bad["graphs"][0]["coords"][0][0] = "__import__('os')"
    write(pytester.path / "data" / "bad.json", bad)
    pytester.makepyfile(test_mine=textwrap.dedent('''
        import pytest


        @pytest.mark.dojo(pair="data/arms.json", layers=1, expect="blind", config={"hidden": 8})
        def test_blind_to_mirror_images():
            pass


        @pytest.mark.dojo(pair="data/bad.json", layers=1)
        def test_hostile_file():
            pass
    '''))
    result = pytester.runpytest("--dojo-model=schnet", "-k", "mirror or hostile", "--dojo-inits", "1",
                                "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*data/bad.json: graphs[[]0[]].coords[[]0[]][[]0[]]: unexpected character '_'*"])


def test_an_edited_pair_file_is_looked_up_afresh(tmp_path):
    # The suites, the runner and the tables look pairs up by name; a pair file's name is its path, and its cells'
    # keys hash its bytes: the pair looked up must be the one those bytes hold, not the one first read.
    from dojo.suites import pair_of

    path = counterexamples.load("kchains-4").save(tmp_path / "mine.json")
    assert pair_of(str(path)).name == "kchains-4"
    counterexamples.load("bodyorder-2").save(path)
    assert pair_of(str(path)).name == "bodyorder-2"
