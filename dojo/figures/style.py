"""One style for every figure of the dojo: palette, sizes, fonts, and saving that gives the same bytes every time.

Colours are the Okabe-Ito palette (Okabe & Ito, "Color Universal Design", 2008), which stays distinguishable
under the common colour-vision deficiencies; values run on matplotlib's ``cividis`` map (Nuñez, Anderton &
Renslow, PLOS ONE 2018), designed to read the same with and without red-green deficiency and in grey scale. Where
more categories are needed than the palette has colours (colour classes of a refinement), colour is paired with
a marker shape, so that no two categories share both.

Sizes are those of a two-column paper: :data:`SINGLE` (one column, 3.3 in) and :data:`DOUBLE` (both, 6.9 in)
wide, fonts of 6 to 8 pt. Figures are built as :class:`matplotlib.figure.Figure` objects without pyplot, so
drawing never touches a global figure manager or needs a display.

Saving (:func:`save`) strips what changes from run to run: the PNG ``Software`` entry, the PDF ``CreationDate``
and ``Producer``, the SVG ``Date``, and SVG element ids are hashed with a fixed salt (``svg.hashsalt``), so the
same data give the same bytes on a rerun.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import ParamSpec, TypeVar

import matplotlib as mpl
import numpy as np
from cycler import cycler
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure, SubFigure
from matplotlib.layout_engine import PlaceHolderLayoutEngine
from matplotlib.transforms import Bbox

__all__ = ["OKABE_ITO", "SINGLE", "DOUBLE", "FORMATS", "RC", "MODEL_COLOURS", "MODEL_MARKERS", "CLASS_COLOURS",
           "CLASS_MARKERS", "TYPE_COLOURS", "HIGHLIGHT", "CMAP", "context", "styled", "figure", "model_style",
           "class_style", "text_colour", "check_formats", "freeze", "save"]

#: The Okabe-Ito palette, by name.
OKABE_ITO: dict[str, str] = {
    "black": "#000000", "orange": "#E69F00", "sky blue": "#56B4E9", "bluish green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "reddish purple": "#CC79A7",
}

#: Widths in inches: one column and both columns of a two-column paper.
SINGLE, DOUBLE = 3.3, 6.9

#: The file formats :func:`save` writes, with the metadata that would otherwise change on every run removed.
FORMATS: dict[str, dict[str, str | None]] = {
    "png": {"Software": None},
    "pdf": {"Creator": "dojo figures", "Producer": None, "CreationDate": None},
    "svg": {"Creator": "dojo figures", "Date": None},
}

#: Colour and marker of each zoo model, the same in every figure. Invariant models get blues and green, Cartesian
#: equivariant ones warm colours, spherical ones purple and black.
MODEL_COLOURS: dict[str, str] = {
    "schnet": OKABE_ITO["sky blue"], "dimenet": OKABE_ITO["blue"], "spherenet": OKABE_ITO["bluish green"],
    "egnn": OKABE_ITO["yellow"], "gvp": OKABE_ITO["orange"], "painn": OKABE_ITO["vermillion"],
    "tfn": OKABE_ITO["reddish purple"], "mace": OKABE_ITO["black"],
}
MODEL_MARKERS: dict[str, str] = {
    "schnet": "o", "dimenet": "s", "spherenet": "D", "egnn": "^", "gvp": "v", "painn": "<", "tfn": "P", "mace": "X",
}

#: Colour classes of a refinement: the palette without black (kept for edges and text), then marker shapes.
CLASS_COLOURS: tuple[str, ...] = tuple(OKABE_ITO[c] for c in ("sky blue", "orange", "bluish green", "vermillion",
                                                                "blue", "reddish purple", "yellow"))
CLASS_MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "p")

#: Node types of a pair.
TYPE_COLOURS: tuple[str, ...] = CLASS_COLOURS

#: The colour that marks what the reader should look at (a separating iteration).
HIGHLIGHT = OKABE_ITO["vermillion"]

#: The sequential colour map of values in [0, 1].
CMAP = "cividis"

#: rcParams of every figure.
RC: dict[str, object] = {
    "font.family": "DejaVu Sans",
    "font.size": 7, "axes.titlesize": 7, "axes.labelsize": 7, "figure.titlesize": 8, "legend.fontsize": 6,
    "xtick.labelsize": 6, "ytick.labelsize": 6, "legend.title_fontsize": 6,
    "axes.linewidth": 0.6, "lines.linewidth": 1.0, "lines.markersize": 4, "patch.linewidth": 0.6,
    "xtick.major.width": 0.6, "ytick.major.width": 0.6, "xtick.minor.width": 0.4, "ytick.minor.width": 0.4,
    "xtick.major.size": 2.5, "ytick.major.size": 2.5, "xtick.minor.size": 1.5, "ytick.minor.size": 1.5,
    "axes.prop_cycle": cycler(color=[OKABE_ITO[c] for c in ("blue", "orange", "bluish green", "vermillion",
                                                            "reddish purple", "sky blue", "black", "yellow")]),
    "axes.spines.top": False, "axes.spines.right": False,
    "legend.frameon": False, "legend.handlelength": 1.6, "legend.borderaxespad": 0.3,
    "image.cmap": CMAP,
    "figure.dpi": 100, "savefig.dpi": 200, "savefig.facecolor": "white", "figure.facecolor": "white",
    "figure.constrained_layout.h_pad": 0.02, "figure.constrained_layout.w_pad": 0.02,
    "pdf.fonttype": 42, "svg.fonttype": "path", "svg.hashsalt": "dojo-figures",
    "path.simplify": False,
}

P = ParamSpec("P")
R = TypeVar("R")


def context() -> AbstractContextManager:
    """The figures' rcParams as a context (:func:`matplotlib.rc_context`)."""
    return mpl.rc_context(RC)


def styled(draw: Callable[P, R]) -> Callable[P, R]:
    """Decorator: run a figure function under :func:`context`, so its fonts and sizes are the dojo's."""

    @functools.wraps(draw)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with context():
            return draw(*args, **kwargs)

    return wrapper


def figure(width: float, height: float, layout: str | None = "constrained") -> Figure:
    """A new figure of ``width`` x ``height`` inches, outside pyplot (nothing global keeps it alive)."""
    return Figure(figsize=(width, height), layout=layout)


def model_style(model: str, order: Sequence[str] = ()) -> tuple[str, str]:
    """``(colour, marker)`` of a model: the zoo's fixed ones, else by its position in ``order`` (models the dojo
    did not write)."""
    if model in MODEL_COLOURS:
        return MODEL_COLOURS[model], MODEL_MARKERS[model]
    others = [m for m in order if m not in MODEL_COLOURS]
    k = others.index(model) if model in others else 0
    colours = [OKABE_ITO[c] for c in ("blue", "vermillion", "bluish green", "orange", "reddish purple", "black")]
    return colours[k % len(colours)], "ohd*p8"[(k // len(colours)) % 6]


def class_style(k: int) -> tuple[str, str]:
    """``(colour, marker)`` of the ``k``-th colour class: 7 colours, then the next marker shape."""
    return CLASS_COLOURS[k % len(CLASS_COLOURS)], CLASS_MARKERS[(k // len(CLASS_COLOURS)) % len(CLASS_MARKERS)]


def text_colour(background: Iterable[float] | str) -> str:
    """Black or white, whichever reads better on ``background`` (by its relative luminance).

    Examples
    --------
    >>> text_colour("#FFE945"), text_colour("#00204C")   # the two ends of cividis
    ('black', 'white')
    """
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in to_rgb(background))
    return "black" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.18 else "white"


def check_formats(formats: Sequence[str]) -> tuple[str, ...]:
    """The formats, checked: each one of :data:`FORMATS`, at least one.

    Raises
    ------
    ValueError
        For an unknown format or none at all.

    Examples
    --------
    >>> check_formats(["png", "svg", "png"])
    ('png', 'svg')
    """
    if isinstance(formats, str):
        formats = (formats,)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"unknown figure format{'s' if len(unknown) > 1 else ''} {unknown or 'none given'}. Fix: "
                         f"choose from {list(FORMATS)} (e.g. formats=('png',) or --formats png pdf).")
    return tuple(dict.fromkeys(formats))


def freeze(fig: Figure) -> Figure:
    """Run the figure's layout engine once and fix the positions it found.

    Constrained layout iterates from the current positions with each backend's text metrics, so a figure saved
    twice, or as PNG and then as SVG, would otherwise move by fractions of a point between files. After this,
    every save of the figure draws the same geometry.
    """
    engine = fig.get_layout_engine()
    if engine is not None and not isinstance(engine, PlaceHolderLayoutEngine):
        fig.draw_without_rendering()
        fig.set_layout_engine("none")
        _round_positions(fig)
    return fig


def _round_positions(fig: Figure | SubFigure, digits: int = 8) -> None:
    """Round the positions a layout engine found to ``digits`` decimals of the figure's size.

    The constraint solver behind constrained layout can differ in the last bits from one figure to the next in one
    process (its variables are ordered by memory address); the SVG backend hashes clip rectangles at full
    precision into element ids, so such bits would change the file. Rounded positions give the same bytes.
    """
    for sub in fig.subfigs:
        sub.bbox_relative.set_points(np.round(sub.bbox_relative.get_points(), digits))
        _round_positions(sub, digits)
    for ax in fig.axes:
        ax.set_position(Bbox(np.round(ax.get_position(original=True).get_points(), digits)), which="both")


def save(fig: Figure, stem: Path | str, formats: Sequence[str] = ("png",)) -> list[Path]:
    """Write ``fig`` to ``stem.<format>`` for each format, deterministically; return the paths written.

    The same figure gives the same bytes on every run: its layout is computed once and fixed (:func:`freeze`),
    time stamps and version strings are left out, and SVG ids are hashed with a fixed salt.

    Raises
    ------
    ValueError
        For an unknown format (:func:`check_formats`).
    """
    formats = check_formats(formats)
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    with context():
        freeze(fig)
        for fmt in formats:
            path = stem.with_name(f"{stem.name}.{fmt}")
            fig.savefig(path, format=fmt, metadata=FORMATS[fmt])
            written.append(path)
    return written
