"""Exact mode's number fields (dojo.gwl.arithmetic): every exact coordinate sympy can place in a number field works.

Exact ids must agree with equality of the real numbers: the property tests build random expressions from rationals,
radicals (nested too) and cos/sin of rational multiples of pi with +, *, / and integer powers, and compare the ids
with 60-digit numeric evaluation.
"""

from __future__ import annotations

import pytest
import sympy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import counterexamples
from counterexamples import ExactGraph
from counterexamples.certify import certify
from dojo.gwl import distinguish
from dojo.gwl.arithmetic import ExactArithmetic

PHI = (1 + sympy.sqrt(5)) / 2
INV_PHI = 2 / (1 + sympy.sqrt(5))  # how Li et al.'s code writes 1/phi: a negative power of an irrational sum

#: Irrational building blocks; each example draws at most two, so its number field stays small and fast (three
#: atoms of degree 3 to 6 can take sympy's primitive_element seconds).
ATOMS = [sympy.sqrt(2), sympy.sqrt(5), 1 + sympy.sqrt(5), sympy.sqrt(2 + sympy.sqrt(3)), sympy.cbrt(3),
         sympy.cos(sympy.pi / 7), sympy.sin(sympy.pi / 14), sympy.sin(sympy.pi / 9)]


def _ids(values: list) -> list[int]:
    """Exact-mode ids of numbers, all placed in one field (as coordinates of one graph)."""
    arith = ExactArithmetic([[[v, 0, 0] for v in values]])
    return arith.ids([p[0] for p in arith.geometries[0].points]).tolist()


def _expressions(atoms: list) -> st.SearchStrategy:
    """Sums, products and quotients of up to five leaves: rationals and integer powers (-2..3) of the atoms."""
    powers = st.tuples(st.sampled_from(atoms), st.integers(-2, 3)).map(lambda t: t[0] ** t[1])
    leaves = st.one_of(powers, st.fractions(-3, 3, max_denominator=4).map(sympy.Rational))

    def extend(inner):
        return st.one_of(
            st.tuples(inner, inner).map(lambda t: t[0] + t[1]),
            st.tuples(inner, inner).map(lambda t: t[0] * t[1]),
            st.tuples(inner, inner).map(lambda t: t[0] / t[1] if t[1] != 0 else t[0]),
        )

    return st.recursive(leaves, extend, max_leaves=5)


@st.composite
def expression_lists(draw) -> list:
    atoms = draw(st.lists(st.sampled_from(ATOMS), min_size=1, max_size=2, unique=True))
    values = draw(st.lists(_expressions(atoms), min_size=2, max_size=4))
    # the same numbers again, written differently (no new atoms): equal ids required
    values += [sympy.expand(values[0]), sympy.Mul(values[1], values[0], 1 / values[0], evaluate=False)
               if values[0] != 0 else values[1]]
    return values


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=expression_lists())
def test_ids_are_equality_of_real_numbers(values):
    numeric = [sympy.N(v, 60) for v in values]
    assume(all(n.is_finite and n.is_real for n in numeric))
    ids = _ids(values)
    for x in range(len(values)):
        for y in range(x):
            assert (ids[x] == ids[y]) == (abs(numeric[x] - numeric[y]) < 1e-40), (values[x], values[y])


IDENTITIES = [
    (sympy.sqrt(2 + sympy.sqrt(3)), (sympy.sqrt(6) + sympy.sqrt(2)) / 2, sympy.sqrt(3)),  # a nested radical, denested
    (INV_PHI, PHI - 1, PHI),                                                   # inverses of an irrational sum
    (1 / PHI ** 2, 2 - PHI, PHI - 2),
    (8 * sympy.cos(sympy.pi / 7) ** 3 - 4 * sympy.cos(sympy.pi / 7) ** 2 - 4 * sympy.cos(sympy.pi / 7) + 1,
     sympy.Integer(0), sympy.cos(sympy.pi / 7) / 10**9),                          # cos(pi/7)'s minimal polynomial
    (sympy.Integer(8) ** sympy.Rational(3, 4), 4 * sympy.root(2, 4), sympy.root(2, 4) ** 3),  # rational powers
    ((1 + sympy.sqrt(5)) ** sympy.Rational(-3, 2), INV_PHI / (2 * sympy.sqrt(1 + sympy.sqrt(5))), INV_PHI),
    (sympy.sin(sympy.pi / 12) * sympy.cos(sympy.pi / 12), sympy.Rational(1, 4), sympy.sin(sympy.pi / 12)),
    (PHI, PHI, sympy.Rational(1618034, 1000000)),                               # a close rational is not PHI
]


@pytest.mark.parametrize("equal_1, equal_2, other", IDENTITIES)
def test_identities_between_differently_written_numbers(equal_1, equal_2, other):
    """Numbers that are equal although written with different atoms get one id; a near miss gets another."""
    ids = _ids([equal_1, equal_2, other])
    assert ids[0] == ids[1] != ids[2]


def test_division_by_an_exact_zero_is_refused():
    hidden_zero = sympy.sqrt(2 + sympy.sqrt(3)) - (sympy.sqrt(6) + sympy.sqrt(2)) / 2
    with pytest.raises(ValueError, match="exactly zero"):
        ExactArithmetic([[[1 / hidden_zero, 0, 0]]])


def _scaled(graph: ExactGraph, factor, shift) -> ExactGraph:
    coords = [[factor * c + s for c, s in zip(graph.coords.row(i), shift)] for i in range(graph.num_nodes)]
    return ExactGraph(coords, graph.edges, graph.types)


def test_golden_ratio_coordinates_through_distinguish_and_certify():
    """Regression: coordinates holding 1/phi as 2/(1 + sqrt(5)) (Li et al.) in exact mode and in certification."""
    pair = counterexamples.load("kchains", k=3)
    shift = (PHI, INV_PHI ** 2, INV_PHI)
    a, b = _scaled(pair.exact_a, INV_PHI, shift), _scaled(pair.exact_b, INV_PHI, shift)
    for test in ("igwl", "gwl"):
        assert distinguish(a, b, test=test, exact=True).iteration == pair.claim(test)
    golden = counterexamples.Pair(name="kchains-3-golden", family="mine", params={}, description="kchains-3 scaled",
                                  reference="test", task="invariant", exact_a=a, exact_b=b, claims=pair.claims)
    assert certify(golden).ok, str(certify(golden))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(_expressions([sympy.sqrt(5), sympy.cos(sympy.pi / 5) ** -1]), min_size=6, max_size=6))
def test_a_graph_and_its_rewritten_copy_are_not_separated(values):
    """Coordinates written in another form (expanded, rationalised) give the same exact graph."""
    assume(all(sympy.N(v, 30).is_real for v in values))
    coords = [values[0:3], values[3:6], [0, 0, 0]]
    rewritten = [[sympy.radsimp(sympy.expand(c)) for c in row] for row in coords]
    a = ExactGraph(coords, [(0, 1), (1, 2)], [0, 0, 0])
    b = ExactGraph(rewritten, [(0, 1), (1, 2)], [0, 0, 0])
    assert not distinguish(a, b, test="gwl", exact=True).distinguished
