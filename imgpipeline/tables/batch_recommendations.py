"""Published by the batch flow (under <processed>/batches): one row per applicant per listed
program."""

from imgpipeline.declare import Column, Table
from imgpipeline.tables._common import acgme_id

D = "derived (imgpipeline.batch: scoring.score_programs and recommend.build_lists)"

TABLE = Table(
    name="batch_recommendations",
    title="Batch scoring: each applicant's list",
    grain="one row per applicant per program in their list",
    key=("profile_id", "acgme_id"),
    schema_version="1.0",
    published=True,
    source="a batch file of applicant profiles, scored against one published refresh version",
    description=(
        "The programs each applicant of a batch should apply to, ranked as `imgpipeline "
        "recommend` ranks them (the same scorer and list rules), without the texts: join "
        "`acgme_id` to that version's `program_features` / `program_scores` for names, evidence "
        "and provenance, and `profile_id` to `batch_applicants` for the applicant."
    ),
    min_rows=0,
    max_rows=1_000_000_000,
    columns=(
        Column("profile_id", "string", "The applicant's opaque id (batch_applicants)", source="batch file", nullable=False),
        Column("rank", "int64", "Position in the applicant's list (1 = apply first): score plus the preferred-state points, ties in program order", source=D, nullable=False, min=1, max=1000),
        acgme_id(unique=False, source="program_features"),
        Column("score", "float64", "How reachable the program is for this applicant, 0-100 (scoring.score_programs)", unit="points", source=D, nullable=False, min=0.0, max=100.0),
        Column("band", "string", "likely / target / reach by score (rulebook scoring.bands)", source=D, nullable=False, allowed=("likely", "target", "reach")),
        Column("preferred_state", "bool", "The program is in one of the applicant's preferred states or regions", source=D, nullable=False),
        Column("published_version", "string", "The refresh version whose program features were scored (its manifest lists every snapshot: source, as-of, sha256)", source="manifest", nullable=False),
    ),
)
