"""YOG tolerance: stated windows where programs state one; otherwise an inference with its
reason, or unknown."""

from __future__ import annotations

import pandas as pd
import pytest

from imgpipeline.refresh.features.rules import feature_rules
from imgpipeline.refresh.features.yog import LEVELS, _inferred
from imgpipeline.settings import Settings

RULES = feature_rules(Settings()).yog


@pytest.mark.parametrize(
    ("args", "level", "says"),
    [
        (("community", 0.98, "stated", True, "community"), "likely_tolerant", "sponsors J-1"),
        (("community_university_affiliated", 0.6, "stated", True, "community"), "likely_tolerant", ">= 0.5"),
        # IMG-heavy but no J-1 listed: the rule needs J-1, so no inference
        (("community", 0.98, "stated", False, "community"), None, "no J-1 sponsorship listed"),
        # an imputed share never supports an inference
        (("community", 0.9, "imputed", True, "community"), None, "no stated IMG share"),
        (("university", 0.7, "stated", True, "mid_tier_academic_hybrid"), None, "program type university"),
        (("community", 0.3, "stated", True, "community"), None, "between 0.05 and 0.5"),
        (("university", 0.02, "stated", True, "highly_competitive_academic"), "likely_strict", "tier highly_competitive_academic"),
        (("community", 0.01, "stated", True, "community"), "likely_strict", "<= 0.05"),
    ],
)
def test_each_inference(args: tuple, level: str | None, says: str) -> None:
    got, reason = _inferred(*args, RULES)
    assert got == level
    assert says in reason
    if level:
        assert reason.startswith("inferred, not a program policy")


def test_the_j1_condition_is_a_rulebook_switch() -> None:
    relaxed = RULES.model_copy(update={"tolerant_requires_j1": False})
    assert _inferred("community", 0.98, "stated", False, "community", relaxed)[0] == "likely_tolerant"


def test_stated_windows_on_real_programs(features) -> None:
    pf = features.program_features.set_index("acgme_id")
    # KCU GME Consortium: "International Requirements: Graduation within 3 years of application."
    assert pf.loc["1402800915", ["yog_limit_years", "yog_tolerance", "yog_tolerance_basis"]].tolist() == [3, "stated_limit", "stated"]
    assert "Graduation within 3 years of application" in pf.loc["1402800915", "yog_tolerance_reason"]
    # Jefferson Health Northeast: "Recent medical school graduates (within the past 5 years) are preferred as well."
    assert pf.loc["1404100906", ["yog_limit_years", "yog_tolerance"]].tolist() == [5, "stated_preference"]
    assert (pf["yog_limit_years_basis"] == "stated").sum() == 2


def test_inferred_levels_on_real_programs(features) -> None:
    pf = features.program_features.set_index("acgme_id")
    assert pf.loc["1403521292", "yog_tolerance"] == "likely_strict"  # NYU Grossman
    assert pf.loc["1402121537", "yog_tolerance"] == "likely_tolerant"  # Leonard J Chabert: 100% IMG, J-1
    assert pd.isna(pf.loc["1403512275", "yog_tolerance"])  # Jamaica Hospital: 98% IMG, no visa listed
    assert "no J-1 sponsorship listed" in pf.loc["1403512275", "yog_tolerance_reason"]


def test_every_level_says_how_it_is_known(features) -> None:
    pf = features.program_features
    assert pf["yog_tolerance"].dropna().isin(LEVELS).all()
    inferred = pf[pf["yog_tolerance_basis"] == "inferred"]
    assert inferred["yog_tolerance"].isin(["likely_tolerant", "likely_strict"]).all()
    assert inferred["yog_tolerance_reason"].str.startswith("inferred, not a program policy").all()
    unknown = pf[pf["yog_tolerance_basis"] == "unknown"]
    assert unknown["yog_tolerance"].isna().all() and len(unknown) > 0
    stated = pf[pf["yog_tolerance_basis"] == "stated"]
    assert stated["yog_tolerance"].str.startswith("stated_").all()

