"""Staged: the ACGME list of accredited IM programs, one row per program."""

from imgpipeline.declare import Column, Table
from imgpipeline.tables._common import acgme_id, state

ACCREDITATION_STATUSES = (
    "Continued Accreditation",
    "Continued Accreditation with Warning",
    "Initial Accreditation",
    "Initial Accreditation with Warning",
    "Probationary Accreditation",
    "Voluntary Withdrawal",
    "Withdrawal of Accreditation",
    "Accreditation Withheld",
)

TABLE = Table(
    name="acgme_programs",
    title="ACGME accredited internal-medicine programs",
    grain="one row per ACGME program number",
    key=("acgme_id",),
    schema_version="1.0",
    source="ACGME report 'Internal Medicine Programs, Academic Year 2024-2025' (PDF)",
    min_rows=550,
    max_rows=900,
    locator="source_page",
    columns=(
        acgme_id(),
        Column("program_name", "string", "Program name as ACGME lists it", source="ACGME", nullable=False),
        Column("site", "string", "First line of the program address (institution or site), when it has one", source="ACGME"),
        Column("street", "string", "Remaining address lines above the city line, joined with ', '", source="ACGME", nullable=False),
        Column("city", "string", "City of the program address", source="ACGME", nullable=False),
        state("ACGME"),
        Column("zip", "string", "ZIP code (5 or 5+4 digits)", source="ACGME", nullable=False, pattern=r"^\d{5}(?:-\d{4})?$"),
        Column("accreditation_status", "category", "ACGME accreditation status", source="ACGME", nullable=False, allowed=ACCREDITATION_STATUSES),
        Column("effective_date", "date", "Date the accreditation status took effect", source="ACGME", nullable=False),
        Column("offers_preliminary", "bool", "Whether the program offers preliminary positions", source="ACGME", nullable=False),
        Column("source_page", "int64", "Page of the PDF report the row was read from", source="ACGME", nullable=False, min=1, max=500),
    ),
)
