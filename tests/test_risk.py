"""The article's risk framework: each example and threshold of the article (and DOMAIN.md),
the borderlines, and the decisions where the article is ambiguous (rulebook D1-D9)."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgpipeline.advice.profile import applicant_frame, applicant_values, parse_profile
from imgpipeline.advice.risk import (
    TIERS,
    Clause,
    Columns,
    assess,
    assess_frame,
    assess_values,
    list_sizes,
    named_rows,
    rules,
    tier_rank,
)
from imgpipeline.settings import Settings

SETTINGS = Settings()  # the rules every call here is given

YEAR = date.today().year


def profile(**changes: Any) -> dict[str, Any]:
    """A lower-risk applicant (none of the article's factors), with ``changes`` on top."""
    base: dict[str, Any] = {
        "graduation_year": YEAR - 2,
        "step1": {"passed": True, "attempts": 1},
        "step2ck": {"score": 240, "attempts": 1, "year": YEAR - 2},
        "usce": {"hands_on_months": 4, "observership_months": 0},
        "us_im_letters": 3,
        "research_items": 2,
        "visa_need": "none",
        "ecfmg_certified": True,
        "recent_clinical_work": True,
    }
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return base


def tier_of(**changes: Any) -> tuple[str, set[str]]:
    a = assess(parse_profile(profile(**changes)), settings=SETTINGS)
    return a.tier, set(a.factor_ids) | {n.id for n in a.notes}


# (case, changes, expected tier, factors that must fire)
CASES: list[tuple[str, dict[str, Any], str, set[str]]] = [
    ("no factors: lower risk", {}, "lower", set()),
    # Step 2 CK thresholds: <=215 high; 216-219 below ~220 (D1); 220-225 the article's example;
    # 226-229 (D2); 230 lower.
    ("Step 2 CK 215 (<=215): high", {"step2ck": {"score": 215}}, "high", {"step2ck_215_or_less"}),
    ("Step 2 CK 216: moderately low (D1)", {"step2ck": {"score": 216}}, "moderately_low", {"step2ck_below_220"}),
    ("Step 2 CK 219: moderately low (D1)", {"step2ck": {"score": 219}}, "moderately_low", {"step2ck_below_220"}),
    ("Step 2 CK 220: the article's moderately-low example", {"step2ck": {"score": 220}}, "moderately_low", {"step2ck_below_230"}),
    ("Step 2 CK 225: the article's moderately-low example", {"step2ck": {"score": 225}}, "moderately_low", {"step2ck_below_230"}),
    ("Step 2 CK 226: moderately low (D2)", {"step2ck": {"score": 226}}, "moderately_low", {"step2ck_below_230"}),
    ("Step 2 CK 229: moderately low (D2)", {"step2ck": {"score": 229}}, "moderately_low", {"step2ck_below_230"}),
    ("Step 2 CK 230 and nothing else: lower (D2)", {"step2ck": {"score": 230}}, "lower", set()),
    ("Step 2 CK 200 (year not stated: it passed before 2014): high", {"step2ck": {"score": 200, "year": None}}, "high", {"step2ck_215_or_less"}),
    ("Step 2 CK not yet taken (D7)", {"step2ck": None, "ecfmg_certified": False}, "moderately_low", {"step2ck_not_taken"}),
    # Failures: one failure is high, several (across Steps) very high (D6).
    ("Step 1 fail then pass: high", {"step1": {"attempts": 2}}, "high", {"step1_failed"}),
    ("Step 1 passed on the third attempt: very high", {"step1": {"attempts": 3}}, "very_high", {"step1_failed", "usmle_multiple_failures"}),
    ("Step 2 CK passed on the second attempt: high", {"step2ck": {"attempts": 2}}, "high", {"step2ck_failed"}),
    ("Step 1 and Step 2 CK each failed once: very high", {"step1": {"attempts": 2}, "step2ck": {"attempts": 2}}, "very_high", {"usmle_multiple_failures"}),
    ("Step 3 failed once: high (any USMLE attempt failure)", {"step3": {"taken": True, "passed": True, "attempts": 2}}, "high", {"step3_failed"}),
    ("Step 1 failed and not yet passed: high", {"step1": {"attempts": 1, "passed": False}, "ecfmg_certified": False}, "high", {"step1_failed"}),
    # YOG: > 5 is high; 5 is not.
    ("YOG 5: not a factor", {"graduation_year": YEAR - 5, "step2ck": {"year": YEAR - 5}}, "lower", set()),
    ("YOG 6: high", {"graduation_year": YEAR - 6, "step2ck": {"year": YEAR - 6}}, "high", {"yog_over_5"}),
    # USCE (D5).
    ("no USCE at all: high", {"usce": {"hands_on_months": 0, "observership_months": 0}}, "high", {"no_usce"}),
    ("observerships only: moderately low (D5)", {"usce": {"hands_on_months": 0, "observership_months": 3}}, "moderately_low", {"observership_only"}),
    # Visa (D3).
    ("H-1B only: high (D3)", {"visa_need": "H-1B"}, "high", {"visa_h1b_only"}),
    ("J-1 need alone: moderately low (D3)", {"visa_need": "J-1"}, "moderately_low", {"visa_needed"}),
    ("either visa: moderately low (D3)", {"visa_need": "either"}, "moderately_low", {"visa_needed"}),
    # Very high: long YOG plus visa requirement and no USCE (D4).
    (
        "YOG 8 + J-1 + no USCE: very high",
        {"graduation_year": YEAR - 8, "step2ck": {"year": YEAR - 8}, "visa_need": "J-1", "usce": {"hands_on_months": 0}},
        "very_high",
        {"long_yog_visa_no_usce", "yog_over_5", "no_usce"},
    ),
    (
        "YOG 6 + H-1B + no USCE: very high",
        {"graduation_year": YEAR - 6, "step2ck": {"year": YEAR - 6}, "visa_need": "H-1B", "usce": {"hands_on_months": 0}},
        "very_high",
        {"long_yog_visa_no_usce"},
    ),
    (
        "YOG 5 + visa + no USCE: high, not very high",
        {"graduation_year": YEAR - 5, "step2ck": {"year": YEAR - 5}, "visa_need": "J-1", "usce": {"hands_on_months": 0}},
        "high",
        {"no_usce", "visa_needed"},
    ),
    (
        "YOG 8 + no visa + no USCE: high",
        {"graduation_year": YEAR - 8, "step2ck": {"year": YEAR - 8}, "usce": {"hands_on_months": 0}},
        "high",
        {"yog_over_5", "no_usce"},
    ),
    (
        "YOG 8 + visa + observerships: high (observerships are USCE, D5)",
        {"graduation_year": YEAR - 8, "step2ck": {"year": YEAR - 8}, "visa_need": "J-1", "usce": {"hands_on_months": 0, "observership_months": 2}},
        "high",
        {"yog_over_5", "observership_only"},
    ),
    # Step 1 numeric era (D7).
    ("Step 1 200 (<=200 clearly low)", {"step1": {"score": 200}}, "moderately_low", {"step1_200_or_less"}),
    ("Step 1 205 (below ~210)", {"step1": {"score": 205}}, "moderately_low", {"step1_below_210"}),
    ("Step 1 215 (below ~220)", {"step1": {"score": 215}}, "moderately_low", {"step1_below_220"}),
    ("Step 1 220: not low", {"step1": {"score": 220}}, "lower", set()),
    ("Step 1 201: below ~210, not <=200", {"step1": {"score": 201}}, "moderately_low", {"step1_below_210"}),
    ("Step 1 209: below ~210", {"step1": {"score": 209}}, "moderately_low", {"step1_below_210"}),
    ("Step 1 219: below ~220", {"step1": {"score": 219}}, "moderately_low", {"step1_below_220"}),
    # Secondary factors (D7, D9).
    ("graduation to Step 2 CK 3 years (>2)", {"graduation_year": YEAR - 4, "step2ck": {"year": YEAR - 1}}, "moderately_low", {"graduation_to_step2ck_over_2_years"}),
    ("graduation to Step 2 CK 2 years: not a factor", {"graduation_year": YEAR - 4, "step2ck": {"year": YEAR - 2}}, "lower", set()),
    ("one US IM letter", {"us_im_letters": 1}, "moderately_low", {"few_us_im_letters"}),
    ("no recent clinical work", {"recent_clinical_work": False}, "moderately_low", {"no_recent_clinical_work"}),
    ("unexplained gaps", {"unexplained_gaps": True}, "moderately_low", {"unexplained_gaps"}),
    ("no research: a note, tier unchanged (D9)", {"research_items": 0}, "lower", {"no_research_output"}),
    # A strong Step 2 CK partially offsets a Step 1 failure: noted, tier unchanged (D8).
    ("Step 1 failure + Step 2 CK 245: still high, offset noted", {"step1": {"attempts": 2}, "step2ck": {"score": 245}}, "high", {"step1_failed", "strong_step2ck_offsets_step1"}),
    ("Step 1 210 + Step 2 CK 240: offset noted", {"step1": {"score": 210}}, "moderately_low", {"step1_below_220", "strong_step2ck_offsets_step1"}),
    ("Step 1 failure + Step 2 CK 235 (the article's ~235): offset noted", {"step1": {"attempts": 2}, "step2ck": {"score": 235}}, "high", {"step1_failed", "strong_step2ck_offsets_step1"}),
    ("Step 1 failure + Step 2 CK 215: high, no offset", {"step1": {"attempts": 2}, "step2ck": {"score": 215}}, "high", {"step1_failed", "step2ck_215_or_less"}),
    # The article's moderately-low description, whole: 220-225, no failures, recent, some USCE.
    ("issue 5's moderately-low J-1 example", {"step2ck": {"score": 223}, "visa_need": "J-1", "usce": {"hands_on_months": 4}}, "moderately_low", {"step2ck_below_230", "visa_needed"}),
    (
        "issue 5's very-high H-1B example: two failures, YOG 8, no USCE",
        {"step1": {"attempts": 2}, "step2ck": {"score": 218, "attempts": 2, "year": YEAR - 8}, "graduation_year": YEAR - 8, "visa_need": "H-1B", "usce": {"hands_on_months": 0}},
        "very_high",
        {"usmle_multiple_failures", "long_yog_visa_no_usce", "visa_h1b_only"},
    ),
]


@pytest.mark.parametrize(("case", "changes", "tier", "factors"), CASES, ids=[c[0] for c in CASES])
def test_article_examples(case: str, changes: dict[str, Any], tier: str, factors: set[str]) -> None:
    got_tier, got_factors = tier_of(**changes)
    assert got_tier == tier, case
    assert factors <= got_factors, (case, got_factors)
    if not factors:
        assert got_factors == set(), (case, got_factors)


@pytest.mark.parametrize(
    ("changes", "fires", "not_fires"),
    [
        # Each threshold of the article on both sides: the factor fires on one side only.
        ({"step2ck": {"score": 215}}, "step2ck_215_or_less", "step2ck_below_220"),
        ({"step2ck": {"score": 216}}, "step2ck_below_220", "step2ck_215_or_less"),
        ({"step2ck": {"score": 219}}, "step2ck_below_220", "step2ck_below_230"),
        ({"step2ck": {"score": 220}}, "step2ck_below_230", "step2ck_below_220"),
        ({"step1": {"score": 200}}, "step1_200_or_less", "step1_below_210"),
        ({"step1": {"score": 201}}, "step1_below_210", "step1_200_or_less"),
        ({"step1": {"score": 209}}, "step1_below_210", "step1_below_220"),
        ({"step1": {"score": 210}}, "step1_below_220", "step1_below_210"),
        ({"graduation_year": YEAR - 6, "step2ck": {"year": YEAR - 6}}, "yog_over_5", "usmle_multiple_failures"),
        ({"step1": {"attempts": 2}}, "step1_failed", "usmle_multiple_failures"),
        ({"step1": {"attempts": 2}, "step2ck": {"score": 235}}, "strong_step2ck_offsets_step1", "step2ck_below_230"),
        ({"step1": {"attempts": 2}, "step2ck": {"score": 234}}, "step1_failed", "strong_step2ck_offsets_step1"),
        ({"step1": {"score": 219}, "step2ck": {"score": 234}}, "step1_below_220", "strong_step2ck_offsets_step1"),
    ],
)
def test_thresholds_on_both_sides(changes: dict[str, Any], fires: str, not_fires: str) -> None:
    _, got = tier_of(**changes)
    assert fires in got and not_fires not in got, got


def test_every_rule_has_an_example() -> None:
    """A test per rule: every factor of the rulebook fires in at least one case above."""
    covered = set().union(*(c[3] for c in CASES))
    assert {f.id for f in rules(SETTINGS).factors} <= covered


def test_factors_name_rule_threshold_and_article() -> None:
    a = assess(parse_profile(profile(step2ck={"score": 215})), settings=SETTINGS)
    (f,) = [f for f in a.factors if f.id == "step2ck_215_or_less"]
    assert f.rule == "step2ck_score <= 215"
    assert "215" in f.says and "Step 2 CK" in f.article
    assert f.values == {"step2ck_score": 215.0}
    assert any("215 or less" in line for line in a.explain())


def test_list_sizes_per_the_article() -> None:
    sizes = list_sizes(SETTINGS)
    assert (sizes["moderately_low"].min, sizes["moderately_low"].max) == (80, 120)
    assert (sizes["high"].min, sizes["high"].max, sizes["high"].open_ended) == (150, 200, True)
    assert sizes["very_high"].text() == "150-200+"
    a = assess(parse_profile(profile(step2ck={"score": 212, "year": None})), settings=SETTINGS)
    assert a.list_size.text() == "150-200+"


def test_frame_matches_single_assessments() -> None:
    profiles = [parse_profile(profile(**c[1]), settings=SETTINGS) for c in CASES]
    out = assess_frame(applicant_frame(profiles), rules(SETTINGS))
    assert list(out["risk_tier"]) == [c[2] for c in CASES]
    for (_, _, _, factors), ids in zip(CASES, out["factors"], strict=True):
        assert factors <= set(ids)


profiles_strategy = st.fixed_dictionaries(
    {
        "ck": st.one_of(st.none(), st.integers(194, 280)),  # ck - 5 stays >= 189, the lowest USMLE minimum passing score
        "s1_attempts": st.integers(1, 3),
        "ck_attempts": st.integers(1, 3),
        "yog": st.integers(0, 15),
        "hands_on": st.sampled_from([0, 1, 4, 8]),
        "obs": st.sampled_from([0, 2]),
        "visa": st.sampled_from(["none", "j1", "h1b", "either"]),
        "letters": st.integers(0, 4),
    }
)


def _build(d: dict[str, Any]) -> dict[str, Any]:
    # A passing score below today's minimum (214) is possible only in an earlier era: no year.
    ck = None if d["ck"] is None else {"score": d["ck"], "attempts": d["ck_attempts"], "year": YEAR - d["yog"] if d["ck"] >= 214 else None}
    return profile(
        graduation_year=YEAR - d["yog"],
        step1={"attempts": d["s1_attempts"]},
        step2ck=ck,
        usce={"hands_on_months": d["hands_on"], "observership_months": d["obs"]},
        visa_need=d["visa"],
        us_im_letters=d["letters"],
        ecfmg_certified=d["ck"] is not None,  # certification needs Step 2 CK passed
    )


def _rank(d: dict[str, Any]) -> int:
    return tier_rank(assess(parse_profile(_build(d)), settings=SETTINGS).tier)


@settings(max_examples=150, deadline=None)
@given(profiles_strategy)
def test_worse_profiles_are_never_less_risky(d: dict[str, Any]) -> None:
    """Monotone: a lower Step 2 CK, another failure, an older graduation, less USCE or an
    H-1B-only need never lowers the tier."""
    r = _rank(d)
    if d["ck"] is not None:
        assert _rank({**d, "ck": d["ck"] - 5}) >= r
        assert _rank({**d, "ck_attempts": min(d["ck_attempts"] + 1, 4)}) >= r
    assert _rank({**d, "s1_attempts": min(d["s1_attempts"] + 1, 4)}) >= r
    assert _rank({**d, "yog": d["yog"] + 1}) >= r
    assert _rank({**d, "hands_on": 0}) >= r
    assert _rank({**d, "visa": "h1b"}) >= r
    assert r in range(len(TIERS))


def _frame_and_values_agree(profiles: list[Any]) -> None:
    frame = assess_frame(applicant_frame(profiles), rules(SETTINGS))
    for p, tier, ids in zip(profiles, frame["risk_tier"], frame["factors"], strict=True):
        a = assess_values(applicant_values(p), settings=SETTINGS)
        assert a.tier == tier
        assert set(a.factor_ids) | {n.id for n in a.notes} == set(ids)


def test_one_profiles_values_and_the_frame_read_the_rules_alike() -> None:
    """The two readings of the rules (a frame's columns, one profile's values) agree on every
    case above and on varied profiles that fire every factor between them."""
    from imgpipeline.advice.batch import _nested, random_profiles

    cases = [parse_profile(profile(**c[1]), settings=SETTINGS) for c in CASES]
    varied = [parse_profile(_nested(r), settings=SETTINGS) for r in random_profiles(400, seed=12)]
    _frame_and_values_agree(cases + varied)
    fired = set()
    for p in cases + varied:
        a = assess_values(applicant_values(p), settings=SETTINGS)
        fired |= set(a.factor_ids) | {n.id for n in a.notes}
    assert fired == {f.id for f in rules(SETTINGS).factors}


@settings(max_examples=60, deadline=None)
@given(st.lists(profiles_strategy, min_size=1, max_size=5))
def test_values_and_frame_agree_on_generated_profiles(ds: list[dict[str, Any]]) -> None:
    _frame_and_values_agree([parse_profile(_build(d), settings=SETTINGS) for d in ds])


@pytest.mark.parametrize("dtype", ["str", "string", "object"])
def test_text_clauses_are_pandas_comparisons(dtype: str) -> None:
    """A clause on a text column (Arrow's kernels where the column is Arrow-backed) holds
    exactly where pandas' comparison does, never on a missing value."""
    col = pd.Series(["none", None, "j1", "h1b", "either", "h1b", None, "J1"], dtype=dtype)
    frame = pd.DataFrame({"visa_need": col})
    for op, value in (("==", "h1b"), ("!=", "h1b"), ("in", ["j1", "either"]), ("in", []), ("==", "nothing")):
        hit = col.isin(value) if op == "in" else (col == value if op == "==" else col != value)
        want = np.asarray(pd.array(hit, dtype="boolean").fillna(False), dtype=bool) & col.notna().to_numpy()
        clause = Clause(field="visa_need", op=op, value=value)
        assert clause.mask(frame).tolist() == want.tolist()
        assert clause.mask(Columns(frame)).tolist() == want.tolist()
    assert Clause(field="visa_need", op="!=", value="h1b").mask(frame).tolist() == [True, False, True, False, True, False, False, True]


@pytest.mark.parametrize("k", [0, 1, 8, 9, 64, 65])
def test_named_rows_lists_each_rows_names_in_order(k: int) -> None:
    """Each row's list holds the names that fired there, in the order given, whether the
    patterns are coded as one integer (up to 64 names) or as packed bytes."""
    fired = np.random.default_rng(k).random((300, k)) < 0.3
    names = [f"f{i}" for i in range(k)]
    got = named_rows(names, fired)
    assert [list(x) for x in got] == [[names[j] for j in range(k) if fired[i, j]] for i in range(300)]


def test_an_assessment_like_another_is_the_assessment_read_afresh() -> None:
    """``assess_values(row, like=...)`` takes the factors reading none of the values that
    differ as they fired for the other profile: for varied profiles, each against every plan
    step's changed profile (a season later too) and against an unrelated profile, it is the
    assessment read afresh, and some factors were indeed taken as they were."""
    from imgpipeline.advice.batch import _nested, random_profiles
    from imgpipeline.advice.plan import changed_profile, plan_rules

    changes = [r.change for r in plan_rules(SETTINGS).steps if r.change]
    varied = [parse_profile(_nested(r), settings=SETTINGS) for r in random_profiles(150, seed=21)]
    taken = compared = 0
    for p, other in zip(varied, varied[1:] + varied[:1], strict=True):
        row = applicant_values(p, YEAR)
        before = assess_values(row, settings=SETTINGS)
        pairs = [(applicant_values(other, YEAR), assess_values(applicant_values(other, YEAR), settings=SETTINGS))]
        for change in changes:
            c, later, _ = changed_profile(p, change, SETTINGS)
            pairs.append((applicant_values(c, YEAR + later), None))
        for changed_row, fresh in pairs:
            fresh = fresh or assess_values(changed_row, settings=SETTINGS)
            alike = assess_values(changed_row, settings=SETTINGS, like=(row, before))
            assert alike == fresh
            compared += 1
            kept = {id(f) for f in before.factors + before.notes}
            taken += sum(id(f) in kept for f in alike.factors + alike.notes)
    assert compared > 1000 and taken > 100


def test_a_factor_reads_its_clauses_fields_and_the_fields_its_words_name() -> None:
    """``Factor.reads``: a factor's fields are its clauses' and the ones ``says`` formats;
    a format spec holding a field reads everything (None)."""
    by_id = {f.id: f for f in rules(SETTINGS).factors}
    f = next(f for f in by_id.values() if "{step2ck_score" in f.says)
    assert {"step2ck_score"} | {c.field for c in f.when + f.when_any} == f.reads()
    worded = f.model_copy(update={"says": "{usmle_failures} and {years_since_graduation.real} and {visa_need[0]}"})
    assert worded.reads() == {c.field for c in f.when + f.when_any} | {"usmle_failures", "years_since_graduation", "visa_need"}
    assert f.model_copy(update={"says": "{step2ck_score:{usmle_failures}}"}).reads() is None
