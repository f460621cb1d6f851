"""Batch scoring: many applicant profiles against every program, one list per applicant.

An advising organisation's file of profiles (CSV or Parquet with one row per applicant in the
columns of ``INPUT_COLUMNS``, or a YAML list of profiles as ``recommend`` reads them) is read
and validated profile by profile with the same pydantic model as one profile
(``read_profiles``); ``score_chunk`` then scores and chooses the lists column-wise:

1. the risk tiers of all applicants at once (``risk.assess_frame``);
2. every program for each distinct scoring key (``scoring.score_programs(with_text=False)``:
   applicants equal on what the score reads are scored once);
3. each distinct list key (scoring key + preferred states) chooses its list with
   ``recommend.build_lists``, in blocks of keys: (keys x programs) arrays, no loop over pairs;
4. the lists are expanded to one row per applicant per listed program.

The result does not depend on how the applicants are split into chunks, so chunks can be
scored by separate tasks (on Dask, by separate machines) and concatenated in order. Imports
neither Prefect nor GX; ``flows/batch.py`` wires it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from imgpipeline.applicant import ApplicantProfile, ProfileError, applicant_frame, parse_profile
from imgpipeline.csv_out import write_csv
from imgpipeline.errors import PipelineError
from imgpipeline.fees import eras_schedule
from imgpipeline.recommend import (
    MIX_BANDS,
    STATUS,
    PublishedPrograms,
    build_lists,
    load_published,
    preferred_mask,
)
from imgpipeline.risk import TIERS, assess_frame, list_sizes
from imgpipeline.safe_input import Limits, binary_kind, load_yaml_file, one_line
from imgpipeline.scoring import BANDS, score_programs
from imgpipeline.settings import Settings

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
    "usce_hands_on_months": (("usce", "hands_on_months"), "months of hands-on US clinical experience (default 0)"),
    "usce_observership_months": (("usce", "observership_months"), "months of observerships (default 0)"),
    "us_im_letters": (("us_im_letters",), "letters from US internal-medicine attendings (default 0)"),
    "research_items": (("research_items",), "abstracts, posters, publications... (default 0)"),
    "visa_need": (("visa_need",), "none, J-1, H-1B or either (default none)"),
    "ecfmg_certified": (("ecfmg_certified",), "ECFMG certified (default false)"),
    "unexplained_gaps": (("unexplained_gaps",), "significant unexplained gaps (default false)"),
    "recent_clinical_work": (("recent_clinical_work",), "recent clinical work (empty: not stated)"),
    "preferred_states": (("preferred_states",), "state codes or Census regions separated by ';' (e.g. NY;NJ;Midwest)"),
    "budget_usd": (("budget_usd",), "budget for application fees, USD"),
}
MAX_REPORTED_PROBLEMS = 50
LIST_KEY_BLOCK = 2048


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
) -> Profiles:
    """Read and validate a batch file.

    Every bad row is a reject (row number from 1 = the first profile, profile id, field,
    reason); with ``rejects_path`` they are written there as CSV. Without ``skip_bad_rows``
    any reject refuses the file (nothing is scored); with it the good rows are scored and the
    rejects travel with the result (``Profiles.rejects``), never silently. Repeated profile
    ids refuse the file either way (they are the rows' only identity), as do a file over
    the size or row cap (``IMGPIPELINE_BATCH_MAX_BYTES`` / ``_MAX_ROWS``)."""
    settings = settings or Settings()
    path = Path(path)
    preflight(path, settings)
    digest = _hash_within(path, settings)
    rejects: list[tuple[int, str, str, str]] = []
    profiles: list[ApplicantProfile] = []
    rows: list[int] = []
    for i, rec in enumerate(_records(path, settings)):
        pid = rec.get("profile_id") if isinstance(rec, dict) else None
        try:
            profile = parse_profile(rec, f"row {i + 1}")
        except ProfileError as exc:
            rejects.extend((i + 1, str(pid or ""), field, msg) for field, msg in exc.problems)
            continue
        if profile.profile_id is None:
            rejects.append((i + 1, "", "profile_id", "profile_id is required in a batch"))
            continue
        profiles.append(profile)
        rows.append(i + 1)
    ids = pd.Series([p.profile_id for p in profiles], dtype=object)
    dup = ids[ids.duplicated(keep=False)]
    if len(dup):
        where = {pid: [rows[j] for j in np.flatnonzero(ids.to_numpy() == pid)] for pid in sorted(set(dup))[:20]}
        raise BatchInputError(
            f"{path}: profile_id repeats; nothing was scored: "
            + "; ".join(f"{pid!r} on rows {r}" for pid, r in where.items())
        )
    frame = pd.DataFrame(rejects, columns=list(REJECT_COLUMNS))
    if rejects_path is not None and len(frame):
        write_csv(frame, rejects_path)
    if len(frame) and (not skip_bad_rows or not profiles):
        bad_rows = frame["row"].nunique()
        shown = [f"row {r} ({pid or 'no id'}): {f}: {m}" for r, pid, f, m in rejects[:MAX_REPORTED_PROBLEMS]]
        more = [f"... and {len(rejects) - MAX_REPORTED_PROBLEMS} more"] if len(rejects) > MAX_REPORTED_PROBLEMS else []
        where = f"every one in {rejects_path}" if rejects_path is not None else "listed above"
        hint = (
            f"; rerun with --skip-bad-rows to score the {len(profiles)} good rows" if profiles else "; no row is valid"
        )
        raise BatchInputError(
            f"{path} has invalid profiles ({bad_rows} bad rows, {where}){hint}; nothing was scored:\n"
            + "\n".join(f"  - {p}" for p in shown + more),
            rejects=frame,
        )
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
    )


def _snapshots(data: PublishedPrograms, col: str) -> str:
    if col not in data.features:
        return ""
    return " + ".join(sorted(data.features[col].dropna().astype(str).unique()))


def score_chunk(profiles: Profiles, source: PublishedPrograms | str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score ``profiles`` against every program of a published version and choose their lists.

    Returns ``(applicants, recommendations)``: one row per applicant (tier, factors, counts,
    fee, chance) and one row per applicant per listed program (rank, program, score, band),
    both in the applicants' order; the frames of the ``batch_applicants`` and
    ``batch_recommendations`` declarations."""
    data = source if isinstance(source, PublishedPrograms) else load_published(source)
    apps = profiles.applicants.reset_index(drop=True)
    risk = assess_frame(apps)
    apps = apps.assign(risk_tier=risk["risk_tier"].to_numpy())
    scored = score_programs(data.program_side, apps, with_text=False)
    G, P = len(scored.keys), data.n
    S = scored.scores["score"].to_numpy(dtype=float).reshape(G, P)
    B = scored.scores["band"].cat.codes.to_numpy().reshape(G, P)
    E = scored.scores["eligible"].to_numpy(dtype=bool).reshape(G, P)
    key_tier = np.array([TIERS.index(t) for t in scored.keys["risk_tier"]], dtype=np.int64)

    # List keys: a scoring key and a set of preferred states.
    pref_codes, pref_sets = pd.factorize(pd.Series([";".join(p) for p in profiles.preferred], dtype=object))
    pref_matrix = np.stack([preferred_mask(data, tuple(s.split(";")) if s else ()) for s in pref_sets]) if len(pref_sets) else np.zeros((1, P), dtype=bool)
    pair = scored.applicant_key.astype(np.int64) * max(len(pref_sets), 1) + pref_codes
    list_key, uniq = pd.factorize(pair)
    lk_score = (np.asarray(uniq) // max(len(pref_sets), 1)).astype(np.int64)
    lk_pref = (np.asarray(uniq) % max(len(pref_sets), 1)).astype(np.int64)
    L = len(uniq)

    ranks, progs, keys_of_row = [], [], []
    n_listed = np.zeros(L, dtype=np.int64)
    n_eligible = np.zeros(L, dtype=np.int64)
    n_cand = np.zeros(L, dtype=np.int64)
    left_out = np.zeros(L, dtype=np.int64)
    for start in range(0, L, LIST_KEY_BLOCK):
        ks = np.arange(start, min(start + LIST_KEY_BLOCK, L))
        g = lk_score[ks]
        plan = build_lists(S[g], B[g], E[g], key_tier[g], pref_matrix[lk_pref[ks]], data)
        k_idx, p_idx = np.nonzero(plan.rank)
        r = plan.rank[k_idx, p_idx]
        order = np.lexsort((r, k_idx))
        keys_of_row.append(ks[k_idx[order]])
        progs.append(p_idx[order])
        ranks.append(r[order])
        n_listed[ks] = plan.n_listed
        n_eligible[ks] = plan.n_eligible
        n_cand[ks] = plan.n_candidates
        left_out[ks] = ((plan.status != STATUS.index("listed")) & (plan.status != STATUS.index("excluded")) & (plan.status != STATUS.index("beyond_list"))).sum(axis=1)
    row_key = np.concatenate(keys_of_row) if keys_of_row else np.zeros(0, dtype=np.int64)
    row_prog = np.concatenate(progs) if progs else np.zeros(0, dtype=np.int64)
    row_rank = np.concatenate(ranks) if ranks else np.zeros(0, dtype=np.int32)

    # Expand the list keys' rows to applicants (a ragged gather, in applicant order).
    starts = np.zeros(L + 1, dtype=np.int64)
    np.cumsum(n_listed, out=starts[1:])
    lens = n_listed[list_key]
    total = int(lens.sum())
    offsets = np.repeat(starts[list_key] - (np.cumsum(lens) - lens), lens) + np.arange(total)
    who = np.repeat(np.arange(len(apps)), lens)
    g_row = lk_score[row_key[offsets]]
    p_row = row_prog[offsets]
    score = S[g_row, p_row]
    band_codes = B[g_row, p_row]
    pref_row = pref_matrix[lk_pref[row_key[offsets]], p_row]

    ids = apps["profile_id"].astype(str).to_numpy(dtype=object)
    recs = pd.DataFrame(
        {
            "profile_id": _strings(ids, who),
            "rank": row_rank[offsets].astype(np.int64),
            "acgme_id": _strings(data.program_side.acgme_id, p_row),
            "score": score,
            "band": _strings(np.array(BANDS, dtype=object), band_codes),
            "preferred_state": pref_row,
            "published_version": _strings(np.array([data.version], dtype=object), np.zeros(total, dtype=np.int64)),
        }
    )

    # One row per applicant.
    sizes = list_sizes()
    tier_i = key_tier[lk_score[list_key]]
    lo = np.array([sizes[t].min for t in TIERS])[tier_i]
    hi = np.array([sizes[t].max for t in TIERS])[tier_i]
    open_ended = np.array([sizes[t].open_ended for t in TIERS])[tier_i]
    listed = n_listed[list_key]
    band_counts = {
        b: np.bincount(who, weights=(band_codes == BANDS.index(b)), minlength=len(apps)).astype(np.int64)
        for b in MIX_BANDS
    }
    schedule = eras_schedule()
    fee_of = {int(n): schedule.cost(int(n)) for n in np.unique(listed)}
    chance = _chances(data, apps["step2ck_score"])
    applicants = pd.DataFrame(
        {
            "profile_id": ids,
            "risk_tier": apps["risk_tier"].to_numpy(dtype=object),
            "risk_factors": risk["factors"].to_numpy(dtype=object),
            "visa_need": apps["visa_need"].astype(str).to_numpy(dtype=object),
            "list_size_min": lo.astype(np.int64),
            "list_size_max": hi.astype(np.int64),
            "list_size_open_ended": open_ended.astype(bool),
            "programs_eligible": n_eligible[list_key],
            "programs_left_out": left_out[list_key],
            "programs_listed": listed,
            "below_article_size": listed < lo,
            "listed_likely": band_counts["likely"],
            "listed_target": band_counts["target"],
            "listed_reach": band_counts["reach"],
            "preferred_listed": np.bincount(who, weights=pref_row, minlength=len(apps)).astype(np.int64),
            "eras_fee_usd": np.array([fee_of[int(n)] for n in listed], dtype=float),
            "budget_usd": profiles.budgets,
            "p_match": chance["p_match"].to_numpy(dtype=float),
            "p_match_low": chance["p_match_low"].to_numpy(dtype=float),
            "p_match_high": chance["p_match_high"].to_numpy(dtype=float),
            "published_version": data.version,
            "acgme_snapshot": _snapshots(data, "acgme_snapshot"),
            "freida_snapshot": _snapshots(data, "freida_snapshot"),
        }
    )
    log.info("scored %d applicants: %d scoring keys, %d list keys, %d listed rows", len(apps), G, L, len(recs))
    return applicants, recs


def _strings(values: np.ndarray, codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``values[codes]`` as pandas' string dtype, gathered by Arrow (no Python string per row)."""
    return pd.array(pa.array(values, type=pa.large_string()).take(pa.array(codes)), dtype="str")


def _chances(data: PublishedPrograms, step2ck: pd.Series) -> pd.DataFrame:
    """The published curve's row at each applicant's Step 2 CK (per integer score)."""
    cols = ["p_match", "p_match_low", "p_match_high"]
    out = pd.DataFrame(np.nan, index=range(len(step2ck)), columns=cols)
    if data.curve is None:
        return out
    c = data.curve[data.curve["measure"] == "step2ck"].drop_duplicates("value").set_index("value")[cols]
    v = pd.to_numeric(step2ck, errors="coerce").round().reset_index(drop=True)
    for col in cols:
        out[col] = pd.to_numeric(v.map(c[col].astype(float)), errors="coerce").astype(float).to_numpy()
    return out


def score_profiles(profiles: Profiles, source: PublishedPrograms | str | Path | None = None, chunk_size: int = 5000) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``score_chunk`` over consecutive chunks, concatenated: the default runner's result
    without Prefect (used by the bench and to check that chunking changes nothing)."""
    data = source if isinstance(source, PublishedPrograms) else load_published(source)
    parts = [score_chunk(c, data) for c in profiles.chunks(chunk_size)]
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
    ck = np.clip(np.round(rng.normal(232, 14, n)), 190, 280).astype(int)
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
