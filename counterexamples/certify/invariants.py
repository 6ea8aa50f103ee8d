"""The invariant tests (WL, IGWL_(k), IGWL) as exact colour-refinement steps on two graphs.

Each step maps the colours of iteration ``t - 1`` (one shared table for both graphs) to a key per node; equal keys
mean equal colours at iteration ``t``. The keys are exact and complete:

* WL: the node's colour and the multiset of its neighbours' colours.
* IGWL_(k): the node's colour and the multiset, over all ordered (k-1)-tuples of neighbours (repetition allowed),
  of the tuple's colours, Gram matrix of the vectors ``x_j - x_i`` (interned exact field elements) and, under
  SO(3), the signs of their triple products. The Gram matrix is a complete O(3) invariant of an ordered
  configuration; with the orientation it is complete for SO(3).
* IGWL: the class of the whole coloured neighbourhood up to the group, decided by an exact matching of the
  neighbours (colours and all inner products, plus handedness under SO(3)) against one representative per class.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from itertools import combinations, product

from torch_geometric.data import Data

from counterexamples.certify.budget import Budget
from counterexamples.certify.exact import Exact, check_group, exact_pair
from counterexamples.certify.matching import match
from counterexamples.pair import ExactGraph

__all__ = ["k_body_multisets", "neighbourhood_counts"]

#: Largest body order certified (the tests go up to IGWL_(5)).
MAX_BODY = 5

Colours = Sequence[Sequence[int]]  # colours[g][i]: node i of graph g (0 = a, 1 = b)


def wl_step(graphs: Sequence[Exact], colours: Colours) -> list[list[Hashable]]:
    """1-WL: a node's colour and the sorted colours of its neighbours."""
    return [[(c[i], tuple(sorted(c[j] for j in g.nbrs[i]))) for i in range(g.n)] for g, c in zip(graphs, colours)]


class KBody:
    """IGWL_(k) steps: each node's ordered (k-1)-tuples of neighbours with their exact invariant class."""

    def __init__(self, graphs: Sequence[Exact], k: int, so3: bool, budget: Budget) -> None:
        self.graphs, self.budget = graphs, budget
        budget.spend(sum(len(g.nbrs[i]) ** (k - 1) for g in graphs for i in range(g.n)))
        self.tuples = [[self._tuples(g, i, k, so3) for i in range(g.n)] for g in graphs]

    @staticmethod
    def _tuples(g: Exact, i: int, k: int, so3: bool) -> list[tuple[tuple[int, ...], Hashable]]:
        """Node ``i``'s tuples of neighbours (as nodes) with their geometry: Gram entries and orientations (once per
        graph, node, k and group)."""
        key = ("k-body tuples", i, k, so3)
        if key not in g.memo:
            g.memo[key] = KBody._geometry(g, i, k, so3)
        return g.memo[key]

    @staticmethod
    def _geometry(g: Exact, i: int, k: int, so3: bool) -> list[tuple[tuple[int, ...], Hashable]]:
        vecs, gram = g.local(i)
        signs = g.signs(i) if so3 and k >= 4 else None
        slots = range(k - 1)
        pairs = [(x, y) for x in slots for y in slots if x <= y]
        triples = list(combinations(slots, 3)) if signs else []
        return [(tuple(g.nbrs[i][p] for p in t),
                 (tuple(gram[t[x]][t[y]] for x, y in pairs), tuple(_orientation(signs, *(t[s] for s in xyz))
                                                                  for xyz in triples)))
                for t in product(range(len(vecs)), repeat=k - 1)]

    def step(self, colours: Colours) -> list[list[Hashable]]:
        keys = []
        for tuples, c in zip(self.tuples, colours):
            self.budget.spend(sum(len(t) for t in tuples))
            keys.append([(c[i], frozenset(Counter((tuple(c[j] for j in nodes), geometry)
                                                  for nodes, geometry in tuples[i]).items()))
                         for i in range(len(c))])
        return keys


def _orientation(signs: dict[tuple[int, int, int], int], p: int, q: int, r: int) -> int:
    """The sign of ``det(u_p, u_q, u_r)`` from the signs of sorted triples (0 when an index repeats)."""
    if p == q or q == r or p == r:
        return 0
    s = 1
    if p > q:
        p, q, s = q, p, -s
    if q > r:
        q, r, s = r, q, -s
    if p > q:
        p, q, s = q, p, -s
    return s * signs[p, q, r]


def igwl_step(graphs: Sequence[Exact], colours: Colours, so3: bool, budget: Budget) -> list[list[int]]:
    """IGWL: the class of each node's coloured neighbourhood up to the group, as an index shared by both graphs.

    Nodes are compared with one representative per class (congruence is an equivalence relation), after a cheap
    invariant (:meth:`Exact.shell`) has ruled out most candidates.
    """
    reps: dict[Hashable, list[tuple[Exact, Sequence[int], int, int]]] = {}
    classes = 0
    out = []
    for g, c in zip(graphs, colours):
        row = []
        for i in range(g.n):
            candidates = reps.setdefault(g.shell(i, c), [])
            for h, hc, j, cls in candidates:
                budget.spend(1 + len(g.nbrs[i]) ** 2)
                if _same_neighbourhood(g, c, i, h, hc, j, so3):
                    row.append(cls)
                    break
            else:
                candidates.append((g, c, i, classes))
                row.append(classes)
                classes += 1
        out.append(row)
    return out


def _same_neighbourhood(g1: Exact, c1: Sequence[int], i: int, g2: Exact, c2: Sequence[int], j: int,
                        so3: bool) -> bool:
    """Whether a map of the group takes ``i``'s coloured neighbourhood onto ``j``'s (equal centre colours)."""
    vecs1, gram1 = g1.local(i)
    vecs2, gram2 = g2.local(j)
    if c1[i] != c2[j] or len(vecs1) != len(vecs2):
        return False
    labels1 = [c1[x] for x in g1.nbrs[i]]
    labels2 = [c2[x] for x in g2.nbrs[j]]
    return match(g1.field, vecs1, labels1, gram1, vecs2, labels2, gram2, so3) is not None


# -- the iteration-1 information, as public functions --------------------------------------------------------------


def k_body_multisets(a: ExactGraph | Data, b: ExactGraph | Data, k: int,
                     group: str = "O(3)") -> tuple[Counter, Counter]:
    """The iteration-1 information of IGWL_(k) on both graphs, exactly.

    Parameters
    ----------
    a, b : ExactGraph or Data
        The two graphs.
    k : int
        Body order, 2 to 5: each node sees all ordered (k-1)-tuples of its neighbours, repetition allowed.
    group : "O(3)" or "SO(3)"
        Under SO(3) each tuple's class also records the signs of its triple products (its handedness).

    Returns
    -------
    (Counter, Counter)
        For each graph, the multiset over nodes of ``(node type, frozenset of (tuple class, count))``. IGWL_(k)
        separates the graphs at iteration 1 exactly when the two differ (given equal node types).

    Examples
    --------
    >>> from counterexamples import load
    >>> pair = load("bodyorder", body=2)   # same distances, different angles
    >>> [k_body_multisets(pair.exact_a, pair.exact_b, k)[0] == k_body_multisets(pair.exact_a, pair.exact_b, k)[1]
    ...  for k in (2, 3)]
    [True, False]
    """
    if not isinstance(k, int) or not 2 <= k <= MAX_BODY:
        raise ValueError(f"k_body_multisets: k must be an integer from 2 to {MAX_BODY}, got {k!r}. "
                         "Fix: the body order of one of the tests igwl-2 .. igwl-5.")
    so3 = check_group(group)
    graphs = exact_pair(a, b)
    keys = KBody(graphs, k, so3, Budget(None)).step([g.types for g in graphs])
    return Counter(keys[0]), Counter(keys[1])


def neighbourhood_counts(a: ExactGraph | Data, b: ExactGraph | Data, group: str = "O(3)") -> list[tuple[int, int]]:
    """The iteration-1 information of IGWL and GWL: how many nodes of ``a`` and of ``b`` fall in each class.

    Two nodes are in one class when a map of the group takes one's neighbourhood onto the other's: same node type,
    and a bijection of neighbours preserving types and all inner products of the vectors ``x_j - x_i`` (plus
    handedness under SO(3)). Returns ``[(count in a, count in b), ...]``, one entry per class; IGWL and GWL
    separate at iteration 1 exactly when some entry has unequal counts (given equal node types).
    """
    so3 = check_group(group)
    graphs = exact_pair(a, b)
    classes = igwl_step(graphs, [g.types for g in graphs], so3, Budget(None))
    ca, cb = Counter(classes[0]), Counter(classes[1])
    return [(ca[c], cb[c]) for c in sorted(set(ca) | set(cb))]
