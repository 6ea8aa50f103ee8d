"""The axes of expressivity: where each architecture sits in the GWL hierarchy, by its metadata and by measurement.

Vertically, the geometric Weisfeiler-Leman hierarchy WL ⊑ IGWL_(2) ⊑ ... ⊑ IGWL_(5) ⊑ IGWL ⊑ GWL (each test
separates everything the one below it separates); horizontally, tensor order: the highest spherical-harmonic
degree of the features a model passes between nodes (0 for invariant models), as in the GWL paper's figure of
the axes of geometric GNN expressivity (Joshi et al., ICML 2023, Fig. 1).

A model is drawn twice. Its *declared* place is its metadata's bounding test (``info.bounded_by``). Its *measured*
place comes from discriminability records (``dojo table all``, the separate protocol) the way
:func:`dojo.testing.expressivity_profile` places a model, here over the records' own cells and depths: it
*reaches* the strongest test whose every separation (of a pair, within the cell's depth) the model reproduces,
and is *bounded by* the weakest test, no weaker than that, which separates everything the model separates.
Degenerate cells and equivariant-task pairs count for neither. Theory per cell comes from :mod:`dojo.tables`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib import patheffects
from matplotlib.lines import Line2D

from counterexamples import TESTS
from dojo import tables
from dojo.figures.refinement import test_label
from dojo.figures.style import SINGLE, figure, model_style, styled
from dojo.suites import pair_of

__all__ = ["Placement", "placements", "hierarchy_figure"]

#: A thin dark outline around coloured bars, so that light colours (yellow) read on white.
OUTLINE = [patheffects.Stroke(linewidth=3.0, foreground="0.15"), patheffects.Normal()]


@dataclass(frozen=True)
class Placement:
    """One model's place on the axes of expressivity.

    Attributes
    ----------
    variant, model : str
        The table row (``"mace ν=2"``) and the model key.
    tensor_order : int
        ``info.tensor_order``.
    group : str
        ``info.group``: the group under which its tests are read.
    declared : str or None
        ``info.bounded_by`` (None: the model declares no bound).
    reach : str or None
        Measured: the strongest test whose separations it reproduces (None: no records, or none usable).
    bound : str or None
        Measured: the weakest test, no weaker than ``reach``, that separates everything it separates (None when
        unmeasured, or when it separates what GWL cannot: broken).
    cells : int
        The records the measurement used.
    """

    variant: str
    model: str
    tensor_order: int
    group: str
    declared: str | None
    reach: str | None = None
    bound: str | None = None
    cells: int = 0


def _measure(records: Sequence[dict], group: str) -> tuple[str | None, str | None, int]:
    """``(reach, bound, cells)`` of one model's records (see the module docstring)."""
    cells = [r for r in records if pair_of(r["pair"]).task == "invariant" and not tables.degenerate(r)]
    if not cells:
        return None, None, 0
    reach, bound = tables.place({(r["pair"], r["layers"]) for r in cells if r["separated"]},
                                lambda test: {(r["pair"], r["layers"]) for r in cells
                                              if tables.separates_within(r["pair"], test, group, r["layers"])})
    return reach, bound, len(cells)


def _zoo_info(model: str) -> tuple[int, str, str | None]:
    """``(tensor_order, group, bounded_by)`` of a zoo model at its defaults."""
    from dojo import models

    info = models.sample(model).info
    return info.tensor_order, info.group, info.bounded_by


def placements(records: Sequence[dict] | None = None, models: Sequence[str] | None = None) -> list[Placement]:
    """Every model's place: from ``records`` (one per row of the table, declared and measured), or without them
    from the zoo's metadata at default settings (``models``: these zoo keys, default all).

    Raises
    ------
    ValueError
        For an empty ``records`` list or an unknown model.
    """
    from dojo import models as zoo

    if records is None:
        chosen = zoo.names() if models is None else list(models)
        for m in chosen:
            zoo.model_class(m)  # raises ValueError naming the registered models
        return [Placement(m, m, *_zoo_info(m)) for m in chosen]
    if not records:
        raise ValueError("hierarchy_figure: no records. Fix: pass the `all` suite's records (runner.run(...) or "
                         "`dojo table all`), or records=None to draw the metadata only.")
    by_variant: dict[str, list[dict]] = {}
    for r in sorted(records, key=tables.variant_rank()):
        by_variant.setdefault(r["variant"], []).append(r)
    out = []
    for variant, recs in by_variant.items():
        info = recs[0]["info"]
        out.append(Placement(variant, recs[0]["model"], info["tensor_order"], info["group"], info["bounded_by"],
                             *_measure(recs, info["group"])))
    return out


@styled
def hierarchy_figure(records: Sequence[dict] | None = None, *, models: Sequence[str] | None = None) -> Figure:
    """The axes of expressivity: each model on the GWL hierarchy (vertical) against its tensor order (horizontal).

    Hollow markers are what each model's metadata declares (its bounding test); with ``records``, filled markers
    are where its measured verdicts put it (the strongest test it reproduces) and a bar runs up to the weakest
    test that bounds what it separates (see the module docstring). Models of one tensor order share a column,
    one lane each; SO(3) models are read under SO(3).

    Parameters
    ----------
    records : list of dict, optional
        Discriminability records (the ``all`` suite under the separate protocol: ``runner.run`` or the JSONL log
        of ``dojo table all``). Without them only the metadata is drawn.
    models : sequence of str, optional
        Without records: the zoo models to draw (default: all of them).

    Returns
    -------
    matplotlib.figure.Figure
        One column wide.

    Raises
    ------
    ValueError
        For an empty list of records or an unknown model.
    """
    places = placements(records, models)
    orders = sorted({p.tensor_order for p in places})
    lanes = [p for order in orders for p in places if p.tensor_order == order]  # one lane per model, by order
    xs, groups, x = [], [], 0.0
    for order in orders:
        n = sum(p.tensor_order == order for p in lanes)
        xs += [x + i for i in range(n)]
        groups.append((x, x + n - 1, order))
        x += n + 0.7
    measured = any(p.reach is not None for p in lanes)
    broken = any(p.reach is not None and p.bound is None for p in lanes)
    level = {t: i for i, t in enumerate(TESTS)}
    top = len(TESTS)  # above GWL: a measured bound that GWL cannot explain
    names = [p.model for p in lanes]
    fig = figure(SINGLE, 3.1)
    ax = fig.add_subplot()
    for p, px in zip(lanes, xs):
        colour, marker = model_style(p.model, names)
        ax.axvline(px, color="0.9", lw=0.5, zorder=0)
        if p.reach is not None:
            high = top if p.bound is None else level[p.bound]
            ax.plot([px + 0.18, px + 0.18], [level[p.reach], high], color=colour, lw=2.2, solid_capstyle="butt",
                    zorder=2, path_effects=OUTLINE)
            ax.plot([px + 0.18], [level[p.reach]], ls="", marker=marker, ms=6, mfc=colour, mec="0.15", mew=0.6,
                    zorder=3)
            if p.bound is None:
                ax.text(px + 0.18, top, "!", ha="center", va="bottom", fontweight="bold")
        if p.declared is not None:
            dx = -0.18 if measured else 0.0
            ax.plot([px + dx], [level[p.declared]], ls="", marker=marker, ms=6, mfc="white", mec=colour, mew=1.4,
                    zorder=3)
            ax.plot([px + dx], [level[p.declared]], ls="", marker=marker, ms=7.8, mfc="none", mec="0.15",
                    mew=0.4, zorder=3)
    head = top + (0.4 if broken else -0.35)
    for first, last, order in groups:
        ax.text((first + last) / 2, head, f"ℓ = {order}", ha="center", va="bottom", fontsize=6.5)
        if first > 0:
            ax.axvline(first - 0.85, color="0.6", lw=0.6, ls=(0, (2, 2)), zorder=0)
    ax.set_yticks(range(len(TESTS)), [test_label(t) for t in TESTS])
    ax.set_ylim(-0.6, head + 0.8)
    ax.set_xticks(xs, [p.variant + (" (SO(3))" if p.group == "SO(3)" else "") for p in lanes], rotation=40,
                  ha="right", rotation_mode="anchor")
    ax.set_xlim(-0.6, xs[-1] + 0.6)
    ax.set_ylabel("GWL hierarchy (each test ⊑ the one above)")
    ax.set_xlabel("tensor order ℓ of the features, then model")
    ax.tick_params(axis="x", length=0)
    handles = [Line2D([], [], ls="", marker="o", ms=5, mfc="white", mec="0.3", mew=1.2,
                      label="declared bound (metadata)")]
    if measured:
        handles += [Line2D([], [], ls="", marker="o", ms=5, mfc="0.4", mec="0.15", mew=0.6,
                           label="measured: strongest test reproduced"),
                    Line2D([], [], color="0.4", lw=2.2, path_effects=OUTLINE,
                           label="measured: up to the weakest bounding test" + ("; !: beyond GWL" if broken else ""))]
    fig.legend(handles=handles, loc="outside upper center", handletextpad=0.3)
    return fig
