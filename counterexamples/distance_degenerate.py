"""distance_degenerate: complete graphs on vertex subsets of symmetric solids with equal distance-WL colours."""

from __future__ import annotations

import sympy

from counterexamples.pair import Pair, TESTS, claims, complete
from counterexamples.platonic import INV_PHI, PHI
from counterexamples.registry import family

__all__ = ["distance_degenerate", "SOURCES", "VARIANTS"]

#: The cube as Li et al. order it: (1,1,1), then one, two and three minus signs.
_CUBE = [[1, 1, 1], [1, 1, -1], [1, -1, 1], [-1, 1, 1], [-1, 1, -1], [-1, -1, 1], [1, -1, -1], [-1, -1, -1]]
#: Free relative size of the second solid in the two-solid point sets (Li et al. draw it at random in [0.1, 10];
#: the degeneracy holds for every value): a rational, so the coordinates stay simple.
_SIZE = sympy.Integer(2)

#: The point sets the pairs are sampled from, vertex order as in Li et al.'s code (indices below refer to it).
SOURCES: dict[str, list[list[sympy.Expr]]] = {
    # regular dodecahedron: (0, +-phi, +-1/phi) and cyclic shifts, then the cube (Li et al., reg_12.py)
    "dodecahedron": [[0, PHI, INV_PHI], [0, -PHI, INV_PHI], [0, -PHI, -INV_PHI], [0, PHI, -INV_PHI],
                     [INV_PHI, 0, PHI], [-INV_PHI, 0, PHI], [-INV_PHI, 0, -PHI], [INV_PHI, 0, -PHI],
                     [PHI, INV_PHI, 0], [-PHI, INV_PHI, 0], [-PHI, -INV_PHI, 0], [PHI, -INV_PHI, 0], *_CUBE],
    # regular icosahedron: Li et al.'s (+-m, 0, +-n) ... with n / m = phi, scaled to m = 1 (reg_20.py)
    "icosahedron": [[1, 0, PHI], [1, 0, -PHI], [-1, 0, -PHI], [-1, 0, PHI], [0, PHI, 1], [0, -PHI, 1],
                    [0, -PHI, -1], [0, PHI, -1], [PHI, 1, 0], [-PHI, 1, 0], [-PHI, -1, 0], [PHI, -1, 0]],
    # cube of side 2 plus a regular octahedron of circumradius _SIZE (cube_reg_8.py)
    "cube_octahedron": [*_CUBE, [_SIZE, 0, 0], [-_SIZE, 0, 0], [0, _SIZE, 0], [0, -_SIZE, 0], [0, 0, _SIZE],
                        [0, 0, -_SIZE]],
    # cube of side 2 plus a cube of side 2 * _SIZE turned by 45 degrees about z (cube_cube.py)
    "two_cubes": [*_CUBE, *([x * sympy.sqrt(2) * _SIZE, y * sympy.sqrt(2) * _SIZE, z * _SIZE]
                            for x, y, z in [(1, 0, 1), (1, 0, -1), (-1, 0, 1), (-1, 0, -1),
                                            (0, 1, 1), (0, 1, -1), (0, -1, 1), (0, -1, -1)])],
}

#: Each pair: (point set, the vertices of a, the vertices of b), as Li et al.'s 0/1 sampling policies.
VARIANTS: dict[str, tuple[str, str, str]] = {
    "dodecahedron6": ("dodecahedron", "11110000101000000000", "11111010000000000000"),
    "dodecahedron8": ("dodecahedron", "11111010000010000001", "11110000101010000001"),
    "dodecahedron10a": ("dodecahedron", "00000101111101010110", "00001111010100111010"),
    "dodecahedron10b": ("dodecahedron", "11111010101001000100", "11111010101000101000"),
    "dodecahedron12": ("dodecahedron", "00000101111101111110", "00001111010101111110"),
    "dodecahedron14": ("dodecahedron", "00001111010111111111", "00000101111111111111"),
    "icosahedron6": ("icosahedron", "101001010101", "010110101010"),
    "cube_octahedron6": ("cube_octahedron", "01010110001100", "01010110000011"),
    "cube_octahedron8": ("cube_octahedron", "10101001110011", "10101001111100"),
    "two_cubes8": ("two_cubes", "0101011000001111", "0011101000001111"),
}


@family("distance_degenerate", defaults=[{"variant": v} for v in ("dodecahedron6", "icosahedron6",
                                                                    "cube_octahedron6")])
def distance_degenerate(variant: str = "dodecahedron6") -> Pair:
    """Two point clouds on complete graphs that distance-WL (IGWL_(2)) never separates, though not congruent.

    Geometry: Li et al. sample both clouds from the vertices of one symmetric point set -- a regular dodecahedron,
    a regular icosahedron, a cube plus a regular octahedron, or two cubes (the second turned by 45 degrees about
    z) -- by 0/1 policies over its vertices (:data:`VARIANTS`, vertex order of :data:`SOURCES`). Every pair of
    points is an edge, one node type. Coordinates are exact: the golden ratio ``phi`` as ``(1 + sqrt 5) / 2`` and its
    inverse as ``(sqrt 5 - 1) / 2``; the second solid of the two-solid sets has the relative size 2 (Li et al.
    draw it at random, the degeneracy holding for every size).

    Claims (every variant; certified exactly by :func:`counterexamples.certify.certify`; also exact ``dojo.gwl``
    runs):

    * WL never separates: two complete graphs of the same size.
    * IGWL_(2) never separates (under O(3) and SO(3)): on a complete graph it is Li et al.'s distance colour
      refinement (their "vanilla DisGNN"/CR-E), which they show stabilises with equal colour histograms on these
      pairs. Certified by exact refinement: equal colours at iteration 1, and the partition is then stable.
    * Every test that sees angles separates at iteration 1: in a complete graph a node's ordered pairs of
      neighbours give the triangles through it, and the multisets of triangles already differ (IGWL_(3), hence
      IGWL_(4), IGWL_(5), IGWL and GWL).
    * Not congruent, under either group (certified).

    Reference: Li, Wang, Huang, Zhang, "Is Distance Matrix Enough for Geometric Deep Learning?", NeurIPS 2023,
    arXiv 2302.05743 (their counterexamples sampled from regular polyhedra); the point sets and sampling
    policies are those of their code (github.com/GraphPKU/DisGNN, counterexamples/utils/reg_12.py, reg_20.py,
    cube_reg_8.py, cube_cube.py), written here in exact arithmetic. Their ``two cubes`` pair has 8 points per cloud
    (its comment says 6).

    Examples
    --------
    >>> pair = distance_degenerate("icosahedron6")
    >>> pair.claim("igwl-2"), pair.claim("igwl-3"), pair.exact_a.num_nodes
    (None, 1, 6)
    """
    if variant not in VARIANTS:
        raise ValueError(f"distance_degenerate: unknown variant {variant!r}. Fix: one of {sorted(VARIANTS)}.")
    source, policy_a, policy_b = VARIANTS[variant]
    points = SOURCES[source]
    a = complete([p for p, bit in zip(points, policy_a) if bit == "1"])
    b = complete([p for p, bit in zip(points, policy_b) if bit == "1"])
    return Pair(
        name=f"distance_degenerate-{variant}",
        family="distance_degenerate",
        params={"variant": variant},
        description=f"{a.num_nodes} vertices of the {source.replace('_', ' + ')} twice, on complete graphs: equal "
                    "distance-WL colours, not congruent",
        reference="Li et al., arXiv 2302.05743 (NeurIPS 2023), counterexamples from regular polyhedra; point sets "
                  "and policies from github.com/GraphPKU/DisGNN counterexamples/utils, in exact arithmetic",
        task="invariant",
        exact_a=a,
        exact_b=b,
        claims=claims({t: (None if t in ("wl", "igwl-2") else 1) for t in TESTS}),
    )
