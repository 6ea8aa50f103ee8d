"""One training step (forward, backward, Adam) per model on the k=4 k-chain pair: batch size 1, 3 layers, defaults.

Run: .venv/bin/python benchmarks/train_step.py [MODEL ...] [--pair NAME] [--layers N] [--set KEY=VALUE ...]
(for example ``mace --pair rotsym-10 --layers 1 --set max_ell=10 correlation=2``: a cell of the orientation suite).
Prints the median milliseconds per step over repeated steps, one thread, with parameter counts, and
how much of the step is Adam's update (``dojo.optim.FusedAdam``, timed inside the same steps): its cost grows with
the parameter count, not with the graph, so it is a floor that no restructuring of a model's forward pass lowers.
Beside it, what ``torch.optim.Adam(fused=True)`` takes to apply the same gradients.
"""

from __future__ import annotations

import argparse
import ast
import statistics
import time
from typing import NamedTuple

import torch
from torch_geometric.data import Batch

import counterexamples
from dojo import models
from dojo.formatting import markdown
from dojo.optim import FusedAdam
from dojo.protocols.common import pair_options


class StepTimes(NamedTuple):
    """What :func:`time_steps` measured: medians over repeats of the mean step time, of its Adam part and of
    ``torch.optim.Adam(fused=True)``'s update of the same gradients instead (ms); the parameter count and tensors;
    the seconds of the 10 warm-up steps (which include ``torch.compile``'s compilation, if asked for)."""

    ms: float
    adam: float
    torch_adam: float
    params: int
    tensors: int
    warm_up: float


def time_steps(name: str, pair_name: str, options: dict, steps: int, repeats: int,
               compile_model: bool = False) -> StepTimes:
    """Time ``steps`` training steps of model ``name`` on ``pair_name``, ``repeats`` times."""
    torch.manual_seed(0)
    pair = counterexamples.load(pair_name)
    model = models.build(name, **options, **pair_options(pair))
    forward = torch.compile(model) if compile_model else model
    opt = FusedAdam(model.parameters(), lr=1e-4)  # the train protocol's Adam: one fused kernel call a step
    batches = [Batch.from_data_list([g]) for g in (pair.a, pair.b)]
    targets = [torch.tensor([0]), torch.tensor([1])]
    loss_fn = torch.nn.CrossEntropyLoss()

    def step(i: int) -> float:
        """One step; returns the seconds its Adam update took."""
        opt.zero_grad()
        loss_fn(forward(batches[i % 2]), targets[i % 2]).backward()
        start = time.perf_counter()
        opt.step()
        return time.perf_counter() - start

    start = time.perf_counter()
    for i in range(10):
        step(i)
    warm_up = time.perf_counter() - start
    totals, adams = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        adam = sum(step(i) for i in range(steps))
        totals.append((time.perf_counter() - start) / steps * 1e3)
        adams.append(adam / steps * 1e3)
    reference = torch.optim.Adam(model.parameters(), lr=1e-4, fused=True)  # on the last step's gradients
    torch_adams = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            reference.step()
        torch_adams.append((time.perf_counter() - start) / steps * 1e3)
    params = list(model.parameters())
    return StepTimes(statistics.median(totals), statistics.median(adams), statistics.median(torch_adams),
                     sum(p.numel() for p in params), len(params), warm_up)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", default=models.names())
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pair", default="kchains-4", help="a library pair (default: kchains-4)")
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="other build options")
    parser.add_argument("--compile", action="store_true", help="run the model through torch.compile (not the "
                        "default anywhere in the dojo: for comparison)")
    args = parser.parse_args()
    options = {"num_layers": args.layers}
    for item in args.set:
        key, _, value = item.partition("=")
        options[key] = ast.literal_eval(value)
    torch.set_num_threads(1)
    rows = []
    for name in args.models:
        t = time_steps(name, args.pair, options, args.steps, args.repeats, args.compile)
        rows.append([name, models.model_class(name).__name__, f"{t.params:,}", str(t.tensors), f"{t.ms:.2f}",
                     f"{t.adam:.2f}", f"{t.torch_adam:.2f}"])
        print(f"{name}: {t.ms:.2f} ms/step (of which Adam {t.adam:.2f}; torch.optim.Adam would take "
              f"{t.torch_adam:.2f}), {t.params:,} parameters in {t.tensors} tensors; 10 warm-up steps "
              f"{t.warm_up:.1f} s", flush=True)
    print()
    print(markdown(["model", "class", "parameters", "tensors", "ms / train step", "of which Adam",
                    "torch.optim.Adam"], rows))


if __name__ == "__main__":
    main()
