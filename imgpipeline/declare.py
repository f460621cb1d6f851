"""One declaration per table: its columns, types, units, meanings and checks in one place.

The Parquet schema (``Table.arrow_schema``), the Great Expectations suite
(``imgpipeline.refresh.validate.build_suite``) and the data dictionary (``imgpipeline.dictionary``)
are all made from it, so they cannot drift apart.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa

DType = Literal[
    "string", "category", "list<string>", "list<struct>", "int64", "float64", "bool", "date", "timestamp"
]
# The scalar types a ``list<struct>`` column's fields may have.
FIELD_TYPES = ("string", "int64", "float64", "bool")

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    # A closed set: dictionary-encoded, its allowed values in the field metadata.
    "category": pa.dictionary(pa.int32(), pa.string()),
    "list<string>": pa.list_(pa.string()),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("s", tz="UTC"),
}
PANDAS_DTYPES: dict[str, str] = {
    "string": "str",
    "category": "category",
    "list<string>": "object",
    "list<struct>": "object",
    "int64": "Int64",
    "float64": "Float64",
    "bool": "boolean",
    "date": "datetime64[s]",
    "timestamp": "datetime64[s, UTC]",
}
# The type name Great Expectations observes for each pandas dtype above.
# A list column is an object column: GX checks every value is a list.
GX_TYPES: dict[str, str] = {
    "string": "str",
    "category": "CategoricalDtypeType",
    "list<string>": "list",
    "list<struct>": "list",
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

    # A ``list<struct>`` column's fields: (name, one of FIELD_TYPES), in order.
    fields: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.pattern is not None and re.compile(self.pattern).groups:
            # pandas' str.contains (which GX uses) warns on capturing groups: use (?:...).
            raise ValueError(f"column {self.name!r}: pattern has capturing groups: {self.pattern}")
        if (self.dtype == "category") != (self.allowed is not None):
            raise ValueError(f"column {self.name!r}: a closed set (allowed values) is a category, and a category has allowed values")
        if (self.dtype == "list<struct>") != bool(self.fields) or any(t not in FIELD_TYPES for _, t in self.fields):
            raise ValueError(f"column {self.name!r}: a list<struct> declares its fields (name, one of {FIELD_TYPES})")

    @property
    def type_name(self) -> str:
        """The declared type in full: the dtype, with a struct's fields spelled out
        (``list<struct<term:string,log_odds:float64>>``). What the schema lock records."""
        if self.dtype != "list<struct>":
            return self.dtype
        return "list<struct<" + ",".join(f"{n}:{t}" for n, t in self.fields) + ">>"

    @property
    def arrow_type(self) -> pa.DataType:
        return arrow_type(self.type_name)

    @property
    def is_text(self) -> bool:
        """Whether the values are text: strings and lists of strings (a closed set's values
        are declared, so it is not)."""
        return self.dtype in ("string", "list<string>")

    @property
    def value_regex(self) -> str | None:
        """The regex each value's text must match: the pattern itself, or for a list column,
        whose pattern is each item's, the list as Python writes it (``['J-1', 'H-1B']``, what
        ``str`` gives and what Great Expectations reads) with every item matching."""
        if self.pattern is None or self.dtype != "list<string>":
            return self.pattern
        item = self.pattern.removeprefix("^").removesuffix("$")
        return rf"^\[(?:'(?:{item})'(?:, '(?:{item})')*)?\]$"

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
        every text column (strings and lists of strings, ``Column.is_text``) of a table that may
        hold none, except the provenance the pipeline stamps itself from the manifest (snapshot
        ids, dates, checksums: never source text). A closed set is a category, not text: its
        allowed values are checked."""
        return self.no_contact_data and c.is_text and c.source != PROVENANCE

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
        shape = [(c.name, c.type_name, c.nullable) for c in self.columns]
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
                out[c.name] = _as_dtype(df[c.name], c)
            elif c.since is not None and as_of is not None and as_of < c.since:
                out[c.name] = empty_series(c, df.index)
        extra = [c for c in df.columns if c not in set(self.column_names)]
        if extra:
            raise ValueError(f"{self.name}: undeclared columns {extra}")
        return pd.DataFrame(out, index=df.index).reset_index(drop=True)

    def to_arrow(self, df: pd.DataFrame) -> pa.Table:
        return pa.Table.from_pandas(
            df[self.column_names], schema=self.arrow_schema(), preserve_index=False
        )


def arrow_type(type_name: str) -> pa.DataType:
    """The Arrow type of a declared type name (``Column.type_name``)."""
    if type_name.startswith("list<struct<"):
        fields = [f.split(":") for f in type_name[len("list<struct<") : -2].split(",")]
        return pa.list_(pa.struct([(n, ARROW_TYPES[t]) for n, t in fields]))
    return ARROW_TYPES[type_name]


def empty_series(c: Column, index: pd.Index) -> pd.Series:
    """An all-missing column of ``c``'s pandas type."""
    return _as_dtype(pd.Series(None, index=index, dtype=object), c)


def _as_dtype(s: pd.Series, c: Column) -> pd.Series:
    dtype = c.dtype
    target = PANDAS_DTYPES[dtype]
    if dtype == "string":
        return s.astype("str")
    if dtype == "category":
        return _as_category(s, c.allowed or ())
    if dtype == "list<string>":
        return pd.Series([_as_list(v, c.name, str) for v in s], index=s.index, dtype=object)
    if dtype == "list<struct>":
        return pd.Series([_as_list(v, c.name, _as_struct(c)) for v in s], index=s.index, dtype=object)
    if dtype == "bool":
        return s.astype("boolean")
    if dtype in ("int64", "float64"):
        return pd.to_numeric(s).astype(target)
    if dtype == "date":
        return pd.to_datetime(s).astype(target)
    if dtype == "timestamp":
        return pd.to_datetime(s, utc=True).astype(target)
    raise ValueError(dtype)


def _as_category(s: pd.Series, allowed: tuple[str, ...]) -> pd.Series:
    """A closed set as a pandas categorical whose categories are the allowed values, in their
    declared order. A value outside the set is kept (as an extra category, after them), never
    turned into a missing value, so the validation gate reports it."""
    values = pd.Categorical(s if isinstance(s.dtype, pd.CategoricalDtype) else s.astype("str"))
    extra = sorted(set(map(str, values.categories)) - set(allowed))
    return pd.Series(values.set_categories([*allowed, *extra]), index=s.index, name=s.name)


def _missing(v: object) -> bool:
    return v is None or (not isinstance(v, (list, tuple, np.ndarray, dict)) and bool(pd.isna(v)))


def _as_list(v: object, name: str, item: Callable[[Any], Any]) -> list[Any] | None:
    """One value of a list column as a Python list (None when missing); a delimited string is
    refused, since the point of the type is that nobody has to split one."""
    if _missing(v):
        return None
    if isinstance(v, (str, bytes, dict)):
        raise TypeError(f"column {name!r} is a list: got {type(v).__name__} {v!r}")
    return [item(x) for x in v]


def _as_struct(c: Column) -> Callable[[Any], dict[str, Any]]:
    """A converter of one element of ``c`` (a mapping) to its declared fields and types."""
    cast: dict[str, Callable[[Any], Any]] = {"string": str, "int64": int, "float64": float, "bool": bool}

    def one(x: Any) -> dict[str, Any]:
        extra = set(x) - {n for n, _ in c.fields}
        if extra:
            raise ValueError(f"column {c.name!r}: undeclared fields {sorted(extra)}")
        return {n: None if _missing(x.get(n)) else cast[t](x[n]) for n, t in c.fields}

    return one
