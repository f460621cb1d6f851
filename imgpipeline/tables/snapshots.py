"""Published: the snapshots a version was built from, with their checksums and rights."""

from imgpipeline.declare import Column, Table

TABLE = Table(
    name="snapshots",
    title="Source snapshots of this version",
    grain="one row per landed snapshot a version was built from",
    key=("snapshot",),
    schema_version="1.0",
    published=True,
    source="data/raw/manifest.jsonl",
    columns=(
        Column("snapshot", "string", "Snapshot id: source@as-of#sha256[:12]", nullable=False, unique=True),
        Column("source", "string", "Source name in the catalog", nullable=False),
        Column("title", "string", "What the source is", nullable=False),
        Column("as_of", "string", "As-of date of the snapshot", nullable=False),
        Column("retrieved_at", "timestamp", "When the snapshot was landed", nullable=False),
        Column("sha256", "string", "sha256 of the landed file", nullable=False, pattern=r"^[0-9a-f]{64}$"),
        Column("size_bytes", "int64", "Size of the landed file", unit="bytes", nullable=False, min=1),
        Column("location", "string", "Where it was read from (mirror path or URL)", nullable=False),
        Column("origin", "string", "Public repository the snapshot comes from", nullable=False),
        Column("rights", "string", "Terms the facts are under", nullable=False),
    ),
    no_contact_data=True,
)
