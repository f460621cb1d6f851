"""The schema contract of the published tables: one ``schema_version``, one schema, forever.

Readers' code depends on a published table's column names, types and nullability (its
fingerprint, ``Table.fingerprint``). ``imgpipeline/schema_lock.json`` records, per published
table, every ``schema_version`` ever released with its fingerprint and columns. The contract:

- a released version keeps its schema: a table whose columns change must get a new
  ``schema_version`` (``check`` fails otherwise and names the columns that changed);
- versions only go up;
- every published table is in the lock (``imgpipeline schema-lock`` adds new tables and new
  versions, and refuses to record a changed schema under a released version).

Each Parquet file carries its ``schema_version`` and ``schema_fingerprint`` in its metadata
(``Table.arrow_schema``), so a reader can check what it got.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from imgpipeline.declare import Table
from imgpipeline.tables import PUBLISHED

LOCK_PATH = Path(__file__).with_name("schema_lock.json")
COMMAND = "imgpipeline schema-lock"
BUMP = (
    "bump `schema_version` in imgpipeline/tables/{table}.py (major, e.g. 1.0 -> 2.0, when a "
    "column is removed, renamed, retyped or becomes nullable; minor, e.g. 1.0 -> 1.1, when "
    "columns are only added), then run `{command}` and commit imgpipeline/schema_lock.json"
)

Lock = dict[str, dict[str, dict[str, Any]]]


def entry(table: Table) -> dict[str, Any]:
    """What the lock records for one version of a table."""
    return {
        "fingerprint": table.fingerprint(),
        "columns": [[c.name, c.type_name, c.nullable] for c in table.columns],
    }


def load(path: Path = LOCK_PATH) -> Lock:
    return json.loads(path.read_text()) if path.exists() else {}


def version_key(version: str) -> tuple[int, ...]:
    """'1.10' -> (1, 10), so versions compare as numbers."""
    try:
        return tuple(int(p) for p in version.split("."))
    except ValueError as exc:
        raise ValueError(f"schema_version {version!r} is not dotted numbers like 1.0") from exc


def check(lock: Lock, tables: Mapping[str, Table] | None = None) -> list[str]:
    """Every breach of the contract by the declared published tables, in words."""
    tables = PUBLISHED if tables is None else tables
    problems = []
    for name, t in sorted(tables.items()):
        released = lock.get(name, {})
        locked = released.get(t.schema_version)
        if locked is not None and locked["fingerprint"] != t.fingerprint():
            problems.append(
                f"{name}: the schema changed but schema_version is still {t.schema_version} "
                f"({describe(locked['columns'], entry(t)['columns'])}): "
                + BUMP.format(table=name, command=COMMAND)
            )
        elif locked is None and released and version_key(t.schema_version) < max(
            version_key(v) for v in released
        ):
            newest = max(released, key=version_key)
            problems.append(
                f"{name}: schema_version {t.schema_version} is lower than the released "
                f"{newest}: versions only go up"
            )
        elif locked is None:
            what = "a new published table" if not released else f"new schema_version {t.schema_version}"
            problems.append(f"{name}: {what} is not in the schema lock: run `{COMMAND}` and commit imgpipeline/schema_lock.json")
    for name in sorted(set(lock) - set(tables)):
        problems.append(
            f"{name}: in the schema lock but no longer a published table (readers lose it): if "
            f"that is intended, run `{COMMAND}` to drop it"
        )
    return problems


def describe(before: list[list[Any]], after: list[list[Any]]) -> str:
    """The column differences between two locked column lists, in words."""
    old = {c[0]: tuple(c[1:]) for c in before}
    new = {c[0]: tuple(c[1:]) for c in after}
    parts = []
    if added := [c for c in new if c not in old]:
        parts.append("added " + ", ".join(added))
    if removed := [c for c in old if c not in new]:
        parts.append("removed " + ", ".join(removed))
    if changed := [f"{c} {old[c][0]}->{new[c][0]}" for c in new if c in old and old[c][0] != new[c][0]]:
        parts.append("retyped " + ", ".join(changed))
    if nulls := [
        f"{c} {'nullable' if new[c][1] else 'required'}"
        for c in new
        if c in old and old[c][1] != new[c][1]
    ]:
        parts.append("nullability " + ", ".join(nulls))
    if not parts and [c[0] for c in before] != [c[0] for c in after]:
        parts.append("columns reordered")
    return "; ".join(parts) or "fingerprint differs"


def updated(lock: Lock, tables: Mapping[str, Table] | None = None, only: list[str] | None = None) -> Lock:
    """The lock with the declared versions recorded (``only`` limits it to some tables) and
    tables no longer published dropped. Raises ValueError, changing nothing, for a changed
    schema under a released version or a version going down."""
    tables = PUBLISHED if tables is None else tables
    names = sorted(tables) if not only else only
    unknown = [n for n in names if n not in tables]
    if unknown:
        raise ValueError(f"not published tables: {unknown}")
    blocking = [
        p
        for p in check(lock, {n: tables[n] for n in names})
        if "schema changed" in p or "versions only go up" in p
    ]
    if blocking:
        raise ValueError("\n".join(blocking))
    out = {k: dict(v) for k, v in lock.items() if k in tables}
    for n in names:
        out.setdefault(n, {})[tables[n].schema_version] = entry(tables[n])
    return {k: dict(sorted(v.items(), key=lambda kv: version_key(kv[0]))) for k, v in sorted(out.items())}


def write(lock: Lock, path: Path = LOCK_PATH) -> Path:
    """The lock as JSON, one column per line so reviews show exactly what changed."""
    lines = ["{"]
    for i, (table, versions) in enumerate(lock.items()):
        lines.append(f"  {json.dumps(table)}: {{")
        for j, (version, e) in enumerate(versions.items()):
            lines.append(f"    {json.dumps(version)}: {{")
            lines.append(f'      "fingerprint": {json.dumps(e["fingerprint"])},')
            lines.append('      "columns": [')
            cols = [f"        {json.dumps(c)}" for c in e["columns"]]
            lines.append(",\n".join(cols))
            lines.append("      ]")
            lines.append("    }" + ("," if j < len(versions) - 1 else ""))
        lines.append("  }" + ("," if i < len(lock) - 1 else ""))
    lines.append("}")
    path.write_text("\n".join(lines) + "\n")
    return path
