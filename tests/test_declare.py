"""Declarations: the schema, the coercion and the dictionary all come from one Table."""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import pyarrow as pa
import pytest

from imgpipeline.declare import Column, Table
from imgpipeline.tables import PUBLISHED, TABLES

TINY = Table(
    name="tiny",
    title="A tiny table",
    grain="one row per thing",
    key=("thing_id",),
    schema_version="2.1",
    source="tests",
    published=True,
    columns=(
        Column("thing_id", "string", "Id of the thing", nullable=False, unique=True),
        Column("share", "float64", "A share", unit="fraction", basis="stated", min=0, max=1),
        Column("count", "int64", "A count", unit="things"),
        Column("seen", "date", "When seen"),
        Column("added_later", "int64", "Only in newer snapshots", since="2025-05-26"),
    ),
)


def test_arrow_schema_carries_types_descriptions_and_version() -> None:
    schema = TINY.arrow_schema()
    assert schema.names == ["thing_id", "share", "count", "seen", "added_later"]
    assert schema.field("share").type == pa.float64()
    assert schema.field("seen").type == pa.date32()
    assert not schema.field("thing_id").nullable
    meta = schema.field("share").metadata
    assert meta[b"description"] == b"A share"
    assert meta[b"unit"] == b"fraction" and meta[b"basis"] == b"stated"
    # No empty keys: a column without a unit, basis or source has none in its metadata.
    assert set(schema.field("thing_id").metadata) == {b"description"}
    assert set(schema.field("count").metadata) == {b"description", b"unit"}
    # A closed set's allowed values are in its field metadata, as JSON.
    kind = Column("kind", "string", "A closed set", allowed=("big", "small"))
    assert json.loads(kind.field_metadata()["allowed"]) == ["big", "small"]
    assert b"allowed" not in meta
    assert schema.metadata[b"schema_version"] == b"2.1"
    assert schema.metadata[b"table"] == b"tiny"


def test_fingerprint_follows_what_readers_depend_on() -> None:
    retyped = replace(TINY, columns=(replace(TINY.columns[0], dtype="int64"), *TINY.columns[1:]))
    reworded = replace(TINY, columns=(replace(TINY.columns[0], description="x"), *TINY.columns[1:]))
    assert retyped.fingerprint() != TINY.fingerprint()
    assert reworded.fingerprint() == TINY.fingerprint()


def test_coerce_orders_and_types_and_keeps_blanks_missing() -> None:
    df = pd.DataFrame(
        {"seen": ["2025-01-24", None], "count": ["3", None], "share": [0.5, None], "thing_id": ["a", "b"]}
    )
    out = TINY.coerce(df, as_of="2025-05-24")
    assert out.columns.tolist() == TINY.column_names
    assert str(out["count"].dtype) == "Int64" and out["count"].isna().tolist() == [False, True]
    assert str(out["share"].dtype) == "Float64"
    assert out["seen"].iloc[0] == pd.Timestamp("2025-01-24")
    table = TINY.to_arrow(out)
    assert table.schema.equals(TINY.arrow_schema())  # names, types, nullability
    assert table.schema.field("share").metadata[b"description"] == b"A share"
    assert table.schema.metadata[b"schema_version"] == b"2.1"
    assert table.column("count").to_pylist() == [3, None]


def test_a_since_column_is_added_only_for_snapshots_that_predate_it() -> None:
    df = pd.DataFrame({"thing_id": ["a"], "share": [0.1], "count": [1], "seen": ["2025-01-01"]})
    assert TINY.coerce(df, as_of="2025-05-24")["added_later"].isna().all()
    assert "added_later" not in TINY.coerce(df, as_of="2025-05-26").columns
    assert "added_later" not in TINY.coerce(df).columns
    # Any other absent column stays absent for validation to name.
    assert "share" not in TINY.coerce(df.drop(columns=["share"]), as_of="2025-05-24").columns


def test_undeclared_columns_are_refused() -> None:
    df = pd.DataFrame({"thing_id": ["a"], "contact_email": ["x@example.org"]})
    with pytest.raises(ValueError, match="undeclared columns \\['contact_email'\\]"):
        TINY.coerce(df)


def test_every_declared_table_is_consistent() -> None:
    assert {"acgme_programs", "freida_programs"} <= set(TABLES)
    assert {"programs", "unmatched_records", "snapshots"} <= set(PUBLISHED)
    for table in TABLES.values():
        names = table.column_names
        assert len(names) == len(set(names)), table.name
        assert set(table.key) <= set(names), table.name
        assert all(c.description for c in table.columns), table.name
        schema = table.arrow_schema()
        assert schema.metadata[b"schema_version"] == table.schema_version.encode()
        for c in table.columns:  # each field carries its own description in the Parquet schema
            assert schema.field(c.name).metadata[b"description"] == c.description.encode(), (table.name, c.name)


def test_a_pattern_with_capturing_groups_is_refused_at_declaration() -> None:
    from imgpipeline.declare import Column

    with pytest.raises(ValueError, match="capturing groups"):
        Column("code", "string", "a code", pattern=r"^(A|B)\d$")
    assert Column("code", "string", "a code", pattern=r"^(?:A|B)\d$").pattern


def test_every_published_table_traces_its_rows_to_snapshots() -> None:
    """Every published row names the snapshot(s) it comes from (batch rows name the published
    version, whose snapshots table holds them)."""
    from imgpipeline.tables import PUBLISHED

    def traces(name: str) -> bool:
        return "snapshot" in name or name == "published_version"

    untraced = [t.name for t in PUBLISHED.values() if not any(traces(c) for c in t.column_names)]
    assert untraced == []


def test_contact_data_is_checked_in_free_text_only() -> None:
    table = replace(
        TINY,
        columns=TINY.columns
        + (
            Column("note", "string", "Free text"),
            Column("band", "string", "A closed set", allowed=("reach", "target")),
            Column("snapshot", "string", "Snapshot id", source="manifest"),
        ),
    )
    checked = [c.name for c in table.columns if table.contact_checked(c)]
    assert checked == ["thing_id", "note"]
    assert not any(replace(table, no_contact_data=False).contact_checked(c) for c in table.columns)
