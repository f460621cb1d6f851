"""The published per-tier chances (program_scores, score_reasons, score_validity) of a real
refresh: one row per program x tier x visa need the tier admits, contributions that add up,
chances that never rise with risk, and validity checks that pass."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imgpipeline.advice.model import TERMS
from imgpipeline.advice.risk import rules as risk_rules
from imgpipeline.refresh.interview import interview_rules
from imgpipeline.refresh.program_scores import tier_profiles
from imgpipeline.settings import Settings
from imgpipeline.store import read_table


@pytest.fixture(scope="module")
def scores(published) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return read_table("program_scores", published)


def test_tier_profiles_keep_only_the_pairs_the_risk_rules_admit() -> None:
    settings = Settings()
    t = tier_profiles(interview_rules(settings), risk_rules(settings))
    pairs = set(zip(t["risk_tier"], t["visa_need"], strict=True))
    assert ("lower", "none") in pairs and ("lower", "j1") not in pairs and ("moderately_low", "h1b") not in pairs
    assert len(pairs) == 12


def test_one_row_per_program_tier_and_visa_need(scores: pd.DataFrame, published) -> None:  # type: ignore[no-untyped-def]
    n = read_table("programs", published)["acgme_id"].nunique()
    assert len(scores) == 12 * n and not scores.duplicated(["acgme_id", "risk_tier", "visa_need"]).any()
    assert scores["p_interview"].between(0, 1).all()
    assert (scores.loc[~scores["eligible"], "p_interview"] == 0).all()
    assert scores.loc[~scores["eligible"], "exclusion_reasons"].map(len).gt(0).all()
    assert scores.loc[scores["eligible"], "exclusion_reasons"].map(len).eq(0).all()


def test_contributions_add_up_to_the_logit(scores: pd.DataFrame, published) -> None:  # type: ignore[no-untyped-def]
    sample = scores.sample(200, random_state=0)
    for _, row in sample.iterrows():
        contribs = list(row["contributions"])  # a list of records, not JSON to parse
        assert [c["term"] for c in contribs] == list(TERMS)
        assert abs(sum(c["log_odds"] for c in contribs) - row["logit"]) < 1e-5
    reasons = read_table("score_reasons", published)
    assert len(reasons) == len(scores) * len(TERMS)
    assert np.allclose(np.exp(reasons["log_odds"]), reasons["odds_multiplier"], rtol=1e-5)


def test_chances_never_rise_with_risk(scores: pd.DataFrame) -> None:
    wide = scores[scores["visa_need"] == "none"].pivot(index="acgme_id", columns="risk_tier", values="p_interview")
    order = ["lower", "moderately_low", "high", "very_high"]
    for a, b in zip(order, order[1:], strict=False):
        assert (wide[b] <= wide[a] + 1e-12).all(), (a, b)


def test_every_validity_check_passes(published) -> None:  # type: ignore[no-untyped-def]
    v = read_table("score_validity", published)
    checks = v[v["passed"].notna()]
    assert len(checks) >= 15
    failed = checks[~checks["passed"].astype(bool)]
    assert failed.empty, failed[["check", "risk_tier", "metric", "value", "expected"]].to_string()
    assert {"calibration_reproduces_nrmp_interviews", "reference_list_matches_at_nrmp_rate", "contributions_sum_to_logit"} <= set(checks["check"])
