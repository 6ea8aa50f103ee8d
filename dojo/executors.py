"""Where a table's cells are computed: this process, local worker processes, or a Dask cluster.

An executor takes the cells a run still needs and yields each outcome as it finishes: a cell's record, or a
:class:`Failed` cell (its error and traceback) once a retry failed too. A ``ValueError`` is the dojo's bad-input
error (an unknown option, a model that cannot run the pair), the same for every retry: it stops the run at once. The runner (:func:`dojo.runner.run`) logs
records as they arrive, so every engine keeps the same guarantees: resume from the log, Ctrl-C keeps the finished
cells, outputs byte-identical to a local run (each cell seeds itself and runs on one thread).

* :class:`Local` -- ``jobs`` spawned processes on this machine (``--jobs``), or this process when ``jobs == 1``;
* :class:`Dask` -- a Dask distributed cluster, ``Client(address)``: a scheduler and workers started by hand, by
  dask-jobqueue on SLURM/PBS, or a ``LocalCluster`` on this machine when no address is given. Workers import the
  dojo, the protocol and the cell's model by name (``pkg.module:Factory``), never unpickled closures; before any
  cell runs, every worker is checked to run the driver's dojo, torch and Python versions and to import every
  model of the run, and a cell that asks for GPUs needs a worker that offers them (``--resources GPU=1``).

The engine is Dask rather than a hand-made scheduler: clusters already run it (dask-jobqueue covers SLURM, PBS,
SGE and LSF), it reschedules the cells of a worker that dies, and its futures give the as-they-finish order the log
needs.
"""

from __future__ import annotations

import importlib.util
import platform
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from types import TracebackType

import torch

import dojo
from dojo.suites import Cell

__all__ = ["Executor", "Local", "Dask", "Failed", "ClusterError", "executor", "EXECUTORS"]

#: A cell's computation: the runner's ``run_cell`` with the protocol and settings bound (picklable by reference).
Task = Callable[[Cell], dict]

#: Executor names the command line accepts.
EXECUTORS = ("local", "dask")


@dataclass(frozen=True)
class Failed:
    """A cell that raised twice (the first failure is retried once): what went wrong, with the traceback."""

    cell: Cell
    error: str
    traceback: str

    @classmethod
    def of(cls, cell: Cell, err: BaseException, tb: TracebackType | None = None) -> Failed:
        """From the exception (and its traceback where it no longer carries one, as Dask returns them)."""
        return cls(cell, f"{type(err).__name__}: {err}",
                   "".join(traceback.format_exception(type(err), err, tb or err.__traceback__)))


class ClusterError(RuntimeError):
    """The cluster cannot run the cells: unreachable, no workers, versions or models that differ from the driver's,
    no GPUs, or gone in the middle of a run (every finished cell is in the log then: rerun to resume)."""


class Executor(ABC):
    """Runs cells and yields their outcomes as they finish; closing the generator cancels the rest at once."""

    @abstractmethod
    def outcomes(self, task: Task, cells: Sequence[Cell], keys: Sequence[str]) -> Iterator[dict | Failed]:
        """Each cell's record, or :class:`Failed` after a retry, in the order they finish.

        ``keys`` are the cells' log keys as the driver computes them: a remote worker's records must match them.
        """

    @abstractmethod
    def describe(self) -> str:
        """Where the cells run, for error messages."""


class Local(Executor):
    """``jobs`` worker processes (``spawn``, Ctrl-C ignored: the driver stops them), or this process for one job."""

    def __init__(self, jobs: int = 1) -> None:
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
            raise ValueError(f"jobs must be an integer >= 1, got {jobs!r}. Fix: pass --jobs 1 or more.")
        self.jobs = jobs

    def describe(self) -> str:
        return "this process" if self.jobs == 1 else f"{self.jobs} local processes"

    def outcomes(self, task: Task, cells: Sequence[Cell], keys: Sequence[str]) -> Iterator[dict | Failed]:
        if self.jobs == 1 or len(cells) <= 1:
            threads = torch.get_num_threads()
            try:
                for cell in cells:
                    yield _twice(task, cell)
            finally:
                torch.set_num_threads(threads)
            return
        yield from self._pool(task, cells)

    def _pool(self, task: Task, cells: Sequence[Cell]) -> Iterator[dict | Failed]:
        pool = ProcessPoolExecutor(max_workers=min(self.jobs, len(cells)), mp_context=get_context("spawn"),
                                   initializer=_ignore_sigint)
        try:
            attempts = {pool.submit(task, cell): (cell, 1) for cell in cells}
            pending = set(attempts)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    cell, attempt = attempts.pop(future)
                    err = future.exception()
                    if err is None:
                        yield future.result()
                    elif isinstance(err, (BrokenProcessPool, ValueError)):
                        raise err
                    elif attempt == 1:
                        retry = pool.submit(task, cell)
                        attempts[retry] = (cell, 2)
                        pending.add(retry)
                    else:
                        yield Failed.of(cell, err)
        except BaseException:  # KeyboardInterrupt, GeneratorExit (closed by the caller), a broken pool
            workers = list((pool._processes or {}).values())  # noqa: SLF001 (the executor has no public handle)
            pool.shutdown(wait=False, cancel_futures=True)
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.join(timeout=5)
            raise
        pool.shutdown(wait=True)


def _twice(task: Task, cell: Cell) -> dict | Failed:
    """Run a cell in this process, retrying once; Ctrl-C and bad input (ValueError) are never caught."""
    try:
        return task(cell)
    except ValueError:
        raise
    except Exception:  # noqa: BLE001 (any other error of a cell is retried once, then reported)
        try:
            return task(cell)
        except Exception as err:  # noqa: BLE001
            return Failed.of(cell, err)


def _ignore_sigint() -> None:
    """Worker initializer: Ctrl-C to the process group is the driver's to handle (it stops the workers)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def versions() -> dict[str, str]:
    """What must agree between the driver and a worker for a cell to give the same numbers."""
    return {"dojo": dojo.__version__, "torch": torch.__version__, "python": platform.python_version()}


def _worker_report(models: Sequence[str]) -> dict:
    """Run on every worker before any cell: its versions, and which models it cannot import (with the error)."""
    from dojo.models.wrap import resolve

    failures = {}
    for spec in models:
        try:
            resolve(spec)
        except Exception as err:  # noqa: BLE001 (reported to the driver, which refuses to start)
            failures[spec] = f"{type(err).__name__}: {err}"
    return {"versions": versions(), "models": failures}


def _remote(task: Task, cell: Cell, expected: dict[str, str], key: str) -> dict:
    """A cell on a worker: the driver's versions checked again (a worker may join mid-run), then the key compared,
    so that a worker whose copy of a model or pair file differs from the driver's can never log under its key."""
    here = versions()
    if here != expected:
        raise ClusterError(f"worker runs {here}, the driver {expected}. Fix: install the same versions on the "
                           "workers as on the driver.")
    record = task(cell)
    if record["key"] != key:
        raise ClusterError(f"the worker's copy of the model {cell.model!r} or of the pair {cell.pair!r} differs from "
                           f"the driver's (worker's key {record['key']}, the driver's {key}). Fix: give the workers the "
                           "same model code and pair files as the driver.")
    return record


class Dask(Executor):
    """A Dask distributed cluster at ``address`` (``tcp://host:8786``), or a ``LocalCluster`` of ``workers`` single-threaded processes on this machine when ``address`` is None.

    Parameters
    ----------
    address : str, optional
        The scheduler's address. Start one with ``dask scheduler`` and workers with ``dask worker ADDRESS
        --nthreads 1`` (add ``--resources GPU=1`` on GPU machines), or with dask-jobqueue on SLURM/PBS.
    workers : int
        Workers of the local cluster when no address is given.
    gpus_per_cell : float
        GPUs each cell asks for (the Dask resource ``GPU``); 0 runs on any worker.
    connect_timeout, worker_timeout : float
        Seconds to wait for the scheduler, and for a first worker (batch systems may take a while to start one).
    """

    def __init__(self, address: str | None = None, *, workers: int = 2, gpus_per_cell: float = 0,
                 connect_timeout: float = 10.0, worker_timeout: float = 120.0) -> None:
        if importlib.util.find_spec("distributed") is None:
            raise ValueError("the Dask executor needs Dask distributed, which is not installed. Fix: pip install "
                             "'geometric-gnn-dojo[dask]' (or pip install 'dask[distributed]').")
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be an integer >= 1, got {workers!r}. Fix: e.g. --jobs 2.")
        if not gpus_per_cell >= 0:
            raise ValueError(f"gpus_per_cell must be >= 0, got {gpus_per_cell!r}. Fix: e.g. --gpus-per-cell 1.")
        self.address, self.workers, self.gpus = address, workers, float(gpus_per_cell)
        self.connect_timeout, self.worker_timeout = connect_timeout, worker_timeout

    def describe(self) -> str:
        return f"Dask at {self.address}" if self.address else f"a local Dask cluster of {self.workers} workers"

    def _connect(self):
        from distributed import Client, LocalCluster

        if self.address is None:
            cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, host="127.0.0.1")
            return Client(cluster), cluster
        try:
            return Client(self.address, timeout=self.connect_timeout), None
        except (OSError, TimeoutError) as err:
            raise ClusterError(f"cannot reach the Dask scheduler at {self.address}: {err}. Fix: start it (dask "
                               "scheduler) and pass its address, e.g. --address tcp://host:8786.") from None

    def _check(self, client, models: Sequence[str]) -> None:
        try:
            client.wait_for_workers(1, timeout=self.worker_timeout)
        except TimeoutError:
            raise ClusterError(f"{self.describe()} has no workers after {self.worker_timeout:.0f} s. Fix: start workers "
                               f"(dask worker {self.address or 'ADDRESS'} --nthreads 1).") from None
        driver = versions()
        for worker, report in client.run(_worker_report, list(models)).items():
            if report["versions"] != driver:
                raise ClusterError(f"worker {worker} runs {report['versions']}, the driver {driver}. Fix: install "
                                   "the same dojo, torch and Python on the workers as on the driver.")
            if report["models"]:
                spec, error = next(iter(report["models"].items()))
                raise ClusterError(f"worker {worker} cannot import the model {spec!r}: {error}. Fix: install its "
                                   "package on the workers, or start them where it is importable (PYTHONPATH).")
        if self.gpus:
            offered = [w.get("resources", {}).get("GPU", 0) for w in client.scheduler_info()["workers"].values()]
            if max(offered, default=0) < self.gpus:
                raise ClusterError(f"cells ask for {self.gpus:g} GPU(s) but no worker of {self.describe()} offers "
                                   f"that many (largest: {max(offered, default=0):g}). Fix: start GPU workers with "
                                   "--resources GPU=1, or drop --gpus-per-cell.")

    def outcomes(self, task: Task, cells: Sequence[Cell], keys: Sequence[str]) -> Iterator[dict | Failed]:
        from distributed import as_completed

        client, cluster = self._connect()
        futures: dict = {}
        try:
            self._check(client, sorted({c.model for c in cells}))
            expected = versions()
            resources = {"GPU": self.gpus} if self.gpus else None
            # Retried here, as Local retries, not by Dask (whose retries would rerun bad input too).
            submit = lambda cell, key: client.submit(_remote, task, cell, expected, key, pure=False,  # noqa: E731
                                                     resources=resources)
            futures = {submit(cell, key): (cell, key, 1) for cell, key in zip(cells, keys)}
            queue = as_completed(list(futures))
            for future in queue:
                cell, key, attempt = futures[future]
                if future.status == "finished":
                    yield future.result()
                elif future.status == "error":
                    err = future.exception()
                    if isinstance(err, (ClusterError, ValueError)):
                        raise err
                    if attempt == 1:
                        retry = submit(cell, key)
                        futures[retry] = (cell, key, 2)
                        queue.add(retry)
                    else:
                        yield Failed.of(cell, err, future.traceback())
                else:
                    raise ClusterError(f"{self.describe()} dropped the cells ({future.status}: the scheduler or "
                                       "every worker went away). Fix: restart the cluster and rerun: finished cells "
                                       "are in the log.")
        except BaseException:
            if futures:
                client.cancel(list(futures), force=True)
            raise
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


def executor(name: str = "local", *, jobs: int = 1, address: str | None = None,
             gpus_per_cell: float = 0) -> Executor:
    """The executor the command line names: ``local`` (``jobs`` processes) or ``dask`` (at ``address``, or a local
    cluster of ``jobs`` workers).

    Raises
    ------
    ValueError
        For an unknown name, or options that do not apply to it.
    """
    if name == "local":
        if address is not None or gpus_per_cell:
            raise ValueError("--address and --gpus-per-cell need a cluster. Fix: add --executor dask.")
        return Local(jobs)
    if name == "dask":
        return Dask(address, workers=jobs, gpus_per_cell=gpus_per_cell)
    raise ValueError(f"unknown executor {name!r}. Fix: one of {EXECUTORS}.")
