"""The train protocol's two ways of running a cell's seeds, timed against each other: together under vmap, or one
after the other. Backs the choice of ``dojo.protocols.train.VMAP_MAX_SAVED``: vmap pays off on light models and
costs more than it saves on heavy ones, and "heavy" is measured by the elements one seed's forward pass saves for
backward (a count, not a timing, so the mode and every result are the same on every run).

Run: .venv/bin/python benchmarks/train_modes.py [--seeds N] [--epochs N]
Prints, per configuration, the saved elements, the seconds of both modes (one thread, the same seeds), the ratio
and the mode ``auto`` picks by the count (it also needs vmap to agree with the loop on the first step).
"""

from __future__ import annotations

import argparse
import time

import torch

import counterexamples
from dojo.formatting import markdown
from dojo.protocols.common import build, pair_graphs, pair_options
from dojo.protocols.train import VMAP_MAX_SAVED, _Seeds, fit

#: (label, pair, model, build options): the configurations whose timings set the threshold.
CONFIGS = [
    ("SchNet, 3 layers", "kchains-4", "schnet", {"num_layers": 3}),
    ("E-GNN, 3 layers", "kchains-4", "egnn", {"num_layers": 3}),
    ("PaiNN, 3 layers", "kchains-4", "painn", {"num_layers": 3}),
    ("GVP-GNN, 3 layers", "kchains-4", "gvp", {"num_layers": 3}),
    ("DimeNet++, 3 layers", "kchains-4", "dimenet", {"num_layers": 3}),
    ("DimeNet++, 6 layers", "kchains-4", "dimenet", {"num_layers": 6}),
    ("TFN, 3 layers", "kchains-4", "tfn", {"num_layers": 3}),
    ("MACE, 3 layers, correlation 2", "kchains-4", "mace", {"num_layers": 3, "correlation": 2}),
    ("TFN, max_ell 10", "rotsym-10", "tfn", {"num_layers": 1, "max_ell": 10}),
    ("MACE, max_ell 5, correlation 2", "rotsym-10", "mace", {"num_layers": 1, "max_ell": 5, "correlation": 2}),
    ("MACE, correlation 5", "bodyorder-3", "mace", {"num_layers": 1, "correlation": 5}),
]


def time_mode(pair_name: str, model: str, options: dict, mode: str, seeds: int, epochs: int) -> float:
    """Seconds to train ``seeds`` fresh models for ``epochs`` in ``mode``."""
    pair = counterexamples.load(pair_name)
    nets = [build(model, {**options, **pair_options(pair)}, s, torch.float32) for s in range(seeds)]
    start = time.perf_counter()
    fit(nets, pair_graphs(pair, torch.float32), epochs=epochs, shuffle_seeds=range(seeds), mode=mode)
    return time.perf_counter() - start


def saved(pair_name: str, model: str, options: dict) -> int:
    """Elements one seed's forward pass on the pair keeps for backward (what ``auto`` compares)."""
    pair = counterexamples.load(pair_name)
    net = build(model, {**options, **pair_options(pair)}, 0, torch.float32)
    return _Seeds([net], pair_graphs(pair, torch.float32)).saved_elements()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for label, pair_name, model, options in CONFIGS:
        count = saved(pair_name, model, options)
        together, alone = (time_mode(pair_name, model, options, mode, args.seeds, args.epochs)
                           for mode in ("vmap", "loop"))
        auto = "vmap" if count <= VMAP_MAX_SAVED else "loop"
        rows.append([label, pair_name, f"{count / 1e6:.2f} M", f"{together:.2f}", f"{alone:.2f}",
                     f"{alone / together:.2f}", auto])
        print(" | ".join(rows[-1]), flush=True)
    print(f"\n{args.seeds} seeds x {args.epochs} epochs; threshold {VMAP_MAX_SAVED / 1e6:.1f} M saved elements\n")
    print(markdown(["configuration", "pair", "saved / seed", "vmap s", "loop s", "loop / vmap", "auto, by the count"],
                   rows))


if __name__ == "__main__":
    main()
