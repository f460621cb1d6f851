"""Published: one row per program, every feature as a value and its basis (docs/features.md)."""

from imgpipeline.declare import Column, Table
from imgpipeline.tables import programs as programs_table
from imgpipeline.tables._common import acgme_id, provenance, state
from imgpipeline.vocabulary import BASES

P = programs_table.TABLE
F = "FREIDA"
A = "ACGME"
TEXT = "FREIDA special_features_text (the program's own words)"

PROGRAM_TYPES = ("university", "community_university_affiliated", "community", "military", "other", "unknown")
TIERS = ("highly_competitive_academic", "mid_tier_academic_hybrid", "community")
REGIONS = ("Northeast", "Midwest", "South", "West", "Territory")
YOG_LEVELS = ("stated_limit", "stated_preference", "stated_no_limit", "likely_tolerant", "likely_strict")


def basis(feature: str, allowed: tuple[str, ...] = BASES) -> Column:
    return Column(
        f"{feature}_basis",
        "category",
        f"How `{feature}` is known: stated (a source or the program says so), imputed (a "
        "model), inferred (a rulebook rule) or unknown (then the value is missing)",
        nullable=False,
        allowed=allowed,
    )


def feat(name: str, dtype: str, description: str, bases: tuple[str, ...] = BASES, **kw) -> tuple[Column, Column]:
    return Column(name, dtype, description, basis="/".join(bases), **kw), basis(name, bases)  # type: ignore[arg-type]


TABLE = Table(
    name="program_features",
    title="Program features for IMG applicants",
    grain="one row per ACGME-accredited IM program",
    key=("acgme_id",),
    schema_version="2.0",
    published=True,
    source="programs (ACGME list joined with FREIDA); features derived by imgpipeline.refresh.features",
    description=(
        "For every feature a value and `<feature>_basis`: stated (FREIDA, ACGME or the program's "
        "own text says so), imputed (IMG share only, with an interval), inferred (a rule in the "
        "rulebook's program_features section; tier and YOG tolerance) or unknown (value missing). "
        "Each value's evidence is in `feature_evidence`."
    ),
    min_rows=550,
    max_rows=900,
    notes=(
        "Inferred values (tier, YOG tolerance levels likely_*) are inferences, not program policies.",
        "Imputed IMG shares of new programs forecast a resident body that barely exists yet; the "
        "cross-validated error is measured on programs with a stated share (run summary, docs/features.md).",
    ),
    columns=(
        acgme_id(),
        P.column("program_name"),
        state(A),
        *feat("program_type", "category", "FREIDA's 'program best described as', coded; unknown where blank or no FREIDA page", ("stated", "unknown"), source=F, nullable=False, allowed=PROGRAM_TYPES),
        *feat("tier", "category", "The article's program tier, inferred from type, IMG share, size and age (rulebook program_features.tier)", ("inferred",), source="derived", nullable=False, allowed=TIERS),
        Column("tier_reason", "string", "Which signals placed the program in its tier, and the thresholds", source="derived", nullable=False),
        *feat("census_region", "category", "US Census region of the program's state (Territory for PR and other territories)", ("stated",), source=A, nullable=False, allowed=REGIONS),
        *feat("img_share", "float64", "Share of current residents who are IMGs: FREIDA's where stated (never changed), else imputed", ("stated", "imputed", "unknown"), unit="fraction", source=F, min=0.0, max=1.0),
        Column("img_share_low", "float64", "Lower end of the imputed IMG share's prediction interval (nominal coverage: rulebook img_share.interval_coverage); missing where stated or unknown", unit="fraction", source="derived", min=0.0, max=1.0),
        Column("img_share_high", "float64", "Upper end of that interval", unit="fraction", source="derived", min=0.0, max=1.0),
        *feat("sponsors_j1", "bool", "Sponsors J-1 visas: FREIDA's list, or the program's text where it says otherwise; inferred false where FREIDA lists no visa type", ("stated", "inferred", "unknown"), source=F),
        *feat("sponsors_h1b", "bool", "Sponsors H-1B visas (as sponsors_j1)", ("stated", "inferred", "unknown"), source=F),
        *feat("sponsors_f1", "bool", "Accepts F-1 (as sponsors_j1)", ("stated", "inferred", "unknown"), source=F),
        Column("visa_text_conflict", "bool", "The program's text contradicts FREIDA's visa list (the text's value is used)", source=TEXT, nullable=False),
        *feat("first_year_positions", "int64", "First-year (PGY-1) positions", ("stated", "unknown"), unit="positions", source=F, min=0, max=200),
        *feat("interviews_last_year", "int64", "Interviews conducted last year", ("stated", "unknown"), unit="interviews", source=F, min=0, max=3000),
        *feat("interviews_per_position", "float64", "Interviews last year per first-year position (where positions > 0)", ("stated", "unknown"), unit="interviews/position", source=F, min=0, max=1000),
        *feat("acgme_first_year", "int64", "First year of the academic year since which the program is in ACGME records (2000 means 2000 or earlier)", ("stated", "unknown"), unit="year", source=F, min=1900, max=2100),
        *feat("accreditation_age_years", "int64", "Years from the first ACGME academic year to the FREIDA snapshot's year", ("stated", "unknown"), unit="years", source=F, min=0, max=200),
        Column("accreditation_age_is_lower_bound", "bool", "True where the first year is FREIDA's earliest (2000): the program may be older", source=F),
        *feat("new_program", "bool", "Accredited within the rulebook's new_program.max_age_years (stated from FREIDA's first year; inferred from ACGME initial accreditation where FREIDA has none)", ("stated", "inferred", "unknown"), source="FREIDA, ACGME"),
        *feat("accepting_2025_2026", "bool", "Accepting applications for 2025-2026", ("stated", "unknown"), source=F),
        *feat("accepting_2026_2027", "bool", "Accepting applications for 2026-2027", ("stated", "unknown"), source=F),
        *feat("yog_limit_years", "int64", "Graduation-year window the program states (years since graduation), required or preferred", ("stated", "unknown"), unit="years", source=TEXT, min=0, max=40),
        *feat("yog_tolerance", "category", "Tolerance of older graduates: stated (limit, preference, no limit) or inferred (likely_tolerant / likely_strict: an inference, not a policy)", ("stated", "inferred", "unknown"), source="derived", allowed=YOG_LEVELS),
        Column("yog_tolerance_reason", "string", "The quote, or the signals and rule behind the inferred level, or why it is unknown", source="derived", nullable=False),
        *feat("usce_policy", "category", "US clinical experience the program states it requires or prefers", ("stated", "unknown"), source=TEXT, allowed=("required", "preferred")),
        *feat("usce_months", "int64", "Months of US clinical experience the program states", ("stated", "unknown"), unit="months", source=TEXT, min=0, max=60),
        *feat("ecfmg_required", "bool", "The program states that IMGs must hold ECFMG certification", ("stated", "unknown"), source=TEXT),
        *feat("failed_attempts_policy", "category", "The program's stated policy on failed USMLE/COMLEX attempts", ("stated", "unknown"), source=TEXT, allowed=("not_considered", "first_attempt_required", "considered")),
        *feat("holistic_review", "bool", "The program states it reviews applications holistically", ("stated", "unknown"), source=TEXT),
        *feat("imgs_welcome", "bool", "The program states IMGs are welcome (true) or excludes them (false, e.g. osteopathic education required)", ("stated", "unknown"), source=TEXT),
        *provenance("acgme", "ACGME program list"),
        *provenance("freida", "FREIDA program pages"),
    ),
)
