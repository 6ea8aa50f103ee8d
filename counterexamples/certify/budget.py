"""A size budget for exact computations whose cost grows quickly with the graphs (tuples, trees, matchings)."""

from __future__ import annotations

#: Default work allowed to one exact refinement: roughly, tuples or tree nodes looked at.
BUDGET = 400_000


class OverBudget(Exception):
    """Raised inside a computation that ran out of budget; callers report the claim as unverified."""


class Budget:
    """Units of work left (``None``: no limit); :meth:`spend` raises :class:`OverBudget` when they run out."""

    def __init__(self, units: int | None) -> None:
        if units is not None and (not isinstance(units, int) or units < 0):
            raise ValueError(f"budget must be a non-negative integer or None (no limit), got {units!r}. "
                             "Fix: e.g. budget=400_000.")
        self.left = units

    def spend(self, units: int) -> None:
        if self.left is not None:
            self.left -= units
            if self.left < 0:
                raise OverBudget
