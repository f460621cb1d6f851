"""Published: the constants of the interview-chance model (one row per term)."""

from imgpipeline.declare import Column, Table
from imgpipeline.tables._common import provenance
from imgpipeline.vocabulary import COEFFICIENT_BASES

D = "derived (imgpipeline.refresh.interview)"

TABLE = Table(
    name="interview_coefficients",
    title="Constants of the interview-chance model",
    grain="one row per constant",
    key=("term",),
    schema_version="2.0",
    published=True,
    source="the rulebook's interview section, the Charting Outcomes snapshot (Step 2 CK slope and reference, interviews per applicant) and the calibration solved at the refresh",
    description=(
        "logit P(interview) = calibration_offset + program_openness.openness + "
        "program_openness.program_bonus + the applicant terms these constants define "
        "(imgpipeline/advice/model.py; docs/scoring.md). `basis`: sourced (a published figure or "
        "the article's own threshold, cited), calibrated (solved at this refresh), judgement "
        "(ours; docs/scoring.md shows how much lists move when it moves)."
    ),
    min_rows=25,
    max_rows=80,
    columns=(
        Column("term", "string", "The constant's name", source=D, nullable=False, unique=True),
        Column("value", "float64", "Its value", source=D, nullable=False),
        Column("unit", "string", "Its unit (log-odds unless said)", source=D, nullable=False),
        Column("basis", "category", "sourced / calibrated / judgement", source=D, nullable=False, allowed=COEFFICIENT_BASES),
        Column("source", "string", "Where the value comes from", source=D, nullable=False),
        Column("description", "string", "What the constant does", source=D, nullable=False),
        *provenance("charting", "NRMP Charting Outcomes", full_date=False),
    ),
)
