"""The pytest plugin (dojo.pytest_plugin): the standard suite from the command line, the marker, the fixtures.

Runs are in-process (``pytester.runpytest``): a subprocess would import torch, PyG and e3nn again (~5 s a run).
In-process is safe here because everything heavy is imported below, before pytester snapshots ``sys.modules``:
pytester then drops only what a run imports itself (the user's ``mymodels`` and ``conftest``), never torch or the
dojo, and the protocols seed torch themselves. One run goes through a subprocess to show the entry point working
in a fresh interpreter.
"""

from __future__ import annotations

import textwrap

import pytest

import dojo.protocols.common  # noqa: F401  (imported before pytester's sys.modules snapshot, see above)
import dojo.testing  # noqa: F401
from dojo.pytest_plugin import parse_setting

# A distance-only message-passing model (IGWL_(2)-bounded) and one that reads absolute positions (not invariant).
MODELS = '''
import torch
from torch_geometric.nn import global_add_pool

from dojo.models import wrap


class Distance(torch.nn.Module):
    def __init__(self, num_layers: int, in_dim: int = 1, hidden: int = 8):
        super().__init__()
        self.embed = torch.nn.Embedding(in_dim, hidden)
        self.filters = torch.nn.ModuleList(torch.nn.Linear(1, hidden) for _ in range(num_layers))
        self.updates = torch.nn.ModuleList(torch.nn.Linear(hidden, hidden) for _ in range(num_layers))

    def forward(self, batch):
        src, dst = batch.edge_index
        h = self.embed(batch.z)
        dist = (batch.pos[src] - batch.pos[dst]).norm(dim=1, keepdim=True)
        for filt, upd in zip(self.filters, self.updates):
            msg = h[src] * torch.tanh(filt(dist))
            h = h + torch.tanh(upd(torch.zeros_like(h).index_add_(0, dst, msg)))
        return global_add_pool(h, batch.batch)


class Absolute(torch.nn.Module):
    def __init__(self, num_layers: int, hidden: int = 8):
        super().__init__()
        self.lin = torch.nn.Linear(3, hidden)

    def forward(self, batch):
        return global_add_pool(torch.tanh(self.lin(batch.pos)), batch.batch)


Model = wrap(Distance, bound="igwl-2")
NotInvariant = wrap(Absolute)
'''

MARKED = '''
import pytest


@pytest.mark.dojo(pair="kchains-4", layers=3, expect="blind")
def test_blind():
    pass


@pytest.mark.dojo("kchains-4", layers=3, expect="separates")
def test_separates():
    pass
'''

FAST = ("--dojo-inits", "1", "-p", "no:cacheprovider")


@pytest.fixture
def models_dir(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(mymodels=MODELS)
    return pytester


def test_standard_suite_in_a_directory_without_tests(models_dir: pytest.Pytester) -> None:
    result = models_dir.runpytest("--dojo-model=mymodels:Model", "--dojo-set", "hidden=4", "-v", *FAST)
    result.assert_outcomes(passed=3)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*collected 3 items", "::dojo::invariance PASSED*", "::dojo::profile PASSED*",
                                 "::dojo::theory PASSED*", "*= dojo expressivity profile =*",
                                 "Expressivity profile of Distance (O(3))", "at 1 layer: reaches igwl-2, *"])


def test_standard_suite_through_the_entry_point_in_a_fresh_interpreter(models_dir: pytest.Pytester) -> None:
    result = models_dir.runpytest_subprocess("--dojo-model=mymodels:Model", "-k", "invariance", *FAST)
    result.assert_outcomes(passed=1, deselected=2)
    assert result.ret == 0


def test_a_model_that_reads_absolute_positions_fails_invariance(models_dir: pytest.Pytester) -> None:
    result = models_dir.runpytest("--dojo-model=mymodels:NotInvariant", "-rs", *FAST)
    result.assert_outcomes(failed=2, skipped=1)
    result.stdout.fnmatch_lines([
        "*_ dojo[[]invariance[]] _*",
        "Absolute is not invariant in float64: relative embedding change under rotations/reflections, *",
        "  hint: a model must use only relative positions *",
        "*_ dojo[[]profile[]] _*",
        "the expressivity profile of Absolute (O(3)) is broken:",
        "  not invariant: moved copies of one graph embed up to * apart *",
        "SKIPPED*no declared bound*"])
    assert "Traceback" not in result.stdout.str() and "def runtest" not in result.stdout.str()


def test_an_unknown_model_fails_with_resolves_message(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--dojo-model=nosuchmodel", "-k", "invariance", *FAST)
    result.assert_outcomes(failed=1, deselected=2)
    result.stdout.fnmatch_lines(["unknown model 'nosuchmodel'. Fix: a zoo model *"])


def test_marker_with_the_command_line_model(models_dir: pytest.Pytester) -> None:
    models_dir.makepyfile(test_marked=MARKED)
    result = models_dir.runpytest("--dojo-model=mymodels:Model", "-k", "test_blind or test_separates", *FAST)
    result.assert_outcomes(passed=1, failed=1, deselected=3)
    result.stdout.fnmatch_lines([
        "*_ test_separates _*",
        "expected Distance to be able to separate kchains-4 at 3 layers, but it is blind.",
        "  pair: 4-chain*",
        "  GWL family under O(3) (first separating iteration; ✓ within 3 layers): *gwl at 3 ✓",
        "  measured: 0/1 initialisations separated*",
        "*FAILED test_marked.py::test_separates*"])
    assert "During handling" not in result.stdout.str()


def test_marker_with_a_conftest_model(models_dir: pytest.Pytester) -> None:
    models_dir.makeconftest('''
        import pytest
        from dojo.models import wrap
        from mymodels import Distance


        def small_distance(num_layers, in_dim=1):
            return Distance(num_layers, in_dim, hidden=4)


        @pytest.fixture
        def dojo_model():
            return wrap(small_distance, bound="igwl-2", name="SmallDistance")
    ''')
    models_dir.makepyfile(test_marked=MARKED + textwrap.dedent('''

        @pytest.mark.dojo(pair="kchains-4", layers=3, expect="blind")
        def test_body_sees_the_model(dojo_model):
            assert dojo_model.name == "SmallDistance"
    '''))
    result = models_dir.runpytest(*FAST)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["expected SmallDistance to be able to separate kchains-4 at 3 layers, *"])
    assert "dojo expressivity profile" not in result.stdout.str()  # no --dojo-model: no standard suite


def test_marker_without_a_model_or_with_a_bad_expect_fails_clearly(pytester: pytest.Pytester) -> None:
    pytester.makepyfile('''
        import pytest


        @pytest.mark.dojo(pair="kchains-4")
        def test_no_model():
            pass


        @pytest.mark.dojo(pair="kchains-4", expect="maybe")
        def test_bad_expect(dojo_model):
            pass


        @pytest.mark.dojo(layers=2)
        def test_no_pair():
            pass


        def test_fixture_without_a_model(dojo_model):
            pass
    ''')
    result = pytester.runpytest(*FAST)
    result.assert_outcomes(failed=3, errors=1)
    result.stdout.fnmatch_lines_random([
        "@pytest.mark.dojo(pair='kchains-4'): no dojo model to check. Fix: run pytest with "
        "--dojo-model=package.module:ClassOrFactory *conftest.py*",
        "@pytest.mark.dojo(pair='kchains-4', expect='maybe'): expect must be 'separates' or 'blind', got 'maybe'*",
        "@pytest.mark.dojo(layers=2): missing a required argument: 'pair'*",
        "no dojo model to check. Fix: *"])
    assert "Traceback" not in result.stdout.str() and "During handling" not in result.stdout.str()


def test_dojo_pairs_filters_by_family(pytester: pytest.Pytester) -> None:
    pytester.makepyfile('''
        def test_pairs(dojo_pairs):
            chains = dojo_pairs("kchains")
            assert chains and {p.family for p in chains} == {"kchains"}
            assert len(dojo_pairs()) > len(chains)
    ''')
    pytester.runpytest(*FAST).assert_outcomes(passed=1)


def test_marker_is_registered_and_no_dojo_disables_the_plugin(pytester: pytest.Pytester) -> None:
    listed = pytester.runpytest("--markers")
    listed.stdout.fnmatch_lines(["@pytest.mark.dojo(pair, layers=None, expect='separates', config=None, inits=None)*"])
    disabled = pytester.runpytest("-p", "no:dojo", "--markers")
    assert "pytest.mark.dojo" not in disabled.stdout.str()
    refused = pytester.runpytest("-p", "no:dojo", "--dojo-model=schnet")
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stderr.fnmatch_lines(["*unrecognized arguments: --dojo-model=schnet*"])


def test_dojo_set_values_are_json_when_they_parse(pytester: pytest.Pytester) -> None:
    assert parse_setting("hidden=8") == ("hidden", 8)
    assert parse_setting("cutoff=2.5") == ("cutoff", 2.5)
    assert parse_setting("irreps=16x0e") == ("irreps", "16x0e")
    assert parse_setting("sizes=[8, 4]") == ("sizes", [8, 4])
    bad = pytester.runpytest("--dojo-model=schnet", "--dojo-set", "hidden")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*--dojo-set expects KEY=VALUE, got 'hidden'*"])
