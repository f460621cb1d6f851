"""Published: one row per ACGME-accredited IM program, with its FREIDA fields."""

from imgpipeline.declare import Column, Table
from imgpipeline.tables import acgme_programs as acgme
from imgpipeline.tables import freida_programs as freida
from imgpipeline.tables._common import provenance

A = acgme.TABLE
F = freida.TABLE


def from_freida(name: str, rename: str | None = None) -> Column:
    """A FREIDA column carried into the published table; nullable, since six ACGME programs
    have no FREIDA page."""
    c = F.column(name)
    return Column(
        rename or name, c.dtype, c.description, unit=c.unit, source=c.source, basis=c.basis,
        nullable=True, min=c.min, max=c.max, allowed=c.allowed, pattern=c.pattern,
    )


TABLE = Table(
    name="programs",
    title="Accredited internal-medicine programs",
    grain="one row per ACGME-accredited IM program",
    key=("acgme_id",),
    schema_version="2.0",
    published=True,
    source="ACGME program list joined with FREIDA program pages on the program number",
    description=(
        "The ACGME list is the universe: every program on it is here, whether or not FREIDA "
        "has a page for it (`in_freida`). FREIDA fields are as FREIDA states them; nothing is "
        "filled in."
    ),
    min_rows=550,
    max_rows=900,
    columns=(
        A.column("acgme_id"),
        A.column("program_name"),
        A.column("site"),
        A.column("street"),
        A.column("city"),
        A.column("state"),
        A.column("zip"),
        A.column("accreditation_status"),
        A.column("effective_date"),
        A.column("offers_preliminary"),
        Column("in_freida", "bool", "Whether the FREIDA snapshot has a page for this program", source="FREIDA", nullable=False),
        from_freida("program_name", "freida_program_name"),
        from_freida("city", "freida_city"),
        from_freida("state", "freida_state"),
        from_freida("program_type_stated"),
        from_freida("first_year_positions"),
        from_freida("interviews_last_year"),
        from_freida("avg_hours_on_duty_y1"),
        from_freida("img_share"),
        from_freida("do_share"),
        from_freida("usmd_share"),
        from_freida("visas_listed"),
        from_freida("lists_j1"),
        from_freida("lists_h1b"),
        from_freida("lists_f1"),
        from_freida("accepting_2025_2026"),
        from_freida("accepting_2026_2027"),
        from_freida("participates_in_eras"),
        from_freida("start_months"),
        from_freida("acgme_first_year"),
        from_freida("accredited_training_length"),
        from_freida("required_training_length"),
        from_freida("affiliated_us_government"),
        from_freida("website"),
        from_freida("source_url", "freida_url"),
        from_freida("special_features_text"),
        from_freida("data_last_updated", "freida_last_updated"),
        *provenance("acgme", "ACGME program list"),
        *provenance("freida", "FREIDA program pages"),
    ),
)
