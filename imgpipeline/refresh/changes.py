"""What changed between two published versions: the ``changes`` table and its summary.

``diff_versions`` is a pure function of the previous version's tables and the new ones; the
refresh flow reads the current version (``store.read_tables``) and calls it before switching, so
every version carries what changed since the one before it.

The program universe (``programs``: the ACGME list joined with FREIDA, as the sources state
it) is compared program by program; every other table in one summary row, so a change in a
source is named once, where it happened, and what it moved downstream is counted beside it:

- tables: a published table that appears or disappears;
- columns: a column that appears or disappears (any table); in ``programs``, a column that
  was missing in every row and is now populated (a source gained a field), or the reverse;
- programs (``programs``, and from ``program_features`` the tier and the sponsorship it
  decides): programs added or removed, visa sponsorship gained or lost, stated IMG share moved
  by more than a threshold, tier changes, program text changes, and any other changed field,
  skipping the provenance columns (they change with every snapshot) and columns already
  reported at column level;
- rows (every other table but ``snapshots``, whose differences are the ``from_snapshots`` /
  ``to_snapshots`` of every row): one ``rows_changed`` row per table whose rows differ by the
  table's declared key, provenance aside: rows added, removed and changed, and how many rows
  each column changed in (for numbers, the largest move). For derived tables (features,
  scores) that is what the source changes implied, e.g. imputed IMG shares re-estimated.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from imgpipeline.declare import PROVENANCE
from imgpipeline.settings import Settings
from imgpipeline.store import current_version, read_tables
from imgpipeline.tables import TABLES
from imgpipeline.tables.changes import CHANGES

log = logging.getLogger(__name__)

PROGRAMS = "programs"
FEATURES = "program_features"
KEY = "acgme_id"
COLUMNS = TABLES["changes"].column_names
# A program's page in a source appearing or disappearing is one change, not one per field of
# that source: table -> (the presence flag, the declared source of the fields it governs).
PRESENCE = {PROGRAMS: ("in_freida", "FREIDA")}
# How many rows of each kind the summary lists before saying "and N more".
SUMMARY_ROWS = 12
# Tables without a rows_changed row: this table itself, and the snapshots (provenance: their
# differences are every row's from_snapshots / to_snapshots).
UNSUMMARISED = ("changes", "snapshots")
# How many changed columns a rows_changed detail names before saying "and N more".
DETAIL_COLUMNS = 10


@dataclass(frozen=True)
class Rule:
    """How a change in one column of a program table is named and described.

    ``kind`` decides: ``flag`` (True gained / otherwise lost), ``share`` (a fraction, reported
    past a threshold or when it appears or disappears), ``text`` and ``category`` (any change).
    ``covers`` are other columns of the same table that say the same thing (so they are not
    reported again as plain value changes). A rule on ``program_features`` applies only when
    both versions have that column; a rule with ``unless`` is skipped when both versions have
    that (table, column), which says the same thing better."""

    table: str
    column: str
    kind: str
    label: str
    covers: tuple[str, ...] = ()
    unless: tuple[str, str] | None = None


RULES: tuple[Rule, ...] = (
    # Sponsorship as program_features decides it (FREIDA's list, corrected by program text)
    # when both versions have it; FREIDA's list otherwise.
    Rule(FEATURES, "sponsors_j1", "flag", "J-1"),
    Rule(FEATURES, "sponsors_h1b", "flag", "H-1B"),
    Rule(FEATURES, "sponsors_f1", "flag", "F-1"),
    Rule(PROGRAMS, "lists_j1", "flag", "J-1", ("visas_listed",), (FEATURES, "sponsors_j1")),
    Rule(PROGRAMS, "lists_h1b", "flag", "H-1B", ("visas_listed",), (FEATURES, "sponsors_h1b")),
    Rule(PROGRAMS, "lists_f1", "flag", "F-1", ("visas_listed",), (FEATURES, "sponsors_f1")),
    Rule(PROGRAMS, "img_share", "share", "IMG share"),
    Rule(FEATURES, "tier", "category", "program tier"),
    Rule(PROGRAMS, "special_features_text", "text", "program text"),
)


def diff_versions(
    old: Mapping[str, pd.DataFrame],
    new: Mapping[str, pd.DataFrame],
    *,
    from_version: str,
    img_share_threshold: float,
) -> pd.DataFrame:
    """The ``changes`` table between a previous version's tables and new ones (by name).
    A ``changes`` table among them is ignored: it describes its own version."""
    old = {k: v for k, v in old.items() if k != "changes"}
    new = {k: v for k, v in new.items() if k != "changes"}
    rows: list[dict[str, Any]] = []
    for name in sorted(set(new) - set(old)):
        rows.append(_row("table_added", name, detail=f"new published table {name} ({len(new[name])} rows)"))
    for name in sorted(set(old) - set(new)):
        rows.append(_row("table_removed", name, detail=f"table {name} is no longer published (had {len(old[name])} rows)"))
    at_column_level: dict[str, set[str]] = {}
    for name in sorted(set(old) & set(new)):
        found = _column_changes(name, old[name], new[name])
        at_column_level[name] = {r["column"] for r in found}
        rows += found
    rows += _program_changes(old, new, img_share_threshold, at_column_level)
    for name in sorted(set(old) & set(new) - {PROGRAMS, *UNSUMMARISED}):
        row = _rows_changed(name, old[name], new[name])
        if row is not None:
            rows.append(row)
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["from_version"] = from_version
    out["from_snapshots"] = [_snapshot_ids(old)] * len(out)  # the same list on every row
    out["to_snapshots"] = [_snapshot_ids(new)] * len(out)
    order = {c: i for i, c in enumerate(CHANGES)}
    out = out.sort_values(
        ["change", "table", "column", "acgme_id"],
        key=lambda s: s.map(order) if s.name == "change" else s.fillna(""),
        kind="stable",
    )
    return TABLES["changes"].coerce(out)


def changes_since_current(
    tables: Mapping[str, pd.DataFrame], settings: Settings
) -> tuple[pd.DataFrame, str | None]:
    """The ``changes`` table of new ``tables`` against the current published version, and
    that version's id; an empty table and None before the first publication."""
    folder = current_version(settings)
    if folder is None:
        return no_changes(), None
    changes = diff_versions(
        read_tables(folder),
        tables,
        from_version=folder.name,
        img_share_threshold=settings.img_share_change_threshold,
    )
    log.info("changes since %s: %s", folder.name, counts(changes) or "none")
    return changes, folder.name


def no_changes() -> pd.DataFrame:
    """The ``changes`` table of a first publication: nothing to compare with."""
    return TABLES["changes"].coerce(pd.DataFrame(columns=COLUMNS))


def _row(change: str, table: str, **values: Any) -> dict[str, Any]:
    return {"change": change, "table": table, **values}


def _snapshot_ids(tables: Mapping[str, pd.DataFrame]) -> list[str] | None:
    snaps = tables.get("snapshots")
    if snaps is None or "snapshot" not in snaps:
        return None
    return sorted(snaps["snapshot"].dropna().astype(str))


def _column_changes(name: str, old: pd.DataFrame, new: pd.DataFrame) -> list[dict[str, Any]]:
    """Columns added or removed (any table); in ``programs``, columns populated or emptied
    (elsewhere, the table's ``rows_changed`` row counts them)."""
    rows = []
    for col in [c for c in new.columns if c not in old.columns]:
        rows.append(_row("column_added", name, column=col, detail=f"new column {name}.{col}: {_filled(new[col])}"))
    for col in [c for c in old.columns if c not in new.columns]:
        rows.append(_row("column_removed", name, column=col, detail=f"column {name}.{col} is gone (was {_filled(old[col])})"))
    if name != PROGRAMS:
        return rows
    for col in [c for c in new.columns if c in old.columns]:
        before, after = int(old[col].notna().sum()), int(new[col].notna().sum())
        if before == 0 and after > 0 and len(old):
            rows.append(_row(
                "column_populated", name, column=col,
                detail=f"{name}.{col} was missing in every row ({len(old)}); now {_filled(new[col])}",
            ))
        elif before > 0 and after == 0 and len(new):
            rows.append(_row(
                "column_emptied", name, column=col,
                detail=f"{name}.{col} was {_filled(old[col])}; now missing in every row ({len(new)})",
            ))
    return rows


def _rows_changed(name: str, old: pd.DataFrame, new: pd.DataFrame) -> dict[str, Any] | None:
    """One row saying how the rows of table ``name`` differ by its declared key (provenance
    columns aside), or None when they do not."""
    decl = TABLES.get(name)
    key = [k for k in (decl.key if decl else ()) if k in old.columns and k in new.columns]
    skip = _provenance(name) | set(key)
    cols = [c for c in new.columns if c in old.columns and c not in skip]
    counts = f"{len(old)} -> {len(new)} rows"
    if not key or old.duplicated(key).any() or new.duplicated(key).any():
        # No usable key: only whether the table as a whole differs can be said.
        same = len(old) == len(new) and all(
            _same(old[c].reset_index(drop=True), new[c].reset_index(drop=True)).all() for c in cols
        )
        if same:
            return None
        return _row("rows_changed", name, old_value=counts, new_value=None,
                    detail=f"{name}: rows differ ({counts}; no unique key to pair them)")
    both = old[key + cols].merge(new[key + cols], on=key, how="outer", suffixes=("_old", "_new"), indicator=True)
    added = int(both["_merge"].eq("right_only").sum())
    removed = int(both["_merge"].eq("left_only").sum())
    paired = both[both["_merge"].eq("both")]
    changed_any = pd.Series(False, index=paired.index)
    per_column = []
    for c in cols:
        differs = ~_same(paired[f"{c}_old"], paired[f"{c}_new"])
        n = int(differs.sum())
        if not n:
            continue
        changed_any |= differs
        note = ""
        a, b = paired[f"{c}_old"], paired[f"{c}_new"]
        if a.isna().all():
            note = "was missing in every row"
        elif b.isna().all():
            note = "now missing in every row"
        elif _is_number(a) and _is_number(b):
            moved = (b.astype("Float64") - a.astype("Float64")).abs().max()
            if not pd.isna(moved):
                note = f"largest move {float(moved):.3g}"
        per_column.append((n, c, note))
    changed = int(changed_any.sum())
    if not (added or removed or changed):
        return None
    per_column.sort(key=lambda t: -t[0])
    shown = ", ".join(f"{c} {n}" + (f" ({note})" if note else "") for n, c, note in per_column[:DETAIL_COLUMNS])
    if len(per_column) > DETAIL_COLUMNS:
        shown += f", and {len(per_column) - DETAIL_COLUMNS} more columns"
    parts = [f"{changed} of {len(paired)} rows changed" + (f" ({shown})" if shown else "")]
    if added:
        parts.append(f"{added} added")
    if removed:
        parts.append(f"{removed} removed")
    return _row("rows_changed", name, old_value=counts, new_value=None,
                detail=f"{name} by {', '.join(key)}: " + "; ".join(parts))


def _is_number(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _same(a: pd.Series, b: pd.Series) -> pd.Series:
    """Row-wise equality as ``text`` sees it (missing equals missing, floats to 6 decimals,
    dates whatever their unit), vectorised where the dtypes allow."""
    a_na, b_na = a.isna().to_numpy(bool), b.isna().to_numpy(bool)
    if _is_number(a) and _is_number(b):
        fa = a.astype("Float64").round(6).to_numpy(float, na_value=np.nan)
        fb = b.astype("Float64").round(6).to_numpy(float, na_value=np.nan)
        eq = fa == fb
    elif isinstance(a.dtype, pd.StringDtype) and isinstance(b.dtype, pd.StringDtype):
        eq = a.fillna("").to_numpy(object) == b.fillna("").to_numpy(object)
    else:
        eq = a.astype(object).map(text).to_numpy(object) == b.astype(object).map(text).to_numpy(object)
    return pd.Series((a_na & b_na) | (~a_na & ~b_na & eq.astype(bool)), index=a.index)


def _filled(s: pd.Series) -> str:
    return f"populated in {int(s.notna().sum())} of {len(s)} rows"


def _program_changes(
    old: Mapping[str, pd.DataFrame],
    new: Mapping[str, pd.DataFrame],
    threshold: float,
    at_column_level: dict[str, set[str]],
) -> list[dict[str, Any]]:
    if PROGRAMS not in old or PROGRAMS not in new:
        return []
    names = _names(old[PROGRAMS], new[PROGRAMS])
    rows = []
    before, after = set(old[PROGRAMS][KEY]), set(new[PROGRAMS][KEY])
    for pid in sorted(after - before):
        rows.append(_row("program_added", PROGRAMS, acgme_id=pid, program_name=names.get(pid), detail=f"new program {pid} {names.get(pid)}"))
    for pid in sorted(before - after):
        rows.append(_row("program_removed", PROGRAMS, acgme_id=pid, program_name=names.get(pid), detail=f"program {pid} {names.get(pid)} is no longer listed"))

    for table in (PROGRAMS, FEATURES):
        if table not in old or table not in new or KEY not in old[table] or KEY not in new[table]:
            continue
        both = _paired(old[table], new[table])
        if both is None:
            continue
        both = _drop_presence_changes(table, both, at_column_level.get(table, set()), rows, names)
        ruled: set[str] = set()
        for rule in RULES:
            if rule.table != table or not _has(old, new, table, rule.column):
                continue
            if rule.unless and _has(old, new, *rule.unless):
                ruled |= {rule.column, *rule.covers}
                continue
            ruled |= {rule.column, *rule.covers}
            if rule.column in at_column_level.get(table, set()):
                continue
            rows += _apply(rule, both, names, threshold)
        if table != PROGRAMS:
            continue
        skip = ruled | at_column_level.get(table, set()) | _provenance(table) | {KEY}
        for col in [c for c in new[table].columns if c in old[table].columns and c not in skip]:
            for pid, a, b in _differing(both, col):
                rows.append(_row(
                    "value_changed", table, column=col, acgme_id=pid, program_name=names.get(pid),
                    old_value=a, new_value=b, detail=f"{col}: {_show(a)} -> {_show(b)}",
                ))
    return rows


def _drop_presence_changes(
    table: str,
    both: pd.DataFrame,
    skip: set[str],
    rows: list[dict[str, Any]],
    names: dict[str, str],
) -> pd.DataFrame:
    """Report a program whose page in a source appeared or disappeared once (its presence
    flag), and leave it out of the field comparisons of that source's columns."""
    if table not in PRESENCE or PRESENCE[table][0] in skip:
        return both
    flag, source = PRESENCE[table]
    if f"{flag}_old" not in both:
        return both
    moved = _differing(both, flag)
    for pid, a, b in moved:
        what = "now has a page" if b == "true" else "no longer has a page"
        rows.append(_row(
            "value_changed", table, column=flag, acgme_id=pid, program_name=names.get(pid),
            old_value=a, new_value=b,
            detail=f"{source} {what} for this program: its {source} fields are "
            + ("now filled in" if b == "true" else "now missing"),
        ))
    if not moved:
        return both
    decl = TABLES.get(table)
    governed = {c.name for c in decl.columns if c.source == source} if decl else set()
    changed = both[KEY].astype(str).isin({pid for pid, _, _ in moved})
    both = both.copy()
    for col in governed | {flag}:
        for side in ("_old", "_new"):
            if col + side in both:
                both[col + side] = both[col + side].astype(object).where(~changed, None)
    return both


def _has(old: Mapping[str, pd.DataFrame], new: Mapping[str, pd.DataFrame], table: str, col: str) -> bool:
    return table in old and table in new and col in old[table] and col in new[table]


def _provenance(table: str) -> set[str]:
    """Columns that trace rows to snapshots: they change with every snapshot by design."""
    decl = TABLES.get(table)
    return {c.name for c in decl.columns if c.source == PROVENANCE} if decl else set()


def _names(old: pd.DataFrame, new: pd.DataFrame) -> dict[str, str]:
    names: dict[str, str] = {}
    for frame in (old, new):
        if "program_name" in frame:
            names.update(zip(frame[KEY].astype(str), frame["program_name"].astype(str), strict=True))
    return names


def _paired(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame | None:
    """Programs in both versions, old columns suffixed ``_old`` and new ones ``_new``."""
    if old[KEY].duplicated().any() or new[KEY].duplicated().any():
        log.warning("changes: %s is not one row per program; field changes not compared", KEY)
        return None
    return old.merge(new, on=KEY, how="inner", suffixes=("_old", "_new"))


def _differing(both: pd.DataFrame, col: str) -> list[tuple[str, str | None, str | None]]:
    out = []
    for pid, a, b in zip(both[KEY], both[f"{col}_old"], both[f"{col}_new"], strict=True):
        ta, tb = text(a), text(b)
        if ta != tb:
            out.append((str(pid), ta, tb))
    return out


def _apply(rule: Rule, both: pd.DataFrame, names: dict[str, str], threshold: float) -> list[dict[str, Any]]:
    make: Callable[..., dict[str, Any] | None] = {
        "flag": _flag_change,
        "share": _share_change,
        "text": _text_change,
        "category": _category_change,
    }[rule.kind]
    rows = []
    for pid, a, b in _differing(both, rule.column):
        row = make(rule, a, b, threshold)
        if row is not None:
            row.update(table=rule.table, column=rule.column, acgme_id=pid, program_name=names.get(pid), old_value=a, new_value=b)
            rows.append(row)
    return rows


def _flag_change(rule: Rule, a: str | None, b: str | None, _: float) -> dict[str, Any]:
    if b == "true":
        return {"change": "visa_gained", "detail": f"{rule.label} now sponsored (was {_show(a)})"}
    return {"change": "visa_lost", "detail": f"{rule.label} no longer sponsored (now {_show(b)})"}


def _share_change(rule: Rule, a: str | None, b: str | None, threshold: float) -> dict[str, Any] | None:
    if a is not None and b is not None:
        moved = float(b) - float(a)
        if abs(moved) <= threshold:
            return None
        return {"change": "img_share_moved", "detail": f"{rule.label} {a} -> {b} ({moved:+.3f}, more than {threshold:g})"}
    what = "now stated" if a is None else "no longer stated"
    return {"change": "img_share_moved", "detail": f"{rule.label} {what}: {_show(a)} -> {_show(b)}"}


def _text_change(rule: Rule, a: str | None, b: str | None, _: float) -> dict[str, Any]:
    return {"change": "text_changed", "detail": f"{rule.label} changed: {_clip(a)} -> {_clip(b)}"}


def _category_change(rule: Rule, a: str | None, b: str | None, _: float) -> dict[str, Any]:
    return {"change": "tier_changed", "detail": f"{rule.label} {_show(a)} -> {_show(b)}"}


def text(value: Any) -> str | None:
    """A value as comparable text, the same whatever the frame's dtypes (numpy, nullable
    pandas, or as read back from Parquet): missing -> None, floats rounded to 6 decimals,
    integral floats as integers, booleans as true/false, midnight timestamps as dates."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating):
        f = float(value)
        if math.isnan(f):
            return None
        r = round(f, 6)
        return str(int(r)) if r.is_integer() else repr(r)
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, pd.Timestamp | dt.datetime):
        ts = pd.Timestamp(value)
        if ts.tzinfo is None and ts == ts.normalize():
            return ts.date().isoformat()
        return ts.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple | np.ndarray):
        # A list as its items joined by '|' (what the published text used to be); a list of
        # records (contributions) as JSON.
        if len(value) and isinstance(value[0], dict):
            return json.dumps([dict(v) for v in value], separators=(",", ":"))
        return "|".join(text(v) or "" for v in value)
    return str(value)


def _show(v: str | None) -> str:
    return "(missing)" if v is None else repr(v) if not _numeric(v) else v


def _numeric(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return True


def _clip(v: str | None, n: int = 80) -> str:
    if v is None:
        return "(missing)"
    return repr(v if len(v) <= n else v[: n - 3] + "...")


def counts(changes: pd.DataFrame) -> dict[str, int]:
    """Rows per kind of change, in the declared order."""
    got = changes["change"].value_counts()  # a categorical counts its absent kinds as 0
    return {c: int(got[c]) for c in CHANGES if got.get(c, 0)}


def summarize(changes: pd.DataFrame, from_version: str | None) -> str:
    """The changes as Markdown, for the CLI and the Prefect artifact."""
    if from_version is None:
        return "First publication: no previous version to compare with."
    if changes.empty:
        return f"No changes since version `{from_version}`."
    lines = [f"Compared with version `{from_version}`: {len(changes)} changes.", ""]
    # Per table, the program universe first: a change in a source shows up there, and what
    # it implies for derived tables (features, scores) on the following lines.
    tables = sorted(changes["table"].unique(), key=lambda t: (t != PROGRAMS, t))
    for table in tables:
        kinds = ", ".join(f"{k} {n}" for k, n in counts(changes[changes["table"] == table]).items())
        lines.append(f"- {table}: {kinds}")
    for kind in counts(changes):
        part = changes[changes["change"] == kind]
        lines += ["", f"**{kind}**", ""]
        for r in part.head(SUMMARY_ROWS).itertuples(index=False):
            who = f"{r.acgme_id} {r.program_name}: " if isinstance(r.acgme_id, str) else ""
            lines.append(f"- {who}{r.detail}")
        if len(part) > SUMMARY_ROWS:
            lines.append(f"- ... and {len(part) - SUMMARY_ROWS} more (see changes.parquet)")
    return "\n".join(lines)
