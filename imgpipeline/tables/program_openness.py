"""Published: each program's side of the interview-chance model (one row per program)."""

from imgpipeline.declare import Column, Table
from imgpipeline.tables import programs as programs_table
from imgpipeline.tables._common import acgme_id, provenance, state
from imgpipeline.vocabulary import BASES, PROGRAM_TIERS, VISA_STATES, YOG_LEVELS

D = "derived (imgpipeline.refresh.interview; constants in the rulebook's interview section)"


def flag(name: str, what: str, nullable: bool = False) -> Column:
    return Column(name, "bool", what, source=D, nullable=nullable)


def num(name: str, what: str, unit: str = "", lo: float | None = None, hi: float | None = None, nullable: bool = False) -> Column:
    return Column(name, "float64", what, unit=unit, source=D, nullable=nullable, min=lo, max=hi)


TABLE = Table(
    name="program_openness",
    title="The program side of the interview-chance model",
    grain="one row per ACGME-accredited IM program",
    key=("acgme_id",),
    schema_version="3.0",
    published=True,
    source="program_features, programs (city) and program_minimums_2016, with the rulebook's interview section",
    description=(
        "Everything the interview-chance model reads about a program: its openness to IMGs "
        "(elasticity x log of its yearly IMG interview volume, interviews last year x IMG share, "
        "against the mean program's) with the interval its IMG share's interval gives, stated "
        "openings as log-odds, selectivity, visa sponsorship, YOG tolerance, stated policies and "
        "2016 minimums. With `interview_coefficients`, any applicant's P(interview) can be "
        "computed from the Parquet alone (docs/reading.md shows it in DuckDB SQL)."
    ),
    min_rows=600,
    max_rows=900,
    columns=(
        acgme_id(),
        programs_table.TABLE.column("program_name"),
        Column("city", "string", "City (ACGME)", source="programs"),
        state("ACGME"),
        Column("program_type", "string", "Program type (program_features)", source="program_features", nullable=False),
        Column("program_tier", "category", "The article's program tier (inferred; unknown counts as mid-tier)", source="program_features", basis="inferred", nullable=False, allowed=PROGRAM_TIERS),
        Column("tier_reason", "string", "Why the program is in its tier", source="program_features"),
        num("selectivity", "0 community, 0.5 mid-tier academic or hybrid, 1 highly competitive academic (rulebook): how much more a Step 2 CK point counts", lo=0.0, hi=1.0),
        num("img_share", "IMG share of residents: stated, imputed, or (unknown) the median stated share", "fraction", 0.0, 1.0),
        num("img_share_low", "Low end of the IMG share's interval", "fraction", 0.0, 1.0),
        num("img_share_high", "High end of the IMG share's interval", "fraction", 0.0, 1.0),
        Column("img_share_basis", "category", "Basis of img_share", source="program_features", nullable=False, allowed=BASES),
        num("interviews_last_year", "Interviews last year: stated, or first-year positions x the median interviews per position (imputed), or the median (unknown)", "interviews", 0.0),
        Column("interviews_basis", "category", "Basis of interviews_last_year", source=D, nullable=False, allowed=BASES),
        num("img_interviews", "Estimated IMG interviews a year: interviews_last_year x img_share (at least the rulebook's floor)", "interviews", 0.0),
        num("img_interviews_low", "img_interviews at the low end of the IMG share's interval", "interviews", 0.0),
        num("img_interviews_high", "img_interviews at the high end of the IMG share's interval", "interviews", 0.0),
        num("openness", "elasticity x log(img_interviews / mean over programs): the program's log-odds before the calibration offset", "log-odds", -20.0, 20.0),
        num("openness_low", "openness at img_interviews_low", "log-odds", -20.0, 20.0),
        num("openness_high", "openness at img_interviews_high", "log-odds", -20.0, 20.0),
        Column("openness_basis", "category", "stated when both the IMG share and the interviews are stated; unknown when the share is unknown; else imputed", source=D, nullable=False, allowed=BASES),
        Column("openness_evidence", "string", "The openness in words: share x interviews = IMG interviews a year", source=D, nullable=False),
        num("program_bonus", "Stated openings as log-odds: new program, holistic review, IMGs welcome (rulebook)", "log-odds", 0.0, 5.0),
        Column("program_bonus_reasons", "list<string>", "Which stated openings make up program_bonus, in the rulebook's order (new program, holistic review, IMGs welcome); empty for none", source=D, nullable=False),
        Column("visa_j1", "category", "J-1 sponsorship: yes / no (stated) / no_inferred (FREIDA lists no visa type) / unknown", source=D, nullable=False, allowed=VISA_STATES),
        Column("visa_h1b", "category", "H-1B sponsorship: yes / no / no_inferred / unknown", source=D, nullable=False, allowed=VISA_STATES),
        Column("yog_tolerance", "category", "Tolerance of older graduates (program_features; unknown when none)", source="program_features", nullable=False, allowed=YOG_LEVELS),
        num("yog_limit_years", "A stated graduation window, years", "years", 0.0, nullable=True),
        Column("usce_policy", "category", "Stated USCE policy: required / preferred / empty for none stated", source="program_features", nullable=False, allowed=("", "required", "preferred")),
        num("usce_months", "Stated USCE months", "months", 0.0, nullable=True),
        flag("excludes_failed_attempts", "The program states it does not consider applicants with failed attempts"),
        flag("excludes_imgs", "The program states it does not consider IMGs"),
        flag("military", "A military program (left out for civilians)"),
        flag("accepting_applications", "FREIDA's accepting-applications flag for 2026-2027 (missing: not stated)", nullable=True),
        flag("ecfmg_required", "The program states it requires ECFMG certification"),
        num("step1_min_2016", "Step 1 minimum for interview the program listed in 2016 FREIDA (dated)", "score", 1.0, 300.0, nullable=True),
        num("step2_min_2016", "Step 2 CK minimum for interview the program listed in 2016 FREIDA (dated)", "score", 1.0, 300.0, nullable=True),
        *provenance("acgme", "ACGME program list"),
        *provenance("freida", "FREIDA program pages"),
    ),
)
