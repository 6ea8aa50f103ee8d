"""controls: a graph and a rotated, reflected, translated and relabelled copy of itself, in exact arithmetic."""

from __future__ import annotations

import random

import sympy

from counterexamples.certify import congruence
from counterexamples.pair import ExactGraph, Pair, TESTS, claims
from counterexamples.registry import family, load

__all__ = ["controls", "exact_rotation"]


def exact_rotation(rng: random.Random, reflect: bool = False) -> sympy.Matrix:
    """A random exact orthogonal matrix: the rotation of a random integer quaternion, negated if ``reflect``.

    A quaternion ``(w, x, y, z)`` with integer entries gives a rotation matrix with rational entries (its
    products divided by ``w^2 + x^2 + y^2 + z^2``), so the copy stays exact. ``-R`` has determinant -1: a rotation
    composed with the point reflection, i.e. an improper orthogonal map.
    """
    q = (0, 0, 0, 0)
    while q == (0, 0, 0, 0):
        q = tuple(rng.randint(-4, 4) for _ in range(4))
    rot = quaternion_rotation(q)
    return -rot if reflect else rot


def quaternion_rotation(q: tuple[int, int, int, int]) -> sympy.Matrix:
    """The rotation of the non-zero integer quaternion ``q = (w, x, y, z)``: a rational orthogonal matrix of
    determinant 1."""
    w, x, y, z = q
    return sympy.Matrix([
        [w * w + x * x - y * y - z * z, 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), w * w - x * x + y * y - z * z, 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), w * w - x * x - y * y + z * z],
    ]) / (w * w + x * x + y * y + z * z)


def _moved_copy(graph: ExactGraph, rng: random.Random, reflect: bool) -> ExactGraph:
    rot = exact_rotation(rng, reflect)
    shift = sympy.Matrix([[sympy.Rational(rng.randint(-30, 30), rng.randint(1, 4)) for _ in range(3)]])
    moved = graph.coords * rot.T + sympy.ones(graph.num_nodes, 1) * shift
    perm = list(range(graph.num_nodes))  # node i of the graph becomes node perm[i] of the copy
    rng.shuffle(perm)
    coords, types = [None] * graph.num_nodes, [None] * graph.num_nodes
    for i, p in enumerate(perm):
        coords[p], types[p] = list(moved.row(i)), graph.types[i]
    return ExactGraph(coords, [(perm[i], perm[j]) for i, j in graph.edges], types)


@family("controls", defaults=[{"source": s} for s in ("kchains-4", "bodyorder-3", "onehop-cyclohexane")])
def controls(source: str = "kchains-4", seed: int = 0, reflect: bool = True) -> Pair:
    """ISOMORPHIC CONTROL: graph ``a`` of the pair ``source`` and a randomly moved copy of it.

    ``b`` is ``a`` under an exact random orthogonal map (from an integer quaternion; with ``reflect``, times -1,
    so improper), plus a random rational translation and a random node permutation, all drawn from
    ``random.Random(seed)`` (deterministic).

    Claims: the graphs are congruent by construction, under O(3) -- and under SO(3) as well, because a reflected
    copy of an achiral graph is also a rotated copy (an achiral graph equals a rotation of its mirror image). So
    every test never separates (all claims ``None``); a test or model that separates a control is broken.

    Raises ``ValueError`` when ``reflect`` is set and the source graph is chiral (checked exactly): its mirror copy
    would be congruent under O(3) only -- that is the ``chiral`` family, not a control.

    Reference: the isomorphic controls of reliable paired comparisons (Wang & Zhang, BREC, ICML 2024).

    Examples
    --------
    >>> pair = controls("kchains-4", seed=0)
    >>> pair.is_control, pair.claim("gwl"), pair.exact_a.num_nodes == pair.exact_b.num_nodes
    (True, None, True)
    """
    if not isinstance(seed, int):
        raise ValueError(f"controls: seed must be an integer, got {seed!r}.")
    a = load(source).exact_a
    if reflect:
        mirror = ExactGraph(a.coords * sympy.diag(-1, 1, 1), a.edges, a.types)
        if congruence(a, mirror, "SO(3)") is None:
            raise ValueError(f"controls: the source graph of {source!r} is chiral, so its reflected copy is not "
                             "congruent under SO(3). Fix: reflect=False, or see the 'chiral' family.")
    b = _moved_copy(a, random.Random(seed), reflect)
    return Pair(
        name=f"controls-{source}" + (f"-seed{seed}" if seed else "") + ("" if reflect else "-proper"),
        family="controls",
        params={"source": source, "seed": seed, "reflect": reflect},
        description=f"isomorphic control: graph a of {source} and a {'reflected' if reflect else 'rotated'}, "
                    "translated, relabelled copy",
        reference="by construction (exact random rigid motion); controls as in BREC (Wang & Zhang, ICML 2024)",
        task="invariant",
        exact_a=a,
        exact_b=b,
        claims=claims({t: None for t in TESTS}),
        congruent_under=frozenset({"O(3)", "SO(3)"}),
    )
