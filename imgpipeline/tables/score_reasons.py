"""Published: the contributions behind every program score, one row per factor."""

from imgpipeline.applicant import VISA_NEEDS
from imgpipeline.declare import Column, Table
from imgpipeline.risk import TIERS
from imgpipeline.scoring import FACTORS, REASON_BASES
from imgpipeline.tables._common import acgme_id, provenance

D = "derived (imgpipeline.scoring)"

TABLE = Table(
    name="score_reasons",
    title="Why each program scores what it does",
    grain="one row per program x risk tier x visa need x factor",
    key=("acgme_id", "risk_tier", "visa_need", "factor"),
    schema_version="1.1",
    published=True,
    source="program_scores' contributions, long form",
    description=(
        "Every factor of every score, including those that contributed nothing (so what was "
        "considered is visible). The points of a program, tier and visa need add up to its "
        "`program_scores.score`. `basis` is the basis of the program feature read (stated / "
        "imputed / inferred / unknown), `rulebook` for the tier's base and bounds, `applicant` "
        "where only the applicant's own values decided."
    ),
    min_rows=40000,
    max_rows=200000,
    columns=(
        acgme_id(unique=False),
        Column("risk_tier", "string", "Applicant risk tier", source=D, nullable=False, allowed=TIERS),
        Column("visa_need", "string", "Applicant visa need", source=D, nullable=False, allowed=VISA_NEEDS),
        Column("factor", "string", "What contributed", source=D, nullable=False, allowed=FACTORS),
        Column("points", "float64", "Points it contributed (negative: a penalty)", unit="points", source=D, nullable=False, min=-100.0, max=100.0),
        Column("evidence", "string", "The value and its source: the feature, the program's own words, or the rule", source=D, nullable=False),
        Column("basis", "string", "Basis of what the factor read", source=D, nullable=False, allowed=REASON_BASES),
        *provenance("acgme", "ACGME program list"),
        *provenance("freida", "FREIDA program pages"),
    ),
)
