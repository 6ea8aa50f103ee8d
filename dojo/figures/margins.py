"""Separation margins: how far apart a model embeds the two graphs of a pair, against depth or tensor order.

The training-free protocol (:func:`dojo.protocols.separate`) calls a pair separated when the smallest distance
between the two graphs' embeddings exceeds :data:`~dojo.protocols.separate.THRESHOLD` (10) times the largest
distance between moved copies of one graph; the *margin* is that ratio (median over initialisations). Drawn on
a log scale it shows more than the verdict: a model that cannot separate sits at round-off (margins of 1e-3 to
1), one that can stands 6 to 14 orders of magnitude above, and a model that approaches the threshold from below
is one to look at.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, LogLocator, NullFormatter, NullLocator

from dojo import tables
from dojo.figures.heatmaps import check_records
from dojo.figures.style import DOUBLE, HIGHLIGHT, SINGLE, figure, model_style, styled
from dojo.protocols.separate import THRESHOLD
from dojo.suites import variant_label

__all__ = ["AXES", "FLOOR", "margin_figure"]

#: What the horizontal axis can be: the depth of the cells, or their tensor order (``info.tensor_order``).
AXES = {"layers": "depth L (layers)", "tensor_order": "tensor order ℓ"}
#: Margins below this (round-off gaps, down to exactly 0) are drawn at it, so that the log scale can show them.
FLOOR = 1e-4


def _line_label(row: dict, axis: str) -> str:
    """The series a row belongs to: its model and its options, without the option on the horizontal axis."""
    skip = {"max_ell"} if axis == "tensor_order" else set()
    return variant_label(row["model"], [(k, v) for k, v in sorted(row["options"].items()) if k not in skip])


@styled
def margin_figure(records: Sequence[dict], axis: str = "layers") -> Figure:
    """Separation margin (gap / spread, log scale) of each model against depth or tensor order, one panel per pair.

    The dashed line is the protocol's threshold (10): above it the pair counts as separated. A filled marker is a
    cell where theory says the model can separate the pair (:func:`dojo.tables.theory`: its bounding test does at
    that depth, or its tensor order reaches the pair's orientation order), a hollow one where it cannot; so a
    filled marker under the line is a model below what theory allows (``~``), a hollow one above it a broken
    bound (``!``). Use ``axis="layers"`` for the k-chains suite (GWL needs floor(k/2) + 1 layers) and
    ``axis="tensor_order"`` for the rotsym suite (an n-fold star's orientation shows from tensor order n on).

    Parameters
    ----------
    records : list of dict
        Records of the separate protocol (``runner.run`` or the JSONL log of ``dojo table``).
    axis : "layers" or "tensor_order"
        The horizontal axis.

    Returns
    -------
    matplotlib.figure.Figure
        One column wide for one pair, both columns for several.

    Raises
    ------
    ValueError
        For no records, records of the train protocol (no margins) or an unknown axis.
    """
    if axis not in AXES:
        raise ValueError(f"unknown axis {axis!r}. Fix: axis='layers' (k-chains suite) or 'tensor_order' (rotsym).")
    protocol = check_records(records, "margin_figure")
    if protocol != "separate":
        raise ValueError(f"margin_figure: {protocol} records have no margins. Fix: pass records of the separate "
                         "protocol (dojo table SUITE --protocol separate).")
    table = tables.rows(records)
    pairs = sorted({r["pair"] for r in table}, key=tables.pair_rank())
    series = list(dict.fromkeys(_line_label(r, axis) for r in sorted(table, key=tables.variant_rank())))
    model_of = {_line_label(r, axis): r["model"] for r in table}
    models = list(dict.fromkeys(model_of.values()))
    # Series of one model (MACE at several correlations) share its colour and differ in their line style.
    styles = {}
    for s in series:
        rank = [t for t in series if model_of[t] == model_of[s]].index(s)
        styles[s] = (*model_style(model_of[s], models), ("-", "--", ":", "-.")[rank % 4])

    width = SINGLE if len(pairs) == 1 else DOUBLE
    fig = figure(width, 2.5 if len(pairs) == 1 else 2.3)
    grid = fig.add_gridspec(1, len(pairs))
    axes = []
    xs_all = sorted({r[axis] for r in table})
    for k, pair in enumerate(pairs):
        ax = fig.add_subplot(grid[0, k], sharey=axes[0] if axes else None)
        axes.append(ax)
        ax.axhline(THRESHOLD, color=HIGHLIGHT, lw=0.8, ls=(0, (4, 2)), zorder=1)
        for s in series:
            cells = sorted((r for r in table if r["pair"] == pair and _line_label(r, axis) == s),
                           key=lambda r: r[axis])
            if not cells:
                continue
            colour, marker, ls = styles[s]
            x = np.array([r[axis] for r in cells], dtype=float)
            y = np.maximum([r["margin"] for r in cells], FLOOR)
            ax.plot(x, y, color=colour, ls=ls, lw=1.0, zorder=2)
            for xi, yi, r in zip(x, y, cells):
                filled = bool(r["theory_separates"])
                ax.plot([xi], [yi], ls="", marker="x" if r["degenerate"] else marker, ms=4.2,
                        mfc=colour if filled else "white", mec="0.15" if filled else colour,
                        mew=0.6 if filled else 1.0, zorder=3)
        ax.set_yscale("log")
        if axis == "tensor_order":
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(FixedLocator(xs_all))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.set_xticks(xs_all, [str(v) for v in xs_all])
            ax.set_xlim(min(xs_all) / 1.25, max(xs_all) * 1.25)
        else:
            ax.set_xticks(xs_all)
            ax.set_xlim(min(xs_all) - 0.4, max(xs_all) + 0.4)
        ax.yaxis.set_major_locator(LogLocator(base=10.0, numticks=6))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_title(pair, fontsize=7, pad=2)
        ax.set_xlabel(AXES[axis])
        if k == 0:
            ax.set_ylabel("separation margin (gap / spread)")
        else:
            ax.tick_params(labelleft=False)
    handles = [Line2D([], [], color=styles[s][0], ls=styles[s][2], marker=styles[s][1], ms=4, mfc=styles[s][0],
                      mec="0.15", mew=0.6, label=s) for s in series]
    handles += [Line2D([], [], color=HIGHLIGHT, lw=0.8, ls=(0, (4, 2)), label=f"threshold {THRESHOLD:g}"),
                Line2D([], [], ls="", marker="o", ms=4, mfc="0.4", mec="0.15", mew=0.6, label="theory: can separate"),
                Line2D([], [], ls="", marker="o", ms=4, mfc="white", mec="0.4", mew=1.0, label="theory: cannot")]
    fig.legend(handles=handles, loc="outside right center" if len(pairs) == 1 else "outside lower center",
               ncols=1 if len(pairs) == 1 else min(len(handles), 8), handletextpad=0.4, columnspacing=1.0)
    suite = ", ".join(sorted({r["suite"] for r in records}))
    fig.suptitle(f"{suite} suite: separation margins (below {FLOOR:.0e} drawn at {FLOOR:.0e})", fontsize=7)
    return fig
