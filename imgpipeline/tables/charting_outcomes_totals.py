"""Published: NRMP Charting Outcomes 2026 for non-US IMGs, totals and match rates per
specialty, plus one all-specialty row."""

from imgpipeline.declare import Column, Table
from imgpipeline.tables._common import provenance
from imgpipeline.tables.charting_outcomes import ALL_SPECIALTIES

N = "NRMP Charting Outcomes"


def count(name: str, what: str) -> Column:
    return Column(name, "int64", what, unit="people", source=N, basis="stated", min=0)


def share(name: str, what: str) -> Column:
    return Column(name, "float64", what, unit="fraction", source=N, basis="stated", min=0.0, max=1.0)


TABLE = Table(
    name="charting_outcomes_totals",
    title="Charting Outcomes 2026, non-US IMGs: totals and match rates",
    grain=f"one row per preferred specialty, plus one '{ALL_SPECIALTIES}' row",
    key=("specialty",),
    schema_version="1.0",
    published=True,
    source="NRMP, Charting Outcomes: Non-U.S. IMGs, Main Residency Match 2026 (as structured by a third party; values unchanged)",
    description=(
        "Positions, applicants, non-US IMGs matched and not matched and the match rate as "
        "published (`match_rate`), beside the rate recomputed from the counts "
        "(`match_rate_computed`). Percentages are stored as fractions. The all-specialty row "
        "adds NRMP's pool figures (active applicants, analysis sample, consenting matched / "
        "not matched, the report's headline rate)."
    ),
    min_rows=2,
    max_rows=60,
    notes=("Staging refuses the snapshot if matched + not matched differs from the total.",),
    columns=(
        Column("specialty", "string", f"Preferred specialty as NRMP names it, or '{ALL_SPECIALTIES}'", source=N, nullable=False, unique=True),
        Column("specialty_short", "string", "Short name of the specialty", source=N, nullable=False),
        count("positions", "Positions offered in the Main Match"),
        count("all_applicants", "Applicants of every type preferring the specialty"),
        count("img_matched", "Non-US IMGs who matched"),
        count("img_not_matched", "Non-US IMGs who did not match"),
        count("img_total", "Non-US IMGs preferring the specialty"),
        share("match_rate", "Non-US IMG match rate as published (all-specialty row: NRMP's weighted rate)"),
        share("match_rate_computed", "img_matched / img_total"),
        Column("all_per_position", "float64", "Applicants of every type per position", unit="applicants/position", source=N, basis="stated", min=0),
        Column("img_per_position", "float64", "Non-US IMG applicants per position", unit="applicants/position", source=N, basis="stated", min=0),
        share("phd_share_matched", "Share of matched non-US IMGs with a PhD"),
        share("phd_share_not_matched", "Share of unmatched non-US IMGs with a PhD"),
        share("grad_degree_share_matched", "Share of matched non-US IMGs with another graduate degree"),
        share("grad_degree_share_not_matched", "Share of unmatched non-US IMGs with another graduate degree"),
        count("active_applicants", "All-specialty row: active applicants in the Match"),
        share("img_share_of_pool", "All-specialty row: non-US IMGs' share of the applicant pool"),
        count("analysis_sample", "All-specialty row: non-US IMGs in NRMP's analysis sample"),
        count("consented_matched", "All-specialty row: consenting non-US IMGs who matched"),
        count("consented_not_matched", "All-specialty row: consenting non-US IMGs who did not match"),
        share("headline_match_rate", "All-specialty row: the report's headline non-US IMG match rate"),
        *provenance("charting", N, full_date=False),
    ),
)
