"""Every figure of the dojo, redrawn from data by one call: :func:`render_all` (``dojo figures``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import counterexamples
from dojo.figures.hierarchy import hierarchy_figure
from dojo.figures.heatmaps import heatmap_figure
from dojo.figures.margins import margin_figure
from dojo.figures.pairs import family_figure
from dojo.figures.refinement import refinement_figure
from dojo.figures.style import check_formats, save

__all__ = ["SUITES", "REFINEMENTS", "MARGIN_AXES", "suite_records", "render_all"]

#: The suites whose separate-protocol results are drawn (heatmaps; the hierarchy reads ``all``).
SUITES: tuple[str, ...] = ("all", "kchains", "rotsym")
#: The refinement figures: a pair and the tests stacked in its figure (a weaker test that never parts the two
#: graphs above one that does).
REFINEMENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("kchains-4", ("igwl", "gwl")),
    ("bodyorder-3", ("igwl-3", "igwl-4")),
)
#: The suites with a margin figure, and its horizontal axis.
MARGIN_AXES: dict[str, str] = {"kchains": "layers", "rotsym": "tensor_order"}


def suite_records(name: str, results: Path, models: Sequence[str] | None = None, seeds: int | None = None,
                  progress: bool = False) -> list[dict]:
    """The separate-protocol records of suite ``name``: read from ``results/<name>-separate.jsonl``, computing
    (and logging) only the cells missing there, as ``dojo table NAME`` does.

    Raises
    ------
    ValueError
        For an unknown suite or model.
    """
    from dojo import runner, suites

    cells = suites.suite(name, models)
    if not cells:
        return []
    settings = runner.settings_for("separate", seeds=seeds)
    return runner.run(cells, "separate", Path(results) / f"{name}-separate.jsonl", settings=settings,
                      progress=progress)


def render_all(out: Path | str, results: Path | str, formats: Sequence[str] = ("png", "pdf", "svg"), *,
               suites: Sequence[str] = SUITES, families: Sequence[str] | None = None,
               models: Sequence[str] | None = None, seeds: int | None = None,
               progress: bool = False) -> list[Path]:
    """Draw every figure of the dojo into ``out``; return the files written.

    The figures (``<name>.<format>`` for each format):

    * ``family-<family>``: every default pair of each library family (:func:`~dojo.figures.family_figure`);
    * ``refinement-kchains-4`` (IGWL above GWL) and ``refinement-bodyorder-3`` (IGWL_(3) above IGWL_(4)):
      colour refinement iteration by iteration (:func:`~dojo.figures.refinement_figure`), when their family is
      drawn;
    * ``hierarchy``: the axes of expressivity, placed by metadata and by the ``all`` suite's results
      (:func:`~dojo.figures.hierarchy_figure`; metadata only when ``all`` is not among ``suites``);
    * ``heatmap-<suite>``: the discriminability table of each suite (:func:`~dojo.figures.heatmap_figure`);
    * ``margins-kchains`` (against depth) and ``margins-rotsym`` (against tensor order)
      (:func:`~dojo.figures.margin_figure`).

    Table results come from the JSONL logs ``results/<suite>-separate.jsonl`` that ``dojo table`` writes; cells
    missing there are computed with the training-free protocol and logged (the ``all`` suite takes about half a
    minute on two cores, the others seconds). The train protocol is never run here. The same data give the same
    bytes (:func:`~dojo.figures.style.save`).

    Parameters
    ----------
    out : Path
        The directory to write into (created if needed).
    results : Path
        The directory of the JSONL logs (created if needed).
    formats : sequence of str
        Any of ``"png"``, ``"pdf"``, ``"svg"``.
    suites : sequence of str
        The suites to draw, a subset of :data:`SUITES`.
    families : sequence of str, optional
        The library families to draw (default: all).
    models : sequence of str, optional
        Only these models in the suites (default: every registered model).
    seeds : int, optional
        Initialisations per cell (default: the protocol's 5).
    progress : bool
        Show the runner's progress bars.

    Returns
    -------
    list of Path
        The files written, in the order above.

    Raises
    ------
    ValueError
        For an unknown format, suite, family or model (before anything is computed).
    """
    formats = check_formats(formats)
    unknown = sorted(set(suites) - set(SUITES))
    if unknown:
        raise ValueError(f"render_all: unknown suites {unknown}. Fix: some of {list(SUITES)}.")
    known = counterexamples.families()
    chosen = known if families is None else list(families)
    wrong = sorted(set(chosen) - set(known))
    if wrong:
        raise ValueError(f"render_all: unknown families {wrong}. Fix: some of {known}.")
    if models is not None:
        from dojo import models as zoo

        for m in models:
            zoo.resolve(m)  # a ValueError naming the registered models
    out, results = Path(out), Path(results)
    records = {name: suite_records(name, results, models, seeds, progress) for name in dict.fromkeys(suites)}

    written: list[Path] = []
    for family in chosen:
        written += save(family_figure(family), out / f"family-{family}", formats)
    for pair, tests in REFINEMENTS:
        if counterexamples.load(pair).family in chosen:
            written += save(refinement_figure(pair, tests=tests), out / f"refinement-{pair}", formats)
    if records.get("all"):
        written += save(hierarchy_figure(records["all"]), out / "hierarchy", formats)
    else:
        written += save(hierarchy_figure(models=list(models) if models else None),
                        out / "hierarchy", formats)
    for name, recs in records.items():
        if recs:
            written += save(heatmap_figure(recs), out / f"heatmap-{name}", formats)
    for name, axis in MARGIN_AXES.items():
        if records.get(name):
            written += save(margin_figure(records[name], axis), out / f"margins-{name}", formats)
    return written
