"""Batch scoring: many applicant profiles against every program, one list per applicant.

An advising organisation's file of profiles (CSV or Parquet with one row per applicant in the
columns of ``INPUT_COLUMNS``, or a YAML list of profiles as ``recommend`` reads them) is read
and validated profile by profile with the same pydantic model as one profile
(``read_profiles``); an empty cell is "not stated", never zero. ``score_chunk`` then scores
and chooses the lists column-wise, exactly as ``advice.recommend`` does for one applicant:

1. the risk tiers of all applicants at once (``risk.assess_frame``);
2. applicants equal on everything a list reads (the model's inputs, risk tier, preferred
   states, what the budget covers) are one key, scored once;
3. each key against every program by the compiled kernel (``advice.kernel``, blocks of keys on
   threads): P(interview) by the terms of ``advice.model.compute_terms``, the statuses,
   ranking and left-out rules of ``advice.lists``, the size chosen on the contiguous-ranks
   curve (``advice.outcome``'s Poisson-binomial recursion, advanced only as far as the choice
   reads it) and the outcome at that size;
4. the lists are expanded to one row per applicant per listed program.

The result does not depend on how the applicants are split into chunks, so chunks can be
scored by separate tasks (on Dask, by separate machines) and concatenated in order. Imports
neither Prefect nor GX; ``flows/batch.py`` wires it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import mmap
import os
import re
import threading
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
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
from imgpipeline.advice.model import Applicants, applicant_parts, baseline_bounds, program_side
from imgpipeline.advice.profile import (
    ApplicantProfile,
    ProfileError,
    applicant_frame,
    parse_profile,
)
from imgpipeline.advice.published import Published, load_published
from imgpipeline.advice.readiness import readiness_rules
from imgpipeline.advice.risk import Columns, assess_frame, list_sizes, named_rows
from imgpipeline.advice.risk import rules as risk_rules
from imgpipeline.advice.safe_input import Limits, binary_kind, load_yaml_file, one_line
from imgpipeline.errors import PipelineError
from imgpipeline.settings import Settings, given, usable_cpus
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
# Parsed profiles held at once while reading, each batch then kept as a frame of derived
# columns (judgement: 100k pydantic profiles at once were most of a 100k batch's memory).
PARSE_BATCH = 10_000
# The kernel runs on this many threads (the CPUs this process may use), shared by every chunk
# scored in the process: each chunk's keys are cut into blocks of at most KEYS_PER_BLOCK, which
# the threads take in turn (judgement: a block is a few milliseconds, so both cores stay busy
# while another chunk's rows are built under the GIL, and a call's overhead is nothing).
# Each key is computed alone: the rows do not depend on the threads or the blocks.
THREADS = usable_cpus()
KEYS_PER_BLOCK = 256


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


def _records(path: Path, settings: Settings) -> Iterable[dict[str, Any]]:
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
    # Rows built one at a time as they are read (the frame is all that is held).
    return (_nested(dict(zip(cols, row, strict=True))) for row in df.itertuples(index=False, name=None))


def _too_many(path: Path, n: object, limit: int) -> str:
    shown = f"{n:,}" if isinstance(n, int) else n
    return f"{path}: holds {shown} rows; the limit is {limit:,} (setting IMGPIPELINE_BATCH_MAX_ROWS): split the file"


REJECT_COLUMNS = ("row", "profile_id", "field", "reason")
BATCH_SUFFIXES = (".csv", ".parquet", ".pq", ".yaml", ".yml")


def preflight(path: str | Path, settings: Settings | None = None) -> None:
    """The checks that need no parsing (a missing path, a folder, a wrong suffix, the size
    cap, binary content in a CSV or YAML file), so the CLI refuses in milliseconds, before
    Prefect starts. ``read_profiles`` repeats them."""
    settings = given(settings)
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
    settings = given(settings)
    path = Path(path)
    preflight(path, settings)
    digest = _hash_within(path, settings)
    read = _parse_rows(path, settings, as_of_year, keep_profiles)
    _refuse_repeats(path, read.ids, read.rows)
    rejects = read.rejects
    frame = pd.DataFrame(rejects, columns=list(REJECT_COLUMNS))
    if rejects_path is not None and len(frame):
        write_csv(frame, rejects_path)
    if len(frame) and (not skip_bad_rows or not read.ids):
        _refuse_rejects(path, frame, rejects, rejects_path, len(read.ids))
    if not read.ids:
        raise BatchInputError(f"{path} holds no profiles")
    if len(frame):
        log.warning("%s: %d bad rows skipped (--skip-bad-rows): %s", path, frame["row"].nunique(), rejects_path or "see rejects")
    return Profiles(
        applicants=pd.concat(read.frames, ignore_index=True) if len(read.frames) > 1 else read.frames[0],
        preferred=read.preferred,
        budgets=np.array(read.budgets, dtype=float),
        source=str(path),
        sha256=digest,
        rejects=frame,
        profiles=read.kept,
    )


@dataclass
class _Read:
    """What reading keeps of the valid profiles (their derived columns a frame per batch of
    ``PARSE_BATCH``, preferred states, budgets, ids and row numbers from 1; the profiles
    themselves only if asked) and every bad row's rejects."""

    frames: list[pd.DataFrame] = field(default_factory=list)
    preferred: list[tuple[str, ...]] = field(default_factory=list)
    budgets: list[float] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    rejects: list[tuple[int, str, str, str]] = field(default_factory=list)
    kept: list[ApplicantProfile] = field(default_factory=list)


def _parse_rows(path: Path, settings: Settings, as_of_year: int | None, keep: bool) -> _Read:
    """The file's rows validated one by one; at most ``PARSE_BATCH`` parsed profiles are held
    at once (unless ``keep``), each batch turned into its frame of derived columns."""
    out = _Read()
    batch: list[ApplicantProfile] = []
    for i, rec in enumerate(_records(path, settings)):
        pid = rec.get("profile_id") if isinstance(rec, dict) else None
        try:
            profile = parse_profile(rec, f"row {i + 1}", settings)
        except ProfileError as exc:
            out.rejects.extend((i + 1, str(pid or ""), field, msg) for field, msg in exc.problems)
            continue
        if profile.profile_id is None:
            out.rejects.append((i + 1, "", "profile_id", "profile_id is required in a batch"))
            continue
        batch.append(profile)
        out.rows.append(i + 1)
        out.ids.append(profile.profile_id)
        out.preferred.append(profile.preferred_state_codes)
        out.budgets.append(np.nan if profile.budget_usd is None else profile.budget_usd)
        if keep:
            out.kept.append(profile)
        if len(batch) >= PARSE_BATCH:
            out.frames.append(applicant_frame(batch, as_of_year))
            batch = []
    if batch or not out.frames:
        out.frames.append(applicant_frame(batch, as_of_year))
    return out


def _refuse_repeats(path: Path, ids: list[str], rows: list[int]) -> None:
    """Repeated profile ids refuse the file (they are the rows' only identity)."""
    series = pd.Series(ids, dtype=object)
    dup = series[series.duplicated(keep=False)]
    if len(dup):
        where = {pid: [rows[j] for j in np.flatnonzero(series.to_numpy() == pid)] for pid in sorted(set(dup))[:20]}
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
    settings = given(settings)
    frames = [plan_rows(recommend(p, data, settings=settings, plan=True)) for p in chunk.profiles]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# --------------------------------------------------------------------------------------------
# The scoring core: the interview-chance model for every applicant x program, the lists and
# their outcomes, by the compiled kernel (``advice.kernel``) one key at a time.
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
    matrices: _Matrices
    acgme_ids: pa.LargeStringArray    # the programs' ids, for the listed rows' gather
    # Per preferred-state set, its programs (``preferred_mask``).
    _preferred: dict[tuple[str, ...], np.ndarray] = field(default_factory=dict)

    def preferred_mask(self, states: tuple[str, ...]) -> np.ndarray:
        """The programs in ``states`` (read-only; built once per set for the version: a batch
        has few sets, each chunk used to match them against every program again)."""
        mask = self._preferred.get(states)
        if mask is None:
            mask = np.isin(self.state, list(states)) if states else np.zeros(len(self.state), dtype=bool)
            mask.flags.writeable = False
            if len(self._preferred) > 4096:
                self._preferred.clear()
            self._preferred[states] = mask
        return mask


_PREPARED: dict[tuple[int, int, int], _Version] = {}


def _prepare(data: Published, settings: Settings) -> _Version:
    """Per-version arrays (left-out masks, states, bands, the kernel's matrices), cached per
    published object and rulebook."""
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
        _matrices(data, rules, left, c["band_likely"], c["band_target"]),
        pa.array(np.asarray(data.programs.acgme_id, dtype=object), type=pa.large_string()),
    )
    if len(_PREPARED) > 8:
        _PREPARED.clear()
    _PREPARED[key] = out
    return out


# The applicant values a list depends on: the model's inputs, the risk tier (R1 avoid rules),
# the preferred states (ranking) and how many programs the budget covers (size).
_KEY_FLOATS = ("step2ck", "step1", "step1_failures", "failures", "years", "hands_on", "observership", "letters", "recent_clinical", "gaps")


_VISA_CODE = {need: i for i, need in enumerate(VISA_NEEDS)}


def _visa_codes(apps: Applicants) -> np.ndarray:
    """Each applicant's visa need as its index in ``VISA_NEEDS`` (a dict lookup per row; an
    unknown need raises KeyError, as ``VISA_NEEDS.index`` raised ValueError)."""
    return np.fromiter(map(_VISA_CODE.__getitem__, apps.visa_need), dtype=np.int64, count=len(apps.visa_need))


def _distinct(apps: Applicants, tier: np.ndarray, pref: np.ndarray, covers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the first applicant of each distinct list key, and each applicant's key."""
    visa = _visa_codes(apps).astype(float)
    cols = [np.ascontiguousarray(getattr(apps, f), dtype=float) for f in _KEY_FLOATS]
    cols += [visa, apps.step3_passed.astype(float), apps.service_member.astype(float), tier.astype(float), pref.astype(float), covers.astype(float)]
    m = np.column_stack(cols)
    m[np.isnan(m)] = np.nan                             # one nan bit pattern
    first, inverse = _equal_rows(np.ascontiguousarray(m).view(np.uint64))
    order = np.argsort(first, kind="stable")           # keys in order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return first[order], rank[inverse.ravel()]


def _equal_rows(bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(rows, return_index=True, return_inverse=True)``'s index and inverse for the
    rows of ``bits`` (N, C), rows equal when every bit is: by a 64-bit hash of each row (one
    integer sort, not a sort comparing rows of bytes), checked against the rows themselves
    (two rows sharing a hash fall back to the rows' own sort)."""
    h = np.zeros(len(bits), dtype=np.uint64)
    for c in range(bits.shape[1]):
        h ^= bits[:, c]
        h *= _HASH_MULTIPLIER                          # wraps modulo 2^64
        h ^= h >> np.uint64(29)
    _, first, inverse = np.unique(h, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    if not np.array_equal(bits[first[inverse]], bits):
        rows = np.ascontiguousarray(bits).view(np.dtype((np.void, bits.dtype.itemsize * bits.shape[1]))).ravel()
        _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    return first, inverse.ravel()


_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)     # 2^64 / golden ratio, odd


@dataclass
class KeyLists:
    """Each distinct key's list: the listed programs in rank order (``top``: program index;
    key u's n[u] rows from at[u]) with their chances, and the outcome of the list."""

    n: np.ndarray                 # listed programs (U,)
    at: np.ndarray                # (U,) where each key's listed rows start in the flat arrays below
    top: np.ndarray               # program indices by rank (flat: key u's at[u] .. at[u] + n[u])
    p: np.ndarray                 # P(interview) of the ranked programs (flat)
    p_low: np.ndarray
    p_high: np.ndarray
    band: np.ndarray              # codes into BANDS (flat)
    preferred: np.ndarray         # bool (flat)
    counts: dict[str, np.ndarray]
    size_rule: np.ndarray         # (U,) codes into SIZE_RULES
    outcome: dict[str, np.ndarray]
    # The room the flat arrays are views of: given back (``release``) once the rows are built.
    room: _Room | None = None

    def release(self) -> None:
        """Give the flat arrays' room back for the next chunk (this object's flat arrays must
        not be read after)."""
        if self.room is not None:
            _give_back(self.room)
            self.room = None


def _fresh(n: int, dtype: type) -> np.ndarray:
    """n uninitialised values in fresh private anonymous memory of 4 KB pages: only the pages
    written are ever faulted in. (NumPy asks for transparent huge pages for arrays of 4 MB or
    more: then writing one value zeroes 2 MB, and the kernel's rows, which fill about a third of
    their room a block at a time, touched all of it; that was most of the kernel threads'
    system time.)"""
    size = max(1, n * np.dtype(dtype).itemsize)
    return np.frombuffer(mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS), dtype=dtype, count=n)


@dataclass
class _Room:
    """The kernel's flat output arrays for up to ``size`` listed rows (``KeyLists``' top, p,
    p_low, p_high, band, preferred)."""

    size: int
    order: np.ndarray
    p: np.ndarray
    p_low: np.ndarray
    p_high: np.ndarray
    band: np.ndarray
    preferred: np.ndarray

    @classmethod
    def new(cls, size: int) -> _Room:
        return cls(size, _fresh(size, np.int64), _fresh(size, np.float64), _fresh(size, np.float64), _fresh(size, np.float64), _fresh(size, np.int8), _fresh(size, np.bool_))


# Rooms given back, reused by the next chunks of the process (allocate once, reuse: a page
# already written costs no fault again). At most ROOMS_KEPT are kept (chunks scored at once).
_ROOMS: list[_Room] = []
_ROOMS_LOCK = threading.Lock()
ROOMS_KEPT = THREADS + 1


def _take_room(size: int) -> _Room:
    """A kept room of at least ``size`` rows (the smallest such), else a new one."""
    with _ROOMS_LOCK:
        fits = [r for r in _ROOMS if r.size >= size]
        if fits:
            room = min(fits, key=lambda r: r.size)
            _ROOMS.remove(room)
            return room
    return _Room.new(size)


def _give_back(room: _Room) -> None:
    with _ROOMS_LOCK:
        _ROOMS.append(room)
        if len(_ROOMS) > ROOMS_KEPT:
            _ROOMS.remove(min(_ROOMS, key=lambda r: r.size))


@dataclass
class _Matrices:
    """A version's program side and the rulebook's scalars as the kernel reads them (built
    once per version, ``_prepare``)."""

    pf: np.ndarray                # (N_PF, P) float rows
    pb: np.ndarray                # (N_PB, P) flag rows
    left: np.ndarray              # (risk tiers, P) the left-out code (``kernel.C_*``) before exclusions and R4
    s: np.ndarray                 # (N_S,) coefficients and list rules
    curve: np.ndarray             # (3, kmax + 1): P(match | k interviews), low, high


def _matrices(data: Published, rules: lists.ListRules, left: lists.LeftOut, band_likely: float, band_target: float) -> _Matrices:
    """The program side of the terms (``model.program_side``), the exclusions and left-out
    masks, and the scalars, in the kernel's rows (``kernel.P_*``, ``B_*``, ``S_*``)."""
    from imgpipeline.advice import kernel as k

    c, ps = data.coefficients, data.programs
    side = program_side(c, ps)
    low, high = baseline_bounds(c, ps)
    pf = np.zeros((k.N_PF, ps.n))  # P_VISA_NONE stays 0 (no visa term), B_NO_NONE False
    for row, values in (
        (k.P_BASE, side.baseline[0]), (k.P_BONUS, ps.program_bonus), (k.P_S2W, side.step2ck_weight),
        (k.P_S2MIN, ps.step2_min_2016), (k.P_S1MIN, ps.step1_min_2016), (k.P_YOG_OLDER, side.yog_older),
        (k.P_USCE_NEED, side.usce_need), (k.P_USCE_POL, side.usce_policy), (k.P_VISA_J1, side.visa[("j1", True)][1]),
        (k.P_VISA_H1B, side.visa[("h1b", True)][1]), (k.P_VISA_EITHER, side.visa[("either", True)][1]),
        (k.P_H1B_YES, side.h1b_yes), (k.P_YOG_LIMIT, ps.yog_limit), (k.P_LOW, low), (k.P_HIGH, high),
    ):
        pf[row] = values
    pb = np.zeros((k.N_PB, ps.n), dtype=bool)
    for row, flags in (
        (k.B_NO_J1, side.visa[("j1", True)][0]), (k.B_NO_H1B, side.visa[("h1b", True)][0]), (k.B_NO_EITHER, side.visa[("either", True)][0]),
        (k.B_EXCL_FAIL, ps.excludes_failures), (k.B_YOG_LIMITED, side.yog_limited), (k.B_EXCL_IMGS, ps.excludes_imgs),
        (k.B_MILITARY, ps.military),
    ):
        pb[row] = flags
    codes = np.where(left.avoid_tier, k.C_AVOID_TIER, np.where(left.avoid_few_imgs, k.C_FEW_IMGS, np.where(left.not_accepting[None, :], k.C_NOT_ACCEPTING, k.C_CANDIDATES)))
    floor = rules.long_shot_below
    s = np.empty(k.N_S)
    s[[k.S_BELOW_CK, k.S_BELOW_S1, k.S_NEG_OVERLAP]] = c["below_2016_step2_minimum"], c["below_2016_step1_minimum"], -c["screen_overlap"]
    s[[k.S_LONG_SHOT, k.S_LONG_SHOT_LOGIT, k.S_PREFERRED]] = floor, (math.log(floor / (1 - floor)) if floor > 0 else -np.inf), rules.preferred_state_log_odds
    s[[k.S_TARGET, k.S_MIN_GAIN, k.S_STEP, k.S_MIN_SIZE, k.S_MAX_SIZE]] = rules.target_p_match, rules.min_gain_per_step, rules.size_step, rules.min_size, rules.max_size
    s[[k.S_LIKELY, k.S_BAND_TARGET]] = band_likely, band_target
    r = data.ranks
    return _Matrices(pf, pb, np.ascontiguousarray(codes, dtype=np.int64), s, np.ascontiguousarray(np.stack([r.p, r.low, r.high])))


def _applicant_matrix(c: Any, apps: Applicants, tier: np.ndarray, pref: np.ndarray, covers: np.ndarray) -> np.ndarray:
    """The keys as the kernel reads them: (N_AF, U), rows ``kernel.A_*``."""
    from imgpipeline.advice import kernel as k

    parts = applicant_parts(c, apps)
    af = np.empty((k.N_AF, apps.n))
    for row, values in (
        (k.A_S2, parts["step2ck"]), (k.A_CK, apps.step2ck), (k.A_S1, apps.step1), (k.A_FAIL, parts["failures"]),
        (k.A_OLDER, parts["older"]), (k.A_USCE, parts["usce"]), (k.A_HANDS, apps.hands_on), (k.A_LETTERS, parts["letters"]),
        (k.A_RECENT, parts["recent_clinical"]), (k.A_GAPS, parts["gaps"]), (k.A_YEARS, apps.years), (k.A_HAS_FAIL, apps.failures > 0),
        (k.A_SERVICE, apps.service_member), (k.A_VISA, _visa_codes(apps)), (k.A_STEP3, apps.step3_passed),
        (k.A_TIER, tier), (k.A_COVERS, covers), (k.A_PREF, pref),
    ):
        af[row] = values
    return af


def score_keys(v: _Version, apps: Applicants, tier: np.ndarray, pref_masks: np.ndarray, pref: np.ndarray, covers: np.ndarray) -> KeyLists:
    """Lists for U distinct keys (``apps``, their risk-tier index, preferred-state mask index
    into ``pref_masks`` (S, P), and budget covers, -1 = no budget) by the compiled kernel
    (``advice.kernel``: the model, ranking, sizing and outcome of ``advice.recommend``), blocks
    of keys on as many threads as the process has CPUs (``launch_keys``, waited for)."""
    return launch_keys(v, apps, tier, pref_masks, pref, covers).result()


def launch_keys(v: _Version, apps: Applicants, tier: np.ndarray, pref_masks: np.ndarray, pref: np.ndarray, covers: np.ndarray) -> _Running:
    """``score_keys`` started: the blocks of keys handed to the kernel threads (with one thread
    or one block, run here and done); ``result()`` waits for them."""
    from imgpipeline.advice import kernel as k

    m, U, W = v.matrices, apps.n, v.rules.max_size
    af = _applicant_matrix(v.data.coefficients, apps, tier, pref, covers)
    pref_masks = np.ascontiguousarray(pref_masks, dtype=bool)
    # Room for W listed rows per key, flat (a ``_Room`` of the process's, reused chunk after
    # chunk); the kernel writes each block's lists one after the other from the block's start.
    room = _take_room(U * W)
    r = _Running(room, np.zeros((U, k.N_COUNTS), dtype=np.int64), np.zeros(U, dtype=np.int64), np.zeros(U, dtype=np.int64), np.zeros(U, dtype=np.int8), np.zeros((U, k.N_OUT)))

    def run(lo: int, hi: int) -> None:
        k.score_rows(m.pf, m.pb, m.left, af, pref_masks, m.s, m.curve, lo, hi, W, r.counts, r.at, room.order, room.p, room.p_low, room.p_high, room.preferred, room.band, r.n, r.why, r.out)

    cuts = list(range(0, U, KEYS_PER_BLOCK)) + [U]
    if THREADS > 1 and len(cuts) > 2:
        r.blocks = [_kernel_pool().submit(run, lo, hi) for lo, hi in zip(cuts[:-1], cuts[1:], strict=True)]
    else:
        try:
            run(0, U)
        except BaseException:
            _give_back(room)
            raise
    return r


@dataclass
class _Running:
    """The kernel's outputs for a chunk's keys while its blocks run (``blocks``)."""

    room: _Room
    counts: np.ndarray
    at: np.ndarray
    n: np.ndarray
    why: np.ndarray
    out: np.ndarray
    blocks: list[Future] = field(default_factory=list)

    def result(self) -> KeyLists:
        """Wait for every block (all of them, even when one failed, so no thread still writes to
        the room when it is given back), then the keys' lists."""
        wait(self.blocks)
        try:
            for block in self.blocks:
                block.result()
        except BaseException:
            _give_back(self.room)
            raise
        room = self.room
        names = ("excluded", "avoided_program_tier", "avoided_few_imgs", "not_accepting", "long_shot", "candidates")
        outcome = ("expected_interviews", "interviews_low", "interviews_high", "p_match", "p_match_low", "p_match_high", "p_no_interview")
        return KeyLists(
            n=self.n, at=self.at, top=room.order, p=room.p, p_low=room.p_low, p_high=room.p_high, band=room.band, preferred=room.preferred,
            counts={name: self.counts[:, i] for i, name in enumerate(names)}, size_rule=self.why,
            outcome={name: self.out[:, i] for i, name in enumerate(outcome)}, room=room,
        )


_POOL: tuple[int, ThreadPoolExecutor] | None = None
_POOL_LOCK = threading.Lock()


def _kernel_pool() -> ThreadPoolExecutor:
    """The process's ``THREADS`` kernel threads (made on first use, again in a forked child:
    a pool's threads do not survive a fork)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL[0] != os.getpid():
            _POOL = (os.getpid(), ThreadPoolExecutor(THREADS, thread_name_prefix="imgpipeline-kernel"))
        return _POOL[1]


NOT_STATED_COLUMNS = {
    "step1": "step1_passed", "usce": "usce_hands_on_months", "us_im_letters": "us_im_letters",
    "research_items": "research_items", "ecfmg_certified": "ecfmg_certified",
    "unexplained_gaps": "unexplained_gaps", "recent_clinical_work": "recent_clinical_work",
}


def _named(names: list[str], masks: list[np.ndarray], n: int) -> np.ndarray:
    """Per row, the names whose mask is true there, in the order given (``risk.named_rows``)."""
    return named_rows(names, np.column_stack(masks) if masks else np.zeros((n, 0), dtype=bool))


def score_chunk(profiles: Profiles, source: Published | Settings | str | Path | None = None, settings: Settings | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score ``profiles`` against every program of a published version and choose their lists.

    Returns ``(applicants, recommendations)``: one row per applicant (tier, factors, readiness,
    what was not stated, counts, list size and why, expected interviews and P(match | list)
    with their intervals, fee) and one row per applicant per listed program (rank, program,
    P(interview) with its interval and band), both in the applicants' order; the frames of the
    ``batch_applicants`` and ``batch_recommendations`` declarations. The rules are those of
    ``settings`` (else of ``source`` when it is settings, else the environment's, read for this call)."""
    settings = given(settings, source)
    data = source if isinstance(source, Published) else load_published(source)
    scored = _score(profiles, data, settings)
    try:
        rows = _write_rows(scored, _row_arrays(scored.rows), 0)
    finally:
        scored.kl.release()         # the rows are copies: the room goes to the next chunk
    return scored.applicants, _recommendation_frame(scored.v, rows, _strings(scored.ids, rows["who"]), _strings(scored.v.acgme_ids, rows["prog"]))


def _score(profiles: Profiles, data: Published, settings: Settings, turns: _Turns | None = None, i: int = 0) -> _Scored:
    """``score_chunk`` up to its applicant rows: the lists held for the listed rows. With
    ``turns``, the chunk's keys are built (under the GIL) only once chunk i - 1 has started its
    kernel, so the first chunk's kernel starts as soon as its own keys are known; the applicant
    columns that do not read the lists are built while the kernel runs."""
    if turns is not None:
        turns.wait(i)
    try:
        v = _prepare(data, settings)
        frame = profiles.applicants.reset_index(drop=True)
        risk = assess_frame(frame, risk_rules(settings))
        apps, budgets = Applicants.from_frame(frame), np.asarray(profiles.budgets, dtype=float)
        keyed = _keys(v, apps, risk["risk_rank"].to_numpy(dtype=np.int64), profiles.preferred, budgets)
        running = launch_keys(v, *keyed.kernel_args())
    finally:
        if turns is not None:
            turns.done(i)
    try:
        ids = pa.array(frame["profile_id"].astype(str).array, type=pa.large_string())
        known = _applicant_known(v, frame, ids, risk, apps, budgets, settings)
    except BaseException:
        with contextlib.suppress(Exception):
            running.result().release()     # no kernel thread writes to the room any more
        raise
    kl = running.result()
    try:
        applicants = _applicant_rows(v, kl, keyed.key, known)
    except BaseException:
        kl.release()
        raise
    log.info("scored %d applicants: %d distinct keys, %d listed rows", len(frame), len(keyed.first), int(kl.n[keyed.key].sum()))
    return _Scored(v, kl, keyed.key, ids, applicants)


@dataclass
class _Keys:
    """A chunk's distinct list keys: the first applicant of each (``first``), each applicant's
    key (``key``), and what the kernel reads of them."""

    apps: Applicants
    tier: np.ndarray
    pref_masks: np.ndarray
    pref_code: np.ndarray
    covers: np.ndarray
    first: np.ndarray
    key: np.ndarray

    def kernel_args(self) -> tuple[Applicants, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        f = self.first
        return self.apps.take(f), self.tier[f], self.pref_masks, self.pref_code[f], self.covers[f]


def _keys(v: _Version, apps: Applicants, tier: np.ndarray, preferred: list[tuple[str, ...]], budgets: np.ndarray) -> _Keys:
    """The applicants' list keys (``_distinct``): their preferred-state sets in order of first
    appearance (as pd.factorize), each applicant's index into them, what its budget covers."""
    N, P = len(tier), v.data.n
    keys = list(map(tuple, preferred))
    seen = {s: i for i, s in enumerate(dict.fromkeys(keys))}
    pref_code = np.fromiter(map(seen.__getitem__, keys), dtype=np.int64, count=N)
    pref_masks = np.stack([v.preferred_mask(s) for s in seen]) if seen else np.zeros((1, P), dtype=bool)
    covers = np.full(N, -1, dtype=np.int64)
    for b in np.unique(budgets[~np.isnan(budgets)]):
        covers[budgets == b] = v.schedule.covers(float(b))
    first, key = _distinct(apps, tier, pref_code, covers)
    return _Keys(apps, tier, pref_masks, pref_code, covers, first, key)


class _Turns:
    """Chunks' key building in chunk order: chunk i waits until chunk i - 1 is done with it
    (``done``, also when it failed), never for a later chunk."""

    def __init__(self, chunks: int) -> None:
        self.events = [threading.Event() for _ in range(chunks + 1)]
        self.events[0].set()

    def wait(self, i: int) -> None:
        self.events[i].wait()

    def done(self, i: int) -> None:
        self.events[i + 1].set()


@dataclass
class _Scored:
    """A chunk scored: its applicant rows, and its lists (``kl``, holding a room until
    released) for the listed rows, applicant i reading key ``key[i]``, profile id ``ids[i]``."""

    v: _Version
    kl: KeyLists
    key: np.ndarray
    ids: pa.LargeStringArray
    applicants: pd.DataFrame

    @property
    def rows(self) -> int:
        return int(self.kl.n[self.key].sum())


# The listed rows' arrays, as ``kernel.listed_rows`` fills them.
ROW_ARRAYS = (("who", np.int32), ("rank", np.int64), ("prog", np.int32), ("p", np.float64), ("p_low", np.float64), ("p_high", np.float64), ("band", np.int8), ("preferred", np.bool_))


def _row_arrays(n: int) -> dict[str, np.ndarray]:
    """Room for n listed rows (``np.empty``: a page is touched only when a row is written to it)."""
    return {name: np.empty(n, dtype=dtype) for name, dtype in ROW_ARRAYS}


def _write_rows(s: _Scored, into: dict[str, np.ndarray], lo: int, a: int = 0, b: int | None = None) -> dict[str, np.ndarray]:
    """The listed rows of the chunk's applicants a..b (default: all) written into ``into``
    from row ``lo`` (the kernel's ``listed_rows``; ``who`` counts from the chunk's first
    applicant); the slices written."""
    from imgpipeline.advice.kernel import listed_rows

    kl, key = s.kl, s.key[a:b]
    r = {name: arr[lo : lo + int(kl.n[key].sum())] for name, arr in into.items()}
    listed_rows(key, kl.at, kl.n, kl.top, kl.p, kl.p_low, kl.p_high, kl.band, kl.preferred, *(r[name] for name, _ in ROW_ARRAYS))
    r["who"] += a
    return r


def _recommendation_frame(v: _Version, rows: dict[str, np.ndarray], profile_ids: Any, acgme_ids: Any) -> pd.DataFrame:
    """The ``batch_recommendations`` rows: one per applicant per listed program (``rows``:
    ``listed_rows``' arrays; the profile and program ids of each row as pandas strings)."""
    return pd.DataFrame({
        "profile_id": profile_ids,
        "rank": rows["rank"],
        "acgme_id": acgme_ids,
        "p_interview": rows["p"],
        "p_interview_low": rows["p_low"],
        "p_interview_high": rows["p_high"],
        # A closed set, declared a category: the kernel's codes are its codes (no string per row).
        "band": pd.Categorical.from_codes(rows["band"], categories=BANDS[:3]),
        "preferred_state": rows["preferred"],
        "published_version": _repeated(v.data.version, len(rows["rank"])),
    }, copy=False)


@dataclass
class _Known:
    """The ``batch_applicants`` columns that do not read the lists (built while the kernel
    runs), and the tiers' list sizes."""

    columns: dict[str, Any]
    lo: np.ndarray
    budgets: np.ndarray


def _applicant_known(
    v: _Version, frame: pd.DataFrame, ids: pa.LargeStringArray, risk: pd.DataFrame, apps: Applicants, budgets: np.ndarray, settings: Settings,
) -> _Known:
    """The applicant columns known before the lists (the list sizes and readiness rules of
    ``settings``' rulebook)."""
    N, tier = len(frame), risk["risk_rank"].to_numpy(dtype=np.int64)
    sizes = list_sizes(settings)
    lo = np.array([sizes[t].min for t in RISK_TIERS])[tier]
    hi = np.array([sizes[t].max for t in RISK_TIERS])[tier]
    ready, cols = readiness_rules(settings), Columns(frame)
    not_stated = _named(list(NOT_STATED_COLUMNS), [frame[c].isna().to_numpy() for c in NOT_STATED_COLUMNS.values()], N)
    return _Known({
        "profile_id": pd.array(ids, dtype="str"),
        "risk_tier": _coded(RISK_TIERS, tier),
        "risk_factors": risk["factors"].to_numpy(),
        "readiness": _named([r.id for r in ready], [np.asarray(r.fires(cols), dtype=bool) for r in ready], N),
        "not_stated": not_stated,
        "visa_need": apps.visa_need,
        "list_size_min": lo.astype(np.int64),
        "list_size_max": hi.astype(np.int64),
        "list_size_open_ended": np.array([sizes[t].open_ended for t in RISK_TIERS])[tier].astype(bool),
    }, lo, budgets)


def _applicant_rows(v: _Version, kl: KeyLists, key: np.ndarray, known: _Known) -> pd.DataFrame:
    """The ``batch_applicants`` rows: one per applicant (of key ``key``): the columns
    ``known`` before the lists, then those read from them."""
    from imgpipeline.advice.kernel import key_counts

    P, lo = v.data.n, known.lo
    listed = kl.n[key].astype(np.int64)
    sizes_listed, size_of = np.unique(listed, return_inverse=True)
    fees = np.array([v.schedule.cost(int(n)) for n in sizes_listed], dtype=float)[size_of.ravel()]
    per_key = key_counts(kl.at, kl.n, kl.band, kl.preferred)[key]
    left_out = sum(kl.counts[x] for x in lists.LEFT_OUT_TEXT)
    o = kl.outcome
    return pd.DataFrame({
        **known.columns,
        "programs_eligible": (P - kl.counts["excluded"])[key].astype(np.int64),
        "programs_left_out": left_out[key].astype(np.int64),
        "programs_candidates": kl.counts["candidates"][key].astype(np.int64),
        "programs_listed": listed,
        "size_rule": _coded(SIZE_RULES, kl.size_rule[key]),
        "below_article_size": listed < lo,
        "listed_likely": per_key[:, 0],
        "listed_target": per_key[:, 1],
        "listed_reach": per_key[:, 2],
        "preferred_listed": per_key[:, 3],
        **{name: o[name][key] for name in ("expected_interviews", "interviews_low", "interviews_high", "p_match", "p_match_low", "p_match_high", "p_no_interview")},
        "eras_fee_usd": fees,
        "budget_usd": known.budgets,
        "published_version": v.data.version,
        "acgme_snapshot": v.acgme_snapshot,
        "freida_snapshot": v.freida_snapshot,
    }, copy=False)


def _coded(names: tuple[str, ...], codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``names[codes]`` as pandas' string dtype, gathered by Arrow (what pandas infers from the
    object array of the same strings, without its scan of every row)."""
    return pd.array(pa.array(list(names), type=pa.large_string()).take(pa.array(codes)), dtype="str")


# Per value, an Arrow array of it repeated REPEAT_BLOCK times (``_repeated`` reads it again and again).
_REPEATED: dict[str, pa.LargeStringArray] = {}
REPEAT_BLOCK = 1 << 16


def _repeated(value: str, n: int) -> pd.api.extensions.ExtensionArray:
    """``value`` n times as pandas' string dtype: the same block of it repeated (Arrow chunks
    sharing one block's buffers: no copy, whatever n), the block built once per value (its
    buffers built at once; building them for every chunk was a fifth of the core's time
    holding the GIL, and a block as long as the result was 8 bytes of offsets and the value's
    bytes of fresh memory per row)."""
    block = _REPEATED.get(value)
    if block is None:
        data = value.encode()
        offsets = np.arange(REPEAT_BLOCK + 1, dtype=np.int64) * len(data)
        block = pa.LargeStringArray.from_buffers(REPEAT_BLOCK, pa.py_buffer(offsets), pa.py_buffer(data * REPEAT_BLOCK))
        if len(_REPEATED) > 8:
            _REPEATED.clear()
        _REPEATED[value] = block
    whole, rest = divmod(n, REPEAT_BLOCK)
    return pd.array(pa.chunked_array([block] * whole + [block.slice(0, rest)], type=pa.large_string()), dtype="str")


def _strings(values: pa.LargeStringArray, codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``values[codes]`` as pandas' string dtype, gathered by Arrow (no Python string per row)."""
    return pd.array(values.take(pa.array(codes)), dtype="str")


class _InOrder:
    """Chunks' listed rows written straight into one result's arrays (room for ``capacity``
    rows; only the rows written touch memory), chunk i from where chunk i - 1 ends: chunk i
    waits for chunk i - 1's row count (known once its kernel has run), never for a later chunk,
    so the chunks, taken in order, cannot wait on each other in a circle."""

    def __init__(self, v: _Version, chunks: int, capacity: int) -> None:
        self.v, self.into = v, _row_arrays(capacity)
        self.start: list[int] = [0] * (chunks + 1)
        self.known = _Turns(chunks)

    def place(self, i: int, rows: int) -> None:
        """Chunk i holds ``rows`` rows (0 when it failed: the next chunks go on)."""
        self.known.wait(i)
        self.start[i + 1] = self.start[i] + rows
        self.known.done(i)

    def half(self, scored: _Scored, a: int, b: int, lo: int) -> tuple[pa.Array, pa.Array]:
        """Applicants a..b of the chunk: their listed rows (from row lo of the result) and
        their profile and program ids."""
        r = _write_rows(scored, self.into, lo, a, b)
        return scored.ids.take(pa.array(r["who"])), self.v.acgme_ids.take(pa.array(r["prog"]))

    def write(self, i: int, scored: _Scored, writers: ThreadPoolExecutor) -> tuple[list[pa.Array], list[pa.Array]]:
        """Chunk i's rows in two halves on two threads (both release the GIL: the last chunk's
        rows are the run's tail, when nothing else is left to run beside them); its ids."""
        halves: list[Future] = []
        try:
            cut = len(scored.key) // 2
            mid, lo = int(scored.kl.n[scored.key[:cut]].sum()), self.start[i]
            halves = [writers.submit(self.half, scored, 0, cut, lo), writers.submit(self.half, scored, cut, len(scored.key), lo + mid)]
        finally:
            wait(halves)
            scored.kl.release()
        pieces = [h.result() for h in halves]
        return [pid for pid, _ in pieces], [acgme for _, acgme in pieces]

    def rows(self) -> dict[str, np.ndarray]:
        return {name: a[: self.start[-1]] for name, a in self.into.items()}


def score_profiles(profiles: Profiles, source: Published | Settings | str | Path | None = None, chunk_size: int = 5000, settings: Settings | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``score_chunk`` over consecutive chunks, concatenated in order: the default runner's
    result without Prefect (used by the bench and to check that chunking changes nothing).
    Like the flow, chunks overlap (``THREADS`` at a time): one builds its rows while another's
    kernel runs; each writes its rows straight into the result (``_InOrder``)."""
    settings = given(settings, source)
    data = source if isinstance(source, Published) else load_published(source)
    chunks = profiles.chunks(chunk_size)
    if len(chunks) <= 1:
        parts = [score_chunk(c, data, settings) for c in chunks]
        return pd.concat([p[0] for p in parts], ignore_index=True), pd.concat([p[1] for p in parts], ignore_index=True)
    v = _prepare(data, settings)
    order, turns = _InOrder(v, len(chunks), len(profiles) * v.rules.max_size), _Turns(len(chunks))

    def one(i: int) -> tuple[pd.DataFrame, list[pa.Array], list[pa.Array]]:
        scored, rows = None, 0
        try:
            scored = _score(chunks[i], data, settings, turns, i)
            rows = scored.rows
        finally:                                    # even on failure: the next chunks go on
            order.place(i, rows)
        return (scored.applicants, *order.write(i, scored, writers))

    with ThreadPoolExecutor(max(1, min(THREADS, len(chunks)))) as pool, ThreadPoolExecutor(2) as writers:
        parts = list(pool.map(one, range(len(chunks))))

    def strings(i: int) -> pd.api.extensions.ExtensionArray:
        return pd.array(pa.chunked_array([piece for p in parts for piece in p[i]], type=pa.large_string()), dtype="str")

    return pd.concat([p[0] for p in parts], ignore_index=True), _recommendation_frame(v, order.rows(), strings(1), strings(2))


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
