"""What a search found: each confirmed pair (:class:`Found`) and the run's counts and rates (:class:`SearchReport`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from counterexamples.pair import ExactGraph, Pair

__all__ = ["Found", "SearchReport"]


@dataclass(frozen=True, eq=False)
class Found:
    """One pair the weaker test never separates and the stronger does, confirmed in exact arithmetic.

    ``vertices_a`` and ``vertices_b`` index the point set ``source``; ``stronger_iteration`` is the first iteration
    at which the stronger test separates the pair (exact). ``pair`` is the certified pair (``None`` when
    certification failed: ``problem`` says why), ``path`` the pair file written (``None`` when nothing was written:
    no ``out``, not certified, or ``problem`` says why), ``library`` the name of the library pair it equals up to
    congruence and scale (``None``: new).
    """

    name: str
    source: str
    vertices_a: tuple[int, ...]
    vertices_b: tuple[int, ...]
    exact_a: ExactGraph
    exact_b: ExactGraph
    stronger_iteration: int
    pair: Pair | None
    problem: str | None
    path: Path | None
    library: str | None

    @property
    def certified(self) -> bool:
        return self.pair is not None

    @property
    def nodes(self) -> int:
        return self.exact_a.num_nodes


@dataclass
class SearchReport:
    """What a :func:`search` did and found.

    Counts: ``subsets`` enumerated, ``tried`` float comparisons of two graphs (weaker or stronger test),
    ``screened`` candidate pairs that passed the float screen, ``duplicates`` confirmed candidates equal (up to
    congruence and scale) to a pair found earlier in the search, from another point set or size, and not counted
    again; ``found`` pairs confirmed by both tests in exact arithmetic, ``certified`` found pairs that
    :func:`~counterexamples.certify.certify` accepts (those are written).
    ``stopped`` says why the search ended early (``"limit"``, ``"seconds"``) or is ``None`` when it covered
    everything; ``skipped`` lists (point set, size) combinations with more than :data:`MAX_SUBSETS` subsets.
    """

    weaker: str
    stronger: str
    kind: str
    group: str
    subsets: int = 0
    tried: int = 0
    screened: int = 0
    duplicates: int = 0
    elapsed: float = 0.0
    results: list[Found] = field(default_factory=list)
    skipped: list[tuple[str, int]] = field(default_factory=list)
    stopped: str | None = None

    @property
    def found(self) -> int:
        """Pairs confirmed by both tests in exact arithmetic."""
        return len(self.results)

    @property
    def certified(self) -> int:
        """Found pairs that certification accepts."""
        return len(self.pairs)

    @property
    def pairs(self) -> list[Pair]:
        """The certified pairs."""
        return [f.pair for f in self.results if f.pair is not None]

    @property
    def paths(self) -> list[Path]:
        """The pair files written."""
        return [f.path for f in self.results if f.path is not None]

    @property
    def new(self) -> list[Found]:
        """Found pairs that the library does not have."""
        return [f for f in self.results if f.library is None]

    def per_minute(self) -> dict[str, float]:
        """Candidates tried, found and certified per minute of wall time."""
        minutes = max(self.elapsed, 1e-9) / 60
        return {"tried": self.tried / minutes, "found": self.found / minutes, "certified": self.certified / minutes}

    def table(self) -> list[list[str]]:
        """One row per found pair: name, nodes, source and vertices, iterations, certified, novelty, file."""
        return [[f.name, str(f.nodes), f"{f.source} {list(f.vertices_a)} / {list(f.vertices_b)}", "never",
                 str(f.stronger_iteration), "yes" if f.certified else f"no: {f.problem}",
                 f.library or "new", str(f.path) if f.path else (f.problem if f.certified and f.problem else "-")]
                for f in self.results]

    def summary(self) -> str:
        """One line: the setting, the counts and the rates."""
        rate = self.per_minute()
        end = {None: "complete", "limit": "stopped at the limit", "seconds": "stopped at the time limit"}[self.stopped]
        return (f"{self.weaker} vs {self.stronger} [{self.group}], {self.kind} graphs: {self.subsets} subsets, "
                f"{self.tried} tried, {self.screened} screened, {self.duplicates} duplicates, {self.found} found, "
                f"{self.certified} certified, {len(self.new)} new, in {self.elapsed:.1f} s ({rate['tried']:.0f} "
                f"tried, {rate['found']:.1f} found, {rate['certified']:.1f} certified per minute; {end})")
