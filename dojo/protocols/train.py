"""The GWL paper's protocol: train a fresh model per seed to classify the pair's two graphs, report its accuracy.

Joshi et al. (ICML 2023, arXiv 2301.09308), Section 5 and the geometric-gnn-dojo experiments: the dataset is the
two graphs with labels 0 and 1; Adam (lr 1e-4) with ReduceLROnPlateau (mode max on the accuracy, factor 0.9,
patience 25, min_lr 1e-5); 100 epochs of batch size 1, shuffled; after every epoch the accuracy on both graphs,
keeping the test accuracy of the last epoch whose validation accuracy matched the best so far (validation and test
sets are the pair itself, so this is the best accuracy reached); mean ± standard deviation over 10 seeds. Unlike
the original code, every seed trains a *fresh* model (the original re-used one model object, so later seeds
started from trained weights).

Speed without changing the protocol: the seeds of a cell train together. Every seed keeps its own parameters,
Adam state, learning-rate schedule and shuffling, but one call of ``torch.func.vmap`` over the stacked parameters
runs all the seeds' forward passes on a batch of both graphs, and each seed's loss is taken on the graph its own
shuffle chose (memory grows with the number of seeds: every seed's activations are held at once). When a
model couples nothing across the graphs of a batch (no batch normalisation, no dropout), each seed's gradient is
exactly its batch-size-1 gradient; :func:`fit` checks this on the first step (vmapped logits against each model
run alone on each graph) and falls back to a plain loop over seeds when vmap fails or disagrees.
"""

from __future__ import annotations

import copy
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.func import functional_call, stack_module_state, vmap
from torch_geometric.data import Batch, Data

from counterexamples.pair import Pair
from dojo.models.base import GeometricModel
from dojo.protocols.common import ModelSpec, build, pair_graphs, pair_options

__all__ = ["Training", "train", "fit", "SEPARATED_ACCURACY"]

#: A mean accuracy (percent) at or above this counts as separating the pair; 50 is chance for two graphs.
SEPARATED_ACCURACY = 75.0

Mode = Literal["auto", "vmap", "loop"]


@dataclass(frozen=True)
class Training:
    """What :func:`train` measured: per-seed best accuracies (percent) and their mean and standard deviation.

    ``std`` is the population standard deviation (numpy's default, as in the paper's code). ``mode`` says how the
    seeds were run: ``"vmap"`` together, ``"loop"`` one after the other.
    """

    accuracies: tuple[float, ...]
    mean: float
    std: float
    epochs: int
    mode: str

    @property
    def separated(self) -> bool:
        """True when the mean accuracy reaches :data:`SEPARATED_ACCURACY`."""
        return self.mean >= SEPARATED_ACCURACY


class _StackedAdam:
    """Adam (Kingma & Ba, ICLR 2015, as ``torch.optim.Adam(fused=True)`` computes it, no weight decay) on
    parameters stacked over seeds, with one learning rate per seed.

    Written out because ``torch.optim.Adam`` has one learning rate per parameter group, while the seeds of a cell
    share every stacked tensor yet each follow their own ReduceLROnPlateau schedule. Adam is element-wise, so each
    seed's slice of a stacked tensor is updated as its own parameter: one call of torch's fused Adam kernel per
    distinct learning rate (usually one), over the slices of the seeds that have it. (Eight multi-tensor passes
    over memory, as ``torch.optim.Adam``'s default path makes, cost as much as the forward and backward passes of
    a small model.)
    """

    def __init__(self, params: Sequence[Tensor], lr: float, seeds: int, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self.params, self.betas, self.eps = list(params), betas, eps
        self.lr = [lr] * seeds
        self.step_count = torch.zeros((), dtype=torch.float32)
        moments = [(torch.zeros_like(p), torch.zeros_like(p)) for p in self.params]
        # per seed, the slices of every parameter and of its two moments (views: updates land in the stacks)
        self.slices = [[(p[s], m[s], v[s]) for p, (m, v) in zip(self.params, moments)] for s in range(seeds)]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.step_count += 1
        beta1, beta2 = self.betas
        grads = [p.grad.unbind(0) if p.grad is not None else None for p in self.params]
        for lr in sorted(set(self.lr)):
            live = [(*slices, g[s]) for s, seed_lr in enumerate(self.lr) if seed_lr == lr
                    for slices, g in zip(self.slices[s], grads) if g is not None]
            params, ms, vs, gs = (list(t) for t in zip(*live))
            torch._fused_adam_(params, gs, ms, vs, [], [self.step_count] * len(params), lr=lr, beta1=beta1,
                               beta2=beta2, weight_decay=0.0, eps=self.eps, amsgrad=False, maximize=False)


class _Seeds:
    """The seeds' models as one set of parameters stacked over seeds, run through one template module.

    ``together()`` runs every seed on a batch of both graphs in one ``torch.func.vmap`` call; ``alone(chosen)``
    runs seed ``s`` by itself on graph ``chosen[s]`` (the fallback). Both differentiate into the stacked tensors.
    """

    def __init__(self, nets: Sequence[GeometricModel], graphs: tuple[Data, Data]) -> None:
        # functional_call swaps tensors into the template's modules; a copy keeps the seeds' own models out of it
        # (with weights shared between submodules, PyG's SchNet for one, the swap does not always restore them).
        self.nets, self.template = list(nets), copy.deepcopy(nets[0])
        self.params, self.buffers = stack_module_state(self.nets)
        self.both = Batch.from_data_list(list(graphs))
        self.singles = [Batch.from_data_list([g]) for g in graphs]

    def _call(self, params: dict[str, Tensor], buffers: dict[str, Tensor], batch: Batch) -> Tensor:
        return functional_call(self.template, (params, buffers), (batch,))

    def together(self) -> Tensor:
        """``[S, 2, out]``: every seed on both graphs."""
        return vmap(self._call, in_dims=(0, 0, None), randomness="error")(self.params, self.buffers, self.both)

    def alone(self, chosen: Sequence[int]) -> Tensor:
        """``[S, out]``: seed ``s`` alone on graph ``chosen[s]``."""
        return torch.cat([self._call({k: p[s] for k, p in self.params.items()},
                                     {k: b[s] for k, b in self.buffers.items()}, self.singles[c])
                          for s, c in enumerate(chosen)])

    def vmap_agrees(self) -> bool:
        """Whether vmapped logits equal every seed run alone on every graph (train mode), up to round-off."""
        with torch.no_grad():  # first outside vmap: a model's lazily computed constants are made here
            alone = torch.stack([self.alone([c] * len(self.nets)) for c in (0, 1)], dim=1)
        try:
            together = self.together().detach()
        except Exception:  # noqa: BLE001  (any failure of vmap on a model means: use the loop)
            return False
        tol = 1e3 * torch.finfo(alone.dtype).eps * max(1.0, alone.abs().max().item())
        return together.shape == alone.shape and bool((together - alone).abs().max() <= tol)

    def write_back(self) -> None:
        """Copy the trained stacked parameters into the seeds' own models."""
        with torch.no_grad():
            for s, net in enumerate(self.nets):
                for name, p in net.named_parameters():
                    p.copy_(self.params[name][s])


def fit(nets: Sequence[GeometricModel], graphs: tuple[Data, Data], *, epochs: int = 100, lr: float = 1e-4,
        shuffle_seeds: Sequence[int], mode: Mode = "auto") -> tuple[list[float], str]:
    """Train ``nets`` (same architecture, one per seed) in place on the two ``graphs`` (labels 0 and 1).

    Seed ``s`` shuffles each epoch with ``torch.randperm(2, generator=g)``, ``g`` a generator seeded
    ``shuffle_seeds[s]``. Returns the best accuracy of each model (percent) and the mode used (``"vmap"`` or
    ``"loop"``; ``"auto"`` picks vmap when it agrees with the loop on the first step). Each seed's learning rate
    follows its own ``torch.optim.lr_scheduler.ReduceLROnPlateau``, driving a placeholder optimizer whose rate
    the stacked Adam reads.
    """
    if len(nets) != len(shuffle_seeds):
        raise ValueError(f"fit: {len(nets)} models but {len(shuffle_seeds)} shuffle seeds. Fix: one seed per model.")
    seeds = _Seeds(nets, graphs)
    seeds.template.train()
    if mode == "auto":
        mode = "vmap" if seeds.vmap_agrees() else "loop"
    adam = _StackedAdam(list(seeds.params.values()), lr, len(nets))
    holders = [torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr) for _ in nets]
    schedulers = [torch.optim.lr_scheduler.ReduceLROnPlateau(h, mode="max", factor=0.9, patience=25, min_lr=1e-5)
                  for h in holders]
    shufflers = [torch.Generator().manual_seed(s) for s in shuffle_seeds]
    labels, index = torch.tensor([0, 1]), torch.arange(len(nets))
    best = [-1.0] * len(nets)
    for _ in range(epochs):
        orders = torch.stack([torch.randperm(2, generator=g) for g in shufflers])
        seeds.template.train()
        for step in range(2):
            chosen = orders[:, step]
            adam.zero_grad()
            logits = seeds.together()[index, chosen] if mode == "vmap" else seeds.alone(chosen.tolist())
            F.cross_entropy(logits, labels[chosen], reduction="sum").backward()
            adam.step()
        seeds.template.eval()
        with torch.no_grad():
            logits = seeds.together() if mode == "vmap" else torch.stack([seeds.alone([c] * len(nets))
                                                                          for c in (0, 1)], dim=1)
        accuracy = ((logits.argmax(-1) == labels).double().mean(-1) * 100).tolist()
        for s, (acc, scheduler) in enumerate(zip(accuracy, schedulers)):
            best[s] = max(best[s], acc)
            scheduler.step(acc)
            adam.lr[s] = float(holders[s].param_groups[0]["lr"])
    seeds.write_back()
    return best, mode


def train(pair: Pair, model: ModelSpec, config: Mapping[str, object] | None = None, *, seeds: int = 10,
          epochs: int = 100, lr: float = 1e-4, seed: int = 0, dtype: torch.dtype = torch.float32,
          mode: Mode = "auto") -> Training:
    """Train a fresh ``model`` per seed to tell the two graphs of ``pair`` apart; mean ± std of the best accuracy.

    Parameters
    ----------
    pair : Pair
        The pair; equivariant-task pairs train with ``equivariant_pred=True`` (orientation is read from the pooled
        equivariant features).
    model : str or callable
        A zoo key or a callable returning a :class:`~dojo.models.GeometricModel`.
    config : mapping, optional
        Build options besides those the pair fixes (``num_layers``, ``max_ell``, ...).
    seeds, epochs, lr : int, int, float
        The protocol: 10 seeds, 100 epochs, Adam at 1e-4 by default.
    seed : int
        Seed ``i`` initialises its model with ``torch.manual_seed(seed + i)`` and shuffles with a generator seeded
        ``seed + i``.
    dtype : torch.dtype
        Float dtype of models and graphs (float32, as in the paper).
    mode : "auto", "vmap" or "loop"
        How seeds run; the results agree up to round-off.

    Returns
    -------
    Training

    Examples
    --------
    >>> import counterexamples
    >>> result = train(counterexamples.load("kchains", k=4), "schnet", {"num_layers": 3}, seeds=2, epochs=3)
    >>> result.accuracies, result.mode   # SchNet cannot tell the k-chains apart: chance
    ((50.0, 50.0), 'vmap')
    """
    if seeds < 1 or epochs < 1:
        raise ValueError(f"train: need seeds >= 1 and epochs >= 1, got seeds={seeds}, epochs={epochs}. "
                         "Fix: pass positive values.")
    options = {**(config or {}), **pair_options(pair)}
    graphs = pair_graphs(pair, dtype)
    nets = [build(model, options, seed + i, dtype) for i in range(seeds)]
    accuracies, used = fit(nets, graphs, epochs=epochs, lr=lr, shuffle_seeds=[seed + i for i in range(seeds)],
                           mode=mode)
    return Training(accuracies=tuple(accuracies), mean=statistics.fmean(accuracies),
                    std=statistics.pstdev(accuracies), epochs=epochs, mode=used)
