"""dojo search: finding, certifying and writing new counterexamples, and rediscovering the library's."""

from __future__ import annotations

import pytest

import counterexamples
from counterexamples import TESTS
import dojo.search
from dojo import cli
from dojo.search import KINDS, MAX_NODES, SOURCES, search

#: The plane z = 1 above a centre: the 3 x 3 grid of lattice points where Pozdnyakov et al.'s 3-body pair lives.
GRID = {"grid": [[x, y, 1] for x in (1, 0, -1) for y in (1, 0, -1)]}


def test_a_star_search_rediscovers_the_2_body_pair_and_writes_files_that_load_back(tmp_path):
    report = search("igwl-2", "igwl-3", kind="star", max_nodes=3, sources=["sphere5"], out=tmp_path, progress=False)
    assert report.stopped is None and report.subsets == 435
    assert report.certified == report.found == len(report.results) == len(report.paths) > 10
    assert report.tried >= report.screened >= report.found
    assert [f.library for f in report.results if f.library] == ["bodyorder-2"]
    assert len(report.new) == report.found - 1
    for found in report.results:
        again = counterexamples.load_file(found.path)      # read, recomputed and certified from the file alone
        assert found.path.parent == tmp_path and again.name == found.name and again.family == "search"
        assert again.claim("igwl-2") is None and again.claim("igwl-3") == found.stronger_iteration == 1
        assert again.exact_a.coords == found.pair.exact_a.coords and not again.congruent_under
    assert set(report.per_minute()) == {"tried", "found", "certified"}
    assert "15 found, 15 certified, 14 new" in report.summary()


def test_a_complete_graph_search_rediscovers_li_et_als_distance_degenerate_pairs_and_a_new_one(tmp_path):
    report = search("igwl-2", "igwl-3", min_nodes=6, max_nodes=6, out=tmp_path, progress=False,
                    sources=["dodecahedron", "icosahedron", "cube_octahedron"])
    assert report.found == report.certified == 4 and report.subsets == 42687   # as the README says
    assert {f.library for f in report.results} == {None, "distance_degenerate-dodecahedron6",
                                                   "distance_degenerate-icosahedron6",
                                                   "distance_degenerate-cube_octahedron6"}
    new = report.new[0].pair
    assert new.exact_a.num_nodes == 6 and len(new.exact_a.edges) == 15
    assert new.claim("igwl-2", "SO(3)") is None and new.claim("igwl-3") == 1 and new.congruent_under == frozenset()


def test_a_star_search_rediscovers_the_3_body_pair_in_a_point_set_of_ones_own():
    report = search("igwl-3", "igwl-4", kind="star", min_nodes=5, max_nodes=5, sources=GRID, out=None,
                    progress=False)
    assert report.found == report.certified == 2 and report.paths == []
    assert [f.library for f in report.results] == [None, "bodyorder-3"]
    assert all(p.claim("igwl-3") is None and p.claim("igwl-4") == 1 for p in report.pairs)


def test_a_radius_search_finds_pairs_only_gwl_separates(tmp_path):
    report = search("igwl", "gwl", kind="radius", min_nodes=4, max_nodes=4, sources=["icosahedron"], out=tmp_path,
                    progress=False)
    (found,) = report.results
    assert found.certified and found.stronger_iteration == 2 and len(found.exact_a.edges) == 3   # a bent path
    assert all(found.pair.claim(t, g) is None for t in TESTS[:-1] for g in ("O(3)", "SO(3)"))
    assert counterexamples.load(str(found.path)).claim("gwl") == 2


def test_a_radius_search_rediscovers_a_k_chain_pair_in_a_point_set_of_ones_own():
    points = {"chains": [[4, -3, 0], [-4, -3, 0], [0, 0, 0], [0, 5, 0], [4, 8, 0]]}   # kchains-2's nodes, both ways
    report = search("igwl", "gwl", kind="radius", min_nodes=4, max_nodes=4, sources=points, out=None, progress=False)
    assert [(f.vertices_a, f.vertices_b, f.library) for f in report.results] == [((0, 2, 3, 4), (1, 2, 3, 4),
                                                                                   "kchains-2")]


def test_limit_and_seconds_stop_the_search():
    report = search("igwl-2", "igwl-3", kind="star", max_nodes=3, sources=["sphere5"], limit=2, out=None,
                    progress=False)
    assert report.found == 2 and report.stopped == "limit" and "stopped at the limit" in report.summary()
    report = search("igwl-2", "igwl-3", kind="star", max_nodes=3, sources=["sphere5"], seconds=1e-9, out=None,
                    progress=False)
    assert report.found == 0 and report.stopped == "seconds"


@pytest.mark.parametrize("args, kwargs, message", [
    (("igwl-9", "gwl"), {}, "unknown test 'igwl-9'. Fix: one of"),
    (("igwl-3", "igwl-2"), {}, "must come before the stronger test 'igwl-2'"),
    (("gwl", "gwl"), {}, "Fix: swap them, or pick a stronger test"),
    (("igwl-2", "igwl-3"), {"max_nodes": 2}, "out of range. Fix: 3 <= min_nodes <= max_nodes"),
    (("igwl-2", "igwl-3"), {"max_nodes": MAX_NODES + 1}, f"max_nodes <= {MAX_NODES}"),
    (("igwl-2", "igwl-3"), {"min_nodes": 5, "max_nodes": 4}, "out of range"),
    (("igwl-2", "igwl-3"), {"max_nodes": 4.5}, "max_nodes must be an int"),
    (("igwl-2", "igwl-3"), {"kind": "ring"}, f"unknown kind 'ring'. Fix: one of {KINDS}"),
    (("igwl-2", "igwl-3"), {"group": "O3"}, "unknown group 'O3'"),
    (("igwl-2", "igwl-3"), {"sources": ["cubes"]}, "unknown point sets ['cubes']"),
    (("igwl-2", "igwl-3"), {"sources": "cube"}, "Fix: sources=['cube']"),
    (("igwl-2", "igwl-3"), {"sources": {"mine": [[0.5, 0, 0]]}}, "point set 'mine'"),
    (("igwl-2", "igwl-3"), {"limit": 0}, "limit must be positive"),
    (("igwl-2", "igwl-3"), {"kind": "star", "sources": {"mine": [[0, 0, 0], [1, 0, 0]]}}, "contains the origin"),
])
def test_bad_arguments_name_the_fix(args, kwargs, message, tmp_path):
    with pytest.raises(ValueError, match="search: ") as err:
        search(*args, out=tmp_path / "never", progress=False, **kwargs)
    assert message in str(err.value)
    assert not (tmp_path / "never").exists()


def test_the_cli_prints_the_found_pairs(tmp_path, capsys):
    assert cli.main(["search", "igwl-2", "igwl-3", "--kind", "star", "--max-nodes", "3", "--sources", "sphere5",
                     "--limit", "4", "--out", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    rows = [" ".join(line.split()) for line in out.splitlines()]
    assert f"| search-star-igwl-2-igwl-3-4 | 3 | sphere5 [0, 1] / [2, 6] | never | 1 | yes | bodyorder-2 | " \
           f"{tmp_path / 'search-star-igwl-2-igwl-3-4.json'} |" in rows
    assert "4 found, 4 certified, 3 new" in out and len(list(tmp_path.glob("*.json"))) == 4


@pytest.mark.parametrize("argv, message", [
    (["search", "igwl-2", "igwl-9"], "invalid choice: 'igwl-9'"),
    (["search", "igwl-2", "igwl-3", "--kind", "ring"], "invalid choice: 'ring'"),
    (["search", "igwl-2", "igwl-3", "--max-nodes", "0"], "must be at least 1"),
    (["search", "gwl", "igwl-2"], "dojo search: error: search: the weaker test 'gwl' must come before"),
])
def test_the_cli_rejects_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_the_clis_light_name_lists_match_the_search_module():
    parser = cli.build_parser()
    search_parser = parser._subparsers._group_actions[0].choices["search"]
    choices = {a.dest: a.choices for a in search_parser._actions if a.choices}
    assert tuple(choices["weaker"]) == tuple(choices["stronger"]) == TESTS
    assert tuple(choices["kind"]) == KINDS and tuple(choices["sources"]) == tuple(SOURCES)


def test_under_so3_mirror_images_stay_apart_and_are_found():
    arms = {"arms": [[1, 0, 0], [0, 2, 0], [0, 0, 3], [0, 0, -3]]}   # the README's right-angled arms, both ways
    chiral = search("igwl-3", "igwl-4", kind="star", group="SO(3)", min_nodes=4, max_nodes=4, sources=arms, out=None,
                    progress=False)
    (found,) = chiral.results
    assert found.pair.congruent_under == frozenset({"O(3)"}) and found.pair.claim("igwl-4", "SO(3)") == 1
    assert found.pair.claim("igwl-4", "O(3)") is None
    assert search("igwl-3", "igwl-4", kind="star", min_nodes=4, max_nodes=4, sources=arms, out=None,
                  progress=False).found == 0


def test_sizes_with_too_many_subsets_are_skipped_and_reported(monkeypatch, capsys):
    monkeypatch.setattr(dojo.search, "MAX_SUBSETS", 500)
    report = search("igwl-2", "igwl-3", kind="star", max_nodes=4, sources=["sphere5"], out=None)
    assert report.skipped == [("sphere5", 4)] and report.subsets == 435      # C(30, 3) = 4060 subsets skipped
    assert "sphere5, 3 nodes: 435 subsets, 19 up to symmetry" in capsys.readouterr().err
