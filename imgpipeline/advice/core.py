"""The numbers of one applicant's advice, computed fast: what ``recommend`` and its plan read.

Everything that depends only on the published version and the rulebook (the left-out masks,
the program side of the model, states, source dates...) is prepared once per loaded version
(``prepare``, cached on the ``Published`` object per rulebook file). A profile is then read as
typed values (``applicant.applicant_values``: no frame), assessed once (``risk.assess_values``)
and scored with the profiles its plan re-runs in one pass (``score``): one ``compute_terms`` for
all of them, one ranking (``advice.lists``), and one Poisson-binomial recursion
(``outcome.RankedList``) advanced only as far as the sizes asked for. The numbers are those of
the column-wise code (``advice.model``, ``advice.lists``, ``advice.outcome``), element by
element. Imports neither Prefect, GX nor scikit-learn.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from imgpipeline.advice import lists, outcome
from imgpipeline.advice.fees import FeeSchedule, eras_schedule
from imgpipeline.advice.model import Applicants, Terms, compute_terms, sigmoid
from imgpipeline.advice.profile import ApplicantProfile, applicant_values
from imgpipeline.advice.published import Published
from imgpipeline.advice.readiness import Readiness, ReadinessRule, assess_readiness, readiness_rules
from imgpipeline.advice.risk import RiskAssessment, assess_values
from imgpipeline.settings import Settings
from imgpipeline.vocabulary import RISK_TIERS


@dataclass
class Prepared:
    """What one loaded version and one rulebook give every applicant alike."""

    data: Published
    settings: Settings                # whose rulebook these rules are (passed down the hot path)
    rules: lists.ListRules
    schedule: FeeSchedule
    readiness: tuple[ReadinessRule, ...]
    left: lists.LeftOut
    state: np.ndarray                 # (P,) state codes
    low: np.ndarray                   # (P,) the baseline at the low / high end of openness
    high: np.ndarray
    sources: dict[str, str]
    cache: dict[Any, Any] = field(default_factory=dict)   # what callers derive from the version once

    def preferred(self, codes: tuple[str, ...]) -> np.ndarray:
        """(P,) programs in the preferred states (cached per set of states)."""
        key = ("preferred", codes)
        if key not in self.cache:
            self.cache[key] = np.isin(self.state, list(codes)) if codes else np.zeros(self.data.n, dtype=bool)
        return self.cache[key]


def prepare(data: Published, settings: Settings) -> Prepared:
    """``data``'s prepared arrays for the rulebook of ``settings``, computed once per loaded
    version and rulebook content (cached on ``data`` by the rulebook's sha256: a new version is
    a new object, and settings built anew over the same rulebook reuse the arrays). The
    result carries the settings down the hot path, for their rules (the same sha256, the same
    rules)."""
    cache = data.__dict__.setdefault("_advice_prepared", {})
    key = settings.rulebook.digest
    if key not in cache:
        cache[key] = _prepare(data, settings)
    return cache[key]


def _prepare(data: Published, settings: Settings) -> Prepared:
    rules, t, c, ps = lists.list_rules(settings), data.table, data.coefficients, data.programs
    left = lists.left_out_masks(
        ps.tier_idx, t["img_share"].to_numpy(dtype=float), t["img_share_basis"].eq("stated").to_numpy(),
        t["accepting_applications"].astype("boolean").eq(False).fillna(False).to_numpy(), rules,
    )
    return Prepared(
        data=data, settings=settings, rules=rules, schedule=eras_schedule(settings), readiness=readiness_rules(settings), left=left,
        state=t["state"].astype(str).to_numpy(dtype=object),
        low=c["calibration_offset"] + ps.openness_low, high=c["calibration_offset"] + ps.openness_high,
        sources=data.source_dates(),
    )


@dataclass(frozen=True)
class Applicant:
    """One profile as the rules read it: typed values, risk, readiness (no scoring yet)."""

    profile: ApplicantProfile
    as_of_year: int | None
    row: dict[str, Any]
    assessment: RiskAssessment
    readiness: list[Readiness]


def applicant(profile: ApplicantProfile, as_of_year: int | None, prep: Prepared, like: Applicant | None = None) -> Applicant:
    """``profile`` read and assessed; ``like``: an applicant it mostly resembles (a plan's
    changed profile: its applicant), whose factors reading none of the values that differ
    are taken as they fired (``risk.assess_values``)."""
    row = applicant_values(profile, as_of_year)
    assessment = assess_values(row, settings=prep.settings, like=(like.row, like.assessment) if like is not None else None)
    return Applicant(profile, as_of_year, row, assessment, assess_readiness(row, prep.readiness))


class _Point(NamedTuple):
    """What ``lists.choose_size`` reads of an outcome (a tuple: one is made per size read)."""

    n: int
    p_match: float


class _Curve(Sequence[_Point]):
    """The outcomes at a grid of sizes (their P(match)), each computed when read
    (``lists.choose_size`` reads each point once, in order, and only as far as it needs)."""

    def __init__(self, sizes: np.ndarray, p_match: Callable[[int], float]) -> None:
        self.sizes, self._p_match = sizes.tolist(), p_match   # the sizes as ints, read one by one

    def __len__(self) -> int:
        return len(self.sizes)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        n = self.sizes[i]
        return _Point(n, self._p_match(n))


@dataclass
class Scored:
    """G applicants scored against every program at once: (G, P) arrays, each row as
    ``recommend`` computes it for that applicant alone."""

    prep: Prepared
    who: list[Applicant]
    applicants: Applicants
    terms: Terms
    logit: np.ndarray
    excluded: np.ndarray
    p: np.ndarray
    p_low: np.ndarray
    p_high: np.ndarray
    status: np.ndarray                # before sizing: candidates coded BEYOND
    preferred: np.ndarray
    order: np.ndarray                 # the ranking (lists.ranking)
    cand: list[np.ndarray]            # each row's candidates, in ranking order
    ranked: outcome.RankedList        # their chances, rows 3g..3g+2
    choices: dict[int, lists.SizeChoice] = field(default_factory=dict)
    _covers: dict[float, int] = field(default_factory=dict, repr=False)
    _eligible: list[int] | None = field(default=None, repr=False)

    def covers(self, budget: float | None) -> int | None:
        """How many programs ``budget`` pays the fees of (``FeeSchedule.covers``; None without
        a budget), worked out once per budget among these applicants (a plan's changed
        profiles keep the applicant's budget: one search, not one per row and one more for
        the fee summary)."""
        if budget is None:
            return None
        if budget not in self._covers:
            self._covers[budget] = self.prep.schedule.covers(budget)
        return self._covers[budget]

    def outcome(self, g: int, n: int) -> outcome.Outcome:
        """The outcome of applicant g's first n candidates."""
        return self.ranked.outcome(g, n)

    def release(self) -> None:
        """Drop the recursion's history once every outcome needed is read (a recommendation
        kept by an app holds its chances and terms, not the distributions after every prefix)."""
        self.ranked = None  # type: ignore[assignment]

    def choice(self, g: int) -> lists.SizeChoice:
        """Applicant g's list size (``lists.choose_size`` over the size grid, read lazily)."""
        if g not in self.choices:
            rules, budget = self.prep.rules, self.who[g].profile.budget_usd
            grid = lists.size_grid(len(self.cand[g]), rules)
            covers = self.covers(budget)
            if len(grid) == 0:
                self.choices[g] = lists.SizeChoice(0, "no program qualifies", False)
            else:
                self.choices[g] = lists.choose_size(_Curve(grid, functools.partial(self.ranked.p_match, g)), rules, covers)
        return self.choices[g]

    def eligible(self, g: int) -> int:
        """Programs open to applicant g (not excluded): every row's counted at once, when first
        asked (a plan reads them row by row, several times)."""
        if self._eligible is None:
            self._eligible = (self.prep.data.n - self.excluded.sum(axis=1)).tolist()
        return self._eligible[g]

    def list_order(self, g: int) -> np.ndarray:
        """Applicant g's candidates as ``plan.candidate_chances`` orders them: the list by rank,
        then the rest by the ranking key recomputed from P(interview), ties as in all_programs."""
        cand, n = self.cand[g], self.choice(g).n
        rest = cand[n:]
        key = lists.key_from_chance(self.p[g, rest], self.preferred[g, rest], self.prep.rules.preferred_state_log_odds)
        return np.concatenate([cand[:n], rest[np.lexsort((rest, -self.p[g, rest], -key))]])

    def outcome_down(self, g: int, m: int) -> outcome.Outcome | None:
        """``plan.outcome_at``: the first m programs of ``list_order`` (fewer if fewer qualify)."""
        m = min(m, len(self.cand[g]))
        if m <= 0:
            return None
        if m <= self.choice(g).n:
            return self.outcome(g, m)                      # within the list: its ranking
        order = self.list_order(g)
        if np.array_equal(order[:m], self.cand[g][:m]):
            return self.outcome(g, m)
        return outcome.size_curve(self.p[g, order], self.p_low[g, order], self.p_high[g, order], self.prep.data.ranks, np.array([m]))[0]


def score(prep: Prepared, who: list[Applicant]) -> Scored:
    """Every applicant of ``who`` against every program: the model once, the ranking once, their
    candidates' chances stacked for the outcome recursion."""
    data, rules = prep.data, prep.rules
    apps = Applicants.from_rows([a.row for a in who])
    terms = compute_terms(data.coefficients, data.programs, apps)
    logit, excluded = terms.logit, terms.any_excluded
    base = terms.terms["baseline"]
    # The chance and its low and high ends in one pass (each element as alone), 0 where excluded.
    p, p_low, p_high = np.where(excluded, 0.0, sigmoid(np.stack([logit, logit - base + prep.low[None, :], logit - base + prep.high[None, :]])))
    tier = np.array([RISK_TIERS.index(a.assessment.tier) for a in who])
    status = lists.statuses(p, excluded, tier, prep.left, rules)
    preferred = np.stack([prep.preferred(a.profile.preferred_state_codes) for a in who])
    order = lists.ranking(logit, preferred, status, rules)
    cand = [o[s[o] == lists.BEYOND] for o, s in zip(order, status, strict=True)]
    width = max(len(c) for c in cand)
    chances = np.zeros((3 * len(who), width))
    for g, c in enumerate(cand):
        chances[3 * g : 3 * g + 3, : len(c)] = p[g, c], p_low[g, c], p_high[g, c]
    ranked = outcome.RankedList(chances, data.ranks)
    return Scored(prep, who, apps, terms, logit, excluded, p, p_low, p_high, status, preferred, order, cand, ranked)
