"""Exact certification of a pair's claims, independent of the GWL tests (``dojo.gwl``), one module per concept.

Everything works in exact arithmetic (one algebraic number field per pair, :mod:`counterexamples.algebra`) on two
:class:`~counterexamples.pair.ExactGraph` objects -- the library's or your own (a float ``Data`` graph is accepted
too and taken *exactly*: every float is a binary fraction).

* :mod:`~counterexamples.certify.exact` -- both graphs in one field (:func:`as_exact`).
* :mod:`~counterexamples.certify.invariants` -- the invariant tests as exact refinement steps;
  :func:`k_body_multisets` and :func:`neighbourhood_counts` are their iteration-1 information.
* :mod:`~counterexamples.certify.trees` -- GWL written out: depth-t computation trees compared up to the group.
* :mod:`~counterexamples.certify.refinement` -- :func:`separation`, the first iteration at which a test separates
  two graphs (or a proof that it never does), and :func:`wl_separation`.
* :mod:`~counterexamples.certify.rigid` -- :func:`congruence`: a permutation plus a motion of the group, verified.
* :mod:`~counterexamples.certify.local` -- :func:`local_isomorphism`, a certificate that no invariant test
  ever separates.
* :mod:`~counterexamples.certify.moments` -- :func:`maps_onto`, :func:`is_symmetry`, :func:`orientation_order`.
* :mod:`~counterexamples.certify.certificate` -- :func:`certify`: every claim of a pair verified, failed, or
  reported as unverified (size budget), in a :class:`Certificate` that is ``ok`` only when all are verified.

Examples
--------
>>> import counterexamples
>>> from counterexamples.certify import certify, k_body_multisets
>>> pair = counterexamples.load("bodyorder", body=4)
>>> a4, b4 = k_body_multisets(pair.exact_a, pair.exact_b, k=4, group="SO(3)")
>>> a5, b5 = k_body_multisets(pair.exact_a, pair.exact_b, k=5)
>>> a4 == b4, a5 == b5
(True, False)
>>> certify(pair).ok
True
"""

from counterexamples.certify.certificate import Certificate, Check, certify
from counterexamples.certify.exact import as_exact
from counterexamples.certify.invariants import k_body_multisets, neighbourhood_counts
from counterexamples.certify.local import local_isomorphism
from counterexamples.certify.moments import is_symmetry, maps_onto, orientation_order
from counterexamples.certify.refinement import Separation, separation, wl_separation
from counterexamples.certify.rigid import Congruence, congruence

__all__ = [
    "as_exact",
    "k_body_multisets",
    "neighbourhood_counts",
    "wl_separation",
    "separation",
    "Separation",
    "Congruence",
    "congruence",
    "local_isomorphism",
    "maps_onto",
    "is_symmetry",
    "orientation_order",
    "Check",
    "Certificate",
    "certify",
]
