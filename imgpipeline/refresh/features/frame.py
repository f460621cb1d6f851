"""The shape every feature step returns, so the wide and long tables are built one way.

A feature is a frame indexed by ``acgme_id`` with ``value``, ``basis`` (one of
``declare.BASES``), ``source`` (which snapshot(s) the evidence comes from: ``freida``,
``acgme`` or ``freida+acgme``) and ``evidence`` (the field, the program's own sentence, or the
rule or model that produced the value)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from imgpipeline.vocabulary import BASES

SOURCES = ("freida", "acgme", "freida+acgme")
FEATURE_COLUMNS = ("value", "basis", "source", "evidence")


def feature(
    index: pd.Index,
    value: Any,
    basis: Any,
    source: Any,
    evidence: Any,
    unknown_value: Any = None,
) -> pd.DataFrame:
    """A feature frame; scalars broadcast over ``index``. Rows whose basis is unknown hold
    ``unknown_value`` (missing, except for a category that names unknown itself, like
    program_type's ``unknown``): an unknown is never a value."""
    out = pd.DataFrame(
        {"value": value, "basis": basis, "source": source, "evidence": evidence}, index=index
    )
    out["value"] = out["value"].astype(object)
    bad = set(out["basis"]) - set(BASES)
    if bad:
        raise ValueError(f"unknown basis {sorted(bad)}")
    bad_src = set(out["source"]) - set(SOURCES)
    if bad_src:
        raise ValueError(f"unknown source {sorted(bad_src)}")
    out.loc[out["basis"].eq("unknown"), "value"] = unknown_value
    return out


def where(cond: pd.Series, yes: Any, no: Any) -> pd.Series:
    """``cond ? yes : no`` over a boolean series whose missing values count as false."""
    mask = cond.fillna(False).astype(bool)
    yes_s = yes if isinstance(yes, pd.Series) else pd.Series(yes, index=cond.index, dtype=object)
    no_s = no if isinstance(no, pd.Series) else pd.Series(no, index=cond.index, dtype=object)
    return yes_s.astype(object).where(mask, no_s.astype(object))
