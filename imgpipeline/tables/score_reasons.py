"""Published: the log-odds contributions behind every P(interview), one row per term."""

from imgpipeline.declare import Column, Table
from imgpipeline.tables._common import acgme_id, provenance
from imgpipeline.vocabulary import BASES, INTERVIEW_TERMS, RISK_TIERS, VISA_NEEDS

D = "derived (imgpipeline.refresh.program_scores)"

TABLE = Table(
    name="score_reasons",
    title="Why each program's chance is what it is",
    grain="one row per program x risk tier x visa need x term",
    key=("acgme_id", "risk_tier", "visa_need", "term"),
    schema_version="3.0",
    published=True,
    source="program_scores' contributions, long form",
    description=(
        "Every term of every chance, including those that contributed nothing (so what was "
        "considered is visible). The log-odds of a program, tier and visa need add up to its "
        "`program_scores.logit`; `odds_multiplier` = exp(log_odds) is how people read it. "
        "`basis` is the basis of what the term read (stated / imputed / inferred / unknown)."
    ),
    min_rows=40000,
    max_rows=200000,
    columns=(
        acgme_id(unique=False),
        Column("risk_tier", "category", "Applicant risk tier", source=D, nullable=False, allowed=RISK_TIERS),
        Column("visa_need", "category", "Applicant visa need", source=D, nullable=False, allowed=VISA_NEEDS),
        Column("term", "category", "What contributed", source=D, nullable=False, allowed=INTERVIEW_TERMS),
        Column("log_odds", "float64", "Its log-odds contribution (negative: lowers the chance)", unit="log-odds", source=D, nullable=False, min=-50.0, max=50.0),
        Column("odds_multiplier", "float64", "exp(log_odds): how much the term multiplies the odds of an interview", unit="multiplier", source=D, nullable=False, min=0.0),
        Column("evidence", "string", "The value and its source: the feature, the program's own words, or the rule", source=D, nullable=False),
        Column("basis", "category", "Basis of what the term read", source=D, nullable=False, allowed=BASES),
        *provenance("acgme", "ACGME program list"),
        *provenance("freida", "FREIDA program pages"),
    ),
)
