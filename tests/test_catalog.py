"""The catalog beside each version (datapackage.json, a Frictionless Data Package): made from
the same declarations as the Parquet files, it describes exactly what the version holds."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from imgpipeline.catalog import CATALOG, FRICTIONLESS_TYPES
from imgpipeline.refresh.land import land_snapshot
from imgpipeline.refresh.programs import build_programs, snapshots_frame
from imgpipeline.settings import get_settings
from imgpipeline.store import publish_version
from imgpipeline.tables import TABLES

# How each Frictionless type is stored in Parquet.
STORED = {
    # A closed set is a dictionary-encoded string.
    "string": lambda t: pa.types.is_string(t) or (pa.types.is_dictionary(t) and pa.types.is_string(t.value_type)),
    "array": pa.types.is_list,
    "integer": pa.types.is_int64,
    "number": pa.types.is_float64,
    "boolean": pa.types.is_boolean,
    "date": lambda t: pa.types.is_date32(t) or pa.types.is_timestamp(t),
    "datetime": pa.types.is_timestamp,
}


@pytest.fixture(scope="module")
def version(tmp_path_factory: pytest.TempPathFactory, data_dir: Path, staged_acgme, staged_freida) -> Path:
    base = tmp_path_factory.mktemp("catalog")
    settings = get_settings(source_dir=str(data_dir), raw_dir=base / "raw", processed_dir=base / "processed")
    snaps = [land_snapshot(n, settings) for n in ("acgme_programs", "freida_programs")]
    programs, unmatched = build_programs(staged_acgme, staged_freida, *snaps)
    tables = {"programs": programs, "unmatched_records": unmatched, "snapshots": snapshots_frame(snaps)}
    summary = {"snapshots": [{"source": s.source, "as_of": s.as_of, "sha256": s.sha256, "snapshot": s.snapshot_id} for s in snaps]}
    return publish_version(tables, settings, summary)


def test_the_catalog_describes_every_file_of_the_version(version: Path) -> None:
    package = json.loads((version / CATALOG).read_text())
    manifest = json.loads((version / "manifest.json").read_text())
    assert package["profile"] == "tabular-data-package" and package["version"] == version.name
    assert "terms govern reuse" in package["rights"]
    assert {s["title"] for s in package["sources"]} == {"acgme_programs", "freida_programs"}
    assert all(len(s["sha256"]) == 64 for s in package["sources"])
    assert [r["name"] for r in package["resources"]] == list(manifest["tables"])
    for res in package["resources"]:
        path = version / res["path"]
        data = path.read_bytes()
        assert res["bytes"] == len(data)
        assert res["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
        assert res["rows"] == manifest["tables"][res["name"]]["rows"] == pq.read_metadata(path).num_rows
        table = TABLES[res["name"]]
        assert res["schema_version"] == table.schema_version
        assert res["schema"]["primaryKey"] == list(table.key)
        schema = pq.read_schema(path)
        fields = res["schema"]["fields"]
        assert [f["name"] for f in fields] == schema.names
        for f in fields:
            declared = table.column(f["name"])
            assert f["type"] == FRICTIONLESS_TYPES[declared.dtype]
            assert STORED[f["type"]](schema.field(f["name"]).type), f
            assert f.get("categories") == (list(declared.allowed) if declared.allowed else None)
            assert f["description"] == declared.description
            constraints = f.get("constraints", {})
            assert constraints.get("enum") == (list(declared.allowed) if declared.allowed else None)
            assert constraints.get("required", False) == (not declared.nullable)


def test_allowed_values_in_the_catalog_hold_in_the_data(version: Path) -> None:
    """What the catalog promises an app is what the file holds: every enum, range and
    required field of every resource, checked against the Parquet data."""
    package = json.loads((version / CATALOG).read_text())
    checked = 0
    for res in package["resources"]:
        frame = pd.read_parquet(version / res["path"])
        for f in res["schema"]["fields"]:
            c = f.get("constraints", {})
            values = frame[f["name"]]
            if c.get("required"):
                assert values.notna().all(), (res["name"], f["name"])
            present = values.dropna()
            if "enum" in c:
                assert set(present) <= set(c["enum"]), (res["name"], f["name"])
                checked += 1
            if "minimum" in c:
                assert (present >= c["minimum"]).all()
            if "maximum" in c:
                assert (present <= c["maximum"]).all()
    assert checked >= 3
