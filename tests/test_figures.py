"""Figures as users make them: every figure drawn from data, different data giving a different picture, the same
data the same bytes, `dojo figures` writing its files, and bad input met with a ValueError that names the fix."""

from __future__ import annotations

import copy
import io
import json
from collections import Counter

import pytest
from matplotlib.figure import Figure

import counterexamples
from dojo import gwl, runner, suites
from dojo.cli import main
from dojo.figures import (family_figure, heatmap_figure, hierarchy_figure, margin_figure, pair_figure, placements,
                          refinement_figure, refinement_runs, render_all, save)
from dojo.figures.style import check_formats, freeze

SETTINGS = runner.settings_for("separate", seeds=1)


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> dict[str, list[dict]]:
    """Real records of three tiny suites (one initialisation per cell): what `dojo table` logs."""
    log = tmp_path_factory.mktemp("results")
    chosen = {
        "all": suites.select(suites.suite("all", ["schnet", "egnn"]), pairs=["kchains-4", "bodyorder-2", "rotsym-3"]),
        "kchains": suites.select(suites.suite("kchains", ["schnet", "egnn"]), layers=[2, 3]),
        "rotsym": suites.select(suites.suite("rotsym", ["egnn", "tfn"]), pairs=["rotsym-2", "rotsym-3"]),
    }
    return {name: runner.run(cells, "separate", log / f"{name}.jsonl", settings=SETTINGS, progress=False)
            for name, cells in chosen.items()}


def png(fig: Figure, fmt: str = "png") -> bytes:
    """The bytes `save` would write."""
    freeze(fig)
    from dojo.figures.style import FORMATS, context

    buffer = io.BytesIO()
    with context():
        fig.savefig(buffer, format=fmt, metadata=FORMATS[fmt])
    return buffer.getvalue()


def drawn(fig: Figure) -> bool:
    """Whether the figure has axes with something drawn in them."""
    return bool(fig.axes) and any(ax.lines or ax.collections or ax.images or ax.patches for ax in fig.axes)


def test_every_figure_is_drawn_from_its_data(records):
    figures = [pair_figure("kchains-4"), pair_figure("chiral-tetrahedral"), family_figure("chiral"),
               refinement_figure("kchains-4", tests=("igwl", "gwl")), refinement_figure("bodyorder-2"),
               hierarchy_figure(records["all"]), hierarchy_figure(models=["schnet", "egnn"]),
               heatmap_figure(records["all"]), heatmap_figure(records["kchains"]),
               margin_figure(records["kchains"]), margin_figure(records["rotsym"], axis="tensor_order")]
    for fig in figures:
        assert isinstance(fig, Figure) and drawn(fig), fig
        assert 3.2 <= fig.get_figwidth() <= 6.95  # one or two columns of a paper
    assert pair_figure("kchains-4").axes[0].name == "rectilinear"  # planar pairs in their plane
    assert pair_figure("bodyorder-3").axes[0].name == "3d"


def test_refinement_colours_come_from_one_shared_table():
    pair = counterexamples.load("kchains-4")
    igwl, gwl_run = refinement_runs(pair, ("igwl", "gwl"))
    assert (igwl.first, gwl_run.first) == (None, pair.claim("gwl")) == (None, 3)
    assert len(gwl_run.slots) == 4  # t = 0..3: up to GWL's separation
    for run in (igwl, gwl_run):
        verdict = gwl.distinguish(pair, test=run.test, exact=True)
        for t, (a, b) in enumerate(run.slots):
            # Same classes on both sides exactly when the shared histograms agree (colours renumbered).
            assert (Counter(a) == Counter(b)) == (t >= len(verdict.histograms) or
                                                  verdict.histograms[t][0] == verdict.histograms[t][1])
            assert (Counter(a) != Counter(b)) == (run.first is not None and t >= run.first)
    # A class keeps its colour until it splits: IGWL's partition is the same from t=1 on.
    assert igwl.slots[1] == igwl.slots[2] == igwl.slots[3]


def test_placements_are_measured_from_the_records(records):
    places = {p.variant: p for p in placements(records["all"])}
    assert places["schnet"].declared == "igwl-2" and places["egnn"].declared == "gwl"
    assert places["schnet"].reach is not None and places["schnet"].cells == 2
    # E-GNN separates kchains-4 at 3 layers here (or not): its measured bound follows what it did.
    egnn = [r for r in records["all"] if r["model"] == "egnn" and r["pair"] == "kchains-4"][0]
    assert (places["egnn"].bound == "gwl") == egnn["separated"]
    flipped = copy.deepcopy(records["all"])
    for r in flipped:
        if r["model"] == "schnet" and r["pair"] == "bodyorder-2":
            r["separated"] = True  # as if SchNet had seen 3-body information
    assert {p.variant: p for p in placements(flipped)}["schnet"].bound != places["schnet"].bound


def test_different_data_draw_different_figures(records):
    assert png(pair_figure("kchains-3")) != png(pair_figure("kchains-4"))
    assert png(refinement_figure("kchains-4")) != png(refinement_figure("kchains-4", group="SO(3)"))
    flipped = copy.deepcopy(records["kchains"])
    for r in flipped:
        r["separated"], r["result"]["fraction"] = not r["separated"], 1.0 - r["result"]["fraction"]
        r["result"]["margin"] *= 1e6
    assert png(heatmap_figure(records["kchains"])) != png(heatmap_figure(flipped))
    assert png(margin_figure(records["kchains"])) != png(margin_figure(flipped))
    assert png(hierarchy_figure(records["all"])) != png(hierarchy_figure(models=["schnet", "egnn"]))


def test_saving_twice_gives_the_same_bytes(tmp_path, records):
    for name, draw in [("heatmap", lambda: heatmap_figure(records["rotsym"])),
                       ("refinement", lambda: refinement_figure("bodyorder-3", tests=("igwl-3", "igwl-4")))]:
        first = save(draw(), tmp_path / "one" / name, ("png", "svg"))
        fig = draw()
        second = save(fig, tmp_path / "two" / name, ("svg", "png"))   # another order, a fresh figure
        again = save(fig, tmp_path / "three" / name, ("png", "svg"))  # the same figure saved again
        for paths in (second, again):
            by_suffix = {p.suffix: p.read_bytes() for p in paths}
            assert all(by_suffix[p.suffix] == p.read_bytes() for p in first), name
        assert b"Date" not in (tmp_path / "one" / f"{name}.svg").read_bytes()


def test_dojo_figures_writes_the_files_and_reruns_identically(tmp_path, capsys):
    out, results = tmp_path / "figures", tmp_path / "results"
    args = ["figures", "--out", str(out), "--results", str(results), "--suites", "kchains", "--families", "kchains",
            "--models", "schnet", "egnn", "--seeds", "1", "--formats", "png", "svg", "--quiet"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    names = {"family-kchains", "refinement-kchains-4", "hierarchy", "heatmap-kchains", "margins-kchains"}
    assert {p.name for p in out.iterdir()} == {f"{n}.{ext}" for n in names for ext in ("png", "svg")}
    assert all(str(out / f"{n}.png") in printed for n in names)
    log = results / "kchains-separate.jsonl"
    assert len(log.read_text().splitlines()) == 10  # 2 models x 5 depths, logged as `dojo table` logs them
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    before = log.read_bytes()
    assert main(args) == 0  # results present: nothing recomputed, the same bytes
    assert log.read_bytes() == before
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first


def test_bad_input_names_the_fix(tmp_path, records):
    fig = pair_figure("kchains-2")
    with pytest.raises(ValueError, match="unknown figure format.*jpg.*Fix"):
        save(fig, tmp_path / "x", ("png", "jpg"))
    with pytest.raises(ValueError, match="Fix"):
        check_formats(())
    with pytest.raises(ValueError, match="unknown figure format.*Fix"):
        render_all(tmp_path / "out", tmp_path / "results", formats=("gif",))
    assert not (tmp_path / "results").exists()  # checked before anything ran
    with pytest.raises(ValueError, match="unknown suites.*Fix"):
        render_all(tmp_path / "out", tmp_path / "results", formats=("png",), suites=("bodyorder",))
    with pytest.raises(ValueError, match="unknown families.*Fix"):
        render_all(tmp_path / "out", tmp_path / "results", formats=("png",), families=("nope",))
    for draw in (heatmap_figure, margin_figure, hierarchy_figure):
        with pytest.raises(ValueError, match="no records.*Fix"):
            draw([])
    train = [{**r, "protocol": "train"} for r in records["kchains"]]
    with pytest.raises(ValueError, match="no margins.*Fix"):
        margin_figure(train)
    with pytest.raises(ValueError, match="several protocols.*Fix"):
        heatmap_figure(records["kchains"] + train)
    with pytest.raises(ValueError, match="unknown axis.*Fix"):
        margin_figure(records["kchains"], axis="depth")
    with pytest.raises(ValueError, match="Fix"):
        refinement_figure("kchains-4", test="igwl-1")
    with pytest.raises(ValueError, match="Fix"):
        hierarchy_figure(models=["not-a-model"])
    with pytest.raises(SystemExit):
        main(["figures", "--formats", "jpg"])


@pytest.mark.slow
def test_render_all_from_scratch_then_from_its_logs(tmp_path):
    out, results = tmp_path / "figures", tmp_path / "results"
    written = render_all(out, results)
    stems = {p.stem for p in written}
    assert stems == {*(f"family-{f}" for f in counterexamples.families()), "refinement-kchains-4",
                     "refinement-bodyorder-3", "hierarchy", "heatmap-all", "heatmap-kchains", "heatmap-rotsym",
                     "margins-kchains", "margins-rotsym"}
    assert len(written) == 3 * len(stems) and all(p.stat().st_size > 0 for p in written)
    first = {p: p.read_bytes() for p in written}
    logs = {p: p.read_bytes() for p in results.glob("*.jsonl")}
    assert render_all(out, results) == written
    assert {p: p.read_bytes() for p in written} == first
    assert {p: p.read_bytes() for p in results.glob("*.jsonl")} == logs
    rows = [json.loads(line) for line in (results / "all-separate.jsonl").read_text().splitlines()]
    assert {r["protocol"] for r in rows} == {"separate"}
