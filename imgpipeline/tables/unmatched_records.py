"""Published: records one source has and the other lacks, so nothing is dropped silently."""

from imgpipeline.declare import Column, Table

TABLE = Table(
    name="unmatched_records",
    title="Records without a partner in the other source",
    grain="one row per record of one source that the other source lacks",
    key=("source", "record_id"),
    schema_version="1.0",
    published=True,
    source="ACGME program list and FREIDA pages (and, later, other linked sources)",
    columns=(
        Column("source", "string", "The source that has the record", nullable=False),
        Column("record_id", "string", "The record's id in that source", nullable=False),
        Column("missing_from", "string", "The source that lacks it", nullable=False),
        Column("program_name", "string", "Program name in the source that has it"),
        Column("city", "string", "City in the source that has it"),
        Column("state", "string", "State in the source that has it"),
        Column("note", "string", "What it means for the published tables", nullable=False),
        Column("snapshot", "string", "Snapshot id of the source that has it", source="manifest", nullable=False),
    ),
)

