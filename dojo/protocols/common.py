"""What the protocols share: how a model is built for a pair, and the pair's graphs in the dtype a protocol needs."""

from __future__ import annotations

import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext

import torch
from torch import Tensor, nn
from torch_geometric.data import Data

import counterexamples
from counterexamples.pair import Pair
from dojo import models
from dojo.graphs import check_graph
from dojo.models.base import EmbeddingModel
from dojo.models.wrap import resolve

__all__ = ["ModelSpec", "as_pair", "pair_graphs", "pair_options", "build", "untrained", "float64_default",
           "init_count"]

#: A model: a zoo key (``"schnet"``), ``"pkg.module:Name"``, an entry point of the ``dojo.models`` group, a class,
#: factory or ``nn.Module`` (see :func:`dojo.models.wrap`), or a :class:`~dojo.models.wrap.UserModel`.
ModelSpec = str | Callable[..., object] | nn.Module


def as_pair(pair: Pair | str) -> Pair:
    """``pair`` itself, the library pair of that name (``"kchains-4"``) or the pair in a pair file (``"mine.json"``)."""
    if isinstance(pair, str):
        return counterexamples.load(pair)
    if not isinstance(pair, Pair):
        raise ValueError(f"expected a counterexample Pair or a pair name, got {type(pair).__name__}. "
                         "Fix: pass counterexamples.load('kchains-4') or the name 'kchains-4'.")
    return pair


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


@contextmanager
def float64_default() -> Iterator[None]:
    """Make float64 the default dtype inside: constants a model or e3nn builds on the fly (Wigner matrices,
    Clebsch-Gordan tables) are then float64 too, instead of float32 values cast up (errors of ~1e-7)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def _float32_constants(net: nn.Module) -> list[str]:
    """Tensors a model keeps as plain attributes (not parameters or buffers) in a float dtype below float64:
    ``.double()`` does not convert them, so a float64 protocol would silently compute partly in float32."""
    found = []
    for name, module in net.named_modules():
        for attr, value in vars(module).items():
            if isinstance(value, Tensor) and value.is_floating_point() and value.dtype != torch.float64:
                found.append(f"{name}.{attr}".lstrip("."))
    return found


def build(model: ModelSpec, options: Mapping[str, object], seed: int, dtype: torch.dtype) -> EmbeddingModel:
    """A fresh model with build ``options``, initialised from ``torch.manual_seed(seed)``, in ``dtype``.

    In float64 the model is built with float64 as the default dtype, so that constants it makes are exact to
    float64; constants that still stay float32 give a warning naming them.

    Raises
    ------
    ValueError
        For an unknown model or option, an invariant model asked for equivariant predictions, or a model that
        does not build what the dojo can run.
    """
    spec = resolve(model)
    torch.manual_seed(seed)
    with float64_default() if dtype == torch.float64 else nullcontext():
        net = models.build(spec, **options) if isinstance(spec, str) else spec(**options)
        if not isinstance(net, EmbeddingModel):
            raise ValueError(f"model {model!r} built a {type(net).__name__}, not a dojo GeometricModel. "
                             "Fix: pass it through dojo.models.wrap(...).")
        net = net.to(dtype)
    if dtype == torch.float64 and (stale := _float32_constants(net)):
        warnings.warn(f"{net.info.name}: tensors {stale[:5]} stay below float64 after .double() (plain "
                      "attributes, not buffers), so float64 results are only float32-accurate. Fix: register them "
                      "with module.register_buffer(...).", UserWarning, stacklevel=2)
    return net


def _frozen(value: object) -> object:
    """A hashable stand-in for a JSON-like config value (lists and dicts become tuples)."""
    if isinstance(value, Mapping):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value


_CACHE: OrderedDict[tuple, EmbeddingModel] = OrderedDict()
_CACHE_SIZE = 64


def untrained(model: ModelSpec, options: Mapping[str, object], seed: int,
              dtype: torch.dtype = torch.float64) -> EmbeddingModel:
    """Like :func:`build`, in eval mode and cached: the training-free protocol meets the same models on many pairs.

    Building an e3nn model costs far more than embedding a small graph, so a suite reuses the model for every
    pair with the same (model, options, seed), keeping the 64 last used. Callers must not train or modify the
    returned model.
    """
    key = (model, _frozen(options), seed, dtype)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    net = _CACHE[key] = build(model, options, seed, dtype).eval()
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return net


def init_count(model: ModelSpec, wanted: int) -> tuple[int, tuple[str, ...]]:
    """How many initialisations (or seeds) a model can honestly give, and a note when fewer than ``wanted``.

    An instance whose weights no ``reset_parameters`` reaches cannot be re-initialised: it is used once.
    """
    spec = resolve(model)
    if wanted > 1 and not getattr(spec, "reinitialisable", True):
        return 1, (f"{spec.name} is an instance that cannot be re-initialised (some weights have no "
                   f"reset_parameters): used once instead of {wanted} times",)
    return wanted, ()
