"""Geometric graphs: the one data type that flows through the dojo.

A geometric graph is a :class:`torch_geometric.data.Data` with

* ``z`` -- long ``[N]``, the node type (a categorical colour), 0-based;
* ``pos`` -- float ``[N, 3]``, the node positions;
* ``edge_index`` -- long ``[2, E]``, every edge in both directions, no self-loops, no duplicates.

:func:`check_graph` is the single validation function; every public entry point of the dojo calls it, so bad input
fails early with a message that names the problem and the fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import networkx as nx
import torch
from torch import Tensor
from torch_geometric.data import Data

__all__ = [
    "check_graph",
    "geometric_graph",
    "complete_edges",
    "radius_edges",
    "DEGENERATE",
    "degenerate_graph",
    "to_networkx",
    "from_networkx",
]


def _fail(name: str, problem: str, fix: str) -> None:
    raise ValueError(f"{name}: {problem}. Fix: {fix}.")


def _integers(values: object, what: str, fix: str) -> Tensor:
    """``values`` as a long tensor; integral floats (``1.0``) are accepted, anything else non-integral raises.

    A plain ``.long()`` would truncate ``0.5`` to ``0`` and so silently build another graph than the one meant.
    """
    try:
        t = values if isinstance(values, Tensor) else torch.as_tensor(values)
        if t.is_floating_point() and not isinstance(values, Tensor):
            t = torch.as_tensor(values, dtype=torch.float64)  # not float32: it rounds integers above 2**24
    except (TypeError, ValueError, RuntimeError) as err:
        _fail(what, f"must be integers, got {values!r:.80} ({err})", fix)
    if not (t.is_floating_point() or t.dtype in (torch.uint8, torch.int8, torch.int16, torch.int32, torch.long)):
        _fail(what, f"must be integers, got a tensor of {t.dtype}", fix)
    if t.is_floating_point():
        bad = ~torch.isfinite(t) | (t != t.round())
        if bad.any():
            _fail(what, f"must be integers, got non-integral values {t[bad].flatten()[:5].tolist()}", fix)
    return t.long()


def check_graph(graph: Data, name: str = "graph") -> Data:
    """Check that ``graph`` follows the dojo's conventions and return it unchanged.

    Parameters
    ----------
    graph : Data
        The geometric graph to check.
    name : str
        How to refer to the graph in error messages (e.g. ``"pair.a"``).

    Returns
    -------
    Data
        ``graph`` itself, so that ``g = check_graph(g)`` reads naturally.

    Raises
    ------
    ValueError
        Naming the first violated convention and how to repair it: a missing attribute, a wrong shape or dtype,
        NaN/inf positions, an empty graph, edge indices out of range, self-loops, duplicate or one-directional edges.

    Examples
    --------
    >>> g = geometric_graph([[0, 0, 0], [1, 0, 0]], edges=[(0, 1)])
    >>> check_graph(g) is g
    True
    >>> check_graph(geometric_graph([[0, 0, 0]], edges=[]).update({"pos": None}))
    Traceback (most recent call last):
    ...
    ValueError: graph: missing `pos`. Fix: set graph.pos to a float tensor of shape [N, 3].
    """
    if not isinstance(graph, Data):
        _fail(name, f"expected a torch_geometric.data.Data, got {type(graph).__name__}",
              "build one with dojo.graphs.geometric_graph(positions, edges, types)")
    pos, z, edge_index = graph.get("pos"), graph.get("z"), graph.get("edge_index")
    if pos is None:
        _fail(name, "missing `pos`", f"set {name}.pos to a float tensor of shape [N, 3]")
    if z is None:
        _fail(name, "missing `z`", f"set {name}.z to a long tensor of node types of shape [N] (zeros if untyped)")
    if edge_index is None:
        _fail(name, "missing `edge_index`",
              f"set {name}.edge_index to a long tensor of shape [2, E] (torch.empty(2, 0, dtype=torch.long) if none)")
    if not isinstance(pos, Tensor) or pos.dim() != 2 or pos.size(1) != 3:
        shape = tuple(pos.shape) if isinstance(pos, Tensor) else type(pos).__name__
        _fail(name, f"`pos` must have shape [N, 3], got {shape}", "pass one 3D position per node")
    if not pos.is_floating_point():
        _fail(name, f"`pos` must be a float tensor, got {pos.dtype}", f"use {name}.pos.float() or .double()")
    if pos.size(0) == 0:
        _fail(name, "the graph is empty (no nodes)", "give the graph at least one node")
    if not torch.isfinite(pos).all():
        bad = (~torch.isfinite(pos)).any(dim=1).nonzero().flatten().tolist()
        _fail(name, f"`pos` has NaN or inf entries at nodes {bad[:10]}", "give every node finite coordinates")
    n = pos.size(0)
    if not isinstance(z, Tensor) or z.dim() != 1 or z.size(0) != n:
        shape = tuple(z.shape) if isinstance(z, Tensor) else type(z).__name__
        _fail(name, f"`z` must have shape [N] = [{n}], got {shape}", "pass one integer node type per node")
    if z.dtype != torch.long:
        _fail(name, f"`z` must be a long tensor, got {z.dtype}", f"use {name}.z.long()")
    if (z < 0).any():
        _fail(name, "`z` has negative node types", "number node types from 0")
    if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or edge_index.size(0) != 2:
        shape = tuple(edge_index.shape) if isinstance(edge_index, Tensor) else type(edge_index).__name__
        _fail(name, f"`edge_index` must have shape [2, E], got {shape}",
              "stack sources and targets as rows (edge_index = torch.tensor([sources, targets]))")
    if edge_index.dtype != torch.long:
        _fail(name, f"`edge_index` must be a long tensor, got {edge_index.dtype}", f"use {name}.edge_index.long()")
    if edge_index.numel() == 0:
        return graph
    if edge_index.min() < 0 or edge_index.max() >= n:
        _fail(name, f"`edge_index` refers to nodes outside 0..{n - 1} (range {edge_index.min()}..{edge_index.max()})",
              "index nodes from 0 to N-1")
    src, dst = edge_index
    if (src == dst).any():
        loops = src[src == dst].unique().tolist()
        _fail(name, f"self-loops at nodes {loops[:10]}",
              "remove them (torch_geometric.utils.remove_self_loops); the dojo adds no self-loops")
    keys = src * n + dst
    if keys.unique().numel() != keys.numel():
        _fail(name, "duplicate edges", "remove them (torch_geometric.utils.coalesce)")
    reverse = torch.isin(dst * n + src, keys)
    if not reverse.all():
        i = int((~reverse).nonzero()[0])
        _fail(name, f"edge {int(src[i])}->{int(dst[i])} has no reverse edge {int(dst[i])}->{int(src[i])}",
              "list every edge in both directions (torch_geometric.utils.to_undirected)")
    return graph


def geometric_graph(
    positions: Sequence[Sequence[float]] | Tensor,
    edges: Iterable[tuple[int, int]] | Tensor,
    types: Sequence[int] | Tensor | None = None,
    dtype: torch.dtype = torch.float32,
) -> Data:
    """Build a checked geometric graph from positions, undirected edges and node types.

    Parameters
    ----------
    positions : [N, 3] array-like
        Node positions.
    edges : iterable of (i, j) pairs, or a long tensor [2, E]
        Each undirected edge once (either direction, or both: duplicates are merged).
    types : [N] array-like of int, optional
        Node types (colours), 0-based; all zeros if omitted.

    Node types and edge indices must be integers: integral floats (``1.0``) are accepted as the integer they equal,
    non-integral values (``0.5``), NaN and inf raise ``ValueError`` (they are never truncated).
    dtype : torch.dtype
        Float dtype of ``pos``.

    Examples
    --------
    >>> g = geometric_graph([[0, 0, 0], [1, 0, 0], [0, 1, 0]], edges=[(0, 1), (0, 2)], types=[1, 0, 0])
    >>> g.edge_index.tolist()
    [[0, 0, 1, 2], [1, 2, 0, 0]]
    """
    pos = torch.as_tensor(positions, dtype=dtype)
    if pos.dim() == 1 and pos.numel() == 0:
        pos = pos.reshape(0, 3)
    n = pos.size(0) if pos.dim() >= 1 else 0
    z = torch.zeros(n, dtype=torch.long) if types is None else _integers(
        types, "geometric_graph: `types`", "give one integer node type per node (0, 1, 2, ...)")
    edge_fix = "give edges as pairs of integer node indices (i, j), 0 <= i, j < N"
    if isinstance(edges, Tensor):
        pairs = _integers(edges, "geometric_graph: `edges`", edge_fix).t()
    else:
        pairs = _integers([tuple(e) for e in edges], "geometric_graph: `edges`", edge_fix).reshape(-1, 2)
    both = torch.cat([pairs, pairs.flip(1)]).t()
    if both.numel():
        both = torch.unique(both[0] * max(n, 1) + both[1], sorted=True)
        both = torch.stack([both // max(n, 1), both % max(n, 1)])
    return check_graph(Data(z=z, pos=pos, edge_index=both.reshape(2, -1)))


def complete_edges(num_nodes: int) -> Tensor:
    """All ordered pairs ``i != j`` as an ``edge_index`` ``[2, N(N-1)]``."""
    idx = torch.arange(num_nodes)
    src, dst = torch.meshgrid(idx, idx, indexing="ij")
    keep = src != dst
    return torch.stack([src[keep], dst[keep]])


def radius_edges(pos: Tensor, cutoff: float) -> Tensor:
    """Edges between distinct nodes closer than ``cutoff``, both directions.

    Written with a dense distance matrix in plain torch because PyG's ``radius_graph`` needs torch-cluster, which
    has no wheel for the torch we support; fine for the graph sizes the dojo handles (thousands of nodes).
    """
    dist = torch.cdist(pos, pos)
    mask = dist < cutoff
    mask.fill_diagonal_(False)
    return mask.nonzero().t().contiguous()


#: The kinds of :func:`degenerate_graph`: the geometry on which invariance is hardest to keep in floating point.
DEGENERATE = ("planar", "collinear", "nearly-collinear", "centrosymmetric", "tiny", "far")


def degenerate_graph(kind: str, generator: torch.Generator, dtype: torch.dtype = torch.float64,
                     max_nodes: int = 7) -> Data:
    """A random connected-ish geometric graph of degenerate geometry, for invariance fuzzing.

    ``planar`` (all z = 0), ``collinear`` (on the x axis), ``nearly-collinear`` (offsets of ~1e-4 of the edge
    length off the x axis), ``centrosymmetric`` (point pairs ``x, -x`` and the centre), ``tiny`` (edges ~1e-3 long)
    or ``far`` (translated 1e2 from the origin); 3 to ``max_nodes`` nodes of two types, each pair of distinct
    points closer than 9 joined with probability 0.6 (at least one edge).

    Examples
    --------
    >>> g = degenerate_graph("planar", torch.Generator().manual_seed(0))
    >>> bool((g.pos[:, 2] == 0).all()), check_graph(g) is g
    (True, True)
    """
    if kind not in DEGENERATE:
        raise ValueError(f"unknown kind {kind!r}. Fix: one of {DEGENERATE}.")
    n = int(torch.randint(3, max_nodes + 1, (1,), generator=generator))
    pos = 2.0 * torch.randn(n, 3, generator=generator, dtype=torch.float64)
    if kind == "planar":
        pos[:, 2] = 0
    elif kind == "collinear":
        pos[:, 1:] = 0
    elif kind == "nearly-collinear":
        pos[:, 1:] = 1e-4 * torch.randn(n, 2, generator=generator, dtype=torch.float64)
    elif kind == "centrosymmetric":
        half = pos[: max(1, n // 2)]
        pos = torch.cat([half, -half, torch.zeros(1, 3, dtype=torch.float64)])
    elif kind == "tiny":
        pos = 1e-3 * pos
    elif kind == "far":
        pos = pos + 100.0
    dist = torch.cdist(pos, pos)
    pairs = [(i, j) for i in range(len(pos)) for j in range(i + 1, len(pos)) if 0 < dist[i, j] < 9]
    keep = [p for p in pairs if torch.rand(1, generator=generator) < 0.6] or pairs[:1]
    types = torch.randint(0, 2, (len(pos),), generator=generator).tolist()
    return geometric_graph(pos, keep, types, dtype=dtype)


def to_networkx(graph: Data) -> nx.Graph:
    """Convert to an undirected :class:`networkx.Graph` with node attributes ``z`` (int) and ``pos`` (3-tuple)."""
    check_graph(graph)
    g = nx.Graph()
    for i, (t, p) in enumerate(zip(graph.z.tolist(), graph.pos.tolist())):
        g.add_node(i, z=t, pos=tuple(p))
    g.add_edges_from(graph.edge_index.t().tolist())
    return g


def from_networkx(g: nx.Graph, dtype: torch.dtype = torch.float32) -> Data:
    """Convert a networkx graph whose nodes carry ``pos`` (and optionally ``z``) into a geometric graph.

    Nodes are numbered in ``g.nodes`` order. Node types ``z`` must be integers (integral floats such as ``1.0`` are
    accepted; ``0.5`` raises ``ValueError``).
    """
    nodes = list(g.nodes)
    missing = [v for v in nodes if "pos" not in g.nodes[v]]
    if missing:
        raise ValueError(f"networkx graph: nodes {missing[:10]} have no `pos` attribute. "
                         "Fix: set g.nodes[v]['pos'] = (x, y, z) for every node.")
    index = {v: i for i, v in enumerate(nodes)}
    positions = [g.nodes[v]["pos"] for v in nodes]
    types = _integers([g.nodes[v].get("z", 0) for v in nodes], "networkx graph: node attribute `z`",
                      "set g.nodes[v]['z'] to an integer node type (0, 1, 2, ...) for every node").tolist()
    edges = [(index[u], index[v]) for u, v in g.edges if u != v]
    if any(u == v for u, v in g.edges):
        raise ValueError("networkx graph: has self-loops. Fix: g.remove_edges_from(nx.selfloop_edges(g)).")
    return geometric_graph(positions, edges, types, dtype=dtype)
