"""Models the dojo did not write: one small contract, and :func:`wrap`, which makes any model meet it.

The contract is duck-typed. A model maps a PyG ``Batch`` of geometric graphs (``z``, ``pos``, ``edge_index``,
``batch``) to a graph embedding ``[num_graphs, D]``; a class or factory builds it and takes the depth as
``num_layers`` (the suites vary it) and the number of node types as ``in_dim`` if it wants it; anything else comes
from a config. Optional: the e3nn ``irreps`` of the embedding (for equivariant tasks, which read its non-scalar
part), the ``group`` ("O(3)" or "SO(3)": which motions it must ignore), the GWL-family test that bounds it
(``bound``) and the body order of one layer (``body_order``: after one layer its invariant readout is bounded by
IGWL_(body_order) at iteration 1). Without a bound the tables say "no theory" for it.

:func:`wrap` accepts a class, a factory or an ``nn.Module`` instance, a PyG model whose ``forward`` takes
``(z, pos, batch)`` (adapted by :class:`dojo.models.pyg.PyGAdapter`: the pair's own edges replace its radius
graph) or a zoo model. :func:`resolve` turns whatever a user names (a zoo key, ``"pkg.module:Name"``, an entry point
of the ``dojo.models`` group, an object) into something the protocols build from.
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib.metadata import entry_points

import torch
from e3nn import o3
from torch import Tensor, nn
from torch_geometric.data import Batch, Data

from counterexamples.pair import GROUPS, TESTS
from dojo import __version__
from dojo.models.base import EmbeddingModel, GeometricModel, ModelInfo, mlp
from dojo.models.pyg import PyGAdapter, takes_z_pos_batch

__all__ = ["UserModel", "Wrapped", "wrap", "resolve", "model_identity", "ENTRY_POINTS"]

#: The entry-point group through which an installed package adds its models (``dojo table --model NAME``).
ENTRY_POINTS = "dojo.models"

Embed = Callable[[nn.Module, Batch], Tensor]


def _probe_graph(dtype: torch.dtype) -> Batch:
    """Two nodes of type 0 joined by one edge: enough for any model to show its embedding's width."""
    pos = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]], dtype=dtype)
    return Batch.from_data_list([Data(z=torch.zeros(2, dtype=torch.long), pos=pos,
                                      edge_index=torch.tensor([[0, 1], [1, 0]]))])


def _reinitialisable(module: nn.Module) -> bool:
    """Whether every parameter lies under a module with ``reset_parameters`` (so fresh weights can be drawn)."""
    covered: set[int] = set()
    for sub in module.modules():
        if callable(getattr(sub, "reset_parameters", None)):
            covered.update(id(p) for p in sub.parameters())
    return all(id(p) in covered for p in module.parameters())


def _reset(module: nn.Module) -> None:
    """Draw fresh weights: ``reset_parameters`` of every module that has one, outermost first."""
    for sub in module.modules():
        if callable(getattr(sub, "reset_parameters", None)):
            sub.reset_parameters()


def _qualname(obj: object) -> str:
    target = obj if inspect.isclass(obj) or inspect.isfunction(obj) else type(obj)
    return f"{target.__module__}.{target.__qualname__}"


def _source_hash(obj: object) -> str:
    """A hash of the code that builds ``obj`` (its class's or function's source, when Python can find it)."""
    target = obj if inspect.isclass(obj) or inspect.isfunction(obj) else type(obj)
    return _hash_of(target)


@lru_cache(maxsize=256)
def _hash_of(target: object) -> str:
    """Cached: a table keys every cell by its model's identity, and reading source files is not free."""
    try:
        text = inspect.getsource(target)
    except (OSError, TypeError):
        text = _qualname(target)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def model_identity(model: object, config: Mapping[str, object]) -> dict[str, str]:
    """Which model a result came from: its class, its config, a hash of both (and of its source) and the version.

    A resumed table compares the hash, so cells of another model registered under the same name (or of the same
    class with other code or options) are never reused.
    """
    if isinstance(model, str):
        from dojo.models import model_class
        model = model_class(model)
    described = model.describe() if isinstance(model, UserModel) else {"class": _qualname(model)}
    text = json.dumps([described, _source_hash(model.source if isinstance(model, UserModel) else model),
                       json.loads(json.dumps(dict(config), sort_keys=True, default=str)), __version__],
                      sort_keys=True)
    return {"class": described["class"], "config": json.dumps(dict(config), sort_keys=True, default=str),
            "hash": hashlib.sha256(text.encode()).hexdigest()[:16], "version": __version__}


class Wrapped(EmbeddingModel):
    """A user's module inside the dojo's interface: its embedding, the components an invariant task reads, a head.

    ``embed(batch)`` calls the user's embedding and keeps its scalar (``l = 0``) components, or all of it when
    ``equivariant_pred`` (orientation tasks); ``forward`` applies a small MLP head for the train protocol.
    """

    def __init__(self, net: nn.Module, spec: UserModel, in_dim: int, out_dim: int,
                 equivariant_pred: bool = False) -> None:
        super().__init__(in_dim, out_dim, equivariant_pred)
        self.net = net
        self.spec = spec
        try:
            with torch.no_grad():
                width = self._raw(_probe_graph(next(iter(net.parameters()), torch.empty(0)).dtype)).shape[1]
        except ValueError:
            raise
        except Exception as err:  # noqa: BLE001  (any failure here is the user's model meeting the contract)
            raise ValueError(f"{spec.name} failed on a probe graph (two nodes, one edge) with {type(err).__name__}: "
                             f"{err}. Fix: its forward (or wrap's embed) must take a PyG Batch with z, pos, "
                             "edge_index and batch and return [num_graphs, D].") from err
        irreps = spec.irreps if spec.irreps is not None else o3.Irreps(f"{width}x0e")
        if irreps.dim != width:
            raise ValueError(f"{spec.name}: declared irreps {irreps} have dimension {irreps.dim} but the model's "
                             f"embedding has {width} components. Fix: declare irreps of dimension {width}.")
        scalar = [(mul, ir) for mul, ir in irreps if ir.l == 0]
        vector = [(mul, ir) for mul, ir in irreps if ir.l > 0]
        if equivariant_pred and not vector:
            raise ValueError(f"{spec.name}: an equivariant task reads the embedding's non-scalar components, but its "
                             f"irreps {irreps} have none. Fix: declare irreps with l > 0 (e.g. '8x0e + 8x1o') in "
                             "wrap(..., irreps=...), or run invariant-task pairs only.")
        if not equivariant_pred and not scalar:
            raise ValueError(f"{spec.name}: its irreps {irreps} have no scalars for an invariant task. "
                             "Fix: add scalar (0e) components to its embedding.")
        keep = []
        start = 0
        for mul, ir in irreps:
            if equivariant_pred or ir.l == 0:
                keep.extend(range(start, start + mul * ir.dim))
            start += mul * ir.dim
        self.register_buffer("_keep", torch.tensor(keep, dtype=torch.long), persistent=False)
        self.scalar_irreps = o3.Irreps(scalar)
        self.vector_irreps = o3.Irreps(vector) if vector else None
        self.embed_irreps = irreps if equivariant_pred else self.scalar_irreps
        self.head = mlp([self.embed_irreps.dim, max(16, self.embed_irreps.dim), out_dim])

    def _raw(self, batch: Batch) -> Tensor:
        out = self.spec.embed(self.net, batch) if self.spec.embed is not None else self.net(batch)
        if isinstance(out, (tuple, list)):
            out = out[0]
        size = int(batch.num_graphs) if hasattr(batch, "num_graphs") else 1
        if not isinstance(out, Tensor) or out.dim() != 2 or out.shape[0] != size:
            shape = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
            raise ValueError(f"{self.spec.name}: its embedding of a batch of {size} graphs has shape {shape}, not "
                             f"[{size}, D]. Fix: return one row per graph (pool node features, e.g. with "
                             "torch_geometric.nn.global_add_pool(h, batch.batch)), or pass wrap(..., embed=fn) with "
                             "fn(module, batch) returning [num_graphs, D].")
        return out

    @property
    def info(self) -> ModelInfo:
        return self.spec.info

    def embed(self, batch: Data) -> Tensor:
        self.check_batch(batch)
        if not isinstance(batch, Batch):
            batch = Batch.from_data_list([batch])
        return self._raw(batch).index_select(1, self._keep)


@dataclass(eq=False)
class UserModel:
    """A model the dojo did not write, ready for the protocols (made by :func:`wrap`).

    Calling it with build options (``in_dim``, ``out_dim``, ``num_layers``, ``equivariant_pred`` and the model's
    own config) gives a fresh :class:`Wrapped` model: a class or factory is called anew (the protocols seed torch
    first), an instance is deep-copied and re-initialised through its modules' ``reset_parameters``.
    """

    source: object
    embed: Embed | None
    irreps: o3.Irreps | None
    group: str
    bound: str | None
    body_order: int | None
    name: str
    reference: str
    depth: str = "num_layers"

    @property
    def is_instance(self) -> bool:
        return isinstance(self.source, nn.Module)

    @property
    def reinitialisable(self) -> bool:
        """False for an instance some of whose weights no ``reset_parameters`` reaches: it is used once."""
        return not self.is_instance or _reinitialisable(self.source)

    @property
    def info(self) -> ModelInfo:
        """The metadata the tables compare against (what was declared; the rest left open)."""
        vector = self.irreps is not None and any(ir.l > 0 for _, ir in self.irreps)
        layer = f"igwl-{self.body_order}" if f"igwl-{self.body_order}" in TESTS else None
        return ModelInfo(name=self.name, kind="equivariant" if vector else "invariant", body_order=self.body_order,
                         tensor_order=self.irreps.lmax if vector else 0, group=self.group, bounded_by=self.bound,
                         reference=self.reference, layer_bound=layer)

    def describe(self) -> dict[str, object]:
        """The declared contract, as JSON-ready values (part of a result's identity)."""
        return {"class": _qualname(self.source), "irreps": None if self.irreps is None else str(self.irreps),
                "group": self.group, "bound": self.bound, "body_order": self.body_order,
                "embed": None if self.embed is None else _qualname(self.embed), "depth": self.depth}

    def parameters_of(self) -> list[str]:
        """The options a class or factory accepts (``["**"]`` when it takes any keyword)."""
        params = inspect.signature(self.source).parameters.values()
        return [("**" if p.kind is p.VAR_KEYWORD else p.name) for p in params if p.kind is not p.VAR_POSITIONAL]

    def __call__(self, *, in_dim: int, out_dim: int = 2, equivariant_pred: bool = False,
                 **config: object) -> Wrapped:
        net = self._instance(config) if self.is_instance else self._build(in_dim, config)
        if not isinstance(net, nn.Module):
            raise ValueError(f"{self.name} built a {type(net).__name__}, not a torch.nn.Module. "
                             "Fix: make the factory return the model (an nn.Module).")
        if isinstance(net, GeometricModel) and self.embed is None:
            embed: Embed | None = type(net).embed
            spec = self if self.irreps is not None else replace(self, irreps=net.embed_irreps, embed=embed)
        elif self.embed is None and takes_z_pos_batch(net):
            net, spec = PyGAdapter(net), self
        else:
            spec = self
        return Wrapped(net, spec, in_dim, out_dim, equivariant_pred)

    def _instance(self, config: Mapping[str, object]) -> nn.Module:
        depth = config.get("num_layers")
        have = getattr(self.source, "num_layers", None)
        if set(config) - {"num_layers"} or (depth is not None and depth != have):
            raise ValueError(f"{self.name} is an instance: its depth ({have if have is not None else 'unknown'}) and "
                             f"options are fixed, so the dojo cannot build it with {dict(config)}. Fix: pass its "
                             f"class or a factory taking num_layers (wrap({type(self.source).__name__}, ...)), or "
                             "drop the options.")
        net = copy.deepcopy(self.source)
        if self.reinitialisable:
            _reset(net)
        return net

    def _build(self, in_dim: int, config: Mapping[str, object]) -> nn.Module:
        config = dict(config)
        if "num_layers" in config and self.depth != "num_layers":
            config[self.depth] = config.pop("num_layers")
        accepted = self.parameters_of()
        unknown = sorted(set(config) - set(accepted)) if "**" not in accepted else []
        if self.depth in unknown:
            raise ValueError(f"{self.name} takes no {self.depth}, but the dojo varies the depth through it. Fix: "
                             f"name its depth parameter, e.g. wrap(..., depth='num_interactions') (it accepts "
                             f"{accepted}), or give it a num_layers parameter.")
        if unknown:
            raise ValueError(f"{self.name}: unknown options {unknown}. Fix: use some of {accepted}.")
        kwargs = {"in_dim": in_dim} if "in_dim" in accepted else {}
        if inspect.isclass(self.source) and issubclass(self.source, GeometricModel):
            kwargs["out_dim"] = 2  # a zoo class re-declared through wrap: its own head is not used
        return self.source(**kwargs, **config)


def wrap(model: object, *, embed: Embed | str | None = None, irreps: str | o3.Irreps | None = None,
         group: str = "O(3)", bound: str | None = None, body_order: int | None = None, name: str | None = None,
         reference: str = "", depth: str = "num_layers") -> UserModel:
    """Make any model usable by the dojo's protocols, tables, profile and pytest plugin.

    Parameters
    ----------
    model : class, factory or nn.Module
        A class or a factory (called once per initialisation or seed, with ``num_layers``, ``in_dim`` if it names
        it, and the config), or an instance (deep-copied and re-initialised through ``reset_parameters``; one that
        cannot be is used once, and the results say so). A PyG model whose ``forward`` takes ``(z, pos, batch)``
        runs on the pair's own edges; a dojo ``GeometricModel`` keeps its metadata.
    embed : callable or str, optional
        ``embed(module, batch) -> [num_graphs, D]``, or the name of the module's method to call; default
        ``module(batch)``.
    irreps : str or e3nn Irreps, optional
        The embedding's irreps (``"16x0e + 8x1o"``); default: every component a scalar.
    group : "O(3)" or "SO(3)"
        The motions the model must ignore: SO(3) models may tell mirror images apart.
    bound : str, optional
        The GWL-family test that bounds the model (one of ``counterexamples.TESTS``): tables compare against it.
    body_order : int, optional
        Body order of one layer: after one layer its readout is bounded by IGWL_(body_order) at iteration 1.
    name, reference : str, optional
        Display name (default: the class's) and the paper.
    depth : str
        The parameter through which the class or factory takes its number of layers (``"num_interactions"`` for
        PyG's SchNet, ``"num_blocks"`` for DimeNet++); the dojo always speaks of ``num_layers``.

    Returns
    -------
    UserModel
        Pass it wherever the dojo takes a model: ``separate(pair, wrapped, {"num_layers": 2})``.

    Examples
    --------
    >>> import torch
    >>> from torch_geometric.nn import global_add_pool
    >>> class Degree(torch.nn.Module):     # the simplest model: counts neighbours, ignores geometry
    ...     def __init__(self, num_layers: int):
    ...         super().__init__()
    ...         self.lin = torch.nn.Linear(1, 4)
    ...     def forward(self, batch):
    ...         deg = torch.bincount(batch.edge_index[1], minlength=batch.num_nodes).unsqueeze(1)
    ...         return global_add_pool(self.lin(deg.to(self.lin.weight.dtype)), batch.batch)
    >>> model = wrap(Degree, bound="wl")
    >>> model.info.bounded_by, model(in_dim=1, num_layers=1).embed_irreps
    ('wl', 4x0e)
    """
    if group not in GROUPS:
        raise ValueError(f"wrap: group must be one of {GROUPS}, got {group!r}. Fix: 'O(3)' unless the model sees "
                         "chirality (then 'SO(3)').")
    if bound is not None and bound not in TESTS:
        raise ValueError(f"wrap: unknown bound {bound!r}. Fix: one of {TESTS}, or None (no theory).")
    if body_order is not None and (not isinstance(body_order, int) or body_order < 2):
        raise ValueError(f"wrap: body_order must be an integer >= 2, got {body_order!r}. Fix: 2 for distances, "
                         "3 for angles, ... or None.")
    if isinstance(model, UserModel):
        return model
    if not (isinstance(model, nn.Module) or callable(model)):
        raise ValueError(f"wrap: expected a model class, factory or nn.Module instance, got {type(model).__name__}. "
                         "Fix: pass the class (wrap(MyNet)) or an instance (wrap(MyNet(num_layers=3))).")
    if isinstance(model, GeometricModel):  # a zoo model instance: keep its metadata unless overridden
        info = model.info
        irreps = model.embed_irreps if irreps is None else irreps
        bound = info.bounded_by if bound is None else bound
        group, body_order = info.group, body_order if body_order is not None else info.body_order
        embed = "embed" if embed is None else embed
    if isinstance(embed, str):
        method = embed
        embed = lambda module, batch: getattr(module, method)(batch)  # noqa: E731
        embed.__qualname__ = f"<method {method}>"
    try:
        parsed = None if irreps is None else o3.Irreps(irreps)
    except (ValueError, AssertionError) as err:
        raise ValueError(f"wrap: cannot read irreps {irreps!r} ({err}). Fix: e3nn notation, e.g. '16x0e + 8x1o'.") \
            from err
    display = name or (model.__name__ if inspect.isclass(model) or inspect.isfunction(model) else type(model).__name__)
    return UserModel(source=model, embed=embed, irreps=parsed, group=group, bound=bound, body_order=body_order,
                     name=display, reference=reference, depth=depth)


def _import(path: str) -> object:
    module_name, _, attr = path.partition(":")
    try:
        obj: object = importlib.import_module(module_name)
    except (ImportError, TypeError) as err:  # TypeError: a relative name such as ".models"
        raise ValueError(f"cannot import {module_name!r} for model {path!r} ({err}). Fix: check the module path, "
                         "and that its package is installed (pip install -e .) or on PYTHONPATH.") from err
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"module {module_name!r} has no {attr!r} (model {path!r}). Fix: name a class or "
                             f"factory defined there, as '{module_name}:Name'.")
        obj = getattr(obj, part)
    return obj


def resolve(model: object) -> str | type[GeometricModel] | UserModel:
    """What the protocols build from, given whatever names a model.

    A zoo key (``"schnet"``) stays a key; ``"pkg.module:Name"`` is imported and an entry point of the
    ``dojo.models`` group is loaded; a dojo ``GeometricModel`` class stays a class (built with the zoo's options);
    anything else goes through :func:`wrap` with its defaults.

    Raises
    ------
    ValueError
        For a name that is none of these, naming the zoo keys and the installed entry points.
    """
    from dojo.models import names

    if isinstance(model, str):
        if model in names():
            return model
        if ":" in model:
            return resolve(_import(model))
        found = [ep for ep in entry_points(group=ENTRY_POINTS) if ep.name == model]
        if found:
            return resolve(found[0].load())
        installed = sorted(ep.name for ep in entry_points(group=ENTRY_POINTS))
        raise ValueError(f"unknown model {model!r}. Fix: a zoo model {names()}, an installed model {installed} "
                         "(entry points of the 'dojo.models' group), or 'package.module:ClassOrFactory'.")
    if inspect.isclass(model) and issubclass(model, GeometricModel):
        return model
    return wrap(model)
