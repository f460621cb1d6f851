"""Every CSV the project writes goes through ``write_csv``: cells that a spreadsheet would run
as a formula (CSV / formula injection: text starting with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return) are written with a leading apostrophe, so they open as text.

Only text cells are touched: a negative number stays a number. A profile id, a program name
or a reason taken from a source or a user cannot become ``=HYPERLINK(...)`` in Excel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    """``value`` made inert for a spreadsheet if it is text starting like a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells cannot run as formulas (numbers untouched)."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            text = s.astype(object)
            risky = text.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_PREFIXES))
            if risky.any():
                out[col] = text.where(~risky, "'" + text[risky].astype(str))
    return out


def write_csv(df: pd.DataFrame, path: str | Path, **kwargs: Any) -> Path:
    """``df.to_csv(path, index=False)`` with formula-like text neutralised."""
    path = Path(path)
    neutralise(df).to_csv(path, index=False, **kwargs)
    return path


def csv_bytes(df: pd.DataFrame) -> bytes:
    """The CSV text of ``df`` (no index), formula-like text neutralised: for a download."""
    return neutralise(df).to_csv(index=False).encode()
