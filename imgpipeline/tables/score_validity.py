"""Published: what the real data say about the scores (checks and distributions)."""

from imgpipeline.declare import Column, Table
from imgpipeline.tables._common import provenance

D = "derived (imgpipeline.refresh.validity.validity_report)"

TABLE = Table(
    name="score_validity",
    title="Validity checks of the interview chances",
    grain="one row per check x risk tier x visa need x metric",
    key=("check", "risk_tier", "visa_need", "metric"),
    schema_version="3.0",
    published=True,
    source="program_scores, score_reasons and program_features of the same version",
    description=(
        "Checks of the interview chances against what the data can say: contributions add up to "
        "the logit; the calibration reproduces the NRMP's interviews per applicant; a riskier "
        "tier's typical applicant never gets a higher chance; IMG-heavy J-1 sponsors beat "
        "low-IMG university programs and chances rise with the stated IMG share; the share of "
        "programs eligible per tier and visa need; elite centres are reach for high-risk tiers; "
        "band mix and P(interview) distribution per tier. `passed` is missing for descriptive rows."
    ),
    min_rows=20,
    max_rows=500,
    columns=(
        Column("check", "string", "What is checked or described", source=D, nullable=False),
        Column("risk_tier", "string", "Applicant risk tier, or 'all'", source=D, nullable=False),
        Column("visa_need", "string", "Applicant visa need, or 'all'", source=D, nullable=False),
        Column("metric", "string", "The measured quantity", source=D, nullable=False),
        Column("value", "float64", "Its value", source=D, nullable=False),
        Column("expected", "string", "What a sound score gives (empty for descriptive rows)", source=D, nullable=False),
        Column("passed", "bool", "Whether the value is as expected; missing for descriptive rows", source=D),
        Column("detail", "string", "Groups compared, counts", source=D, nullable=False),
        *provenance("acgme", "ACGME program list"),
        *provenance("freida", "FREIDA program pages"),
    ),
)
