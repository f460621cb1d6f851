"""Published: the evidence behind every feature value of ``program_features``, one row each."""

from imgpipeline.declare import Column, Table
from imgpipeline.tables._common import acgme_id
from imgpipeline.vocabulary import BASES

# One snapshot id (source@as-of#sha256[:12]): each item of ``snapshot`` matches it.
SNAPSHOT_ID = r"^[a-z0-9_]+@[0-9-]+#[0-9a-f]{12}$"

TABLE = Table(
    name="feature_evidence",
    title="Evidence behind each program feature",
    grain="one row per program and feature",
    key=("acgme_id", "feature"),
    schema_version="3.0",
    published=True,
    source="imgpipeline.refresh.features, from programs (ACGME list joined with FREIDA)",
    description=(
        "Why each value of `program_features` is what it is: the FREIDA or ACGME field, the "
        "program's own sentence (quoted exactly, for stated policies), the rulebook rule (for "
        "inferred values) or the model and its interval (for imputed IMG shares), with the "
        "snapshot(s) the evidence comes from."
    ),
    min_rows=550 * 20,
    max_rows=900 * 30,
    columns=(
        acgme_id(unique=False),
        Column("feature", "string", "Feature name: a column of program_features", nullable=False),
        Column("value", "string", "The feature's value as text (true/false for flags); missing where unknown"),
        Column("basis", "category", "stated / imputed / inferred / unknown", nullable=False, allowed=BASES),
        Column("source", "category", "Source table(s) the evidence comes from", nullable=False, allowed=("freida_programs", "acgme_programs", "freida_programs+acgme_programs")),
        Column("snapshot", "list<string>", "Snapshot id of each source of that evidence (source@as-of#sha256[:12]), in the order of `source`", source="manifest", nullable=False, pattern=SNAPSHOT_ID),
        Column("as_of", "list<string>", "As-of date (YYYY-MM-DD) of each of those snapshots, in the same order", source="manifest", nullable=False, pattern=r"^\d{4}-\d{2}-\d{2}$"),
        Column("evidence", "string", "The field, quoted program sentence, rule or model behind the value", nullable=False),
    ),
)
