"""The training-free protocol: does a randomly initialised model embed the pair's two graphs apart?

The question is asked the way BREC asks it (Wang & Zhang, "Towards Better Evaluation of GNN Expressiveness with
BREC Dataset", ICML 2024): a difference between the two graphs' embeddings counts only when it is reliably larger
than the difference between embeddings of the *same* graph under the symmetries the model is meant to ignore.
BREC decides with a Hotelling T^2 test on the paired embedding differences of 32 permuted copies, after a
reliability check that the same test does not fire on a graph against its own copies. We keep the idea (the
model's own spread under symmetries is the yardstick) but not the Gaussian test: in float64 the spread of an
invariant model is round-off, which is neither Gaussian nor full-rank (T^2 would need a regularised inverse of a
covariance of 1e-30 entries), so we compare distances directly, a rank statistic that assumes nothing about
their distribution.

For each initialisation, both graphs are embedded ``copies`` times, each copy moved by a random rigid motion and
node permutation (proper rotations only for SO(3) models: a reflection is a real difference for them), and each
embedding is brought back to a common frame by ``embed_irreps.D_from_matrix(R)^T``:

* ``spread``: the largest distance between two copies of the same graph (the model's own noise), floored at
  ``FLOOR`` times the embedding norm, since bit-identical copies say nothing about round-off below that;
* ``gap``: the smallest distance between a copy of one graph and a copy of the other;
* the initialisation separates the pair when ``gap > THRESHOLD * spread``.

If the model cannot tell the graphs apart, the copies of both graphs are draws from one distribution, and the
smallest cross distance falls below the largest within distance; ``THRESHOLD`` = 10 asks for an order of
magnitude beyond that. Measured on the zoo (relative to the embedding norm): where theory forbids separation
(controls, invariant models on k-chains) gaps and spreads are both ~1e-16 (ratio ~1); where a model sees the
difference, gaps of 1e-12..1e-1 stand over spreads of ~1e-16; a model that normalises vectors which vanish in
exact arithmetic (collinear neighbours) can spread by 1e-10..1e-1 under translations, and then its gap must
clear that spread.

Equivariant-task pairs (two congruent graphs, differently oriented) compare the equivariant embedding
(``equivariant_pred=True``). There the motions must not rotate one graph relative to the other, since the
relative orientation is what is measured: copy ``r`` of both graphs shares one rotation ``R_r`` (translations and
permutations stay independent), and un-rotating by ``D(R_r)^T`` compares them in the original frame. The spread
then measures the model's equivariance error plus round-off.
"""

from __future__ import annotations

import math
import statistics
import warnings
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import torch
from e3nn import o3
from torch import Tensor
from torch_geometric.data import Batch, Data

from counterexamples.pair import Pair
from dojo.models.base import EmbeddingModel
from dojo.models.wrap import UserModel, resolve
from dojo.protocols.common import ModelSpec, as_pair, float64_default, init_count, pair_graphs, pair_options, untrained
from dojo.transforms import permute, random_rotation, rigid_motion

__all__ = ["THRESHOLD", "FLOOR", "NOISY", "Separation", "Distances", "separate", "embedding_distances", "unrotate"]

#: An initialisation separates the pair when the smallest gap between the graphs exceeds this many spreads.
THRESHOLD = 10.0
#: The spread is at least this fraction of the largest embedding norm: ~500 float64 ulps, the round-off of a deep
#: network on copies that happen to embed bit-identically.
FLOOR = 1e-13
#: A wrapped model whose float64 spread exceeds this fraction of its embedding norm gets a warning: round-off of a
#: float64 network is ~1e-15 (the zoo's spreads on the library are at most ~1e-10 outside collinear neighbourhoods).
NOISY = 1e-8


@dataclass(frozen=True)
class Separation:
    """What :func:`separate` measured on one pair and one model.

    Attributes
    ----------
    fraction : float
        Fraction of the initialisations that separate the pair.
    margin : float
        Median over initialisations of ``gap / spread`` (separation needs more than :data:`THRESHOLD`).
    gap : float
        Median over initialisations of the gap, relative to the largest embedding norm.
    spread : float
        Median over initialisations of the (floored) spread, relative to the largest embedding norm.
    noise : float
        Median over initialisations of the measured spread before the floor, relative to the largest norm.
    inits, copies : int
        Initialisations, and moved copies of each graph per initialisation.
    degenerate : int
        Initialisations whose embedding was zero or constant (the same, to round-off, for the pair and for
        unrelated probe graphs): they say nothing about what the model can see, and never count as blind.
    notes : tuple of str
        What the run could not do as asked (an instance used once, say).
    """

    fraction: float
    margin: float
    gap: float
    spread: float
    noise: float
    inits: int
    copies: int
    degenerate: int = 0
    notes: tuple[str, ...] = ()

    @property
    def separated(self) -> bool:
        """True when at least half of the initialisations separate the pair."""
        return self.fraction >= 0.5

    @property
    def verdict(self) -> str:
        """``"separates"``, ``"blind"``, or ``"degenerate"`` when most initialisations gave a constant embedding."""
        if self.separated:
            return "separates"
        return "degenerate" if 2 * self.degenerate > self.inits else "blind"


def _moved_copies(graph: Data, rotations: list[Tensor], generator: torch.Generator) -> list[Data]:
    """``graph`` under each rotation, with a random translation and node permutation each."""
    out = []
    for rotation in rotations:
        translation = 10.0 * torch.randn(3, generator=generator, dtype=torch.float64)
        perm = torch.randperm(graph.num_nodes, generator=generator)
        out.append(permute(rigid_motion(graph, rotation, translation), perm))
    return out


def unrotate(emb: Tensor, irreps: o3.Irreps, rotations: Tensor) -> Tensor:
    """``D(R_r)^T emb[r]`` for every row: embeddings of moved copies brought back to the original frame.

    One batched Wigner matrix per distinct irrep, applied to all its copies (``Irreps.D_from_matrix`` would build
    the full block-diagonal matrix per rotation, which dominates the cost for wide embeddings).
    """
    out, start = torch.empty_like(emb), 0
    with float64_default():  # e3nn builds its generators in the default dtype: float32 would cost ~1e-7
        wigner = {ir: ir.D_from_matrix(rotations.double()).to(emb.dtype) for _, ir in irreps}
    for mul, ir in irreps:
        stop = start + mul * ir.dim
        block = emb[:, start:stop].reshape(-1, mul, ir.dim)
        out[:, start:stop] = torch.einsum("rji,rmj->rmi", wigner[ir], block).reshape(-1, mul * ir.dim)
        start = stop
    return out


def _embed(model: EmbeddingModel, graphs: list[Data]) -> Tensor:
    with torch.no_grad():
        return model.embed(Batch.from_data_list(graphs)).double()


class Distances(NamedTuple):
    """What :func:`embedding_distances` measured (distances in the original frame)."""

    gap: float       #: smallest distance between a copy of ``a`` and a copy of ``b``
    within: float    #: largest distance between two copies of the same graph
    scale: float     #: largest embedding norm
    span: float      #: largest distance between any two embeddings, probe graphs included (0: constant)


def _probes(graph: Data) -> list[Data]:
    """Graphs unrelated to the pair: ``graph`` shrunk to 0.7 (within any cutoff it met), and ``graph`` without its
    last node. A model that embeds these like the pair has a zero or constant embedding."""
    shrunk = graph.clone()
    shrunk.pos = 0.7 * graph.pos
    out = [shrunk]
    if graph.num_nodes > 1:
        last = graph.num_nodes - 1
        keep = (graph.edge_index != last).all(0)
        out.append(Data(z=graph.z[:last], pos=graph.pos[:last], edge_index=graph.edge_index[:, keep]))
    return out


def embedding_distances(model: EmbeddingModel, a: Data, b: Data, copies: int, shared_rotation: bool,
                        generator: torch.Generator, name: str = "the pair") -> Distances:
    """Embed ``copies`` moved copies of ``a`` and of ``b``, and probe graphs made from ``a``, in one batch.

    Every embedding is first brought back to the original frame. With ``shared_rotation`` copy ``r`` of both
    graphs is rotated alike.

    Raises
    ------
    ValueError
        When an embedding or a distance is NaN or infinite (the model overflowed): that is an error, never a
        measurement. ``name`` names the pair in the message.
    """
    proper = model.info.group == "SO(3)"

    def rotations() -> list[Tensor]:
        flips = torch.rand(copies, generator=generator) < 0.5
        return [random_rotation(generator, proper=proper or not bool(f)) for f in flips]

    rot_a = rotations()
    rot_b = rot_a if shared_rotation else rotations()
    probes = _probes(a)
    graphs = _moved_copies(a, rot_a, generator) + _moved_copies(b, rot_b, generator) + probes
    identity = [torch.eye(3, dtype=torch.float64)] * len(probes)
    emb = unrotate(_embed(model, graphs), model.embed_irreps, torch.stack(rot_a + rot_b + identity))
    emb_a, emb_b = emb[:copies], emb[copies:2 * copies]
    within = max(torch.pdist(emb_a).max().item(), torch.pdist(emb_b).max().item())
    found = Distances(gap=torch.cdist(emb_a, emb_b).min().item(), within=within, scale=emb.norm(dim=1).max().item(),
                      span=torch.pdist(emb).max().item())
    if not (torch.isfinite(emb).all() and all(math.isfinite(d) for d in found)):
        largest = max((g.pos - g.pos.mean(0)).norm(dim=1).max().item() for g in (a, b))
        raise ValueError(f"{model.info.name} on {name}: the embeddings (or their distances) are NaN or infinite, "
                         f"so there is nothing to measure (the graphs reach {largest:.3g} from their centres). "
                         "Fix: rescale the graph (e.g. to lengths of order 1), or the model overflows on edges this "
                         "long; or use a smaller model (fewer layers).")
    return found


_EDGES_CHECKED: weakref.WeakSet = weakref.WeakSet()


def _check_reads_edges(spec: UserModel, model: EmbeddingModel, graph: Data, spread: float) -> None:
    """Warn once per wrapped model when dropping an edge leaves its embedding unchanged: it then builds its own
    neighbourhoods (a radius graph, a complete graph) and answers another question than the pair asks."""
    if spec in _EDGES_CHECKED or graph.edge_index.shape[1] == 0:
        return
    _EDGES_CHECKED.add(spec)
    u, v = graph.edge_index[:, 0].tolist()
    keep = ~(((graph.edge_index[0] == u) & (graph.edge_index[1] == v))
             | ((graph.edge_index[0] == v) & (graph.edge_index[1] == u)))
    dropped = Data(z=graph.z, pos=graph.pos, edge_index=graph.edge_index[:, keep])
    emb = _embed(model, [graph, dropped])
    if (emb[0] - emb[1]).norm().item() <= THRESHOLD * spread:
        warnings.warn(f"{spec.name}: dropping an edge of a graph leaves its embedding unchanged, so it does not read "
                      "the graph's edge_index (it likely builds its own neighbourhoods, e.g. a radius graph). Its "
                      "verdicts then answer another question than the pair asks. Fix: make it message-pass over "
                      "batch.edge_index.", UserWarning, stacklevel=3)


def separate(pair: Pair, model: ModelSpec, config: Mapping[str, object] | None = None, *, inits: int = 5,
             copies: int = 8, seed: int = 0) -> Separation:
    """Training-free separation of ``pair`` by ``model`` at random initialisation, in float64.

    Parameters
    ----------
    pair : Pair or str
        The counterexample pair (or its name); equivariant-task pairs compare equivariant embeddings.
    model : str, class, factory or nn.Module
        A zoo key, ``"pkg.module:Name"``, or any model :func:`dojo.models.wrap` accepts.
    config : mapping, optional
        Build options besides those the pair fixes: ``num_layers``, ``hidden``, ``max_ell``, ``correlation``, ...
        (JSON-like values: numbers, strings, lists).
    inits : int
        Random initialisations (model seeds ``seed .. seed + inits - 1``).
    copies : int
        Moved copies of each graph per initialisation (at least 2).
    seed : int
        Seeds the models and the motions; the same seed gives the same result.

    Returns
    -------
    Separation

    Raises
    ------
    ValueError
        For ``inits < 1`` or ``copies < 2``, and from the zoo (e.g. an invariant model on an equivariant-task pair).

    Examples
    --------
    >>> import counterexamples
    >>> pair = counterexamples.load("kchains", k=4)
    >>> separate(pair, "schnet", {"num_layers": 3}, inits=2).fraction   # invariant: blind to k-chains
    0.0
    >>> separate(pair, "painn", {"num_layers": 3}, inits=2).fraction    # equivariant, at GWL's depth
    1.0
    """
    if inits < 1 or copies < 2:
        raise ValueError(f"separate: need inits >= 1 and copies >= 2, got inits={inits}, copies={copies}. "
                         "Fix: pass larger values.")
    pair = as_pair(pair)
    options = {**(config or {}), **pair_options(pair)}
    a, b = pair_graphs(pair, torch.float64)
    spec = resolve(model)
    runs, notes = init_count(spec, inits)
    generator = torch.Generator().manual_seed(seed)
    separated, ratios, gaps, spreads, noises, degenerate = [], [], [], [], [], 0
    for init in range(seed, seed + runs):
        net = untrained(spec, options, init, torch.float64)
        gap, within, scale, span = embedding_distances(net, a, b, copies, pair.task == "equivariant", generator,
                                                       pair.name)
        spread = max(within, FLOOR * scale, torch.finfo(torch.float64).tiny)
        norm = max(scale, torch.finfo(torch.float64).tiny)
        separated.append(gap > THRESHOLD * spread)
        if span <= THRESHOLD * max(FLOOR * scale, torch.finfo(torch.float64).tiny):
            degenerate += 1   # the pair and unrelated graphs embed alike, to round-off: a zero or constant embedding
        elif isinstance(spec, UserModel):
            _check_reads_edges(spec, net, a, spread)
        ratios.append(gap / spread)
        gaps.append(gap / norm)
        spreads.append(spread / norm)
        noises.append(within / norm)
    if isinstance(spec, UserModel) and statistics.median(noises) > NOISY:
        warnings.warn(f"{spec.name}: in float64 its embeddings of moved copies of one graph differ by "
                      f"{statistics.median(noises):.1e} of their norm, far above round-off (~1e-15): part of it "
                      "computes in float32 (constants made under the float32 default?) or it is not invariant "
                      "(check with dojo.testing.assert_invariant).", UserWarning, stacklevel=2)
    return Separation(fraction=sum(separated) / runs, margin=statistics.median(ratios),
                      gap=statistics.median(gaps), spread=statistics.median(spreads),
                      noise=statistics.median(noises), inits=runs, copies=copies, degenerate=degenerate,
                      notes=notes)
