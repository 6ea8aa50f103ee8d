"""Expressivity checks for a researcher's own test suite: assertions with actionable messages, and the profile.

Every helper takes a model in any form the dojo accepts (a zoo key, ``"pkg.module:Name"``, a class, factory or
instance, see :func:`dojo.models.wrap`) and a pair (a name such as ``"kchains-4"`` or a
:class:`~counterexamples.Pair`). Verdicts come from the training-free protocol (:func:`dojo.protocols.separate`,
float64); a failure message names the pair, what each GWL-family test says at that depth, the measured gap,
spread and margin, how many initialisations separated, and a hint.

>>> from dojo.testing import assert_blind, assert_separates
>>> _ = assert_separates("painn", "kchains-4", layers=3, inits=2)     # GWL separates at iteration 3
>>> _ = assert_blind("schnet", "kchains-4", layers=3, inits=2)        # invariant: never
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch_geometric.data import Batch

import counterexamples
from counterexamples import TESTS
from counterexamples.pair import Pair
from dojo import gwl
from dojo.formatting import markdown
from dojo.models.base import ModelInfo
from dojo.models.wrap import UserModel, resolve
from dojo.protocols import Separation, separate
from dojo.protocols.common import as_pair, build, pair_graphs, pair_options
from dojo.protocols.separate import NOISY, unrotate
from dojo.suites import default_depth
from dojo.tables import bound_at, first_iteration, place, separates_within
from dojo.transforms import permute, random_rotation, rigid_motion

__all__ = ["TOLERANCES", "assert_separates", "assert_blind", "assert_invariant", "assert_equivariant",
           "assert_matches_theory", "expressivity_profile", "Profile", "ProfileCell"]

#: Relative error (to the largest embedding norm) that :func:`assert_invariant` and :func:`assert_equivariant`
#: accept: float64 round-off of a deep network is ~1e-15, float32's ~1e-7; both leave room for depth and for
#: normalisations of short vectors.
TOLERANCES = {torch.float64: 1e-9, torch.float32: 1e-4}

def _theory_lines(pair: Pair, group: str, layers: int) -> str:
    if pair.task == "equivariant":
        order = gwl.orientation_order(pair)
        return f"  theory: the orientation is visible from tensor order {order} on" if order else \
            "  theory: no tensor order sees the orientation"
    marks = []
    for test in TESTS:
        first = first_iteration(pair, test, group)
        marks.append(f"{test} {'never' if first is None else f'at {first}'}"
                     + (" ✓" if first is not None and first <= layers else ""))
    return f"  GWL family under {group} (first separating iteration; ✓ within {layers} layers): " + ", ".join(marks)


def _info(spec: object, config: Mapping[str, object] | None, pair: Pair, seed: int) -> ModelInfo:
    """The metadata of ``spec`` as configured (built at one layer for the pair's options)."""
    return build(spec, {**_at(spec, 1, config, explicit=False), **pair_options(pair)}, seed, torch.float64).info


def _layers(pair: Pair, layers: int | None) -> int:
    return default_depth(pair) if layers is None else layers


def _fixed(spec: object) -> bool:
    """Whether ``spec`` is an instance, whose depth the dojo cannot choose."""
    return isinstance(spec, UserModel) and spec.is_instance


def _at(spec: object, depth: int, config: Mapping[str, object] | None, explicit: bool = True) -> dict[str, object]:
    """``config`` at ``depth``; an instance keeps its own depth unless one was asked for explicitly (then it must
    match, or building it raises)."""
    return {**({"num_layers": depth} if explicit or not _fixed(spec) else {}), **(config or {})}


def _check(model: object, pair: Pair | str, layers: int | None, config: Mapping[str, object] | None, inits: int,
           seed: int, expect: str) -> Separation:
    pair = as_pair(pair)
    depth = _layers(pair, layers)
    spec = resolve(model)
    result = separate(pair, spec, _at(spec, depth, config, layers is not None), inits=inits, seed=seed)
    if result.verdict == expect:
        return result
    group = _info(spec, config, pair, seed).group
    if result.verdict == "degenerate":
        hint = ("its embedding is zero or constant (e.g. a zero output initialiser, as in PyG's DimeNet++ default): "
                "it shows nothing either way. Fix: initialise the output layers with non-zero weights.")
    elif expect == "separates":
        gwl_first = first_iteration(pair, "gwl", group) if pair.task == "invariant" else None
        hint = (f"GWL itself needs {gwl_first} iterations: try num_layers >= {gwl_first}." if gwl_first and
                gwl_first > depth else "its bounding test may not separate this pair (see above), or its "
                "features lose the difference (check that it reads batch.edge_index and the geometry you expect).")
    else:
        hint = ("a model that separates what its bound cannot is broken: check invariance with assert_invariant, "
                "and whether it builds its own neighbourhoods or reads node order.")
    raise AssertionError(
        f"expected {model_name(spec)} to be {'able to separate' if expect == 'separates' else 'blind to'} "
        f"{pair.name} at {depth if layers is not None or not _fixed(spec) else 'its own'} layers, but it is "
        f"{result.verdict}.\n"
        f"  pair: {pair.description}\n{_theory_lines(pair, group, depth)}\n"
        f"  measured: {round(result.fraction * result.inits)}/{result.inits} initialisations separated; gap "
        f"{result.gap:.2e}, spread {result.spread:.2e}, margin {result.margin:.2e} (separating needs > 10)"
        + (f"; {result.degenerate} degenerate" if result.degenerate else "") + "\n"
        f"  hint: {hint}")


def model_name(spec: object) -> str:
    """A model's display name for messages."""
    return spec if isinstance(spec, str) else getattr(spec, "name", getattr(spec, "__name__", repr(spec)))


def assert_separates(model: object, pair: Pair | str, *, layers: int | None = None,
                     config: Mapping[str, object] | None = None, inits: int = 5, seed: int = 0) -> Separation:
    """Assert that ``model`` at ``layers`` (default: the depth at which GWL first separates the pair) embeds the
    two graphs of ``pair`` apart for most initialisations; return the measurement."""
    return _check(model, pair, layers, config, inits, seed, "separates")


def assert_blind(model: object, pair: Pair | str, *, layers: int | None = None,
                 config: Mapping[str, object] | None = None, inits: int = 5, seed: int = 0) -> Separation:
    """Assert that ``model`` cannot separate ``pair`` at ``layers`` (a zero or constant embedding fails: it would
    be blind to everything, which proves nothing)."""
    return _check(model, pair, layers, config, inits, seed, "blind")


def _motion_errors(model: object, config: Mapping[str, object] | None, pairs: Sequence[Pair | str] | None,
                   dtype: torch.dtype, copies: int, seed: int, equivariant: bool) -> list[tuple[str, float]]:
    """Per graph, the largest relative change of the (un-rotated) embedding under random motions."""
    # By default the library's invariant-task pairs: an equivariant-task pair's graphs are one graph turned, and
    # building for that task asks for vector outputs, which an invariant model rightly refuses.
    chosen = [as_pair(p) for p in (pairs or [p for p in counterexamples.pairs() if p.task == "invariant"])]
    generator = torch.Generator().manual_seed(seed)
    errors = []
    for pair in chosen:
        options = {**_at(model, default_depth(pair), config, explicit=False), **pair_options(pair)}
        if equivariant:
            options["equivariant_pred"] = True
        net = build(model, options, seed, dtype).eval()
        proper = net.info.group == "SO(3)"
        for name, graph in zip(("a", "b"), pair_graphs(pair, dtype)):
            rotations = [random_rotation(generator, proper=proper or bool(i % 2 == 0)) for i in range(copies)]
            moved = [permute(rigid_motion(graph, r, 10.0 * torch.randn(3, generator=generator, dtype=torch.float64)),
                             torch.randperm(graph.num_nodes, generator=generator)) for r in rotations]
            with torch.no_grad():
                emb = net.embed(Batch.from_data_list([graph, *moved])).double()
            back = unrotate(emb[1:], net.embed_irreps, torch.stack(rotations))
            scale = max(emb.norm(dim=1).max().item(), torch.finfo(torch.float64).tiny)
            errors.append((f"{pair.name}.{name}", (back - emb[0]).norm(dim=1).max().item() / scale))
    return errors


def _assert_motions(kind: str, model: object, config: Mapping[str, object] | None,
                    pairs: Sequence[Pair | str] | None, dtype: torch.dtype, rtol: float | None, copies: int,
                    seed: int) -> float:
    tol = TOLERANCES[dtype] if rtol is None else rtol
    errors = _motion_errors(resolve(model), config, pairs, dtype, copies, seed, kind == "equivariant")
    bad = [(g, e) for g, e in errors if not e <= tol]
    if bad:
        shown = ", ".join(f"{g} {e:.1e}" for g, e in sorted(bad, key=lambda x: -x[1])[:5])
        raise AssertionError(
            f"{model_name(resolve(model))} is not {kind} in {str(dtype).removeprefix('torch.')}: relative embedding "
            f"change under rotations/reflections, translations and node permutations above {tol:.0e} on "
            f"{len(bad)} of {len(errors)} graphs ({shown}).\n  hint: a model must use only relative positions "
            "(x_j - x_i) and permutation-invariant aggregation; an SO(3) model must declare group='SO(3)' (it is "
            "then not tested under reflections); normalising vectors that vanish exactly (collinear neighbours) "
            "amplifies round-off.")
    return max(e for _, e in errors)


def assert_invariant(model: object, *, config: Mapping[str, object] | None = None,
                     pairs: Sequence[Pair | str] | None = None, dtype: torch.dtype = torch.float64,
                     rtol: float | None = None, copies: int = 4, seed: int = 0) -> float:
    """Assert that the invariant embedding does not change under rigid motions and node permutations of every graph
    of ``pairs`` (default: the library's invariant-task pairs), within ``rtol`` (default :data:`TOLERANCES`); return
    the largest error.

    Reflections are applied only to O(3) models."""
    return _assert_motions("invariant", model, config, pairs, dtype, rtol, copies, seed)


def assert_equivariant(model: object, *, config: Mapping[str, object] | None = None,
                       pairs: Sequence[Pair | str] | None = None, dtype: torch.dtype = torch.float64,
                       rtol: float | None = None, copies: int = 4, seed: int = 0) -> float:
    """Assert that the equivariant embedding (all declared irreps) transforms by its Wigner matrices under
    rotations (and reflections, for O(3) models), is unchanged by translations and permutations; return the
    largest error."""
    return _assert_motions("equivariant", model, config, pairs, dtype, rtol, copies, seed)


@dataclass(frozen=True)
class ProfileCell:
    """One measurement of a profile: the pair, the depth, the model's verdict, and the weakest test that separates
    the pair within that depth (None: no test of the family does)."""

    pair: str
    layers: int
    verdict: str
    separated: str
    weakest: str | None
    control: bool


@dataclass(frozen=True)
class Profile:
    """Where a model sits in the GWL hierarchy, depth by depth, from its verdicts on the library.

    ``levels[L] = (reaches, bounded_by)``: the strongest test whose every separation at depth ``L`` the model
    reproduces, and the weakest test no weaker than that one which separates everything the model separates (None
    when the model separates something GWL cannot). Tests that separate the same library pairs at a depth are
    indistinguishable there. Degenerate cells (zero or constant embeddings) count for neither. ``broken`` lists
    what no geometric GNN may do: separate isomorphic controls or pairs beyond GWL, or embed moved copies of one
    graph apart beyond round-off.
    """

    model: str
    group: str
    cells: tuple[ProfileCell, ...]
    levels: dict[int, tuple[str, str | None]] = field(default_factory=dict)
    broken: tuple[str, ...] = ()

    def summary(self) -> list[str]:
        """One line per depth: ``at 1 layer: reaches igwl-3, bounded by igwl-3``."""
        lines = []
        for depth, (reach, bound) in sorted(self.levels.items()):
            lines.append(f"at {depth} layer{'s' if depth > 1 else ''}: reaches {reach}, "
                         + (f"bounded by {bound}" if bound else "beyond GWL (broken)"))
        lines += [f"BROKEN: {b}" for b in self.broken]
        return lines

    def to_markdown(self) -> str:
        """The cells as a markdown table, then the summary."""
        rows = [[c.pair, c.layers, c.separated + (" (control)" if c.control else ""), c.weakest or "none",
                 "ok" if (c.verdict == "separates") == (c.weakest is not None and not c.control) else "below"
                 if c.verdict != "separates" else "BROKEN"] for c in self.cells]
        table = markdown(["pair", "layers", "model", "weakest separating test", "vs GWL"], rows)
        return f"Expressivity profile of {self.model} ({self.group})\n\n{table}\n\n" + "\n".join(self.summary())

    def __str__(self) -> str:
        return self.to_markdown()


def _weakest(pair: Pair, group: str, layers: int) -> str | None:
    return next((test for test in TESTS if separates_within(pair, test, group, layers)), None)


def expressivity_profile(model: object, *, config: Mapping[str, object] | None = None,
                         pairs: Sequence[Pair | str] | None = None, inits: int = 3, seed: int = 0,
                         progress: bool = False) -> Profile:
    """The model's verdict on every invariant-task library pair (or ``pairs``) at one layer and at the depth where
    GWL first separates it, and its place in the hierarchy at each depth.

    Examples
    --------
    >>> profile = expressivity_profile("painn", pairs=["bodyorder-2", "bodyorder-3", "kchains-4"], inits=2)
    >>> profile.summary()     # one PaiNN layer aggregates 3-body information
    ['at 1 layer: reaches igwl-3, bounded by igwl-3', 'at 3 layers: reaches gwl, bounded by gwl']
    """
    from tqdm import tqdm

    spec = resolve(model)
    if _fixed(spec):
        raise ValueError(f"{model_name(spec)} is an instance: its depth is fixed, but a profile runs every pair at "
                         "one layer and at GWL's depth. Fix: pass its class or a factory taking num_layers.")
    chosen = [as_pair(p) for p in (pairs or counterexamples.pairs())]
    chosen = [p for p in chosen if p.task == "invariant"]
    jobs = sorted({(p.name, depth) for p in chosen for depth in (1, default_depth(p))}, key=lambda j: (j[1], j[0]))
    by_name = {p.name: p for p in chosen}
    group = _info(spec, config, chosen[0], seed).group
    cells, noisy = [], []
    for name, depth in tqdm(jobs, disable=not progress, desc=f"profile {model_name(spec)}", unit="cell"):
        pair = by_name[name]
        result = separate(pair, spec, {"num_layers": depth, **(config or {})}, inits=inits, seed=seed)
        control = first_iteration(pair, "gwl", "O(3)") is None and first_iteration(pair, "gwl", "SO(3)") is None
        if result.noise > NOISY:
            noisy.append((result.noise, name))
        cells.append(ProfileCell(name, depth, result.verdict, f"{round(result.fraction * result.inits)}/"
                                 f"{result.inits}" + (" deg" if result.verdict == "degenerate" else ""),
                                 _weakest(pair, group, depth), control))
    levels = {}
    for depth in sorted({c.layers for c in cells}):
        at = [c for c in cells if c.layers == depth and c.verdict != "degenerate"]
        levels[depth] = place({c.pair for c in at if c.verdict == "separates"},
                              lambda test: {c.pair for c in at
                                            if separates_within(by_name[c.pair], test, group, depth)})
    broken = [f"separates the isomorphic control {c.pair} at {c.layers} layers (not invariant)" if c.control else
              f"separates {c.pair} at {c.layers} layers, which GWL cannot (beyond every message-passing GNN on "
              "these edges)" for c in cells if c.verdict == "separates" and c.weakest is None]
    if noisy:
        worst, where = max(noisy)
        broken.append(f"not invariant: moved copies of one graph embed up to {worst:.1e} apart (relative to the "
                      f"norm; round-off is ~1e-15) on {len(noisy)} of {len(cells)} cells, worst on {where}")
    return Profile(model_name(spec), group, tuple(cells), levels, tuple(broken))


def assert_matches_theory(model: object, *, config: Mapping[str, object] | None = None,
                          pairs: Sequence[Pair | str] | None = None, inits: int = 3, seed: int = 0,
                          profile: Profile | None = None) -> Profile:
    """Assert that no cell of the model's profile breaks its declared bound (``bound``, and at one layer its
    ``body_order``'s IGWL_(k)) and that it separates no isomorphic control; return the profile (``profile``: one
    already computed for this model and config, reused)."""
    spec = resolve(model)
    chosen = [as_pair(p) for p in (pairs or counterexamples.pairs())]
    info = _info(spec, config, chosen[0], seed)
    if info.bounded_by is None:
        raise ValueError(f"{model_name(spec)} declares no bounding test, so there is no theory to match. Fix: "
                         "wrap(model, bound='igwl' or 'gwl', ...), or use expressivity_profile to place it.")
    profile = profile or expressivity_profile(spec, config=config, pairs=chosen, inits=inits, seed=seed)
    declared = {"bounded_by": info.bounded_by, "layer_bound": info.layer_bound, "group": info.group}
    by_name = {p.name: p for p in chosen}  # a pair file's pair is known by its name only here
    wrong = []
    for cell in profile.cells:
        pair = by_name.get(cell.pair, cell.pair)
        test = bound_at(pair, declared, cell.layers)
        if cell.verdict == "separates" and not separates_within(pair, test, info.group, cell.layers):
            wrong.append(f"{cell.pair} at {cell.layers} layers: separated ({cell.separated}) though {test} "
                         f"{info.group} cannot")
    if wrong or profile.broken:
        raise AssertionError(f"{model_name(spec)} breaks its declared bound {info.bounded_by} {info.group}"
                             + (f" (one layer: {info.layer_bound})" if info.layer_bound else "") + ":\n  "
                             + "\n  ".join(wrong + list(profile.broken))
                             + "\n  hint: a bound can only be broken by a bug (e.g. reading node order or absolute "
                               "positions) or a wrong declaration (bound, body_order, group).")
    return profile
