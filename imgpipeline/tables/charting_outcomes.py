"""Published: NRMP Charting Outcomes 2026 for non-US IMGs, one row per specialty, measure and
outcome (matched / not matched), with the published distribution of the measure."""

from imgpipeline.declare import Column, Table
from imgpipeline.tables._common import provenance

N = "NRMP Charting Outcomes"
MEASURES = (
    "contiguous_ranks", "specialties_ranked", "step2ck", "research", "abstracts",
    "presentations", "publications", "work", "volunteer",
)
ALL_SPECIALTIES = "All specialties"


def stat(name: str, what: str) -> Column:
    return Column(name, "float64", f"{what} of the measure among the applicants of this outcome; missing where NRMP suppresses a small group (`suppressed`) and, for the all-specialty rows, everything but the median", unit="measure's unit", source=N, basis="stated", min=0)


TABLE = Table(
    name="charting_outcomes",
    title="Charting Outcomes 2026, non-US IMGs: measure distributions by specialty and outcome",
    grain="one row per specialty x measure x outcome (matched / not matched)",
    key=("specialty", "measure", "outcome"),
    schema_version="2.0",
    published=True,
    source="NRMP, Charting Outcomes: Non-U.S. IMGs, Main Residency Match 2026 (as structured by a third party; values unchanged)",
    description=(
        "The distributions NRMP publishes, as published: n, min, quartiles, max, IQR, mean and "
        "SD of each measure for the non-US IMGs who matched and who did not, per preferred "
        "specialty. The statistics come from the consenting analysis sample, so `n` is smaller "
        "than the specialty's applicant totals (`charting_outcomes_totals`). Rows for "
        f"'{ALL_SPECIALTIES}' carry NRMP's all-specialty medians only. Step 2 CK is the only "
        "measure NRMP verifies (`verified`)."
    ),
    min_rows=300,
    max_rows=600,
    notes=(
        "Staging refuses the snapshot if a distribution is out of order (min <= q1 <= median <= q3 <= max) or IQR != q3 - q1.",
    ),
    columns=(
        Column("specialty", "string", f"Preferred specialty as NRMP names it, or '{ALL_SPECIALTIES}'", source=N, nullable=False),
        Column("specialty_short", "string", "Short name of the specialty", source=N, nullable=False),
        Column("measure", "category", "Measure key", source=N, nullable=False, allowed=MEASURES),
        Column("measure_label", "string", "Measure as NRMP labels it", source=N, nullable=False),
        Column("unit", "string", "Unit of the measure", source=N, nullable=False),
        Column("verified", "bool", "Whether NRMP verified the measure at its source (only Step 2 CK)", source=N, nullable=False),
        Column("higher_is_better", "bool", "Whether a higher value is the better one (missing: neither)", source=N),
        Column("outcome", "category", "Match outcome of the applicants described", source=N, nullable=False, allowed=("matched", "not_matched")),
        Column("n", "int64", "Applicants in the analysis sample with this outcome (missing for all-specialty rows)", unit="applicants", source=N, basis="stated", min=0),
        Column("suppressed", "bool", "NRMP gives n but no statistics (group too small)", source=N, nullable=False),
        stat("min", "Minimum"),
        stat("q1", "First quartile"),
        stat("median", "Median"),
        stat("q3", "Third quartile"),
        stat("max", "Maximum"),
        stat("iqr", "Interquartile range"),
        stat("mean", "Mean"),
        stat("sd", "Standard deviation"),
        *provenance("charting", N, full_date=False),
    ),
)
