"""Words for numbers and tables, shared by everything that writes Markdown or screens: one
Markdown table writer, one way to show a share, a count or a published value."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table; a ``|`` inside a cell is escaped, a line break is a
    space."""

    def cells(values: Sequence[Any]) -> str:
        return "| " + " | ".join(str(v).replace("|", "\\|").replace("\n", " ") for v in values) + " |"

    return "\n".join([cells(header), "|" + "---|" * len(header), *(cells(r) for r in rows)])


def named_line(title: str, headers: Sequence[str], row: Sequence[Any]) -> str:
    """A table row on one line, every value named: how a table is printed to a pipe or a log
    (a drawn table wraps its cells at 80 columns)."""
    return f"{title}: " + ", ".join(f"{h} {v}" for h, v in zip(headers, row, strict=True))


def pct(x: float | None) -> str:
    """A share as a percentage: whole percents, one decimal under 1% ("-" when missing)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.0%}" if x >= 0.01 or x == 0 else f"{x:.1%}"


def value_text(v: object) -> str | None:
    """A published value as text (None for missing; booleans as true/false; floats short)."""
    import pandas as pd

    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    if isinstance(v, bool) or type(v).__name__ == "bool_":
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)
