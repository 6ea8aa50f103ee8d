"""A model the dojo did not write, used as a researcher would: wrap, resolve, the protocols, the tables, the CLI."""

from __future__ import annotations

import json
import sys
import textwrap
import warnings

import pytest
import torch
from torch import nn
from torch_geometric.nn import DimeNetPlusPlus, SchNet, ViSNet, global_add_pool

import counterexamples
from dojo import models, runner, suites, tables
from dojo.cli import FAMILIES, ZOO, main
from dojo.models import UserModel, resolve, wrap
from dojo.protocols import separate, train
from dojo.protocols.common import build


class Distances(nn.Module):
    """Message passing on edge lengths only (2-body, invariant), depth ``num_layers``."""

    def __init__(self, num_layers: int, hidden: int = 8, widths: list[int] | None = None) -> None:
        super().__init__()
        self.edge = nn.Linear(1, hidden)
        self.layers = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(num_layers))

    def forward(self, batch):
        j, i = batch.edge_index
        d = (batch.pos[i] - batch.pos[j]).norm(dim=-1, keepdim=True)
        h = torch.zeros(batch.num_nodes, self.edge.out_features, dtype=d.dtype)
        h = h.index_add(0, i, torch.tanh(self.edge(d)))
        for layer in self.layers:
            h = torch.tanh(layer(h))
        return global_add_pool(h, batch.batch)


class Radius(nn.Module):
    """Ignores the graph's edges: a complete graph of its own (what a radius graph inside a model does)."""

    def __init__(self, num_layers: int) -> None:
        super().__init__()
        self.lin = nn.Linear(1, 4)

    def forward(self, batch):
        out = []
        for g in range(batch.num_graphs):
            pos = batch.pos[batch.batch == g]
            out.append(torch.tanh(self.lin(torch.pdist(pos).unsqueeze(1))).sum(0))
        return torch.stack(out)


class Zero(nn.Module):
    def __init__(self, num_layers: int) -> None:
        super().__init__()
        self.lin = nn.Linear(1, 3)
        nn.init.zeros_(self.lin.weight)
        nn.init.zeros_(self.lin.bias)

    def forward(self, batch):
        return global_add_pool(self.lin(batch.pos[:, :1]), batch.batch)

    def reset_parameters(self) -> None:  # the zero initialiser of PyG's DimeNet++ output blocks, in miniature
        nn.init.zeros_(self.lin.weight)
        nn.init.zeros_(self.lin.bias)


def test_a_class_a_factory_and_an_instance_all_run_the_protocols():
    pair = counterexamples.load("bodyorder-2")
    by_class = separate(pair, wrap(Distances, bound="igwl-2"), {"num_layers": 1}, inits=2)
    by_factory = separate(pair, lambda num_layers: Distances(num_layers, hidden=4), {"num_layers": 1}, inits=2)
    by_instance = separate("bodyorder-2", Distances(num_layers=1), inits=2)
    assert by_class.verdict == by_factory.verdict == by_instance.verdict == "blind"   # equal 2-body multisets
    assert by_instance.inits == 2 and by_instance.notes == ()
    assert separate("kchains-4", Distances, {"num_layers": 3, "widths": [4, 4]}, inits=2).verdict == "blind"


def test_fresh_weights_per_initialisation_and_the_instance_that_cannot_be_reset():
    spec = wrap(Distances(num_layers=1))
    first, second = (build(spec, {"in_dim": 1, "out_dim": 2}, seed, torch.float64) for seed in (0, 1))
    assert not torch.equal(first.net.edge.weight, second.net.edge.weight)

    class Frozen(nn.Module):  # a bare parameter no reset_parameters reaches
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.randn(1, 3))

        def forward(self, batch):
            j, i = batch.edge_index
            return global_add_pool((batch.pos[i] - batch.pos[j]).norm(dim=-1, keepdim=True) @ self.w,
                                   batch.batch[i], size=batch.num_graphs)

    result = separate("kchains-4", Frozen(), inits=5)
    assert result.inits == 1 and "used once instead of 5" in result.notes[0]
    assert train("kchains-4", Frozen(), seeds=3, epochs=1).notes


def test_pyg_models_run_on_the_pairs_edges_with_verdicts_that_match_theory():
    small = {"hidden_channels": 16, "num_filters": 16, "cutoff": 10.0}
    schnet = wrap(SchNet, depth="num_interactions", bound="igwl-2")
    assert separate("bodyorder-3", schnet, {"num_layers": 1, **small}, inits=3).verdict == "blind"
    assert separate("kchains-4", schnet, {"num_layers": 3, **small}, inits=3).verdict == "blind"
    dimenet = wrap(DimeNetPlusPlus, depth="num_blocks", bound="igwl")
    tiny = {"hidden_channels": 16, "out_channels": 4, "int_emb_size": 8, "basis_emb_size": 4, "out_emb_channels": 16,
            "num_spherical": 3, "num_radial": 4, "cutoff": 10.0}
    assert separate("bodyorder-3", dimenet, {"num_layers": 1, **tiny}, inits=2).verdict == "degenerate"  # zeros
    seen = separate("bodyorder-3", dimenet, {"num_layers": 1, **tiny, "output_initializer": "glorot_orthogonal"},
                    inits=2)
    assert seen.verdict == "separates"   # directed-edge angles: beyond IGWL_(3), within IGWL
    visnet = wrap(ViSNet, bound="gwl")
    config = {"hidden_channels": 16, "num_heads": 2, "num_rbf": 8, "lmax": 1, "cutoff": 10.0}
    assert separate("kchains-4", visnet, {"num_layers": 3, **config}, inits=2).verdict == "separates"
    assert separate("kchains-4", visnet, {"num_layers": 2, **config}, inits=2).verdict == "blind"   # GWL needs 3


def test_degenerate_embeddings_are_never_blind():
    result = separate("kchains-4", Zero, {"num_layers": 1}, inits=2)
    assert result.verdict == "degenerate" and result.degenerate == 2


def test_a_model_that_ignores_the_edges_is_warned_about():
    with pytest.warns(UserWarning, match="does not read the graph's edge_index"):
        separate("bodyorder-3", wrap(Radius), {"num_layers": 1}, inits=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        separate("bodyorder-3", wrap(Distances), {"num_layers": 1}, inits=1)


def test_float32_constants_are_warned_about():
    class Stale(Distances):
        def __init__(self, num_layers: int) -> None:
            super().__init__(num_layers)
            self.scale = torch.ones(1, dtype=torch.float32)   # a plain attribute: .double() leaves it float32

        def forward(self, batch):
            return super().forward(batch) * self.scale.to(batch.pos.dtype)

    with pytest.warns(UserWarning, match="stay below float64"):
        build(wrap(Stale), {"num_layers": 1, "in_dim": 1, "out_dim": 2}, 0, torch.float64)


def test_equivariant_embeddings_are_read_through_their_irreps():
    class Arrows(nn.Module):   # pooled sum of unit edge vectors times a distance weight: 4 scalars, 1 vector
        def __init__(self, num_layers: int) -> None:
            super().__init__()
            self.lin = nn.Linear(1, 5)

        def forward(self, batch):
            j, i = batch.edge_index
            vec = batch.pos[j] - batch.pos[i]
            w = torch.tanh(self.lin(vec.norm(dim=-1, keepdim=True)))
            scalars = global_add_pool(w[:, :4], batch.batch[i], size=batch.num_graphs)
            vectors = global_add_pool(w[:, 4:] * vec, batch.batch[i], size=batch.num_graphs)
            return torch.cat([scalars, vectors], dim=1)

    arrows = wrap(Arrows, irreps="4x0e + 1x1o", bound="gwl")
    assert arrows.info.kind == "equivariant" and arrows.info.tensor_order == 1
    assert separate("rotsym-2", arrows, {"num_layers": 1}, inits=2).verdict == "blind"   # l=1 moments vanish
    with pytest.raises(ValueError, match="dimension 8 but the model's embedding has 7"):
        separate("rotsym-2", wrap(Arrows, irreps="4x0e + 1x1o + 1x0e"), {"num_layers": 1})
    with pytest.raises(ValueError, match="have none. Fix: declare irreps with l > 0"):
        separate("rotsym-2", wrap(Arrows), {"num_layers": 1})


@pytest.mark.parametrize(("call", "message"), [
    (lambda: wrap(Distances, group="E(3)"), "group must be one of"),
    (lambda: wrap(Distances, bound="gwl-7"), "unknown bound"),
    (lambda: wrap(Distances, irreps="4xbanana"), "cannot read irreps"),
    (lambda: wrap(42), "expected a model class"),
    (lambda: separate("kchains-4", Distances, {"num_layers": 1, "colour": 3}), r"unknown options \['colour'\]"),
    (lambda: separate("kchains-4", lambda hidden: Distances(1, hidden), {"num_layers": 1}), "takes no num_layers"),
    (lambda: separate("kchains-4", Distances(num_layers=1), {"num_layers": 3}), "is an instance"),
    (lambda: separate("kchains-4", lambda num_layers: nn.Linear(3, 2), {"num_layers": 1}), "failed on a probe"),
    (lambda: separate("kchains-4", lambda num_layers: 3, {"num_layers": 1}), "not a torch.nn.Module"),
    (lambda: separate("kchains-99x", "schnet"), "cannot load"),
    (lambda: separate(3, "schnet"), "expected a counterexample Pair"),
    (lambda: resolve("no_such_module:Net"), "cannot import 'no_such_module'"),
    (lambda: resolve("dojo.models:NoSuchNet"), "has no 'NoSuchNet'"),
    (lambda: resolve("schnett"), "unknown model 'schnett'"),
])
def test_bad_models_and_pairs_get_an_error_naming_the_fix(call, message):
    with pytest.raises(ValueError, match=message) as err:
        call()
    assert "Fix:" in str(err.value)


def test_a_wrong_embedding_shape_names_the_shape_and_the_fix():
    class Nodes(Distances):
        def forward(self, batch):
            return batch.pos   # one row per node, not per graph

    with pytest.raises(ValueError, match=r"shape \(2, 3\), not \[1, D\]"):
        separate("kchains-4", Nodes, {"num_layers": 1})


def test_resolve_names_zoo_keys_import_paths_and_zoo_instances():
    assert resolve("schnet") == "schnet"
    assert resolve("dojo.models.schnet:SchNet") is models.model_class("schnet")
    spec = resolve(models.build("painn", in_dim=1, out_dim=2, num_layers=3))
    assert isinstance(spec, UserModel) and spec.info.bounded_by == "gwl"
    assert separate("kchains-4", spec, inits=2).verdict == "separates"


@pytest.fixture
def mylab(tmp_path, monkeypatch):
    """A researcher's package on the path: ``mylab:Net`` (wrapped, 2-body bound) and ``mylab:Other``."""
    (tmp_path / "mylab.py").write_text(textwrap.dedent("""
        from dojo.models import wrap
        from tests.test_own_models import Distances, Radius
        Net = wrap(Distances, bound="igwl-2", body_order=2)
        Other = wrap(Radius)
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    sys.modules.pop("mylab", None)


def test_cli_table_with_a_users_model_options_pairs_and_depths(mylab, capsys):
    assert main(["table", "kchains", "--model", "mylab:Net", "--set", "hidden=4", "--set", "widths=[2, 2]",
                 "--layers", "2", "3", "--seeds", "2", "--quiet", "--out", "res"]) == 0
    rows = json.loads((mylab / "res" / "kchains-separate.json").read_text())
    assert [(r["variant"], r["layers"], r["theory_bound"], r["flag"]) for r in rows] == [
        ('mylab:Net hidden=4 widths=[2, 2]', 2, "igwl-2", ""), ('mylab:Net hidden=4 widths=[2, 2]', 3, "igwl-2", "")]
    assert rows[0]["model_class"].endswith("Distances") and rows[0]["model_hash"]
    assert "igwl-2 O(3)" in capsys.readouterr().out


def test_a_resumed_table_never_reuses_another_models_cells(mylab):
    args = ["table", "bodyorder", "--model", "mylab:Net", "--pairs", "bodyorder-2", "--seeds", "1", "--quiet",
            "--out", "res"]
    assert main(args) == 0
    log = mylab / "res" / "bodyorder-separate.jsonl"
    assert len(log.read_text().splitlines()) == 1
    (mylab / "mylab.py").write_text("from dojo.models import wrap\nfrom tests.test_own_models import Distances\n"
                                    "Net = wrap(Distances, bound='igwl-3')\n")   # same name, other declaration
    sys.modules.pop("mylab", None)
    assert main(args) == 0
    assert len(log.read_text().splitlines()) == 2                       # recomputed, not reused
    assert main([*args, "--fresh"]) == 0
    assert len(log.read_text().splitlines()) == 1


def test_tables_show_no_theory_for_a_model_without_a_bound(mylab, capsys):
    with pytest.warns(UserWarning, match="does not read the graph's edge_index"):
        assert main(["table", "bodyorder", "--model", "mylab:Other", "--pairs", "bodyorder-2", "--seeds", "1",
                     "--quiet", "--out", "res"]) == 0
    assert "no theory" in capsys.readouterr().out
    row = json.loads((mylab / "res" / "bodyorder-separate.json").read_text())[0]
    assert row["theory_separates"] is None and row["flag"] == ""


def test_one_layer_theory_uses_the_layers_body_order():
    """PaiNN at one layer aggregates 3-body information: bodyorder-3 is beyond it, though GWL separates it."""
    info = {"bounded_by": "gwl", "layer_bound": "igwl-3", "group": "O(3)"}
    assert tables.bound_at("bodyorder-3", info, 1) == "igwl-3"
    assert tables.bound_at("bodyorder-2", info, 1) == "gwl"       # igwl-3 separates it: the weaker bound holds
    assert tables.bound_at("bodyorder-3", info, 2) == "gwl"
    records = runner.run(suites.suite("bodyorder", ["painn"]), "separate", log=_tmp_log(), progress=False,
                         settings=runner.settings_for("separate", seeds=2))
    assert not [r for r in records if tables.flag(r)]                 # no '~' left on the body-order pairs


def _tmp_log():
    import tempfile
    from pathlib import Path
    return Path(tempfile.mkdtemp()) / "log.jsonl"


@pytest.mark.parametrize("argv", [["table", "all", "--seeds", "0"], ["table", "all", "--models", "schnett"],
                                  ["table", "all", "--model", "nosuch.module:Net"], ["gwl", "kchainz"],
                                  ["table", "all", "--set", "hidden"], ["profile", "schnett"]])
def test_cli_names_and_numbers_fail_before_the_heavy_imports(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2 and "error" in capsys.readouterr().err


def test_the_clis_light_name_lists_match_the_registries():
    assert list(ZOO) == models.names() and list(FAMILIES) == counterexamples.families()


def test_cli_gwl_takes_a_family(capsys):
    assert main(["gwl", "kchains"]) == 0
    out = capsys.readouterr().out
    assert all(f"kchains-{k}" in out for k in range(2, 7)) and "rotsym" not in out


def test_cli_profile_prints_the_hierarchy(mylab, capsys):
    assert main(["profile", "mylab:Net", "--pairs", "bodyorder-2", "kchains-4", "--inits", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "at 1 layer: reaches igwl-2, bounded by igwl-2" in out


def test_an_installed_package_adds_its_models_through_the_entry_point_group(tmp_path, monkeypatch, capsys):
    (tmp_path / "mylab_ep.py").write_text("from dojo.models import wrap\nfrom tests.test_own_models import Distances\n"
                                          "Net = wrap(Distances, bound='igwl-2')\n")
    info = tmp_path / "mylab_ep-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mylab-ep\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[dojo.models]\nmynet = mylab_ep:Net\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert isinstance(resolve("mynet"), UserModel) and resolve("mynet").info.bounded_by == "igwl-2"
    assert main(["table", "kchains", "--model", "mynet", "--layers", "3", "--seeds", "1", "--quiet"]) == 0
    assert "| mynet" in capsys.readouterr().out
    sys.modules.pop("mylab_ep", None)


def test_a_wrapped_model_names_a_dtype_mismatch():
    net = build(wrap(Distances), {"num_layers": 1, "in_dim": 1, "out_dim": 2}, 0, torch.float64)
    a, _ = counterexamples.load("kchains-4").graphs(torch.float32)
    with pytest.raises(ValueError, match="`pos` is torch.float32 but the model's parameters are torch.float64"):
        net.embed(a)


def test_mapping_options_reach_the_model_as_dicts_and_cells_stay_hashable():
    """`--set 'mix={"a": 1}'`: a cell holds the mapping in hashable form and builds the model with a dict."""
    cells = suites.select(suites.suite("kchains", ["egnn"]), layers=[3], options={"mix": {"b": [1, 2], "a": 1}})
    config = cells[0].config["mix"]
    assert isinstance(config, dict) and config == {"a": 1, "b": (1, 2)}
    assert len(set(cells)) == len(cells) == 1
    assert cells[0].variant == 'egnn mix={"a": 1, "b": [1, 2]}'
