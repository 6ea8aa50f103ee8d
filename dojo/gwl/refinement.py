"""Colour refinement on several graphs at once, with one shared table of colours, and the verdict it gives.

A test family is a :class:`Refiner`: it turns the colours of iteration ``t-1`` into a hashable, totally ordered key
per node (its new colour before relabelling). The driver :func:`refine` relabels the keys of *all* graphs together
by their sorted order, so equal keys get equal colours in every graph and the colours of a graph do not depend on
how its nodes are numbered, and stops when nothing can change any more.

Stopping. Every key contains the node's previous colour, so the joint partition only ever splits, at most
``N_a + N_b - 1`` times. For WL and the invariant tests the colours are a function of the previous colours alone:
once an iteration does not split the partition, no later one does, so at most ``N_a + N_b`` iterations run.
GWL's objects also carry frames (a refiner's :meth:`Refiner.signature`), and an object can lose a symmetry without
its class splitting, which can split the partition later; the driver therefore stops when neither the partition
nor the signature changed. Ranks only grow (at most 3 times per node) and frame sets only shrink, so this also
terminates: at most ``N_a + N_b - 1`` splits, each separated by finitely many symmetry-breaking iterations.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from torch_geometric.data import Data

__all__ = ["Refiner", "Verdict", "refine", "verdict", "neighbours"]


def neighbours(graph: Data) -> list[list[int]]:
    """Sorted neighbour lists of a checked graph."""
    out: list[list[int]] = [[] for _ in range(graph.num_nodes)]
    for i, j in graph.edge_index.t().tolist():
        out[i].append(j)
    return [sorted(n) for n in out]


class Refiner(ABC):
    """One colour-refinement test on a list of graphs (one run, one shared colour table)."""

    def __init__(self, types: Sequence[Sequence[int]], adjacency: Sequence[list[list[int]]]) -> None:
        self.types = [list(t) for t in types]
        self.adjacency = list(adjacency)

    def initial(self) -> list[list[Hashable]]:
        """Keys of iteration 0: the node types."""
        return [list(t) for t in self.types]

    @abstractmethod
    def step(self, colours: list[list[int]]) -> list[list[Hashable]]:
        """Keys of the next iteration, from the current colours of every graph."""

    def signature(self) -> Hashable:
        """State beyond the colours that the next iteration depends on (None when there is none)."""
        return None


@dataclass
class Verdict:
    """What a test says about two graphs.

    Attributes
    ----------
    test, group : str
        The test (``"gwl"``, ``"igwl-3"``, ...) and the group (``"O(3)"`` or ``"SO(3)"``).
    exact : bool
        Whether exact arithmetic was used.
    distinguished : bool
        Whether the colour multisets of the two graphs differ at some iteration.
    iteration : int or None
        The first iteration at which they differ (0 = initial node types), or None.
    histograms : list of (dict, dict)
        For every iteration run, the colour histograms ``{colour: count}`` of ``a`` and ``b``. Colours are shared:
        the same colour in both graphs means the same class.
    tol : float or None
        Float mode: the tolerance the answer was decided at, in units of the longest edge (None in exact mode and
        for WL).
    """

    test: str
    group: str
    exact: bool
    distinguished: bool
    iteration: int | None
    histograms: list[tuple[dict[int, int], dict[int, int]]] = field(repr=False)
    tol: float | None = None

    def __str__(self) -> str:
        where = f"at iteration {self.iteration}" if self.distinguished else f"never (ran {len(self.histograms) - 1})"
        return f"{self.test} [{self.group}{', exact' if self.exact else ''}]: distinguished {where}"


def refine(refiner: Refiner, max_iter: int | None = None, stop_when_separated: bool = False) -> list[list[list[int]]]:
    """Run ``refiner`` until stable (or ``max_iter`` iterations, or the first separation of graphs 0 and 1).

    Returns the colours of every graph at every iteration run: ``history[t][g][i]``.
    """
    colours = _relabel(refiner.initial())
    history = [colours]
    signature = refiner.signature()
    t = 0
    while max_iter is None or t < max_iter:
        if stop_when_separated and _separated(colours):
            break
        new = _relabel(refiner.step(colours))
        new_signature = refiner.signature()
        stable = _count(new) == _count(colours) and new_signature == signature
        colours, signature, t = new, new_signature, t + 1
        history.append(colours)
        if stable:
            break
    return history


def verdict(test: str, group: str, exact: bool, history: list[list[list[int]]], tol: float | None = None) -> Verdict:
    """The verdict on graphs 0 and 1 of a refinement history (decided at float tolerance ``tol``, if any)."""
    histograms = [(dict(sorted(Counter(c[0]).items())), dict(sorted(Counter(c[1]).items()))) for c in history]
    first = next((t for t, (a, b) in enumerate(histograms) if a != b), None)
    return Verdict(test, group, exact, first is not None, first, histograms, tol)


def _relabel(keys: list[list[Hashable]]) -> list[list[int]]:
    rank = {k: r for r, k in enumerate(sorted(set(k for graph in keys for k in graph)))}
    return [[rank[k] for k in graph] for graph in keys]


def _count(colours: list[list[int]]) -> int:
    return len({c for graph in colours for c in graph})


def _separated(colours: list[list[int]]) -> bool:
    return len(colours) > 1 and Counter(colours[0]) != Counter(colours[1])
