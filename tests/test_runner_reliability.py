"""The runner and ``dojo table`` keep every result and fail clearly (issue 12 §4): Ctrl-C with workers, an
unwritable ``--out``, damaged log lines, two runs on one log, subset runs and a rerun with everything logged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import counterexamples
from dojo import models, runner, suites
from dojo.executors import Local
from dojo.cli import main
from tests.interrupts import interrupt_after_first_cell

pytestmark = pytest.mark.skipif("schnet" not in models.names(), reason="needs schnet registered")

SETTINGS = runner.settings_for("separate", seeds=1)
ARGS = ["table", "kchains", "--models", "schnet", "--layers", "2", "--seeds", "1", "--quiet"]
ROOT = Path(__file__).resolve().parents[1]


def _cells(model: str = "schnet") -> list[suites.Cell]:
    return suites.select(suites.suite("kchains", [model]), layers=[2])


def _same(a: list[dict], b: list[dict]) -> bool:
    """Records equal as logged (JSON: tuples read back as lists)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _no_work(monkeypatch) -> None:
    def fail(*args, **kwargs):
        raise AssertionError("a cell was computed before the arguments were checked")

    monkeypatch.setattr(runner, "run_cell", fail)


# 1. Ctrl-C with several jobs: pending work stops, finished cells are kept, exit 130 within seconds.

def test_ctrl_c_to_the_process_group_with_two_jobs_stops_at_once_and_keeps_cells(tmp_path):
    log = tmp_path / "all-separate.jsonl"
    command = [sys.executable, "-m", "dojo.cli", "table", "all", "--models", "schnet", "egnn", "--jobs", "2",
               "--quiet", "--out", str(tmp_path)]
    code, err, took = interrupt_after_first_cell(command, log, group=True)
    assert code == 130, err
    assert took < 10, f"exit took {took:.1f} s"
    kept = [json.loads(line) for line in log.read_text().splitlines()]
    total = len(suites.suite("all", ["schnet", "egnn"]))
    assert 1 <= len(kept) < total  # the pending cells were cancelled
    assert f"{len(kept)} of {total} cells kept" in err, err
    assert not (tmp_path / "all-separate.md").exists()  # no table written from an interrupted run
    # the lock was released: a rerun resumes from the kept cells (checked without running it: the lock is free)
    lock = runner._Lock(log)
    lock.acquire()
    lock.release()


def test_interrupt_in_the_driver_keeps_finished_cells_and_releases_the_lock(tmp_path, monkeypatch):
    cells = suites.select(suites.suite("kchains", ["schnet"]), layers=[2, 3, 4])
    real, calls = runner.run_cell, []

    def interrupted_second(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "run_cell", interrupted_second)
    with pytest.raises(runner.Interrupted) as stop:
        runner.run(cells, "separate", tmp_path / "log.jsonl", settings=SETTINGS, progress=False)
    assert (stop.value.kept, stop.value.new, stop.value.total) == (1, 1, 3)
    assert len((tmp_path / "log.jsonl").read_text().splitlines()) == 1
    monkeypatch.setattr(runner, "run_cell", real)
    assert len(runner.run(cells, "separate", tmp_path / "log.jsonl", settings=SETTINGS, progress=False)) == 3


# 2. An --out that cannot be written fails before any work, naming the path and a fix.

def test_out_that_is_a_file_or_under_a_file_fails_before_any_work(tmp_path, monkeypatch, capsys):
    _no_work(monkeypatch)
    blocker = tmp_path / "file"
    blocker.write_text("mine")
    for out in (blocker, blocker / "sub" / "dir"):
        with pytest.raises(SystemExit) as exit_:
            main([*ARGS, "--out", str(out)])
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and err.startswith("dojo table: error: ") and str(blocker) in err, err
        assert "is a file" in err and "Fix:" in err
    assert blocker.read_text() == "mine"
    (tmp_path / "out" / "kchains-separate.md").mkdir(parents=True)  # a folder where a table file must go
    with pytest.raises(SystemExit):
        main([*ARGS, "--out", str(tmp_path / "out")])
    assert "is a directory" in capsys.readouterr().err
    assert not (tmp_path / "out" / "kchains-separate.jsonl").exists()


def test_unwritable_or_read_only_out_fails_before_any_work(tmp_path, monkeypatch):
    _no_work(monkeypatch)
    real_access = os.access
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "log.jsonl").write_text("")
    # As root, chmod does not stop writes: stand for a read-only file system (access(2) -> EROFS) instead.
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p).startswith(str(locked))
                        and mode & os.W_OK else real_access(p, mode, **kw))
    for log in (locked / "log.jsonl", locked / "new" / "log.jsonl", locked / "other.jsonl"):
        with pytest.raises(ValueError, match="cannot write .*Fix:") as err:
            runner.run(_cells(), "separate", log, settings=SETTINGS, progress=False)
        assert str(log) in str(err.value)
    assert not (locked / "new").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through chmod")
def test_chmod_read_only_out_fails_before_any_work(tmp_path, monkeypatch):
    _no_work(monkeypatch)
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro").chmod(0o555)
    try:
        with pytest.raises(ValueError, match="not writable"):
            runner.run(_cells(), "separate", tmp_path / "ro" / "log.jsonl", settings=SETTINGS, progress=False)
    finally:
        (tmp_path / "ro").chmod(0o755)


# 3. Damaged log lines: named by file and line, skipped with a warning, never deleted; nothing else is lost.

def test_damaged_log_lines_are_named_skipped_and_kept(tmp_path):
    log = tmp_path / "log.jsonl"
    cells = suites.select(suites.suite("kchains", ["schnet"]), layers=[2, 3])
    first = runner.run(cells, "separate", log, settings=SETTINGS, progress=False)
    good = log.read_bytes().splitlines(keepends=True)
    damaged = [b"\xff\xfe not utf-8\n", b'{"no key": 1}\n', b"[1, 2]\n", b"3\n", b"{broken json\n"]
    log.write_bytes(good[0] + b"".join(damaged) + good[1])
    with pytest.warns(runner.LogWarning) as caught:
        records = runner.read_log(log)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 5 and all(str(log) in m for m in messages)
    assert [m.split("line ")[1].split(":")[0] for m in messages] == ["2", "3", "4", "5", "6"]
    assert "UTF-8" in messages[0] and '"key"' in messages[1] and "list" in messages[2] and "int" in messages[3]
    assert sorted(records) == sorted(r["key"] for r in first)
    with pytest.warns(runner.LogWarning):  # nothing recomputed, nothing lost, the damaged lines left in place
        again = runner.run(cells, "separate", log, settings=SETTINGS, progress=False)
    assert _same(again, first) and log.read_bytes() == good[0] + b"".join(damaged) + good[1]


def test_torn_last_line_is_cut_only_by_a_run_and_a_whole_last_record_kept(tmp_path):
    log = tmp_path / "log.jsonl"
    cells = suites.select(suites.suite("kchains", ["schnet"]), layers=[2, 3])
    runner.run(cells, "separate", log, settings=SETTINGS, progress=False)
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(lines[0] + lines[1].rstrip(b"\n"))  # a whole record without its newline
    assert len(runner.read_log(log)) == 2
    runner.run(cells, "separate", log, settings=SETTINGS, progress=False)
    assert log.read_bytes() == lines[0] + lines[1]  # newline restored, nothing recomputed
    log.write_bytes(lines[0] + lines[1][:30])  # torn mid-write
    assert len(runner.read_log(log)) == 1 and log.read_bytes() == lines[0] + lines[1][:30]  # reading changes nothing


# 4. Two runs on one log: the second refuses at once, naming the lock and the other run.

def test_a_second_run_on_a_locked_log_refuses(tmp_path, monkeypatch, capsys):
    log = tmp_path / "kchains-separate.jsonl"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
        "fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, b'pid %d: dojo table kchains' % os.getpid()); "
        "print('locked', flush=True); time.sleep(60)"), str(log) + ".lock"], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"locked\n"
        _no_work(monkeypatch)
        with pytest.raises(ValueError, match="in use by another run") as err:
            runner.run(_cells(), "separate", log, settings=SETTINGS, progress=False)
        assert f"pid {holder.pid}" in str(err.value) and f"{log}.lock" in str(err.value)
        with pytest.raises(SystemExit) as exit_:
            main([*ARGS, "--out", str(tmp_path)])
        assert exit_.value.code == 2 and "in use by another run" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    monkeypatch.undo()
    assert len(runner.run(_cells(), "separate", log, settings=SETTINGS, progress=False)) == 1  # free again


def test_the_lock_is_released_after_an_error(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("a cell failed")

    monkeypatch.setattr(runner, "run_cell", boom)
    with pytest.raises(RuntimeError):
        runner.run(_cells(), "separate", tmp_path / "log.jsonl", settings=SETTINGS, progress=False)
    monkeypatch.undo()
    assert len(runner.run(_cells(), "separate", tmp_path / "log.jsonl", settings=SETTINGS, progress=False)) == 1


# 5. A subset run adds to the table; nothing is created before the arguments are checked.

@pytest.mark.skipif("egnn" not in models.names(), reason="needs egnn registered")
def test_a_subset_run_adds_to_the_table_instead_of_replacing_it(tmp_path, capsys):
    both, subset = tmp_path / "both", tmp_path / "subset"
    args = ["table", "kchains", "--layers", "2", "--seeds", "1", "--quiet"]
    assert main([*args, "--models", "schnet", "egnn", "--out", str(both)]) == 0
    full = {ext: (both / f"kchains-separate.{ext}").read_bytes() for ext in ("md", "tex", "csv", "json")}
    assert len(json.loads(full["json"])) == 2
    assert main([*args, "--models", "schnet", "--out", str(both)]) == 0  # used to overwrite with schnet alone
    assert {ext: (both / f"kchains-separate.{ext}").read_bytes() for ext in full} == full
    # subsets in either order give the full run's files, byte for byte
    assert main([*args, "--models", "egnn", "--out", str(subset)]) == 0
    assert main([*args, "--models", "schnet", "--out", str(subset)]) == 0
    assert {ext: (subset / f"kchains-separate.{ext}").read_bytes() for ext in full} == full
    # other settings are another table: the seeds-1 records are not mixed into a seeds-2 table
    assert main([*args, "--models", "schnet", "--seeds", "2", "--out", str(subset)]) == 0
    assert len(json.loads((subset / "kchains-separate.json").read_text())) == 1
    capsys.readouterr()


def test_bad_arguments_create_no_output_directory(tmp_path, capsys):
    out = tmp_path / "never"
    for bad in (["--seeds", "0"], ["--epochs", "3"], ["--jobs", "0"], ["--pairs", "rotsym-2"]):
        with pytest.raises(SystemExit) as exit_:
            main([*ARGS, *bad, "--out", str(out)])
        assert exit_.value.code == 2
    assert not out.exists()
    with pytest.raises(ValueError, match="jobs"):
        runner.run(_cells(), "separate", out / "log.jsonl", settings=SETTINGS, jobs=0, progress=False)
    assert not out.exists()
    capsys.readouterr()


# 6. A rerun with everything logged builds no model and starts no worker.

def test_a_rerun_with_everything_logged_computes_and_builds_nothing(tmp_path, monkeypatch):
    log = tmp_path / "log.jsonl"
    first = runner.run(_cells(), "separate", log, settings=SETTINGS, progress=False)
    monkeypatch.setattr(runner, "run_cell", lambda *a, **k: pytest.fail("recomputed a logged cell"))
    monkeypatch.setattr(Local, "outcomes", lambda *a: pytest.fail("started the executor for nothing"))
    monkeypatch.setattr(runner, "untrained", lambda *a: pytest.fail("built a model"))
    assert _same(runner.run(_cells(), "separate", log, settings=SETTINGS, jobs=2, progress=False), first)


def test_an_edited_pair_file_is_another_pair_and_never_reuses_logged_cells(tmp_path):
    path = tmp_path / "mine.json"
    counterexamples.load("kchains", k=4).save(path)
    cells = [c for c in suites.select(suites.suite("kchains", ["schnet"]), pairs=[str(path)]) if c.pair == str(path)]
    assert cells
    log = tmp_path / "log.jsonl"
    runner.run(cells, "separate", log, settings=SETTINGS, progress=False)
    runner.run(cells, "separate", log, settings=SETTINGS, progress=False)
    assert len(log.read_text().splitlines()) == len(cells)  # same file: resumed, nothing recomputed
    path.write_text(path.read_text().replace('"description": "', '"description": "edited: ', 1))
    runner.run(cells, "separate", log, settings=SETTINGS, progress=False)
    assert len(log.read_text().splitlines()) == 2 * len(cells)  # edited file: computed again
