"""A table's declared checks computed directly (pandas / numpy), for tables too large to hand to
Great Expectations' pandas engine at once: the batch flow's lists, checked chunk by chunk as
they stream to Parquet.

The checks are the ones ``validate.build_expectations`` derives from the declaration (columns
present, types, not null, provenance present, unique, bounds, allowed values, pattern, no
contact data, compound key, row count); string rules are evaluated once per distinct value.
Failures are ``errors.Failure`` objects naming the rows by the table's key, as GX's do; the
row-count rule is checked on the total (``check_rows``). Imports neither GX nor Prefect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from imgpipeline.declare import EMAIL_PATTERN, PHONE_PATTERN, PROVENANCE, Table
from imgpipeline.errors import Failure

CONTACT = re.compile(f"{EMAIL_PATTERN}|{PHONE_PATTERN}")
SHOWN_ROWS = 20


@dataclass
class ChunkReport:
    """What the checks found over every chunk of one table."""

    table: str
    rows: int = 0
    chunks: int = 0
    evaluated: int = 0
    failures: list[Failure] = field(default_factory=list)


def _rows(df: pd.DataFrame, mask: np.ndarray, keys: list[str], offset: int) -> list[str]:
    idx = np.flatnonzero(mask)[:SHOWN_ROWS]
    if not keys:
        return [f"row {offset + int(i)}" for i in idx]
    cols = [df[k].to_numpy(dtype=object)[idx] for k in keys]
    return ["/".join(str(c[n]) for c in cols) for n in range(len(idx))]


def _kind_ok(s: pd.Series, dtype: str) -> bool:
    if dtype == "string":
        return pd.api.types.is_string_dtype(s) or s.dtype == object
    if dtype == "bool":
        return pd.api.types.is_bool_dtype(s)
    if dtype == "int64":
        return pd.api.types.is_integer_dtype(s)
    if dtype == "float64":
        return pd.api.types.is_float_dtype(s)
    if dtype == "category":
        return isinstance(s.dtype, pd.CategoricalDtype)
    if dtype in ("list<string>", "list<struct>"):
        return s.dtype == object and all(isinstance(v, list) for v in s.dropna())
    if dtype == "date":
        return pd.api.types.is_datetime64_dtype(s)
    return True


def _by_value(s: pd.Series, test: re.Pattern[str], want: bool) -> np.ndarray:
    """Rows whose (non-missing) value's text (``str``, a list as Python writes it) does not
    satisfy ``bool(test.search(v)) == want``, each distinct value tested once."""
    if s.dtype == object:
        s = s.map(lambda v: v if v is None else str(v))
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    bad = np.array([bool(test.search(str(u))) != want for u in uniques], dtype=bool)
    return np.zeros(len(s), dtype=bool) if not len(uniques) else np.where(codes >= 0, bad[np.maximum(codes, 0)], False)


def check_chunk(df: pd.DataFrame, table: Table, source: str, offset: int = 0) -> tuple[int, list[Failure]]:
    """Every declared per-row check of ``table`` on ``df`` (rows ``offset``...): how many
    checks were evaluated and the failures, rows named by the table's key."""
    keys = [k for k in table.key if k in df.columns]
    failures: list[Failure] = []
    evaluated = 0

    def fail(rule: str, column: str | None, detail: str, mask: np.ndarray) -> None:
        failures.append(Failure(table.name, source, rule, column, detail, _rows(df, mask, keys, offset), int(mask.sum())))

    for c in table.columns:
        evaluated += 1
        if c.name not in df.columns:
            failures.append(Failure(table.name, source, "column_to_exist", c.name, "the column is missing"))
            continue
        s = df[c.name]
        evaluated += 1
        if not _kind_ok(s, c.dtype):
            failures.append(Failure(table.name, source, "column_values_to_be_of_type", c.name, f"dtype {s.dtype}, declared {c.dtype}"))
            continue
        na = s.isna().to_numpy()
        if not c.nullable or (table.published and c.source == PROVENANCE):
            evaluated += 1
            if na.any():
                fail("column_values_to_not_be_null", c.name, "values are missing", na)
        if c.unique:
            evaluated += 1
            dup = s.duplicated(keep=False).to_numpy() & ~na
            if dup.any():
                fail("column_values_to_be_unique", c.name, "values repeat", dup)
        if c.min is not None or c.max is not None:
            evaluated += 1
            v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            with np.errstate(invalid="ignore"):
                out = (v < c.min if c.min is not None else False) | (v > c.max if c.max is not None else False)
            out = np.asarray(out, dtype=bool) & ~np.isnan(v)
            if out.any():
                fail("column_values_to_be_between", c.name, f"outside [{c.min}, {c.max}], e.g. {v[out][:3].tolist()!r}", out)
        if c.allowed is not None:
            evaluated += 1
            out = ~s.isin(list(c.allowed)).to_numpy() & ~na
            if out.any():
                fail("column_values_to_be_in_set", c.name, f"not one of {list(c.allowed)[:8]}, e.g. {s[out].head(3).tolist()!r}", out)
        if c.pattern is not None:
            evaluated += 1
            out = _by_value(s, re.compile(c.value_regex or ""), True)
            if out.any():
                fail("column_values_to_match_regex", c.name, f"values do not match {c.pattern}, e.g. {s[out].head(3).tolist()!r}", out)
        if table.contact_checked(c):
            evaluated += 1
            out = _by_value(s, CONTACT, False)
            if out.any():
                fail("column_values_to_not_match_regex", c.name, "contact data (e-mail or phone) found", out)
    if len(table.key) > 1 and all(k in df.columns for k in table.key):
        evaluated += 1
        dup = df.duplicated(list(table.key), keep=False).to_numpy()
        if dup.any():
            fail("compound_columns_to_be_unique", None, f"{'/'.join(table.key)} repeats", dup)
    return evaluated, failures


def check_rows(table: Table, rows: int, source: str) -> list[Failure]:
    """The table-level row-count rule on a streamed table's total."""
    lo, hi = table.min_rows, table.max_rows
    if (lo is not None and rows < lo) or (hi is not None and rows > hi):
        return [Failure(table.name, source, "table_row_count_to_be_between", None, f"observed {rows}; expected min_value={lo}, max_value={hi}")]
    return []
