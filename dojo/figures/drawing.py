"""Drawing geometric graphs: a view shared by both graphs of a pair, and the graph drawn in a 2D or 3D panel.

Graphs are turned by a *proper* rotation onto their principal axes (the largest spread horizontal), so the
view is as wide as the panel and a handedness is kept (a reflection would swap mirror images): each graph on
its own axes for an invariant task, both on their joint axes for an orientation task, where the relative
orientation is what differs. When both graphs are planar they are drawn in their planes in 2D; a plane of the
coordinate axes keeps its axes (the k-chains keep their x and y), so the picture matches the coordinates in the
pair's docstring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection

from counterexamples.pair import Pair

__all__ = ["View", "view", "draw_graph", "frame"]

#: A graph is planar when its thinnest extent is below this fraction of its widest.
PLANAR = 1e-9


@dataclass(frozen=True)
class View:
    """Coordinates of both graphs of a pair, as drawn.

    Attributes
    ----------
    points : tuple of two arrays
        Node positions of ``a`` and ``b`` in view coordinates, ``[N, 2]`` (planar) or ``[N, 3]``, each centred on
        its own centroid.
    edges : tuple of two lists of (i, j)
        The undirected edges of ``a`` and ``b``.
    types : tuple of two arrays
        The node types.
    half : array
        Half the extent of the view along each axis, the same for both graphs (one scale for the pair).
    """

    points: tuple[np.ndarray, np.ndarray]
    edges: tuple[list[tuple[int, int]], list[tuple[int, int]]]
    types: tuple[np.ndarray, np.ndarray]
    half: np.ndarray

    @property
    def planar(self) -> bool:
        """Whether the view is 2D."""
        return self.points[0].shape[1] == 2


def _proper_axes(centred: np.ndarray) -> np.ndarray:
    """Principal axes of the stacked points as the rows of a rotation (det +1), signs fixed so that each axis'
    largest component is positive (deterministic across LAPACK builds)."""
    _, _, vt = np.linalg.svd(centred, full_matrices=True)
    for row in vt:
        if row[np.argmax(np.abs(row))] < 0:
            row *= -1
    if np.linalg.det(vt) < 0:
        vt[2] *= -1
    return vt


def _frame(centred: np.ndarray) -> tuple[np.ndarray, bool]:
    """The rotation (rows: new axes) that views ``centred`` points best, and whether they lie in a plane."""
    axes = _proper_axes(centred)
    spread = np.linalg.svd(centred, compute_uv=False)
    flat = len(spread) < 3 or spread[2] <= PLANAR * max(float(spread[0]), float(np.abs(centred).max()), 1e-300)
    k = int(np.argmax(np.abs(axes[2])))
    if flat and abs(abs(axes[2][k]) - 1) < 1e-12:  # a coordinate plane: keep its axes, the wider one first
        kept = sorted((i for i in range(3) if i != k), key=lambda i: -np.ptp(centred[:, i]))
        axes = np.eye(3)[[*kept, k]]
        if np.linalg.det(axes) < 0:
            axes[2] *= -1
    return axes, flat


def view(pair: Pair, planar: bool | None = None) -> View:
    """The view of a pair's two graphs (float64 positions from the exact coordinates).

    For an invariant task each graph is turned onto its own principal axes (how one graph sits relative to the
    other says nothing there: a control and its moved copy then look alike, as they are); for an equivariant task
    (orientation) both graphs share one rotation, since their relative orientation is the point.

    Parameters
    ----------
    pair : Pair
        The pair.
    planar : bool, optional
        Force a 2D (True) or 3D (False) view; by default 2D exactly when both graphs are planar.
    """
    graphs = pair.graphs(torch.float64)
    centred = [g.pos.numpy() - g.pos.numpy().mean(0) for g in graphs]
    if pair.task == "equivariant":
        axes, flat = _frame(np.concatenate(centred))
        frames = [(axes, flat), (axes, flat)]
    else:
        frames = [_frame(c) for c in centred]
    use_plane = all(flat for _, flat in frames) if planar is None else planar
    points = [c @ axes.T for c, (axes, _) in zip(centred, frames)]
    if use_plane:
        points = [p[:, :2] for p in points]
    half = np.max([np.ptp(p, axis=0) for p in points], axis=0) / 2
    half = np.maximum(half, 0.05 * max(float(half.max()), 1e-9))
    edges = tuple([(i, j) for i, j in g.edge_index.t().tolist() if i < j] for g in graphs)
    return View((points[0], points[1]), edges, (graphs[0].z.numpy(), graphs[1].z.numpy()), half)


def frame(ax: Axes, points: np.ndarray, half: np.ndarray, pad: float = 0.12) -> None:
    """Limits centred on ``points``' bounding box with half-extents ``half`` (plus ``pad`` of the largest), equal
    scale on every axis, no ticks."""
    centre = (points.max(0) + points.min(0)) / 2 if len(points) else np.zeros(len(half))
    margin = pad * float(half.max())
    lows, highs = centre - half - margin, centre + half + margin
    ax.set_xlim(lows[0], highs[0])
    ax.set_ylim(lows[1], highs[1])
    if len(half) == 3:
        ax.set_zlim(lows[2], highs[2])
        ax.set_box_aspect(tuple(highs - lows), zoom=1.05)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_zticks([])
        for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
            axis.set_pane_color((0.96, 0.96, 0.96, 1.0))
            axis.line.set_linewidth(0.4)
            axis.line.set_color("0.6")
    else:
        ax.set_aspect("equal", adjustable="box")
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)


def draw_graph(ax: Axes, points: np.ndarray, edges: Sequence[tuple[int, int]], colours: Sequence[str],
               markers: Sequence[str] | None = None, size: float = 28.0, labels: bool = False) -> None:
    """Edges as grey lines, nodes as markers with a dark edge (``colours[i]``, ``markers[i]``), optionally
    numbered; in 2D or 3D depending on ``points``' width."""
    three = points.shape[1] == 3
    markers = list(markers) if markers is not None else ["o"] * len(points)
    if three:
        for i, j in edges:
            ax.plot(*points[[i, j]].T, color="0.45", lw=0.9, zorder=1)
    elif edges:
        ax.add_collection(LineCollection([points[[i, j]] for i, j in edges], colors="0.45", linewidths=0.9,
                                         zorder=1))
    for shape in dict.fromkeys(markers):
        idx = [i for i, m in enumerate(markers) if m == shape]
        kwargs = {"depthshade": False} if three else {}
        ax.scatter(*points[idx].T, c=[colours[i] for i in idx], marker=shape, s=size, edgecolors="0.15",
                   linewidths=0.5, zorder=3, **kwargs)
    if labels:
        for i, p in enumerate(points):
            ax.text(*p, f" {i}", fontsize=5, color="0.25", zorder=4, ha="left", va="bottom")
