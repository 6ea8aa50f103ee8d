"""Run PyTorch Geometric's own models (SchNet, DimeNet, DimeNet++, ViSNet, ...) on the dojo's geometric graphs.

PyG's models take ``forward(z, pos, batch)`` and build their own radius graph inside it; the dojo asks about the
pair's *own* edges, so :class:`PyGAdapter` makes every radius-graph construction return the graph's ``edge_index``
and builds DimeNet's triplets in plain torch (PyG's radius graph needs pyg-lib, its triplets torch-sparse).

>>> import torch, counterexamples
>>> from torch_geometric.data import Batch
>>> from torch_geometric.nn import SchNet
>>> model = PyGAdapter(SchNet(hidden_channels=8, num_filters=8, num_interactions=1)).double()
>>> model(Batch.from_data_list(list(counterexamples.load("bodyorder-3").graphs(torch.float64)))).shape
torch.Size([2, 1])
"""

from __future__ import annotations

import inspect
import math
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from numbers import Real

import torch
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.nn.models import dimenet as pyg_dimenet

from dojo.graphs import check_graph
from dojo.models.base import graph_index

__all__ = ["takes_z_pos_batch", "PyGAdapter", "edge_triplets"]


def takes_z_pos_batch(model: nn.Module) -> bool:
    """Whether ``model.forward`` starts with parameters ``z, pos, batch``: the PyG convention the adapter serves.

    Parameters
    ----------
    model : nn.Module
        Any module, e.g. ``torch_geometric.nn.SchNet(...)`` (True) or a dojo model taking a ``Batch`` (False).
    """
    try:
        names = list(inspect.signature(model.forward).parameters)
    except (TypeError, ValueError):
        return False
    return names[:3] == ["z", "pos", "batch"]


def edge_triplets(edge_index: Tensor, num_nodes: int) -> tuple[Tensor, ...]:
    """PyG DimeNet's ``triplets(edge_index, num_nodes)`` in plain torch, with the same outputs (no torch-sparse).

    Parameters
    ----------
    edge_index : long [2, E]
        Edges ``j -> i``: row = source ``j``, col = target ``i``.
    num_nodes : int
        The number of nodes.

    Returns
    -------
    (i, j, idx_i, idx_j, idx_k, idx_kj, idx_ji) : long tensors
        ``i, j``: each edge's target and source. One entry per triplet ``k -> j -> i`` with ``k != i``: its nodes,
        its edge ``k -> j`` and its edge ``j -> i``, ordered by ``idx_ji`` then ``idx_k`` as PyG's sparse gather.
    """
    row, col = edge_index
    by_target = torch.argsort(col * num_nodes + row)  # edges sorted by target, then source: PyG's adj_t in CSR
    indegree = torch.bincount(col, minlength=num_nodes)
    first_into = torch.cumsum(indegree, 0) - indegree
    per_edge = indegree[row]  # candidate edges k -> j for each edge j -> i
    idx_ji = torch.repeat_interleave(torch.arange(row.numel(), device=row.device), per_edge)
    offsets = torch.repeat_interleave(torch.cumsum(per_edge, 0) - per_edge, per_edge)
    idx_kj = by_target[first_into[row[idx_ji]] + torch.arange(idx_ji.numel(), device=row.device) - offsets]
    keep = col[idx_ji] != row[idx_kj]  # drop k == i, the walk back along the same edge
    idx_ji, idx_kj = idx_ji[keep], idx_kj[keep]
    return col, row, col[idx_ji], row[idx_ji], row[idx_kj], idx_kj, idx_ji


@contextmanager
def _own_edges(model: nn.Module, module_names: Sequence[str], edge_index: Tensor, num_nodes: int,
               dtype: torch.dtype) -> Iterator[None]:
    """Within the block, ``radius_graph``/``radius`` in the model's modules return the graph's ``edge_index``, PyG
    DimeNet's ``triplets`` is :func:`edge_triplets` and the default dtype is ``dtype``.

    PyG has no public hook for the neighbourhood of SchNet, DimeNet or ViSNet (they call module-level functions), so
    the names are swapped by hand in the global namespaces of the modules defining the model's submodule classes
    (and their bases), and restored afterwards, even on exceptions (not thread-safe). The default dtype follows
    ``pos`` because ViSNet's ``Distance`` stores edge lengths in a bare float32 ``torch.zeros``.
    """
    loops = torch.arange(num_nodes, device=edge_index.device).expand(2, num_nodes)

    def on_nodes(*points: Tensor) -> None:
        if any(p.size(0) != num_nodes for p in points):
            raise ValueError(f"{type(model).__name__} builds a neighbourhood on other points than the graph's nodes. "
                             "Fix: wrap a model whose radius graph is built on the nodes themselves.")

    def radius_graph(x: Tensor, r: float, batch: Tensor | None = None, loop: bool = False,
                     max_num_neighbors: int = 32, flow: str = "source_to_target", **kwargs: object) -> Tensor:
        on_nodes(x)
        edges = torch.cat([edge_index, loops], 1) if loop else edge_index  # rows [source j, target i]
        return edges.flip(0) if flow == "target_to_source" else edges

    def radius(x: Tensor, y: Tensor, r: float, *args: object, **kwargs: object) -> Tensor:
        on_nodes(x, y)
        return torch.cat([edge_index, loops], 1).flip(0)  # rows [index in y, index in x]; each point is within r

    modules = {sys.modules.get(name) for name in module_names} - {None}
    swaps = {"radius_graph": radius_graph, "radius": radius}
    saved, default_dtype = [], torch.get_default_dtype()
    try:
        torch.set_default_dtype(dtype)
        for names in map(vars, modules):
            for name, own in swaps.items():
                if callable(names.get(name)):
                    saved.append((names, name, names[name]))
                    names[name] = own
            if names.get("triplets") is pyg_dimenet.triplets:
                saved.append((names, "triplets", names["triplets"]))
                names["triplets"] = edge_triplets
        yield
    finally:
        for names, name, original in reversed(saved):
            names[name] = original
        torch.set_default_dtype(default_dtype)


class PyGAdapter(nn.Module):
    """A PyG-style model ``forward(z, pos, batch)`` as a dojo model ``forward(batch) -> [num_graphs, D]``.

    The model sees the graph's own edges instead of a radius graph, and node type ``t`` as atomic number ``t + 1``
    (SchNet embeds ``z = 0``, its padding index, as zeros: the dojo's untyped graphs would all be zero to it).
    SchNet, DimeNet++ and ViSNet also run under ``torch.func.vmap`` over stacked parameters (the swapped-in
    functions depend on the graph only); a model whose own code cannot be vmapped needs a loop over parameter sets.

    Parameters
    ----------
    model : nn.Module
        The instance to wrap, kept as ``self.model`` (so ``.double()``, ``copy.deepcopy`` and
        ``torch.func.functional_call`` reach it); its cutoff, if any, must exceed the longest edge.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        if not takes_z_pos_batch(model):
            raise ValueError(f"{type(model).__name__}.forward does not start with (z, pos, batch). Fix: wrap a "
                             "PyG-style model, or write a dojo model whose forward takes a Batch.")
        self.model = model
        # Found once: the Python modules whose globals may build neighbourhoods, and the smallest cutoff.
        self._module_names = tuple(sorted({cls.__module__ for sub in model.modules() for cls in type(sub).__mro__}))
        cutoffs = [sub.cutoff for sub in model.modules() if isinstance(getattr(sub, "cutoff", None), Real)]
        self._cutoff = float(min(cutoffs)) if cutoffs else None

    def _check_cutoff(self, batch: Data) -> None:
        """Refuse an edge at or beyond the model's smallest ``cutoff``: its envelope would silently zero it."""
        if self._cutoff is None or batch.edge_index.numel() == 0:
            return
        row, col = batch.edge_index
        longest, cutoff = float((batch.pos[row] - batch.pos[col]).norm(dim=1).max()), self._cutoff
        if longest >= cutoff:
            raise ValueError(f"{type(self.model).__name__}: the longest edge ({longest:.4g}) is not shorter than the "
                             f"cutoff ({cutoff:g}), whose envelope would silently zero it. Fix: build it with "
                             f"cutoff={math.floor(longest) + 1} or larger.")

    def forward(self, batch: Data) -> Tensor:
        """The embedding ``[num_graphs, D]`` of a ``Batch`` (a lone ``Data`` is one graph).

        A tuple output (ViSNet's ``(y, dy)``) gives its first element, one row per node is summed per graph and a
        1-D output becomes one column.
        """
        check_graph(batch, "batch")
        self._check_cutoff(batch)
        index, num_graphs = graph_index(batch)
        num_nodes = batch.num_nodes
        with _own_edges(self.model, self._module_names, batch.edge_index, num_nodes, batch.pos.dtype):
            out = self.model(batch.z + 1, batch.pos, index)
        out = out[0] if isinstance(out, tuple) else out
        out = out.unsqueeze(1) if out.dim() == 1 else out
        if out.dim() == 2 and out.size(0) == num_nodes != num_graphs:
            out = out.new_zeros(num_graphs, out.size(1)).index_add(0, index, out)
        if out.dim() != 2 or out.size(0) != num_graphs:
            raise ValueError(f"{type(self.model).__name__} returned shape {tuple(out.shape)}; expected "
                             f"[num_graphs={num_graphs}, D] or one row per node [{num_nodes}, D]. Fix: wrap a model "
                             "whose output is per graph or per node.")
        return out
