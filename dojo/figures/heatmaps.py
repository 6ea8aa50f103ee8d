"""A discriminability table as a heatmap: models against pairs, what was measured beside what theory says.

Everything a cell shows comes from :mod:`dojo.tables` (:func:`~dojo.tables.rows`: the measurement, the theory
verdict and the flag), so the heatmap and the markdown, LaTeX, CSV and JSON tables never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from dojo import tables
from dojo.figures.style import CMAP, DOUBLE, SINGLE, figure, styled, text_colour

__all__ = ["heatmap_figure", "check_records"]

def check_records(records: Sequence[dict], what: str) -> str:
    """The one protocol of ``records``; a clear ValueError when there are none or several."""
    if not records:
        raise ValueError(f"{what}: no records. Fix: pass a suite's records, e.g. runner.run(suites.suite('kchains'), "
                         "'separate', Path('results/kchains-separate.jsonl')) or runner.read_log(...).values().")
    protocols = sorted({r["protocol"] for r in records})
    if len(protocols) > 1:
        raise ValueError(f"{what}: records of several protocols {protocols}. Fix: pass one protocol's records.")
    return protocols[0]


def _layout(rows: list[dict]) -> tuple[list[tuple[str, int]], list[str]]:
    """Columns (pair, depth) in library order and rows (variants) in zoo order."""
    pair = tables.pair_rank()
    columns = sorted({(r["pair"], r["layers"]) for r in rows}, key=lambda c: (*pair(c[0]), c[1]))
    variants = list(dict.fromkeys(r["variant"] for r in sorted(rows, key=tables.variant_rank())))
    return columns, variants


@styled
def heatmap_figure(records: Sequence[dict], *, title: str | None = None) -> Figure:
    """A discriminability table as a heatmap: one row per model variant, one column per pair and depth.

    A cell's colour is the fraction of initialisations that separate the pair (separate protocol) or the mean
    accuracy (train protocol, 50 % = chance). A frame marks the cells where theory says the model *can* separate
    the pair (its bounding test does, at that depth; for orientation pairs, its tensor order reaches the pair's
    orientation order), so agreement reads at a glance: framed and bright, or unframed and dark. Text marks what
    :func:`dojo.tables.flag` flags: ``!`` separates what its bound cannot, ``~`` fails where its bound separates;
    ``deg`` a zero or constant embedding (says nothing). Grey cells were not run (an invariant model on an
    orientation task).

    Parameters
    ----------
    records : list of dict
        Records of one protocol (``runner.run`` or a JSONL log of ``dojo table``).
    title : str, optional
        The title (default: the suite and the protocol).

    Returns
    -------
    matplotlib.figure.Figure
        One column wide for up to 8 columns, both columns beyond.

    Raises
    ------
    ValueError
        For no records, or records of several protocols.
    """
    protocol = check_records(records, "heatmap_figure")
    table = tables.rows(records)
    columns, variants = _layout(table)
    cell = {(r["variant"], r["pair"], r["layers"]): r for r in table}
    values = np.full((len(variants), len(columns)), np.nan)
    for i, v in enumerate(variants):
        for j, (pair, layers) in enumerate(columns):
            r = cell.get((v, pair, layers))
            if r is not None:
                values[i, j] = r["fraction"] if protocol == "separate" else r["mean"]
    norm = Normalize(0.0, 1.0) if protocol == "separate" else Normalize(50.0, 100.0)
    cmap = colormaps[CMAP].with_extremes(bad="0.9")

    pairs = {p for p, _ in columns}
    depths = {layers for _, layers in columns}
    label = (lambda p, d: f"L={d}") if len(pairs) == 1 else (lambda p, d: p) if len(depths) == 1 else \
        (lambda p, d: f"{p} L={d}")
    longest_row = max(len(v) for v in variants)
    longest_col = max(len(line) for p, d in columns for line in _wrapped(label(p, d)).splitlines())
    left = 0.15 + 0.046 * longest_row
    bottom = 0.15 + (0.05 * longest_col if longest_col > 5 else 0.1)
    width = SINGLE if left + 0.28 * len(columns) + 0.6 <= SINGLE else DOUBLE
    size = min((width - left - 0.6) / len(columns), 0.3)
    fig = figure(width, 0.3 + size * len(variants) + bottom + (0.5 if width == SINGLE else 0.4))
    ax = fig.add_subplot()
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, norm=norm, aspect="auto", interpolation="nearest")
    for i, v in enumerate(variants):
        for j, (pair, layers) in enumerate(columns):
            r = cell.get((v, pair, layers))
            if r is None:
                ax.text(j, i, "–", ha="center", va="center", color="0.55", fontsize=6)
                continue
            ink = text_colour(cmap(norm(values[i, j])))
            if r["theory_separates"]:
                ax.add_patch(Rectangle((j - 0.38, i - 0.38), 0.76, 0.76, fill=False, edgecolor=ink, lw=0.9))
            mark = "deg" if r.get("degenerate") else tables.FLAGS.get(r["flag"], "")
            if mark:
                ax.text(j, i, mark, ha="center", va="center", color=ink, fontsize=5.5 if mark == "deg" else 7.5,
                        fontweight="bold")
    ax.set_xticks(range(len(columns)), [_wrapped(label(p, d)) for p, d in columns],
                  rotation=90 if longest_col > 5 else 0)
    ax.set_yticks(range(len(variants)), variants)
    if len(pairs) == 1:
        ax.set_xlabel(f"{next(iter(pairs))}, depth L", fontsize=6)
    ax.tick_params(length=0)
    ax.set_xticks(np.arange(len(columns) + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(len(variants) + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", lw=0.8)
    ax.tick_params(which="minor", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    bar = fig.colorbar(image, ax=ax, pad=0.02, fraction=0.04, aspect=max(4.0, 1.6 * len(variants)))
    bar.set_label("separating initialisations (fraction)" if protocol == "separate" else "mean accuracy (%)",
                  fontsize=6)
    bar.ax.tick_params(labelsize=5.5)
    bar.outline.set_linewidth(0.4)
    suite = ", ".join(sorted({r["suite"] for r in records}))
    ax.set_title(title if title is not None else f"{suite} suite ({protocol} protocol)", fontsize=7)
    notes = ["framed: its bound separates the pair at this depth (theory)",
             "! separates what its bound cannot   ~ fails where its bound separates",
             "deg: zero or constant embedding   –: not run"]
    fig.supxlabel("\n".join(notes) if width == SINGLE else f"{notes[0]}   {notes[1]}\n{notes[2]}", fontsize=5.5)
    return fig


def _wrapped(text: str, width: int = 24) -> str:
    """A long column label broken after its family (``distance_degenerate-`` / ``cube_octahedron6 L=1``)."""
    family, dash, rest = text.partition("-")
    return f"{family}{dash}\n{rest}" if len(text) > width and dash else text
