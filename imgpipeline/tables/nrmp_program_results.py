"""Published: NRMP program results in Florida, fill by program code and year."""

from imgpipeline.declare import Column, Table
from imgpipeline.tables._common import provenance, state

N = "NRMP"
CODE_PATTERN = r"^\d{4}[0-9A-Z]{3}[A-Z]\d$"
TRACKS = ("categorical", "preliminary", "advanced", "physician", "primary", "fellowship", "other")

TABLE = Table(
    name="nrmp_program_results",
    title="NRMP program results, Florida, 2020-2026",
    grain="one row per NRMP program code and Match year",
    key=("program_code", "year"),
    schema_version="2.0",
    published=True,
    source="NRMP Main Match and Specialties Matching Service program results, Florida only (CSV)",
    description=(
        "Positions offered (quota) and filled (matched) per program and year, as NRMP reports "
        "them for Florida. NRMP codes are not ACGME numbers: join on `program_code` to "
        "`nrmp_crosswalk` for the ACGME id. A quota of 0 means no positions in that year's "
        "Match (the program did not take part, or did not exist yet): `fill_rate` is missing "
        "there, never 0."
    ),
    min_rows=1000,
    max_rows=20000,
    locator="source_row",
    notes=(
        "Internal medicine = specialty code 140 (`is_internal_medicine`): categorical (C), "
        "preliminary (P) and primary-care (M) tracks.",
        "Code 1104040R0 is on two rows of the snapshot with years that do not overlap; they are merged.",
    ),
    columns=(
        Column("program_code", "string", "NRMP program code IIIISSSTN: institution (4 digits), specialty (3), track letter, track number", source=N, nullable=False, pattern=CODE_PATTERN),
        Column("year", "int64", "Match year", unit="year", source=N, nullable=False, min=2000, max=2100),
        Column("match", "category", "Which match: Main (Main Residency Match) or Specialty (Specialties Matching Service)", source=N, nullable=False, allowed=("Main", "Specialty")),
        Column("sponsor", "string", "Sponsoring institution as NRMP lists it", source=N, nullable=False),
        Column("sponsor_cleaned", "string", "Sponsoring institution as cleaned by the dashboard's authors (site named where a sponsor runs several)", source=N, nullable=False),
        Column("sponsor_city", "string", "City of the sponsoring institution", source=N, nullable=False),
        Column("site_city", "string", "City of the program's site as cleaned by the dashboard's authors (sometimes a campus name, e.g. 'Lawnwood', 'Tamiami')", source=N, nullable=False),
        state(N),
        Column("program_label", "string", "NRMP program label (specialty, and site or track after '/')", source=N, nullable=False),
        Column("specialty", "string", "Specialty, cleaned (e.g. 'Internal Medicine', 'Medicine-Preliminary')", source=N, nullable=False),
        Column("institution_code", "string", "Institution part of the code (4 digits)", source=N, nullable=False, pattern=r"^\d{4}$"),
        Column("specialty_code", "string", "Specialty part of the code (3 characters: digits in the Main Match, e.g. 140 = internal medicine; letters and digits in some Specialties Matching Service codes, e.g. R02)", source=N, nullable=False, pattern=r"^[0-9A-Z]{3}$"),
        Column("track_code", "string", "Track letter of the code", source=N, nullable=False, pattern=r"^[A-Z]$"),
        Column("track", "category", "Track: C categorical, P preliminary, A advanced, R physician (reserved for applicants with prior GME), M primary, F fellowship; other letters 'other'", source=N, nullable=False, allowed=TRACKS),
        Column("is_internal_medicine", "bool", "Specialty code 140 (internal medicine, any track)", source=N, nullable=False),
        Column("snhaf", "bool", "Flagged 'SNHAF' in the source (Safety Net Hospital Alliance of Florida member, as the dashboard's authors mark it)", source=N, nullable=False),
        Column("quota", "int64", "Positions offered in the Match that year", unit="positions", source=N, basis="stated", nullable=False, min=0, max=500),
        Column("matched", "int64", "Positions filled in the Match that year", unit="positions", source=N, basis="stated", nullable=False, min=0, max=500),
        Column("unfilled", "int64", "quota - matched", unit="positions", source=N, nullable=False, min=0, max=500),
        Column("offered", "bool", "Whether the program offered positions that year (quota > 0)", source=N, nullable=False),
        Column("fill_rate", "float64", "matched / quota; missing where quota is 0", unit="fraction", source=N, min=0.0, max=1.0),
        Column("source_row", "int64", "Line of the snapshot CSV the values come from (header = line 1)", source=N, nullable=False, min=2),
        *provenance("nrmp", "NRMP Florida program results", full_date=False),
    ),
)
