"""Staged: FREIDA program pages, one row per program, typed, without personal contact data."""

from imgpipeline.declare import Column, Table
from imgpipeline.tables._common import acgme_id, state

PROGRAM_TYPES = (
    "University-based",
    "Community-based university affiliated",
    "Community-based",
    "Military-based",
    "Other",
)
F = "FREIDA"


def share(name: str, who: str) -> Column:
    return Column(name, "float64", f"Share of current residents who are {who}; FREIDA's percentage / 100; missing where FREIDA lists none", unit="fraction", source=F, basis="stated", min=0.0, max=1.0)


def flag(name: str, what: str) -> Column:
    return Column(name, "bool", what, source=F, basis="stated")


TABLE = Table(
    name="freida_programs",
    title="FREIDA internal-medicine program pages",
    grain="one row per program (FREIDA program_id = ACGME number)",
    key=("acgme_id",),
    schema_version="1.0",
    source="AMA FREIDA program pages, 2025 scrape (CSV)",
    min_rows=550,
    max_rows=900,
    locator="source_row",
    notes=(
        "Exact repeated rows are collapsed before validation and reported; one id with conflicting values fails it.",
        "`acgme_first_academic_year` appears from the 2025-05-26 snapshot on; older snapshots stage it as missing.",
    ),
    columns=(
        acgme_id(source=F),
        Column("source_row", "int64", "Line of the snapshot CSV the row was read from (header = line 1)", source=F, nullable=False, min=2),
        Column("program_name", "string", "Program name as FREIDA lists it", source=F, nullable=False),
        Column("city", "string", "City as FREIDA lists it", source=F, nullable=False),
        state(F),
        Column("source_url", "string", "FREIDA page the row was scraped from", source=F, pattern=r"^https://freida\.ama-assn\.org/program/\d{10}$"),
        Column("website", "string", "Program website", source=F),
        Column("specialty_title", "category", "FREIDA specialty of the program", source=F, nullable=False, allowed=("Internal Medicine",)),
        Column("affiliated_us_government", "string", "FREIDA's US-government affiliation statement", source=F),
        Column("program_type_stated", "category", "FREIDA 'program best described as'; missing where the page leaves it blank", source=F, basis="stated", allowed=PROGRAM_TYPES),
        Column("accredited_training_length", "int64", "Accredited length of training as FREIDA lists it (one page says 33)", unit="years", source=F, min=0),
        Column("required_training_length", "float64", "Required length of training", unit="years", source=F, min=0, max=10),
        Column("first_year_positions", "int64", "First-year (PGY-1) positions", unit="positions", source=F, basis="stated", min=0, max=200),
        Column("interviews_last_year", "int64", "Interviews conducted last year", unit="interviews", source=F, basis="stated", min=0, max=3000),
        Column("avg_hours_on_duty_y1", "float64", "Average hours on duty per week in the first year", unit="hours/week", source=F, min=0, max=100),
        share("img_share", "international medical graduates (IMGs)"),
        share("do_share", "osteopathic graduates (DOs)"),
        share("usmd_share", "US MD graduates"),
        flag("accepting_2025_2026", "Accepting applications for 2025-2026"),
        flag("accepting_2026_2027", "Accepting applications for 2026-2027"),
        flag("participates_in_eras", "Participates in ERAS"),
        Column("visas_listed", "list<string>", "Visa types FREIDA lists as accepted, as codes (J-1, H-1B, F-1); empty when none listed", source=F, basis="stated", nullable=False, pattern=r"^(?:J-1|H-1B|F-1)$"),
        flag("lists_j1", "FREIDA lists J-1 (through ECFMG) among accepted visas"),
        flag("lists_h1b", "FREIDA lists H-1B among accepted visas"),
        flag("lists_f1", "FREIDA lists F-1 among accepted visas"),
        Column("start_months", "list<string>", "Program start months", source=F),
        Column("acgme_first_year", "int64", "First year of the academic year since which the program is in ACGME records ('2000 - 2001' means 2000 or earlier)", unit="year", source=F, basis="stated", min=1900, max=2100, since="2025-05-26"),
        Column("special_features_text", "string", "Program's own free text ('special features'), with e-mail addresses and phone numbers masked", source=F, basis="stated"),
        Column("data_last_updated", "timestamp", "When FREIDA last updated the page", source=F),
    ),
)
