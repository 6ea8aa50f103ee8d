"""Exact colour refinement of two graphs under any test of the family: when does it first separate them?

The independent counterpart of ``dojo.gwl.distinguish`` (nothing here imports ``dojo.gwl``): one colour table shared
by both graphs, steps from :mod:`~counterexamples.certify.invariants` (WL, IGWL_(k), IGWL) and
:mod:`~counterexamples.certify.trees` (GWL), every comparison exact. The graphs are separated at iteration ``t``
when their colour multisets differ at ``t`` (0: node types).

Stopping. Every key holds the previous colour, so the joint partition only splits. For WL and the invariant tests
the colours at ``t + 1`` are a function of the partition at ``t``: once an iteration splits nothing, no later one
does, and the graphs are never separated. GWL's trees also carry orientation, so the refinement stops only when
the partition and every node's (rank, number of tree symmetries) are unchanged (proof in
:mod:`~counterexamples.certify.trees`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace

from torch_geometric.data import Data

from counterexamples.certify.budget import BUDGET, Budget, OverBudget
from counterexamples.certify.exact import Exact, check_group, exact_pair
from counterexamples.certify.invariants import KBody, igwl_step, wl_step
from counterexamples.certify.trees import Trees
from counterexamples.pair import TESTS, ExactGraph

__all__ = ["Separation", "separation", "wl_separation", "MIRROR_BLIND"]

#: Tests that see at most three points at once (a node and two neighbours): three points lie in a plane, so their
#: mirror image is a rotation of them, and these tests refine alike under O(3) and SO(3) (one run serves both).
MIRROR_BLIND = ("wl", "igwl-2", "igwl-3")


@dataclass(frozen=True)
class Separation:
    """What exact refinement found.

    ``iteration``: the first iteration at which the colour multisets differ (``None``: not up to ``checked``).
    ``stable``: the refinement reached a state that never changes, so ``iteration is None`` means never.
    ``exhausted``: the size budget ran out after iteration ``checked`` (the answer is then incomplete).
    """

    test: str
    group: str
    iteration: int | None
    checked: int
    stable: bool
    exhausted: bool

    @property
    def never(self) -> bool:
        """True when it is proven that the test never separates the graphs."""
        return self.iteration is None and self.stable


def separation(a: ExactGraph | Data, b: ExactGraph | Data, test: str, group: str = "O(3)",
               max_iter: int | None = None, budget: int | None = BUDGET) -> Separation:
    """Refine ``a`` and ``b`` exactly under ``test`` until they separate, nothing can change, ``max_iter``
    iterations have run, or ``budget`` units of work (tuples, tree nodes, matchings) are spent.

    Examples
    --------
    >>> from counterexamples import load
    >>> pair = load("kchains", k=4)
    >>> separation(pair.exact_a, pair.exact_b, "gwl").iteration, separation(pair.exact_a, pair.exact_b, "igwl").never
    (3, True)
    """
    if test not in TESTS:
        raise ValueError(f"separation: unknown test {test!r}. Fix: one of {TESTS}.")
    if max_iter is not None and (not isinstance(max_iter, int) or max_iter < 0):
        raise ValueError(f"separation: max_iter must be a non-negative integer or None, got {max_iter!r}. "
                         "Fix: pass e.g. max_iter=3, or None to refine until nothing can change.")
    so3 = check_group(group) and test not in MIRROR_BLIND
    graphs = exact_pair(a, b)
    memo = ("separation", test, so3, max_iter, budget)  # certify asks under both groups
    if memo not in graphs[0].memo:
        graphs[0].memo[memo] = _refine(test, graphs, so3, max_iter, budget)
    return replace(graphs[0].memo[memo], group=group)


def _refine(test: str, graphs: Sequence[Exact], so3: bool, max_iter: int | None, budget: int | None) -> Separation:
    group = "SO(3)" if so3 else "O(3)"
    spend = Budget(budget)
    step = None  # built on first use: building it (IGWL_(k)'s tuples) already counts against the budget
    colours = _relabel([list(g.types) for g in graphs])
    signature: Hashable = None
    t = 0
    while True:
        if Counter(colours[0]) != Counter(colours[1]):
            return Separation(test, group, t, t, False, False)
        if max_iter is not None and t >= max_iter:
            return Separation(test, group, None, t, False, False)
        try:
            step = step or _stepper(test, graphs, so3, spend)
            keys, new_signature = step(colours, t + 1)
        except OverBudget:
            return Separation(test, group, None, t, False, True)
        new = _relabel(keys)
        t += 1
        if _count(new) == _count(colours) and new_signature == signature:
            return Separation(test, group, None, t, True, False)
        colours, signature = new, new_signature


def _stepper(test: str, graphs: Sequence[Exact], so3: bool, spend: Budget) -> Callable:
    """``step(colours, t) -> (keys, signature)`` for ``test`` (the signature is None except for GWL)."""
    if test == "wl":
        return lambda colours, t: (wl_step(graphs, colours), None)
    if test == "igwl":
        return lambda colours, t: (igwl_step(graphs, colours, so3, spend), None)
    if test == "gwl":
        return Trees(graphs, so3, spend).step
    kbody = KBody(graphs, int(test.split("-")[1]), so3, spend)  # igwl-k
    return lambda colours, t: (kbody.step(colours), None)


def wl_separation(a: ExactGraph | Data, b: ExactGraph | Data) -> int | None:
    """The first iteration at which 1-WL colour refinement (node types, no geometry) separates the graphs:
    ``separation(a, b, "wl", budget=None).iteration``.

    The WL step is written out rather than taken from networkx's ``weisfeiler_lehman_graph_hash`` because the
    certificate must be exact: colours are indices into one table shared by both graphs, so there are no hash
    collisions. Returns 0
    when the type multisets differ, ``None`` when the refinement stabilises unseparated.
    """
    return separation(a, b, "wl", budget=None).iteration


def _relabel(keys: list[list[Hashable]]) -> list[list[int]]:
    table: dict[Hashable, int] = {}
    return [[table.setdefault(k, len(table)) for k in graph] for graph in keys]


def _count(colours: list[list[int]]) -> int:
    return len({c for graph in colours for c in graph})
