"""Ctrl-C as a terminal sends it, for tests/test_runner_reliability.py and tests/test_executors.py."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def interrupt_after_first_cell(command: list[str], log: Path, *, group: bool) -> tuple[int, str, float]:
    """Run ``command``, send SIGINT once ``log`` holds a finished cell, and return (exit code, stderr, seconds from
    the signal to the exit). ``group``: the command gets its own process group and the signal goes to all of it (a
    terminal's Ctrl-C), else to the driver alone."""
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=group)
    try:
        deadline = time.monotonic() + 120
        while not (log.exists() and log.read_bytes().count(b"\n") >= 1):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no cell finished in 120 s"
            time.sleep(0.05)
        if group:
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        _, err = proc.communicate(timeout=60)
        return proc.returncode, err.decode(), time.monotonic() - sent
    finally:
        if proc.poll() is None:
            if group:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
            proc.wait()
