"""Choosing a list from the chances: rank by P(interview), take the top, size it by outcome.

The list is the top of the applicant's ranking (rulebook ``lists``, R1-R5): programs are
ranked by their log-odds of an interview plus a bounded preferred-state bonus (ranking only);
hard exclusions, the article's avoid rules (R1), programs not accepting applications (R2) and
long shots (R4) are left out and counted; no quota puts a lower chance ahead of a higher one.
Works on (K applicants x P programs) arrays, so one applicant and a batch share the code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from imgpipeline.advice.outcome import Outcome
from imgpipeline.settings import Settings
from imgpipeline.vocabulary import PROGRAM_TIERS, RISK_TIERS

STATUS = ("listed", "excluded", "avoided_program_tier", "avoided_few_imgs", "not_accepting", "long_shot", "beyond_list")
LISTED, EXCLUDED, AVOIDED_TIER, AVOIDED_FEW_IMGS, NOT_ACCEPTING, LONG_SHOT, BEYOND = range(len(STATUS))
LEFT_OUT_TEXT = {
    "avoided_program_tier": "highly competitive academic centres (R1: 'elite academic centers with strong Step cutoffs')",
    "avoided_few_imgs": "programs with a stated IMG share at or below the rulebook's threshold (R1: 'very few or no IMGs')",
    "not_accepting": "programs FREIDA states were not accepting applications (R2)",
    "long_shot": "long shots with P(interview) below {floor:.1%} (R4: not worth an application fee)",
}


class AvoidRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    program_tiers: tuple[str, ...] = ()
    stated_img_share_at_most: float | None = Field(None, ge=0, le=1)

    @model_validator(mode="after")
    def _tiers(self) -> AvoidRule:
        unknown = set(self.program_tiers) - set(PROGRAM_TIERS)
        if unknown:
            raise ValueError(f"unknown program tiers {sorted(unknown)}; expected {PROGRAM_TIERS}")
        return self


class ListRules(BaseModel):
    """The rulebook's ``lists`` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    preferred_state_log_odds: float = Field(ge=0, le=2)
    skip_not_accepting: bool
    long_shot_below: float = Field(ge=0, lt=1)
    avoid: dict[str, AvoidRule]
    target_p_match: float = Field(gt=0, lt=1)
    min_gain_per_step: float = Field(gt=0)
    size_step: int = Field(ge=1)
    min_size: int = Field(ge=1)
    max_size: int
    curve_sizes: tuple[int, ...]

    @model_validator(mode="after")
    def _complete(self) -> ListRules:
        if set(self.avoid) != set(RISK_TIERS):
            raise ValueError(f"lists.avoid must define exactly {RISK_TIERS}")
        if self.max_size < self.min_size:
            raise ValueError("lists.max_size must be at least min_size")
        return self


def list_rules(settings: Settings) -> ListRules:
    return settings.rulebook.typed("lists", ListRules)


@dataclass
class LeftOut:
    """(4 risk tiers, P) and (P,) masks of programs left out of lists, from the version."""

    avoid_tier: np.ndarray
    avoid_few_imgs: np.ndarray
    not_accepting: np.ndarray


def left_out_masks(tier_idx: np.ndarray, img_share: np.ndarray, share_stated: np.ndarray, accepting_false: np.ndarray, rules: ListRules) -> LeftOut:
    tiers = np.array(PROGRAM_TIERS, dtype=object)[tier_idx]
    avoid_tier = np.stack([np.isin(tiers, list(rules.avoid[t].program_tiers)) for t in RISK_TIERS])
    few = []
    for t in RISK_TIERS:
        limit = rules.avoid[t].stated_img_share_at_most
        few.append(np.zeros(len(tiers), dtype=bool) if limit is None else share_stated & (np.nan_to_num(img_share, nan=2.0) <= limit))
    not_accepting = accepting_false if rules.skip_not_accepting else np.zeros(len(tiers), dtype=bool)
    return LeftOut(avoid_tier, np.stack(few), not_accepting)


def statuses(p: np.ndarray, excluded: np.ndarray, tier: np.ndarray, left: LeftOut, rules: ListRules) -> np.ndarray:
    """(K, P) status codes before sizing: excluded, left out by R1 / R2 / R4, else a candidate
    (coded BEYOND until the list takes it)."""
    status = np.full(p.shape, BEYOND, dtype=np.int8)
    status[p < rules.long_shot_below] = LONG_SHOT
    status[np.broadcast_to(left.not_accepting[None, :], p.shape)] = NOT_ACCEPTING
    status[left.avoid_few_imgs[tier]] = AVOIDED_FEW_IMGS
    status[left.avoid_tier[tier]] = AVOIDED_TIER
    status[excluded] = EXCLUDED
    return status


def ranking(logit: np.ndarray, preferred: np.ndarray, status: np.ndarray, rules: ListRules) -> np.ndarray:
    """(K, P) order of programs, candidates first by log-odds (+ the preferred-state bonus),
    ties to the lower program index (stable)."""
    key = logit + rules.preferred_state_log_odds * preferred
    key = np.where(status == BEYOND, key, -np.inf)
    return np.argsort(-key, axis=1, kind="stable")


def key_from_chance(p: np.ndarray, preferred: np.ndarray, preferred_log_odds: float) -> np.ndarray:
    """The ranking key recomputed from P(interview) (log-odds, P kept off 0 and 1, + the
    preferred-state bonus): how the programs past a list are ordered when it grows."""
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log(p / (1 - p)) + preferred_log_odds * preferred


def take_top(order: np.ndarray, status: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mark the first n candidates of each row listed; (rank (K, P) 1..n or 0, status)."""
    K, P = status.shape
    rank = np.zeros((K, P), dtype=np.int32)
    positions = np.arange(1, P + 1)[None, :]
    rows = np.arange(K)[:, None]
    candidate = status[rows, order] == BEYOND
    take = candidate & (positions <= n[:, None])
    rank[rows, order] = np.where(take, positions, 0)
    status = status.copy()
    status[rank > 0] = LISTED
    return rank, status


@dataclass(frozen=True)
class SizeChoice:
    n: int
    why: str
    reached_target: bool


def choose_size(curve: Sequence[Outcome], rules: ListRules, budget_covers: int | None) -> SizeChoice:
    """The smallest size reaching the target P(match); else where P(match) stops rising by more
    than the rulebook's gain per step; never above the budget. ``curve`` is read in order, each
    point once, and only as far as the choice needs (a lazy sequence computes no outcome past
    it)."""
    if not len(curve):
        return SizeChoice(0, "no program qualifies", False)
    pick, last = None, len(curve) - 1
    prev = curve[0]
    for i in range(last + 1):
        if prev.p_match >= rules.target_p_match:
            pick, why, reached = prev, f"the smallest list whose P(match) reaches the target of {rules.target_p_match:.0%}", True
            break
        if i == last:
            break
        nxt = curve[i + 1]
        if nxt.p_match - prev.p_match < rules.min_gain_per_step:
            pick, why, reached = prev, (
                f"where P(match) stops rising by more than {rules.min_gain_per_step:.0%} per "
                f"{rules.size_step} more programs (the target of {rules.target_p_match:.0%} is out of reach)"
            ), False
            break
        prev = nxt
    if pick is None:
        pick, why, reached = prev, f"every program that qualifies for you ({prev.n}): P(match) still rises with each one", False
    if budget_covers is not None and budget_covers < pick.n:
        return SizeChoice(budget_covers, f"your budget covers {budget_covers} programs ({why} would be {pick.n})", False)
    return SizeChoice(pick.n, why, reached)


def size_grid(n_candidates: int, rules: ListRules) -> np.ndarray:
    """The sizes the choice looks at: min_size, min_size + step, ... up to the candidates."""
    top = min(rules.max_size, n_candidates)
    if top <= 0:
        return np.array([], dtype=int)
    sizes = list(range(min(rules.min_size, top), top + 1, rules.size_step))   # ascending, none above top
    if sizes[-1] != top:
        sizes.append(top)
    return np.array(sizes, dtype=np.int64)
