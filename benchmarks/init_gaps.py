"""How far apart each zoo model embeds the two k-chains at random initialisation (float64, defaults).

Run: .venv/bin/python benchmarks/init_gaps.py [--k 4] [--layers 3 4] [--seeds 3]
Prints the median over seeds of |embed(a) - embed(b)| / |embed(a)|: the signal that training has to amplify
(the README's note on the train protocol quotes it).
"""

from __future__ import annotations

import argparse
import statistics

import torch
from torch_geometric.data import Batch

import counterexamples
from dojo import models
from dojo.formatting import markdown


def relative_gap(name: str, layers: int, a: Batch, b: Batch, seed: int) -> float:
    torch.manual_seed(seed)
    model = models.build(name, in_dim=1, out_dim=2, num_layers=layers).double().eval()
    with torch.no_grad():
        ea, eb = model.embed(a), model.embed(b)
    return ((ea - eb).norm() / ea.norm()).item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--layers", type=int, nargs="+", default=[3, 4])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    a, b = (Batch.from_data_list([g]) for g in counterexamples.load("kchains", k=args.k).graphs(torch.float64))
    rows = [[name, *(f"{statistics.median(relative_gap(name, L, a, b, s) for s in range(args.seeds)):.1e}"
                     for L in args.layers)] for name in models.names()]
    print(markdown(["model", *(f"{L} layers" for L in args.layers)], rows))


if __name__ == "__main__":
    main()
