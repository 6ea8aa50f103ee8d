"""TFN and MACE: chirality by group, exact Wigner equivariance, their blocks against e3nn's, MACE's body order."""

from __future__ import annotations

import itertools

import pytest
import torch
from e3nn import o3
from hypothesis import given, settings, strategies as st
from torch_geometric.data import Batch

import counterexamples
from dojo import models
from dojo.graphs import geometric_graph, radius_edges
from dojo.models._spherical import ChannelTensorProduct, IrrepsLinear, to_e3nn
from dojo.models.mace import SymmetricContraction, symmetric_power_basis
from dojo.transforms import random_rotation, rigid_motion

SPHERICAL = ["tfn", "mace"]


def build(name: str, dtype: torch.dtype = torch.float64, seed: int = 0, **config) -> models.GeometricModel:
    torch.manual_seed(seed)
    config = {"in_dim": 5, "out_dim": 2, "num_layers": 2, "hidden": 4, **config}
    return models.build(name, **config).to(dtype).eval()


def run(model: models.GeometricModel, graph, method: str = "forward") -> torch.Tensor:
    with torch.no_grad():
        return getattr(model, method)(Batch.from_data_list([graph]))


def wigner(irreps: o3.Irreps, rotation: torch.Tensor) -> torch.Tensor:
    """e3nn's ``D(R)`` in float64: its generators follow the default dtype, which would cap it at float32 precision."""
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        return irreps.D_from_matrix(rotation.double())
    finally:
        torch.set_default_dtype(default)


def random_graph(seed: int, n: int = 7, dtype: torch.dtype = torch.float64):
    g = torch.Generator().manual_seed(seed)
    pos = 1.5 * torch.randn(n, 3, generator=g, dtype=torch.float64)
    return geometric_graph(pos, radius_edges(pos, 3.0), torch.randint(0, 5, (n,), generator=g), dtype=dtype)


# Chirality needs a pseudo-scalar, a triple product of three directions. A TFN layer is 2-body: vectors after one
# layer, cross products after two, their dot products with a third direction after three; on the stereocentre the
# leaves' directions meet only after four. MACE's product basis multiplies a node's cross products with its vectors
# in the second layer. (One MACE layer cannot: one channel's 0e+1o+2e has no pseudo-scalar below degree 6.)
@pytest.mark.parametrize("name, variant, num_layers",
                         [("tfn", "helix", 3), ("tfn", "tetrahedral", 4), ("mace", "helix", 2),
                          ("mace", "tetrahedral", 2)])
def test_so3_models_tell_chiral_pairs_apart_and_their_o3_twins_cannot(name, variant, num_layers):
    a, b = counterexamples.load("chiral", variant=variant).graphs(torch.float64)
    for seed in range(2):
        so3 = build(name, seed=seed, num_layers=num_layers, group="SO(3)")
        o3_twin = build(name, seed=seed, num_layers=num_layers, group="O(3)")
        ya, yb = run(so3, a), run(so3, b)
        assert (ya - yb).abs().max() > 1e-9 * ya.abs().max()  # small at initialisation, far above round-off
        ya, yb = run(o3_twin, a), run(o3_twin, b)
        assert (ya - yb).abs().max() <= 1e-10 * ya.abs().max()


@pytest.mark.parametrize("name, shallow", [("tfn", 2), ("mace", 1)])
def test_too_shallow_so3_models_have_no_pseudo_scalars_to_see_chirality(name, shallow):
    assert "0o" not in str(build(name, num_layers=shallow, group="SO(3)").scalar_irreps)
    assert "0o" in str(build(name, num_layers=shallow + 1, group="SO(3)").scalar_irreps)
    a, b = counterexamples.load("chiral", variant="helix").graphs(torch.float64)
    model = build(name, num_layers=shallow, group="SO(3)")
    assert torch.equal(run(model, a, "embed"), run(model, b, "embed"))


@pytest.mark.parametrize("name", SPHERICAL)
@pytest.mark.parametrize("group", ["O(3)", "SO(3)"])
@settings(max_examples=3, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), proper=st.booleans())
def test_embedding_transforms_with_exact_wigner_matrices(name, group, seed, proper):
    """Pooled scalars, pseudo-scalars and tensors up to l = 2 transform with D(R), in float64 to 1e-10, and float32."""
    rotation = random_rotation(torch.Generator().manual_seed(seed), proper=proper)
    for dtype, tol in ((torch.float64, 1e-10), (torch.float32, 1e-5)):
        model = build(name, dtype, num_layers=3, group=group, equivariant_pred=True)
        graph = random_graph(seed, dtype=dtype)
        e, e_moved = run(model, graph, "embed"), run(model, rigid_motion(graph, rotation), "embed")
        expected = e @ wigner(model.embed_irreps, rotation).to(dtype).T
        assert (e_moved - expected).abs().max() <= tol * max(1.0, e.abs().max())


def test_channel_tensor_product_matches_e3nn():
    """The channel-wise product equals e3nn's TensorProduct with 'uvu' paths and per-edge weights."""
    irreps_in, irreps_sh, allowed = o3.Irreps("0e+1o+1e+2e"), o3.Irreps("0e+1o+2e"), o3.Irreps("0e+0o+1o+1e+2e")
    ours = ChannelTensorProduct(irreps_in, irreps_sh, allowed).double()
    channels, edges = 3, 5
    ins, outs = [], []
    for a, (_, ir_a) in enumerate(irreps_in):
        for b, (_, ir_b) in enumerate(irreps_sh):
            for ir in ir_a * ir_b:
                if ir in [ir for _, ir in allowed]:
                    ins.append((a, b, len(outs), "uvu", True))
                    outs.append((channels, ir))
    theirs = o3.TensorProduct(o3.Irreps([(channels, ir) for _, ir in irreps_in]), irreps_sh, o3.Irreps(outs), ins,
                              path_normalization="none", shared_weights=False, internal_weights=False).double()
    x = torch.randn(edges, irreps_in.dim, channels, dtype=torch.float64)
    sh = o3.spherical_harmonics(irreps_sh, torch.randn(edges, 3, dtype=torch.float64), True, normalization="component")
    w = torch.randn(edges, ours.num_paths, channels, dtype=torch.float64)
    expected = theirs(to_e3nn(x, irreps_in), sh, w.flatten(1))
    assert torch.allclose(to_e3nn(ours(x, sh, w), ours.irreps_out), expected, atol=1e-12)


@pytest.mark.parametrize("irreps, degree", [("0e+1o", 2), ("0e+1o", 3), ("0e+1o+2e", 2), ("0e+1e+2o", 2)])
def test_product_basis_has_the_multiplicities_of_e3nn_reduced_tensor_products(irreps, degree):
    allowed = [o3.Irrep(ir) for ir in ("0e", "0o", "1o", "1e", "2e", "2o")]
    formula = {2: "ij=ji", 3: "ijk=jik=ikj"}[degree]  # fully symmetric tensors
    expected = o3.ReducedTensorProducts(formula, filter_ir_out=allowed, i=irreps).irreps_out
    ours, _, u = symmetric_power_basis(irreps, degree, "+".join(map(str, allowed)))
    assert ours.simplify() == expected.sort().irreps.simplify()
    assert torch.linalg.matrix_rank(u) == u.size(1)  # no basis polynomial is a combination of the others


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), proper=st.booleans())
def test_product_basis_is_equivariant(seed, proper):
    """B(D_in A) = D_out B(A) for the degree-3 basis polynomials of an SO(3) channel, rotations and reflections."""
    irreps = o3.Irreps("0e+0o+1o+1e+2e")
    irreps_out, monomials, u = symmetric_power_basis(str(irreps), 3, "0e+0o+1o+1e+2e+2o")
    rotation = random_rotation(torch.Generator().manual_seed(seed), proper=proper)
    a = torch.randn(4, irreps.dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)

    def basis(x):
        return x[:, monomials].prod(-1) @ u

    moved = basis(a @ wigner(irreps, rotation).T)
    assert torch.allclose(moved, basis(a) @ wigner(irreps_out, rotation).T, atol=1e-10)


@pytest.mark.parametrize("irreps, irreps_out, correlation, allowed, weights_after, dense", [
    ("0e+1o+2e", "0e+1o+2e", 3, "0e+0o+1o+1e+2e+2o", False, True),
    ("0e+0o+1o+1e+2e", "0e+0o+1e+2o", 3, "0e+0o+1o+1e+2e+2o", False, True),
    ("0e+1o", "0e+1o", 4, "0e+0o+1o+1e+2e+2o", False, False),
    ("0e+1o+2e+3o+4e", "0e+1o+2e+3o+4e", 2, "0e+1o+2e+3o+4e", True, True)])
def test_symmetric_contraction_equals_the_dense_product_basis(irreps, irreps_out, correlation, allowed,
                                                              weights_after, dense):
    """The recursive evaluation (weights folded onto coupling trees, prefixes shared, couplings as dense blocks and
    as entries) computes exactly ``m = sum_nu sum_eta W_eta (monomials(A) @ U_nu)_eta`` with the dense ``U`` of
    every degree, with the weights before the last coupling and after it (the plan :func:`_plan_blocks` picks)."""
    irreps, irreps_out = o3.Irreps(irreps), o3.Irreps(irreps_out)
    torch.manual_seed(0)
    contraction = SymmetricContraction(irreps, irreps_out, o3.Irreps(allowed), correlation, 3, 2).double()
    assert (contraction.q_size == 0) == weights_after
    assert any(height * left * right > 1 for buckets in contraction.buckets.values()
               for _, height, left, right in buckets) == dense  # dense blocks, besides entries
    a = torch.randn(4, irreps.dim, 3, dtype=torch.float64)
    z = torch.tensor([0, 1, 1, 0])
    columns, paths = [], []  # per basis polynomial: its values [N, ir.dim, K] and output irrep, in the weights' order
    for degree in range(1, correlation + 1):
        irreps_nu, monomials, u = symmetric_power_basis(str(irreps), degree, allowed)
        b = torch.einsum("nmk,mc->nck", a[:, monomials].prod(2), u)
        for (_, ir), s in zip(irreps_nu, irreps_nu.slices()):
            if ir in [ir_out for _, ir_out in irreps_out]:
                columns.append(b[:, s])
                paths.append(ir)
    expected = torch.zeros(4, irreps_out.dim, 3, dtype=torch.float64)
    for p, (column, ir) in enumerate(zip(columns, paths)):
        s = irreps_out.slices()[[ir_out for _, ir_out in irreps_out].index(ir)]
        expected[:, s] += contraction.weight[z, p].unsqueeze(1) * column
    assert contraction.weight.shape[1] == len(paths)
    assert torch.allclose(contraction(a, z), expected, atol=1e-12)


@pytest.mark.parametrize("correlation", [1, 2, 3])
def test_mace_layer_has_body_order_correlation_plus_one(correlation):
    """One MACE layer's node features are (correlation + 1)-body: inclusion-exclusion over the neighbours vanishes
    for correlation + 1 of them, not for correlation (a centre and its neighbours in a star). With the paper's
    constant normalisation; the default, each graph's average degree, depends on all neighbours at once."""
    model = build("mace", num_layers=1, max_ell=2, correlation=correlation, avg_num_neighbors=2.0,
                  equivariant_pred=True)
    gen = torch.Generator().manual_seed(correlation)
    pos = torch.randn(correlation + 2, 3, generator=gen, dtype=torch.float64)
    types = torch.randint(0, 5, (correlation + 2,), generator=gen)

    def centre(neighbours: tuple[int, ...]) -> torch.Tensor:
        nodes = [0, *neighbours]
        graph = geometric_graph(pos[nodes], [(0, k) for k in range(1, len(nodes))], types[nodes], torch.float64)
        with torch.no_grad():
            scalars, tensors = model.node_features(Batch.from_data_list([graph]))
        return torch.cat([scalars[0], tensors[0]])

    def inclusion_exclusion(neighbours: list[int]) -> torch.Tensor:
        return sum((-1) ** (len(neighbours) - r) * centre(subset)
                   for r in range(len(neighbours) + 1) for subset in itertools.combinations(neighbours, r))

    full = centre(tuple(range(1, correlation + 2)))
    assert inclusion_exclusion(list(range(1, correlation + 2))).abs().max() < 1e-10 * full.abs().max()
    assert inclusion_exclusion(list(range(1, correlation + 1))).abs().max() > 1e-6 * full.abs().max()
    assert model.info.body_order == correlation + 1


@pytest.mark.parametrize("name", SPHERICAL)
def test_bad_configurations_and_long_edges_get_a_value_error(name):
    for bad in ({"group": "E(3)"}, {"max_ell": 0}, {"num_layers": 0}, {"hidden": 0}):
        with pytest.raises(ValueError, match="Fix"):
            build(name, **bad)
    if name == "mace":
        with pytest.raises(ValueError, match="correlation"):
            build(name, correlation=0)
    far = geometric_graph([[0, 0, 0], [0, 0, 12]], [(0, 1)], [0, 1], torch.float64)
    with pytest.raises(ValueError, match="cutoff"):
        run(build(name), far)
    assert torch.isfinite(run(build(name, cutoff=20.0), far)).all()


@pytest.mark.parametrize("name, num_layers", [("tfn", 3), ("mace", 2)])
@pytest.mark.parametrize("equivariant_pred", [False, True])
def test_gradients_reach_every_parameter_of_so3_models(name, num_layers, equivariant_pred):
    """The shared test covers the default O(3) models; with pseudo-tensors no parameter may be dead either."""
    model = build(name, num_layers=num_layers, group="SO(3)", equivariant_pred=equivariant_pred).train()
    model(Batch.from_data_list([random_graph(s) for s in range(2)])).square().sum().backward()
    assert not [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]


@pytest.mark.parametrize("irreps_in, irreps_out, num_elements", [
    ("0e", "0e+1o+2e", None), ("0e+1o+2e", "0e", None), ("0e+1o+2e", "0e+1o+2e", 3),
    ("0e+1o+2e+1o+0e+2e+1e", "0e+1o+1e+2e", None)])
def test_irreps_linear_is_equivariant_and_zero_where_nothing_feeds_it(irreps_in, irreps_out, num_elements):
    irreps_in, irreps_out = o3.Irreps(irreps_in), o3.Irreps(irreps_out)
    linear = IrrepsLinear(irreps_in, irreps_out, 3, 4, num_elements=num_elements).double()
    x = torch.randn(5, irreps_in.dim, 3, dtype=torch.float64)
    z = torch.tensor([0, 1, 2, 0, 1]) if num_elements else None
    rotation = random_rotation(torch.Generator().manual_seed(0), proper=False)
    y, y_moved = linear(x, z), linear(wigner(irreps_in, rotation) @ x, z)
    assert y.shape == (5, irreps_out.dim, 4)
    assert torch.allclose(y_moved, wigner(irreps_out, rotation) @ y, atol=1e-12)
    fed = {ir for _, ir in irreps_in}
    for (_, ir), s in zip(irreps_out, irreps_out.slices()):
        assert (y[:, s].abs().max() > 0) == (ir in fed)


@pytest.mark.parametrize("name, depth", [("mace", 3), ("tfn", 4)])
def test_kchains_separated_from_their_depth_on(name, depth):
    """k = 4: GWL separates at iteration 3; so does MACE, whose product basis compares the two branches at the middle
    node; a TFN layer is linear in each neighbour until its nonlinearity, so it needs one layer more. One layer fewer
    gives identical embeddings (exactly: every node's computation tree is congruent to its twin's). At random
    initialisation the difference is a small fraction of the embedding (6e-5 to 4e-3 here), but not the 1e-10 of
    radial weights and messages that shrink at every hop (see ``RadialEmbedding`` and ``SymmetricContraction``)."""
    a, b = counterexamples.load("kchains", k=4).graphs(torch.float64)
    for seed in range(2):
        for num_layers, separated in ((depth - 1, False), (depth, True)):
            model = build(name, seed=seed, in_dim=1, num_layers=num_layers, hidden=8)
            ea, eb = run(model, a, "embed"), run(model, b, "embed")
            assert ((ea - eb).abs().max() > 1e-6 * ea.abs().max()) == separated
