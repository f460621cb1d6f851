"""The personal list builder: list rules on small frames (hypothesis for the invariants), and the
docs' two example profiles on a real published version (hard exclusions checked against the
published program_features, sizes against the article, files, CLI, imports, docs commands)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from imgpipeline import recommend as rc
from imgpipeline.applicant import load_profile, parse_profile
from imgpipeline.cli import app
from imgpipeline.declare import EMAIL_PATTERN, PHONE_PATTERN
from imgpipeline.fees import eras_fee, eras_schedule
from imgpipeline.risk import TIERS, list_sizes
from imgpipeline.rulebook import section
from imgpipeline.scoring import BANDS

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"
MODERATE = EXAMPLES / "moderately_low_j1.yaml"
VERY_HIGH = EXAMPLES / "very_high_h1b.yaml"
YEAR = 2026  # the season the examples are written for
R = rc.rules()


# ---- the rulebook section -----------------------------------------------------------------


def test_rules_cover_every_tier_and_refuse_bad_mixes() -> None:
    assert set(R.mix) == set(R.avoid) == set(TIERS)
    raw = section("recommend")
    bad = {**raw, "mix": {**raw["mix"], "high": {"likely": 0.5, "target": 0.3, "reach": 0.1}}}
    with pytest.raises(ValueError, match="add up to 1"):
        rc.RecommendRules.model_validate(bad)
    bad = {**raw, "avoid": {**raw["avoid"], "high": {"program_tiers": ["famous"]}}}
    with pytest.raises(ValueError, match="unknown program tiers"):
        rc.RecommendRules.model_validate(bad)


# ---- build_lists on synthetic programs ----------------------------------------------------


def synthetic(n: int, seed: int = 0, **kw: Any) -> rc.PublishedPrograms:
    """``n`` programs in the columns of program_features (community, stated IMG share 0.6,
    accepting), with ``kw`` columns overriding."""
    rng = np.random.default_rng(seed)
    f = pd.DataFrame(
        {
            "acgme_id": [f"140{i:07d}" for i in range(n)],
            "program_name": [f"Program {i}" for i in range(n)],
            "state": rng.choice(["NY", "NJ", "TX", "CA", "IL"], n),
            "tier": "community",
            "tier_basis": "inferred",
            "img_share": 0.6,
            "img_share_basis": "stated",
            "sponsors_j1": True,
            "sponsors_j1_basis": "stated",
            "sponsors_h1b": False,
            "sponsors_h1b_basis": "stated",
            "accepting_2026_2027": True,
        }
    )
    for k, v in kw.items():
        f[k] = v
    return rc.programs_from_frames(f)


def plan_for(data: rc.PublishedPrograms, score: np.ndarray, eligible: np.ndarray, tier: str, preferred: np.ndarray | None = None) -> rc.ListPlan:
    bands = np.where(score >= 65, BANDS.index("likely"), np.where(score >= 45, BANDS.index("target"), BANDS.index("reach")))
    pref = np.zeros_like(eligible) if preferred is None else preferred
    return rc.build_lists(score[None, :], bands[None, :], eligible[None, :], np.array([TIERS.index(tier)]), pref[None, :], data)


def test_list_holds_the_tiers_maximum_or_every_candidate() -> None:
    data = synthetic(400)
    score = np.linspace(90, 10, 400)
    for tier in TIERS:
        size = list_sizes()[tier]
        plan = plan_for(data, score, np.ones(400, dtype=bool), tier)
        assert plan.n_listed[0] == size.max
        few = np.zeros(400, dtype=bool)
        few[:37] = True
        plan = plan_for(data, score, few, tier)
        assert plan.n_listed[0] == 37 and plan.n_candidates[0] == 37
        assert set(np.flatnonzero(plan.rank[0])) == set(range(37))


def test_band_mix_caps_each_band_and_spills_places_it_cannot_fill() -> None:
    data = synthetic(400)
    # 300 likely, 60 target, 40 reach programs for a moderately-low applicant (list of 120).
    score = np.r_[np.full(300, 70.0), np.full(60, 50.0), np.full(40, 30.0)]
    plan = plan_for(data, score, np.ones(400, dtype=bool), "moderately_low")
    listed = plan.rank[0] > 0
    mix = R.mix["moderately_low"]
    n = list_sizes()["moderately_low"].max
    assert listed[:300].sum() == int(mix["likely"] * n)
    assert listed[300:360].sum() == int(mix["target"] * n)
    assert listed[360:].sum() == n - int(mix["likely"] * n) - int(mix["target"] * n)
    # No likely programs: their places go to the best remaining (target before reach).
    score = np.r_[np.full(100, 50.0), np.full(300, 30.0)]
    plan = plan_for(data, score, np.ones(400, dtype=bool), "very_high")
    assert plan.n_listed[0] == list_sizes()["very_high"].max
    assert (plan.rank[0][:100] > 0).all()


def test_avoided_and_not_accepting_programs_are_left_out_and_counted() -> None:
    tiers = ["highly_competitive_academic"] * 10 + ["community"] * 290
    share = [0.6] * 290 + [0.02] * 10
    accepting = [True] * 280 + [False] * 20
    data = synthetic(300, tier=tiers, img_share=share, accepting_2026_2027=accepting)
    score = np.full(300, 60.0)
    for tier in TIERS:
        plan = plan_for(data, score, np.ones(300, dtype=bool), tier)
        status = plan.status[0]
        avoid = R.avoid[tier]
        n_elite = 10 if "highly_competitive_academic" in avoid.program_tiers else 0
        assert (status == rc.STATUS.index("avoided_program_tier")).sum() == n_elite
        n_few = 10 if avoid.stated_img_share_at_most is not None else 0
        assert (status == rc.STATUS.index("avoided_few_imgs")).sum() == n_few
        assert (status == rc.STATUS.index("not_accepting")).sum() == (20 - n_few if R.skip_not_accepting else 0)
        assert not (plan.rank[0] > 0)[status != rc.STATUS.index("listed")].any()


def test_a_preferred_state_reorders_within_reach_but_never_lists_an_excluded_program() -> None:
    data = synthetic(300)
    score = np.linspace(70, 66, 300)  # all likely
    eligible = np.ones(300, dtype=bool)
    eligible[-5:] = False
    preferred = np.zeros(300, dtype=bool)
    preferred[-10:] = True  # the five lowest eligible programs and five excluded ones
    plan = plan_for(data, score, eligible, "lower", preferred)
    rank = plan.rank[0]
    assert (rank[-5:] == 0).all()
    assert sorted(rank[-10:-5]) == [1, 2, 3, 4, 5]


def test_long_shots_are_left_out_counted_and_never_fill_the_size() -> None:
    """R6: a program scoring below the rulebook's floor is not listed, even when the list is
    short of the article's size; the floor leaves every other program alone."""
    floor = R.long_shot_below
    assert floor is not None and 0 < floor < 45  # below the target band: only reach programs
    data = synthetic(100)
    score = np.r_[np.full(50, 50.0), np.full(20, floor), np.full(30, floor - 0.01)]
    for tier in TIERS:
        plan = plan_for(data, score, np.ones(100, dtype=bool), tier)
        status = plan.status[0]
        assert plan.n_listed[0] == plan.n_candidates[0] == 70 < list_sizes()[tier].min
        assert (status[70:] == rc.STATUS.index("long_shot")).all() and (plan.rank[0][70:] == 0).all()
        assert (plan.rank[0][:70] > 0).all()
    # Without the floor (rulebook long_shot_below: null) every eligible program qualifies.
    no_floor = rc.RecommendRules.model_validate({**section("recommend"), "long_shot_below": None})
    bands = np.where(score >= 45, BANDS.index("target"), BANDS.index("reach"))
    plan = rc.build_lists(score[None, :], bands[None, :], np.ones((1, 100), dtype=bool), np.array([TIERS.index("very_high")]), np.zeros((1, 100), dtype=bool), data, no_floor)
    assert plan.n_listed[0] == 100


def test_ties_go_to_the_higher_img_share() -> None:
    """Equal scores: the higher IMG share first, an unknown share last, then program order."""
    share = [0.3, np.nan, 0.9, 0.6, 0.9]
    data = synthetic(5, img_share=share)
    plan = plan_for(data, np.full(5, 70.0), np.ones(5, dtype=bool), "lower")
    assert plan.rank[0].tolist() == [4, 5, 1, 3, 2]
    # The score still comes first: a higher score beats a higher share.
    plan = plan_for(data, np.array([71.0, 70, 70, 70, 70]), np.ones(5, dtype=bool), "lower")
    assert plan.rank[0].tolist() == [1, 5, 2, 4, 3]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scores=st.lists(st.floats(0, 100), min_size=220, max_size=220),
    eligible=st.lists(st.booleans(), min_size=220, max_size=220),
    preferred=st.lists(st.booleans(), min_size=220, max_size=220),
    tier=st.sampled_from(TIERS),
)
def test_list_invariants(scores: list[float], eligible: list[bool], preferred: list[bool], tier: str) -> None:
    data = synthetic(220, seed=1, accepting_2026_2027=[i % 17 != 0 for i in range(220)])
    s, e, p = np.array(scores), np.array(eligible), np.array(preferred)
    plan = plan_for(data, s, e, tier, p)
    rank = plan.rank[0]
    listed = rank > 0
    n = int(plan.n_listed[0])
    assert not (listed & ~e).any()                                 # never an excluded program
    assert n == min(list_sizes()[tier].max, int(plan.n_candidates[0]))
    assert sorted(rank[listed]) == list(range(1, n + 1))           # ranks 1..n
    key = s + R.preferred_state_points * p
    order = np.argsort(rank[listed])
    assert (np.diff(key[listed][order]) <= 1e-9).all()             # ranked by score + preference


# ---- the examples on a real published version ---------------------------------------------


@pytest.fixture(scope="module")
def data(published) -> rc.PublishedPrograms:  # type: ignore[no-untyped-def]
    return rc.load_published(published)


@pytest.fixture(scope="module")
def moderate(data: rc.PublishedPrograms) -> rc.Recommendation:
    return rc.recommend(load_profile(MODERATE), data, as_of_year=YEAR)


@pytest.fixture(scope="module")
def very_high(data: rc.PublishedPrograms) -> rc.Recommendation:
    return rc.recommend(load_profile(VERY_HIGH), data, as_of_year=YEAR)


def published_features(data: rc.PublishedPrograms, rec: rc.Recommendation) -> pd.DataFrame:
    return data.features.set_index("acgme_id").loc[rec.programs["acgme_id"]]


@pytest.mark.xdist_group("published")
def test_moderately_low_j1_example(data: rc.PublishedPrograms, moderate: rc.Recommendation) -> None:
    assert moderate.tier == "moderately_low"
    assert set(moderate.assessment.factor_ids) == {"step2ck_below_230", "visa_needed"}
    size = list_sizes()["moderately_low"]
    assert (size.min, size.max) == (80, 120)  # the article: "Apply to 80-120 IM programs"
    assert size.min <= moderate.n_listed <= size.max
    # Enough programs qualify, so the list is full and says what ranks after it.
    assert moderate.n_candidates > size.max and moderate.n_listed == size.max
    assert "within the article's 80-120" in moderate.size_note
    f = published_features(data, moderate)
    # Visa: no listed program states (or is inferred) not to sponsor a J-1; an unknown one is
    # listed with a caution to confirm.
    j1 = f["sponsors_j1"].astype("boolean")
    assert not j1.eq(False).fillna(False).any()
    assert moderate.programs.loc[j1.isna().to_numpy(), "cautions"].str.contains("visa sponsorship unknown").all()
    assert moderate.excluded["excluded_visa"] == int(data.features["sponsors_j1"].astype("boolean").eq(False).fillna(False).sum())
    # "Mix of community and some mid-tier academic programs"; no elite centres.
    assert moderate.mix_by_program_tier["community"] > moderate.mix_by_program_tier["mid_tier_academic_hybrid"] > 0
    assert moderate.mix_by_program_tier["highly_competitive_academic"] == 0
    assert sum(moderate.mix.values()) == moderate.n_listed
    # Preferred states (NY, NJ, Midwest) come first among programs of the same band.
    prefs = set(load_profile(MODERATE).preferred_state_codes)
    assert moderate.preferred_listed == int(moderate.programs["state"].isin(prefs).sum()) > 0
    for band, rows in moderate.programs.groupby("band"):
        key = rows["score"] + R.preferred_state_points * rows["preferred_state"]
        assert key.is_monotonic_decreasing or (np.diff(key.to_numpy()) <= 1e-9).all(), band


@pytest.mark.xdist_group("published")
def test_very_high_h1b_example(data: rc.PublishedPrograms, very_high: rc.Recommendation) -> None:
    assert very_high.tier == "very_high"
    assert {"usmle_multiple_failures", "long_yog_visa_no_usce", "visa_h1b_only", "no_usce", "yog_over_5"} <= set(very_high.assessment.factor_ids)
    size = list_sizes()["very_high"]
    assert (size.min, size.max, size.open_ended) == (150, 200, True)  # "150-200+"
    f = published_features(data, very_high)
    # Hard exclusions, read from program_features itself (not from the scorer's flags):
    assert not f["sponsors_h1b"].astype("boolean").eq(False).fillna(False).any()
    assert not f["failed_attempts_policy"].isin(["not_considered", "first_attempt_required"]).any()
    limit = pd.to_numeric(f["yog_limit_years"], errors="coerce")
    assert not ((f["yog_tolerance"] == "stated_limit") & (limit < YEAR - 2018)).any()
    assert not f["imgs_welcome"].astype("boolean").eq(False).fillna(False).any()
    # Fewer programs qualify than the article's 150: every one is listed and the note says why.
    h1b = int((~data.features["sponsors_h1b"].astype("boolean").eq(False).fillna(False)).sum())
    assert very_high.n_eligible <= h1b < size.min
    assert very_high.n_listed == very_high.n_candidates < size.min
    note = very_high.size_note
    assert f"fewer than the article's {size.text()}" in note
    assert f"needed visa not sponsored {very_high.excluded['excluded_visa']}" in note
    assert any("consider being flexible with J-1" in n for n in very_high.notes)
    # "Heavily skewed toward community programs and IMG-heavy institutions": no elite centres,
    # no programs with a stated IMG share at or below the threshold.
    assert very_high.mix_by_program_tier["highly_competitive_academic"] == 0
    stated = f["img_share_basis"] == "stated"
    assert (f.loc[stated, "img_share"] > R.avoid["very_high"].stated_img_share_at_most).all()
    # R6: no long shot pads the list; the note says the list stops there, and why.
    assert (very_high.programs["score"] >= R.long_shot_below).all()
    assert very_high.left_out["long_shot"] > 0 and "the list stops there" in note
    shots = very_high.all_programs[very_high.all_programs["status"] == "long_shot"]
    assert len(shots) == very_high.left_out["long_shot"] and (shots["score"] < R.long_shot_below).all()
    # The chance at the applicant's Step 2 CK says it is the score's alone.
    assert very_high.match_probability is not None
    assert "not in this figure" in very_high.match_probability["basis"]


@pytest.mark.xdist_group("published")
@pytest.mark.parametrize("which", ["moderate", "very_high"])
def test_rows_carry_reasons_evidence_and_provenance(which: str, request: pytest.FixtureRequest) -> None:
    rec: rc.Recommendation = request.getfixturevalue(which)
    rows = rec.programs
    assert list(rows["rank"]) == list(range(1, rec.n_listed + 1))
    assert (rows["status"] == "listed").all() and (rows["exclusion_reasons"] == "").all()
    for c, score in zip(rows["contributions"].head(30), rows["score"].head(30), strict=True):
        parts = json.loads(c)
        assert {p["factor"] for p in parts} >= {"base", "program_tier", "img_share", "visa"}
        assert all(p["evidence"] and p["basis"] for p in parts)
        assert sum(p["points"] for p in parts) == pytest.approx(score, abs=0.05)  # points rounded to 0.01
    assert rows["acgme_snapshot"].str.match(r"^acgme_programs@").all()
    assert (rows["published_version"] == rec.version).all()
    # The status table accounts for every program exactly once.
    assert len(rec.all_programs) == rec.n_programs and rec.all_programs["acgme_id"].is_unique
    assert (rec.all_programs["status"] == "listed").sum() == rec.n_listed


@pytest.mark.xdist_group("published")
def test_fee_estimate_follows_the_rulebook_schedule(moderate: rc.Recommendation, very_high: rc.Recommendation) -> None:
    s = eras_schedule()
    for rec in (moderate, very_high):
        assert rec.fee.usd == eras_fee(rec.n_listed)
        assert (rec.fee.season, rec.fee.as_of) == (s.season, s.as_of)
        assert rec.fee.usd_at_min == eras_fee(rec.list_size.min) and rec.fee.usd_at_max == eras_fee(rec.list_size.max)
    # 120 programs: 30 x $11 + 90 x $30 = $3,030; a $3,000 budget covers 119.
    assert moderate.fee.usd == 30 * 11 + 90 * 30 and moderate.fee.budget_covers == 119


@pytest.mark.xdist_group("published")
def test_files_hold_the_list(moderate: rc.Recommendation, tmp_path: Path) -> None:
    files = moderate.write(tmp_path)
    csv = pd.read_csv(files["csv"], dtype={"acgme_id": str})
    pq = pd.read_parquet(files["parquet"])
    doc = json.loads(files["json"].read_text())
    assert len(csv) == len(pq) == len(doc["programs"]) == moderate.n_listed
    assert list(pq["acgme_id"]) == list(csv["acgme_id"]) == [r["acgme_id"] for r in doc["programs"]]
    assert doc["risk_tier"] == "moderately_low" and doc["fee"]["usd"] == moderate.fee.usd
    assert [f["id"] for f in doc["factors"]] == list(moderate.assessment.factor_ids)
    assert isinstance(doc["programs"][0]["contributions"], list)
    assert len(pd.read_csv(files["all_programs"])) == moderate.n_programs
    text = "".join(p.read_text() for p in (files["csv"], files["json"], files["all_programs"]))
    assert not re.search(EMAIL_PATTERN, text) and not re.search(PHONE_PATTERN, text)


@pytest.mark.xdist_group("published")
def test_a_version_without_features_is_refused(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{}")
    with pytest.raises(rc.NotPublished, match="no program_features"):
        rc.load_published(tmp_path)
    with pytest.raises(rc.NotPublished, match="neither a published version"):
        rc.load_published(tmp_path / "nothing")


@pytest.mark.xdist_group("published")
def test_the_path_imports_neither_prefect_nor_gx(published) -> None:  # type: ignore[no-untyped-def]
    code = (
        "import sys\n"
        "from imgpipeline.applicant import load_profile\n"
        "from imgpipeline.recommend import recommend, renderables\n"
        f"rec = recommend(load_profile({str(VERY_HIGH)!r}), {str(published.processed_dir)!r})\n"
        "renderables(rec)\n"
        "print(rec.n_listed)\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout.splitlines()
    assert int(out[0]) > 0
    loaded = {m.split(".")[0] for m in out[1].split()}
    assert "imgpipeline" in loaded
    assert not loaded & {"prefect", "great_expectations", "dask", "distributed"}


@pytest.mark.xdist_group("published")
def test_cli_prints_the_table_and_writes_the_files(published, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(
        app, ["recommend", str(MODERATE), "--processed-dir", str(published.processed_dir), "--out", str(tmp_path / "out"), "--rows", "5"]
    )
    assert result.exit_code == 0, result.output
    flat = re.sub(r"\s+", " ", result.output)
    assert "Moderately low risk" in flat and "Your list: first 5 of 120" in flat
    assert "ERAS fee for 120 IM programs: $3,030" in flat
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"recommendations.csv", "recommendations.parquet", "recommendation.json", "all_programs.csv"}


def test_cli_names_the_bad_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("graduation_year: 2020\nstep2ck: {score: 350}\n")
    result = CliRunner().invoke(app, ["recommend", str(bad), "--processed-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "step2ck.score" in re.sub(r"\s+", " ", result.output)


# ---- docs/recommend.md: its commands run and its numbers are the real ones ----------------


def doc_commands() -> list[list[str]]:
    text = (ROOT / "docs" / "recommend.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    return [shlex.split(line) for b in blocks for line in b.splitlines() if line.startswith("imgpipeline recommend ")]


@pytest.mark.xdist_group("published")
def test_the_docs_example_commands_run_and_match_the_docs(published, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    commands = doc_commands()
    assert {Path(c[2]).name for c in commands} >= {MODERATE.name, VERY_HIGH.name}
    text = re.sub(r"\s+", " ", (ROOT / "docs" / "recommend.md").read_text())
    monkeypatch.chdir(ROOT)
    for argv in commands:
        args = [a for a in argv[1:]] + ["--processed-dir", str(published.processed_dir), "--out", str(tmp_path / Path(argv[2]).stem)]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, (argv, result.output)
        rec = rc.recommend(load_profile(ROOT / argv[2]), published)
        # The counts the docs quote are this run's: tier, list size, exclusions, fee.
        assert f"{rec.assessment.label}: {rec.n_listed} programs listed, {rec.n_eligible} of {rec.n_programs} eligible" in text
        assert f"ERAS fee ${rec.fee.usd:,.0f}" in text


def test_the_docs_list_every_batch_input_column() -> None:
    from imgpipeline.batch import INPUT_COLUMNS

    text = (ROOT / "docs" / "recommend.md").read_text()
    for col, (_, meaning) in INPUT_COLUMNS.items():
        assert f"| `{col}` | {meaning} |" in text, col


def test_recommend_accepts_a_profile_built_in_code() -> None:
    profile = parse_profile({"graduation_year": 2024, "step2ck": {"score": 240}, "usce": {"hands_on_months": 3}, "us_im_letters": 2})
    data = synthetic(150)
    rec = rc.recommend(profile, data, as_of_year=YEAR)
    assert rec.tier == "lower" and rec.n_listed == list_sizes()["lower"].max
    assert rec.match_probability is None  # no curve in this version
