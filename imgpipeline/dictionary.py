"""The data dictionary (``docs/data_dictionary.md``), generated from the table declarations.

Every column of every table, with its type, unit, meaning, basis, source and rules, comes from
the one declaration that also makes the Parquet schema and the validation suite, so the
dictionary cannot drift from the data. ``imgpipeline dictionary`` regenerates it; a test fails
when the committed file differs from what the declarations generate.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path

from imgpipeline.declare import PROVENANCE, Column, Table
from imgpipeline.settings import PROJECT_DIR
from imgpipeline.tables import TABLES
from imgpipeline.text import markdown_table

DICTIONARY_PATH = PROJECT_DIR / "docs" / "data_dictionary.md"
REGENERATE = "imgpipeline dictionary"

TYPES = {
    "string": "string",
    "category": "category",
    "list<string>": "list of strings",
    "int64": "int64",
    "float64": "float64",
    "bool": "bool",
    "date": "date",
    "timestamp": "timestamp (UTC)",
}
BASIS_MEANINGS = {
    "stated": "the source says so (a FREIDA field, a program's own sentence, an ACGME entry)",
    "imputed": "estimated by a model from other signals, with its uncertainty; never overwrites a stated value",
    "inferred": "derived by a rule from other signals; the rule and its inputs are documented",
    "unknown": "no source says, and nothing is filled in",
}


def render(tables: Mapping[str, Table] | None = None) -> str:
    """The whole dictionary as Markdown: published tables first, then the staged ones."""
    tables = TABLES if tables is None else tables
    published = [t for t in tables.values() if t.published]
    staged = [t for t in tables.values() if not t.published]
    out = [
        "# Data dictionary",
        "",
        f"<!-- Generated from imgpipeline/tables/*.py by `{REGENERATE}`: edit the declarations, "
        "not this file. -->",
        "",
        "Every published table is one Parquet file in each version folder; the current version "
        "is `data/processed/current/` (`imgpipeline where` prints it). Reading them with pandas, "
        "pyarrow, DuckDB or polars: [reading.md](reading.md).",
        "",
        "Each Parquet file carries its table's `schema_version` and `schema_fingerprint` in "
        "the schema metadata, and each column's description, unit, source, basis and allowed "
        "values in the field metadata: the same text as below. A `schema_version` changes whenever the "
        "columns a reader depends on (names, types, nullability) change; "
        "`imgpipeline/schema_lock.json` records each version's columns.",
        "",
        "**Basis** says where a value comes from:",
        "",
        *[f"- `{k}`: {v}." for k, v in BASIS_MEANINGS.items()],
        "",
        "A column without a basis is an identifier, a name, provenance or a source field "
        "taken as it is. Units: `fraction` is a share between 0 and 1 (FREIDA's "
        "percentage / 100).",
        "",
        "**Types**: `category` is a closed set, a dictionary-encoded string whose allowed values "
        "are in the field metadata (`allowed`, a JSON list) and which pandas reads as a "
        "categorical of those values; `list of strings` and `list of {...}` are Parquet lists "
        "(an empty list when there is none); `date` is a calendar date; `timestamp (UTC)` a "
        "moment.",
        "",
        "## Published tables",
        "",
        *markdown_table(
            ["table", "what", "grain", "columns", "schema version"],
            [
                [f"[`{t.name}`](#{_anchor(t.name)})", t.title, t.grain, len(t.columns), f"`{t.schema_version}`"]
                for t in published
            ],
        ).split("\n"),
        "",
    ]
    for t in published:
        out += section(t)
    if staged:
        out += [
            "## Staged tables",
            "",
            "Intermediate tables, validated but not published: the inputs the published "
            "tables are built from, one per source file.",
            "",
        ]
        for t in staged:
            out += section(t)
    return "\n".join(out).rstrip() + "\n"


def section(t: Table) -> list[str]:
    """One table's part of the dictionary."""
    lines = [f"### {t.name}", "", f"**{t.title}.** {t.description}".rstrip(), ""]
    lines.append(f"- File: `{t.name}.parquet`" if t.published else "- Staged only (not published)")
    lines += [
        f"- Grain: {t.grain}",
        f"- Key: {', '.join(f'`{k}`' for k in t.key)}",
        f"- Source: {t.source}",
        f"- Schema version: `{t.schema_version}`",
    ]
    if t.min_rows is not None or t.max_rows is not None:
        lines.append(f"- Plausible rows: {_bound(t.min_rows)} to {_bound(t.max_rows)} (checked)")
    if t.no_contact_data:
        lines.append(
            "- No free-text column may hold an e-mail address or phone number (checked; closed"
            " sets and provenance are held to their own allowed values and patterns)"
        )
    traced = [c.name for c in t.columns if c.source == PROVENANCE]
    if t.published and traced:
        lines.append(
            "- Every row traces to its snapshot; never missing (checked): "
            + ", ".join(f"`{c}`" for c in traced)
        )
    lines += [f"- {note}" for note in t.notes]
    header = ["column", "type", "unit", "meaning", "basis", "source", "rules (checked)"]
    rows = [_column_cells(c, traced=t.published and c.source == PROVENANCE) for c in t.columns]
    return lines + ["", *markdown_table(header, rows).split("\n"), ""]


def rules(c: Column, traced: bool = False) -> list[str]:
    """The column's checked rules in words; every allowed value is listed (they are part of
    the meaning), unlike the shortened ``Column.checks``. ``traced``: a provenance column of a
    published table, checked as required whatever its Parquet nullability."""
    out = ["required" if not c.nullable or traced else "may be missing"]
    if c.unique:
        out.append("unique")
    if c.min is not None or c.max is not None:
        lo = "" if c.min is None else f"{c.min:g}"
        hi = "" if c.max is None else f"{c.max:g}"
        out.append(f"in [{lo}, {hi}]")
    if c.allowed is not None:
        out.append("one of " + ", ".join(f"`{v}`" for v in c.allowed))
    if c.pattern:
        out.append(f"{'each item ' if c.dtype == 'list<string>' else ''}matches `{c.pattern}`")
    if c.since:
        out.append(f"missing for snapshots before {c.since}")
    return out


def type_text(c: Column) -> str:
    """The column's type in words; a list of records names its fields."""
    if c.dtype == "list<struct>":
        return "list of {" + ", ".join(f"{n}: {TYPES[t]}" for n, t in c.fields) + "}"
    return TYPES[c.dtype]


def _column_cells(c: Column, traced: bool = False) -> list[str]:
    return [f"`{c.name}`", type_text(c), c.unit, c.description, c.basis, c.source, "; ".join(rules(c, traced))]


def _bound(v: int | None) -> str:
    return "any" if v is None else str(v)


def _anchor(name: str) -> str:
    """The anchor GitHub gives a ``### name`` heading (names are lower case, ``_`` kept)."""
    return name.lower()


def write(path: Path = DICTIONARY_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render())
    return path


def stale(path: Path = DICTIONARY_PATH) -> str | None:
    """None when ``path`` is what the declarations generate, else a unified diff."""
    want = render()
    have = path.read_text() if path.exists() else ""
    if have == want:
        return None
    diff = difflib.unified_diff(
        have.splitlines(), want.splitlines(), str(path), "generated", lineterm="", n=1
    )
    return "\n".join(diff)
