"""Published: what changed since the version that was current before this refresh."""

from imgpipeline.declare import ACGME_ID_PATTERN, Column, Table

CHANGES = (
    "table_added",
    "table_removed",
    "column_added",
    "column_removed",
    "column_populated",
    "column_emptied",
    "program_added",
    "program_removed",
    "visa_gained",
    "visa_lost",
    "img_share_moved",
    "tier_changed",
    "text_changed",
    "value_changed",
    "rows_changed",
)

TABLE = Table(
    name="changes",
    title="Changes since the previous version",
    grain=(
        "one row per difference between this version and the one current before it: a table, "
        "a column, one field of one program, or (tables other than programs) a table's rows"
    ),
    key=("change", "table", "column", "acgme_id"),
    schema_version="2.0",
    published=True,
    source="this version's tables compared with the previous version's (imgpipeline.refresh.changes)",
    description=(
        "Empty for a first publication (nothing to compare with). Program-level rows come from "
        "`programs` (and the tier and visa sponsorship from `program_features`); columns added "
        "or removed from every published table; every other table whose rows differ (by its "
        "key, provenance aside) gets one `rows_changed` row counting rows added, removed and "
        "changed per column: for derived tables (features, scores) what the source changes "
        "implied. Values are shown as text, missing as null."
    ),
    notes=(
        "In `programs`, a column that was missing in every row and is now populated (a source gained a "
        "field) is one `column_populated` row, not one `value_changed` row per program.",
        "Stated IMG share moves are reported when they exceed `img_share_change_threshold` "
        "(settings; a fraction), or when a share appears or disappears; re-estimated imputed "
        "shares are counted in `program_features`' `rows_changed` row with the largest move.",
        "`rows_changed`: `old_value` holds the row counts (old -> new); `column`, `acgme_id` "
        "and `new_value` are null.",
    ),
    columns=(
        Column("change", "category", "Kind of change", nullable=False, allowed=CHANGES),
        Column("table", "string", "Published table the change is in", nullable=False),
        Column("column", "string", "Column the change is in; missing for table- and row-level changes"),
        Column(
            "acgme_id",
            "string",
            "Program the change is about; missing for table- and column-level changes",
            source="ACGME",
            pattern=ACGME_ID_PATTERN,
        ),
        Column("program_name", "string", "The program's name (this version's, else the previous one's)", source="ACGME"),
        Column("old_value", "string", "Value in the previous version, as text; null when missing"),
        Column("new_value", "string", "Value in this version, as text; null when missing"),
        Column("detail", "string", "The change in words", nullable=False),
        Column("from_version", "string", "Version this one is compared with", nullable=False),
        Column("from_snapshots", "list<string>", "Snapshot ids the previous version was built from", source="manifest"),
        Column("to_snapshots", "list<string>", "Snapshot ids this version was built from", source="manifest"),
    ),
)
