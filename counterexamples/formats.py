"""Pairs from the formats structures arrive in: arrays of positions, XYZ files and ASE ``Atoms``.

Each builder returns a certified :class:`~counterexamples.pair.Pair` whose claims are computed with the exact GWL
tests (:func:`counterexamples.files.pair_from_graphs`): ready for ``pair.save(...)``, :mod:`dojo.gwl`, the
protocols and tables.

What becomes exact, and how:

* :func:`from_xyz` reads the file's decimal text exactly: ``1.54`` is 154/100, the number its author wrote.
* :func:`from_arrays` and :func:`from_ase` take a float as the exact binary fraction it stores (``0.1`` is
  3602879701896397/36028797018963968), as :func:`counterexamples.certify.as_exact` does: the pair is exactly the
  float graph given. Integers stay integers; strings are read by :func:`counterexamples.expr.parse_exact`
  (``"sqrt(3)/2"``), so pass strings or sympy numbers where the intended value is not a binary fraction.

Edges come from ``edges`` (pairs of node indices) or from ``cutoff``: two nodes are joined when their distance is
at most ``cutoff``, decided exactly (so a distance equal to the cutoff is an edge; keep the cutoff away from bond
lengths when the coordinates are rounded). Periodic images are not considered. Chemical elements become node types
by atomic number among the elements of both graphs (a pair of H, C and O atoms: H 0, C 1, O 2); the pair's
``params["elements"]`` lists them in type order.

Examples
--------
>>> pair = from_arrays([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 0, 0], [1, 0, 0], [-1, 0, 0]], cutoff=1)
>>> pair.exact_a.edges, pair.exact_b.edges, pair.claim("igwl-3"), pair.claim("igwl-2")
(((0, 1), (0, 2)), ((0, 1), (0, 2)), 1, None)
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import sympy

from counterexamples.algebra import Field
from counterexamples.expr import parse_exact
from counterexamples.files import MAX_FILE_BYTES, pair_from_graphs
from counterexamples.pair import ExactGraph, Pair

__all__ = ["from_arrays", "from_xyz", "from_ase", "ELEMENTS"]

#: Chemical element symbols by atomic number (``ELEMENTS[z - 1]``).
ELEMENTS: tuple[str, ...] = tuple("""
H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr Rb Sr Y Zr Nb Mo
Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl
Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og
""".split())

_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
Edges = Sequence[Sequence[int]]


def from_arrays(pos_a: Sequence, pos_b: Sequence, *, types: Sequence[int] | None = None,
                types_b: Sequence[int] | None = None, cutoff: float | str | None = None, edges: Edges | None = None,
                edges_b: Edges | None = None, name: str = "arrays", task: str = "invariant", description: str = "",
                reference: str = "") -> Pair:
    """A pair from two ``N x 3`` arrays of positions (lists, numpy arrays or torch tensors).

    Parameters
    ----------
    pos_a, pos_b
        Positions: floats (taken as exact binary fractions), integers, sympy numbers or exact strings.
    types, types_b
        Node types of ``a`` (default all 0) and of ``b`` (default: ``types``).
    cutoff
        Join nodes at distance <= ``cutoff``. Give either this or ``edges``.
    edges, edges_b
        Undirected edges ``(i, j)`` of ``a`` and of ``b`` (default: ``edges``).
    name, task, description, reference
        As in :class:`~counterexamples.pair.Pair`.

    Raises
    ------
    ValueError
        Naming the array, row and column of a bad value, or the problem with types, edges or cutoff.
    """
    coords = [_rows(p, f"from_arrays: pos_{k}") for k, p in (("a", pos_a), ("b", pos_b))]
    chosen = [_list(types, "types") if types is not None else [0] * len(coords[0])]
    chosen.append(_list(types_b, "types_b") if types_b is not None else chosen[0])
    return _build(coords, chosen, cutoff, edges, edges_b, name=name, task=task, description=description,
                  reference=reference, family="arrays", params={}, where="from_arrays")


def from_xyz(path_a: str | os.PathLike, path_b: str | os.PathLike, *, cutoff: float | str | None = None,
             edges: Edges | None = None, edges_b: Edges | None = None, name: str | None = None,
             task: str = "invariant", description: str = "", reference: str = "") -> Pair:
    """A pair from two XYZ files (one frame each: the atom count, a comment line, then ``Symbol x y z`` per atom).

    Coordinates are read exactly as the decimals they write; element symbols become node types (module docstring);
    columns after ``z`` (extended XYZ) are ignored. ``name`` defaults to ``"<stem a>-vs-<stem b>"``; the other
    parameters are those of :func:`from_arrays`.

    Raises
    ------
    ValueError
        Naming the file and line of anything that is not XYZ: a bad count, an unknown element, a coordinate that is
        not a decimal number, missing atoms or a second frame.
    """
    atoms = [_read_xyz(p) for p in (path_a, path_b)]
    elements = _elements([s for symbols, _ in atoms for s in symbols])
    types = [[elements.index(s) for s in symbols] for symbols, _ in atoms]
    default = f"{Path(path_a).stem}-vs-{Path(path_b).stem}"
    return _build([rows for _, rows in atoms], types, cutoff, edges, edges_b, name=name or default, task=task,
                  description=description, reference=reference or f"XYZ files {path_a}, {path_b}", family="xyz",
                  params={"elements": elements}, where=f"from_xyz({path_a}, {path_b})")


def from_ase(atoms_a: object, atoms_b: object, *, cutoff: float | str | None = None, edges: Edges | None = None,
             edges_b: Edges | None = None, name: str | None = None, task: str = "invariant", description: str = "",
             reference: str = "") -> Pair:
    """A pair from two ASE ``Atoms`` (finite: no periodic boundary conditions), elements as node types.

    Positions are floats, taken as exact binary fractions. ``name`` defaults to ``"<formula a>-vs-<formula b>"``;
    the other parameters are those of :func:`from_arrays`. ASE is an optional dependency (``pip install ase``).

    Raises
    ------
    ImportError
        When ASE is not installed.
    ValueError
        For something other than ``Atoms``, or periodic ``Atoms`` (their edges would need periodic images).
    """
    try:
        from ase import Atoms
    except ImportError:
        raise ImportError("from_ase needs ASE, which is not installed. Fix: pip install ase (or pip install "
                          "'geometric-gnn-dojo[ase]'); or save the structures as XYZ and use from_xyz.") from None
    for label, atoms in (("a", atoms_a), ("b", atoms_b)):
        if not isinstance(atoms, Atoms):
            raise ValueError(f"from_ase: atoms_{label} is a {type(atoms).__name__}, not ase.Atoms. Fix: pass Atoms, "
                             "e.g. ase.io.read('mol.xyz'), or use from_arrays for plain positions.")
        if atoms.pbc.any():
            raise ValueError(f"from_ase: atoms_{label} is periodic (pbc={atoms.pbc.tolist()}); edges would need "
                             "periodic images, which pairs do not model. Fix: cut a finite cluster and call "
                             "atoms.set_pbc(False).")
    symbols = [atoms.get_chemical_symbols() for atoms in (atoms_a, atoms_b)]
    elements = _elements([s for group in symbols for s in group])
    coords = [_rows(atoms.get_positions(), f"from_ase: atoms_{label}")
              for label, atoms in (("a", atoms_a), ("b", atoms_b))]
    default = f"{atoms_a.get_chemical_formula()}-vs-{atoms_b.get_chemical_formula()}"
    return _build(coords, [[elements.index(s) for s in group] for group in symbols], cutoff, edges, edges_b,
                  name=name or default, task=task, description=description, reference=reference, family="ase",
                  params={"elements": elements}, where="from_ase")


# -- shared steps ---------------------------------------------------------------------------------------------------

def _build(coords: list[list[list[sympy.Expr]]], types: list[list[int]], cutoff: object, edges: Edges | None,
           edges_b: Edges | None, *, where: str, **meta: object) -> Pair:
    """Two exact graphs (edges given or from the cutoff), then a certified pair with computed claims."""
    if (cutoff is None) == (edges is None and edges_b is None):
        raise ValueError(f"{where}: give either cutoff (join atoms closer than it) or edges, not "
                         f"{'both' if cutoff is not None else 'neither'}. Fix: e.g. cutoff=1.6 (in the units of "
                         "the positions), or edges=[(0, 1), ...].")
    if cutoff is not None:
        limit = _exact(cutoff, f"{where}: cutoff")
        if not limit.is_positive:
            raise ValueError(f"{where}: cutoff must be positive, got {cutoff!r}.")
        try:
            chosen = [_within(rows, limit) for rows in coords]
        except ValueError as err:  # a near tie in coordinates outside any number field (e.g. pi itself)
            raise ValueError(f"{where}: cannot decide which atoms lie within the cutoff: {err}") from None
    else:
        chosen = [_list(edges, "edges") if edges is not None else [], None]
        chosen[1] = _list(edges_b, "edges_b") if edges_b is not None else chosen[0]
    graphs = []
    for label, rows, kinds, links in zip("ab", coords, types, chosen):
        if len(kinds) != len(rows):
            raise ValueError(f"{where}: graph {label} has {len(rows)} positions but {len(kinds)} types. Fix: one "
                             "type per node.")
        try:
            graphs.append(ExactGraph(sympy.Matrix(rows), [tuple(e) for e in links], kinds))
        except (ValueError, TypeError) as err:
            raise ValueError(f"{where}: graph {label}: {err}") from None
    return pair_from_graphs(*graphs, source=where, **meta)


def _rows(positions: object, where: str) -> list[list[sympy.Expr]]:
    """``positions`` as exact rows of three coordinates."""
    rows = positions.tolist() if hasattr(positions, "tolist") else positions
    if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence) or not rows:
        raise ValueError(f"{where}: expected a non-empty N x 3 array of positions, got {type(positions).__name__}.")
    exact = []
    for i, row in enumerate(rows):
        if isinstance(row, (str, bytes)) or not isinstance(row, Sequence) or len(row) != 3:
            raise ValueError(f"{where}[{i}]: expected three coordinates, got {row!r:.60}.")
        exact.append([_exact(v, f"{where}[{i}][{k}]") for k, v in enumerate(row)])
    return exact


def _exact(value: object, where: str) -> sympy.Expr:
    """One number, exactly: an integer, a float's binary fraction, a sympy number or an exact string."""
    if isinstance(value, bool):
        raise ValueError(f"{where}: expected a number, got the boolean {value}.")
    if isinstance(value, int):
        return sympy.Integer(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{where}: {value} is not a finite number. Fix: give finite coordinates.")
        return sympy.Rational(value)
    if isinstance(value, str):
        try:
            return parse_exact(value)
        except ValueError as err:
            raise ValueError(f"{where}: {err}.") from None
    if isinstance(value, sympy.Expr) and value.is_real and value.is_finite and not value.has(sympy.Float):
        return value
    raise ValueError(f"{where}: expected a finite real number (int, float, exact string or exact sympy number), got "
                     f"{type(value).__name__} {value!r:.40}.")


def _within(rows: list[list[sympy.Expr]], cutoff: sympy.Expr) -> list[tuple[int, int]]:
    """The pairs of nodes at distance <= ``cutoff``: floats decide clear cases, and a near tie is decided exactly in
    the number field of the coordinates and the cutoff (:class:`counterexamples.algebra.Field`), so that a distance
    equal to the cutoff is an edge however it is written."""
    approx = [[float(sympy.N(c, 30)) for c in row] for row in rows]
    limit = float(sympy.N(cutoff ** 2, 30))
    field = None
    edges = []
    for i in range(len(rows)):
        for j in range(i + 1, len(rows)):
            d2 = sum((x - y) ** 2 for x, y in zip(approx[i], approx[j]))
            if abs(d2 - limit) > 1e-9 * limit:
                inside = d2 < limit
            else:
                field = field or Field(extra=[*(c for row in rows for c in row), cutoff])
                offset = Field.sub(*(tuple(field.element(c) for c in rows[k]) for k in (i, j)))
                inside = field.sign(Field.dot(offset, offset) - field.element(cutoff) ** 2) <= 0
            if inside:
                edges.append((i, j))
    return edges


def _elements(symbols: list[str]) -> list[str]:
    """The distinct elements of both graphs by atomic number: their index is the node type."""
    return sorted(set(symbols), key=ELEMENTS.index)


def _list(value: object, field: str) -> list:
    """A sequence argument as a list (numpy arrays and tensors through ``tolist``)."""
    value = value.tolist() if hasattr(value, "tolist") else value
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ValueError(f"{field}: expected a sequence, got {type(value).__name__}.")
    return list(value)


def _read_xyz(path: str | os.PathLike) -> tuple[list[str], list[list[sympy.Expr]]]:
    """The element symbols and exact positions of a one-frame XYZ file."""
    try:
        if os.path.getsize(path) > MAX_FILE_BYTES:
            raise ValueError(f"{path}: larger than {MAX_FILE_BYTES} bytes. Fix: a pair holds small structures.")
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise ValueError(f"{path}: cannot read the XYZ file ({err.strerror}). Fix: check the path.") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text file. Fix: pass an XYZ file.") from None
    head = lines[0].strip() if lines else ""
    if not head.isdigit() or int(head) < 1 or len(head) > 7:
        raise ValueError(f"{path}: line 1: expected the number of atoms, got {head!r:.40}. Fix: an XYZ file starts "
                         "with the atom count, then a comment line, then one 'Symbol x y z' line per atom.")
    count = int(head)
    if len(lines) < count + 2:
        raise ValueError(f"{path}: line 1 announces {count} atoms, but the file has {max(0, len(lines) - 2)} atom "
                         "lines. Fix: correct the count.")
    if any(line.strip() for line in lines[count + 2:]):
        raise ValueError(f"{path}: line {count + 3}: more than one frame (or more atoms than line 1 announces). "
                         "Fix: one structure per file.")
    symbols, rows = [], []
    for number, line in enumerate(lines[2:count + 2], start=3):
        fields = line.split()
        if len(fields) < 4:
            raise ValueError(f"{path}: line {number}: expected 'Symbol x y z', got {line!r:.60}.")
        symbol = fields[0][:1].upper() + fields[0][1:].lower()
        if symbol not in ELEMENTS:
            raise ValueError(f"{path}: line {number}: unknown element {fields[0]!r:.20}. Fix: a chemical symbol "
                             "such as C, H, Cl.")
        for text in fields[1:4]:
            if not _DECIMAL.fullmatch(text):
                raise ValueError(f"{path}: line {number}: coordinate {text!r:.30} is not a decimal number.")
        try:
            rows.append([parse_exact(text) for text in fields[1:4]])
        except ValueError as err:
            raise ValueError(f"{path}: line {number}: {err}.") from None
        symbols.append(symbol)
    return symbols, rows
