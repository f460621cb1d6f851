"""The article's program tiers, inferred with the rulebook's thresholds, on real programs."""

from __future__ import annotations

import pytest

from imgpipeline.refresh.features.rules import feature_rules
from imgpipeline.refresh.features.tier import TIERS, tier_of
from imgpipeline.settings import Settings

RULES = feature_rules(Settings()).tier


def tier(ptype, share=None, basis="unknown", positions=None, interviews=None, new=None, rules=RULES):
    return tier_of(ptype, share, basis, positions, interviews, new, rules)


def test_the_rulebook_section_is_complete_and_typed() -> None:
    hc = RULES.highly_competitive_academic
    assert 0 < hc.max_img_share < RULES.hybrid_max_img_share < 1
    assert set(RULES.academic_types).isdisjoint(RULES.community_types)
    assert {RULES.military_tier, RULES.new_program_tier, RULES.fallback_tier} <= set(TIERS)


@pytest.mark.parametrize(
    ("args", "expected", "says"),
    [
        (("university", 0.023, "stated", 95, 500), "highly_competitive_academic", "few IMGs"),
        # large by interviews alone
        (("university", 0.034, "stated", 18, 300), "highly_competitive_academic", ">= 300 interviews"),
        # few IMGs but small: mid-tier, and the reason says why
        (("university", 0.0, "stated", 16, 100), "mid_tier_academic_hybrid", "not large"),
        # large but IMG-friendly university program
        (("university", 0.65, "stated", 48, 400), "mid_tier_academic_hybrid", "IMG share 0.650"),
        # an imputed share never makes a program highly competitive
        (("university", 0.05, "imputed", 40, 400), "mid_tier_academic_hybrid", "needs a stated share"),
        (("other", 0.073, "stated", 69, 475), "highly_competitive_academic", "other program"),
        (("community_university_affiliated", 0.032, "stated", 20, 350), "mid_tier_academic_hybrid", "hybrid"),
        (("community_university_affiliated", 0.62, "stated", 12, 150), "community", "> 0.2"),
        # a large university-affiliated centre with a minority of IMGs is hybrid ...
        (("community_university_affiliated", 0.29, "stated", 55, 600), "mid_tier_academic_hybrid", "large centre"),
        # ... but not when it is smaller, or when most of its residents are IMGs
        (("community_university_affiliated", 0.29, "stated", 39, 600), "community", "> 0.2"),
        (("community_university_affiliated", 0.64, "stated", 75, 502), "community", "> 0.2"),
        (("community_university_affiliated", 0.45, "imputed", 12, 150), "community", "(imputed)"),
        (("community_university_affiliated",), "community", "IMG share unknown"),
        (("community", 0.0, "stated", 10, 100), "community", "community-based program"),
        (("military", 0.0, "stated", 10, 40), RULES.military_tier, "service members"),
        (("unknown", None, "unknown", None, None, True), RULES.new_program_tier, "new program"),
        (("unknown", 0.1, "imputed", 12, 100, False), "mid_tier_academic_hybrid", "hybrid"),
        (("unknown", None, "unknown", None, None, None), RULES.fallback_tier, "fallback"),
    ],
)
def test_each_rule(args: tuple, expected: str, says: str) -> None:
    got, reason = tier(*args)
    assert got == expected
    assert says in reason


def test_the_thresholds_come_from_the_rulebook() -> None:
    strict = RULES.model_copy(
        update={"highly_competitive_academic": RULES.highly_competitive_academic.model_copy(update={"max_img_share": 0.01})}
    )
    assert tier("university", 0.023, "stated", 95, 500)[0] == "highly_competitive_academic"
    assert tier("university", 0.023, "stated", 95, 500, rules=strict)[0] == "mid_tier_academic_hybrid"


@pytest.mark.parametrize(
    ("acgme_id", "expected"),
    [
        ("1403521292", "highly_competitive_academic"),  # NYU Grossman: university, 2.3% IMG, 95 positions
        ("1402411169", "highly_competitive_academic"),  # Mass General: university, 1.6% IMG, 76 positions
        ("1402621208", "highly_competitive_academic"),  # Mayo Clinic Rochester: 'Other', 7.3% IMG, 69 positions
        ("1403512275", "community"),  # Jamaica Hospital Medical Center: community-based, 98.1% IMG
        ("1402121537", "community"),  # Leonard J Chabert Medical Center: community-based, 100% IMG
        ("1404100906", "community"),  # Jefferson Health Northeast: community-based, 34.1% IMG
        ("1400831078", "mid_tier_academic_hybrid"),  # University of Connecticut: university, 65% IMG
        ("1400521067", "mid_tier_academic_hybrid"),  # Kaiser Santa Clara: community-university, 3.2% IMG
        ("1401411007", "highly_competitive_academic"),  # Tripler Army Medical Center: military
        ("1403812339", "mid_tier_academic_hybrid"),  # Cleveland Clinic: 55 positions, 29.2% IMG
        ("1401121100", "mid_tier_academic_hybrid"),  # Miami/Jackson: 51 positions, 27.5% IMG
        ("1403521301", "community"),  # Mount Sinai Morningside/West: 75 positions but 64.1% IMG
    ],
)
def test_real_programs(features, acgme_id: str, expected: str) -> None:
    row = features.program_features.set_index("acgme_id").loc[acgme_id]
    assert row["tier"] == expected, row["tier_reason"]
    assert row["tier_basis"] == "inferred"


def test_every_program_has_a_tier_and_a_reason(features) -> None:
    pf = features.program_features
    assert pf["tier"].isin(TIERS).all()
    assert (pf["tier_basis"] == "inferred").all()
    assert pf["tier_reason"].str.len().gt(20).all()
    counts = pf["tier"].value_counts()
    # the article's shape: most IM programs are community, a minority elite
    assert counts["community"] > counts["mid_tier_academic_hybrid"] > counts["highly_competitive_academic"] > 0
    # every military program sits in the rulebook's military tier
    assert (pf.loc[pf["program_type"] == "military", "tier"] == RULES.military_tier).all()
