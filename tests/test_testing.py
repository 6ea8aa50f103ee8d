"""`dojo.testing` as a researcher calls it: assertions whose failures say what to do, and the profile."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch_geometric.nn import global_add_pool

import counterexamples
from dojo import models
from dojo.models import wrap
from dojo.testing import (TOLERANCES, assert_blind, assert_equivariant, assert_invariant, assert_matches_theory,
                          assert_separates, expressivity_profile)

SMALL = {"hidden": 8}


class FirstNode(nn.Module):
    """Reads node order: the embedding is the first node's distance to the second (not permutation invariant)."""

    def __init__(self, num_layers: int) -> None:
        super().__init__()
        self.lin = nn.Linear(1, 2)

    def forward(self, batch):
        starts = batch.ptr[:-1]
        return self.lin((batch.pos[starts] - batch.pos[starts + 1]).norm(dim=-1, keepdim=True))


def test_a_failed_separation_names_the_pair_the_gwl_verdicts_the_measurement_and_a_hint():
    with pytest.raises(AssertionError) as err:
        assert_separates("painn", "kchains-4", layers=2, config=SMALL, inits=2)
    text = str(err.value)
    assert "expected painn to be able to separate kchains-4 at 2 layers, but it is blind." in text
    assert "4-chain" in text and "gwl at 3" in text and "0/2 initialisations separated" in text
    assert "hint: GWL itself needs 3 iterations: try num_layers >= 3." in text


def test_blindness_is_asserted_and_a_separation_breaks_it():
    assert assert_blind("schnet", "kchains-4", layers=4, config=SMALL, inits=2).verdict == "blind"
    with pytest.raises(AssertionError, match="expected painn to be blind to kchains-4 at 3 layers, but it is "
                                             "separates"):
        assert_blind("painn", "kchains-4", config=SMALL, inits=2)   # default depth: GWL's, 3


def test_a_zero_embedding_is_neither_blind_nor_separating():
    class Zero(nn.Module):
        def __init__(self, num_layers: int) -> None:
            super().__init__()
            self.w = nn.Linear(1, 2)
            self.reset_parameters()

        def reset_parameters(self) -> None:
            nn.init.zeros_(self.w.weight)
            nn.init.zeros_(self.w.bias)

        def forward(self, batch):
            return global_add_pool(self.w(batch.pos[:, :1]), batch.batch)

    with pytest.raises(AssertionError, match="(?s)but it is degenerate.*zero output initialiser"):
        assert_blind(Zero, "kchains-4", inits=2)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_zoo_models_are_invariant_and_equivariant_within_the_stated_tolerances(dtype):
    error = assert_invariant("painn", config=SMALL, pairs=["kchains-4", "bodyorder-3"], dtype=dtype)
    assert error <= TOLERANCES[dtype]
    assert assert_equivariant("tfn", config=SMALL, pairs=["rotsym-3"], dtype=dtype) <= TOLERANCES[dtype]


@pytest.mark.filterwarnings("ignore:FirstNode. dropping an edge:UserWarning")   # true: it reads no edges
def test_a_model_reading_node_order_fails_invariance_and_its_profile_is_broken():
    with pytest.raises(AssertionError, match="(?s)FirstNode is not invariant in float64.*hint: a model must use only"):
        assert_invariant(FirstNode, pairs=["kchains-4"])
    with pytest.warns(UserWarning, match="far above round-off"):
        profile = expressivity_profile(FirstNode, pairs=["controls-kchains-4", "kchains-4"], inits=1)
    assert any("not invariant" in line or "isomorphic control" in line for line in profile.broken)
    assert "BROKEN" in str(profile)


def test_matches_theory_catches_a_bound_declared_too_low():
    pairs = ["bodyorder-2", "bodyorder-3"]
    assert assert_matches_theory("painn", config=SMALL, pairs=pairs, inits=1).levels[1] == ("igwl-3", "igwl-3")
    too_low = wrap(models.model_class("painn"), bound="igwl-2", body_order=2)   # a zoo class, re-declared
    with pytest.raises(AssertionError, match="bodyorder-2 at 1 layers: separated .* though igwl-2 O\\(3\\) cannot"):
        assert_matches_theory(too_low, config=SMALL, pairs=pairs, inits=1)
    instance = wrap(models.build("painn", in_dim=1, out_dim=2, num_layers=1, hidden=8), bound="igwl-2")
    with pytest.raises(ValueError, match="an instance: its depth"):
        expressivity_profile(instance, pairs=pairs, inits=1)
    with pytest.raises(ValueError, match="declares no bounding test"):
        assert_matches_theory(FirstNode, pairs=pairs, inits=1)


def test_theory_is_matched_on_a_pair_file_whose_name_is_not_the_librarys(tmp_path):
    """Regression: the theory was looked up by the cell's pair name, which only library pairs can be loaded by."""
    path = tmp_path / "mine.json"
    counterexamples.load("bodyorder", body=3).save(path)
    path.write_text(path.read_text().replace('"name": "bodyorder-3"', '"name": "mine"'))
    profile = assert_matches_theory("schnet", pairs=[str(path), "kchains-4"], inits=1)
    assert "mine" in {c.pair for c in profile.cells}
