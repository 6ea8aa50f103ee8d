"""sverdlov_dym: Sverdlov and Dym's pairs: the "hard" pair (two centrally symmetric 6-point clouds on complete
graphs) and the sparse "pair A" and "pair B" (planar paths of 14 nodes, alone or with the edges of a graph power)."""

from __future__ import annotations

import sympy

from counterexamples.pair import ExactGraph, Pair, TESTS, claims, complete
from counterexamples.registry import family

__all__ = ["sverdlov_dym", "SCALE", "VARIANTS", "POWERS", "CHAIN", "DRAWS", "ANGLE", "SIN_82"]


#: The paper's coordinates are scaled by 1/3 (a similarity: no test's verdict changes) so that the longest edge,
#: 13.2 in the paper, becomes 4.4: the library keeps edges within the zoo models' radial cutoff.
SCALE = sympy.Rational(1, 3)

#: The variants: the complete-graph "hard" pair and the two sparse pairs.
VARIANTS = ("hard", "pair_a", "pair_b")
#: The graph powers a sparse pair can carry: 1 is the path itself, p adds an edge between nodes p or fewer apart.
POWERS = (1, 2, 3)
#: Chain length of the sparse pairs: their experiments use k = 12 ("12-chain graphs"), k + 2 = 14 nodes.
CHAIN = 12

#: The random draws of the sparse pairs, as exact data (never drawn at import or run time). Sverdlov and Dym seed
#: torch's default CPU generator (``torch.manual_seed(0)`` for pair A, ``torch.manual_seed(1)`` for pair B) and
#: draw ``torch.rand(3)`` once per chain step, 12 times. A float32 from ``torch.rand`` is an integer over 2**24,
#: so each triple below is ``torch.rand(3) * 2**24``, exactly, as printed by torch 2.13 (CPU; re-derive them with
#: ``torch.Generator().manual_seed(seed)``, which gives the same stream). Only the first two entries of each
#: triple are used: their code multiplies the draw by ``[1, 1, 0]``; the third is kept so the stream reads as drawn.
DRAWS: dict[str, tuple[tuple[int, int, int], ...]] = {
    "pair_a": ((8325804, 12888623, 1484405), (2215104, 5157699, 10638075), (8222403, 15039847, 7644169),
               (10608339, 5853461, 6739698), (374564, 2832983, 4930630), (8699352, 11704920, 13421964),
               (2701626, 4735681, 11435494), (15354407, 6662231, 14665902), (7036504, 9276241, 15984293),
               (606745, 3107661, 6264904), (5118729, 15636372, 2951283), (4527056, 2527987, 532165)),
    "pair_b": ((12710949, 4686059, 6762380), (12325960, 491263, 13419401), (6662859, 12656261, 9554767),
               (7361472, 10715280, 8802433), (11452364, 5119559, 7777005), (7633404, 9604486, 8355097),
               (15721650, 10999060, 5264638), (3322213, 6982546, 4770260), (5700491, 8790268, 13389290),
               (12948124, 188317, 13588878), (10732082, 16345668, 13925591), (745431, 412649, 4342513)),
}
#: Pair A's turn of its last edge, in degrees: ``torch.randint(low=180, high=270, size=(1,))`` on the same
#: generator (seed 0), after the 12 draws above, gives 262.
ANGLE = 262

_C82 = sympy.cos(41 * sympy.pi / 90)   # cos 82 degrees; cos 262 = -cos 82 and sin 262 = -sin 82
#: ``sin 82°`` as a polynomial in ``cos 82°``, exactly: ``sin 82° = cos 8° = cos(44 * 82°) = T_44(cos 82°)`` (44 * 82
#: = 3608 = 10 * 360 + 8), reduced modulo the minimal polynomial of ``cos 82°`` (degree 24). Written with ``sin``,
#: the coordinates would carry two trigonometric atoms, and sympy's primitive element of ``Q(cos 82°, sin 82°)``
#: (a field of degree 24 that ``cos 82°`` alone generates) is slow to find; with one atom the field is ``Q(cos 82°)``.
SIN_82 = sum(c * _C82 ** e for c, e in ((-32768, 16), (139264, 14), (-241664, 12), (219648, 10), (-111360, 8),
                                        (30912, 6), (-4256, 4), (226, 2), (-2, 0)))


def _cloud(flip: bool) -> ExactGraph:
    """Three antipodal pairs ``+-p``; ``flip`` mirrors the first pair in the xy-plane (z -> -z)."""
    r = sympy.Rational
    angle = 2 * sympy.pi / 5
    first = [0, r(11, 10), -r(11, 5) if flip else r(11, 5)]      # 1.1 (cos, sin)(pi/2), +-2.2
    second = [r(33, 5) * sympy.cos(angle), r(33, 5) * sympy.sin(angle), 0]   # 6.6 (cos, sin)(2 pi/5), 0
    third = [-r(33, 10), 0, r(22, 5)]                               # 3.3 (cos, sin)(pi), 4.4
    points = [[SCALE * x for x in q] for p in (first, second, third) for q in (p, [-x for x in p])]
    return complete(points)


def _sparse(variant: str, power: int) -> tuple[ExactGraph, ExactGraph]:
    """Pair A or B: a chain of 12 points from the stored draws, then the before-last and last nodes."""
    r = sympy.Rational
    scale = 1 if variant == "pair_a" else r(1, 2)
    x, y, chain = r(0), r(0), []
    for u, v, _ in DRAWS[variant]:   # step (rand_x + 0.3, rand_y - 0.4, 0), times the scale
        x, y = x + (r(u, 2**24) + r(3, 10)) * scale, y + (r(v, 2**24) - r(2, 5)) * scale
        chain.append((x, y))
    before = ((x + r(3, 4)) * scale, y * scale)      # pair B: x and y already scaled, scaled again (their code)
    last = ((x + 1) * scale, (y + r(3, 10)) * scale)
    if variant == "pair_a":   # the last edge turned by 262 degrees about the before-last node
        cos, sin = -_C82, -SIN_82
        dx, dy = last[0] - before[0], last[1] - before[1]
        other = (before[0] + cos * dx - sin * dy, before[1] + sin * dx + cos * dy)
    else:                     # the last edge mirrored
        other = ((x + 1) * scale, (y - r(3, 10)) * scale)
    n = CHAIN + 2
    edges = [(i, j) for i in range(n) for j in range(i + 1, min(n, i + power + 1))]
    points = [(*p, 0) for p in (*chain, before)]
    return (ExactGraph([*points, (*last, 0)], edges, [0] * n), ExactGraph([*points, (*other, 0)], edges, [0] * n))


def _parse(variant: object, power: object) -> tuple[str, int]:
    """Check the arguments; a variant may carry its power as a suffix (``"pair_a-power2"``, the pair's name)."""
    if isinstance(variant, str) and "-power" in variant:
        variant, _, suffix = variant.partition("-power")
        if power != 1:
            raise ValueError(f"sverdlov_dym: the power is given twice ({variant}-power{suffix} and power={power!r}). "
                             f"Fix: sverdlov_dym({variant!r}, power={suffix}).")
        power = int(suffix) if suffix.isdigit() else suffix
    if variant not in VARIANTS:
        raise ValueError(f"sverdlov_dym: unknown variant {variant!r}. Fix: one of {list(VARIANTS)}.")
    if isinstance(power, bool) or not isinstance(power, int) or power not in POWERS:
        raise ValueError(f"sverdlov_dym: power must be an integer in {list(POWERS)}, got {power!r}. "
                         "Fix: power=1 (the path) or power=2 or 3 (its graph power).")
    if variant == "hard" and power != 1:
        raise ValueError(f"sverdlov_dym: the hard pair is a complete graph; its powers are itself (power={power}). "
                         "Fix: power=1, or variant 'pair_a' or 'pair_b'.")
    return variant, power


_SPARSE_CLAIMS = {1: claims({t: (None if t in ("wl", "igwl-2") else 1) for t in TESTS}),
                  2: claims({t: (None if t == "wl" else 1) for t in TESTS}),
                  3: claims({t: (None if t == "wl" else 1) for t in TESTS})}


@family("sverdlov_dym", defaults=[{"variant": "hard"}, {"variant": "pair_a"}, {"variant": "pair_a", "power": 2},
                                  {"variant": "pair_b"}, {"variant": "pair_b", "power": 2}])
def sverdlov_dym(variant: str = "hard", power: int = 1) -> Pair:
    """Sverdlov and Dym's pairs: the "hard" pair (6 points on a complete graph, the clouds differing in one antipodal
    pair), and the sparse pairs A and B (paths of 14 nodes that differ in the last node), with ``power`` 2 or 3 the
    path's graph power (an edge between nodes at most ``power`` apart on the path).

    Names: ``sverdlov_dym-hard``, ``sverdlov_dym-pair_a``, ``sverdlov_dym-pair_b`` at power 1, and
    ``sverdlov_dym-pair_a-power2`` and the like above (``sverdlov_dym("pair_a-power2")`` is the same pair, so every
    name loads with :func:`counterexamples.load`). Defaults: hard, pair_a and pair_b at powers 1 and 2.

    **Hard pair.** Each cloud is three antipodal pairs ``+-p_1, +-p_2, +-p_3`` (nodes ``2k, 2k+1`` are ``p_k,
    -p_k``), every pair of points an edge, one node type: ``p_2 = 6.6 (cos 2pi/5, sin 2pi/5, 0)`` and
    ``p_3 = 3.3 (cos pi, sin pi, 4/3)`` in both, ``p_1 = 1.1 (cos pi/2, sin pi/2, 2)`` in ``a`` and the same with
    ``z`` negated in ``b``. Exact: the decimals are the rationals 11/10, 33/5, ... and ``cos, sin (2 pi/5)`` are
    radicals. The radii are ``1.1 sqrt 5``, 6.6 and 5.5; the library scales all by :data:`SCALE` = 1/3. Claims:

    * WL never separates (two complete graphs on 6 nodes).
    * IGWL_(2) never separates. At iteration 1: ``|p_1 - q|^2 = |p_1|^2 + |q|^2 - 2 p_1.q``, and flipping ``p_1``
      keeps ``p_1.q`` for ``q = +-p_2`` (in the plane z = 0) and negates it for ``q = +-p_3``, which only swaps the
      distances from ``q`` to ``p_1`` and to ``-p_1``: every node sees the same multiset of distances. So
      distance-only models (SchNet, the "vanilla" DisGNN) cannot tell them apart. Certified by exact refinement:
      equal colours at iteration 1, and the partition is then stable.
    * IGWL_(3) and above (IGWL_(4), IGWL_(5), IGWL, GWL) separate at iteration 1: a node's ordered pairs of
      neighbours give its triangles, whose multisets differ. Under O(3) and SO(3) alike.
    * Not congruent (certified).

    **Sparse pairs A and B** (``k = 12``, their experiments' "12-chain graphs"). Nodes ``0 .. 11`` are a chain in
    the plane z = 0, node ``i - 1`` at ``p_i = p_{i-1} + s (r_x + 0.3, r_y - 0.4, 0)`` (``p_0 = 0``, no node), with
    ``(r_x, r_y)`` the stored uniform draws :data:`DRAWS` (integers over 2**24) and ``s`` the scale, 1 for A and 1/2
    for B. With
    ``(x, y, 0) = p_12``: node 12 (before-last) is ``s (x + 0.75, y, 0)`` and node 13 (last) is ``s (x + 1, y + 0.3,
    0)`` in ``a``. In ``b`` the last node differs only: for A, ``a``'s last edge turned about node 12 by
    :data:`ANGLE` = 262 degrees in the plane; for B, ``s (x + 1, y - 0.3, 0)`` (the last edge mirrored in the line
    through node 12 parallel to the x-axis). Edges: the path ``0 - 1 - ... - 13``, plus, at power p, every pair of
    nodes at most p apart on it; one node type. Two quirks of their code, kept: for B, ``x`` and ``y`` (already
    scaled) are scaled by 1/2 again in nodes 12 and 13, so node 12 lies far from node 11 (every edge of both pairs
    at every power is shorter than 2.6, within the zoo's cutoffs: no scaling; tested); and their chain is a
    float32 cumulative sum, which differs from the exact sums here by float32 rounding (under 1e-5 on the chain,
    tested), as do their float32 0.3, 0.4 and cos/sin of 262 degrees. Here everything is exact: rationals, and
    ``cos 262° = -cos 82°``, ``sin 262° = -sin 82°`` with ``sin 82°`` the polynomial :data:`SIN_82` in ``cos 82°``.
    Claims (the same for A and B, and under O(3) and SO(3): the graphs are planar, so a reflection acts on them as
    a rotation by pi about an in-plane axis and SO(3) sees no more than O(3)):

    * WL never separates: ``a`` and ``b`` are the same graph (a path or its power), one node type.
    * Power 1: IGWL_(2) never separates. The identity maps the path of ``a`` onto the path of ``b`` with every edge
      length kept: the chain and node 12 are shared, and the last edge is turned or mirrored about node 12, which
      keeps its length. IGWL_(2) colours a node by its type and the multiset of (distance, colour) over its
      neighbours, so by induction node i has the same colour in ``a`` and ``b`` at every iteration. Distance-only
      models (SchNet, E-GNN's and TFN's first layer) cannot tell them apart on the path; this is their point.
    * Power 1: IGWL_(3) and above separate at iteration 1: the angle at node 12 between its edges to nodes 11 and 13
      differs. With ``u`` = node 11 - node 12 and ``v`` = node 13 - node 12: for A, ``u = (-3/4, 0, 0)``, ``v_a =
      (1/4, 3/10, 0)`` and ``u.v_a = -3/16``, while ``u.v_b = -(3/16) cos 262° + (9/40) sin 262°``, about -0.197;
      for B, mirroring negates v's y-component, so ``u.v_a - u.v_b = (3/10) u_y = (3/20) y``, non-zero (``y`` =
      0.19 is the chain's end height). Node 12's triangle multiset differs, and with it the colour multisets.
    * Powers 2 and 3: IGWL_(2) (and so every test above it) separates at iteration 1: nodes 11 and 13 are now
      adjacent, and ``|node 13 - node 11|^2 = |u|^2 + |v|^2 - 2 u.v`` differs with ``u.v``. A distance-only model
      separates them on the graph's second power.
    * Not congruent (certified), at every power.

    Every claim is certified exactly by :func:`counterexamples.certify.certify` and agrees with exact ``dojo.gwl``
    runs (tests/test_literature.py).

    Reference: Sverdlov and Dym, "On the Expressive Power of Sparse Geometric MPNNs" (arXiv 2407.02025). Their code
    (github.com/yonatansverdlov/E-GenNet, data_creation/data_utils.py): ``create_hard`` for the hard pair, whose
    floats are ``6.6 (cos, sin)(2 pi/5)`` and the like, written here exactly; ``create_pair_A(k)`` and
    ``create_pair_B(k)`` for the sparse pairs, with ``k = 12`` as in their k_chain_exps.py; reimplemented here in
    exact arithmetic from the stored draws (no random numbers are drawn here).

    Examples
    --------
    >>> pair = sverdlov_dym()
    >>> pair.claim("igwl-2"), pair.claim("igwl-3"), pair.exact_a.num_nodes
    (None, 1, 6)
    >>> [sverdlov_dym("pair_a", power=p).claim("igwl-2") for p in (1, 2)], sverdlov_dym("pair_b").exact_a.num_nodes
    ([None, 1], 14)
    """
    variant, power = _parse(variant, power)
    suffix = "" if power == 1 else f"-power{power}"
    common = dict(name=f"sverdlov_dym-{variant}{suffix}", family="sverdlov_dym",
                  params={"variant": variant, "power": power}, task="invariant")
    if variant == "hard":
        return Pair(
            **common,
            description="6 points on a complete graph, three antipodal pairs, one pair mirrored: equal distance-WL "
                        "colours, different angles",
            reference="Sverdlov & Dym, arXiv 2407.02025, the 'hard' pair; coordinates from github.com/yonatansverdlov/"
                      "E-GenNet data_creation/data_utils.py (create_hard), in exact arithmetic, scaled by 1/3",
            exact_a=_cloud(flip=False),
            exact_b=_cloud(flip=True),
            claims=claims({t: (None if t in ("wl", "igwl-2") else 1) for t in TESTS}),
        )
    a, b = _sparse(variant, power)
    letter, how = (("A", "turned by 262 degrees") if variant == "pair_a" else ("B", "mirrored"))
    graph = "path" if power == 1 else f"path's power {power}"
    return Pair(
        **common,
        description=f"pair {letter}: a planar 12-chain path of 14 nodes, the last edge {how} in b; on the {graph}",
        reference=f"Sverdlov & Dym, arXiv 2407.02025, pair {letter}; github.com/yonatansverdlov/E-GenNet "
                  f"data_creation/data_utils.py (create_pair_{letter}(12)), exact, from their seeded draws",
        exact_a=a,
        exact_b=b,
        claims=_SPARSE_CLAIMS[power],
    )
