"""Test-session settings: one torch thread (the machines have 2 cores; more threads only oversubscribe)."""

import pytest
import torch

pytest_plugins = ["pytester"]  # the pytest plugin's tests run pytest sessions of their own

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread in every test, whatever an earlier test left: on a shared 2-core machine torch's thread
    pool spins and slows small graphs 10x."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
