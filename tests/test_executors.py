"""The tables' cells on a real Dask cluster (two worker processes on loopback), and the executor seam's guarantees.

Through Dask, a suite gives byte-identical tables to a local run; a worker killed mid-run costs nothing but its
cell (recomputed elsewhere), an interrupted run resumes from the log, and a cluster gone mid-run stops the run with
its finished cells logged, for a rerun elsewhere to complete; a cell that fails is retried once, then
reported with its traceback while the rest go on; workers that run other versions, cannot import the model, or
offer no GPU to a cell that asks for one are refused before any cell runs. Skipped only without the [dask] extra
(the README's test command installs it).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

import dojo
from dojo import executors, runner, suites, tables
from dojo.cli import main
from tests.interrupts import interrupt_after_first_cell

distributed = pytest.importorskip("distributed", reason="the [dask] extra is not installed: pip install -e '.[dask]'")

SETTINGS = {"inits": 2, "copies": 2, "seed": 0}
ARGS = ["table", "kchains", "--models", "egnn", "schnet", "--seeds", "2", "--quiet"]
FILES = ("md", "tex", "csv", "json")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as local:
        yield local


def table_files(folder: Path) -> dict[str, bytes]:
    return {ext: (folder / f"kchains-separate.{ext}").read_bytes() for ext in FILES}


def lines(log: Path) -> list[str]:
    return log.read_text().splitlines()


def cells() -> list:
    return suites.suite("kchains", ["egnn", "schnet"])


def rendered(log: Path) -> dict[str, str]:
    """The table files that the records of ``log`` give (what `dojo table` writes)."""
    records = runner.logged(log, "separate", SETTINGS)
    return {ext: render(records) for ext, render in tables.FORMATS.items()}


def test_a_suite_through_dask_gives_the_local_tables_byte_for_byte(cluster, tmp_path, capsys):
    assert main([*ARGS, "--out", str(tmp_path / "local")]) == 0
    assert main([*ARGS, "--out", str(tmp_path / "dask"), "--executor", "dask",
                 "--address", cluster.scheduler_address]) == 0
    assert table_files(tmp_path / "dask") == table_files(tmp_path / "local")
    logged = [json.loads(line)["key"] for line in lines(tmp_path / "dask" / "kchains-separate.jsonl")]
    assert len(logged) == len(set(logged)) == len(cells())
    capsys.readouterr()


def test_a_worker_killed_mid_run_and_an_interrupted_run_lose_no_cell(cluster, tmp_path):
    log = tmp_path / "log.jsonl"
    runner.run(cells(), "separate", tmp_path / "local.jsonl", settings=SETTINGS, progress=False)
    local = rendered(tmp_path / "local.jsonl")
    engine = executors.Dask(cluster.scheduler_address)
    thread = threading.Thread(target=runner.run, args=(cells(), "separate", log),
                              kwargs={"settings": SETTINGS, "executor": engine, "progress": False})
    thread.start()
    deadline = time.time() + 120
    while (not log.exists() or not lines(log)) and time.time() < deadline:
        time.sleep(0.05)
    with distributed.Client(cluster.scheduler_address) as client:  # closed: an open client outlives the cluster,
        pids = client.run(os.getpid)                                 # retrying its connection from a thread
    os.kill(next(iter(pids.values())), signal.SIGKILL)  # its nanny starts a fresh worker
    thread.join(timeout=300)
    assert not thread.is_alive()
    keys = [json.loads(line)["key"] for line in lines(log)]
    assert len(keys) == len(set(keys)) == len(cells())
    assert rendered(log) == local

    kept = lines(log)[:4]  # as if the driver had been killed after four cells
    log.write_text("\n".join(kept) + "\n")
    runner.run(cells(), "separate", log, settings=SETTINGS, executor=engine, progress=False)
    assert lines(log)[:4] == kept and len(lines(log)) == len(cells())  # only the missing cells were computed
    assert rendered(log) == local


def test_a_cluster_gone_mid_run_stops_the_run_and_a_rerun_elsewhere_completes_it(cluster, tmp_path):
    log = tmp_path / "log.jsonl"
    doomed = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0",
                                      host="127.0.0.1")  # a free port: the module's cluster holds the default
    outcome: dict = {}

    def run() -> None:
        try:
            runner.run(cells(), "separate", log, settings=SETTINGS, progress=False,
                       executor=executors.Dask(doomed.scheduler_address))
        except executors.ClusterError as err:
            outcome["error"] = str(err)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.time() + 120
    while (not log.exists() or not lines(log)) and time.time() < deadline:
        time.sleep(0.05)
    doomed.close()  # scheduler and worker gone, cells still pending
    thread.join(timeout=120)
    assert not thread.is_alive() and "went away" in outcome["error"] and "Fix: restart the cluster" in outcome["error"]
    kept = len(lines(log))
    assert 1 <= kept < len(cells())
    runner.run(cells(), "separate", log, settings=SETTINGS, progress=False,
               executor=executors.Dask(cluster.scheduler_address))
    keys = [json.loads(line)["key"] for line in lines(log)]
    assert len(keys) == len(set(keys)) == len(cells())


def test_a_failing_cell_is_retried_once_then_reported_and_the_rest_go_on(cluster, tmp_path):
    marker = tmp_path / "attempts.txt"
    broken = suites.select(suites.suite("kchains", ["tests.executor_models:failing"]), layers=[2],
                           options={"marker": str(marker)})
    good = suites.select(cells(), layers=[2])
    for engine in (executors.Dask(cluster.scheduler_address), executors.Local(1), executors.Local(2)):
        log = tmp_path / f"{engine.describe()}.jsonl"
        marker.unlink(missing_ok=True)
        with pytest.raises(runner.CellsFailed) as failed:
            runner.run([*broken, *good], "separate", log, settings=SETTINGS, executor=engine, progress=False)
        assert len(lines(marker)) == 2, engine.describe()  # tried, retried once, then reported
        (report,) = failed.value.failed
        assert "this model always fails" in report.error and "Traceback" in report.traceback
        assert "executor_models.py" in report.traceback
        assert len(lines(log)) == len(good)  # the others finished and were logged


def test_a_cell_refusing_its_input_is_never_retried(cluster, tmp_path):
    marker = tmp_path / "attempts.txt"
    refused = suites.select(suites.suite("kchains", ["tests.executor_models:refusing"]), layers=[2],
                            options={"marker": str(marker)})[:1]
    for engine in (executors.Dask(cluster.scheduler_address), executors.Local(1)):
        marker.unlink(missing_ok=True)
        with pytest.raises(ValueError, match="refuses its input"):
            runner.run(refused, "separate", tmp_path / "log.jsonl", settings=SETTINGS, executor=engine,
                       progress=False)
        assert len(lines(marker)) == 1, engine.describe()


def test_workers_that_differ_from_the_driver_are_refused_before_any_cell(cluster, tmp_path, monkeypatch):
    log = tmp_path / "log.jsonl"
    monkeypatch.setattr(dojo, "__version__", "0.0.0-driver")
    with pytest.raises(executors.ClusterError, match="runs .*0.1.*the driver .*0.0.0-driver.*Fix: install"):
        runner.run(cells(), "separate", log, settings=SETTINGS, executor=executors.Dask(cluster.scheduler_address),
                   progress=False)
    monkeypatch.undo()
    assert lines(log) == []

    module = tmp_path / "driver_only_models.py"
    module.write_text("from dojo.models.egnn import EGNN as Net\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(executors.ClusterError, match="cannot import the model 'driver_only_models:Net'.*PYTHONPATH"):
        runner.run(suites.suite("kchains", ["driver_only_models:Net"]), "separate", log, settings=SETTINGS,
                   executor=executors.Dask(cluster.scheduler_address), progress=False)
    assert lines(log) == []


def test_cells_asking_for_a_gpu_run_only_on_workers_offering_one(tmp_path):
    """Placement by Dask resources: one worker declares a GPU (as `dask worker --resources GPU=1` does), one not."""
    nanny = distributed.Nanny
    workers = {"plain": {"cls": nanny, "options": {"nthreads": 1, "dashboard": False}},
               "gpu": {"cls": nanny, "options": {"nthreads": 1, "dashboard": False, "resources": {"GPU": 1}}}}
    scheduler = {"cls": distributed.Scheduler, "options": {"dashboard_address": ":0", "host": "127.0.0.1"}}
    with distributed.SpecCluster(workers=workers, scheduler=scheduler) as mixed, distributed.Client(mixed) as client:
        client.wait_for_workers(2, timeout=120)
        chosen = suites.select(cells(), layers=[2, 3])
        log = tmp_path / "log.jsonl"
        with distributed.get_task_stream(client) as stream:
            runner.run(chosen, "separate", log, settings=SETTINGS, progress=False,
                       executor=executors.Dask(mixed.scheduler_address, gpus_per_cell=1))
        assert len(lines(log)) == len(chosen)
        ran = {task["worker"] for task in stream.data if "_remote" in str(task["key"])}
        assert ran == {mixed.workers["gpu"].worker_address}, ran


def test_a_cell_asking_for_a_gpu_needs_a_worker_offering_one(cluster, tmp_path, capsys):
    code = main([*ARGS, "--out", str(tmp_path), "--executor", "dask", "--address", cluster.scheduler_address,
                 "--gpus-per-cell", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "no worker" in err and "--resources GPU=1" in err, err
    assert lines(tmp_path / "kchains-separate.jsonl") == []


def test_bad_executor_options_fail_before_any_work(tmp_path, capsys):
    for extra, needle in ((["--address", "tcp://127.0.0.1:1"], "--executor dask"),
                          (["--gpus-per-cell", "1"], "--executor dask")):
        with pytest.raises(SystemExit) as exit_:
            main([*ARGS, "--out", str(tmp_path / "x"), *extra])
        assert exit_.value.code == 2 and needle in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    code = main([*ARGS, "--out", str(tmp_path / "y"), "--executor", "dask", "--address", "tcp://127.0.0.1:1"])
    assert code == 2 and "cannot reach the Dask scheduler" in capsys.readouterr().err


def test_ctrl_c_stops_a_dask_run_at_once_keeping_finished_cells(cluster, tmp_path):
    """SIGINT to the driver (the terminal's Ctrl-C): the cluster's pending cells are cancelled, exit 130."""
    log = tmp_path / "all-separate.jsonl"
    command = [sys.executable, "-m", "dojo.cli", "table", "all", "--models", "schnet", "egnn", "--quiet",
               "--out", str(tmp_path), "--executor", "dask", "--address", cluster.scheduler_address]
    code, err, took = interrupt_after_first_cell(command, log, group=False)
    assert code == 130, err
    assert took < 10, f"exit took {took:.1f} s"
    kept, total = len(lines(log)), len(suites.suite("all", ["schnet", "egnn"]))
    assert 1 <= kept < total and f"{kept} of {total} cells kept" in err, err


def test_bad_input_met_by_a_cell_stops_the_run_at_once_with_its_fix(cluster, tmp_path, capsys):
    """An option the model does not take is the same error on every retry and every cell: exit 2, no retries."""
    for extra in ([], ["--executor", "dask", "--address", cluster.scheduler_address], ["--jobs", "2"]):
        out = tmp_path / str(len(extra))
        with pytest.raises(SystemExit) as exit_:
            main([*ARGS, "--set", "bogus=1", "--out", str(out), *extra])
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and "unknown options ['bogus']" in err and "Fix:" in err, err
        assert lines(out / "kchains-separate.jsonl") == []
