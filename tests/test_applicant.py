"""The applicant profile: YAML in, validated fields, clear errors naming the field."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from imgpipeline.advice.profile import (
    APPLICANT_COLUMNS,
    ProfileError,
    applicant_frame,
    load_profile,
    parse_profile,
    profile_from_json,
)
from imgpipeline.settings import Settings

SETTINGS = Settings()  # the rules every call here is given

PROFILES = Path(__file__).parent / "fixtures" / "profiles"
YEAR = date.today().year


def test_loads_the_example_yaml() -> None:
    p = load_profile(PROFILES / "moderately_low_j1.yaml", SETTINGS)
    assert p.step2ck is not None and p.step2ck.score == 223
    assert p.visa_need == "j1"  # "J-1" normalised
    assert p.usce.total_months == 5
    assert p.preferred_states == ("NY", "NJ", "midwest")
    assert {"NY", "NJ", "IL", "OH"} <= set(p.preferred_state_codes)
    assert p.usmle_failures == 0


def test_failures_are_counted_per_step() -> None:
    p = load_profile(PROFILES / "very_high_h1b.yaml", SETTINGS)
    assert (p.step1.failures, p.step2ck.failures, p.step3.failures) == (1, 1, 0)  # type: ignore[union-attr]
    assert p.usmle_failures == 2
    p = parse_profile({"graduation_year": 2020, "step1": {"passed": False, "attempts": 2}}, settings=SETTINGS)
    assert p.step1.failures == 2


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"graduation_year": 2020, "step2ck": {"score": 350}}, "step2ck.score", "between 1 and 300"),
        ({"graduation_year": YEAR + 1}, "graduation_year", "in the future"),
        ({"graduation_year": 2020, "usce": {"hands_on_months": -1}}, "usce.hands_on_months", "negative"),
        ({"graduation_year": 2020, "usce": {"observership_months": -0.5}}, "usce.observership_months", "negative"),
        ({"graduation_year": 2020, "step1": {"score": 0}}, "step1.score", "between 1 and 300"),
        ({"graduation_year": 2020, "step1": {"attempts": 0}}, "step1.attempts", "attempts"),
        ({"graduation_year": 2020, "visa_need": "O-1"}, "visa_need", "J-1"),
        ({"graduation_year": 2020, "preferred_states": ["XX"]}, "preferred_states", "Census region"),
        ({"graduation_year": 2020, "us_im_letters": -1}, "us_im_letters", "between 0"),
        ({"graduation_year": 2020, "budget_usd": -5}, "budget_usd", "between 0"),
        ({"graduation_year": 2020, "step3": {"taken": False, "passed": True}}, "step3", "taken is false"),
        ({"graduation_year": 2020, "step2ck": {"score": 230, "year": 2010}}, "profile", "before graduation"),
        ({"step2ck": {"score": 230}}, "graduation_year", "required"),
        ({"graduation_year": 2020, "name": "A. Person"}, "name", "not a profile field"),
    ],
)
def test_bad_values_name_the_field(data: dict, field: str, words: str) -> None:
    with pytest.raises(ProfileError) as info:
        parse_profile(data, settings=SETTINGS)
    problems = dict(info.value.problems)
    assert field in problems, problems
    assert words in problems[field]
    assert field in str(info.value)


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(ProfileError) as info:
        load_profile(PROFILES / "bad.yaml", SETTINGS)
    fields = {f for f, _ in info.value.problems}
    assert {"step2ck.score", "graduation_year", "usce.hands_on_months", "visa_need", "preferred_states"} <= fields
    assert "bad.yaml" in str(info.value)


def test_not_a_mapping() -> None:
    with pytest.raises(ProfileError, match="mapping"):
        parse_profile(["graduation_year", 2020], settings=SETTINGS)  # type: ignore[arg-type]


def test_a_json_body_is_read_with_the_same_checks() -> None:
    """The API's body: not JSON names the body; JSON goes through ``parse_profile``; the error
    keeps its problems when pickled (an advice process raises it in the web server)."""
    import pickle

    assert profile_from_json(b'{"graduation_year": 2020}', settings=SETTINGS) == parse_profile({"graduation_year": 2020}, settings=SETTINGS)
    with pytest.raises(ProfileError) as info:
        profile_from_json(b"{not json", settings=SETTINGS)
    assert [f for f, _ in info.value.problems] == ["body"] and "not valid JSON" in info.value.problems[0][1]
    with pytest.raises(ProfileError) as info:
        profile_from_json(b'{"graduation_year": 2020, "budget_usd": -5}', "request body", settings=SETTINGS)
    again = pickle.loads(pickle.dumps(info.value))
    assert type(again) is ProfileError and again.problems == info.value.problems and str(again) == str(info.value)
    assert "request body" in str(again) and "budget_usd" in str(again)


def test_applicant_frame_derives_the_rule_inputs() -> None:
    a = load_profile(PROFILES / "moderately_low_j1.yaml", SETTINGS)
    b = load_profile(PROFILES / "very_high_h1b.yaml", SETTINGS)
    df = applicant_frame([a, b], as_of_year=2026)
    assert list(df.columns) == list(APPLICANT_COLUMNS)
    assert df["years_since_graduation"].tolist() == [2, 8]
    assert df["graduation_to_step2ck_years"].tolist() == [1, 1]
    assert df["usmle_failures"].tolist() == [0, 2]
    assert df["step3_passed"].tolist() == [False, True]
    assert df["visa_need"].tolist() == ["j1", "h1b"]
    assert df["step2ck_score"].tolist() == [223.0, 214.0]
    none_yet = applicant_frame([parse_profile({"graduation_year": 2024}, settings=SETTINGS)])
    assert bool(none_yet["step2ck_taken"].iloc[0]) is False
    assert none_yet["step2ck_score"].isna().all()
