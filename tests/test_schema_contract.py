"""The schema contract: every published table's schema is locked under its schema_version, a
changed schema needs a new version, and the real published files carry their version."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from imgpipeline import contract
from imgpipeline.cli import app
from imgpipeline.declare import Column, arrow_type
from imgpipeline.settings import Settings
from imgpipeline.store import current_version, read_manifest
from imgpipeline.tables import PUBLISHED


def test_every_published_table_keeps_its_locked_schema() -> None:
    problems = contract.check(contract.load())
    assert not problems, "schema contract broken:\n" + "\n".join(f"- {p}" for p in problems)


@pytest.fixture
def programs_lock() -> contract.Lock:
    return contract.updated({}, {"programs": PUBLISHED["programs"]})


def changed(**kw) -> dict:
    return {"programs": dataclasses.replace(PUBLISHED["programs"], **kw)}


def test_a_changed_schema_under_the_same_version_fails_and_says_how_to_bump(programs_lock) -> None:
    t = PUBLISHED["programs"]
    added = changed(columns=(*t.columns, Column("new_signal", "float64", "x")))
    (problem,) = contract.check(programs_lock, added)
    assert f"still {t.schema_version}" in problem and "added new_signal" in problem
    assert "bump `schema_version` in imgpipeline/tables/programs.py" in problem
    assert "imgpipeline schema-lock" in problem

    retyped = tuple(
        dataclasses.replace(c, dtype="float64") if c.name == "first_year_positions" else c
        for c in t.columns
    )
    (problem,) = contract.check(programs_lock, changed(columns=retyped))
    assert "retyped first_year_positions int64->float64" in problem

    (problem,) = contract.check(programs_lock, changed(columns=t.columns[:-1]))
    assert f"removed {t.columns[-1].name}" in problem

    loosened = tuple(dataclasses.replace(c, nullable=True) if c.name == "acgme_id" else c for c in t.columns)
    (problem,) = contract.check(programs_lock, changed(columns=loosened))
    assert "nullability acgme_id nullable" in problem

    with pytest.raises(ValueError, match="schema changed"):
        contract.updated(programs_lock, added)


def test_a_bumped_version_is_recorded_and_released_versions_stay(programs_lock) -> None:
    t = PUBLISHED["programs"]
    bumped = changed(columns=(*t.columns, Column("new_signal", "float64", "x")), schema_version="9.1")
    (problem,) = contract.check(programs_lock, bumped)
    assert "new schema_version 9.1 is not in the schema lock" in problem
    lock = contract.updated(programs_lock, bumped)
    assert contract.check(lock, bumped) == []
    assert list(lock["programs"]) == [t.schema_version, "9.1"]
    assert lock["programs"]["9.1"]["columns"][-1] == ["new_signal", "float64", True]
    # Going back below a released version is refused.
    lower = changed(schema_version="0.9")
    assert "versions only go up" in contract.check(lock, lower)[0]
    with pytest.raises(ValueError, match="only go up"):
        contract.updated(lock, lower)


def test_new_and_dropped_tables_are_named(programs_lock) -> None:
    both = {"programs": PUBLISHED["programs"], "snapshots": PUBLISHED["snapshots"]}
    (problem,) = contract.check(programs_lock, both)
    assert problem.startswith("snapshots: a new published table is not in the schema lock")
    (problem,) = contract.check({**programs_lock, "old_table": {"1.0": {}}}, {"programs": PUBLISHED["programs"]})
    assert problem.startswith("old_table: in the schema lock but no longer a published table")
    assert "old_table" not in contract.updated({**programs_lock, "old_table": {"1.0": {}}}, {"programs": PUBLISHED["programs"]})


def test_the_lock_file_round_trips(tmp_path: Path) -> None:
    lock = contract.updated({})
    path = contract.write(lock, tmp_path / "lock.json")
    assert contract.load(path) == lock
    # One column per line, so a review shows exactly which column changed.
    assert '        ["acgme_id", "string", false],' in path.read_text()


def test_the_cli_checks_the_lock() -> None:
    result = CliRunner().invoke(app, ["schema-lock", "--check"])
    assert result.exit_code == 0, result.output


def test_every_published_file_carries_its_locked_version(published: Settings) -> None:
    version = current_version(published)
    assert version is not None
    lock = contract.load()
    manifest = read_manifest(published)
    files = sorted(version.glob("*.parquet"))
    assert len(files) == len(manifest["tables"]) >= 4
    for path in files:
        meta = pq.read_schema(path).metadata
        name, v = meta[b"table"].decode(), meta[b"schema_version"].decode()
        assert name == path.stem and v == PUBLISHED[name].schema_version
        locked = lock[name][v]
        assert meta[b"schema_fingerprint"].decode() == locked["fingerprint"]
        assert manifest["tables"][name]["schema_version"] == v
        # The locked columns, as a Parquet file stores them (seconds are stored as ms).
        want = pa.schema([pa.field(c, arrow_type(d), nullable=n) for c, d, n in locked["columns"]])
        sink = pa.BufferOutputStream()
        pq.write_table(want.empty_table(), sink)
        stored = pq.read_schema(pa.BufferReader(sink.getvalue()))
        schema = pq.read_schema(path)
        assert [[f.name, f.type, f.nullable] for f in schema] == [
            [f.name, f.type, f.nullable] for f in stored
        ]
