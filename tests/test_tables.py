"""Discriminability tables as users run them: `dojo table`, its files, resuming, parallel jobs, theory and flags."""

from __future__ import annotations

import json

import pytest

import counterexamples
from counterexamples import GROUPS, TESTS
from dojo import models, runner, suites, tables
from dojo.cli import main

FAST = [m for m in ("schnet", "egnn") if m in models.names()]
needs_fast = pytest.mark.skipif(len(FAST) < 2, reason="needs schnet and egnn registered")


def record(pair: str, layers: int, separated: bool, bounded_by: str = "gwl", group: str = "O(3)",
           tensor_order: int = 1) -> dict:
    """A runner record with made-up measurements, for the theory and flag logic."""
    return {"key": json.dumps([pair, layers, bounded_by]), "suite": "test", "pair": pair, "model": "m",
            "variant": "m", "layers": layers, "options": {}, "protocol": "separate",
            "settings": {"inits": 2, "copies": 2, "seed": 0}, "separated": separated,
            "result": {"fraction": float(separated), "margin": 1e6 if separated else 1.0, "gap": 1e-3,
                       "spread": 1e-10, "noise": 1e-16, "inits": 2, "copies": 2},
            "info": {"name": "M", "kind": "equivariant" if bounded_by == "gwl" else "invariant", "body_order": 2,
                     "tensor_order": tensor_order if bounded_by == "gwl" else 0, "group": group,
                     "bounded_by": bounded_by}}


@pytest.mark.parametrize("pair", [p for p in counterexamples.pairs() if p.task == "invariant"], ids=lambda p: p.name)
def test_theory_column_agrees_with_the_library_claims(pair):
    for test in TESTS:
        for group in GROUPS:
            assert tables.first_iteration(pair.name, test, group) == pair.claim(test, group), (test, group)


def test_flags_mark_separations_beyond_the_bound_and_failures_within_it():
    gwl_at = counterexamples.load("kchains-4").claim("gwl")  # 3
    assert tables.flag(record("kchains-4", gwl_at - 1, separated=True)) == "exceeds"
    assert tables.flag(record("kchains-4", gwl_at - 1, separated=False)) == ""
    assert tables.flag(record("kchains-4", gwl_at, separated=False)) == "below"
    assert tables.flag(record("kchains-4", gwl_at, separated=True)) == ""
    assert tables.flag(record("kchains-4", 6, separated=True, bounded_by="igwl-4", group="SO(3)")) == "exceeds"
    table = tables.to_markdown([record("kchains-4", 2, True), record("kchains-4", 3, False)])
    assert "2/2!" in table and "0/2~" in table and "theory: gwl" in table


@pytest.mark.skipif("rotsym" not in counterexamples.families(), reason="rotsym family not registered")
def test_orientation_theory_needs_tensor_order_at_least_the_fold():
    pair = counterexamples.load("rotsym", fold=3)
    rec = lambda order, seen: {**record(pair.name, 1, seen, tensor_order=order), "pair": pair.name}  # noqa: E731
    assert tables.theory(rec(2, False))["separates"] is False
    assert tables.theory(rec(3, True))["separates"] is True
    assert tables.flag(rec(2, True)) == "exceeds"


def test_latex_is_booktabs_and_escaped():
    tex = tables.to_latex([record("kchains-4", 3, True, bounded_by="igwl-2")])
    assert tex.startswith(r"\begin{tabular}") and r"\toprule" in tex and r"\bottomrule" in tex
    assert r"igwl-2" in tex and r"\textsuperscript{!}" in tex and "✓" not in tex and "_" not in tex.replace(r"\_", "")


@pytest.mark.skipif(not {"rotsym", "bodyorder", "chiral"} <= set(counterexamples.families()),
                    reason="needs the rotsym, bodyorder and chiral families")
def test_paper_suites_follow_the_issue():
    registered = set(models.names())
    rotsym = suites.suite("rotsym")
    assert {c.pair for c in rotsym} == {f"rotsym-{f}" for f in (2, 3, 5, 10)} and {c.layers for c in rotsym} == {1}
    for m in {"tfn", "mace"} & registered:
        assert {dict(c.options)["max_ell"] for c in rotsym if c.model == m} == {1, 2, 3, 5, 10}
    assert {c.model for c in rotsym} == {"tfn", "mace", "egnn", "gvp", "painn"} & registered
    assert {dict(c.options)["correlation"] for c in rotsym if c.model == "mace"} <= {2}  # the paper's experiments
    assert {dict(c.options)["correlation"] for c in suites.suite("kchains") if c.model == "mace"} <= {2}
    bodyorder = suites.suite("bodyorder")
    assert {counterexamples.load(c.pair).family for c in bodyorder} == {"bodyorder", "chiral"}
    if "mace" in registered:
        assert {dict(c.options)["correlation"] for c in bodyorder if c.model == "mace"} == {2, 3, 4, 5}
    assert {c.model for c in bodyorder} == registered


def test_suites_list_their_cells_and_fail_clearly(monkeypatch):
    if models.names():
        cells = suites.suite("kchains", models.names()[:1])
        assert [c.layers for c in cells] == [2, 3, 4, 5, 6] and {c.pair for c in cells} == {"kchains-4"}
    with pytest.raises(ValueError, match="unknown suite"):
        suites.suite("nope")
    with pytest.raises(ValueError, match="unknown model"):
        suites.suite("kchains", ["not-a-model"])
    monkeypatch.setattr(suites, "BODYORDER_FAMILIES", ("no_such_family",))
    with pytest.raises(ValueError, match="no_such_family.*not registered"):
        suites.suite("bodyorder", models.names()[:1])


@needs_fast
def test_dojo_table_writes_deterministic_files_and_resumes(tmp_path, capsys):
    args = ["table", "kchains", "--models", *FAST, "--seeds", "2", "--out", str(tmp_path), "--quiet"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "theory: gwl" in printed and "| schnet" in printed
    files = {ext: (tmp_path / f"kchains-separate.{ext}") for ext in ("md", "tex", "csv", "json", "jsonl")}
    first = {ext: path.read_bytes() for ext, path in files.items()}
    rows = json.loads(first["json"])
    assert len(rows) == 10 == len(first["jsonl"].splitlines())
    schnet = [r for r in rows if r["model"] == "schnet"]
    assert all(r["fraction"] == 0.0 and not r["theory_separates"] and r["flag"] == "" for r in schnet)
    assert all(r["theory_separates"] == (r["layers"] >= 3) for r in rows if r["model"] == "egnn")

    assert main(args) == 0  # everything logged: nothing recomputed, same files
    assert files["jsonl"].read_bytes() == first["jsonl"]
    assert files["csv"].read_bytes() == first["csv"] and files["json"].read_bytes() == first["json"]

    lines = first["jsonl"].decode().splitlines()
    files["jsonl"].write_text("\n".join(lines[:-2]) + "\n" + lines[-2][:40])  # interrupted mid-write
    assert main(args) == 0
    assert len(files["jsonl"].read_text().splitlines()) == len(lines)  # torn line cut, 2 cells recomputed
    assert files["csv"].read_bytes() == first["csv"] and files["json"].read_bytes() == first["json"]

    (tmp_path / "fresh").mkdir()
    assert main([*args[:-2], str(tmp_path / "fresh"), "--quiet"]) == 0  # a fresh run: byte-identical outputs
    for ext in ("csv", "json", "md", "tex"):
        assert (tmp_path / "fresh" / f"kchains-separate.{ext}").read_bytes() == first[ext]


@pytest.mark.slow  # two spawned workers import torch, PyG and e3nn: ~10 s alone, far more on a busy machine
@needs_fast
def test_parallel_jobs_give_the_same_records(tmp_path):
    cells = suites.suite("kchains", FAST)[:3]
    settings = runner.settings_for("separate", seeds=2)
    one = runner.run(cells, "separate", tmp_path / "one.jsonl", settings=settings, progress=False)
    two = runner.run(cells, "separate", tmp_path / "two.jsonl", settings=settings, jobs=2, progress=False)
    assert tables.to_json(one) == tables.to_json(two) and tables.to_csv(one) == tables.to_csv(two)


def test_command_line_errors_name_the_fix(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["table", "kchains", "--models", "not-a-model", "--quiet"])
    assert exit_.value.code == 2 and "unknown model" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["table", "kchains", "--epochs", "3", "--quiet"])
    assert "--epochs applies to the train protocol" in capsys.readouterr().err
