"""Choosing a list: the top of the ranking (no quota puts a lower chance ahead of a higher one),
the article's avoid rules, long shots, the preferred-state bonus, and the size choice."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgpipeline.advice import lists
from imgpipeline.advice.outcome import Outcome
from imgpipeline.settings import Settings
from imgpipeline.vocabulary import RISK_TIERS

SETTINGS = Settings()  # the rules every call here is given

RULES = lists.list_rules(SETTINGS)


def left(p: int, tier_idx: np.ndarray | None = None, share: np.ndarray | None = None, not_accepting: np.ndarray | None = None) -> lists.LeftOut:
    return lists.left_out_masks(
        np.zeros(p, dtype=int) if tier_idx is None else tier_idx,
        np.full(p, 0.5) if share is None else share,
        np.ones(p, dtype=bool),
        np.zeros(p, dtype=bool) if not_accepting is None else not_accepting,
        RULES,
    )


@settings(max_examples=60, deadline=None)
@given(
    logits=st.lists(st.floats(-8, 0), min_size=5, max_size=40),
    data=st.data(),
)
def test_the_list_is_the_top_of_the_ranking(logits: list[float], data: st.DataObject) -> None:
    P = len(logits)
    logit = np.array(logits)[None, :]
    p = 1 / (1 + np.exp(-logit))
    excluded = np.array(data.draw(st.lists(st.booleans(), min_size=P, max_size=P)))[None, :]
    preferred = np.array(data.draw(st.lists(st.booleans(), min_size=P, max_size=P)))[None, :]
    n = data.draw(st.integers(0, P))
    tier = np.array([data.draw(st.integers(0, 3))])
    status = lists.statuses(p, excluded, tier, left(P), RULES)
    order = lists.ranking(logit, preferred, status, RULES)
    rank, final = lists.take_top(order, status, np.array([n]))
    listed = final[0] == lists.LISTED
    assert not (listed & excluded[0]).any()                       # an excluded program is never listed
    key = logit[0] + RULES.preferred_state_log_odds * preferred[0]
    waiting = final[0] == lists.BEYOND
    if listed.any() and waiting.any():                            # nothing left out beats anything listed
        assert key[waiting].max() <= key[listed].min() + 1e-12
    ranks = rank[0][listed]
    assert sorted(ranks) == list(range(1, listed.sum() + 1))
    assert np.all(np.diff(key[listed][np.argsort(ranks)]) <= 1e-12)


def test_avoid_rules_and_long_shots_are_left_out_by_tier() -> None:
    tier_idx = np.array([2, 0, 0, 0])                             # an elite centre first
    share = np.array([0.5, 0.02, 0.5, 0.5])                       # a stated 2% IMG share second
    masks = left(4, tier_idx, share, not_accepting=np.array([False, False, True, False]))
    p = np.array([[0.2, 0.2, 0.2, RULES.long_shot_below / 2]])
    for t, tier in enumerate(RISK_TIERS):
        st_ = lists.statuses(p, np.zeros((1, 4), dtype=bool), np.array([t]), masks, RULES)[0]
        assert st_[2] == lists.NOT_ACCEPTING and st_[3] == lists.LONG_SHOT
        if tier == "lower":                                       # the article's avoid rules address low scorers
            assert st_[0] == st_[1] == lists.BEYOND
        else:
            assert st_[0] == lists.AVOIDED_TIER and st_[1] == lists.AVOIDED_FEW_IMGS


def outcome(n: int, pm: float) -> Outcome:
    return Outcome(n, n / 10, n / 12, n / 8, pm, pm - 0.05, pm + 0.05, 0.0, np.zeros(3))


@pytest.mark.parametrize(
    ("pms", "budget", "n", "reached"),
    [
        ([0.5, 0.7, 0.82, 0.9], None, 40, True),       # the smallest size reaching the target
        ([0.3, 0.4, 0.405, 0.5], None, 30, False),     # where P(match) stops rising by the step
        ([0.3, 0.4, 0.5, 0.6], None, 50, False),       # still rising at the end: every candidate
        ([0.5, 0.7, 0.82, 0.9], 25, 25, False),        # never above the budget
    ],
)
def test_size_choice(pms: list[float], budget: int | None, n: int, reached: bool) -> None:
    curve = [outcome(20 + 10 * i, pm) for i, pm in enumerate(pms)]
    choice = lists.choose_size(curve, RULES, budget)
    assert (choice.n, choice.reached_target) == (n, reached)


def test_size_grid_steps_and_ends_at_the_candidates() -> None:
    grid = lists.size_grid(57, RULES)
    assert grid[0] == RULES.min_size and grid[-1] == 57 and np.all(np.diff(grid) <= RULES.size_step)
    assert lists.size_grid(0, RULES).size == 0


def test_size_grid_is_every_step_and_the_candidates_once_in_order() -> None:
    """``size_grid`` is the sorted set of min_size, min_size + step, ... and the candidates'
    count, for every count and for rules whose steps do and do not land on it."""
    for rules in (RULES, RULES.model_copy(update={"min_size": 7, "size_step": 3, "max_size": 61}), RULES.model_copy(update={"min_size": 1, "size_step": 1})):
        for n in range(0, 2 * rules.max_size):
            top = min(rules.max_size, n)
            want = sorted({*range(min(rules.min_size, top), top + 1, rules.size_step), top}) if top > 0 else []
            got = lists.size_grid(n, rules)
            assert got.tolist() == want and (got.dtype == np.int64 or not want)
