"""Test-session settings: one torch thread (the machines have 2 cores; more threads only oversubscribe)."""

import torch

torch.set_num_threads(1)

pytest_plugins = ["pytester"]
