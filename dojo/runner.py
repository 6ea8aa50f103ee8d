"""Run a suite's cells under a protocol, here or on a cluster (:mod:`dojo.executors`), logging each finished cell
and resuming from the log.

Every finished cell is appended to a JSONL log at once (flushed and fsynced), so an interrupted run loses at most
the cells in flight; a rerun with the same log skips every cell whose key (cell, protocol and settings) it finds
there. A cell's key holds the hash of its model's identity (class, source, config, version), so a log never
hands back cells of another model registered under the same name. Each cell seeds its own models and motions and
runs on one thread, so its numbers do not depend on the executor, ``jobs`` or the order cells finish in; the log records
wall-clock seconds, which the tables leave out.

A run checks its arguments and that the log can be written before any work, and holds an exclusive lock on
``<log>.lock`` (``fcntl.flock``: Linux and other POSIX systems) while it runs, so two runs never share a log. Ctrl-C
(to the driver or to the whole process group: workers ignore SIGINT) cancels the pending cells, terminates the
workers and raises :class:`Interrupted` within seconds, every finished cell kept. Lines of the log that are not
records are skipped with a warning naming the file and line, and left in the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from functools import partial
from pathlib import Path

import torch
from tqdm import tqdm

from counterexamples import is_pair_file
from dojo.executors import Executor, Failed, Local
from dojo.models.wrap import model_identity, resolve
from dojo.protocols import PROTOCOLS
from dojo.protocols.common import pair_options, untrained
from dojo.suites import Cell, pair_of

__all__ = ["DEFAULTS", "settings_for", "run_cell", "read_log", "logged", "check_writable", "run", "Interrupted",
           "CellsFailed", "LogWarning"]

#: Protocol settings when none are given: 5 initialisations x 8 copies (separate); 10 seeds x 100 epochs (train).
DEFAULTS: dict[str, dict[str, int]] = {
    "separate": {"inits": 5, "copies": 8, "seed": 0},
    "train": {"seeds": 10, "epochs": 100, "seed": 0},
}


def settings_for(protocol: str, seeds: int | None = None, epochs: int | None = None) -> dict[str, int]:
    """The protocol's settings: ``seeds`` is the number of initialisations (separate) or training seeds (train).

    Raises
    ------
    ValueError
        For an unknown protocol, or ``epochs`` given to the training-free protocol.
    """
    if protocol not in DEFAULTS:
        raise ValueError(f"unknown protocol {protocol!r}. Fix: one of {sorted(DEFAULTS)}.")
    settings = dict(DEFAULTS[protocol])
    if seeds is not None:
        settings["inits" if protocol == "separate" else "seeds"] = seeds
    if epochs is not None:
        if protocol == "separate":
            raise ValueError("--epochs applies to the train protocol only. Fix: drop it or use --protocol train.")
        settings["epochs"] = epochs
    return settings


def _key(cell: Cell, protocol: str, settings: Mapping[str, int]) -> str:
    """The cell, its model's identity hash, the protocol and settings, and for a pair file a hash of its bytes (an
    edited file is another pair: its old cells are never reused)."""
    parts = [json.loads(cell.key), model_identity(resolve(cell.model), cell.config)["hash"], protocol,
             dict(sorted(settings.items()))]
    if is_pair_file(cell.pair):
        parts.append(hashlib.sha256(Path(cell.pair).read_bytes()).hexdigest()[:16])
    return json.dumps(parts)


def run_cell(cell: Cell, protocol: str, settings: Mapping[str, int]) -> dict:
    """Run one cell on one thread; return its log record (the cell, the model's metadata, the result, seconds)."""
    torch.set_num_threads(1)
    start = time.perf_counter()
    pair = pair_of(cell.pair)
    result = PROTOCOLS[protocol](pair, cell.model, cell.config, **settings)
    info = untrained(cell.model, {**cell.config, **pair_options(pair)}, 0).info
    return {
        "key": _key(cell, protocol, settings),
        "suite": cell.suite, "pair": cell.pair, "model": cell.model, "variant": cell.variant,
        "layers": cell.layers, "options": dict(cell.options),
        "protocol": protocol, "settings": dict(settings),
        "model_id": model_identity(resolve(cell.model), cell.config),
        "info": {"name": info.name, "kind": info.kind, "body_order": info.body_order,
                 "tensor_order": info.tensor_order, "group": info.group, "bounded_by": info.bounded_by,
                 "layer_bound": info.layer_bound},
        "result": asdict(result),
        "separated": result.separated,
        "seconds": round(time.perf_counter() - start, 3),
    }


class CellsFailed(RuntimeError):
    """Cells that raised twice (each is retried once) while the rest of the run went on: ``failed`` holds each
    one's error and traceback (:class:`dojo.executors.Failed`); every other cell is in the log."""

    def __init__(self, log: Path, failed: Sequence[Failed]):
        shown = "\n".join(f"  {f.cell.variant} on {f.cell.pair} (depth {f.cell.layers}): {f.error}" for f in failed)
        super().__init__(f"{len(failed)} cell(s) failed twice; the other cells are in {log}:\n{shown}\nRerun to "
                         "retry them; each one's traceback is in CellsFailed.failed[i].traceback.")
        self.log, self.failed = log, list(failed)


class LogWarning(UserWarning):
    """A line of a JSONL log that is not a record: skipped, and left in the file (the log is the user's data)."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`run`: pending cells were cancelled and the workers stopped; every finished cell is in
    the log. ``kept`` counts the run's cells in the log (``new`` of them computed by this run) out of ``total``."""

    def __init__(self, log: Path, kept: int, new: int, total: int):
        super().__init__(f"interrupted: {kept} of {total} cells kept in {log} ({new} new); rerun to resume")
        self.log, self.kept, self.new, self.total = log, kept, new, total


def _bad_line(path: Path, number: int, why: str) -> None:
    warnings.warn(f"{path}, line {number}: {why}; skipped (left in the file). Fix: repair or delete that line "
                  "by hand; its cell is recomputed if a run needs it.", LogWarning, stacklevel=3)


def read_log(path: Path, *, repair: bool = False) -> dict[str, dict]:
    """The records of a JSONL log by key (a later line of the same key wins).

    A torn last line (no newline: an interrupted write) is ignored; with ``repair`` (:func:`run` does so while it
    holds the log's lock) it is cut off the file, or, when it is a whole record, given its newline. Any other line
    that is not a record (invalid UTF-8 or JSON, not an object, no string ``"key"``) is skipped with a
    :class:`LogWarning` naming the file and line number, and never removed from the file.
    """
    records: dict[str, dict] = {}
    if not path.exists():
        return records
    data = path.read_bytes()
    lines = data.split(b"\n")
    torn = lines.pop()  # b"" when the file ends with a newline
    if torn:
        try:
            record = json.loads(torn.decode())
            whole = isinstance(record, dict) and isinstance(record.get("key"), str)
        except ValueError:  # UnicodeDecodeError and JSONDecodeError both
            whole = False
        if whole:
            lines.append(torn)
        if repair:
            with path.open("r+b") as f:
                if whole:
                    f.seek(0, os.SEEK_END)
                    f.write(b"\n")
                else:
                    f.truncate(len(data) - len(torn))
                f.flush()
                os.fsync(f.fileno())
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            text = raw.decode()
        except UnicodeDecodeError as err:
            _bad_line(path, number, f"invalid UTF-8 at byte {err.start}")
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as err:
            _bad_line(path, number, f"invalid JSON ({err.msg})")
            continue
        if not isinstance(record, dict):
            _bad_line(path, number, f"a JSON {type(record).__name__}, not a record (object)")
            continue
        if not isinstance(record.get("key"), str):
            _bad_line(path, number, "a record without its string \"key\"")
            continue
        records[record["key"]] = record
    return records


def logged(log: Path, protocol: str, settings: Mapping[str, int], prefer: Iterable[dict] = ()) -> list[dict]:
    """Every record of ``log`` under ``protocol`` and ``settings``, one per cell, sorted by key: what a table shows.

    Table files are written from this union of the log rather than from one run's cells, so that a run of some
    models, pairs or depths adds to the table of the same suite, protocol and settings instead of replacing it (a
    table never loses a result that its log holds), and a table's files depend only on the log, not on the order
    or the subsets of the runs that filled it. Where the log holds one cell under several model hashes (the model
    changed between runs), a record in ``prefer`` (this run's records) wins, else the last one logged.
    """
    settings = dict(settings)
    by_cell: dict[str, dict] = {}
    for record in read_log(log).values():
        if record.get("protocol") != protocol or record.get("settings") != settings:
            continue
        try:
            cell = json.dumps(json.loads(record["key"])[0])
        except (ValueError, IndexError, TypeError):
            continue
        by_cell[cell] = record
    for record in prefer:
        by_cell[json.dumps(json.loads(record["key"])[0])] = record
    return sorted(by_cell.values(), key=lambda r: r["key"])


def check_writable(paths: Iterable[Path]) -> None:
    """Check, creating nothing, that each path can be written: no file where a folder must be, no folder where
    the file must be, and write permission on the file or on its nearest existing folder (a read-only file system
    counts as not writable).

    Raises
    ------
    ValueError
        Naming the path and a fix.
    """
    for path in map(Path, paths):
        path = Path(os.path.abspath(path))
        if path.is_dir():
            raise ValueError(f"{path} is a directory, where a file must go. Fix: move it away or pass another --out.")
        folder = path.parent
        while not folder.exists():
            folder = folder.parent
        if not folder.is_dir():
            raise ValueError(f"cannot write {path}: {folder} is a file, not a directory. Fix: pass an --out that "
                             "is a directory or does not exist yet.")
        if path.exists() and not os.access(path, os.W_OK):
            raise ValueError(f"cannot write {path}: the file is read-only. Fix: make it writable (chmod u+w) or "
                             "pass another --out.")
        if not path.exists() and not os.access(folder, os.W_OK | os.X_OK):
            raise ValueError(f"cannot write {path}: the directory {folder} is not writable (permissions or a "
                             "read-only file system). Fix: pass an --out you can write to.")


class _Lock:
    """An exclusive, non-blocking ``fcntl.flock`` on ``<log>.lock`` (Linux and other POSIX systems only).

    The lock file records the holder (process id, host, start time, command line) for the error that a second run
    gets; it is left in place after release (removing it would race with a run that opened it meanwhile). The
    kernel drops the lock when the holder's process ends, however it ends.
    """

    def __init__(self, log: Path):
        self.path = log.with_name(log.name + ".lock")
        self.fd: int | None = None

    def acquire(self) -> None:
        import fcntl  # POSIX only

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise ValueError(f"the log {self.path.with_suffix('')} is in use by another run ({holder}; lock: "
                             f"{self.path}). Fix: wait for that run to end, or pass another --out.") from None
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        os.ftruncate(fd, 0)
        info = (f"pid {os.getpid()} on {socket.gethostname()}, started "
                f"{time.strftime('%Y-%m-%d %H:%M:%S')}: {' '.join(sys.argv)}")
        os.pwrite(fd, info.encode() + b"\n", 0)

    def release(self) -> None:
        if self.fd is not None:
            import fcntl

            os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def _append(path: Path, record: dict) -> None:
    with path.open("a") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())


def run(cells: Sequence[Cell], protocol: str, log: Path, *, settings: Mapping[str, int] | None = None,
        jobs: int = 1, executor: Executor | None = None, progress: bool = True, fresh: bool = False) -> list[dict]:
    """Run ``cells`` under ``protocol``, appending each finished cell to ``log``; return all their records.

    Before any work the arguments are checked, then ``log`` (its folder is created only now) is checked for
    writing and locked (``<log>.lock``, :class:`_Lock`: a second run on the same log fails at once instead of
    computing every cell twice); the lock is released on return, error or interrupt.

    Parameters
    ----------
    cells : sequence of Cell
        What to run (:func:`dojo.suites.suite`).
    protocol : "separate" or "train"
    log : Path
        The JSONL log; cells already in it (same key) are not recomputed.
    settings : mapping, optional
        Protocol settings (:func:`settings_for`); its defaults when omitted.
    jobs : int
        Local worker processes (``spawn`` context, one thread each); 1 runs in this process.
    executor : Executor, optional
        Where the cells run instead (:mod:`dojo.executors`: ``Local(jobs)`` or ``Dask(address)``); a cell that
        raises is retried once, then reported, and the rest go on (bad input, a ValueError, stops the run at once).
    progress : bool
        Show a tqdm progress bar on stderr.
    fresh : bool
        Recompute every cell: the log is emptied first.

    Returns
    -------
    list of dict
        One record per cell, sorted by key.

    Raises
    ------
    ValueError
        For bad arguments, a log that cannot be written, a log in use by another run, or bad input met by a cell (an
        unknown option, a model that cannot run a pair): finished cells stay in the log.
    ClusterError
        (:mod:`dojo.executors`) when a cluster cannot run the cells, before any cell or, if it goes away, mid-run.
    CellsFailed
        After every other cell finished, when some cells raised twice.
    Interrupted
        (a ``KeyboardInterrupt``) on Ctrl-C: pending cells are cancelled, the workers stopped, and every finished
        cell is in the log.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}. Fix: one of {sorted(PROTOCOLS)}.")
    settings = dict(settings or settings_for(protocol))
    if executor is None:
        executor = Local(jobs)
    elif jobs != 1:
        raise ValueError("give either jobs or an executor. Fix: Local(jobs) or Dask(address, workers=jobs).")
    log = Path(log)
    check_writable([log])
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        lock = _Lock(log)
        lock.acquire()
    except OSError as err:
        raise ValueError(f"cannot write the log {log}: {err.strerror or err}. Fix: pass an --out you can write "
                         "to.") from err
    try:
        try:
            with log.open("a"):  # writable now, not only after the first cell
                pass
        except OSError as err:
            raise ValueError(f"cannot write the log {log}: {err.strerror or err}. Fix: pass an --out you can "
                             "write to.") from err
        if fresh:
            log.write_text("")
        done = read_log(log, repair=True)
        wanted = {_key(c, protocol, settings): c for c in cells}
        # Run cells of one model configuration back to back: the training-free protocol reuses built models.
        todo = sorted(((k, c) for k, c in wanted.items() if k not in done),
                      key=lambda kc: (kc[1].model, kc[1].options, kc[1].layers, kc[1].pair))
        if not todo:  # everything logged: no worker, no model built, no progress bar
            return [done[k] for k in sorted(wanted)]
        bar = tqdm(total=len(wanted), initial=len(wanted) - len(todo), disable=not progress,
                   desc=f"{cells[0].suite if cells else ''} ({protocol})", unit="cell")
        before = len(wanted) - len(todo)
        task = partial(run_cell, protocol=protocol, settings=settings)
        records = executor.outcomes(task, [c for _, c in todo], [k for k, _ in todo])
        failed: list[Failed] = []
        try:
            for record in records:
                if isinstance(record, Failed):
                    failed.append(record)
                    bar.set_postfix_str(f"{len(failed)} failed", refresh=False)
                    continue
                _append(log, record)
                done[record["key"]] = record
                bar.set_postfix_str(f"{record['variant']} on {record['pair']}", refresh=False)
                bar.update()
        except KeyboardInterrupt:
            records.close()  # cancels pending cells and stops the workers
            bar.close()
            with warnings.catch_warnings():  # counted from the file: Ctrl-C may land between a write and `done`
                warnings.simplefilter("ignore", LogWarning)
                logged_now = read_log(log)
                kept = sum(k in logged_now for k in wanted)
            raise Interrupted(log, kept, kept - before, len(wanted)) from None
        finally:
            records.close()
            bar.close()
        if failed:
            raise CellsFailed(log, failed)
        return [done[k] for k in sorted(wanted)]
    finally:
        lock.release()
