"""How much the advice moves when a judgement moves: each judgement constant of the interview
model halved and raised by half, the calibration solved again, and example applicants' lists
rebuilt. Printed by ``imgpipeline sensitivity`` and quoted in docs/scoring.md.

For each change and profile: the list size, expected interviews and P(match | list), and how
many of the base list's programs stay in the new list of the same size (overlap)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from imgpipeline.advice.model import Coefficients, Programs
from imgpipeline.advice.profile import ApplicantProfile
from imgpipeline.advice.published import Published
from imgpipeline.advice.recommend import recommend
from imgpipeline.refresh.interview import solve_calibration
from imgpipeline.settings import Settings
from imgpipeline.text import markdown_table

FACTORS = (0.5, 1.5)


def _with(data: Published, term: str, factor: float) -> Published:
    """The version with one constant scaled; the calibration offset solved again."""
    values = dict(data.coefficients.values)
    table = data.programs.table.copy()
    if term == "volume_elasticity":
        for col in ("openness", "openness_low", "openness_high"):
            table[col] = table[col] * factor
    values[term] = values[term] * factor
    c = values
    c["calibration_offset"] = solve_calibration(table, c["applications_per_applicant"], c["reference_interviews"])
    return replace(data, programs=Programs.from_table(table), coefficients=Coefficients(c))


def _row(term: str, factor: float | None, name: str, base: pd.Series | None, rec: object) -> dict[str, object]:
    listed = rec.programs["acgme_id"]  # type: ignore[attr-defined]
    o = rec.outcome  # type: ignore[attr-defined]
    overlap = np.nan if base is None else len(set(listed) & set(base)) / max(len(base), 1)
    return {
        "constant": term, "times": factor if factor is not None else 1.0, "profile": name,
        "listed": len(listed), "expected_interviews": None if o is None else round(o.expected_interviews, 2),
        "p_match": None if o is None else round(o.p_match, 3), "overlap_with_base": None if base is None else round(overlap, 2),
    }


def sensitivity(data: Published, profiles: dict[str, ApplicantProfile], as_of_year: int | None = None, settings: Settings | None = None) -> pd.DataFrame:
    """One row per (judgement constant, factor, profile), after the base rows (times = 1), by
    the rulebook of ``settings`` (the environment's without)."""
    judged = data.coefficient_table.loc[data.coefficient_table["basis"] == "judgement", "term"]
    judged = [t for t in judged if not t.startswith("band_") and data.coefficients[t] != 0]
    rows, base = [], {}
    for name, prof in profiles.items():
        rec = recommend(prof, data, as_of_year=as_of_year, settings=settings)
        base[name] = rec.programs["acgme_id"]
        rows.append(_row("(as published)", None, name, None, rec))
    for term in judged:
        for factor in FACTORS:
            moved = _with(data, term, factor)
            for name, prof in profiles.items():
                rows.append(_row(term, factor, name, base[name], recommend(prof, moved, as_of_year=as_of_year, settings=settings)))
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    """The table as Markdown, one line per constant and factor, profiles side by side."""
    profiles = list(dict.fromkeys(table["profile"]))
    rows = []
    for (term, times), grp in table.groupby(["constant", "times"], sort=False):
        cells = []
        for p in profiles:
            r = grp[grp["profile"] == p].iloc[0]
            ov = "" if pd.isna(r["overlap_with_base"]) else f", {r['overlap_with_base']:.0%}"
            cells.append(f"{r['listed']}, {r['expected_interviews']}, {r['p_match']}{ov}")
        rows.append((term, f"{times:g}", *cells))
    return markdown_table(["constant", "x", *(f"{p}: listed, interviews, P(match), overlap" for p in profiles)], rows)
