"""Colour refinement drawn: both graphs of a pair at every iteration of a GWL-family test, nodes coloured by class.

The colours of a test come from one run on both graphs with one shared colour table, as
:func:`dojo.gwl.distinguish` runs it: here as :func:`dojo.gwl.color_history` on the disjoint union of the two graphs in
exact arithmetic, which is the same computation (a node's colour depends only on its own computation tree; in
exact mode the numbers of both graphs already share one number field and one order). The iteration at which the
two colour histograms first differ comes from :func:`dojo.gwl.distinguish` itself.

Colours follow classes through the run: the partition only ever splits, so when a class splits, its largest part
keeps the class's colour and the other parts take new ones. A colour thus means the same class in every panel of
one iteration, and a node changes colour only when its class splits off.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import sympy
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

import counterexamples
from counterexamples.pair import ExactGraph, Pair
from dojo import gwl
from dojo.figures.drawing import draw_graph, frame, view
from dojo.figures.style import DOUBLE, HIGHLIGHT, SINGLE, class_style, figure, styled

__all__ = ["Run", "refinement_runs", "refinement_figure", "test_label"]

ELEVATION, AZIMUTH = 34.0, -62.0


def test_label(test: str) -> str:
    """Display name of a test, with mathtext subscripts.

    Examples
    --------
    >>> test_label("igwl-3"), test_label("gwl")
    ('IGWL$_{(3)}$', 'GWL')
    """
    head, _, k = test.partition("-")
    return f"{head.upper()}$_{{({k})}}$" if k else head.upper()


@dataclass(frozen=True)
class Run:
    """One test's refinement of a pair, as drawn.

    Attributes
    ----------
    test, group : str
        The test and the group.
    first : int or None
        The first iteration at which the colour histograms of ``a`` and ``b`` differ (:func:`dojo.gwl.distinguish`),
        None for never.
    stable : int
        For a test that never separates the pair, the iteration from which its partition no longer changes;
        otherwise ``first``.
    slots : list of (list of int, list of int)
        Per iteration drawn, the colour slot of every node of ``a`` and of ``b`` (see the module docstring).
    """

    test: str
    group: str
    first: int | None
    stable: int
    slots: list[tuple[list[int], list[int]]]


def _union(a: ExactGraph, b: ExactGraph) -> ExactGraph:
    """The disjoint union of two exact graphs (b's nodes numbered after a's)."""
    n = a.num_nodes
    return ExactGraph(sympy.Matrix.vstack(a.coords, b.coords),
                      [*a.edges, *((i + n, j + n) for i, j in b.edges)], [*a.types, *b.types])


def _slots(history: list[list[int]]) -> list[list[int]]:
    """Colour slots that follow classes through a refinement history (see the module docstring)."""
    slots: list[list[int]] = []
    used = 0
    for t, colours in enumerate(history):
        if t == 0:
            order = sorted(set(colours))
            mapping = {c: k for k, c in enumerate(order)}
            used = len(order)
        else:
            parent = {c: slots[-1][i] for i, c in enumerate(colours)}
            sizes = Counter(colours)
            mapping, taken = {}, set()
            for c in sorted(set(colours), key=lambda c: (-sizes[c], c)):
                p = parent[c]
                if p not in taken:
                    mapping[c] = p
                    taken.add(p)
                else:
                    mapping[c] = used
                    used += 1
        slots.append([mapping[c] for c in colours])
    return slots


def refinement_runs(pair: Pair | str, tests: Sequence[str] = ("gwl",), group: str = "O(3)",
                    iterations: int | None = None) -> list[Run]:
    """The refinements that :func:`refinement_figure` draws: per test, the colour slots of both graphs at every
    iteration ``0..T``, in exact arithmetic.

    ``T`` is ``iterations``, or by default the last iteration any of the tests needs: its first separation, or
    for a test that never separates the pair, the iteration at which its partition became stable.

    Raises
    ------
    ValueError
        For an unknown test or group, or a negative ``iterations``.
    """
    pair = counterexamples.load(pair) if isinstance(pair, str) else pair
    if isinstance(tests, str):
        tests = (tests,)
    if not tests:
        raise ValueError("no tests to draw. Fix: tests=('gwl',) or e.g. ('igwl', 'gwl').")
    if iterations is not None and (not isinstance(iterations, int) or iterations < 0):
        raise ValueError(f"iterations must be a non-negative int, got {iterations!r}. Fix: e.g. 3, or None.")
    verdicts = [gwl.distinguish(pair, test=t, group=group, exact=True) for t in tests]
    ends = [v.iteration if v.distinguished else len(v.histograms) - 1 for v in verdicts]
    last = max(max(ends), 1) if iterations is None else iterations
    union = _union(pair.exact_a, pair.exact_b)
    n = pair.exact_a.num_nodes
    runs = []
    for test, verdict, end in zip(tests, verdicts, ends):
        history = [c.tolist() for c in gwl.color_history(union, test=test, group=group, iterations=last, exact=True)]
        history += history[-1:] * (last + 1 - len(history))  # stable before the last iteration drawn
        slots = _slots(history)
        stable = end if verdict.distinguished else max(end - 1, 0)
        runs.append(Run(test, group, verdict.iteration, stable, [(s[:n], s[n:]) for s in slots]))
    return runs


@styled
def refinement_figure(pair: Pair | str, test: str = "gwl", group: str = "O(3)", iterations: int | None = None, *,
                      tests: Sequence[str] | None = None) -> Figure:
    """Both graphs of a pair at every iteration of a geometric Weisfeiler-Leman test, nodes coloured by class.

    Columns are iterations ``t = 0..T``; each test gets two rows, graph ``a`` above graph ``b``. Nodes share a
    colour (and marker) exactly when they share a colour class at that iteration, in either graph: one colour
    table serves both, as in :func:`dojo.gwl.distinguish`. The column at which the two graphs' colour histograms
    first differ is framed and titled "separated at t=...". Passing several ``tests`` stacks their rows, so that
    a weaker test that never parts the graphs sits above a stronger one that does (on a k-chain, IGWL's classes
    stay identical in both graphs while GWL's split differently at iteration floor(k/2) + 1). Planar pairs are
    drawn in their plane, others in 3D.

    Parameters
    ----------
    pair : Pair or str
        The pair, or its library name.
    test : str
        The test (``"wl"``, ``"igwl-k"``, ``"igwl"``, ``"gwl"``) when ``tests`` is not given.
    group : str
        ``"O(3)"`` or ``"SO(3)"``.
    iterations : int, optional
        The last iteration drawn (default: the first separation, or where a never-separating test becomes stable,
        the latest over the tests).
    tests : sequence of str, optional
        Several tests, drawn as stacked pairs of rows in this order.

    Returns
    -------
    matplotlib.figure.Figure
        One column wide up to three iterations, both columns beyond.

    Raises
    ------
    ValueError
        For an unknown test or group or a negative ``iterations``.

    Examples
    --------
    ``refinement_figure("kchains-4", tests=("igwl", "gwl"))``
    """
    pair = counterexamples.load(pair) if isinstance(pair, str) else pair
    chosen = tuple(tests) if tests is not None else (test,)
    runs = refinement_runs(pair, chosen, group, iterations)
    v = view(pair)
    columns = len(runs[0].slots)
    if v.planar:
        width = SINGLE if columns * 1.4 + 0.7 <= SINGLE else DOUBLE
        panel_w = (width - 0.7) / columns
        panel_h = max(0.55, min(panel_w * float(v.half[1] / v.half[0]) + 0.18, 1.4))
    else:  # 3D boxes keep their aspect: size the figure to them rather than stretch the gaps between them
        width = min(max(columns * 1.45 + 0.7, SINGLE), DOUBLE)
        panel_h = min((width - 0.7) / columns * 0.8, 1.2)
    rows = 2 * len(runs)
    fig = figure(width, rows * panel_h + 0.75)
    grid = fig.add_gridspec(rows, columns)
    for r, run in enumerate(runs):
        for t, (slots_a, slots_b) in enumerate(run.slots):
            separated = run.first is not None and t == run.first
            for k, slots in enumerate((slots_a, slots_b)):
                spec = grid[2 * r + k, t]
                ax = fig.add_subplot(spec) if v.planar else fig.add_subplot(spec, projection="3d")
                if not v.planar:
                    ax.view_init(elev=ELEVATION, azim=AZIMUTH)
                styles = [class_style(s) for s in slots]
                draw_graph(ax, v.points[k], v.edges[k], [c for c, _ in styles], [m for _, m in styles],
                           size=22.0 if columns > 3 else 26.0)
                frame(ax, v.points[k], v.half)
                if separated:
                    ax.set_facecolor("#FBE9DF")
                    if v.planar:
                        for spine in ax.spines.values():
                            spine.set_visible(True)
                            spine.set_color(HIGHLIGHT)
                            spine.set_linewidth(1.2)
                if k == 0:
                    title = f"t = {t}" if r == 0 else ""
                    if separated:
                        title = f"{title}\nseparated at t={t}" if title else f"separated at t={t}"
                    ax.set_title(title, fontsize=6.5, pad=2, color=HIGHLIGHT if separated else "black",
                                 fontweight="bold" if separated else "normal")
                if t == 0:
                    label = f"{test_label(run.test)}  {'ab'[k]}"
                    if v.planar:
                        ax.set_ylabel(label, rotation=0, ha="right", va="center", labelpad=2)
                    else:
                        ax.text2D(-0.05, 0.5, label, transform=ax.transAxes, ha="right", va="center")
    fig.suptitle(f"{pair.name}: colour refinement under {group}", fontsize=8)
    notes = []
    for run in runs:
        if run.first is None:
            notes.append(f"{test_label(run.test)} never separates (no class splits after t={run.stable})")
        elif run.first >= columns:
            notes.append(f"{test_label(run.test)} separates at t={run.first}, after the last column")
        else:
            notes.append(f"{test_label(run.test)} separates at t={run.first}")
    handles = [Line2D([], [], ls="", marker="o", ms=4, mfc=class_style(0)[0], mec="0.15", mew=0.5,
                      label="colour = colour class (one table for a and b)")]
    fig.legend(handles=handles, loc="outside lower center", title="; ".join(notes), frameon=False)
    return fig
