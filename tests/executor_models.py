"""Models for tests/test_executors.py, importable by name on Dask workers (``tests.executor_models:failing``)."""

from __future__ import annotations

from pathlib import Path


def failing(num_layers: int, marker: str):
    """A factory that records each attempt in the file ``marker`` and then fails, as a broken user model does."""
    with Path(marker).open("a") as f:
        f.write(f"attempt at depth {num_layers}\n")
    raise RuntimeError("this model always fails")
