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
    kind = Column("kind", "category", "A closed set", allowed=("big", "small"))
    assert json.loads(kind.field_metadata()["allowed"]) == ["big", "small"]
    assert kind.arrow_type == pa.dictionary(pa.int32(), pa.string())
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


TYPED = Table(
    name="typed",
    title="A table of every kind of typed column",
    grain="one row per thing",
    key=("thing_id",),
    schema_version="1.0",
    source="tests",
    published=True,
    columns=(
        Column("thing_id", "string", "Id of the thing", nullable=False, unique=True),
        Column("size", "category", "A closed set", allowed=("small", "big")),
        Column("tags", "list<string>", "Tags, none as an empty list"),
        Column("parts", "list<struct>", "Parts", fields=(("term", "string"), ("weight", "float64"))),
        Column("as_of", "date", "A full date"),
    ),
)


def test_typed_columns_survive_parquet_with_their_types(tmp_path) -> None:
    import pyarrow.parquet as pq

    df = pd.DataFrame({
        "thing_id": ["a", "b", "c"],
        "size": ["big", None, "small"],
        "tags": [["J-1", "H-1B"], [], None],
        "parts": [[{"term": "x", "weight": 1}], [], [{"term": "y", "weight": None}]],
        "as_of": ["2025-05-26", "2025-05-24", None],
    })
    out = TYPED.coerce(df)
    # The categories are the allowed values in their declared order, unobserved ones too.
    assert out["size"].cat.categories.tolist() == ["small", "big"]
    assert out["tags"].tolist() == [["J-1", "H-1B"], [], None]
    assert out["parts"].iloc[0] == [{"term": "x", "weight": 1.0}]
    pq.write_table(TYPED.to_arrow(out), tmp_path / "typed.parquet")
    schema = pq.read_schema(tmp_path / "typed.parquet")
    assert schema.field("size").type == pa.dictionary(pa.int32(), pa.string())
    assert json.loads(schema.field("size").metadata[b"allowed"]) == ["small", "big"]
    assert schema.field("tags").type == pa.list_(pa.string())
    assert schema.field("parts").type == pa.list_(pa.struct([("term", pa.string()), ("weight", pa.float64())]))
    assert schema.field("as_of").type == pa.date32()
    back = pd.read_parquet(tmp_path / "typed.parquet")
    assert back["size"].cat.categories.tolist() == ["small", "big"]
    assert back["size"].astype("object").tolist()[::2] == ["big", "small"] and pd.isna(back["size"].iloc[1])
    assert [list(v) for v in back["tags"][:2]] == [["J-1", "H-1B"], []] and back["tags"].iloc[2] is None
    assert list(back["parts"].iloc[2]) == [{"term": "y", "weight": None}]
    assert str(back["as_of"].iloc[0]) == "2025-05-26"
    # Read back and coerced again, nothing moves.
    again = TYPED.coerce(back)
    assert again["tags"].tolist() == out["tags"].tolist() and again["parts"].tolist() == out["parts"].tolist()
    assert again["size"].equals(out["size"]) and again["as_of"].equals(out["as_of"])
    assert TYPED.column("parts").type_name == "list<struct<term:string,weight:float64>>"


def test_a_value_outside_a_closed_set_is_kept_for_the_gate_to_name() -> None:
    from imgpipeline.checks import check_chunk

    df = pd.DataFrame({"thing_id": ["a", "b"], "size": ["huge", "big"], "tags": [[], ["x"]], "parts": [None, []], "as_of": [None, "2025-01-01"]})
    out = TYPED.coerce(df)
    assert out["size"].astype("object").tolist() == ["huge", "big"]
    _, failures = check_chunk(out, TYPED, "test")
    assert [(f.rule, f.column, f.rows) for f in failures] == [("column_values_to_be_in_set", "size", ["a"])]


def test_a_list_column_refuses_a_delimited_string() -> None:
    with pytest.raises(TypeError, match="'tags' is a list"):
        TYPED.coerce(pd.DataFrame({"thing_id": ["a"], "tags": ["J-1|H-1B"]}))
    with pytest.raises(ValueError, match="undeclared fields"):
        TYPED.coerce(pd.DataFrame({"thing_id": ["a"], "parts": [[{"term": "x", "colour": "red"}]]}))


def test_closed_sets_and_struct_fields_are_declared_with_their_type() -> None:
    with pytest.raises(ValueError, match="closed set"):
        Column("kind", "string", "a closed set as plain text", allowed=("a", "b"))
    with pytest.raises(ValueError, match="closed set"):
        Column("kind", "category", "a category without its values")
    with pytest.raises(ValueError, match="declares its fields"):
        Column("parts", "list<struct>", "a struct list without fields")


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
            Column("quotes", "list<string>", "Free text, several"),
            Column("band", "category", "A closed set", allowed=("reach", "target")),
            Column("snapshot", "string", "Snapshot id", source="manifest"),
        ),
    )
    checked = [c.name for c in table.columns if table.contact_checked(c)]
    assert checked == ["thing_id", "note", "quotes"]
    assert not any(replace(table, no_contact_data=False).contact_checked(c) for c in table.columns)


def test_feature_evidence_snapshot_ids_are_checked_item_by_item() -> None:
    """feature_evidence.snapshot is a list: each id matches the snapshot-id pattern on its own,
    so a joined pair is refused and one bad id among good ones is named."""
    from imgpipeline.checks import check_chunk

    table = PUBLISHED["feature_evidence"]
    freida, acgme = "freida_programs@2025-05-26#d42ad9d78199", "acgme_programs@2025-05-02#8c820cbe048e"

    def frame(snapshot: list[str], as_of: list[str]) -> pd.DataFrame:
        return table.coerce(pd.DataFrame({
            "acgme_id": ["1400100001"], "feature": ["tier"], "value": ["community"], "basis": ["inferred"],
            "source": ["freida_programs+acgme_programs"], "snapshot": [snapshot], "as_of": [as_of], "evidence": ["rule"],
        }))

    assert check_chunk(frame([freida, acgme], ["2025-05-26", "2025-05-02"]), table, "test")[1] == []
    with pytest.raises(TypeError, match="'snapshot' is a list"):
        frame(f"{freida} + {acgme}", ["2025-05-26"])  # type: ignore[arg-type]
    _, failures = check_chunk(frame([freida, f"{acgme} + {freida}"], ["2025-05-26", "2025-05"]), table, "test")
    assert sorted((f.rule, f.column) for f in failures) == [
        ("column_values_to_match_regex", "as_of"), ("column_values_to_match_regex", "snapshot")]
