"""GWL float mode against moved copies of degenerate graphs: how often it answers right, refuses, or is wrong.

Per kind of degenerate geometry and dtype, every test (IGWL_(2..4), IGWL, GWL; O(3), and SO(3) for proper motions)
runs on graphs and their rotated/reflected, translated, permuted copies (tests/test_gwl_float.py's fuzz, one
definition of the measurement). The figures behind the README's statement of float-mode precision.

Run: .venv/bin/python benchmarks/gwl_precision.py [--count 400]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_gwl_float import KINDS, fuzz  # noqa: E402  (one definition of the measurement)

from dojo.formatting import markdown  # noqa: E402

OUTCOMES = ("same", "separated", "precision", "far", "lone precision")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=400, help="graphs per kind and dtype")
    args = parser.parse_args()
    rows, sums, start = [], dict.fromkeys(OUTCOMES, 0), time.perf_counter()
    for dtype in (torch.float32, torch.float64):
        for kind in KINDS:
            outcomes = fuzz(dtype, kind, args.count)
            rows.append([str(dtype).removeprefix("torch."), kind, *(str(outcomes[o]) for o in OUTCOMES)])
            sums = {o: sums[o] + outcomes[o] for o in OUTCOMES}
    print(markdown(["dtype", "kind", "right", "separated (wrong)", "PrecisionError", "refused: far from origin",
                    "lone colors refused"], rows))
    total = sum(sums[o] for o in OUTCOMES[:4])
    print(f"{total} runs in {time.perf_counter() - start:.0f} s: {sums['separated']} wrong, {sums['precision']} "
          f"PrecisionErrors, {sums['far']} refused far from the origin, {sums['lone precision']} lone colors "
          "refused")


if __name__ == "__main__":
    main()
