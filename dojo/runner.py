"""Run a suite's cells under a protocol: in parallel processes, logging each finished cell, resuming from the log.

Every finished cell is appended to a JSONL log at once (flushed and fsynced), so an interrupted run loses at most
the cells in flight; a rerun with the same log skips every cell whose key (cell, protocol and settings) it finds
there. A cell's key holds the hash of its model's identity (class, source, config, version), so a log never
hands back cells of another model registered under the same name. Each cell seeds its own models and motions and
runs on one thread, so its numbers do not depend on ``jobs`` or on the order cells finish in; the log records
wall-clock seconds, which the tables leave out.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from multiprocessing import get_context
from pathlib import Path

import torch
from tqdm import tqdm

from dojo.models.wrap import model_identity, resolve
from dojo.protocols import PROTOCOLS
from dojo.protocols.common import pair_options, untrained
from dojo.suites import Cell, pair_of

__all__ = ["DEFAULTS", "settings_for", "run_cell", "read_log", "run"]

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
    return json.dumps([json.loads(cell.key), model_identity(resolve(cell.model), cell.config)["hash"], protocol,
                       dict(sorted(settings.items()))])


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


def read_log(path: Path) -> dict[str, dict]:
    """The records of a JSONL log by key; a torn last line (an interrupted write) is cut off the file."""
    records: dict[str, dict] = {}
    if path.exists():
        text = path.read_bytes()
        if text and not text.endswith(b"\n"):
            with path.open("r+b") as f:
                f.truncate(text.rfind(b"\n") + 1)
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            records[record["key"]] = record
    return records


def _append(path: Path, record: dict) -> None:
    with path.open("a") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())


def run(cells: Sequence[Cell], protocol: str, log: Path, *, settings: Mapping[str, int] | None = None,
        jobs: int = 1, progress: bool = True, fresh: bool = False) -> list[dict]:
    """Run ``cells`` under ``protocol``, appending each finished cell to ``log``; return all their records.

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
        Worker processes (``spawn`` context, one thread each); 1 runs in this process.
    progress : bool
        Show a tqdm progress bar on stderr.
    fresh : bool
        Recompute every cell: the log is emptied first.

    Returns
    -------
    list of dict
        One record per cell, sorted by key.
    """
    settings = dict(settings or settings_for(protocol))
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}. Fix: pass --jobs 1 or more.")
    log.parent.mkdir(parents=True, exist_ok=True)
    if fresh:
        log.write_text("")
    done = read_log(log)
    wanted = {_key(c, protocol, settings): c for c in cells}
    # Run cells of one model configuration back to back: the training-free protocol reuses built models.
    todo = sorted((c for k, c in wanted.items() if k not in done), key=lambda c: (c.model, c.options, c.layers, c.pair))
    bar = tqdm(total=len(wanted), initial=len(wanted) - len(todo), disable=not progress,
               desc=f"{cells[0].suite if cells else ''} ({protocol})", unit="cell")
    for record in _execute(todo, protocol, settings, jobs):
        _append(log, record)
        done[record["key"]] = record
        bar.set_postfix_str(f"{record['variant']} on {record['pair']}", refresh=False)
        bar.update()
    bar.close()
    return [done[k] for k in sorted(wanted)]


def _execute(cells: Sequence[Cell], protocol: str, settings: Mapping[str, int], jobs: int) -> Iterable[dict]:
    """Records as cells finish: in this process, or in ``jobs`` spawned workers."""
    if jobs == 1 or len(cells) <= 1:
        threads = torch.get_num_threads()
        try:
            for cell in cells:
                yield run_cell(cell, protocol, settings)
        finally:
            torch.set_num_threads(threads)
        return
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(run_cell, cell, protocol, settings) for cell in cells]
        for future in as_completed(futures):
            yield future.result()
