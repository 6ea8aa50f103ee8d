"""Figures of counterexample pairs: both graphs of a pair side by side, and every pair of a family."""

from __future__ import annotations

import textwrap

from matplotlib.figure import Figure, SubFigure
from matplotlib.lines import Line2D

import counterexamples
from counterexamples.pair import Pair
from dojo.figures.drawing import View, draw_graph, frame, view
from dojo.figures.style import SINGLE, TYPE_COLOURS, figure, styled

__all__ = ["pair_figure", "family_figure"]

#: The default camera of 3D panels (degrees): a little above the plane of the two widest axes.
ELEVATION, AZIMUTH = 34.0, -62.0


def _panel(fig: Figure | SubFigure, spec, v: View, which: int, labels: bool, size: float):
    """One graph of the view in its own axes (2D or 3D), at the pair's common scale."""
    ax = fig.add_subplot(spec) if v.planar else fig.add_subplot(spec, projection="3d")
    if not v.planar:
        ax.view_init(elev=ELEVATION, azim=AZIMUTH)
    types = v.types[which]
    draw_graph(ax, v.points[which], v.edges[which], [TYPE_COLOURS[t % len(TYPE_COLOURS)] for t in types],
               size=size, labels=labels)
    frame(ax, v.points[which], v.half)
    return ax


def _type_legend(fig: Figure, views: list[View]) -> None:
    types = sorted({int(t) for v in views for z in v.types for t in z})
    handles = [Line2D([], [], ls="", marker="o", ms=4, mfc=TYPE_COLOURS[t % len(TYPE_COLOURS)], mec="0.15", mew=0.5,
                      label=f"type {t}") for t in types]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 6), title="node type",
               handletextpad=0.2, columnspacing=0.8)


@styled
def pair_figure(pair: Pair | str, *, labels: bool = True, planar: bool | None = None) -> Figure:
    """Both graphs of a pair side by side, at one scale: edges, nodes coloured by type, a legend of the types.

    Each graph is turned by a proper rotation onto its principal axes (so a mirror image stays a mirror image;
    an orientation pair shares one rotation, since its relative orientation is what differs, see
    :func:`dojo.figures.drawing.view`); a pair whose graphs are planar is drawn in their planes in 2D, any other
    in 3D with equal scale on every axis and no ticks. The title is the pair's name and what it is.

    Parameters
    ----------
    pair : Pair or str
        A pair or a library name (``"kchains-4"``).
    labels : bool
        Number the nodes (the numbering of ``pair.exact_a`` and ``pair.exact_b``).
    planar : bool, optional
        Force a 2D or 3D view (default: 2D exactly when both graphs lie in one plane).

    Returns
    -------
    matplotlib.figure.Figure
        One column wide (3.3 in).

    Examples
    --------
    ``pair_figure("chiral-tetrahedral").savefig("chiral.png")``
    """
    pair = counterexamples.load(pair) if isinstance(pair, str) else pair
    v = view(pair, planar)
    aspect = float(v.half[1] / v.half[0]) if v.planar else 0.85
    height = min(max(0.9, (SINGLE / 2 - 0.1) * aspect + 0.3), 2.6) + 0.75
    fig = figure(SINGLE, height)
    grid = fig.add_gridspec(1, 2)
    for k, label in enumerate("ab"):
        ax = _panel(fig, grid[0, k], v, k, labels, 30.0)
        ax.set_title(label, fontsize=7, pad=1)
    fig.suptitle("\n".join([pair.name, *textwrap.wrap(pair.description, 64)[:2]]), fontsize=7)
    _type_legend(fig, [v])
    return fig


@styled
def family_figure(family: str) -> Figure:
    """Every default pair of one library family, one row per pair (graph ``a`` left, ``b`` right).

    Each row is drawn as :func:`pair_figure` draws its pair (its own scale), titled with the pair's name and the
    first iteration at which GWL (under O(3), and SO(3) where it differs) separates it, or for an orientation
    pair the tensor order from which its orientation is visible.

    Parameters
    ----------
    family : str
        A registered family (``counterexamples.families()``), e.g. ``"kchains"``.

    Returns
    -------
    matplotlib.figure.Figure
        One column wide, about 1.2 in per pair.

    Raises
    ------
    ValueError
        For an unknown family.
    """
    pairs = counterexamples.pairs(family)
    views = [view(p) for p in pairs]
    heights = [min(max(0.6, 1.25 * float(v.half[1] / v.half[0])), 0.95) + 0.15 if v.planar else 1.2 for v in views]
    fig = figure(SINGLE, sum(heights) + 0.7)
    rows = fig.subfigures(len(pairs), 1, height_ratios=heights, squeeze=False)[:, 0]
    for row, (sub, pair, v) in enumerate(zip(rows, pairs, views)):
        grid = sub.add_gridspec(1, 2)
        for k in range(2):
            ax = _panel(sub, grid[0, k], v, k, False, 18.0)
            if row == 0:
                ax.set_title("ab"[k], fontsize=7, pad=1)
        o3, so3 = pair.claim("gwl", "O(3)"), pair.claim("gwl", "SO(3)")
        where = "GWL never separates" if o3 is None and so3 is None else f"GWL separates at t={o3}" if o3 == so3 \
            else f"GWL separates: {'never' if o3 is None else f't={o3}'} under O(3), t={so3} under SO(3)"
        if pair.task == "equivariant":
            where = f"orientation visible from tensor order {pair.orientation_order}"
        sub.suptitle(f"{pair.name}: {where}", fontsize=6.5, x=0.02, ha="left")
    fig.suptitle(f"The {family} family", fontsize=8)
    _type_legend(fig, views)
    return fig
