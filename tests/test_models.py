"""Every model of the zoo, in float32 and float64: symmetry, batching, gradients, degenerate input, bad input."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch_geometric.data import Batch

import counterexamples
from dojo import models
from dojo.graphs import geometric_graph, radius_edges
from dojo.transforms import permute, random_rotation, rigid_motion

NAMES = models.names()
TOL = {torch.float32: 1e-5, torch.float64: 1e-10}
DTYPES = [torch.float32, torch.float64]


def small(name: str, dtype: torch.dtype = torch.float64, seed: int = 0, **config) -> models.GeometricModel:
    """A small model for tests (the defaults are for real molecules and live in the benchmarks)."""
    torch.manual_seed(seed)
    config = {"in_dim": 3, "out_dim": 2, "num_layers": 2, "hidden": 8, **config}
    return models.build(name, **config).to(dtype).eval()


def has_vectors(name: str) -> bool:
    return small(name).vector_irreps is not None


def random_graph(seed: int, n: int = 7, dtype: torch.dtype = torch.float64):
    """A random 3D geometric graph with radius edges and one isolated node, of mixed types."""
    g = torch.Generator().manual_seed(seed)
    pos = 1.5 * torch.randn(n, 3, generator=g, dtype=torch.float64)
    pos[-1] = 100.0  # isolated
    z = torch.randint(0, 3, (n,), generator=g)
    return geometric_graph(pos, radius_edges(pos, 3.0), z, dtype=dtype)


def scale(x: torch.Tensor) -> float:
    return max(1.0, x.abs().max().item())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), proper=st.booleans())
def test_outputs_invariant_to_rigid_motions_and_permutations(name, dtype, seed, proper):
    """Rotations, translations and permutations; reflections too for O(3) models."""
    model = small(name, dtype)
    graph = random_graph(seed, dtype=dtype)
    gen = torch.Generator().manual_seed(seed)
    proper = proper or model.info.group == "SO(3)"
    moved = rigid_motion(graph, random_rotation(gen, proper=proper), 5 * torch.randn(3, generator=gen))
    moved = permute(moved, torch.randperm(graph.num_nodes, generator=gen))
    with torch.no_grad():
        y, y_moved = model(Batch.from_data_list([graph])), model(Batch.from_data_list([moved]))
    assert y.dtype == dtype
    assert torch.allclose(y, y_moved, rtol=0, atol=TOL[dtype] * scale(y)), (y - y_moved).abs().max()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=3, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), proper=st.booleans())
def test_embedding_transforms_with_its_irreps(name, dtype, seed, proper):
    """embed(R x) = D(R) embed(x), including pooled vectors/tensors; reflections too, except for invariant SO(3)
    models (a signed torsion is neither a scalar nor a pseudo-scalar: no O(3) representation describes it)."""
    model = small(name, dtype, equivariant_pred=has_vectors(name))
    proper = proper or (model.info.kind == "invariant" and model.info.group == "SO(3)")
    graph = random_graph(seed, dtype=dtype)
    rot = random_rotation(torch.Generator().manual_seed(seed), proper=proper)
    with torch.no_grad():
        e = model.embed(Batch.from_data_list([graph]))
        e_moved = model.embed(Batch.from_data_list([rigid_motion(graph, rot)]))
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # e3nn builds D in the default dtype: float32 would cost 1e-7
    try:
        wigner = model.embed_irreps.D_from_matrix(rot).to(dtype)
    finally:
        torch.set_default_dtype(default)
    assert torch.allclose(e_moved, e @ wigner.T, rtol=0, atol=TOL[dtype] * scale(e)), (e_moved - e @ wigner.T).abs().max()


@pytest.mark.parametrize("name", NAMES)
def test_o3_models_are_blind_to_reflections_and_so3_models_see_chirality(name):
    model = small(name)
    graph = random_graph(3)
    with torch.no_grad():
        y = model(Batch.from_data_list([graph]))
        y_mirror = model(Batch.from_data_list([rigid_motion(graph, -torch.eye(3, dtype=torch.float64))]))
    gap = (y - y_mirror).abs().max().item()
    if model.info.group == "O(3)":
        assert gap < 1e-10 * scale(y)
    else:
        assert gap > 1e-6 * scale(y), "an SO(3) model should tell a generic chiral graph from its mirror image"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_batched_equals_one_by_one(name, dtype):
    model = small(name, dtype, equivariant_pred=has_vectors(name))
    graphs = [random_graph(s, n=5 + s, dtype=dtype) for s in range(3)]
    with torch.no_grad():
        together = model(Batch.from_data_list(graphs))
        alone = torch.cat([model(Batch.from_data_list([g])) for g in graphs])
    assert together.shape == (3, 2)
    assert torch.allclose(together, alone, rtol=0, atol=TOL[dtype] * scale(alone))


@pytest.mark.parametrize("name", NAMES)
def test_gradients_reach_every_parameter(name):
    for equivariant_pred in sorted({False, has_vectors(name)}):
        model = small(name, equivariant_pred=equivariant_pred).train()
        batch = Batch.from_data_list([random_graph(s) for s in range(2)])
        model(batch).square().sum().backward()
        dead = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
        assert not dead, f"no gradient reaches {dead} (equivariant_pred={equivariant_pred})"


@pytest.mark.parametrize("name", NAMES)
def test_graphs_without_edges_and_degenerate_geometry_give_finite_outputs(name):
    model = small(name, equivariant_pred=has_vectors(name))
    no_edges = geometric_graph(torch.randn(4, 3, dtype=torch.float64), [], [0, 1, 2, 0], dtype=torch.float64)
    line = geometric_graph([[0, 0, i] for i in range(5)], [(i, i + 1) for i in range(4)] + [(0, 2)], dtype=torch.float64)
    coincident = geometric_graph([[0, 0, 0], [0, 0, 0], [1, 0, 0]], [(0, 1), (1, 2), (0, 2)], dtype=torch.float64)
    single = geometric_graph([[0, 0, 0]], [], dtype=torch.float64)
    for graph in (no_edges, line, coincident, single):
        out = model(Batch.from_data_list([graph]))
        assert torch.isfinite(out).all()
        model(Batch.from_data_list([graph])).sum().backward()
        assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize("name", [n for n in NAMES if small(n).info.kind == "invariant"])
def test_invariant_models_cannot_see_kchains_even_through_round_off(name):
    """Collinear triplets have no well-defined torsion: the two k-chains must embed identically, not 1e-7 apart."""
    pair = counterexamples.load("kchains", k=4)
    a, b = pair.graphs(torch.float64)
    model = small(name, num_layers=4)
    with torch.no_grad():
        ea, eb = model.embed(Batch.from_data_list([a])), model.embed(Batch.from_data_list([b]))
    assert (ea - eb).abs().max().item() < 1e-12 * scale(ea)


@pytest.mark.parametrize("name", NAMES)
def test_bad_input_gets_the_validation_error(name):
    model = small(name)
    graph = random_graph(0)
    graph.pos[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        model(Batch.from_data_list([graph]))


@pytest.mark.parametrize("name", NAMES)
def test_node_types_beyond_in_dim_get_an_error(name):
    graph = random_graph(0)
    graph.z[0] = 3
    with pytest.raises(ValueError, match="in_dim=4"):
        small(name, in_dim=3)(Batch.from_data_list([graph]))


@pytest.mark.parametrize("name", NAMES)
def test_metadata(name):
    info = small(name).info
    assert info.kind in ("invariant", "equivariant")
    assert info.group in ("O(3)", "SO(3)")
    assert info.bounded_by in counterexamples.TESTS
    assert info.reference
    if info.kind == "invariant":
        assert info.tensor_order == 0 and info.bounded_by != "gwl"
    else:
        assert info.tensor_order >= 1 and info.bounded_by == "gwl"


def test_build_rejects_unknown_names_and_options():
    with pytest.raises(ValueError, match="unknown model"):
        models.build("not-a-model")
    if NAMES:
        with pytest.raises(ValueError, match="unknown options"):
            models.build(NAMES[0], in_dim=1, out_dim=1, num_layers=1, hidden=4, flux_capacitor=True)


@pytest.mark.parametrize("pair_name", counterexamples.names())
@pytest.mark.parametrize("name", NAMES)
def test_invariant_on_every_library_graph(name, pair_name):
    """Symmetric and degenerate library geometry (collinear chains, regular polygons, ties in every choice a model
    makes from the geometry) must not break invariance: a moved, permuted copy embeds like the original."""
    graphs = counterexamples.load(pair_name).graphs(torch.float64)
    model = small(name, in_dim=1 + max(int(g.z.max()) for g in graphs))
    gen = torch.Generator().manual_seed(len(pair_name))
    for graph in graphs:
        proper = model.info.group == "SO(3)"
        moved = permute(rigid_motion(graph, random_rotation(gen, proper=proper), 10 * torch.randn(3, generator=gen)),
                        torch.randperm(graph.num_nodes, generator=gen))
        with torch.no_grad():
            e, e_moved = model.embed(Batch.from_data_list([graph])), model.embed(Batch.from_data_list([moved]))
        assert torch.allclose(e, e_moved, rtol=0, atol=1e-9 * scale(e)), (e - e_moved).abs().max()
