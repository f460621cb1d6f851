"""Per-tier program scores: the invariants (hypothesis), the rules on tiny frames, and the
published tables on real programs (a fixture of real program_features rows, and the real
refresh when it publishes scores)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imgpipeline import scoring
from imgpipeline.applicant import VISA_NEEDS
from imgpipeline.risk import TIERS
from imgpipeline.tables import TABLES

FIXTURES = Path(__file__).parent / "fixtures"
R = scoring.rules()


def program(**kw: Any) -> dict[str, Any]:
    """One program_features row (the columns the scorer reads), community and IMG-heavy by
    default, with ``kw`` on top."""
    row: dict[str, Any] = {
        "acgme_id": "1400000001",
        "program_name": "Test Program",
        "state": "NY",
        "tier": "community",
        "tier_basis": "inferred",
        "tier_reason": "community program",
        "img_share": 0.8,
        "img_share_basis": "stated",
        "img_share_low": None,
        "img_share_high": None,
        "sponsors_j1": True,
        "sponsors_j1_basis": "stated",
        "sponsors_h1b": True,
        "sponsors_h1b_basis": "stated",
        "new_program": False,
        "new_program_basis": "stated",
        "acgme_first_year": 2000,
        "yog_limit_years": None,
        "yog_tolerance": None,
        "yog_tolerance_basis": "unknown",
        "yog_tolerance_reason": "unknown: no stated window",
        "usce_policy": None,
        "usce_months": None,
        "ecfmg_required": None,
        "failed_attempts_policy": None,
        "holistic_review": None,
        "holistic_review_basis": "unknown",
        "imgs_welcome": None,
        "imgs_welcome_basis": "unknown",
        "accepting_2026_2027": True,
    }
    row.update(kw)
    return row


def frame(*rows: dict[str, Any]) -> pd.DataFrame:
    df = pd.DataFrame(list(rows))
    df["acgme_id"] = [f"14000000{i:02d}" for i in range(len(df))]
    return df


def applicant(**kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "risk_tier": "high",
        "visa_need": "none",
        "usmle_failures": 0,
        "years_since_graduation": 2,
        "usce_hands_on_months": 4.0,
        "step2ck_score": 230.0,
        "step1_score": None,
        "ecfmg_certified": True,
        "step3_passed": False,
    }
    row.update(kw)
    return row


def score(features: pd.DataFrame, *apps: dict[str, Any], **kw: Any) -> scoring.Scored:
    return scoring.score_programs(scoring.prepare_programs(features, **kw), pd.DataFrame(list(apps)))


def one(features: pd.DataFrame, app: dict[str, Any], **kw: Any) -> pd.Series:
    return score(features, app, **kw).scores.iloc[0]


def reasons_of(scored: scoring.Scored, i: int = 0) -> dict[str, float]:
    assert scored.reasons is not None
    s = scored.scores.iloc[i]
    rs = scored.reasons[(scored.reasons["key"] == s["key"]) & (scored.reasons["acgme_id"] == s["acgme_id"])]
    return dict(zip(rs["factor"], rs["points"], strict=True))


# ---- the rules, one at a time ----------------------------------------------------------------


def test_base_and_program_tier_come_from_the_rulebook() -> None:
    f = frame(program(), program(tier="mid_tier_academic_hybrid"), program(tier="highly_competitive_academic"))
    s = score(f, applicant(risk_tier="moderately_low"))
    pts = [reasons_of(s, i) for i in range(3)]
    assert [p["base"] for p in pts] == [R.base["moderately_low"]] * 3
    assert [p["program_tier"] for p in pts] == [0, R.program_tier.mid_tier_academic_hybrid["moderately_low"], R.program_tier.highly_competitive_academic["moderately_low"]]


def test_img_share_penalty_stated_imputed_unknown() -> None:
    w = R.img_share
    maxp = w.max_penalty["high"]
    f = frame(
        program(img_share=0.1),
        program(img_share=0.1, img_share_basis="imputed", img_share_low=0.0, img_share_high=0.4),
        program(img_share=None, img_share_basis="unknown"),
        program(img_share=0.9),
    )
    s = score(f, applicant())
    raw = 1 - 0.1 / w.saturation
    assert reasons_of(s, 0)["img_share"] == pytest.approx(maxp * raw, abs=0.01)
    assert reasons_of(s, 1)["img_share"] == pytest.approx(maxp * (w.imputed_weight * raw + (1 - w.imputed_weight) * w.unknown_fraction), abs=0.01)
    assert reasons_of(s, 2)["img_share"] == pytest.approx(maxp * w.unknown_fraction, abs=0.01)
    assert reasons_of(s, 3)["img_share"] == 0
    ev = s.reasons.set_index(["acgme_id", "factor"])["evidence"]  # type: ignore[union-attr]
    assert "imputed (interval 0.00-0.40)" in ev[(f["acgme_id"][1], "img_share")]
    assert "unknown" in ev[(f["acgme_id"][2], "img_share")]


@pytest.mark.parametrize(
    ("need", "j1", "h1b", "j1_basis", "eligible", "points"),
    [
        ("none", False, False, "stated", True, 0),
        ("j1", True, False, "stated", True, 0),
        ("j1", False, True, "stated", False, 0),
        ("h1b", True, False, "stated", False, 0),
        ("h1b", False, True, "stated", True, 0),
        ("either", True, False, "stated", True, 0),
        ("either", False, True, "stated", True, 0),
        ("either", False, False, "stated", False, 0),
        ("j1", False, False, "inferred", False, 0),  # FREIDA lists no visa type
        ("j1", None, None, "unknown", True, R.visa.unknown_points),
    ],
)
def test_visa_eligibility(need: str, j1: Any, h1b: Any, j1_basis: str, eligible: bool, points: float) -> None:
    f = frame(program(sponsors_j1=j1, sponsors_h1b=h1b, sponsors_j1_basis=j1_basis, sponsors_h1b_basis=j1_basis))
    s = score(f, applicant(visa_need=need))
    row = s.scores.iloc[0]
    assert bool(row["eligible"]) is eligible
    assert bool(row["excluded_visa"]) is (not eligible)
    assert reasons_of(s)["visa"] == points
    if not eligible:
        assert row["band"] == "excluded" and row["exclusion_reasons"].startswith("visa: needs")
        if j1_basis == "inferred":
            assert "inferred" in row["exclusion_reasons"]
    if points:
        assert "visa sponsorship unknown" in row["cautions"]


def test_step3_caution_for_h1b() -> None:
    f = frame(program(sponsors_j1=False, sponsors_h1b=True))
    assert "Step 3" in one(f, applicant(visa_need="h1b"))["cautions"]
    assert "Step 3" not in one(f, applicant(visa_need="h1b", step3_passed=True))["cautions"]
    assert "Step 3" in one(f, applicant(visa_need="either"))["cautions"]  # only H-1B sponsored


def test_stated_failed_attempts_policy_excludes_only_applicants_with_failures() -> None:
    f = frame(program(failed_attempts_policy="not_considered"), program(failed_attempts_policy="first_attempt_required"), program(failed_attempts_policy="considered"))
    with_fail = score(f, applicant(usmle_failures=1)).scores
    assert with_fail["eligible"].tolist() == [False, False, True]
    assert with_fail["exclusion_reasons"].iloc[0].startswith("failed attempts:")
    assert score(f, applicant(usmle_failures=0)).scores["eligible"].all()


def test_yog_window_and_tolerance() -> None:
    older = R.yog.older_after_years + 3
    f = frame(
        program(yog_limit_years=3, yog_tolerance="stated_limit", yog_tolerance_basis="stated", yog_tolerance_reason='program text: "Graduation within 3 years of application."'),
        program(yog_limit_years=5, yog_tolerance="stated_preference", yog_tolerance_basis="stated"),
        program(yog_tolerance="likely_strict", yog_tolerance_basis="inferred"),
        program(yog_tolerance="likely_tolerant", yog_tolerance_basis="inferred"),
        program(),
    )
    s = score(f, applicant(years_since_graduation=older))
    assert s.scores["eligible"].tolist() == [False, True, True, True, True]
    assert "Graduation within 3 years" in s.scores["exclusion_reasons"].iloc[0]
    pts = [reasons_of(s, i)["yog"] for i in range(5)]
    p = R.yog.points_for_older
    assert pts == [0, p["stated_preference"], p["likely_strict"], p["likely_tolerant"], p["unknown"]]
    recent = score(f, applicant(years_since_graduation=2))
    assert recent.scores["eligible"].all()
    assert [reasons_of(recent, i)["yog"] for i in range(5)] == [0] * 5
    # 4 years out: inside a 5-year preference, outside a 3-year requirement.
    four = score(f, applicant(years_since_graduation=4)).scores
    assert four["eligible"].tolist() == [False, True, True, True, True]


def test_usce_policy_penalises_applicants_without_it() -> None:
    f = frame(program(usce_policy="preferred", usce_months=6), program(usce_policy="required"))
    none = score(f, applicant(usce_hands_on_months=0.0))
    assert [reasons_of(none, i)["usce"] for i in range(2)] == [R.usce.preferred, R.usce.required]
    assert "USCE" in none.scores["cautions"].iloc[0]
    enough = score(f, applicant(usce_hands_on_months=6.0))
    assert [reasons_of(enough, i)["usce"] for i in range(2)] == [0, 0]


def test_bonuses_and_stated_refusal_of_imgs() -> None:
    f = frame(program(new_program=True, acgme_first_year=2022), program(holistic_review=True, holistic_review_basis="stated"), program(imgs_welcome=True, imgs_welcome_basis="stated"), program(imgs_welcome=False, imgs_welcome_basis="stated"))
    s = score(f, applicant())
    assert reasons_of(s, 0)["new_program"] == R.bonuses.new_program
    assert reasons_of(s, 1)["holistic_review"] == R.bonuses.holistic_review
    assert reasons_of(s, 2)["imgs_welcome"] == R.bonuses.imgs_welcome
    assert s.scores["eligible"].tolist() == [True, True, True, False]
    assert bool(s.scores["excluded_imgs"].iloc[3])


def test_unknown_tier_counts_the_stated_neutral_tier() -> None:
    s = score(frame(program(tier=None)), applicant(risk_tier="very_high"))
    neutral = getattr(R.program_tier, R.program_tier.unknown_as)["very_high"]
    assert reasons_of(s)["program_tier"] == neutral
    assert "unknown" in s.reasons["evidence"].iloc[1]  # type: ignore[index]


def test_cautions_for_2016_minimums_ecfmg_and_not_accepting() -> None:
    f = frame(program(ecfmg_required=True, accepting_2026_2027=False), program())
    mins = pd.DataFrame({"acgme_id": [f["acgme_id"][0], f["acgme_id"][1]], "step2_min_score": [220.0, 200.0], "step1_min_score": [None, None]})
    s = score(f, applicant(step2ck_score=215.0, ecfmg_certified=False), minimums_2016=mins).scores
    c0, c1 = s["cautions"]
    assert "Step 2 CK minimum of 220, above 215" in c0 and "stale" in c0
    assert "ECFMG certification" in c0 and "not accepting" in c0
    assert "minimum" not in c1
    # A caution never changes the score.
    assert s["score"].iloc[0] == s["score"].iloc[1]


def test_scores_are_bounded_and_the_bound_is_a_listed_reason() -> None:
    f = frame(program(tier="highly_competitive_academic", img_share=0.0, sponsors_j1=None, sponsors_j1_basis="unknown", sponsors_h1b=None, sponsors_h1b_basis="unknown"))
    s = score(f, applicant(risk_tier="very_high", visa_need="j1"))
    pts = reasons_of(s)
    assert s.scores["score"].iloc[0] == 0
    assert pts["bounds"] > 0
    assert sum(pts.values()) == pytest.approx(0, abs=1e-9)


def test_contributions_json_matches_the_reasons() -> None:
    s = score(frame(program(), program(img_share=0.2)), applicant(), applicant(risk_tier="lower"))
    for i in range(len(s.scores)):
        row = s.scores.iloc[i]
        items = json.loads(row["contributions"])
        assert [x["factor"] for x in items] == list(scoring.FACTORS)
        assert sum(x["points"] for x in items) == pytest.approx(row["score"], abs=1e-6)
        assert {x["factor"]: x["points"] for x in items} == pytest.approx(reasons_of(s, i))


def test_batch_mode_dedupes_keys_and_keeps_flags() -> None:
    f = frame(program(), program(sponsors_j1=False), program(tier="highly_competitive_academic"))
    apps = pd.DataFrame(
        [applicant(visa_need="j1", step2ck_score=float(200 + i)) for i in range(50)]
        + [applicant(visa_need="none", risk_tier="lower")] * 50
    )
    full = scoring.score_programs(scoring.prepare_programs(f), apps)
    fast = scoring.score_programs(scoring.prepare_programs(f), apps, with_text=False, block=1)
    # Step 2 CK only feeds cautions: without texts the 50 J-1 profiles are one key.
    assert len(full.keys) == 51 and len(fast.keys) == 2
    assert fast.reasons is None and "cautions" not in fast.scores
    assert fast.applicant_key.tolist() == [0] * 50 + [1] * 50
    assert full.applicant_key.tolist() == list(range(50)) + [50] * 50
    # Every applicant gets the same score, band and flags either way (text mode rounds each
    # contribution to 0.01).
    cols = ["score", "band", "eligible", *scoring.EXCLUSION_FLAGS]
    a = full.scores.set_index(["key", "program"])
    b = fast.scores.set_index(["key", "program"])
    for i in range(len(apps)):
        for p in range(3):
            x, y = a.loc[(full.applicant_key[i], p), cols], b.loc[(fast.applicant_key[i], p), cols]
            assert x["score"] == pytest.approx(y["score"], abs=0.1)
            assert list(x[cols[1:]].astype(str)) == list(y[cols[1:]].astype(str))
    assert fast.scores["acgme_id"].astype(str).tolist()[:3] == f["acgme_id"].tolist()


def test_risk_tier_is_assessed_when_absent() -> None:
    from imgpipeline.applicant import applicant_frame, load_profile

    profiles = applicant_frame([load_profile(FIXTURES / "profiles" / "very_high_h1b.yaml")], as_of_year=2026)
    s = scoring.score_programs(scoring.prepare_programs(frame(program())), profiles)
    assert s.keys["risk_tier"].tolist() == ["very_high"]


def test_rulebook_weights_cannot_break_the_invariants() -> None:
    raw = R.model_dump()
    bad = json.loads(json.dumps(raw))
    bad["base"]["very_high"] = bad["base"]["lower"] + 1
    with pytest.raises(ValueError, match="base"):
        scoring.ScoringRules.model_validate(bad)
    bad = json.loads(json.dumps(raw))
    bad["img_share"]["max_penalty"]["very_high"] = 0
    with pytest.raises(ValueError, match="img_share"):
        scoring.ScoringRules.model_validate(bad)
    bad = json.loads(json.dumps(raw))
    bad["program_tier"]["highly_competitive_academic"]["high"] = -1
    with pytest.raises(ValueError, match="program_tier"):
        scoring.ScoringRules.model_validate(bad)


# ---- invariants (hypothesis) -----------------------------------------------------------------

bools = st.sampled_from([True, False, None])
programs_st = st.fixed_dictionaries(
    {
        "tier": st.sampled_from([*scoring.PROGRAM_TIERS, None]),
        "img_share": st.one_of(st.none(), st.floats(0, 1)),
        "imputed": st.booleans(),
        "sponsors_j1": bools,
        "sponsors_h1b": bools,
        "visa_basis": st.sampled_from(["stated", "inferred"]),
        "yog": st.sampled_from([None, "likely_strict", "likely_tolerant", "stated_limit", "stated_preference", "stated_no_limit"]),
        "yog_limit": st.integers(1, 10),
        "usce_policy": st.sampled_from([None, "required", "preferred"]),
        "usce_months": st.one_of(st.none(), st.integers(1, 12)),
        "failed": st.sampled_from([None, "not_considered", "first_attempt_required", "considered"]),
        "holistic": bools,
        "welcome": bools,
        "new": bools,
    }
)
applicants_st = st.fixed_dictionaries(
    {
        "visa_need": st.sampled_from(VISA_NEEDS),
        "usmle_failures": st.integers(0, 3),
        "years_since_graduation": st.integers(0, 15),
        "usce_hands_on_months": st.sampled_from([0.0, 1.0, 4.0, 12.0]),
        "step2ck_score": st.one_of(st.none(), st.integers(200, 270).map(float)),
        "ecfmg_certified": st.booleans(),
        "step3_passed": st.booleans(),
    }
)


def _program(d: dict[str, Any]) -> dict[str, Any]:
    share = d["img_share"]
    basis = "unknown" if share is None else ("imputed" if d["imputed"] else "stated")
    vb = lambda v: "unknown" if v is None else d["visa_basis"]  # noqa: E731
    return program(
        tier=d["tier"],
        img_share=share,
        img_share_basis=basis,
        sponsors_j1=d["sponsors_j1"], sponsors_j1_basis=vb(d["sponsors_j1"]),
        sponsors_h1b=d["sponsors_h1b"], sponsors_h1b_basis=vb(d["sponsors_h1b"]),
        yog_tolerance=d["yog"],
        yog_tolerance_basis="unknown" if d["yog"] is None else ("stated" if d["yog"].startswith("stated") else "inferred"),
        yog_limit_years=d["yog_limit"] if d["yog"] in ("stated_limit", "stated_preference") else None,
        usce_policy=d["usce_policy"], usce_months=d["usce_months"] if d["usce_policy"] else None,
        failed_attempts_policy=d["failed"],
        holistic_review=d["holistic"], holistic_review_basis="unknown" if d["holistic"] is None else "stated",
        imgs_welcome=d["welcome"], imgs_welcome_basis="unknown" if d["welcome"] is None else "stated",
        new_program=d["new"], new_program_basis="unknown" if d["new"] is None else "stated",
    )


PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(st.lists(programs_st, min_size=1, max_size=6), applicants_st, st.floats(0, 1), st.floats(0, 1))
def test_a_higher_img_share_never_lowers_a_score(progs: list[dict], app: dict, a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    rows_lo = [_program({**p, "img_share": lo}) for p in progs]
    rows_hi = [_program({**p, "img_share": hi}) for p in progs]
    apps = [applicant(risk_tier=t, **app) for t in TIERS]
    s_lo = score(frame(*rows_lo), *apps).scores
    s_hi = score(frame(*rows_hi), *apps).scores
    assert (s_hi["score"].to_numpy() >= s_lo["score"].to_numpy() - 1e-9).all()


@PROPS
@given(st.lists(programs_st, min_size=1, max_size=6), applicants_st)
def test_a_riskier_tier_never_scores_a_program_higher(progs: list[dict], app: dict) -> None:
    s = score(frame(*[_program(p) for p in progs]), *[applicant(risk_tier=t, **app) for t in TIERS])
    table = s.scores.merge(s.keys[["risk_tier"]].reset_index().rename(columns={"index": "key"}), on=["key", "risk_tier"])
    wide = table.pivot(index="acgme_id", columns="risk_tier", values="score")[list(TIERS)].to_numpy()
    assert (np.diff(wide, axis=1) <= 1e-9).all()


@PROPS
@given(st.lists(programs_st, min_size=1, max_size=6), st.lists(applicants_st, min_size=1, max_size=3), st.sampled_from(TIERS))
def test_an_excluded_program_is_never_eligible_and_reasons_sum(progs: list[dict], apps: list[dict], tier: str) -> None:
    f = frame(*[_program(p) for p in progs])
    s = score(f, *[applicant(risk_tier=tier, **a) for a in apps])
    sc = s.scores
    flags = sc[list(scoring.EXCLUSION_FLAGS)].any(axis=1)
    assert (sc["eligible"] == ~flags).all()
    assert ((sc["exclusion_reasons"] != "") == flags).all()
    assert (sc.loc[~sc["eligible"], "band"] == "excluded").all()
    # Programs that state they refuse IMGs, or that do not sponsor the needed visa, are excluded.
    assert not sc.loc[sc["acgme_id"].isin(f.loc[f["imgs_welcome"].eq(False), "acgme_id"]), "eligible"].any()
    # Reasons add up to the score; scores stay within 0-100.
    sums = s.reasons.groupby(["key", "acgme_id"])["points"].sum()  # type: ignore[union-attr]
    got = sums.reindex(pd.MultiIndex.from_frame(sc[["key", "acgme_id"]])).to_numpy()
    assert np.allclose(got, sc["score"].to_numpy(), atol=1e-9)
    assert sc["score"].between(0, 100).all()


# ---- real programs ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_features() -> pd.DataFrame:
    """Real program_features rows (one of each situation the scorer distinguishes), written
    from a real build of the features."""
    df = pd.read_csv(FIXTURES / "program_features_sample.csv", dtype={"acgme_id": str})
    return TABLES["program_features"].coerce(df)


@pytest.fixture(scope="module")
def sample_tables(sample_features: pd.DataFrame) -> scoring.ScoreTables:
    return scoring.build_program_scores(sample_features)


def test_tier_profiles_are_the_tiers_they_stand_for() -> None:
    profiles = scoring.tier_profiles()
    pairs = set(zip(profiles["risk_tier"], profiles["visa_need"], strict=True))
    assert ("lower", "none") in pairs and ("lower", "j1") not in pairs
    assert ("moderately_low", "j1") in pairs and ("moderately_low", "h1b") not in pairs
    assert {("high", v) for v in VISA_NEEDS} <= pairs and {("very_high", v) for v in VISA_NEEDS} <= pairs
    assert len(pairs) == 12


def test_published_tables_on_real_programs(sample_features: pd.DataFrame, sample_tables: scoring.ScoreTables) -> None:
    ps, reasons = sample_tables.program_scores, sample_tables.score_reasons
    n = len(sample_features)
    assert len(ps) == 12 * n and len(reasons) == 12 * n * len(scoring.FACTORS)
    assert not ps.duplicated(["acgme_id", "risk_tier", "visa_need"]).any()
    sums = reasons.groupby(["acgme_id", "risk_tier", "visa_need"])["points"].sum()
    joined = ps.set_index(["acgme_id", "risk_tier", "visa_need"])["score"]
    assert np.allclose(sums.reindex(joined.index).to_numpy(), joined.to_numpy(), atol=1e-9)
    # Riskier tiers never score a real program higher, for every visa need.
    for visa in VISA_NEEDS:
        wide = ps[ps["visa_need"] == visa].pivot(index="acgme_id", columns="risk_tier", values="score")
        wide = wide[[t for t in TIERS if t in wide.columns]].to_numpy()
        assert (np.diff(wide, axis=1) <= 1e-9).all(), visa
    assert set(ps["acgme_snapshot"].dropna()) == set(sample_features["acgme_snapshot"].dropna())


def test_real_programs_score_as_the_article_says(sample_features: pd.DataFrame, sample_tables: scoring.ScoreTables) -> None:
    ps = sample_tables.program_scores.set_index(["acgme_id", "risk_tier", "visa_need"])
    f = sample_features.set_index("acgme_id")
    elite = f.index[(f["tier"] == "highly_competitive_academic") & (f["img_share_basis"] == "stated")][0]
    heavy = f.index[(f["tier"] == "community") & (f["img_share"] >= 0.7) & (f["img_share_basis"] == "stated") & f["sponsors_j1"].fillna(False)][0]
    for tier in ("high", "very_high"):
        assert ps.loc[(heavy, tier, "none"), "score"] > ps.loc[(elite, tier, "none"), "score"] + 30
        assert ps.loc[(elite, tier, "none"), "band"] == "reach"
    no_visa = f.index[(f["sponsors_j1_basis"] == "inferred") & ~f["sponsors_j1"].fillna(True)][0]
    assert not ps.loc[(no_visa, "high", "j1"), "eligible"]
    assert "FREIDA lists no visa type" in ps.loc[(no_visa, "high", "j1"), "exclusion_reasons"]
    nyu = ps.loc[("1403521292", "moderately_low", "none")]
    assert nyu["band"] == "reach" and nyu["program_tier"] == "highly_competitive_academic"


def test_published_tables_pass_their_suites(sample_tables: scoring.ScoreTables) -> None:
    """Every check of the three suites holds on the sample, except the plausible row counts a
    20-program sample cannot reach (the full table is validated by the refresh)."""
    from imgpipeline.errors import ValidationFailed
    from imgpipeline.validate import validate_frames

    with pytest.raises(ValidationFailed) as info:
        validate_frames(
            [
                (sample_tables.program_scores, TABLES["program_scores"], "test"),
                (sample_tables.score_reasons, TABLES["score_reasons"], "test"),
                (sample_tables.score_validity, TABLES["score_validity"], "test"),
            ],
        )
    failed = {(f.table, f.rule) for f in info.value.failures}
    assert failed == {("program_scores", "table_row_count_to_be_between"), ("score_reasons", "table_row_count_to_be_between")}


def test_validity_report_on_real_programs(sample_tables: scoring.ScoreTables) -> None:
    v = sample_tables.score_validity
    checks = v[v["passed"].notna()]
    assert checks["passed"].all(), checks[checks["passed"] == False]  # noqa: E712
    assert "validity checks passed" in sample_tables.summary_markdown
    elig = v[(v["check"] == "eligible_share")].set_index(["risk_tier", "visa_need"])["value"]
    assert elig[("high", "h1b")] < elig[("high", "j1")] <= elig[("high", "none")]


@pytest.mark.xdist_group("published")
def test_the_refresh_publishes_scores_for_every_program_and_tier(published) -> None:  # type: ignore[no-untyped-def]
    """On the real refresh: a row for every program and (tier, visa need) pair, reasons that
    add up, the curve with its band, every validity check passed."""
    from imgpipeline.publish import current_version, read_table

    folder = current_version(published)
    assert folder is not None
    for name in ("program_scores", "score_reasons", "score_validity", "match_probability_curve"):
        assert (folder / f"{name}.parquet").exists(), name  # one version holds them all
    ps = read_table("program_scores", published)
    programs = read_table("programs", published)
    assert set(ps["acgme_id"]) == set(programs["acgme_id"])
    assert len(ps) == 12 * len(programs)
    reasons = read_table("score_reasons", published)
    sums = reasons.groupby(["acgme_id", "risk_tier", "visa_need"])["points"].sum()
    joined = ps.set_index(["acgme_id", "risk_tier", "visa_need"])["score"]
    assert np.allclose(sums.reindex(joined.index).to_numpy(), joined.to_numpy(), atol=1e-9)
    validity = read_table("score_validity", published)
    assert validity.loc[validity["passed"].notna(), "passed"].all()
    curve = read_table("match_probability_curve", published)
    assert {"p_match_low", "p_match_high"} <= set(curve.columns) and len(curve) > 100


def test_the_scoring_path_imports_neither_prefect_nor_gx() -> None:
    import subprocess
    import sys

    code = (
        "import sys, imgpipeline.scoring, imgpipeline.risk, imgpipeline.applicant, imgpipeline.fees, imgpipeline.match_probability; "
        "bad = [m for m in ('prefect', 'great_expectations') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
