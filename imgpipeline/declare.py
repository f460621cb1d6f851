"""One declaration per table: its columns, types, units, meanings and checks in one place.

The Parquet schema (``Table.arrow_schema``), the Great Expectations suite
(``imgpipeline.refresh.validate.build_suite``) and the data dictionary (``imgpipeline.dictionary``)
are all made from it, so they cannot drift apart.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd
import pyarrow as pa

DType = Literal["string", "int64", "float64", "bool", "date", "timestamp"]

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("s", tz="UTC"),
}
PANDAS_DTYPES: dict[str, str] = {
    "string": "str",
    "int64": "Int64",
    "float64": "Float64",
    "bool": "boolean",
    "date": "datetime64[s]",
    "timestamp": "datetime64[s, UTC]",
}
# The type name Great Expectations observes for each pandas dtype above.
GX_TYPES: dict[str, str] = {
    "string": "str",
    "int64": "int64",
    "float64": "float64",
    "bool": "bool",
    "date": "datetime64",
    "timestamp": "Timestamp",
}


ACGME_ID_PATTERN = r"^140\d{7}$"
# Contact data that must never reach an output: e-mail addresses and US phone numbers.
EMAIL_PATTERN = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
PHONE_PATTERN = r"(?:\(\d{3}\)\s*|\b\d{3}[-.\s])\d{3}[-.\s]\d{4}\b"
# The ``source`` of a column that traces rows to their landed snapshot (snapshot id, as-of
# date, sha256): never missing in a published table (the validation gate checks it).
PROVENANCE = "manifest"


@dataclass(frozen=True)
class Column:
    """A column and the rules its values keep."""

    name: str
    dtype: DType
    description: str
    unit: str = ""
    source: str = ""
    basis: str = ""
    nullable: bool = True
    unique: bool = False
    min: float | None = None
    max: float | None = None
    allowed: tuple[str, ...] | None = None
    pattern: str | None = None
    since: str | None = None

    def __post_init__(self) -> None:
        if self.pattern is not None and re.compile(self.pattern).groups:
            # pandas' str.contains (which GX uses) warns on capturing groups: use (?:...).
            raise ValueError(f"column {self.name!r}: pattern has capturing groups: {self.pattern}")

    @property
    def arrow_type(self) -> pa.DataType:
        return ARROW_TYPES[self.dtype]

    def field_metadata(self) -> dict[str, str]:
        """The Parquet field's key-value metadata: its description, and its unit, basis and
        source where it has them (no empty keys), and for a closed set its allowed values
        (``allowed``, a JSON list), so an app learns them from the schema alone."""
        meta = {"description": self.description}
        for key in ("unit", "basis", "source"):
            if getattr(self, key):
                meta[key] = getattr(self, key)
        if self.allowed is not None:
            meta["allowed"] = json.dumps(list(self.allowed))
        return meta

@dataclass(frozen=True)
class Table:
    """A staged or published table: its grain, its columns and its table-level checks."""

    name: str
    title: str
    grain: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    schema_version: str
    source: str
    published: bool = False
    description: str = ""
    min_rows: int | None = None
    max_rows: int | None = None
    no_contact_data: bool = True
    locator: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def contact_checked(self, c: Column) -> bool:
        """Whether column ``c`` is checked for contact data (e-mail addresses, phone numbers):
        every text column of a table that may hold none, except a closed set (its allowed
        values are checked) and the provenance the pipeline stamps itself from the manifest
        (snapshot ids, dates, checksums: never source text)."""
        return (
            self.no_contact_data
            and c.dtype == "string"
            and c.allowed is None
            and c.source != PROVENANCE
        )

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} declares no column {name!r}")

    def arrow_schema(self) -> pa.Schema:
        """The Parquet schema: types, per-column descriptions, units, basis, source and
        allowed values (``Column.field_metadata``), and the table's schema_version in its
        metadata."""
        fields = [
            pa.field(c.name, c.arrow_type, nullable=c.nullable, metadata=c.field_metadata())
            for c in self.columns
        ]
        meta = {
            "table": self.name,
            "title": self.title,
            "grain": self.grain,
            "schema_version": self.schema_version,
            "schema_fingerprint": self.fingerprint(),
        }
        return pa.schema(fields, metadata=meta)

    def fingerprint(self) -> str:
        """A hash of names, types and nullability: what a reader's code depends on."""
        shape = [(c.name, c.dtype, c.nullable) for c in self.columns]
        return hashlib.sha256(json.dumps(shape).encode()).hexdigest()[:16]

    def coerce(self, df: pd.DataFrame, as_of: str | None = None) -> pd.DataFrame:
        """Order and type ``df`` as declared.

        A column declared with ``since`` is added as missing only when the snapshot's
        ``as_of`` date is before ``since`` (the snapshot predates the column). Every other
        absent column, including a ``since`` column missing from a snapshot that should have
        it (or of unknown date), stays absent, so the validation gate reports it rather than
        this step inventing it."""
        out = {}
        for c in self.columns:
            if c.name in df.columns:
                out[c.name] = _as_dtype(df[c.name], c.dtype)
            elif c.since is not None and as_of is not None and as_of < c.since:
                out[c.name] = pd.Series(pd.NA, index=df.index, dtype=PANDAS_DTYPES[c.dtype])
        extra = [c for c in df.columns if c not in set(self.column_names)]
        if extra:
            raise ValueError(f"{self.name}: undeclared columns {extra}")
        return pd.DataFrame(out, index=df.index).reset_index(drop=True)

    def to_arrow(self, df: pd.DataFrame) -> pa.Table:
        return pa.Table.from_pandas(
            df[self.column_names], schema=self.arrow_schema(), preserve_index=False
        )


def _as_dtype(s: pd.Series, dtype: str) -> pd.Series:
    target = PANDAS_DTYPES[dtype]
    if dtype == "string":
        return s.astype("str")
    if dtype == "bool":
        return s.astype("boolean")
    if dtype in ("int64", "float64"):
        return pd.to_numeric(s).astype(target)
    if dtype == "date":
        return pd.to_datetime(s).astype(target)
    if dtype == "timestamp":
        return pd.to_datetime(s, utc=True).astype(target)
    raise ValueError(dtype)
