"""The counterexample library as users see it: the registry, valid pairs, validation errors, plots and `dojo list`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import sympy
import torch

import counterexamples
from counterexamples import GROUPS, TESTS, ExactGraph, Pair, claims
from dojo.cli import main
from dojo.graphs import check_graph

FAMILIES = ["kchains", "rotsym", "bodyorder", "chiral", "onehop", "controls", "dojo4body", "platonic",
            "distance_degenerate", "sverdlov_dym", "bispectrum"]
PAIRS = counterexamples.pairs()


def test_every_family_is_registered_with_default_instances():
    assert counterexamples.families() == FAMILIES
    names = counterexamples.names()
    assert len(names) == len(set(names)) and 15 <= len(names) <= 40
    for fam in FAMILIES:
        assert counterexamples.pairs(fam) and all(p.family == fam for p in counterexamples.pairs(fam))
        assert any(n.startswith(fam + "-") for n in names)


@pytest.mark.parametrize("args, params, name", [
    ("rotsym", {"fold": 5}, "rotsym-5"),
    ("bodyorder", {"body": 4}, "bodyorder-4"),
    ("chiral", {"variant": "helix"}, "chiral-helix"),
    ("controls", {"source": "bodyorder-3"}, "controls-bodyorder-3"),
    ("controls", {"source": "kchains-4", "seed": 3}, "controls-kchains-4-seed3"),
    ("rotsym", {"fold": 4, "turn": sympy.Rational(1, 3)}, "rotsym-4-turn1_3"),
])
def test_load_by_family_and_parameters(args, params, name):
    assert counterexamples.load(args, **params).name == name


def test_load_by_full_name():
    assert counterexamples.load("onehop-cyclohexane").family == "onehop"
    assert counterexamples.load("dojo4body-nonchiral").params == {"variant": "nonchiral"}
    assert counterexamples.load("rotsym-7").params["fold"] == 7          # not a default instance: first parameter
    assert counterexamples.load("controls-rotsym-3").params["source"] == "rotsym-3"
    assert counterexamples.load("bodyorder") is counterexamples.load("bodyorder-2")  # a family's first default


@pytest.mark.parametrize("name, params, match", [
    ("nosuchpair", {}, "unknown pair"),
    ("kchains", {"q": 3}, r"no parameters \['q'\]"),
    ("kchains-4", {"k": 3}, "parameters go with a family name"),
    ("kchains-x", {}, "cannot load 'kchains-x'"),
    ("rotsym", {"fold": 1}, "fold must be an integer >= 2"),
    ("rotsym", {"fold": 3, "turn": 2}, "symmetry of the star"),
    ("bodyorder", {"body": 5}, "body must be one of"),
    ("chiral", {"variant": "propeller"}, "unknown variant"),
    ("onehop", {"variant": "x"}, "unknown variant"),
    ("dojo4body", {"variant": "x"}, "unknown variant"),
    ("controls", {"source": "nosuchpair"}, "unknown pair"),
])
def test_load_refuses_bad_names_and_parameters(name, params, match):
    with pytest.raises(ValueError, match=match):
        counterexamples.load(name, **params)
    with pytest.raises(ValueError, match="unknown family"):
        counterexamples.pairs("nosuchfamily")


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: p.name)
def test_every_pair_is_valid(pair):
    assert pair.task in ("invariant", "equivariant") and pair.description and pair.reference
    assert set(pair.claims) == {(t, g) for t in TESTS for g in GROUPS}
    assert pair.exact_a.num_nodes <= 20 and pair.exact_b.num_nodes <= 20
    assert pair.summary().startswith(pair.name)
    for dtype, tol in ((torch.float32, 1e-6), (torch.float64, 1e-14)):
        for exact, g in zip((pair.exact_a, pair.exact_b), pair.graphs(dtype)):
            check_graph(g)
            assert g.pos.dtype == dtype and g.z.tolist() == list(exact.types)
            want = torch.tensor([[float(sympy.N(c, 30)) for c in exact.coords.row(i)] for i in range(exact.num_nodes)],
                                dtype=torch.float64)
            assert torch.allclose(g.pos.double(), want, rtol=tol, atol=tol * want.abs().max())
            undirected = {tuple(sorted(e)) for e in g.edge_index.t().tolist()}
            assert undirected == set(exact.edges)
    if pair.task == "equivariant":
        assert pair.orientation_order is not None and pair.congruent_under == frozenset(GROUPS)


def _pair(**changes) -> Pair:
    return replace(counterexamples.load("kchains-2"), **changes)


@pytest.mark.parametrize("changes, match", [
    ({"task": "regression"}, "task must be"),
    ({"claims": {("wl", "O(3)"): None}}, "claims missing"),
    ({"congruent_under": frozenset({"E(3)"})}, "subset of"),
    ({"congruent_under": frozenset({"SO(3)"})}, "implies congruent under O.3."),
    ({"congruent_under": frozenset({"O(3)"})}, "yet claimed separated"),
    ({"claims": claims({t: (2 if t == "igwl-3" else 1) for t in TESTS})}, "igwl-3 .* separates later than igwl-2"),
    ({"claims": claims({t: None for t in TESTS}, so3={"igwl": 3})}, "gwl .SO.3.. separates later than igwl"),
    ({"claims": claims({t: (1 if t == "gwl" else None) for t in TESTS}, so3={"gwl": 2})}, "later under SO"),
])
def test_pair_validation(changes, match):
    with pytest.raises(ValueError, match=match):
        _pair(**changes)


def test_claims_helper_and_lookup():
    with pytest.raises(ValueError, match="unknown tests"):
        claims({"igwl-9": 1, **{t: None for t in TESTS}})
    with pytest.raises(ValueError, match="no O.3. claim"):
        claims({"wl": None})
    with pytest.raises(ValueError, match="unknown tests"):
        claims({t: None for t in TESTS}, so3={"chirality": 1})
    pair = counterexamples.load("chiral", variant="tetrahedral")
    assert pair.claim("igwl-4", "SO(3)") == 1 and pair.claim("igwl-4") is None
    with pytest.raises(ValueError, match="no claim for test='igwl-6'"):
        pair.claim("igwl-6")
    with pytest.raises(ValueError, match="group='E.3.'"):
        pair.claim("gwl", "E(3)")


@pytest.mark.parametrize("args, match", [
    (([[0, 0, 0], [0.5, 0, 0]], [(0, 1)], [0, 0]), "exact real numbers"),
    (([[0, 0], [1, 0]], [(0, 1)], [0, 0]), "one row of three coordinates"),
    (([[0, 0, 0], [1, 0, 0]], [(0, 2)], [0, 0]), "outside 0..1"),
    (([[0, 0, 0], [1, 0, 0]], [(1, 1)], [0, 0]), "self-loops"),
    (([[0, 0, 0], [1, 0, 0]], [(0, 1)], [0, -1]), "negative node types"),
    (([[0, 0, 0], [sympy.I, 0, 0]], [(0, 1)], [0, 0]), "exact real numbers"),
])
def test_exact_graph_validation(args, match):
    with pytest.raises(ValueError, match=match):
        ExactGraph(*args)


def test_dojo_list_shows_every_pair(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in counterexamples.names())
    assert main(["list", "--family", "chiral", "--format", "csv"]) == 0
    rows = capsys.readouterr().out.strip().splitlines()
    assert rows[0].startswith("pair,family") and len(rows) == 1 + len(counterexamples.pairs("chiral"))
    assert "chiral-tetrahedral,chiral,invariant,5+5" in rows[1]


def test_dojo_console_script_lists_every_family():
    script = Path(sys.executable).with_name("dojo")
    command = [str(script)] if script.exists() else [shutil.which("dojo") or "dojo"]
    out = subprocess.run([*command, "list"], capture_output=True, text=True, check=True, timeout=300).stdout
    assert all(f"| {fam} " in out for fam in FAMILIES)
