"""The rulebook's applicant, risk, list-size, fee, probability and scoring sections: each loads
through its own model, a broken rule fails loudly, and the numbers are the article's (and the
AAMC's) own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from imgpipeline.advice.fees import FeeSchedule, eras_fee, eras_schedule
from imgpipeline.advice.risk import RiskRules, list_sizes, rules
from imgpipeline.rulebook import DEFAULT_PATH, section
from imgpipeline.settings import Settings

SETTINGS = Settings()  # the rules every call here is given

ROOT = Path(__file__).resolve().parents[1]


def test_risk_section_loads_with_the_article_tiers() -> None:
    r = rules(SETTINGS)
    assert [t.id for t in r.tiers] == ["lower", "moderately_low", "high", "very_high"]
    assert "220-225" in r.tiers[1].article and "<=215" in r.tiers[2].article
    assert "Multiple USMLE failures" in r.tiers[3].article


def test_article_thresholds_are_in_the_rulebook() -> None:
    by_id = {f.id: f for f in rules(SETTINGS).factors}
    assert by_id["step2ck_215_or_less"].rule() == "step2ck_score <= 215"
    assert by_id["yog_over_5"].rule() == "years_since_graduation > 5"
    assert by_id["usmle_multiple_failures"].rule() == "usmle_failures >= 2"
    assert by_id["graduation_to_step2ck_over_2_years"].rule() == "graduation_to_step2ck_years > 2"
    assert by_id["strong_step2ck_offsets_step1"].when[0].value == 235


def test_every_decision_is_written_down() -> None:
    """Each ambiguity decision a rule cites is explained in the rulebook and docs/scoring.md."""
    text = DEFAULT_PATH.read_text()
    docs = (ROOT / "docs" / "scoring.md").read_text()
    used = {f.decision for f in rules(SETTINGS).factors if f.decision}
    assert used
    for d in used:
        assert re.search(rf"#\s+{d} ", text), d
        assert re.search(rf"\b{d}\b", docs), d


def test_a_broken_rule_fails_loudly() -> None:
    raw = section("risk", Settings())
    bad = {**raw, "factors": [{**raw["factors"][0], "when": [{"field": "step2_ck", "op": "<", "value": 1}]}]}
    with pytest.raises(ValidationError, match="unknown applicant field"):
        RiskRules.model_validate(bad)
    with pytest.raises(ValidationError):
        RiskRules.model_validate({**raw, "tiers": list(reversed(raw["tiers"]))})


def test_list_sizes_cover_every_tier() -> None:
    sizes = list_sizes(SETTINGS)
    assert set(sizes) == {"lower", "moderately_low", "high", "very_high"}
    assert all(s.min <= s.max for s in sizes.values())


@pytest.mark.parametrize(
    ("n", "usd"),
    [(30, 330), (43, 720), (32, 390), (1, 11), (0, 0), (150, 330 + 120 * 30)],
)
def test_eras_fees_match_the_aamc_examples(n: int, usd: float) -> None:
    """AAMC, 2026 ERAS season: '30 Emergency Medicine programs [30 x $11] = $330'; '43 IM
    [(30 X $11) + (13 X $30)]'; '32 IM [(30 x $11) + (2 x $30)]'."""
    assert eras_fee(n, SETTINGS) == usd
    assert eras_fee(43, SETTINGS) + eras_fee(7, SETTINGS) == 797  # the AAMC's example 2, IM plus 7 Radiology


def test_fee_schedule_has_its_date_and_source() -> None:
    s = eras_schedule(SETTINGS)
    assert s.as_of and s.season.startswith("2026") and s.url.startswith("https://")
    with pytest.raises(ValidationError, match="open-ended"):
        FeeSchedule.model_validate({**section("fees", Settings())["eras_residency"], "bands": [{"first": 1, "last": 30, "usd_each": 11}]})


def test_match_probability_section() -> None:
    from imgpipeline.refresh.match_probability import ProbabilityRules
    from imgpipeline.refresh.match_probability import rules as probability_rules

    r = probability_rules(Settings())
    assert r.specialty == "Internal Medicine"
    assert set(r.measures) == {"step2ck", "contiguous_ranks"}
    assert r.measures["step2ck"].logit_terms == ("x",)
    with pytest.raises(ValidationError, match="band"):
        ProbabilityRules.model_validate({**r.model_dump(), "band": (0.9, 0.1)})


def test_interview_section_and_its_tier_profiles_are_the_article_examples() -> None:
    from imgpipeline.refresh.interview import InterviewRules, interview_rules

    r = interview_rules(Settings())
    profiles = r.tier_profiles
    assert 220 <= profiles["moderately_low"]["step2ck_score"] <= 225  # "e.g., Step 2 CK 220-225"
    assert profiles["high"]["step2ck_score"] <= 215  # "Step 2 CK <=215"
    assert profiles["very_high"]["usmle_failures"] >= 2  # "Multiple USMLE failures"
    assert profiles["very_high"]["years_since_graduation"] > 5 and profiles["very_high"]["usce_hands_on_months"] == 0
    a = r.applicant
    assert a.yog_after_years == 5  # "YOG >5"
    assert a.usce_hands_on_months_strong == 3  # "Aim for 3-4 months of IM-focused USCE"
    assert a.letters_min == 2  # "at least: Two from U.S. internal medicine attendings"
    assert a.step1_failure_offset_ck == 235  # "A strong Step 2 CK (e.g., >=235-240)"
    assert a.further_failure < 0 and a.first_failure < 0  # "Multiple USMLE failures" is very high risk
    assert a.yog_by_tolerance["likely_strict"] < a.yog_by_tolerance["unknown"] < a.yog_by_tolerance["likely_tolerant"] <= 0
    assert a.no_usce < a.observership_only < 0 < a.usce_strong  # "Less valuable, but still helpful"
    assert r.bands.target_multiple < r.bands.likely_multiple
    with pytest.raises(ValidationError, match="first_failure"):
        InterviewRules.model_validate({**r.model_dump(), "applicant": {**a.model_dump(), "first_failure": 0.5}})


def test_the_rulebook_reads_the_same_with_libyaml_and_pure_python() -> None:
    """The rulebook is parsed by PyYAML's libyaml safe loader when there is one: the same
    sections, values and types as the pure-Python safe loader's."""
    import yaml

    from imgpipeline.rulebook import DEFAULT_PATH, SAFE_LOADER

    raw = DEFAULT_PATH.read_bytes()
    assert SAFE_LOADER is yaml.CSafeLoader  # the wheels pinned in requirements.lock have libyaml
    fast, pure = yaml.load(raw, Loader=SAFE_LOADER), yaml.load(raw, Loader=yaml.SafeLoader)
    assert fast == pure and len(fast) > 10
    assert repr(fast) == repr(pure)  # same types too (1 vs 1.0, dates, None)
