"""Every figure of the dojo, drawn from data: pairs, colour refinement, the hierarchy, tables and margins.

One module per figure: :mod:`~dojo.figures.pairs` (a pair's two graphs; a whole family),
:mod:`~dojo.figures.refinement` (GWL-family colour refinement iteration by iteration),
:mod:`~dojo.figures.hierarchy` (the axes of expressivity, by metadata and by measurement),
:mod:`~dojo.figures.heatmaps` (a discriminability table), :mod:`~dojo.figures.margins` (separation margins);
:mod:`~dojo.figures.style` holds the palette (Okabe-Ito; ``cividis`` for values), the sizes of a two-column paper
and deterministic saving, :mod:`~dojo.figures.drawing` the drawing of geometric graphs, and
:mod:`~dojo.figures.render` :func:`render_all`, which ``dojo figures`` runs.

Data flow one way, into this package and never out of it: the figures read the counterexample library,
:mod:`dojo.gwl`, the runner's records and :mod:`dojo.tables`, and nothing below imports them. Every function
returns a :class:`matplotlib.figure.Figure` built without pyplot; :func:`save` writes it in PNG, PDF or SVG with
the same bytes on every run.

>>> from dojo.figures import pair_figure
>>> fig = pair_figure("kchains-4")          # graphs a and b of the pair, in their plane
>>> [ax.get_title() for ax in fig.axes[:2]]
['a', 'b']
"""

from dojo.figures.heatmaps import heatmap_figure
from dojo.figures.hierarchy import Placement, hierarchy_figure, placements
from dojo.figures.margins import margin_figure
from dojo.figures.pairs import family_figure, pair_figure
from dojo.figures.refinement import Run, refinement_figure, refinement_runs
from dojo.figures.render import render_all, suite_records
from dojo.figures.style import save

__all__ = ["pair_figure", "family_figure", "refinement_figure", "refinement_runs", "Run", "hierarchy_figure",
           "placements", "Placement", "heatmap_figure", "margin_figure", "render_all", "suite_records", "save"]
