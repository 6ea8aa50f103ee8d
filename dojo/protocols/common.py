"""What the protocols share: how a model is built for a pair, and the pair's graphs in the dtype a protocol needs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache

import torch
from torch_geometric.data import Data

from counterexamples.pair import Pair
from dojo import models
from dojo.graphs import check_graph
from dojo.models.base import GeometricModel

__all__ = ["ModelSpec", "pair_graphs", "pair_options", "build", "untrained"]

#: A model of the zoo by key (``"schnet"``), or any callable that takes the zoo's ``build`` options
#: (``in_dim``, ``out_dim``, ``num_layers``, ``equivariant_pred``, ...) and returns a :class:`GeometricModel`.
ModelSpec = str | Callable[..., GeometricModel]


def pair_graphs(pair: Pair, dtype: torch.dtype) -> tuple[Data, Data]:
    """Both graphs of ``pair`` in ``dtype``, checked."""
    a, b = pair.graphs(dtype)
    return check_graph(a, f"{pair.name}.a"), check_graph(b, f"{pair.name}.b")


def pair_options(pair: Pair) -> dict[str, object]:
    """The build options that ``pair`` fixes: the input width (one per node type), two outputs, and
    ``equivariant_pred=True`` for equivariant-task pairs (their orientation is read from equivariant features)."""
    options: dict[str, object] = {"in_dim": 1 + max(*pair.exact_a.types, *pair.exact_b.types), "out_dim": 2}
    if pair.task == "equivariant":
        options["equivariant_pred"] = True
    return options


def build(model: ModelSpec, options: Mapping[str, object], seed: int, dtype: torch.dtype) -> GeometricModel:
    """A fresh model with build ``options``, initialised from ``torch.manual_seed(seed)``, in ``dtype``.

    Raises
    ------
    ValueError
        From the zoo (unknown key or option, an invariant model asked for equivariant predictions), or when a
        callable does not return a :class:`GeometricModel`.
    """
    torch.manual_seed(seed)
    net = models.build(model, **options) if isinstance(model, str) else model(**options)
    if not isinstance(net, GeometricModel):
        raise ValueError(f"model {model!r} built a {type(net).__name__}, not a dojo GeometricModel. "
                         "Fix: pass a zoo key or a callable returning a dojo.models.GeometricModel.")
    return net.to(dtype)


@lru_cache(maxsize=64)
def _untrained(model: ModelSpec, options: tuple[tuple[str, object], ...], seed: int,
               dtype: torch.dtype) -> GeometricModel:
    return build(model, dict(options), seed, dtype).eval()


def untrained(model: ModelSpec, options: Mapping[str, object], seed: int,
              dtype: torch.dtype = torch.float64) -> GeometricModel:
    """Like :func:`build`, in eval mode and cached: the training-free protocol meets the same models on many pairs.

    Building an e3nn model costs far more than embedding a small graph, so a suite reuses the model for every
    pair with the same (model, options, seed). Callers must not train or modify the returned model.
    """
    return _untrained(model, tuple(sorted(options.items())), seed, dtype)
