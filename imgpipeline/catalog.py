"""A machine-readable catalog beside each version: a Frictionless Data Package
(``datapackage.json``, https://specs.frictionlessdata.io/data-package/) made from the same
table declarations as the Parquet schemas, the Great Expectations suites and the data
dictionary: every table, its file, checksum, rows, grain, key and schema version, and every
field with its type, description, unit, basis, source and constraints (required, unique,
range, allowed values, pattern), plus the snapshots the version was built from and the
rights note.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from imgpipeline.declare import Column, Table

CATALOG = "datapackage.json"
# Frictionless Table Schema field types for the declared dtypes.
FRICTIONLESS_TYPES = {
    "string": "string",
    "category": "string",
    "list<string>": "array",
    "list<struct>": "array",
    "int64": "integer",
    "float64": "number",
    "bool": "boolean",
    "date": "date",
    "timestamp": "datetime",
}
RIGHTS = (
    "The facts come from ACGME, AMA FREIDA and NRMP, whose terms govern reuse; the repositories "
    "the snapshots come from state no licence for the data. Redistribution of the outputs is "
    "subject to those terms. No personal contact data is published."
)


def field(c: Column) -> dict[str, Any]:
    """One Table Schema field from a declared column."""
    out: dict[str, Any] = {
        "name": c.name,
        "type": FRICTIONLESS_TYPES[c.dtype],
        "description": c.description,
    }
    if c.dtype == "timestamp":
        out["format"] = "default"
    if c.dtype == "list<string>":
        out["arrayItem"] = {"type": "string"}
    if c.dtype == "list<struct>":
        out["arrayItem"] = {"type": "object", "fields": [{"name": n, "type": FRICTIONLESS_TYPES[t]} for n, t in c.fields]}
    if c.dtype == "category":
        out["categories"] = list(c.allowed or ())
    for key in ("unit", "basis", "source"):
        if getattr(c, key):
            out[key] = getattr(c, key)
    constraints: dict[str, Any] = {}
    if not c.nullable:
        constraints["required"] = True
    if c.unique:
        constraints["unique"] = True
    if c.min is not None:
        constraints["minimum"] = c.min
    if c.max is not None:
        constraints["maximum"] = c.max
    if c.allowed is not None:
        constraints["enum"] = list(c.allowed)
    if c.pattern is not None:
        constraints["pattern"] = c.pattern
    if constraints:
        out["constraints"] = constraints
    return out


def resource(table: Table, path: Path, rows: int) -> dict[str, Any]:
    """One tabular data resource: a published table's file and its schema."""
    data = path.read_bytes()
    return {
        "name": table.name,
        "path": path.name,
        "profile": "tabular-data-resource",
        "format": "parquet",
        "mediatype": "application/vnd.apache.parquet",
        "title": table.title,
        "description": table.description or table.title,
        "grain": table.grain,
        "source": table.source,
        "rows": rows,
        "bytes": len(data),
        "hash": "sha256:" + hashlib.sha256(data).hexdigest(),
        "schema_version": table.schema_version,
        "schema_fingerprint": table.fingerprint(),
        "schema": {
            "fields": [field(c) for c in table.columns],
            "primaryKey": list(table.key),
        },
    }


def datapackage(
    version: str,
    published_at: str,
    tables: dict[str, tuple[Table, Path, int]],
    snapshots: list[dict[str, Any]],
) -> dict[str, Any]:
    """The Data Package of one version. ``tables``: name -> (declaration, file, rows)."""
    return {
        "profile": "tabular-data-package",
        "name": "imgpipeline",
        "title": "US internal-medicine residency programs for international medical graduates",
        "description": (
            "Validated, explainable program tables (ACGME, AMA FREIDA, NRMP) for IMGs applying "
            "to US internal-medicine residency; every number traces to a source snapshot."
        ),
        "version": version,
        "created": published_at,
        "rights": RIGHTS,
        "licenses": [],
        "sources": [
            {
                "title": s["source"],
                "path": s.get("snapshot", s["source"]),
                "as_of": s["as_of"],
                "sha256": s["sha256"],
            }
            for s in snapshots
        ],
        "resources": [resource(t, p, n) for t, p, n in tables.values()],
    }
