"""Published: the chance a non-US IMG matches in internal medicine, by Step 2 CK and by
contiguous ranks, with its uncertainty band and the range the data support."""

from imgpipeline.declare import Column, Table
from imgpipeline.tables._common import provenance

N = "NRMP Charting Outcomes"
BASIS = "inferred"


def prob(name: str, what: str, nullable: bool = True) -> Column:
    return Column(name, "float64", what, unit="probability", source=N, basis=BASIS, nullable=nullable, min=0.0, max=1.0)


TABLE = Table(
    name="match_probability_curve",
    title="Match probability for non-US IMGs in internal medicine, by Step 2 CK and by contiguous ranks",
    grain="one row per measure x value on the measure's grid",
    key=("specialty", "measure", "value"),
    schema_version="2.0",
    published=True,
    source="Fitted (scikit-learn) to NRMP Charting Outcomes 2026 distributions and totals; see docs/scoring.md",
    description=(
        "P(match | value) for one measure at a time (not a joint model). Fitted by logistic "
        "regression on distributions reconstructed from the published quartiles, mean, SD, min "
        "and max of matched and unmatched non-US IMGs, weighted to the published totals. The "
        "band is a bootstrap interval over sampling error and the logit form. Outside the "
        "published min..max (`support` = extrapolated) `p_match` is missing and the band holds "
        "only what monotonicity implies."
    ),
    min_rows=50,
    max_rows=1000,
    columns=(
        Column("specialty", "string", "Preferred specialty", source=N, nullable=False),
        Column("measure", "category", "Measure the chance is a function of", source=N, nullable=False, allowed=("step2ck", "contiguous_ranks")),
        Column("value", "int64", "Value of the measure (Step 2 CK score; number of contiguous ranks)", unit="measure's unit", nullable=False),
        prob("p_match", "Estimated chance of matching at this value; missing where the data cannot support one (extrapolated)"),
        prob("p_match_low", "Lower end of the uncertainty band", nullable=False),
        prob("p_match_high", "Upper end of the uncertainty band", nullable=False),
        Column("support", "category", "core: between the published quartiles; tail: between min and quartiles (few applicants); extrapolated: outside the published min..max", nullable=False, allowed=("core", "tail", "extrapolated")),
        Column("n_matched", "int64", "Matched applicants in NRMP's analysis sample for this measure", unit="applicants", source=N, nullable=False, min=1),
        Column("n_not_matched", "int64", "Unmatched applicants in NRMP's analysis sample for this measure", unit="applicants", source=N, nullable=False, min=1),
        Column("img_matched", "int64", "Non-US IMGs who matched in the specialty (sets the base rate)", unit="applicants", source=N, nullable=False, min=0),
        Column("img_total", "int64", "Non-US IMGs preferring the specialty", unit="applicants", source=N, nullable=False, min=1),
        Column("method", "string", "How the value and band were fitted", nullable=False),
        *provenance("charting", N, full_date=False),
    ),
)
