"""The dojo's pytest plugin: active wherever the dojo is installed (entry point ``pytest11``), off with ``-p no:dojo``.

Three uses.

1. The standard suite, without writing a test: ``pytest --dojo-model=mypkg.models:Factory`` (or a zoo key such as
   ``schnet``, or an entry point of the ``dojo.models`` group) adds the items ``dojo[invariance]``, ``dojo[profile]``
   and ``dojo[theory]`` (node ids ``::dojo::invariance`` and so on) and prints the expressivity profile at the end;
   ``--dojo-set hidden=8`` (repeatable, JSON values) configures the model, ``--dojo-inits 2`` sets the
   initialisations per verdict (default 3), and ``-k "not profile"`` leaves an item out.

2. A marker on an ordinary test checks the model of the ``dojo_model`` fixture on a pair before the test body runs::

       @pytest.mark.dojo(pair="kchains-4", layers=3, expect="separates")   # or expect="blind"
       def test_sees_kchains():
           pass

   ``pair`` is a library pair's name or a pair file (``"data/mine.json"``, relative to the test file's folder;
   see :mod:`counterexamples.files`).

3. Fixtures: ``dojo_model`` is the ``--dojo-model`` model (resolved); a ``conftest.py`` may override it to return
   a model of its own (a class, a factory, ``dojo.models.wrap(...)``). ``dojo_pairs(family=None)`` lists the
   library's default pairs::

       @pytest.fixture
       def dojo_model():
           return wrap(MyNet, bound="igwl-2")

       def test_kchains(dojo_model, dojo_pairs):
           for pair in dojo_pairs("kchains"):
               dojo.testing.assert_blind(dojo_model, pair, layers=2, inits=2)

Failures print the messages of :mod:`dojo.testing` (the pair, the GWL family's verdicts, the measurement, a
hint), not a traceback; ``--tb=long`` or ``--full-trace`` brings the traceback back.

Only pytest and the standard library are imported here at module level: torch and the dojo load when a dojo item,
marker or fixture is used, so an unrelated test session pays nothing for the plugin.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr

    from counterexamples.pair import Pair
    from dojo.testing import Profile

__all__ = ["DojoItem", "DojoSuite", "dojo_model", "dojo_pairs"]

_CONFIG = pytest.StashKey[dict[str, Any]]()
_MODEL = pytest.StashKey[object]()
_PROFILE = pytest.StashKey["Profile"]()

#: The items of the standard suite, in the order they run, and what each checks.
CHECKS = {
    "invariance": "the embedding ignores rigid motions and node permutations (float64)",
    "profile": "the expressivity profile on the library is not vacuous (all degenerate) and separates no "
               "isomorphic control and nothing beyond GWL",
    "theory": "no cell of the profile breaks the model's declared bound (skipped without one)",
}

NO_MODEL = ("no dojo model to check. Fix: run pytest with --dojo-model=package.module:ClassOrFactory (or a zoo "
            "key such as 'schnet'), or define a fixture 'dojo_model' in a conftest.py that returns your model "
            "(a class, a factory or dojo.models.wrap(...)).")

MARKER = ("dojo(pair, layers=None, expect='separates', config=None, inits=None): check the model of the dojo_model "
          "fixture (--dojo-model or a conftest override) against a counterexample pair (a library name, or a pair "
          "file PATH.json relative to the test file's folder) before the test body: "
          "expect='separates' or 'blind', at `layers` (default: where GWL first separates the pair), with "
          "`config` merged over --dojo-set and `inits` initialisations (default --dojo-inits).")

EXPECTS = ("separates", "blind")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dojo", "geometric GNN dojo: expressivity checks of a model")
    group.addoption("--dojo-model", action="store", default=None, metavar="SPEC",
                    help="model to check: 'package.module:ClassOrFactory', a zoo key (e.g. schnet) or an entry "
                         "point of the dojo.models group; adds the items dojo[invariance], dojo[profile], "
                         "dojo[theory] and is the dojo_model fixture.")
    group.addoption("--dojo-set", action="append", default=[], metavar="KEY=VALUE",
                    help="a config option of the model (repeatable); VALUE is read as JSON when it parses "
                         "(8, 0.5, true, [1,2]), else as a string.")
    group.addoption("--dojo-inits", action="store", type=int, default=3, metavar="N",
                    help="initialisations per verdict (default 3).")


def parse_setting(text: str) -> tuple[str, object]:
    """``"hidden=8"`` -> ``("hidden", 8)``: the value as JSON when it parses, else the string.

    Raises
    ------
    ValueError
        Without ``=`` or with an empty key.
    """
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"--dojo-set expects KEY=VALUE, got {text!r}. Fix: e.g. --dojo-set hidden=8.")
    try:
        return key.strip(), json.loads(value)
    except json.JSONDecodeError:
        return key.strip(), value


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)
    try:
        config.stash[_CONFIG] = dict(parse_setting(s) for s in config.getoption("dojo_set") or [])
    except ValueError as err:
        raise pytest.UsageError(str(err)) from None
    if config.getoption("dojo_inits") < 1:
        raise pytest.UsageError(f"--dojo-inits must be at least 1, got {config.getoption('dojo_inits')}.")


def _model_config(config: pytest.Config) -> dict[str, Any]:
    return dict(config.stash.get(_CONFIG, {}))


def _make_importable(spec: str, config: pytest.Config) -> None:
    """Let ``"mymodels:Model"`` name a module beside the user, as ``python -m pytest`` would.

    The ``pytest`` script does not put the working directory on ``sys.path``; when the module cannot be found
    otherwise, the invocation directory and the rootdir are appended (never prepended: nothing installed is
    shadowed)."""
    module = spec.partition(":")[0].split(".")[0]
    if not module or importlib.util.find_spec(module) is not None:
        return
    for folder in (config.invocation_params.dir, config.rootpath):
        if str(folder) not in sys.path:
            sys.path.append(str(folder))


def cli_model(config: pytest.Config) -> object | None:
    """The ``--dojo-model`` model, resolved once per session (None without the option).

    Raises
    ------
    ValueError
        For a name :func:`dojo.models.resolve` cannot resolve (its message says how to fix it).
    """
    spec = config.getoption("dojo_model")
    if spec is None:
        return None
    if _MODEL not in config.stash:
        from dojo.models import resolve

        if ":" in spec:
            module = spec.partition(":")[0]
            if not all(part.isidentifier() for part in module.split(".")):
                raise ValueError(f"--dojo-model={spec}: {module!r} is not a module name. Fix: name the module as "
                                 "Python imports it, 'package.module:ClassOrFactory' (not a file path), with its "
                                 "folder the working directory or on PYTHONPATH.")
            _make_importable(spec, config)
        config.stash[_MODEL] = resolve(spec)
    return config.stash[_MODEL]


@pytest.fixture
def dojo_model(request: pytest.FixtureRequest) -> object:
    """The model under test: ``--dojo-model`` resolved by :func:`dojo.models.resolve`.

    Override it in a ``conftest.py`` to check a model of your own (a class, a factory, ``dojo.models.wrap(...)``).
    Without a model a test using it fails, saying how to give one."""
    try:
        model = cli_model(request.config)
    except ValueError as err:
        problem = f"--dojo-model: {err}"
    else:
        problem = None
    if problem is not None:  # failed outside the except block: no "during handling of the above exception"
        pytest.fail(problem, pytrace=False)
    if model is None and request.node.get_closest_marker("dojo") is None:
        pytest.fail(NO_MODEL, pytrace=False)
    return model  # None for a marked test: its check fails in the call phase, as a failure rather than an error


@pytest.fixture(scope="session")
def dojo_pairs() -> Callable[..., list[Pair]]:
    """``dojo_pairs(family=None)``: the library's default pairs (of one family, e.g. ``"kchains"``)."""
    import counterexamples

    def pairs(family: str | None = None) -> list[Pair]:
        return counterexamples.pairs(family)

    return pairs


# --- the standard suite -------------------------------------------------------------------------------------------

def profile_of(config: pytest.Config) -> Profile:
    """The model's expressivity profile, measured once per session (kept for the terminal summary)."""
    if _PROFILE not in config.stash:
        from dojo.testing import expressivity_profile

        config.stash[_PROFILE] = expressivity_profile(_required_model(config), config=_model_config(config),
                                                      inits=config.getoption("dojo_inits"))
    return config.stash[_PROFILE]


def _required_model(config: pytest.Config) -> object:
    model = cli_model(config)
    if model is None:  # pragma: no cover  (items exist only with --dojo-model)
        raise ValueError(NO_MODEL)
    return model


def _check_invariance(config: pytest.Config) -> None:
    from dojo.testing import assert_invariant

    assert_invariant(_required_model(config), config=_model_config(config))


def _check_profile(config: pytest.Config) -> None:
    profile = profile_of(config)
    if profile.broken:
        raise AssertionError(
            f"the expressivity profile of {profile.model} ({profile.group}) is broken:\n  "
            + "\n  ".join(profile.broken) + "\n  summary: " + "; ".join(profile.summary())
            + "\n  hint: no geometric GNN separates isomorphic graphs or goes beyond GWL; the usual causes are "
              "reading absolute positions or node order (see dojo[invariance]), or building its own "
              "neighbourhoods instead of reading batch.edge_index.")
    if profile.cells and all(c.verdict == "degenerate" for c in profile.cells):
        raise AssertionError(
            f"the expressivity profile of {profile.model} ({profile.group}) shows nothing: all "
            f"{len(profile.cells)} verdicts are degenerate, so its summary ({'; '.join(profile.summary())}) "
            "is vacuous.\n  hint: either its embedding is zero or constant (e.g. a zero output initialiser: "
            "initialise the output layers with non-zero weights), or it changes more when a graph is moved than "
            "between the pair's two graphs (not invariant: see dojo[invariance]).")


def _check_theory(config: pytest.Config) -> None:
    import torch

    import counterexamples
    from dojo.protocols.common import build, pair_options
    from dojo.testing import assert_matches_theory, model_name

    model = _required_model(config)
    options = {**_model_config(config), "num_layers": 1, **pair_options(counterexamples.pairs()[0])}
    info = build(model, options, 0, torch.float64).info
    if info.bounded_by is None:
        pytest.skip(f"no declared bound: {model_name(model)} declares no bounding test (wrap(model, "
                    "bound='igwl-2', ...) declares one)")
    assert_matches_theory(model, config=_model_config(config), profile=profile_of(config))


_RUNNERS: dict[str, Callable[[pytest.Config], None]] = {
    "invariance": _check_invariance, "profile": _check_profile, "theory": _check_theory}


def _message_only(config: pytest.Config, error: BaseException) -> bool:
    """Whether a failure shows just its message: dojo's assertions and its ValueErrors ("... Fix: ...") are written
    for researchers, unless the user asked for tracebacks (``--tb=long``, ``--full-trace``)."""
    return (isinstance(error, (AssertionError, ValueError)) and not config.getoption("fulltrace", False)
            and config.getoption("tbstyle", "auto") != "long")


class DojoItem(pytest.Item):
    """One check of the standard suite on the ``--dojo-model`` model, shown as ``dojo[invariance]`` and so on."""

    def __init__(self, *, check: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check

    def runtest(self) -> None:
        _RUNNERS[self.check](self.config)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str | TerminalRepr:
        if _message_only(self.config, excinfo.value):
            return str(excinfo.value)
        if not self.config.getoption("fulltrace", False):  # from runtest on, not pytest's and pluggy's frames
            excinfo.traceback = excinfo.traceback.cut(path=Path(__file__)).filter(excinfo)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"dojo[{self.check}]"


class DojoSuite(pytest.Collector):
    """The standard suite (node id ``::dojo``): one :class:`DojoItem` per entry of :data:`CHECKS`."""

    def collect(self) -> list[DojoItem]:
        return [DojoItem.from_parent(self, name=check, check=check) for check in CHECKS]


@pytest.hookimpl(tryfirst=True)  # before -k/-m deselection, so that `-k "not profile"` leaves an item out
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        names = getattr(item, "fixturenames", None)
        if item.get_closest_marker("dojo") is not None and names is not None and "dojo_model" not in names:
            names.append("dojo_model")
    if config.getoption("dojo_model") is not None:
        # Collected like any collector (collect reports, pytest_itemcollected), so counts and -k/-m see the items.
        items.extend(session.genitems(DojoSuite.from_parent(session, name="dojo")))


# --- the marker ---------------------------------------------------------------------------------------------------

def _marker_signature(pair: object, layers: int | None = None, expect: str = "separates",
                      config: Mapping[str, object] | None = None, inits: int | None = None) -> None:
    """The arguments of ``@pytest.mark.dojo`` (a signature to bind them to)."""


def marker_arguments(mark: pytest.Mark) -> dict[str, Any]:
    """The marker's arguments by name, checked.

    Raises
    ------
    ValueError
        For arguments that do not fit ``dojo(pair, layers=None, expect="separates", config=None, inits=None)``.
    """
    try:
        bound = inspect.signature(_marker_signature).bind(*mark.args, **mark.kwargs)
    except TypeError as err:
        raise ValueError(f"@pytest.mark.dojo{_call(mark)}: {err}. Fix: @pytest.mark.dojo(pair='kchains-4', "
                         "layers=3, expect='separates').") from None
    bound.apply_defaults()
    args = dict(bound.arguments)
    if args["expect"] not in EXPECTS:
        raise ValueError(f"@pytest.mark.dojo{_call(mark)}: expect must be 'separates' or 'blind', got "
                         f"{args['expect']!r}. Fix: expect='separates' (the model must tell the pair apart) or "
                         "expect='blind' (it must not).")
    if args["config"] is not None and not isinstance(args["config"], Mapping):
        raise ValueError(f"@pytest.mark.dojo{_call(mark)}: config must be a dict of model options, got "
                         f"{type(args['config']).__name__}. Fix: config={{'hidden': 8}}.")
    return args


def _call(mark: pytest.Mark) -> str:
    shown = [repr(a) for a in mark.args] + [f"{k}={v!r}" for k, v in mark.kwargs.items()]
    return f"({', '.join(shown)})"


def check_marker(item: pytest.Item, mark: pytest.Mark) -> None:
    """Run ``@pytest.mark.dojo``'s check on the item's ``dojo_model``; raise AssertionError or ValueError."""
    args = marker_arguments(mark)
    model = getattr(item, "funcargs", {}).get("dojo_model")
    if model is None:
        raise ValueError(f"@pytest.mark.dojo{_call(mark)}: {NO_MODEL}")
    from counterexamples import is_pair_file
    from dojo import testing

    pair = args["pair"]
    if is_pair_file(pair) and not Path(pair).is_absolute():  # test data lives beside the test, wherever pytest runs
        pair = str(Path(item.path).parent / pair)
    check = testing.assert_separates if args["expect"] == "separates" else testing.assert_blind
    config = {**_model_config(item.config), **(args["config"] or {})}
    inits = item.config.getoption("dojo_inits") if args["inits"] is None else args["inits"]
    check(model, pair, layers=args["layers"], config=config, inits=inits)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    """A test marked ``@pytest.mark.dojo`` checks its model first; the body runs only when the check passes."""
    mark = item.get_closest_marker("dojo")
    if mark is None or isinstance(item, DojoItem):
        return
    try:
        check_marker(item, mark)
    except (AssertionError, ValueError) as err:
        if not _message_only(item.config, err):
            raise
        problem = str(err)
    else:
        return
    pytest.fail(problem, pytrace=False)  # outside the except block: no "during handling of the above exception"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int | pytest.ExitCode,
                            config: pytest.Config) -> None:
    """The profile, when an item measured it, under the header "dojo expressivity profile"."""
    profile = config.stash.get(_PROFILE, None)
    if profile is None:
        return
    terminalreporter.write_sep("=", "dojo expressivity profile")
    for line in profile.to_markdown().splitlines():
        terminalreporter.write_line(line)
