"""Notebooks run in the test suite (nbmake) in their fast mode: each reads DOJO_FAST and shrinks seeds, epochs and
initialisations; a person running a notebook gets the full settings unless they set DOJO_FAST=1 themselves."""

import os

os.environ.setdefault("DOJO_FAST", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")  # small graphs: a second thread only contends on a 2-core machine
