"""Program type, region, selectivity and history: features read from FREIDA and ACGME fields.

These are facts as the sources state them (basis stated), or arithmetic on them (interviews
per position, accreditation age), with the rulebook's new-program threshold applied."""

from __future__ import annotations

import pandas as pd

from imgpipeline.refresh.features.frame import feature, where
from imgpipeline.refresh.features.rules import FeatureRules

# FREIDA's "program best described as" -> our type codes.
PROGRAM_TYPES = {
    "University-based": "university",
    "Community-based university affiliated": "community_university_affiliated",
    "Community-based": "community",
    "Military-based": "military",
    "Other": "other",
}
TYPE_CODES = (*PROGRAM_TYPES.values(), "unknown")

# US Census Bureau regions (census.gov "Census Regions and Divisions of the United States");
# DC is in the South. Territories are not in a census region.
CENSUS_REGIONS = {
    "Northeast": "CT ME MA NH RI VT NJ NY PA",
    "Midwest": "IL IN MI OH WI IA KS MN MO NE ND SD",
    "South": "DE DC FL GA MD NC SC VA WV AL KY MS TN AR LA OK TX",
    "West": "AZ CO ID MT NV NM UT WY AK CA HI OR WA",
}
STATE_REGION = {s: r for r, states in CENSUS_REGIONS.items() for s in states.split()}
REGIONS = (*CENSUS_REGIONS, "Territory")

# FREIDA's earliest academic year, "2000 - 2001", means "in ACGME records since 2000 or
# earlier": an age computed from it is a lower bound.
ACGME_RECORDS_START = 2000


def as_of_year(programs: pd.DataFrame) -> int:
    """The year of the FREIDA snapshot the features describe (ages are counted to it)."""
    years = pd.to_datetime(programs["freida_as_of"].dropna().unique()).year
    if len(years) != 1:
        raise ValueError(f"programs carry {len(years)} FREIDA as-of years; expected one")
    return int(years[0])


def program_type(programs: pd.DataFrame) -> pd.DataFrame:
    """FREIDA's type, coded; ``unknown`` where the page leaves it blank or FREIDA has none."""
    stated = programs["program_type_stated"]
    code = stated.map(PROGRAM_TYPES)
    known = code.notna()
    return feature(
        programs.index,
        code,
        where(known, "stated", "unknown"),
        "freida",
        where(
            known,
            "FREIDA 'program best described as': " + stated.astype(str),
            where(programs["in_freida"], "FREIDA leaves the program type blank", "no FREIDA page"),
        ),
        unknown_value="unknown",
    )


def census_region(programs: pd.DataFrame) -> pd.DataFrame:
    region = programs["state"].map(STATE_REGION).fillna("Territory")
    return feature(
        programs.index,
        region,
        "stated",
        "acgme",
        "Census region of the ACGME state " + programs["state"].astype(str),
    )


def _stated_field(programs: pd.DataFrame, column: str, label: str) -> pd.DataFrame:
    """A FREIDA field as stated; unknown where the page leaves it blank or there is no page."""
    v = programs[column]
    known = v.notna()
    return feature(
        programs.index,
        v.astype(object).where(known, None),
        where(known, "stated", "unknown"),
        "freida",
        where(
            known,
            f"FREIDA {label}: " + v.astype(str),
            where(programs["in_freida"], f"FREIDA lists no {label}", "no FREIDA page"),
        ),
    )


def selectivity(programs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """First-year positions, interviews last year and interviews per position (interviews /
    positions, where FREIDA states both and positions > 0)."""
    pos = programs["first_year_positions"].astype("Float64")
    iv = programs["interviews_last_year"].astype("Float64")
    ok = pos.gt(0).fillna(False) & iv.notna()
    ipp = (iv / pos.where(pos.gt(0))).round(2)
    return {
        "first_year_positions": _stated_field(programs, "first_year_positions", "first-year positions"),
        "interviews_last_year": _stated_field(programs, "interviews_last_year", "interviews last year"),
        "interviews_per_position": feature(
            programs.index,
            ipp.astype(object).where(ok, None),
            where(ok, "stated", "unknown"),
            "freida",
            where(
                ok,
                "FREIDA interviews last year / first-year positions = "
                + iv.astype(str) + " / " + pos.astype(str),
                "FREIDA lacks interviews or lists no first-year positions",
            ),
        ),
    }


def history(programs: pd.DataFrame, rules: FeatureRules) -> tuple[dict[str, pd.DataFrame], pd.Series]:
    """ACGME first year, accreditation age (a lower bound for programs in ACGME records since
    2000 or earlier), and the new-program flag. Where FREIDA has no first year, an ACGME
    status of initial accreditation marks a program new (inferred: initial accreditation also
    follows re-accreditation)."""
    year = as_of_year(programs)
    first = programs["acgme_first_year"].astype("Int64")
    known = first.notna()
    age = (year - first).astype("Int64")
    lower = first.le(ACGME_RECORDS_START).fillna(False).astype(bool)
    lower_bound = lower.astype("boolean").where(known, pd.NA)
    age_text = age.astype(str) + where(lower, " or more (FREIDA's '2000 - 2001' means 2000 or earlier)", "")
    max_age = rules.new_program.max_age_years
    new_stated = age.le(max_age)
    initial = programs["accreditation_status"].fillna("").str.startswith("Initial Accreditation")
    new_value = where(known, new_stated.astype(object), where(initial, True, None))
    new_basis = where(known, "stated", where(initial, "inferred", "unknown"))
    first_text = first.astype(str) + "-" + (first + 1).astype(str)
    features = {
        "acgme_first_year": feature(
            programs.index,
            first.astype(object).where(known, None),
            where(known, "stated", "unknown"),
            "freida",
            where(
                known,
                "FREIDA first ACGME academic year " + first_text,
                where(programs["in_freida"], "FREIDA lists no first academic year", "no FREIDA page"),
            ),
        ),
        "accreditation_age_years": feature(
            programs.index,
            age.astype(object).where(known, None),
            where(known, "stated", "unknown"),
            "freida",
            where(known, f"{year} (FREIDA as-of year) - " + first.astype(str) + " = " + age_text, "no first academic year"),
        ),
        "new_program": feature(
            programs.index,
            new_value,
            new_basis,
            where(known, "freida", "acgme"),
            where(
                known,
                "first ACGME academic year " + first_text + f"; new = at most {max_age} years before {year} (rulebook program_features.new_program)",
                where(
                    initial,
                    "no FREIDA first year; ACGME status '" + programs["accreditation_status"].astype(str) + "' (initial accreditation marks new programs)",
                    "no FREIDA first year and continued ACGME accreditation: age unknown",
                ),
            ),
        ),
    }
    return features, lower_bound


def accepting(programs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """FREIDA's accepting-applications flags, as stated."""
    return {
        col: _stated_field(programs, col, label)
        for col, label in (
            ("accepting_2025_2026", "accepting applications for 2025-2026"),
            ("accepting_2026_2027", "accepting applications for 2026-2027"),
        )
    }
