"""The certificate of a pair: every claim verified exactly, or reported as failed or as unverified.

Claims about a test under a group ("first separates at iteration t", "never separates") are decided by exact
refinement (:func:`~counterexamples.certify.refinement.separation`) up to iteration t, or until nothing can change
for "never"; when the two graphs are congruent under the group, "never" follows from the verified motion alone.
A refinement that runs out of its size budget leaves its claim unverified, and a certificate is ``ok`` only when
every check is verified.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

from counterexamples.certify.budget import BUDGET
from counterexamples.certify.exact import exact_pair
from counterexamples.certify.moments import centre, orientation_order
from counterexamples.certify.refinement import Separation, separation
from counterexamples.certify.rigid import Congruence, congruence
from counterexamples.pair import GROUPS, TESTS, ExactGraph, Pair, describe_claim

__all__ = ["Check", "Certificate", "certify"]

Status = Literal["verified", "failed", "unverified"]
_MARKS = {"verified": "ok        ", "failed": "FAIL      ", "unverified": "UNVERIFIED"}


@dataclass(frozen=True)
class Check:
    """One statement about a pair (what it claims, or what that implies), its status, and how we know.

    ``status`` is ``"verified"`` (proven exactly), ``"failed"`` (proven false) or ``"unverified"`` (not decided,
    e.g. the size budget ran out).
    """

    claim: str
    status: Status
    evidence: str

    def __post_init__(self) -> None:
        if self.status not in _MARKS:
            raise ValueError(f"Check: status must be one of {list(_MARKS)}, got {self.status!r}. "
                             "Fix: 'verified' (proven), 'failed' (disproven) or 'unverified' (not decided).")

    @property
    def holds(self) -> bool:
        """True when the statement is verified."""
        return self.status == "verified"

    def __str__(self) -> str:
        return f"{_MARKS[self.status]} {self.claim} -- {self.evidence}"


@dataclass(frozen=True)
class Certificate:
    """The checks :func:`certify` ran on one pair; ``ok`` only when every one is verified."""

    pair: str
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.status == "verified" for c in self.checks)

    def failures(self) -> list[Check]:
        """The checks proven false."""
        return [c for c in self.checks if c.status == "failed"]

    def unverified(self) -> list[Check]:
        """The checks that could not be decided (their claims may or may not hold)."""
        return [c for c in self.checks if c.status == "unverified"]

    def __str__(self) -> str:
        if self.ok:
            head = f"all {len(self.checks)} checks verified"
        else:
            head = f"NOT CERTIFIED: {len(self.failures())} failed, {len(self.unverified())} unverified"
        return "\n".join([f"certificate for {self.pair}: {head}", *(f"  {c}" for c in self.checks)])


def certify(pair: Pair, budget: int | None = BUDGET) -> Certificate:
    """Check every claim of ``pair`` exactly, without the GWL tests (``dojo.gwl``).

    * congruence under each group exactly as ``pair.congruent_under`` says (a verified motion, or none exists);
    * every (test, group) claim: under a group where the graphs are congruent, "never" is verified by the motion
      (and any iteration fails); otherwise exact refinement (:func:`~counterexamples.certify.separation`) must
      first separate at the claimed iteration, or reach a state that never changes without separating;
    * equivariant tasks: ``b`` differs from ``a`` as placed, and ``pair.orientation_order`` is the lowest degree at
      which the moments of the highest-degree node (the centre of a star) differ.

    ``budget`` bounds the work of each refinement (``None``: no bound); a claim it cannot decide within the budget
    is reported as unverified. Returns a :class:`Certificate`; ``certificate.ok`` is False, with the failing and
    unverified checks listed, unless every claim is verified.
    """
    if not isinstance(pair, Pair):
        raise ValueError(f"certify: expected a counterexamples.Pair, got {type(pair).__name__}. "
                         "Fix: build one with Pair(...) or load one with counterexamples.load(name).")
    a, b = pair.exact_a, pair.exact_b
    checks: list[Check] = []
    for group in GROUPS:
        motion = congruence(a, b, group)
        claimed = group in pair.congruent_under
        checks.append(Check(f"{'congruent' if claimed else 'not congruent'} under {group}",
                            _status((motion is not None) == claimed),
                            f"motion found: permutation {motion.permutation}, proper={motion.proper}" if motion
                            else "no permutation plus motion of the group maps a onto b"))
        checks += [_claim_check(a, b, test, group, pair.claim(test, group), motion, budget) for test in TESTS]
    if pair.task == "equivariant":
        checks += _equivariant_checks(pair)
    return Certificate(pair.name, tuple(checks))


def _claim_check(a: ExactGraph, b: ExactGraph, test: str, group: str, claim: int | None, motion: Congruence | None,
                 budget: int | None) -> Check:
    """The check of one claim: by the congruence if there is one, else by exact refinement."""
    text = f"{test} under {group} {describe_claim(claim)}"
    if motion is not None:
        return Check(text, _status(claim is None),
                     f"a and b are congruent under {group}, so no test invariant under {group} separates them")
    found = separation(a, b, test, group, max_iter=claim, budget=budget)
    if found.exhausted:
        return Check(text, "unverified", f"size budget of {budget} units spent after iteration {found.checked}, "
                                         "not separated so far: pass a larger budget to decide")
    holds = found.never if claim is None else found.iteration == claim
    return Check(text, _status(holds), _evidence(found))


def _evidence(found: Separation) -> str:
    t = found.iteration
    if t == 0:
        return "node-type multisets differ"
    if t is not None:
        return f"exact {found.test} refinement: colour multisets equal up to iteration {t - 1}, different at {t}"
    if found.stable:
        return (f"exact {found.test} refinement: equal colour multisets, and nothing changes after iteration "
                f"{found.checked}, so never")
    return f"exact {found.test} refinement: colour multisets still equal at iteration {found.checked}"


def _equivariant_checks(pair: Pair) -> list[Check]:
    """An orientation to see (``b`` moved), and the claimed orientation order from exact moments."""
    ga, gb = exact_pair(pair.exact_a, pair.exact_b)
    moved = Counter(zip(ga.types, ga.points)) != Counter(zip(gb.types, gb.points))
    checks = [Check("b is a moved copy of a (an orientation to see)", _status(moved),
                    "typed positions differ" if moved else "typed positions are identical")]
    if pair.orientation_order is not None:
        node = centre(pair.exact_a)
        order = orientation_order(pair.exact_a, pair.exact_b, node=node, max_degree=max(12, pair.orientation_order + 1))
        checks.append(Check(f"orientation order {pair.orientation_order}", _status(order == pair.orientation_order),
                            f"moments of node {node} first differ at degree {order}"))
    return checks


def _status(holds: bool) -> Status:
    return "verified" if holds else "failed"
