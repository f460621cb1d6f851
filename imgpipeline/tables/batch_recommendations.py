"""Published by the batch flow (under <processed>/batches): one row per applicant per listed
program."""

from imgpipeline.declare import Column, Table
from imgpipeline.tables._common import acgme_id

D = "derived (imgpipeline.advice.batch: advice.model.compute_terms and advice.lists, as `imgpipeline recommend`)"

TABLE = Table(
    name="batch_recommendations",
    title="Batch scoring: each applicant's list",
    grain="one row per applicant per program in their list",
    key=("profile_id", "acgme_id"),
    schema_version="3.0",
    published=True,
    source="a batch file of applicant profiles, scored against one published refresh version",
    description=(
        "The programs each applicant of a batch should apply to, ranked as `imgpipeline "
        "recommend` ranks them (the same interview-chance model and list rules), with each "
        "program's P(interview), its interval and band, without the texts: join `acgme_id` to "
        "that version's `program_openness` / `program_features` for names, evidence and "
        "provenance, and `profile_id` to `batch_applicants` for the applicant and the list's outcome."
    ),
    min_rows=0,
    max_rows=1_000_000_000,
    columns=(
        Column("profile_id", "string", "The applicant's opaque id (batch_applicants)", source="batch file", nullable=False),
        Column("rank", "int64", "Position in the applicant's list (1 = highest chance): log-odds of an interview plus the preferred-state bonus (rulebook lists), ties in program order", source=D, nullable=False, min=1, max=1000),
        acgme_id(unique=False, source="program_openness"),
        Column("p_interview", "float64", "P(interview): the interview-chance model for this applicant at this program (published interview_coefficients and program_openness)", unit="probability", source=D, nullable=False, min=0.0, max=1.0),
        Column("p_interview_low", "float64", "P(interview) at the low end of the program's openness interval", unit="probability", source=D, nullable=False, min=0.0, max=1.0),
        Column("p_interview_high", "float64", "P(interview) at the high end of the program's openness interval", unit="probability", source=D, nullable=False, min=0.0, max=1.0),
        Column("band", "category", "likely / target / reach: ranges of P(interview) (interview_coefficients band_likely, band_target)", source=D, nullable=False, allowed=("likely", "target", "reach")),
        Column("preferred_state", "bool", "The program is in one of the applicant's preferred states or regions", source=D, nullable=False),
        Column("published_version", "string", "The refresh version whose model was scored (its manifest lists every snapshot: source, as-of, sha256)", source="manifest", nullable=False),
    ),
)
