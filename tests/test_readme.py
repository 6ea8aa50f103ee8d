"""The README's Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(BLOCKS[index], f"README.md[python block {index}]", "exec"), {"__name__": "__readme__"})


def test_readme_has_examples():
    assert len(BLOCKS) >= 2


def test_readme_pytest_example_runs_under_the_plugin(pytester):
    """The README's test file, against the README's EGNN as `mylab.models`, as a researcher would run it; then the
    standard suite on the same model from the command line, with no test file."""
    models = next(b for b in BLOCKS if "class EGNN" in b)
    pytester.mkpydir("mylab")
    (pytester.path / "mylab" / "models.py").write_text(models[:models.index("egnn = wrap(")])
    pytester.syspathinsert()
    pytester.makepyfile(test_expressivity=next(b for b in BLOCKS if "def dojo_model" in b))
    result = pytester.runpytest("-p", "no:cacheprovider", "--dojo-inits", "2")
    result.assert_outcomes(passed=3)
    (pytester.path / "test_expressivity.py").unlink()
    result = pytester.runpytest("-p", "no:cacheprovider", "--dojo-model=mylab.models:EGNN", "--dojo-inits", "1")
    result.assert_outcomes(passed=2, skipped=1)     # no declared bound: the theory item is skipped
    result.stdout.fnmatch_lines(["*dojo expressivity profile*", "at 1 layer: reaches igwl-2, bounded by igwl-2"])
