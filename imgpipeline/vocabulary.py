"""The project's shared words: closed sets that tables, rules and the advice all name.

Declared once here so a table declaration imports words, not logic."""

from __future__ import annotations

# The applicant risk tiers of the article's framework, least to most risky.
RISK_TIERS: tuple[str, ...] = ("lower", "moderately_low", "high", "very_high")
# The article's program tiers, most to least IMG-friendly.
PROGRAM_TIERS: tuple[str, ...] = ("community", "mid_tier_academic_hybrid", "highly_competitive_academic")
# Bands of P(interview) (rulebook interview.bands); excluded when a hard exclusion applies.
BANDS: tuple[str, ...] = ("reach", "target", "likely", "excluded")
# Values of every *_basis column.
BASES: tuple[str, ...] = ("stated", "imputed", "inferred", "unknown")
# A program's sponsorship of one visa: stated yes / no, inferred no (FREIDA lists no visa type
# at all), or unknown.
VISA_STATES: tuple[str, ...] = ("yes", "no", "no_inferred", "unknown")
# The basis of an interview-model constant.
COEFFICIENT_BASES: tuple[str, ...] = ("sourced", "calibrated", "judgement")
# An applicant's visa need.
VISA_NEEDS: tuple[str, ...] = ("none", "j1", "h1b", "either")
# The terms of the interview-chance logit, in the order reasons are shown.
INTERVIEW_TERMS: tuple[str, ...] = (
    "baseline",          # calibration + openness: a typical non-US IMG's chance at this program
    "program_facts",     # stated openings: new program, holistic review, IMGs welcome
    "step2ck",           # graded Step 2 CK, costing more at selective programs
    "minimums_2016",     # below a minimum the program stated in 2016 (dated)
    "failures",          # failed USMLE attempts
    "yog",               # years since graduation, by the program's YOG tolerance
    "usce",              # the applicant's US clinical experience
    "usce_policy",       # a program's stated USCE requirement or preference
    "letters",           # fewer than two US IM letters (stated)
    "recent_clinical",   # no recent clinical work (stated)
    "gaps",              # unexplained gaps (stated)
    "visa",              # needed visa with unknown sponsorship; H-1B without Step 3
    "overlap",           # screens that overlap: all but the largest applicant screen count in part
)
# Tolerance of older graduates (imgpipeline/refresh/features/yog.py).
YOG_LEVELS: tuple[str, ...] = ("stated_no_limit", "likely_tolerant", "unknown", "likely_strict", "stated_preference", "stated_limit")
# The academic year of FREIDA's accepting-applications flag the model reads
# (program_features.accepting_2026_2027 -> program_openness.accepting_applications).
FREIDA_ACCEPTING_YEAR: tuple[int, int] = (2026, 2027)
# US states and territories, two-letter postal codes.
US_STATES: tuple[str, ...] = tuple(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ "
    "NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP".split()
)
