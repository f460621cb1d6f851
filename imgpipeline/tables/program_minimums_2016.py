"""Published: 2016 FREIDA score minimums and visa qualifications of IM programs, joined to the
current ACGME list; stale, dated evidence, never current policy."""

from imgpipeline.declare import Column, Table
from imgpipeline.tables import acgme_programs as acgme
from imgpipeline.tables import freida_2016_programs as f2016
from imgpipeline.tables._common import provenance

A = acgme.TABLE
S = f2016.TABLE
STALE = "stale"


def current(name: str, what: str) -> Column:
    c = A.column(name)
    return Column(
        name, c.dtype, f"{what}, from the current ACGME list; missing when the id is no longer on it",
        source="ACGME", allowed=c.allowed, pattern=c.pattern,
    )


TABLE = Table(
    name="program_minimums_2016",
    title="2016 FREIDA score minimums and visa qualifications (historical)",
    grain="one row per IM program page of the 2016 FREIDA scrape",
    key=("acgme_id",),
    schema_version="2.0",
    published=True,
    source="FREIDA 2016-02-28 scrape (IM rows) joined on the program number to the 2024-2025 ACGME list",
    description=(
        "What programs stated on FREIDA in February 2016: about ten years old, so evidence of "
        "past practice only, never current policy (`evidence_status` = 'stale' on every row). "
        "Every 2016 IM record is kept, whether or not its id is still accredited "
        "(`on_acgme_list`), so a closed or renumbered program is visible rather than dropped. "
        "Blank answers on the 2016 page stay missing."
    ),
    min_rows=300,
    max_rows=600,
    columns=(
        S.column("acgme_id"),
        Column("on_acgme_list", "bool", "Whether the id is on the current (2024-2025) ACGME list of accredited IM programs", source="ACGME", nullable=False),
        current("program_name", "Program name"),
        current("city", "City"),
        current("state", "State"),
        Column("program_title_2016", "string", "Program title on the 2016 page", source="FREIDA 2016"),
        S.column("step1_min_score"),
        S.column("step1_required"),
        S.column("step2_min_score"),
        S.column("step2_required"),
        S.column("avg_step1_band"),
        S.column("avg_step1_low"),
        S.column("avg_step1_high"),
        S.column("lists_ecfmg_certification"),
        S.column("lists_j1_visa"),
        S.column("lists_h1b_visa"),
        S.column("lists_f1_visa"),
        S.column("general_info_present"),
        S.column("nrmp_codes_2016"),
        Column("evidence_status", "category", "Always 'stale': historical evidence from 2016, not the program's current policy", source="pipeline", nullable=False, allowed=(STALE,)),
        Column("evidence_age_years", "float64", "Years between the 2016 page and the ACGME list it is joined to", unit="years", source="manifest", nullable=False, min=5, max=50),
        *provenance("freida_2016", "FREIDA 2016 scrape"),
        *provenance("acgme", "ACGME program list"),
    ),
)
