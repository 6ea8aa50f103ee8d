"""Models for tests/test_executors.py, importable by name on Dask workers (``tests.executor_models:failing``)."""

from __future__ import annotations

from pathlib import Path


def failing(num_layers: int, marker: str):
    """A factory that records each attempt in the file ``marker`` and then fails, as a broken user model does."""
    with Path(marker).open("a") as f:
        f.write(f"attempt at depth {num_layers}\n")
    raise RuntimeError("this model always fails")


def refusing(num_layers: int, marker: str):
    """A factory that records each attempt in ``marker`` and then refuses its input (a ValueError), as the dojo's
    own checks do: bad input must stop a run, never be retried."""
    with Path(marker).open("a") as f:
        f.write(f"attempt at depth {num_layers}\n")
    raise ValueError("this model refuses its input. Fix: none, it is a test.")
