"""Exact certification of the counterexample library: every pair's claims, and failure when mislabelled.

Everything is exact (number-field arithmetic, counterexamples.certify), independent of dojo.gwl; dojo.gwl appears
only to cross-check the two independent implementations against each other.
"""

from __future__ import annotations

import random
import subprocess
import sys
from dataclasses import replace

import pytest
import sympy
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import counterexamples
from counterexamples import GROUPS, TESTS, ExactGraph, claims
from counterexamples.certify import (
    Check,
    as_exact,
    certify,
    congruence,
    is_symmetry,
    k_body_multisets,
    local_isomorphism,
    maps_onto,
    neighbourhood_counts,
    orientation_order,
    separation,
)
from counterexamples.controls import exact_rotation
from counterexamples.rotsym import rotation_z
from dojo.graphs import geometric_graph
from dojo.gwl import distinguish

PAIRS = {p.name: p for p in counterexamples.pairs()}


@pytest.mark.parametrize("name", PAIRS)
def test_every_claim_of_every_pair_is_certified(name):
    cert = certify(PAIRS[name])
    assert cert.ok, str(cert)


@pytest.mark.parametrize("name", PAIRS)
def test_k_body_multisets_match_the_claims(name):
    """Equal k-body multisets where a claim says IGWL_(k) does not separate at iteration 1, different where it
    says it separates at 1 (a claim at t >= 2 or never implies equality at 1)."""
    pair = PAIRS[name]
    for group in GROUPS:
        for k in range(2, 6):
            ma, mb = k_body_multisets(pair.exact_a, pair.exact_b, k, group)
            assert (ma == mb) == (pair.claim(f"igwl-{k}", group) != 1), (name, k, group)


@pytest.mark.parametrize("name", PAIRS)
def test_congruence_exactly_as_labelled(name):
    """Counterexamples are not congruent (under the groups not in congruent_under); controls, orientation pairs
    and mirror images are, and the motion found maps a onto b (re-checked by applying it, with maps_onto)."""
    pair = PAIRS[name]
    for group in GROUPS:
        motion = congruence(pair.exact_a, pair.exact_b, group)
        assert (motion is not None) == (group in pair.congruent_under), (name, group)
        if motion is not None:
            assert group == "O(3)" or motion.proper
            assert maps_onto(pair.exact_a, pair.exact_b, motion.rotation, motion.translation) == motion.permutation


def test_the_genuine_four_body_pair():
    pair = counterexamples.load("bodyorder", body=4)
    for group in GROUPS:
        for k in (2, 3, 4):
            ma, mb = k_body_multisets(pair.exact_a, pair.exact_b, k, group)
            assert ma == mb
        ma, mb = k_body_multisets(pair.exact_a, pair.exact_b, 5, group)
        assert ma != mb
        assert congruence(pair.exact_a, pair.exact_b, group) is None


def test_the_original_dojo_four_body_pairs_are_congruent_by_a_proper_rotation():
    for variant in ("chiral", "nonchiral"):
        pair = counterexamples.load("dojo4body", variant=variant)
        motion = congruence(pair.exact_a, pair.exact_b, "SO(3)")
        assert motion is not None and motion.proper
        assert pair.is_control


@pytest.mark.parametrize("fold", [2, 3, 5, 10])
def test_rotsym_has_exact_fold_fold_symmetry(fold):
    pair = counterexamples.load("rotsym", fold=fold)
    symmetry = rotation_z(2 * sympy.pi / fold)
    assert is_symmetry(pair.exact_a, symmetry) and is_symmetry(pair.exact_b, symmetry)
    half = rotation_z(sympy.pi / fold)
    assert maps_onto(pair.exact_a, pair.exact_b, half) is not None  # b is a turned by half the symmetry angle,
    assert not is_symmetry(pair.exact_a, half)                       # which is not a symmetry: b differs from a
    assert orientation_order(pair.exact_a, pair.exact_b, node=0) == fold == pair.orientation_order


def test_orientation_order_of_an_odd_turn():
    pair = counterexamples.load("rotsym", fold=4, turn=sympy.Rational(1, 3))
    assert orientation_order(pair.exact_a, pair.exact_b, node=0) == 4
    assert certify(pair).ok


def test_local_isomorphism_certifies_the_invariant_blind_spots():
    for name in ("kchains-5", "onehop-cyclohexane", "chiral-helix"):
        pair = PAIRS[name]
        assert local_isomorphism(pair.exact_a, pair.exact_b, "SO(3)") is not None
    tetra = PAIRS["chiral-tetrahedral"]
    assert local_isomorphism(tetra.exact_a, tetra.exact_b, "O(3)") is not None
    assert local_isomorphism(tetra.exact_a, tetra.exact_b, "SO(3)") is None
    assert local_isomorphism(PAIRS["bodyorder-2"].exact_a, PAIRS["bodyorder-2"].exact_b) is None


def _failed(pair) -> set[str]:
    cert = certify(pair)
    assert not cert.ok
    return {c.claim for c in cert.failures()}


def test_mislabelled_original_four_body_pair_fails():
    """The original dojo's claim: a 4-body counterexample (equal 4-body, separated by higher body order)."""
    control = counterexamples.load("dojo4body", variant="nonchiral")
    as_published = replace(control, name="dojo4body-as-counterexample", congruent_under=frozenset(),
                           claims=claims({t: (1 if t in ("igwl-5", "igwl", "gwl") else None) for t in TESTS}))
    failed = _failed(as_published)
    assert "not congruent under O(3)" in failed and "not congruent under SO(3)" in failed
    assert "igwl-5 under O(3) first separates at iteration 1" in failed
    assert "gwl under SO(3) first separates at iteration 1" in failed


def test_mislabelled_chiral_pair_fails():
    """A mirror pair claimed to be separated under O(3), where it is congruent."""
    pair = PAIRS["chiral-tetrahedral"]
    wrong = replace(pair, congruent_under=frozenset(),
                    claims=claims({t: (1 if t in ("igwl-4", "igwl-5", "igwl", "gwl") else None) for t in TESTS}))
    failed = _failed(wrong)
    assert "not congruent under O(3)" in failed and "igwl-4 under O(3) first separates at iteration 1" in failed


def test_overclaimed_body_order_fails():
    """The 3-body pair claimed to defeat 4-body invariants too."""
    pair = PAIRS["bodyorder-3"]
    wrong = replace(pair, claims=claims({t: (1 if t in ("igwl-5", "igwl", "gwl") else None) for t in TESTS}))
    assert _failed(wrong) == {"igwl-4 under O(3) never separates", "igwl-4 under SO(3) never separates"}


def test_wrong_invariant_and_orientation_claims_fail():
    onehop = PAIRS["onehop-cyclohexane"]
    wrong = replace(onehop, claims=claims({t: (1 if t in ("igwl", "gwl") else None) for t in TESTS}))
    assert "igwl under O(3) first separates at iteration 1" in _failed(wrong)
    rot = PAIRS["rotsym-3"]
    assert _failed(replace(rot, orientation_order=2)) == {"orientation order 2"}
    kch = PAIRS["kchains-3"]
    assert "wl under O(3) first separates at iteration 2" in _failed(
        replace(kch, claims=claims({t: 2 for t in TESTS})))


#: Pairs that the independent refinement is cross-checked on: every counterexample, and controls and mirror pairs
#: whose "never" the refinement must prove by itself (certify would take the congruence instead).
CROSS = [n for n, p in PAIRS.items() if not p.congruent_under] + [
    "rotsym-3", "controls-kchains-4", "controls-onehop-cyclohexane", "dojo4body-chiral", "chiral-tetrahedral"]


@pytest.mark.parametrize("name", CROSS)
def test_exact_refinement_agrees_with_the_gwl_implementation(name):
    """Two independent implementations (computation trees and matchings here, canonical frames in dojo.gwl) give
    the same first separating iteration for every test and group, and the refinement proves every "never"."""
    pair = PAIRS[name]
    for group in GROUPS:
        for test in TESTS:
            found = separation(pair.exact_a, pair.exact_b, test, group)
            expected = distinguish(pair, test=test, group=group, exact=True).iteration
            assert found.iteration == expected and (expected is not None or found.never), (test, group, found)


def test_kchains_claimed_never_separated_by_gwl_fail():
    """The issue's case: GWL separates the 4-chains at iteration 3, so "never" must not be certified."""
    pair = PAIRS["kchains-4"]
    wrong = replace(pair, claims=claims({t: None for t in TESTS}))
    assert _failed(wrong) == {"gwl under O(3) never separates", "gwl under SO(3) never separates"}


MISLABEL = {"kchains-4": ("gwl",), "kchains-6": ("gwl",), "chiral-helix": ("gwl",), "onehop-cubic": ("gwl",),
            "bodyorder-2": ("igwl-3", "gwl"), "bodyorder-3": ("igwl-4",), "chiral-tetrahedral": ("igwl-4",)}


@pytest.mark.parametrize("name", MISLABEL)
def test_claims_mislabelled_at_every_iteration_fail(name):
    """For a test that first separates at t: claims of t - 1, t + 1 and never all fail, each by its own check
    (labellings that break the claims' hierarchy are refused by Pair itself)."""
    pair = PAIRS[name]
    tried = 0
    for test in MISLABEL[name]:
        for group in GROUPS:
            t = pair.claim(test, group)
            if t is None:
                continue
            for wrong in {t - 1, t + 1, None} - {-1}:
                table = dict(pair.claims)
                table[test, group] = wrong
                try:
                    mislabelled = replace(pair, claims=table)
                except ValueError:
                    continue
                when = "never separates" if wrong is None else f"first separates at iteration {wrong}"
                assert f"{test} under {group} {when}" in _failed(mislabelled), (test, group, wrong)
                tried += 1
    assert tried >= 2


def test_a_claim_beyond_the_budget_is_unverified_and_not_ok():
    pair = PAIRS["kchains-4"]
    cert = certify(pair, budget=50)
    assert not cert.ok and not cert.failures() and cert.unverified()
    assert all(c.status == "unverified" for c in cert.unverified())
    text = str(cert)
    assert text.startswith("certificate for kchains-4: NOT CERTIFIED: 0 failed") and "UNVERIFIED gwl under O(3)" in text
    assert certify(pair, budget=None).ok


def test_separation_reports_what_it_proved():
    pair = PAIRS["kchains-4"]
    early = separation(pair.exact_a, pair.exact_b, "gwl", max_iter=2)
    assert (early.iteration, early.checked, early.stable, early.never) == (None, 2, False, False)
    assert separation(pair.exact_a, pair.exact_b, "gwl", budget=50).exhausted
    never = separation(pair.exact_a, pair.exact_b, "igwl", "SO(3)")
    assert never.never and never.iteration is None
    with pytest.raises(ValueError, match="unknown test"):
        separation(pair.exact_a, pair.exact_b, "gwl-2")
    with pytest.raises(ValueError, match="status must be"):
        Check("a claim", "probably", "no evidence")


def test_certification_does_not_use_the_gwl_implementation():
    code = ("import sys, counterexamples; from counterexamples.certify import certify; "
            "assert certify(counterexamples.load('kchains-4')).ok; "
            "print(sorted(m for m in sys.modules if m.startswith('dojo.gwl')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_certify_a_users_float_graphs():
    """Float graphs are certified exactly as given (floats are binary fractions)."""
    a = geometric_graph([[0, 0, 0], [1, 0, 0], [0, 2, 0], [0, 0, 3]], [(0, 1), (0, 2), (0, 3)], dtype=torch.float64)
    b = geometric_graph([[0, 0, 0], [1, 0, 0], [0, 2, 0], [0, 0, -3]], [(0, 1), (0, 2), (0, 3)], dtype=torch.float64)
    assert congruence(a, b, "O(3)") is not None and congruence(a, b, "SO(3)") is None
    ma, mb = k_body_multisets(a, b, 4, "SO(3)")
    assert ma != mb
    assert as_exact(a).coords[3, 2] == 3


def test_bad_input_is_refused():
    pair = PAIRS["kchains-2"]
    with pytest.raises(ValueError, match="k must be"):
        k_body_multisets(pair.exact_a, pair.exact_b, 6)
    with pytest.raises(ValueError, match="unknown group"):
        congruence(pair.exact_a, pair.exact_b, "E(3)")
    with pytest.raises(ValueError, match="not orthogonal"):
        is_symmetry(pair.exact_a, sympy.diag(2, 1, 1))
    with pytest.raises(ValueError, match="must be 3x3"):
        maps_onto(pair.exact_a, pair.exact_b, sympy.eye(2))
    with pytest.raises(ValueError, match="algebraic"):
        neighbourhood_counts(ExactGraph([[0, 0, 0], [sympy.pi, 0, 0]], [(0, 1)], [0, 0]), pair.exact_b)
    with pytest.raises(ValueError, match="expected a counterexamples.Pair"):
        certify(pair.exact_a)
    with pytest.raises(ValueError, match="chiral"):
        counterexamples.load("controls", source="chiral-tetrahedral")


points = st.lists(st.tuples(*[st.integers(-3, 3)] * 3), min_size=3, max_size=6, unique=True)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(points=points, seed=st.integers(0, 10**6), reflect=st.booleans())
def test_certificates_are_invariant_under_exact_rigid_motions(points, seed, reflect):
    """A rotated (or reflected), translated, relabelled copy: congruent, equal invariants, a local isomorphism, and
    exact refinement proves by itself that GWL and IGWL never separate it from the original."""
    rng = random.Random(seed)
    n = len(points)
    edges = [(i, i + 1) for i in range(n - 1)] + [(0, n - 1)] * (n > 3)
    graph = ExactGraph(points, edges, [i % 2 for i in range(n)])
    rot = exact_rotation(rng, reflect)
    perm = list(range(n))
    rng.shuffle(perm)
    moved = graph.coords * rot.T + sympy.ones(n, 1) * sympy.Matrix([[1, sympy.Rational(-2, 3), 5]])
    coords, types = [None] * n, [None] * n
    for i, p in enumerate(perm):
        coords[p], types[p] = list(moved.row(i)), graph.types[i]
    copy = ExactGraph(coords, [(perm[i], perm[j]) for i, j in graph.edges], types)
    assert congruence(graph, copy, "O(3)") is not None
    for k in (2, 3, 4):
        ma, mb = k_body_multisets(graph, copy, k, "O(3)")
        assert ma == mb
    assert all(x == y for x, y in neighbourhood_counts(graph, copy, "O(3)"))
    assert local_isomorphism(graph, copy, "O(3)") is not None
    assert separation(graph, copy, "gwl", "O(3)").never and separation(graph, copy, "igwl", "O(3)").never
    if not reflect:
        assert separation(graph, copy, "gwl", "SO(3)").never
        assert congruence(graph, copy, "SO(3)") is not None
        ma, mb = k_body_multisets(graph, copy, 4, "SO(3)")
        assert ma == mb


def test_dojo_list_certify_shows_every_pairs_certificate(capsys):
    from dojo.cli import main

    assert main(["list", "--family", "distance_degenerate", "--certify"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| distance_degenerate-")]
    assert len(rows) == len(counterexamples.pairs("distance_degenerate")) and all("checks verified" in r for r in rows)
