"""Batch scoring: many applicant profiles against every program, one list per applicant.

An advising organisation's file of profiles (CSV or Parquet with one row per applicant in the
columns of ``INPUT_COLUMNS``, or a YAML list of profiles as ``recommend`` reads them) is read
and validated profile by profile with the same pydantic model as one profile
(``read_profiles``); an empty cell is "not stated", never zero. ``score_chunk`` then scores
and chooses the lists column-wise, exactly as ``advice.recommend`` does for one applicant:

1. the risk tiers of all applicants at once (``risk.assess_frame``);
2. applicants equal on everything a list reads (the model's inputs, risk tier, preferred
   states, what the budget covers) are one key, scored once;
3. P(interview) for every key x program with ``advice.model.compute_terms`` (blocks of keys:
   (keys x programs) arrays, no loop over pairs); the ranking, statuses and left-out rules of
   ``advice.lists``; the size chosen on the contiguous-ranks curve (``advice.outcome``'s
   Poisson-binomial recursion, run for all keys at once) and the outcome at that size;
4. the lists are expanded to one row per applicant per listed program.

The result does not depend on how the applicants are split into chunks, so chunks can be
scored by separate tasks (on Dask, by separate machines) and concatenated in order. Imports
neither Prefect nor GX; ``flows/batch.py`` wires it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from imgpipeline.advice import lists
from imgpipeline.advice.csv_out import write_csv
from imgpipeline.advice.fees import FeeSchedule, eras_schedule
from imgpipeline.advice.model import Applicants, band_of, baseline_bounds, compute_terms, sigmoid
from imgpipeline.advice.profile import (
    ApplicantProfile,
    ProfileError,
    applicant_frame,
    parse_profile,
)
from imgpipeline.advice.published import Published, load_published
from imgpipeline.advice.readiness import readiness_rules
from imgpipeline.advice.risk import assess_frame, list_sizes
from imgpipeline.advice.risk import rules as risk_rules
from imgpipeline.advice.safe_input import Limits, binary_kind, load_yaml_file, one_line
from imgpipeline.errors import PipelineError
from imgpipeline.settings import Settings
from imgpipeline.tables.batch_applicants import SIZE_RULES
from imgpipeline.vocabulary import BANDS, RISK_TIERS, VISA_NEEDS

log = logging.getLogger(__name__)

# The flat input columns (CSV / Parquet), the profile field each fills, and what it means.
# Only profile_id and graduation_year are required; an empty cell takes the profile's default.
INPUT_COLUMNS: dict[str, tuple[tuple[str, ...], str]] = {
    "profile_id": (("profile_id",), "opaque id, unique in the file (never a name or e-mail): required"),
    "graduation_year": (("graduation_year",), "year of graduation from medical school: required"),
    "step1_score": (("step1", "score"), "Step 1 three-digit score (numeric era); empty for pass/fail"),
    "step1_passed": (("step1", "passed"), "Step 1 passed (default true)"),
    "step1_attempts": (("step1", "attempts"), "Step 1 attempts (default 1)"),
    "step2ck_score": (("step2ck", "score"), "Step 2 CK score; empty if not taken yet"),
    "step2ck_passed": (("step2ck", "passed"), "Step 2 CK last attempt passed (default true)"),
    "step2ck_attempts": (("step2ck", "attempts"), "Step 2 CK attempts (default 1)"),
    "step2ck_year": (("step2ck", "year"), "year of the last Step 2 CK attempt"),
    "step3_taken": (("step3", "taken"), "Step 3 taken (default false)"),
    "step3_passed": (("step3", "passed"), "Step 3 passed (default false)"),
    "step3_score": (("step3", "score"), "Step 3 score"),
    "step3_attempts": (("step3", "attempts"), "Step 3 attempts (default 1)"),
    "usce_hands_on_months": (("usce", "hands_on_months"), "months of hands-on US clinical experience (empty: not stated, never read as 0)"),
    "usce_observership_months": (("usce", "observership_months"), "months of observerships (empty: 0 if hands-on months are stated, else not stated)"),
    "us_im_letters": (("us_im_letters",), "letters from US internal-medicine attendings (empty: not stated)"),
    "research_items": (("research_items",), "abstracts, posters, publications... (empty: not stated)"),
    "visa_need": (("visa_need",), "none, J-1, H-1B or either (default none)"),
    "ecfmg_certified": (("ecfmg_certified",), "ECFMG certified (empty: not stated)"),
    "unexplained_gaps": (("unexplained_gaps",), "significant unexplained gaps (empty: not stated)"),
    "recent_clinical_work": (("recent_clinical_work",), "recent clinical work (empty: not stated)"),
    "service_member": (("service_member",), "a US service member (default false; military programs are left out for civilians)"),
    "preferred_states": (("preferred_states",), "state codes or Census regions separated by ';' (e.g. NY;NJ;Midwest)"),
    "budget_usd": (("budget_usd",), "budget for application fees, USD"),
}
MAX_REPORTED_PROBLEMS = 50
KEY_BLOCK = 1024


class BatchInputError(PipelineError):
    """A profile file that cannot be scored: every bad row and field named (``rejects``:
    one row per problem, the rejects file's frame)."""

    def __init__(self, message: str, rejects: pd.DataFrame | None = None):
        super().__init__(message)
        self.rejects = rejects


@dataclass
class Profiles:
    """Validated profiles in the form the scorer reads: the derived applicant columns, the
    expanded preferred states and budgets, one row per applicant in file order."""

    applicants: pd.DataFrame
    preferred: list[tuple[str, ...]]
    budgets: np.ndarray
    source: str
    sha256: str
    rejects: pd.DataFrame | None = None  # rows skipped by --skip-bad-rows (row, id, field, reason)
    # The parsed profiles themselves, kept only when plans are asked for (plan_chunk).
    profiles: list[ApplicantProfile] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.applicants)

    def chunks(self, size: int) -> list[Profiles]:
        """Consecutive slices of at most ``size`` applicants."""
        size = max(1, int(size))
        return [
            Profiles(
                self.applicants.iloc[i : i + size].reset_index(drop=True),
                self.preferred[i : i + size],
                self.budgets[i : i + size],
                self.source,
                self.sha256,
                profiles=self.profiles[i : i + size],
            )
            for i in range(0, len(self), size)
        ]


def _missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, str):
        return v.strip() == ""
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _nested(row: dict[str, Any]) -> dict[str, Any]:
    """A flat input row as the nested mapping of a profile; empty cells are left out so the
    profile's defaults apply."""
    out: dict[str, Any] = {}
    for col, value in row.items():
        if _missing(value):
            continue
        path = INPUT_COLUMNS[col][0]
        if col == "preferred_states" and isinstance(value, str):
            value = [s for s in re.split(r"[;,|\s]+", value) if s]
        elif isinstance(value, float) and value.is_integer() and col not in ("usce_hands_on_months", "usce_observership_months", "budget_usd"):
            value = int(value)
        elif isinstance(value, np.generic):
            value = value.item()
        target = out
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value
    return out


def _records(path: Path, settings: Settings) -> list[dict[str, Any]]:
    """The file's profiles as nested mappings, in file order, within the settings' caps
    (bytes checked before reading, rows before building them)."""
    suffix = path.suffix.lower()
    max_rows = settings.batch_max_rows
    if suffix in (".yaml", ".yml"):
        data = load_yaml_file(path, Limits.batch_yaml(settings))
        if not isinstance(data, list):
            raise BatchInputError(f"{path}: a YAML batch is a list of profiles")
        if len(data) > max_rows:
            raise BatchInputError(_too_many(path, len(data), max_rows))
        return data
    if suffix == ".csv":
        with path.open("rb") as fh:
            head = fh.read(8192)
        kind = binary_kind(head)
        if kind:
            raise BatchInputError(f"{path}: is {kind}, not a CSV file")
        try:
            df = pd.read_csv(
                path, dtype={"profile_id": str, "preferred_states": str, "visa_need": str},
                keep_default_na=True, nrows=max_rows + 1, encoding="utf-8-sig",
            )
        except UnicodeDecodeError as exc:
            raise BatchInputError(f"{path}: is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8") from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
            raise BatchInputError(f"{path}: not a readable CSV: {one_line(str(exc))}") from None
        if len(df) > max_rows:
            raise BatchInputError(_too_many(path, f"more than {max_rows:,}", max_rows))
    elif suffix in (".parquet", ".pq"):
        try:
            n = pq.ParquetFile(path).metadata.num_rows
        except (OSError, pa.ArrowException) as exc:
            raise BatchInputError(f"{path}: not a readable Parquet file: {one_line(str(exc))}") from None
        if n > max_rows:
            raise BatchInputError(_too_many(path, n, max_rows))
        df = pd.read_parquet(path)
    else:
        raise BatchInputError(f"{path}: expected .csv, .parquet or .yaml, got {suffix or 'no suffix'}")
    unknown = [c for c in df.columns if c not in INPUT_COLUMNS]
    missing = [c for c in ("profile_id", "graduation_year") if c not in df.columns]
    if unknown or missing:
        raise BatchInputError(
            f"{path}: " + "; ".join(
                ([f"unknown columns {unknown} (the columns are listed in docs/recommend.md)"] if unknown else [])
                + ([f"required columns missing: {missing}"] if missing else [])
            )
        )
    cols = list(df.columns)
    return [_nested(dict(zip(cols, row, strict=True))) for row in df.itertuples(index=False, name=None)]


def _too_many(path: Path, n: object, limit: int) -> str:
    shown = f"{n:,}" if isinstance(n, int) else n
    return f"{path}: holds {shown} rows; the limit is {limit:,} (setting IMGPIPELINE_BATCH_MAX_ROWS): split the file"


REJECT_COLUMNS = ("row", "profile_id", "field", "reason")
BATCH_SUFFIXES = (".csv", ".parquet", ".pq", ".yaml", ".yml")


def preflight(path: str | Path, settings: Settings | None = None) -> None:
    """The checks that need no parsing (a missing path, a folder, a wrong suffix, the size
    cap, binary content in a CSV or YAML file), so the CLI refuses in milliseconds, before
    Prefect starts. ``read_profiles`` repeats them."""
    settings = settings or Settings()
    path = Path(path)
    if path.is_dir():
        raise BatchInputError(f"{path}: is a directory, not a file")
    if not path.is_file():
        raise BatchInputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in BATCH_SUFFIXES:
        raise BatchInputError(f"{path}: expected .csv, .parquet or .yaml, got {suffix or 'no suffix'}")
    _check_size(path, settings)
    if suffix in (".csv", ".yaml", ".yml"):
        with path.open("rb") as fh:
            kind = binary_kind(fh.read(8192))
        if kind:
            raise BatchInputError(f"{path}: is {kind}, not a {suffix[1:].upper()} file")


def _check_size(path: Path, settings: Settings) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise BatchInputError(f"{path}: cannot be read: {exc.strerror}") from None
    if size > settings.batch_max_bytes:
        raise BatchInputError(
            f"{path}: is {size:,} bytes; the limit is {settings.batch_max_bytes:,} bytes "
            "(setting IMGPIPELINE_BATCH_MAX_BYTES): split the file"
        )


def _hash_within(path: Path, settings: Settings) -> str:
    """The file's sha256, refusing it (before reading) if it is larger than the cap."""
    _check_size(path, settings)
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def read_profiles(
    path: str | Path,
    as_of_year: int | None = None,
    skip_bad_rows: bool = False,
    rejects_path: str | Path | None = None,
    settings: Settings | None = None,
    keep_profiles: bool = False,
) -> Profiles:
    """Read and validate a batch file (``keep_profiles``: the parsed profiles travel with the
    frame, for plans).

    Every bad row is a reject (row number from 1 = the first profile, profile id, field,
    reason); with ``rejects_path`` they are written there as CSV. Without ``skip_bad_rows``
    any reject refuses the file (nothing is scored); with it the good rows are scored and the
    rejects travel with the result (``Profiles.rejects``), never silently. Repeated profile
    ids refuse the file either way (they are the rows' only identity), as do a file over
    the size or row cap (``IMGPIPELINE_BATCH_MAX_BYTES`` / ``_MAX_ROWS``). Rows are checked
    against the bounds of ``settings``' rulebook."""
    settings = settings or Settings()
    path = Path(path)
    preflight(path, settings)
    digest = _hash_within(path, settings)
    profiles, rows, rejects = _parse_rows(path, settings)
    _refuse_repeats(path, profiles, rows)
    frame = pd.DataFrame(rejects, columns=list(REJECT_COLUMNS))
    if rejects_path is not None and len(frame):
        write_csv(frame, rejects_path)
    if len(frame) and (not skip_bad_rows or not profiles):
        _refuse_rejects(path, frame, rejects, rejects_path, len(profiles))
    if not profiles:
        raise BatchInputError(f"{path} holds no profiles")
    if len(frame):
        log.warning("%s: %d bad rows skipped (--skip-bad-rows): %s", path, frame["row"].nunique(), rejects_path or "see rejects")
    return Profiles(
        applicants=applicant_frame(profiles, as_of_year),
        preferred=[p.preferred_state_codes for p in profiles],
        budgets=np.array([np.nan if p.budget_usd is None else p.budget_usd for p in profiles], dtype=float),
        source=str(path),
        sha256=digest,
        rejects=frame,
        profiles=profiles if keep_profiles else [],
    )


def _parse_rows(path: Path, settings: Settings) -> tuple[list[ApplicantProfile], list[int], list[tuple[int, str, str, str]]]:
    """The file's valid profiles with their row numbers (from 1), and every bad row's rejects."""
    rejects: list[tuple[int, str, str, str]] = []
    profiles: list[ApplicantProfile] = []
    rows: list[int] = []
    for i, rec in enumerate(_records(path, settings)):
        pid = rec.get("profile_id") if isinstance(rec, dict) else None
        try:
            profile = parse_profile(rec, f"row {i + 1}", settings)
        except ProfileError as exc:
            rejects.extend((i + 1, str(pid or ""), field, msg) for field, msg in exc.problems)
            continue
        if profile.profile_id is None:
            rejects.append((i + 1, "", "profile_id", "profile_id is required in a batch"))
            continue
        profiles.append(profile)
        rows.append(i + 1)
    return profiles, rows, rejects


def _refuse_repeats(path: Path, profiles: list[ApplicantProfile], rows: list[int]) -> None:
    """Repeated profile ids refuse the file (they are the rows' only identity)."""
    ids = pd.Series([p.profile_id for p in profiles], dtype=object)
    dup = ids[ids.duplicated(keep=False)]
    if len(dup):
        where = {pid: [rows[j] for j in np.flatnonzero(ids.to_numpy() == pid)] for pid in sorted(set(dup))[:20]}
        raise BatchInputError(
            f"{path}: profile_id repeats; nothing was scored: "
            + "; ".join(f"{pid!r} on rows {r}" for pid, r in where.items())
        )


def _refuse_rejects(
    path: Path, frame: pd.DataFrame, rejects: list[tuple[int, str, str, str]], rejects_path: str | Path | None, good: int
) -> None:
    """Refuse the file, naming its first bad rows (``good``: how many rows were valid)."""
    bad_rows = frame["row"].nunique()
    shown = [f"row {r} ({pid or 'no id'}): {f}: {m}" for r, pid, f, m in rejects[:MAX_REPORTED_PROBLEMS]]
    more = [f"... and {len(rejects) - MAX_REPORTED_PROBLEMS} more"] if len(rejects) > MAX_REPORTED_PROBLEMS else []
    where = f"every one in {rejects_path}" if rejects_path is not None else "listed above"
    hint = f"; rerun with --skip-bad-rows to score the {good} good rows" if good else "; no row is valid"
    raise BatchInputError(
        f"{path} has invalid profiles ({bad_rows} bad rows, {where}){hint}; nothing was scored:\n"
        + "\n".join(f"  - {p}" for p in shown + more),
        rejects=frame,
    )


def plan_chunk(chunk: Profiles, data: Published, settings: Settings | None = None) -> pd.DataFrame:
    """Each applicant's plan (``batch_plan_steps`` rows): the same steps, words and sized effects
    as ``imgpipeline recommend`` gives each profile (its recommendation built to size them)."""
    from imgpipeline.advice.plan import plan_rows
    from imgpipeline.advice.recommend import recommend

    if len(chunk.profiles) != len(chunk):
        raise ValueError("plans need the parsed profiles: read_profiles(..., keep_profiles=True)")
    settings = settings or Settings()
    frames = [plan_rows(recommend(p, data, settings=settings, plan=True)) for p in chunk.profiles]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# --------------------------------------------------------------------------------------------
# The scoring core: the interview-chance model for every applicant x program, the lists and
# their outcomes, as (keys x programs) arrays.
# --------------------------------------------------------------------------------------------


@dataclass
class _Version:
    """What the core reads from one published version and the rulebook, prepared once."""

    data: Published
    rules: lists.ListRules
    schedule: FeeSchedule
    left: lists.LeftOut
    state: np.ndarray
    band_likely: float
    band_target: float
    acgme_snapshot: str
    freida_snapshot: str


_PREPARED: dict[tuple[int, int, int], _Version] = {}


def _prepare(data: Published, settings: Settings) -> _Version:
    """Per-version arrays (left-out masks, states, bands), cached per published object and rulebook."""
    rules = lists.list_rules(settings)
    schedule = eras_schedule(settings)
    key = (id(data), hash(rules.model_dump_json()), hash(schedule.model_dump_json()))
    hit = _PREPARED.get(key)
    if hit is not None and hit.data is data:
        return hit
    t = data.table
    left = lists.left_out_masks(
        data.programs.tier_idx, t["img_share"].to_numpy(dtype=float), t["img_share_basis"].eq("stated").to_numpy(),
        t["accepting_applications"].astype("boolean").eq(False).fillna(False).to_numpy(), rules,
    )
    c = data.coefficients

    def snapshots(col: str) -> str:
        return " + ".join(sorted(t[col].dropna().astype(str).unique())) if col in t else ""

    out = _Version(
        data, rules, schedule, left, t["state"].astype(str).to_numpy(dtype=object),
        c["band_likely"], c["band_target"], snapshots("acgme_snapshot"), snapshots("freida_snapshot"),
    )
    if len(_PREPARED) > 8:
        _PREPARED.clear()
    _PREPARED[key] = out
    return out


# The applicant values a list depends on: the model's inputs, the risk tier (R1 avoid rules),
# the preferred states (ranking) and how many programs the budget covers (size).
_KEY_FLOATS = ("step2ck", "step1", "step1_failures", "failures", "years", "hands_on", "observership", "letters", "recent_clinical", "gaps")


def _distinct(apps: Applicants, tier: np.ndarray, pref: np.ndarray, covers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the first applicant of each distinct list key, and each applicant's key."""
    visa = np.array([VISA_NEEDS.index(v) for v in apps.visa_need], dtype=float) if apps.n else np.zeros(0)
    cols = [np.ascontiguousarray(getattr(apps, f), dtype=float) for f in _KEY_FLOATS]
    cols += [visa, apps.step3_passed.astype(float), apps.service_member.astype(float), tier.astype(float), pref.astype(float), covers.astype(float)]
    m = np.column_stack(cols)
    m[np.isnan(m)] = np.nan                             # one nan bit pattern
    rows = np.ascontiguousarray(m).view(np.dtype((np.void, m.dtype.itemsize * m.shape[1]))).ravel()
    _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")           # keys in order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return first[order], rank[inverse.ravel()]


@dataclass
class KeyLists:
    """Each distinct key's list: the listed programs in rank order (``top``: program index,
    -1 past the list) with their chances, and the outcome of the list."""

    n: np.ndarray                 # listed programs (U,)
    top: np.ndarray               # (U, M) program indices by rank
    p: np.ndarray                 # (U, M) P(interview) of the ranked programs
    p_low: np.ndarray
    p_high: np.ndarray
    logit: np.ndarray             # (U, M) log-odds (what the ranking read, without the bonus)
    band: np.ndarray              # (U, M) codes into BANDS
    preferred: np.ndarray         # (U, M) bool
    counts: dict[str, np.ndarray]
    size_rule: np.ndarray         # (U,) codes into SIZE_RULES
    outcome: dict[str, np.ndarray]




def _choose(pm: np.ndarray, top: np.ndarray, covers: np.ndarray, rules: lists.ListRules) -> tuple[np.ndarray, np.ndarray]:
    """``lists.choose_size`` for many rows at once: ``pm[:, s]`` is P(match) of the top s
    candidates (s = 0..M), ``top`` the largest size each row may take (candidates, max_size)."""
    U = len(top)
    n = np.zeros(U, dtype=np.int64)
    why = np.full(U, SIZE_RULES.index("no_candidate"), dtype=np.int8)
    rows = np.arange(U)
    first = np.minimum(rules.min_size, top)
    kmax = int(((np.maximum(top - first, 0)) // rules.size_step).max()) if U else 0
    # Grid point k of a row: first + k * step while <= top; then top itself (if not on the grid).
    grid = first[:, None] + rules.size_step * np.arange(kmax + 2)[None, :]
    on = grid <= top[:, None]
    last_on = on.sum(axis=1) - 1
    extra = grid[rows, last_on] < top
    grid[rows, last_on + 1] = np.where(extra, top, grid[rows, last_on + 1])
    valid = on.copy()
    valid[rows, last_on + 1] |= extra
    g = np.where(valid, grid, 0)
    pmg = pm[rows[:, None], np.minimum(g, pm.shape[1] - 1)]
    reach = valid & (pmg >= rules.target_p_match)
    nxt_valid = np.concatenate([valid[:, 1:], np.zeros((U, 1), dtype=bool)], axis=1)
    gain = np.concatenate([pmg[:, 1:] - pmg[:, :-1], np.zeros((U, 1))], axis=1)
    flat = valid & nxt_valid & (gain < rules.min_gain_per_step)
    stop = reach | flat
    has_stop = stop.any(axis=1)
    k = np.where(has_stop, stop.argmax(axis=1), valid.sum(axis=1) - 1)
    n = np.where(top > 0, g[rows, k], 0)
    reached = (top > 0) & reach[rows, k]
    why = np.where(reached, SIZE_RULES.index("reached_target"), np.where(has_stop, SIZE_RULES.index("stopped_rising"), SIZE_RULES.index("every_candidate")))
    why = np.where(top > 0, why, SIZE_RULES.index("no_candidate"))
    budget = (covers >= 0) & (covers < n)
    n = np.where(budget, covers, n)
    why = np.where(budget, SIZE_RULES.index("budget"), why).astype(np.int8)
    return n.astype(np.int64), why


def _pass(p: np.ndarray, kmax: int, until: np.ndarray, curve: np.ndarray | None = None, stop: Any = None) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray]:
    """The Poisson-binomial recursion of ``outcome.interview_distribution`` over the columns of
    ``p`` (rows ranked), each row up to its ``until`` columns (the same products and sums per
    element, so the same numbers). With ``curve``: P(match) and P(no interview) after every
    prefix ((U, M + 1) each, 0 past a row's end); ``stop(j, rows, pm)`` may end rows early
    (returns a mask of ``rows`` that are done after j columns). Returns them and each row's
    distribution after its first ``until`` columns (as ``until`` stands at the end). Works on
    (bins x rows) arrays in place; rows leave the arithmetic once done."""
    U, M = p.shape
    until = until.copy()
    pt = np.ascontiguousarray(p.T)
    dist = np.zeros((kmax + 1, U))
    dist[0] = 1.0
    at = np.zeros((U, kmax + 1))
    pm = np.zeros((U, M + 1)) if curve is not None else None
    p0 = np.zeros((U, M + 1)) if curve is not None else None
    active = np.arange(U)
    done0 = until == 0
    at[done0, 0] = 1.0
    if pm is not None and p0 is not None:
        pm[:, 0] = _dot(curve, dist)
        p0[:, 0] = 1.0
    moved = np.empty_like(dist)
    last = int(until.max()) if U else 0
    j = 0
    while j < last:
        keep = until[active] > j
        if not keep.all():
            active, dist = active[keep], np.ascontiguousarray(dist[:, keep])
            moved = np.empty_like(dist)
            if not len(active):
                break
        q = pt[j, active]
        np.multiply(dist, q, out=moved)
        np.multiply(dist, 1.0 - q, out=dist)
        dist[1:] += moved[:-1]
        dist[-1] += moved[-1]
        j += 1
        if pm is not None and p0 is not None:
            pm[active, j] = _dot(curve, dist)
            p0[active, j] = dist[0]
            if stop is not None:
                done = stop(j, active, pm)
                if done is not None and done.any():
                    until[active[done]] = j
        hit = until[active] == j
        if hit.any():
            at[active[hit]] = dist[:, hit].T
    return pm, p0, at


def _dot(curve: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """``curve @ dist`` for (bins, rows) ``dist``, summed bin by bin in a fixed order: the same
    value for a row whatever the other rows (BLAS blocks by the number of rows, so its last
    bits would depend on how applicants are chunked)."""
    out = np.zeros(dist.shape[1])
    for k in range(dist.shape[0]):
        out += curve[k] * dist[k]
    return out


@dataclass
class _Ranked:
    """One block of keys after the model and the ranking, before sizing."""

    order: np.ndarray
    p: np.ndarray
    p_low: np.ndarray
    p_high: np.ndarray
    logit: np.ndarray
    preferred: np.ndarray
    counts: dict[str, np.ndarray]


def _rank(v: _Version, apps: Applicants, tier: np.ndarray, preferred: np.ndarray) -> _Ranked:
    """The model (``compute_terms`` once) and the ranking of ``advice.lists`` for U keys: each
    row's first M candidates in rank order with their chances (0 past the candidates)."""
    data, rules = v.data, v.rules
    c, ps = data.coefficients, data.programs
    U, P = apps.n, ps.n
    terms = compute_terms(c, ps, apps)
    logit = np.zeros((U, P))
    for t in terms.terms.values():      # the order of Terms.logit: the same sums, bit for bit
        logit += t
    excluded = terms.any_excluded
    del terms
    low, high = baseline_bounds(c, ps)
    base = c["calibration_offset"] + ps.openness
    p = np.where(excluded, 0.0, sigmoid(logit))
    status = lists.statuses(p, excluded, tier, v.left, rules)
    n_cand = (status == lists.BEYOND).sum(axis=1)
    M = int(min(rules.max_size, n_cand.max())) if U else 0
    # The ranking: candidates by log-odds + the preferred-state bonus, ties to the lower index
    # (lists.ranking); only the first M of each row are ever read.
    order = lists.ranking(logit, preferred, status, rules)[:, :M]
    rows = np.arange(U)[:, None]
    incand = np.arange(M)[None, :] < n_cand[:, None]
    lg = logit[rows, order]
    bo = base[order]
    counts = {k: (status == lists.STATUS.index(k)).sum(axis=1) for k in lists.LEFT_OUT_TEXT}
    counts["excluded"] = excluded.sum(axis=1)
    counts["candidates"] = n_cand
    return _Ranked(
        order=order,
        p=np.where(incand, p[rows, order], 0.0),
        p_low=np.where(incand, sigmoid(lg - bo + low[order]), 0.0),
        p_high=np.where(incand, sigmoid(lg - bo + high[order]), 0.0),
        logit=lg,
        preferred=preferred[rows, order],
        counts=counts,
    )


def _size(v: _Version, r: _Ranked, covers: np.ndarray) -> KeyLists:
    """Each key's list size (``lists.choose_size`` on the size curve of ``outcome``) and the
    outcome at that size, for all keys at once."""
    rules, curve = v.rules, v.data.ranks
    U, M = r.p.shape
    n_cand = r.counts["candidates"]
    top = np.minimum(rules.max_size, n_cand)
    first = np.minimum(rules.min_size, top)

    def decided(j: int, rows: np.ndarray, pm: np.ndarray) -> np.ndarray | None:
        """Rows whose choice is known after j columns: at a grid point, P(match) reached the
        target, or it rose less than the rulebook's gain since the previous grid point."""
        on = (j >= first[rows]) & ((j - first[rows]) % rules.size_step == 0) & (j <= top[rows])
        if not on.any():
            return None
        now = pm[rows, j]
        prev = j - rules.size_step
        flat = (prev >= first[rows]) & (now - pm[rows, np.maximum(prev, 0)] < rules.min_gain_per_step)
        return on & ((now >= rules.target_p_match) | flat)

    pm, p0, _ = _pass(r.p, curve.kmax, np.minimum(top, M), curve.p, decided)
    assert pm is not None and p0 is not None
    n, why = _choose(pm, top, covers, rules)
    _, _, dlh = _pass(np.vstack([r.p_low, r.p_high]), curve.kmax, np.concatenate([n, n]))
    at_n = np.arange(U), n
    cum = lambda a: np.concatenate([np.zeros((U, 1)), np.cumsum(a, axis=1)], axis=1)[at_n]  # noqa: E731
    outcome_arrays = {
        "expected_interviews": cum(r.p),
        "interviews_low": cum(r.p_low),
        "interviews_high": cum(r.p_high),
        "p_match": pm[at_n],
        "p_match_low": _dot(curve.low, dlh[:U].T),
        "p_match_high": _dot(curve.high, dlh[U:].T),
        "p_no_interview": p0[at_n],
    }
    listed = np.arange(M)[None, :] < n[:, None]
    band = band_of(r.p, np.zeros_like(listed), v.band_likely, v.band_target)
    return KeyLists(
        n=n, top=np.where(listed, r.order, -1), p=r.p, p_low=r.p_low, p_high=r.p_high, logit=r.logit, band=band,
        preferred=r.preferred, counts=r.counts, size_rule=why, outcome=outcome_arrays,
    )


def score_keys(v: _Version, apps: Applicants, tier: np.ndarray, preferred: np.ndarray, covers: np.ndarray) -> KeyLists:
    """Lists for U distinct keys (``apps``, their risk-tier index, (U, P) preferred-state
    masks and budget covers, -1 = no budget): ``compute_terms`` once, then ranking, sizing and
    the outcome exactly as ``advice.recommend`` does for one applicant."""
    return _size(v, _rank(v, apps, tier, preferred), covers)

NOT_STATED_COLUMNS = {
    "step1": "step1_passed", "usce": "usce_hands_on_months", "us_im_letters": "us_im_letters",
    "research_items": "research_items", "ecfmg_certified": "ecfmg_certified",
    "unexplained_gaps": "unexplained_gaps", "recent_clinical_work": "recent_clinical_work",
}


def _named(names: list[str], masks: list[np.ndarray], n: int) -> list[list[str]]:
    """Per row, the names whose mask is true there, in the order given."""
    fired = np.column_stack(masks) if masks else np.zeros((n, 0), dtype=bool)
    return [[name for name, hit in zip(names, row, strict=True) if hit] for row in fired]


def score_chunk(profiles: Profiles, source: Published | Settings | str | Path | None = None, settings: Settings | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score ``profiles`` against every program of a published version and choose their lists.

    Returns ``(applicants, recommendations)``: one row per applicant (tier, factors, readiness,
    what was not stated, counts, list size and why, expected interviews and P(match | list)
    with their intervals, fee) and one row per applicant per listed program (rank, program,
    P(interview) with its interval and band), both in the applicants' order; the frames of the
    ``batch_applicants`` and ``batch_recommendations`` declarations. The rules are those of
    ``settings`` (else of ``source`` when it is settings, else the environment's, read for this call)."""
    settings = settings or (source if isinstance(source, Settings) else None) or Settings()
    data = source if isinstance(source, Published) else load_published(source)
    v = _prepare(data, settings)
    frame = profiles.applicants.reset_index(drop=True)
    N, P = len(frame), data.n
    risk = assess_frame(frame, risk_rules(settings))
    tier = risk["risk_rank"].to_numpy(dtype=np.int64)
    apps = Applicants.from_frame(frame)
    pref_code, pref_sets = pd.factorize(pd.Series([";".join(p) for p in profiles.preferred], dtype=object))
    pref_masks = np.stack([np.isin(v.state, s.split(";")) if s else np.zeros(P, dtype=bool) for s in pref_sets]) if len(pref_sets) else np.zeros((1, P), dtype=bool)
    budgets = np.asarray(profiles.budgets, dtype=float)
    covers = np.full(N, -1, dtype=np.int64)
    for b in np.unique(budgets[~np.isnan(budgets)]):
        covers[budgets == b] = v.schedule.covers(float(b))
    first, key = _distinct(apps, tier, pref_code, covers)
    U = len(first)

    blocks = [first[s : s + KEY_BLOCK] for s in range(0, U, KEY_BLOCK)]
    kl = _size(v, _concat([_rank(v, apps.take(ks), tier[ks], pref_masks[pref_code[ks]]) for ks in blocks]), covers[first])
    g = _Gather.of(kl, key, N)
    ids = frame["profile_id"].astype(str).to_numpy(dtype=object)
    recs = _recommendation_rows(data, kl, g, ids)
    applicants = _applicant_rows(v, kl, g, frame, ids, risk, apps, budgets, settings)
    log.info("scored %d applicants: %d distinct keys, %d listed rows", N, U, len(g.who))
    return applicants, recs


@dataclass
class _Gather:
    """One row per applicant per listed program: a ragged gather of the keys' lists, in
    applicant order (``who``: the applicant, ``pos``: the place in its list, ``k``: its key)."""

    key: np.ndarray
    lens: np.ndarray
    who: np.ndarray
    pos: np.ndarray
    k: np.ndarray
    band: np.ndarray

    @classmethod
    def of(cls, kl: KeyLists, key: np.ndarray, n: int) -> _Gather:
        lens = kl.n[key]
        total = int(lens.sum())
        who = np.repeat(np.arange(n), lens)
        pos = np.arange(total) - np.repeat(np.cumsum(lens) - lens, lens)
        k = key[who]
        return cls(key=key, lens=lens, who=who, pos=pos, k=k, band=kl.band[k, pos])


def _recommendation_rows(data: Published, kl: KeyLists, g: _Gather, ids: np.ndarray) -> pd.DataFrame:
    """The ``batch_recommendations`` rows: one per applicant per listed program."""
    k, pos, total = g.k, g.pos, len(g.who)
    prog = kl.top[k, pos]
    return pd.DataFrame({
        "profile_id": _strings(ids, g.who),
        "rank": (pos + 1).astype(np.int64),
        "acgme_id": _strings(data.programs.acgme_id, prog),
        "p_interview": kl.p[k, pos],
        "p_interview_low": kl.p_low[k, pos],
        "p_interview_high": kl.p_high[k, pos],
        "band": _strings(np.array(BANDS, dtype=object), g.band),
        "preferred_state": kl.preferred[k, pos],
        "published_version": _strings(np.array([data.version], dtype=object), np.zeros(total, dtype=np.int64)),
    })


def _applicant_rows(
    v: _Version, kl: KeyLists, g: _Gather, frame: pd.DataFrame, ids: np.ndarray, risk: pd.DataFrame,
    apps: Applicants, budgets: np.ndarray, settings: Settings,
) -> pd.DataFrame:
    """The ``batch_applicants`` rows: one per applicant (the list sizes and readiness rules of
    ``settings``' rulebook)."""
    N, P, key, who, tier = len(frame), v.data.n, g.key, g.who, risk["risk_rank"].to_numpy(dtype=np.int64)
    sizes = list_sizes(settings)
    lo = np.array([sizes[t].min for t in RISK_TIERS])[tier]
    hi = np.array([sizes[t].max for t in RISK_TIERS])[tier]
    listed = g.lens.astype(np.int64)
    fee_of = {int(n): v.schedule.cost(int(n)) for n in np.unique(listed)}
    band_counts = {b: np.bincount(who, weights=(g.band == BANDS.index(b)), minlength=N).astype(np.int64) for b in ("likely", "target", "reach")}
    ready = readiness_rules(settings)
    not_stated = _named(list(NOT_STATED_COLUMNS), [frame[c].isna().to_numpy() for c in NOT_STATED_COLUMNS.values()], N)
    left_out = sum(kl.counts[x] for x in lists.LEFT_OUT_TEXT)
    o = kl.outcome
    return pd.DataFrame({
        "profile_id": ids,
        "risk_tier": risk["risk_tier"].to_numpy(dtype=object),
        "risk_factors": risk["factors"].tolist(),
        "readiness": _named([r.id for r in ready], [np.asarray(r.fires(frame), dtype=bool) for r in ready], N),
        "not_stated": not_stated,
        "visa_need": apps.visa_need,
        "list_size_min": lo.astype(np.int64),
        "list_size_max": hi.astype(np.int64),
        "list_size_open_ended": np.array([sizes[t].open_ended for t in RISK_TIERS])[tier].astype(bool),
        "programs_eligible": (P - kl.counts["excluded"])[key].astype(np.int64),
        "programs_left_out": left_out[key].astype(np.int64),
        "programs_candidates": kl.counts["candidates"][key].astype(np.int64),
        "programs_listed": listed,
        "size_rule": np.array(SIZE_RULES, dtype=object)[kl.size_rule[key]],
        "below_article_size": listed < lo,
        "listed_likely": band_counts["likely"],
        "listed_target": band_counts["target"],
        "listed_reach": band_counts["reach"],
        "preferred_listed": np.bincount(who, weights=kl.preferred[g.k, g.pos], minlength=N).astype(np.int64),
        **{name: o[name][key] for name in ("expected_interviews", "interviews_low", "interviews_high", "p_match", "p_match_low", "p_match_high", "p_no_interview")},
        "eras_fee_usd": np.array([fee_of[int(n)] for n in listed], dtype=float),
        "budget_usd": budgets,
        "published_version": v.data.version,
        "acgme_snapshot": v.acgme_snapshot,
        "freida_snapshot": v.freida_snapshot,
    })


def _concat(parts: list[_Ranked]) -> _Ranked:
    """Blocks of keys as one, padded to a common width (past a row's candidates: chance 0)."""
    M = max([p.order.shape[1] for p in parts] + [0])

    def cat(name: str, fill: Any) -> np.ndarray:
        arrays = [getattr(p, name) for p in parts]
        if not arrays:
            return np.zeros((0, M))
        out = np.full((sum(len(a) for a in arrays), M), fill, dtype=arrays[0].dtype)
        i = 0
        for a in arrays:
            out[i : i + len(a), : a.shape[1]] = a
            i += len(a)
        return out

    return _Ranked(
        order=cat("order", 0), p=cat("p", 0.0), p_low=cat("p_low", 0.0), p_high=cat("p_high", 0.0),
        logit=cat("logit", 0.0), preferred=cat("preferred", False),
        counts={k: np.concatenate([p.counts[k] for p in parts]) for k in (parts[0].counts if parts else {})},
    )


def _strings(values: np.ndarray, codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``values[codes]`` as pandas' string dtype, gathered by Arrow (no Python string per row)."""
    return pd.array(pa.array(values, type=pa.large_string()).take(pa.array(codes)), dtype="str")


def score_profiles(profiles: Profiles, source: Published | Settings | str | Path | None = None, chunk_size: int = 5000, settings: Settings | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``score_chunk`` over consecutive chunks, concatenated: the default runner's result
    without Prefect (used by the bench and to check that chunking changes nothing)."""
    settings = settings or (source if isinstance(source, Settings) else None) or Settings()
    data = source if isinstance(source, Published) else load_published(source)
    parts = [score_chunk(c, data, settings) for c in profiles.chunks(chunk_size)]
    return (
        pd.concat([p[0] for p in parts], ignore_index=True),
        pd.concat([p[1] for p in parts], ignore_index=True),
    )


def write_input(profiles: list[dict[str, Any]], path: str | Path) -> Path:
    """Write flat profile rows (``INPUT_COLUMNS``) as CSV or Parquet, by the suffix: the
    batch file format, for fixtures and the bench."""
    path = Path(path)
    df = pd.DataFrame(profiles)
    unknown = [c for c in df.columns if c not in INPUT_COLUMNS]
    if unknown:
        raise ValueError(f"not batch input columns: {unknown}")
    if path.suffix.lower() == ".csv":
        write_csv(df, path)
    else:
        df.to_parquet(path, index=False)
    return path


def random_profiles(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` plausible, varied flat profiles (seeded), for the bench and tests: fictional
    applicants spread over every tier, visa need and preference pattern."""
    rng = np.random.default_rng(seed)
    regions = ["", "NY", "NY;NJ", "Midwest", "South", "TX;FL", "CA", "Northeast;PA", "IL;MI;OH", "West"]
    visa = rng.choice(["none", "J-1", "H-1B", "either"], n, p=[0.2, 0.45, 0.15, 0.2])
    step1_attempts = rng.choice([1, 2, 3], n, p=[0.85, 0.12, 0.03])
    ck_attempts = rng.choice([1, 2], n, p=[0.9, 0.1])
    grad = rng.integers(2012, 2026, n)
    # Passed scores, so at least the current Step 2 CK minimum passing score (214 since July 2022).
    ck = np.clip(np.round(rng.normal(232, 14, n)), 214, 280).astype(int)
    hands_on = rng.choice([0, 0, 1, 2, 3, 4, 6, 12], n)
    obs = rng.choice([0, 0, 1, 2, 3], n)
    out = []
    for i in range(n):
        out.append(
            {
                "profile_id": f"p{seed}-{i:06d}",
                "graduation_year": int(grad[i]),
                "step1_passed": True,
                "step1_attempts": int(step1_attempts[i]),
                "step2ck_score": int(ck[i]),
                "step2ck_attempts": int(ck_attempts[i]),
                "step2ck_year": int(min(grad[i] + rng.integers(0, 4), 2026)),
                "usce_hands_on_months": float(hands_on[i]),
                "usce_observership_months": float(obs[i]),
                "us_im_letters": int(rng.integers(0, 4)),
                "research_items": int(rng.integers(0, 5)),
                "visa_need": str(visa[i]),
                "ecfmg_certified": bool(rng.random() < 0.8),
                "recent_clinical_work": bool(rng.random() < 0.7),
                "preferred_states": regions[int(rng.integers(0, len(regions)))],
                "budget_usd": float(rng.choice([1500, 3000, 6000])),
            }
        )
    return out
