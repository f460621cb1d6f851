"""Where sources disagree about a program: one row per program, field and pair of sources.

Three comparisons, all of one ACGME program at a time:

- FREIDA (2025 pages) vs ACGME (2024-2025 list): city, state and program name. Values are
  normalised first (case, punctuation, "St."/"St"/"Saint", "Ft"/"Fort", "&"/"and", ...) and
  every difference gets a ``kind``: ``spelling`` (equal once normalised), ``typo`` (one or two
  letters apart: "Camrbidge"), ``qualifier`` (one name is the other plus words, such as a
  site in parentheses) or ``substantive`` (a different place or name: 1400500014 is in
  Palmdale, CA to ACGME and in Saint Louis, MO to FREIDA). Only ``substantive`` rows are
  disagreements about facts; the others are kept so a reader can see what was reconciled.
- FREIDA 2016 vs FREIDA 2025: whether J-1 and H-1B visas are listed (``changed``). The 2016
  value is ten years old; a difference says the page changed, not that either is wrong.
- FREIDA visa list vs the program's own text (``list_vs_text``), from rows the program
  features step provides (see ``build_conflicts``).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from rapidfuzz.distance import Levenshtein

from imgpipeline.refresh.crosswalk import normalise, normalise_city
from imgpipeline.tables import TABLES

log = logging.getLogger(__name__)

KINDS = ("spelling", "typo", "qualifier", "substantive", "changed", "list_vs_text")
ACGME = "acgme_programs"
FREIDA = "freida_programs"
FREIDA_TEXT = "freida_programs (special_features_text)"
FREIDA_2016 = "freida_2016"
# Columns expected in the visa list-vs-text rows (see build_conflicts).
VISA_TEXT_COLUMNS = ("acgme_id", "field", "list_value", "text_value", "quote")
MAX_TYPO_EDITS = 2
MIN_TYPO_LENGTH = 5


def classify(a: object, b: object, kind_of: str = "name") -> str | None:
    """The kind of difference between two values of one field, or None if they agree.

    ``kind_of`` is "city" (cities: only abbreviations and case are normalised) or "name"
    (program names: filler words like "Program" are ignored as well)."""
    if _blank(a) or _blank(b):
        return None
    if str(a) == str(b):
        return None
    norm = normalise_city if kind_of == "city" else _name_form
    na, nb = norm(a), norm(b)
    if na == nb:
        return "spelling"
    if min(len(na), len(nb)) >= MIN_TYPO_LENGTH and Levenshtein.distance(na, nb) <= MAX_TYPO_EDITS:
        return "typo"
    if kind_of == "name":
        wa, wb = set(na.split()), set(nb.split())
        if wa and wb and (wa <= wb or wb <= wa):
            return "qualifier"
    return "substantive"


def _name_form(text: object) -> str:
    # Word order kept; "Program" and other filler dropped, abbreviations expanded.
    return normalise(str(text))


def _blank(v: object) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and pd.isna(v)) or str(v).strip() == ""


def _has_items(v: object) -> bool:
    """Whether a list value (a list, an array as read back, or missing) has any item."""
    return isinstance(v, list | tuple | np.ndarray) and len(v) > 0


def _row(
    prog: pd.Series,
    field: str,
    kind: str,
    a: tuple[object, str, object, object],
    b: tuple[object, str, object, object],
    detail: str,
    quote: object = None,
) -> dict[str, object]:
    return {
        "acgme_id": prog["acgme_id"],
        "program_name": prog["program_name"],
        "field": field,
        "kind": kind,
        "value_a": str(a[0]),
        "source_a": a[1],
        "snapshot_a": a[2],
        "as_of_a": a[3],
        "value_b": str(b[0]),
        "source_b": b[1],
        "snapshot_b": b[2],
        "as_of_b": b[3],
        "detail": detail,
        "evidence_quote": None if _blank(quote) else str(quote),
    }


def freida_vs_acgme(programs: pd.DataFrame) -> list[dict[str, object]]:
    """City, state and name differences between the ACGME list and FREIDA's pages."""
    rows: list[dict[str, object]] = []
    fields = (
        ("city", "freida_city", "city"),
        ("state", "freida_state", "city"),
        ("program_name", "freida_program_name", "name"),
    )
    for _, p in programs[programs["in_freida"].fillna(False).astype(bool)].iterrows():
        acgme = (p["acgme_snapshot"], p["acgme_as_of"])
        freida = (p["freida_snapshot"], p["freida_as_of"])
        for field, fcol, how in fields:
            kind = classify(p[field], p[fcol], how)
            if kind is None:
                continue
            if field == "state":
                kind = "substantive" if kind != "spelling" else kind
            detail = {
                "spelling": "equal once case, punctuation and abbreviations are normalised",
                "typo": "one or two letters apart: most likely a misspelling",
                "qualifier": "one name is the other with words added (a site or sponsor)",
                "substantive": "different values",
            }[kind]
            rows.append(
                _row(p, field, kind, (p[field], ACGME, *acgme), (p[fcol], FREIDA, *freida), detail)
            )
    return rows


def visa_2016_vs_2025(programs: pd.DataFrame, minimums: pd.DataFrame) -> list[dict[str, object]]:
    """J-1 and H-1B: listed on the 2016 page vs listed on the 2025 page, where both say."""
    rows: list[dict[str, object]] = []
    merged = minimums[minimums["on_acgme_list"].fillna(False).astype(bool)].merge(
        programs, on="acgme_id", how="inner", suffixes=("_2016", "")
    )
    pairs = (("j1_visa", "lists_j1_visa", "lists_j1"), ("h1b_visa", "lists_h1b_visa", "lists_h1b"))
    for _, m in merged.iterrows():
        if not bool(m["in_freida"]):
            continue
        for field, old, new in pairs:
            if _blank(m[old]) or _blank(m[new]) or bool(m[old]) == bool(m[new]):
                continue
            none_2025 = not _has_items(m.get("visas_listed"))
            detail = (
                f"2016 page: {'listed' if m[old] else 'not listed'}; 2025 page: "
                f"{'listed' if m[new] else 'not listed'}"
                + (" (the 2025 page lists no visa at all)" if none_2025 else "")
                + ". The 2016 value is stale evidence; the 2025 page is the current statement."
            )
            rows.append(
                _row(
                    m,
                    field,
                    "changed",
                    (
                        _listed(m[old]),
                        FREIDA_2016,
                        m["freida_2016_snapshot"],
                        m["freida_2016_as_of"],
                    ),
                    (_listed(m[new]), FREIDA, m["freida_snapshot"], m["freida_as_of"]),
                    detail,
                )
            )
    return rows


def _listed(v: object) -> str:
    return "listed" if bool(v) else "not listed"


def visa_list_vs_text(
    programs: pd.DataFrame, visa_text_rows: pd.DataFrame | None
) -> list[dict[str, object]]:
    """Rows of the program-features step where FREIDA's visa list and the program's own text
    disagree, turned into conflicts (see ``build_conflicts`` for the expected columns)."""
    if visa_text_rows is None or visa_text_rows.empty:
        return []
    missing = [c for c in VISA_TEXT_COLUMNS if c not in visa_text_rows.columns]
    if missing:
        raise ValueError(f"visa list-vs-text rows lack columns {missing}")
    progs = programs.set_index("acgme_id")
    rows: list[dict[str, object]] = []
    for _, v in visa_text_rows.iterrows():
        if v["acgme_id"] not in progs.index:
            raise ValueError(f"visa list-vs-text row for {v['acgme_id']}, not in programs")
        p = progs.loc[v["acgme_id"]]
        prog = pd.Series({"acgme_id": v["acgme_id"], "program_name": p["program_name"]})
        freida = (p["freida_snapshot"], p["freida_as_of"])
        rows.append(
            _row(
                prog,
                str(v["field"]),
                "list_vs_text",
                (v["list_value"], FREIDA, *freida),
                (v["text_value"], FREIDA_TEXT, *freida),
                "FREIDA's visa list and the program's own text disagree"
                + (f" (text rule: {v['rule']})" if not _blank(v.get("rule")) else ""),
                quote=v["quote"],
            )
        )
    return rows


def build_conflicts(
    programs: pd.DataFrame,
    minimums: pd.DataFrame | None = None,
    visa_text_rows: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The published ``conflicts`` table.

    ``programs``: the published ``programs`` frame. ``minimums``: the published
    ``program_minimums_2016`` (for 2016 vs 2025 visas), optional. ``visa_text_rows``: where
    FREIDA's visa list and the program text disagree, one row per program and visa field,
    with columns ``acgme_id`` (ACGME number), ``field`` (e.g. ``sponsors_j1``),
    ``list_value`` and ``text_value`` (what each says, as text: "listed" / "not sponsored"),
    and ``quote`` (the exact sentence of the program text); an optional ``rule`` (which
    text rule matched) goes into ``detail``. ``imgpipeline.refresh.features.visa.visa_conflicts``
    returns such rows.
    """
    rows = freida_vs_acgme(programs)
    if minimums is not None:
        rows += visa_2016_vs_2025(programs, minimums)
    rows += visa_list_vs_text(programs, visa_text_rows)
    table = TABLES["conflicts"]
    out = pd.DataFrame(rows, columns=table.column_names)
    out = out.sort_values(["acgme_id", "field", "source_a", "source_b"]).reset_index(drop=True)
    log.info("conflicts: %d rows, by kind %s", len(out), out["kind"].value_counts().to_dict())
    return table.coerce(out)
