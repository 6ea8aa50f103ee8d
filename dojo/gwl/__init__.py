"""The geometric Weisfeiler-Leman family: WL, IGWL_(k), IGWL and GWL, exact or in floats.

One module per test: :mod:`~dojo.gwl.wl`, :mod:`~dojo.gwl.igwl_k` (IGWL_(k)), :mod:`~dojo.gwl.igwl`,
:mod:`~dojo.gwl.gwl`; canonical forms in :mod:`~dojo.gwl.canonical`, numbers in :mod:`~dojo.gwl.arithmetic`, the
shared refinement loop in :mod:`~dojo.gwl.refinement`, neighbourhood moments in :mod:`~dojo.gwl.orientation`.

>>> import counterexamples
>>> from dojo.gwl import distinguish
>>> pair = counterexamples.load("kchains", k=4)
>>> distinguish(pair, test="gwl").iteration, distinguish(pair, test="igwl").iteration
(3, None)
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence

import torch
from torch_geometric.data import Data

from counterexamples.pair import GROUPS, TESTS, ExactGraph, Pair
from dojo.graphs import check_graph
from dojo.gwl.arithmetic import MAX_TOL, TOL_LADDER, Arithmetic, PrecisionError, arithmetic
from dojo.gwl.gwl import GWL
from dojo.gwl.igwl import IGWL
from dojo.gwl.igwl_k import IGWLk
from dojo.gwl.orientation import orientation_order
from dojo.gwl.refinement import Refiner, Verdict, neighbours, refine, verdict
from dojo.gwl.wl import WL

__all__ = ["TESTS", "GROUPS", "Verdict", "PrecisionError", "distinguish", "colors", "color_history",
           "orientation_order"]

Graph = Data | ExactGraph


def distinguish(
    a: Graph | Pair,
    b: Graph | None = None,
    test: str = "gwl",
    group: str = "O(3)",
    max_iter: int | None = None,
    exact: bool = False,
    tol: float | None = None,
) -> Verdict:
    """Run a geometric Weisfeiler-Leman test on two graphs, with one shared colour table.

    Parameters
    ----------
    a, b : Data or ExactGraph
        The two geometric graphs. Alternatively pass a counterexample :class:`~counterexamples.pair.Pair` as ``a``
        and leave ``b`` out: its exact graphs are used in exact mode, its float64 views otherwise.
    test : str
        ``"wl"``, ``"igwl-k"`` for a body order ``k >= 2`` (``"igwl-2"`` ... ``"igwl-5"``), ``"igwl"`` or ``"gwl"``.
    group : str
        ``"O(3)"`` (mirror images identified) or ``"SO(3)"`` (chirality-aware).
    max_iter : int, optional
        Stop after this many iterations. Without it the test refines until the joint colour partition (and, for
        GWL, every node's symmetry) stops changing: at most ``N_a + N_b`` iterations for WL and the invariant
        tests; GWL splits the partition at most ``N_a + N_b - 1`` times (see :mod:`dojo.gwl.refinement`).
    exact : bool
        Exact arithmetic end to end (sympy number fields; no tolerance). An ExactGraph's exact coordinates are used;
        a ``Data``'s float coordinates are taken as the exact binary fractions they are.
    tol : float, optional
        Float mode only: the tolerance on length-normalised values (see :mod:`dojo.gwl.arithmetic` for the
        scale-aware default).

    Returns
    -------
    Verdict
        ``distinguished``, ``iteration`` (first iteration at which the colour multisets differ, 0 = node types;
        None if never), the per-iteration colour ``histograms`` of both graphs and, in float mode, the ``tol``
        used. The run stops at the first separation.

    Raises
    ------
    ValueError
        For an unknown test or group, a negative ``max_iter``, or a graph that breaks the conventions
        (:func:`dojo.graphs.check_graph`).
    PrecisionError
        (a ValueError) In float mode, when the positions do not hold enough digits to decide: some geometric
        decision sits within rounding noise of every tolerance tried (see :mod:`dojo.gwl.arithmetic`).

    Examples
    --------
    >>> from dojo.graphs import geometric_graph
    >>> left = geometric_graph([[0, 0, 0], [1, 0, 0], [0, 2, 0], [0, 0, 3]], [(0, 1), (0, 2), (0, 3)])
    >>> right = geometric_graph([[0, 0, 0], [1, 0, 0], [0, 2, 0], [0, 0, -3]], [(0, 1), (0, 2), (0, 3)])
    >>> distinguish(left, right, test="igwl", group="O(3)").distinguished   # mirror images
    False
    >>> distinguish(left, right, test="igwl-4", group="SO(3)").iteration  # handedness of the 4-body term
    1
    """
    arith = None  # built by _decide unless the pair has one already
    if isinstance(a, Pair):
        if b is not None:
            raise ValueError("distinguish(pair, b): give either a Pair or two graphs. Fix: distinguish(pair, test=...).")
        pair, (a, b) = a, ((a.exact_a, a.exact_b) if exact else a.graphs(torch.float64))
        arith = _pair_arithmetic(pair, [a, b], exact) if tol is None else None
    if b is None:
        raise ValueError("distinguish needs two graphs. Fix: distinguish(a, b, ...) or distinguish(pair, ...).")
    history, used = _decide([a, b], test, group, exact, tol, _check_iterations(max_iter), True, arith)
    return verdict(test, group, exact, history, used)


def colors(
    graph: Graph,
    test: str = "gwl",
    group: str = "O(3)",
    iterations: int | None = None,
    exact: bool = False,
    tol: float | None = None,
) -> torch.Tensor:
    """Per-node colours of one graph after ``iterations`` refinement steps (default: until stable).

    Colours are numbered by the sorted order of their canonical keys, so they do not depend on how the nodes are
    numbered or where the graph sits in space: a rigidly moved, permuted copy gets the same colour histogram at the
    same tolerance. (Float mode's default tolerance grows with the distance from the origin, where positions keep
    fewer digits: pass ``tol=`` to compare lone runs of graphs placed differently.) To compare colours of two
    graphs use :func:`distinguish` (one shared table and tolerance).

    Returns
    -------
    torch.Tensor
        Long tensor ``[N]``.

    Examples
    --------
    >>> from dojo.graphs import geometric_graph
    >>> path = geometric_graph([[0, 0, 0], [1, 0, 0], [2, 0, 0], [2, 1, 0]], [(0, 1), (1, 2), (2, 3)])
    >>> colors(path, test="wl").tolist(), colors(path, test="igwl").tolist()   # IGWL sees the bend
    ([0, 1, 1, 0], [1, 0, 3, 2])
    """
    return color_history(graph, test, group, iterations, exact, tol)[-1]


def color_history(
    graph: Graph,
    test: str = "gwl",
    group: str = "O(3)",
    iterations: int | None = None,
    exact: bool = False,
    tol: float | None = None,
) -> list[torch.Tensor]:
    """The colours of :func:`colors` at every iteration ``0..T`` of one run: ``T`` is ``iterations``, or earlier
    the iteration at which the partition became stable (later ones repeat it). In exact mode entry ``t`` equals
    ``colors(graph, ..., iterations=t, exact=True)``; in float mode every entry is decided at the one tolerance of
    the whole run, which a shorter run may not need to raise.

    Examples
    --------
    >>> from dojo.graphs import geometric_graph
    >>> path = geometric_graph([[0, 0, 0], [1, 0, 0], [2, 0, 0], [2, 1, 0]], [(0, 1), (1, 2), (2, 3)])
    >>> [c.tolist() for c in color_history(path, test="igwl")]
    [[0, 0, 0, 0], [1, 0, 2, 1], [1, 0, 3, 2], [1, 0, 3, 2]]
    """
    history, _ = _decide([graph], test, group, exact, tol, _check_iterations(iterations), False)
    return [torch.tensor(colours[0], dtype=torch.long) for colours in history]


#: Per pair, the arithmetic of each mode: its memoised products serve every test run on the pair.
_ARITHMETIC: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _pair_arithmetic(pair: Pair, graphs: list[Graph], exact: bool) -> Arithmetic:
    """The pair's arithmetic in this mode, built once (its memoised products serve every test)."""
    cache = _ARITHMETIC.setdefault(pair, {})
    if exact not in cache:
        cache[exact] = arithmetic(graphs, exact)
    return cache[exact]


def parse_test(test: str) -> int | None:
    """The body order ``k`` of ``"igwl-k"``; None for the other tests. Raises ValueError for unknown names."""
    if not isinstance(test, str):
        raise ValueError(f"test must be a test name, got {type(test).__name__} {test!r}. Fix: one of {TESTS} "
                         "(any 'igwl-k' with k >= 2 works).")
    if test in ("wl", "igwl", "gwl"):
        return None
    head, _, k = test.partition("-")
    if head == "igwl" and k.isdigit() and int(k) >= 2:
        return int(k)
    raise ValueError(f"unknown test {test!r}. Fix: one of {TESTS} (any 'igwl-k' with k >= 2 works).")


def _check_iterations(value: int | None) -> int | None:
    if value is not None and (not isinstance(value, int) or value < 0):
        raise ValueError(f"the number of iterations must be a non-negative int, got {value!r}. Fix: e.g. 3, or None.")
    return value


def _decide(graphs: Sequence[Graph], test: str, group: str, exact: bool, tol: float | None,
            max_iter: int | None, stop_when_separated: bool, arith: Arithmetic | None = None,
            ) -> tuple[list[list[list[int]]], float | None]:
    """Refine ``graphs`` and return the history and the float tolerance used (None: exact or WL).

    Float mode counts the decisions whose quantity lies within rounding noise of the tolerance (a rank, a tie, or a
    gap between values of a lone graph); such a run could answer differently for a moved copy of a graph. It is
    rerun at the next tolerance of :data:`~dojo.gwl.arithmetic.TOL_LADDER` (several times the default, so that a
    decision at one tolerance sits well inside another), and when every tolerance has a fragile decision, or the
    user's own ``tol`` has one, :class:`~dojo.gwl.arithmetic.PrecisionError` says so instead of answering.
    """
    k = parse_test(test)
    if group not in GROUPS:
        raise ValueError(f"unknown group {group!r}. Fix: one of {GROUPS}.")
    checked = [check_graph(g.graph(torch.float64) if isinstance(g, ExactGraph) else g, name)
               for g, name in zip(graphs, "ab")]
    types = [g.z.tolist() for g in checked]
    adjacency = [neighbours(g) for g in checked]
    if test == "wl":
        return refine(WL(types, adjacency), max_iter, stop_when_separated), None
    base = arith or arithmetic(graphs, exact, tol)
    if exact:
        return refine(_refiner(types, adjacency, base, group, k, test), max_iter, stop_when_separated), None
    # the default tolerance is at most MAX_TOL (arithmetic refuses otherwise), so the ladder holds at least it
    tried = [base.tol] if tol is not None else [m * base.tol for m in TOL_LADDER if m * base.tol <= MAX_TOL]
    for value in tried:
        run = base.with_tol(value)
        history = refine(_refiner(types, adjacency, run, group, k, test), max_iter, stop_when_separated)
        if not run.fragile:
            return history, value
    raise PrecisionError(
        f"float mode cannot decide {test} [{group}] on these graphs: a geometric decision (a rank, a tie or an "
        f"equality) sits within rounding noise ({base.noise:.1e} of the longest edge) of every tolerance tried "
        f"({', '.join(f'{t:.1e}' for t in tried)}), so the answer would depend on where the graphs "
        "sit in space. Fix: exact=True with exact coordinates, float64 positions centred near the origin, or a "
        "tol= far from the quantities in question.")


def _refiner(types: list[list[int]], adjacency: list[list[list[int]]], arith: Arithmetic, group: str,
             k: int | None, test: str) -> Refiner:
    chiral = group == "SO(3)"
    if k is not None:
        return IGWLk(types, adjacency, arith, chiral, k)
    return (GWL if test == "gwl" else IGWL)(types, adjacency, arith, chiral)
