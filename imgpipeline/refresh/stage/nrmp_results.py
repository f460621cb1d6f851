"""Stage the NRMP program results for Florida (Main Match and Specialties Matching Service,
2020-2026): one row per program code and year, with quota, matched and fill rate.

Quirks handled here: the CSV starts with a UTF-8 byte-order mark; years are wide columns
(``"2026 Quota"``, ``"2026 Matched"``, ...) made long here; one code (``1104040R0``) appears on
two rows whose years do not overlap, which are merged (two rows giving positions for the same
code and year would be an error). The NRMP code is ``IIIISSSTN``: institution (4 digits),
specialty (3 characters; 140 = internal medicine; some Specialties Matching Service codes
use letters, e.g. R02), track letter, track number.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pandas as pd

from imgpipeline.errors import StagingError
from imgpipeline.refresh.land import Snapshot, provenance
from imgpipeline.refresh.stage.staged import Staged
from imgpipeline.tables import TABLES

log = logging.getLogger(__name__)

FL = "FL"
IM_SPECIALTY = "140"
# NRMP track letters (the code's 8th character).
TRACKS = {
    "C": "categorical",
    "P": "preliminary",
    "A": "advanced",
    "R": "physician",
    "M": "primary",
    "F": "fellowship",
}
OTHER_TRACK = "other"
TEXT = {
    "Table": "match",
    "Sponsoring Institution": "sponsor",
    "Sponsoring Institution Cleaned": "sponsor_cleaned",
    "SNHAF": "snhaf",
    "City": "sponsor_city",
    "City Cleaned": "site_city",
    "Specialty": "program_label",
    "Specialty Cleaned": "specialty",
    "Program Code": "program_code",
}
_YEAR_COL = re.compile(r"^(\d{4}) (Quota|Matched)$")


def read_results_csv(path: Path) -> pd.DataFrame:
    """The raw CSV as text; ``utf-8-sig`` drops the byte-order mark from the first header."""
    try:
        raw = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise StagingError(f"{path.name}: not a readable NRMP results CSV: {exc}") from exc
    missing = [c for c in TEXT if c not in raw.columns]
    if missing:
        raise StagingError(f"{path.name}: NRMP results lack columns {missing}")
    if not any(_YEAR_COL.match(c) for c in raw.columns):
        raise StagingError(f"{path.name}: no '<year> Quota' / '<year> Matched' columns")
    return raw


def track_of(code: str) -> str:
    return TRACKS.get(code[7], OTHER_TRACK) if len(code) == 9 else OTHER_TRACK


def _count(s: pd.Series, col: str, lines: pd.Series) -> pd.Series:
    text = s.str.strip()
    bad = ~text.str.fullmatch(r"\d+")
    if bad.any():
        where = ", ".join(f"line {ln}: {v!r}" for ln, v in zip(lines[bad], s[bad], strict=True))
        raise StagingError(f"NRMP results column {col!r}: not a count at {where}")
    return text.astype("int64")


def parse_nrmp_results(path: Path) -> pd.DataFrame:
    """The staged ``nrmp_program_results`` table (tidy: program code x year)."""
    return tidy_results(read_results_csv(path))


def tidy_results(raw: pd.DataFrame) -> pd.DataFrame:
    """The raw CSV's wide years made long (program code x year), repeated codes merged."""
    raw = raw.assign(source_row=raw.index + 2)
    text = raw[list(TEXT)].rename(columns=TEXT).apply(lambda s: s.str.strip())
    years = sorted({int(m.group(1)) for c in raw.columns if (m := _YEAR_COL.match(c))})
    frames = []
    for year in years:
        frames.append(
            text.assign(
                source_row=raw["source_row"],
                year=year,
                quota=_count(raw[f"{year} Quota"], f"{year} Quota", raw["source_row"]),
                matched=_count(raw[f"{year} Matched"], f"{year} Matched", raw["source_row"]),
            )
        )
    long = pd.concat(frames, ignore_index=True)
    long = _merge_repeated_codes(long)
    code = long["program_code"]
    long["institution_code"] = code.str[:4]
    long["specialty_code"] = code.str[4:7]
    long["track_code"] = code.str[7]
    long["track"] = code.map(track_of)
    long["is_internal_medicine"] = long["specialty_code"].eq(IM_SPECIALTY)
    long["state"] = FL
    long["snhaf"] = long["snhaf"].eq("SNHAF")
    long["offered"] = long["quota"] > 0
    long["fill_rate"] = (long["matched"] / long["quota"].where(long["quota"] > 0)).round(4)
    long["unfilled"] = (long["quota"] - long["matched"]).clip(lower=0)
    return long.sort_values(["program_code", "year"]).reset_index(drop=True)


def _merge_repeated_codes(long: pd.DataFrame) -> pd.DataFrame:
    """A code on several rows: keep, per year, the one row with positions; rows that all
    have none collapse to one; two rows with positions in one year is an error."""
    dup = long.duplicated(["program_code", "year"], keep=False)
    if not dup.any():
        return long
    keep = long[~dup]
    merged = []
    for (code, year), grp in long[dup].groupby(["program_code", "year"], sort=False):
        active = grp[(grp["quota"] > 0) | (grp["matched"] > 0)]
        if len(active) > 1:
            raise StagingError(
                f"NRMP results: code {code} has {len(active)} rows with positions in {year} "
                f"(lines {active['source_row'].tolist()})"
            )
        merged.append(active if len(active) else grp.iloc[[0]])
    codes = sorted(long.loc[dup, "program_code"].unique())
    log.info("NRMP results: merged repeated rows of codes %s", codes)
    return pd.concat([keep, *merged], ignore_index=True)


def repeated_codes(raw: pd.DataFrame) -> list[str]:
    """Codes the raw file lists on more than one row (for the run summary)."""
    codes = raw["Program Code"].str.strip()
    return sorted(codes[codes.duplicated()].unique())


def build_nrmp_program_results(staged: pd.DataFrame, snapshot: Snapshot) -> pd.DataFrame:
    """The published ``nrmp_program_results``: the staged long table with its provenance."""
    out = staged.assign(**provenance("nrmp", snapshot))
    return TABLES["nrmp_program_results"].coerce(out)


STAGED_RESULTS = "nrmp_results_long"  # the tidy frame build_nrmp_program_results finishes


def stage_nrmp_program_results_fl(snap: Snapshot) -> Staged:
    """The tidy NRMP results (program code x year; published by ``build_nrmp_program_results``),
    the file read once; codes it lists on several rows are merged by year and named in a note."""
    raw = read_results_csv(snap.local_path)
    merged = repeated_codes(raw)
    notes = [
        f"{snap.snapshot_id}: NRMP codes on several rows, merged by year (a row without positions "
        f"gives way to the one with them): {', '.join(merged)}"
    ] if merged else []
    return Staged(snap.source, {STAGED_RESULTS: tidy_results(raw)}, notes=notes)
