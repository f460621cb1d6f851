"""Every CSV the project writes goes through ``write_csv``: cells that a spreadsheet would run
as a formula (CSV / formula injection: text starting with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return) are written with a leading apostrophe, so they open as text.

Only text cells are touched: a negative number stays a number. A profile id, a program name
or a reason taken from a source or a user cannot become ``=HYPERLINK(...)`` in Excel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    """``value`` made inert for a spreadsheet if it is text starting like a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with text cells that cannot run as formulas (numbers untouched): a copy when a cell
    had to change, else ``df`` itself."""
    out = None
    for col in df.columns:
        s = df[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            values = s.to_numpy(dtype=object)
            risky = np.fromiter((isinstance(v, str) and v.startswith(FORMULA_PREFIXES) for v in values), dtype=bool, count=len(values))
            if risky.any():
                out = df.copy() if out is None else out
                text = s.astype(object)
                out[col] = text.where(~risky, "'" + text[risky].astype(str))
    return df if out is None else out


def write_csv(df: pd.DataFrame, path: str | Path, **kwargs: Any) -> Path:
    """``df.to_csv(path, index=False)`` with formula-like text neutralised."""
    path = Path(path)
    neutralise(df).to_csv(path, index=False, **kwargs)
    return path


def csv_bytes(df: pd.DataFrame) -> bytes:
    """The CSV text of ``df`` (no index), formula-like text neutralised: for a download."""
    return neutralise(df).to_csv(index=False).encode()
