"""The counterexample library: pairs of geometric graphs that expose the limits of geometric GNNs.

Each family is a module with one generator; importing this package registers them all.

>>> import counterexamples
>>> pair = counterexamples.load("kchains", k=4)
>>> pair.claim("gwl"), pair.claim("igwl")
(3, None)

Pairs of your own live in JSON pair files (``pair.save(path)``, ``load_file(path)``; :mod:`counterexamples.files`)
or come from arrays, XYZ files and ASE ``Atoms`` (``from_arrays``, ``from_xyz``, ``from_ase``;
:mod:`counterexamples.formats`).
"""

from counterexamples.pair import GROUPS, TESTS, ExactGraph, Pair, claims
from counterexamples.registry import families, family, is_pair_file, load, names, pairs
from counterexamples.files import load_file
from counterexamples.formats import from_arrays, from_ase, from_xyz
# importing a family module registers it; the order here is the order of `dojo list`
from counterexamples import kchains, rotsym, bodyorder, chiral, onehop, controls, dojo4body  # noqa: F401, E402
from counterexamples import platonic, distance_degenerate, sverdlov_dym, bispectrum  # noqa: F401, E402

__all__ = ["GROUPS", "TESTS", "ExactGraph", "Pair", "claims", "families", "family", "from_arrays", "from_ase",
           "from_xyz", "is_pair_file", "load", "load_file", "names", "pairs"]
