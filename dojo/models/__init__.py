"""The model zoo: geometric GNNs behind one interface.

>>> from dojo import models
>>> model = models.build("schnet", in_dim=1, out_dim=2, num_layers=2)   # doctest: +SKIP
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import cache

from dojo.models.base import EmbeddingModel, GeometricModel, ModelInfo

__all__ = ["EmbeddingModel", "GeometricModel", "ModelInfo", "UserModel", "build", "names", "register", "model_class",
           "sample", "wrap", "resolve"]

_MODELS: dict[str, type[GeometricModel]] = {}


def register(key: str):
    """Class decorator: make a model buildable as ``build(key, ...)``."""

    def add(cls: type[GeometricModel]) -> type[GeometricModel]:
        cls.key = key
        _MODELS[key] = cls
        return cls

    return add


def names() -> list[str]:
    """Keys of the registered models, in the order of the design table."""
    return list(_MODELS)


def model_class(name: str) -> type[GeometricModel]:
    """The class registered as ``name``."""
    if name not in _MODELS:
        raise ValueError(f"unknown model {name!r}. Fix: one of {names()}.")
    return _MODELS[name]


def build(name: str, **config: object) -> GeometricModel:
    """Build a fresh model ``name`` with ``config`` (``in_dim``, ``out_dim``, ``num_layers``, width, own knobs)."""
    cls = model_class(name)
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    unknown = set(config) - accepted
    if unknown:
        raise ValueError(f"{name}: unknown options {sorted(unknown)}. Fix: use some of {sorted(accepted)}.")
    return cls(**config)

def sample(spec: str | Callable[..., GeometricModel]) -> GeometricModel:
    """A small one-layer instance of a model (a zoo key, built once per process; or a class or factory from
    :func:`resolve`, built at each call): for what does not depend on width or depth (``info``, ``vector_irreps``)."""
    if isinstance(spec, str):
        return _zoo_sample(spec)
    return spec(in_dim=1, out_dim=2, num_layers=1)


@cache
def _zoo_sample(key: str) -> GeometricModel:
    return build(key, in_dim=1, out_dim=2, num_layers=1, hidden=4)


from dojo.models import schnet  # noqa: E402,F401  (registers "schnet")
from dojo.models import dimenet  # noqa: E402,F401  (registers "dimenet")
from dojo.models import spherenet  # noqa: E402,F401  (registers "spherenet")
from dojo.models import egnn  # noqa: E402,F401  (registers "egnn")
from dojo.models import gvp  # noqa: E402,F401  (registers "gvp")
from dojo.models import painn  # noqa: E402,F401  (registers "painn")
from dojo.models import tfn  # noqa: E402,F401  (registers "tfn")
from dojo.models import mace  # noqa: E402,F401  (registers "mace")

from dojo.models.wrap import UserModel, resolve, wrap  # noqa: E402  (needs the registry above)
