"""The largest relative embedding change of every zoo model under rigid motions and relabelling, per kind of
degenerate geometry and dtype (the figures behind the README's precision statement and tests/test_fuzz_invariance.py).

Run: .venv/bin/python benchmarks/invariance.py [--count 50]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_fuzz_invariance import promised, worst_error  # noqa: E402  (one definition of the measurement)

from dojo import models  # noqa: E402
from dojo.formatting import markdown  # noqa: E402
from dojo.graphs import DEGENERATE  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=50, help="graphs per model, kind and dtype")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = [[name, str(dtype).removeprefix("torch."),
             *(f"{worst_error(name, dtype, kind, args.count):.0e}" for kind in DEGENERATE),
             f"{promised(name, dtype):.0e}"]
            for name in models.names() for dtype in (torch.float32, torch.float64)]
    print(markdown(["model", "dtype", *DEGENERATE, "promised"], rows))


if __name__ == "__main__":
    main()
