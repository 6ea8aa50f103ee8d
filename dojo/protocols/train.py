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
run alone on each graph) and falls back to a plain loop over seeds when vmap fails or disagrees, when the model
is heavy enough that vmap costs more than it saves (:data:`VMAP_MAX_SAVED`), or when the seeds' buffers differ.
"""

from __future__ import annotations

import copy
import math
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
from dojo.models.base import EmbeddingModel
from dojo.optim import FusedAdam
from dojo.protocols.common import ModelSpec, as_pair, build, init_count, pair_graphs, pair_options

__all__ = ["Training", "train", "fit", "SEPARATED_ACCURACY"]

#: A mean accuracy (percent) at or above this counts as separating the pair; 50 is chance for two graphs.
SEPARATED_ACCURACY = 75.0

Mode = Literal["auto", "vmap", "loop"]

#: ``mode="auto"`` trains the seeds together only when one seed's forward pass on the pair keeps at most this many
#: elements for backward. vmap pays off where per-operation overhead dominates, on light models; on heavy ones
#: its batched gathers and scatters cost more than they save. ``benchmarks/train_modes.py`` times both (10 seeds,
#: 10 epochs; loop time over vmap time): GVP-GNN 3 layers on kchains-4 (0.8 M elements) 2.1, SchNet (0.3 M) 1.7,
#: PaiNN (0.8 M) 1.2, MACE 3 layers (1.4 M) 1.07, DimeNet++ 3 layers (1.9 M) 0.98, 6 layers (3.5 M) 0.95, MACE
#: ``max_ell`` 5 on rotsym-10 (2.8 M) 0.63, TFN ``max_ell`` 10 (3.2 M) 0.78; between 1.3 and 2 M the two are within
#: a quarter of each other either way (MACE correlation 5 on bodyorder-3, 1.3 M: 0.78). A count, not a timing, so
#: the choice (and with it every result) is the same on every run.
VMAP_MAX_SAVED = 2_500_000


@dataclass(frozen=True)
class Training:
    """What :func:`train` measured: per-seed best accuracies (percent) and their mean and standard deviation.

    ``std`` is the population standard deviation (numpy's default, as in the paper's code). ``mode`` says how the
    seeds were run: ``"vmap"`` together, ``"loop"`` one after the other. ``notes`` says what the run could not do
    as asked (an instance that cannot be re-initialised trains once).
    """

    accuracies: tuple[float, ...]
    mean: float
    std: float
    epochs: int
    mode: str
    notes: tuple[str, ...] = ()

    @property
    def separated(self) -> bool:
        """True when the mean accuracy reaches :data:`SEPARATED_ACCURACY`."""
        return self.mean >= SEPARATED_ACCURACY


class _Seeds:
    """The seeds' models as one set of parameters stacked over seeds, run through one template module.

    ``together()`` runs every seed on a batch of both graphs in one ``torch.func.vmap`` call and differentiates
    into the stacked tensors; ``alone(chosen)`` runs seed ``s`` by itself on graph ``chosen[s]``, to check vmap.
    Buffers are not stacked: the template keeps its own, so that what a model caches per graph (DimeNet++'s
    geometry, keyed on its buffers) is reused from step to step. That needs the seeds to share their buffers
    (constants in every zoo model): :attr:`shared_buffers` says whether they do.
    """

    def __init__(self, nets: Sequence[EmbeddingModel], graphs: tuple[Data, Data]) -> None:
        # functional_call swaps tensors into the template's modules; a copy keeps the seeds' own models out of it
        # (with weights shared between submodules, PyG's SchNet for one, the swap does not always restore them).
        self.nets, self.template = list(nets), copy.deepcopy(nets[0])
        self.params = stack_module_state(self.nets)[0]
        buffers = [dict(net.named_buffers()) for net in self.nets]
        self.shared_buffers = all(torch.equal(b, other[name]) for name, b in buffers[0].items() for other in buffers)
        self.both = Batch.from_data_list(list(graphs))
        self.singles = [Batch.from_data_list([g]) for g in graphs]

    def _call(self, params: dict[str, Tensor], batch: Batch) -> Tensor:
        return functional_call(self.template, params, (batch,))

    def together(self) -> Tensor:
        """``[S, 2, out]``: every seed on both graphs."""
        return vmap(self._call, in_dims=(0, None), randomness="error")(self.params, self.both)

    def alone(self, chosen: Sequence[int]) -> Tensor:
        """``[S, out]``: seed ``s`` alone on graph ``chosen[s]``."""
        return torch.cat([self._call({k: p[s] for k, p in self.params.items()}, self.singles[c])
                          for s, c in enumerate(chosen)])

    def saved_elements(self) -> int:
        """How many tensor elements one seed's forward pass on both graphs keeps for its backward pass."""
        count = 0

        def pack(t: Tensor) -> Tensor:
            nonlocal count
            count += t.numel()
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            self._call({k: p[0] for k, p in self.params.items()}, self.both)
        return count

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


def _schedules(adam: FusedAdam) -> list[torch.optim.lr_scheduler.ReduceLROnPlateau]:
    """The paper's schedule for every row (seed) of ``adam``: its rate times 0.9 after 25 epochs without a better
    accuracy, down to 1e-5. Each drives a placeholder optimizer, whose rate :func:`_schedule_step` copies."""
    return [torch.optim.lr_scheduler.ReduceLROnPlateau(
        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr), mode="max", factor=0.9, patience=25,
        min_lr=1e-5) for lr in adam.lr]


def _schedule_step(adam: FusedAdam, schedules: Sequence[torch.optim.lr_scheduler.ReduceLROnPlateau],
                   accuracies: Sequence[float]) -> None:
    """Step every seed's schedule on its epoch accuracy and give ``adam`` the resulting rates."""
    for row, (accuracy, schedule) in enumerate(zip(accuracies, schedules)):
        schedule.step(accuracy)
        adam.lr[row] = float(schedule.optimizer.param_groups[0]["lr"])


class NonFiniteLoss(ValueError):
    """The training loss became NaN or infinite: an error, never a measurement (``train`` adds the pair's name)."""


def _check_loss(loss: Tensor, net: EmbeddingModel, epoch: int) -> Tensor:
    """``loss``, after checking that it is finite."""
    if not torch.isfinite(loss).all():
        raise NonFiniteLoss(f"{net.info.name}: the training loss is {loss.item()} at epoch {epoch + 1}, so there is "
                            "no accuracy to report. Fix: lower lr, or rescale the graphs (the model overflows on "
                            "very long edges), or use a smaller model.")
    return loss


def _check_options(who: str, lr: object, mode: object) -> None:
    """Raise a ``ValueError`` naming the fix for a learning rate that is not a finite positive number or an
    unknown mode."""
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"{who}: lr must be a finite positive number, got {lr!r}. Fix: e.g. lr=1e-4 (the paper's).")
    if mode not in ("auto", "vmap", "loop"):
        raise ValueError(f"{who}: unknown mode {mode!r}. Fix: mode='auto', 'vmap' or 'loop'.")


def _accuracies(logits: Tensor, labels: Tensor) -> list[float]:
    """Per seed, the percentage of the two graphs whose logits ``[S, 2, out]`` pick their label."""
    return ((logits.argmax(-1) == labels).double().mean(-1) * 100).tolist()


def _fit_together(seeds: _Seeds, epochs: int, lr: float, shufflers: Sequence[torch.Generator]) -> list[float]:
    """Train every seed at once through ``vmap``; return each seed's best accuracy."""
    adam = FusedAdam(list(seeds.params.values()), lr, rows=len(shufflers))
    schedules = _schedules(adam)
    labels, index = torch.tensor([0, 1]), torch.arange(len(shufflers))
    best = [-1.0] * len(shufflers)
    for epoch in range(epochs):
        orders = torch.stack([torch.randperm(2, generator=g) for g in shufflers])
        seeds.template.train()
        for step in range(2):
            chosen = orders[:, step]
            adam.zero_grad()
            loss = F.cross_entropy(seeds.together()[index, chosen], labels[chosen], reduction="sum")
            _check_loss(loss, seeds.template, epoch).backward()
            adam.step()
        seeds.template.eval()
        with torch.no_grad():
            accuracy = _accuracies(seeds.together(), labels)
        best = [max(b, acc) for b, acc in zip(best, accuracy)]
        _schedule_step(adam, schedules, accuracy)
    seeds.write_back()
    return best


def _fit_alone(net: EmbeddingModel, graphs: tuple[Data, Data], epochs: int, lr: float,
               shuffler: torch.Generator) -> float:
    """Train one seed's model alone; return its best accuracy."""
    adam = FusedAdam(net.parameters(), lr)
    schedules = _schedules(adam)
    singles, both = [Batch.from_data_list([g]) for g in graphs], Batch.from_data_list(list(graphs))
    labels, best = torch.tensor([0, 1]), -1.0
    for epoch in range(epochs):
        net.train()
        for c in torch.randperm(2, generator=shuffler).tolist():
            adam.zero_grad()
            _check_loss(F.cross_entropy(net(singles[c]), labels[c:c + 1]), net, epoch).backward()
            adam.step()
        net.eval()
        with torch.no_grad():
            accuracy = _accuracies(net(both).unsqueeze(0), labels)
        best = max(best, accuracy[0])
        _schedule_step(adam, schedules, accuracy)
    return best


def fit(nets: Sequence[EmbeddingModel], graphs: tuple[Data, Data], *, epochs: int = 100, lr: float = 1e-4,
        shuffle_seeds: Sequence[int], mode: Mode = "auto") -> tuple[list[float], str]:
    """Train ``nets`` (same architecture, one per seed) in place on the two ``graphs`` (labels 0 and 1).

    Seed ``s`` shuffles each epoch with ``torch.randperm(2, generator=g)``, ``g`` a generator seeded
    ``shuffle_seeds[s]``, and follows its own ``torch.optim.lr_scheduler.ReduceLROnPlateau``. Returns the best
    accuracy of each model (percent) and the mode used: ``"vmap"`` trains the seeds together (one
    :class:`~dojo.optim.FusedAdam` over the stacked parameters, a learning rate per seed), ``"loop"`` one after the
    other; ``"auto"`` picks vmap when the model is light (see :data:`VMAP_MAX_SAVED`) and vmap
    agrees with the models run alone on the first step.

    Raises ``ValueError`` for a learning rate that is not finite and positive, an unknown mode, or a loss that
    becomes NaN or infinite (:class:`NonFiniteLoss`).
    """
    _check_options("fit", lr, mode)
    if len(nets) != len(shuffle_seeds):
        raise ValueError(f"fit: {len(nets)} models but {len(shuffle_seeds)} shuffle seeds. Fix: one seed per model.")
    shufflers = [torch.Generator().manual_seed(s) for s in shuffle_seeds]
    if mode != "loop":
        seeds = _Seeds(nets, graphs)
        seeds.template.train()
        if mode == "vmap" and not seeds.shared_buffers:
            raise ValueError("fit: mode='vmap' needs the seeds' models to share their buffers (constants); "
                             "these differ between seeds. Fix: use mode='loop' or 'auto'.")
        if seeds.shared_buffers and (mode == "vmap" or (seeds.saved_elements() <= VMAP_MAX_SAVED
                                                        and seeds.vmap_agrees())):
            return _fit_together(seeds, epochs, lr, shufflers), "vmap"
    return [_fit_alone(net, graphs, epochs, lr, g) for net, g in zip(nets, shufflers)], "loop"


def train(pair: Pair, model: ModelSpec, config: Mapping[str, object] | None = None, *, seeds: int = 10,
          epochs: int = 100, lr: float = 1e-4, seed: int = 0, dtype: torch.dtype = torch.float32,
          mode: Mode = "auto") -> Training:
    """Train a fresh ``model`` per seed to tell the two graphs of ``pair`` apart; mean ± std of the best accuracy.

    Parameters
    ----------
    pair : Pair or str
        The pair (or its name); equivariant-task pairs train with ``equivariant_pred=True`` (orientation is read
        from the pooled equivariant features).
    model : str, class, factory or nn.Module
        A zoo key, ``"pkg.module:Name"``, or any model :func:`dojo.models.wrap` accepts.
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

    Raises
    ------
    ValueError
        For ``seeds < 1``, ``epochs < 1``, a learning rate that is not finite and positive, an unknown ``mode``, a
        bad pair or model, and when the training loss becomes NaN or infinite (never reported as an accuracy).

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
    _check_options("train", lr, mode)
    pair = as_pair(pair)
    options = {**(config or {}), **pair_options(pair)}
    graphs = pair_graphs(pair, dtype)
    seeds, notes = init_count(model, seeds)
    nets = [build(model, options, seed + i, dtype) for i in range(seeds)]
    try:
        accuracies, used = fit(nets, graphs, epochs=epochs, lr=lr, shuffle_seeds=[seed + i for i in range(seeds)],
                               mode=mode)
    except NonFiniteLoss as err:
        raise NonFiniteLoss(f"train({pair.name}): {err}") from None
    return Training(accuracies=tuple(accuracies), mean=statistics.fmean(accuracies),
                    std=statistics.pstdev(accuracies), epochs=epochs, mode=used, notes=notes)
