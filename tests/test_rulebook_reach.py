"""A rulebook passed as ``Settings(rulebook_path=...)`` reaches every rule of the advice (issue
15): each change in a modified copy is seen by parse_profile / recommend / the fee schedule /
batch with those settings, while the default settings still give the old answers."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from imgpipeline.advice import batch, lists, plan, readiness, risk
from imgpipeline.advice.fees import eras_fee, eras_schedule
from imgpipeline.advice.profile import ApplicantProfile, ProfileError, bounds, parse_profile
from imgpipeline.rulebook import DEFAULT_PATH
from imgpipeline.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "moderately_low_j1.yaml"   # Step 2 CK 223 (2025), 3 letters
EXAMPLES_CSV = ROOT / "docs" / "examples" / "profiles_batch.csv"


def _modified(tmp: Path, profile_bounds: bool = True) -> Path:
    """A copy with one change per section (``profile_bounds``: also the applicant bound and
    passing score the example breaks; without them, the example is still a valid profile)."""
    d = yaml.safe_load(DEFAULT_PATH.read_text())
    next(f for f in d["risk"]["factors"] if f["id"] == "step2ck_215_or_less")["when"][0]["value"] = 225
    d["list_size"]["very_high"]["min"] = 151
    next(s for s in d["plan"]["steps"] if s["id"] == "usce")["title"] = "A CHANGED TITLE"
    if profile_bounds:
        d["applicant"]["max_letters"] = 2
        d["usmle_passing"]["step2ck"][-1]["min_score"] = 230
    next(r for r in d["readiness"] if r["id"] == "step1_not_passed")["says"] = "A CHANGED READINESS RULE"
    d["fees"]["eras_residency"]["bands"][0]["usd_each"] = 13
    d["lists"]["preferred_state_log_odds"] = 0.7
    path = tmp / "rulebook.yaml"
    path.write_text(yaml.safe_dump(d, sort_keys=False))
    return path


@pytest.fixture
def settings_pair(tmp_path: Path) -> tuple[Settings, Settings]:
    return Settings(), Settings(rulebook_path=_modified(tmp_path))


def _example() -> dict:
    return yaml.safe_load(EXAMPLE.read_text())


def test_every_section_follows_the_settings(settings_pair: tuple[Settings, Settings]) -> None:
    default, mod = settings_pair
    prof = parse_profile(_example(), settings=default)
    assert risk.assess(prof, 2025, settings=default).tier == "moderately_low"
    assert risk.assess(prof, 2025, settings=mod).tier == "high"
    assert risk.list_sizes(default)["very_high"].min == 150 and risk.list_sizes(mod)["very_high"].min == 151
    assert next(s for s in plan.plan_rules(mod).steps if s.id == "usce").title == "A CHANGED TITLE"
    assert next(s for s in plan.plan_rules(default).steps if s.id == "usce").title != "A CHANGED TITLE"
    assert bounds(default).max_letters == 20 and bounds(mod).max_letters == 2
    assert next(r for r in readiness.readiness_rules(mod) if r.id == "step1_not_passed").says == "A CHANGED READINESS RULE"
    assert eras_fee(30, default) == 330 and eras_fee(30, mod) == 390 and eras_schedule(mod).cost(1) == 13
    assert lists.list_rules(default).preferred_state_log_odds == 0.4 and lists.list_rules(mod).preferred_state_log_odds == 0.7


def test_profiles_are_checked_against_the_settings(settings_pair: tuple[Settings, Settings]) -> None:
    default, mod = settings_pair
    parse_profile(_example(), settings=default)
    parse_profile(_example())   # the environment's rulebook, read for this call
    with pytest.raises(ProfileError) as exc:
        parse_profile(_example(), settings=mod)
    problems = dict(exc.value.problems)
    assert problems["us_im_letters"] == "must be between 0 and 2, got 3"
    assert "Step 2 CK minimum passing score (230; rulebook usmle_passing" in problems["step2ck"]


def test_rules_are_read_from_the_settings_given_never_a_default_copy() -> None:
    with pytest.raises(TypeError):
        risk.rules()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        lists.list_rules()  # type: ignore[call-arg]
    # A profile validated without parse_profile's settings is refused, naming the way in.
    with pytest.raises(TypeError, match="parse_profile"):
        ApplicantProfile.model_validate(_example())


def test_the_rulebook_is_read_once_per_settings_object(settings_pair: tuple[Settings, Settings]) -> None:
    default, mod = settings_pair
    assert risk.rules(mod) is risk.rules(mod) and plan.plan_rules(mod) is plan.plan_rules(mod)
    assert risk.rules(mod) is not risk.rules(default)


@pytest.mark.slow
def test_recommend_and_batch_follow_the_settings(published: Settings, tmp_path: Path) -> None:
    from imgpipeline.advice.published import load_published
    from imgpipeline.advice.recommend import recommend

    mod = published.model_copy(update={"rulebook_path": _modified(tmp_path, profile_bounds=False)})
    mod._rulebook = None
    data = load_published(published)
    prof = parse_profile(_example(), settings=published)
    old, new = recommend(prof, data, as_of_year=2025, settings=published), recommend(prof, data, as_of_year=2025, settings=mod)
    # The prepared arrays follow the rulebook's content: settings built anew over the same
    # rulebook reuse them, another rulebook gets its own.
    from imgpipeline.advice import core

    anew = Settings(processed_dir=published.processed_dir, raw_dir=published.raw_dir)
    assert core.prepare(data, anew) is core.prepare(data, published) is not core.prepare(data, mod)
    assert old.assessment.tier == "moderately_low" and new.assessment.tier == "high"
    assert "step2ck_215_or_less" in new.assessment.factor_ids
    n = new.size["programs"]
    assert new.fee["usd"] == 13 * min(n, 30) + 30 * max(n - 30, 0)
    assert old.fee["usd"] == 11 * min(old.size["programs"], 30) + 30 * max(old.size["programs"] - 30, 0)
    titles = {s.id: s.title for s in new.plan.steps} if new.plan else {}
    if "usce" in titles:
        assert titles["usce"] == "A CHANGED TITLE"
    profiles = batch.read_profiles(EXAMPLES_CSV, as_of_year=2025, settings=published)
    a_old, _ = batch.score_chunk(profiles, data, published)
    a_new, _ = batch.score_chunk(profiles, data, mod)
    very_high = a_old["risk_tier"] == "very_high"
    assert (a_old.loc[very_high, "list_size_min"] == 150).all() and (a_new.loc[a_new["risk_tier"] == "very_high", "list_size_min"] == 151).all()
    assert very_high.any()
    strict = published.model_copy(update={"rulebook_path": _modified(tmp_path / "strict" if (tmp_path / "strict").mkdir() is None else tmp_path)})
    strict._rulebook = None
    with pytest.raises(batch.BatchInputError, match="must be between 0 and 2, got 3"):
        batch.read_profiles(EXAMPLES_CSV, as_of_year=2025, settings=strict)
