"""The counterexample library: pairs of geometric graphs that expose the limits of geometric GNNs.

Each family is a module with one generator; importing this package registers them all.

>>> import counterexamples
>>> pair = counterexamples.load("kchains", k=4)
>>> pair.claim("gwl"), pair.claim("igwl")
(3, None)
"""

from counterexamples.pair import GROUPS, TESTS, ExactGraph, Pair, claims
from counterexamples.registry import families, family, load, names, pairs
# importing a family module registers it; the order here is the order of `dojo list`
from counterexamples import kchains, rotsym, bodyorder, chiral, onehop, controls, dojo4body  # noqa: F401, E402

__all__ = ["GROUPS", "TESTS", "ExactGraph", "Pair", "claims", "families", "family", "load", "names", "pairs"]
