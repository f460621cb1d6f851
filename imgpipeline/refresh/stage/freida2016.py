"""Stage the 2016 FREIDA scrape (all specialties, ``result.csv`` inside a zip): the IM rows'
score minimums, visa and ECFMG qualifications and NRMP codes.

The file is ten years old. It is staged as dated evidence of what programs stated in
February 2016, never as their current policy. Quirks handled here:

- the CSV is latin-1, but a few cells carry UTF-8 non-breaking spaces (bytes ``C2 A0``) that
  latin-1 decodes to ``"Â\\xa0"``; both forms become a plain space;
- headers are ``"Section - Group - Field"``; the columns used are found by their field
  wording, so a renamed section fails loudly (StagingError) instead of staging blanks;
- 91 IM pages carry only the "Basic Information" section: their score and visa fields are
  missing, flagged by ``general_info_present = false``;
- answers are ``Yes`` / ``No`` / ``No answer`` / blank: only ``Yes`` and ``No`` are values.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from pathlib import Path

import pandas as pd

from imgpipeline.errors import StagingError
from imgpipeline.refresh.land import Snapshot, provenance
from imgpipeline.refresh.stage.staged import Staged
from imgpipeline.tables import TABLES
from imgpipeline.tables.program_minimums_2016 import STALE

log = logging.getLogger(__name__)

MEMBER = "result.csv"
IM_PREFIX = "140"
# Field wording of the columns used (the header's last " - " part, or a longer tail where the
# last part repeats across groups), mapped to staged names.
COLUMNS = {
    "Program Id": "acgme_id",
    "Program Title": "program_title",
    "General Information - Primary teaching site": "primary_teaching_site",
    "General Information - Program best described as": "program_type_2016",
    "Step 1 Minimum Score": "step1_min_score",
    "Step 1 Required": "step1_required",
    "Step 2 Minimum Score": "step2_min_score",
    "Step 2 Required": "step2_required",
    "Average Step 1 score (range) of current residents/fellows": "avg_step1_band",
    "Current ECFMG certification": "lists_ecfmg_certification",
    "J-1 visa": "lists_j1_visa",
    "H1-B visa": "lists_h1b_visa",
    "F-1 visa": "lists_f1_visa",
    "General Information - Offers preliminary positions": "offers_preliminary_2016",
    "Participates in the Main Match of the National Resident Matching Program (NRMP)": (
        "nrmp_main_match"
    ),
    "General Information - Total program size - Year 1": "first_year_positions_2016",
}
SCORES = ("step1_min_score", "step2_min_score")
FLAGS = (
    "step1_required",
    "step2_required",
    "lists_ecfmg_certification",
    "lists_j1_visa",
    "lists_h1b_visa",
    "lists_f1_visa",
    "offers_preliminary_2016",
)
# Cells that mean "the page gives no value".
NO_VALUE = {"", "no answer", "n/a", "na", "none", "-"}
_NRMP_CODE = re.compile(r"\b(\d{4}\d{3}[A-Z]\d)\b")
_BAND = re.compile(r"^\s*(?:(\d{3})\s*-\s*(\d{3})|>\s*(\d{3})|<\s*(\d{3}))\s*$")
_INT = re.compile(r"^\s*(\d{1,4})\s*$")


def read_result_csv(path: Path) -> pd.DataFrame:
    """``result.csv`` from the zip as text (latin-1), all cells kept, blanks as ``""``."""
    try:
        with zipfile.ZipFile(path) as zf:
            if MEMBER not in zf.namelist():
                raise StagingError(f"{path.name}: no {MEMBER} inside (has {zf.namelist()[:5]})")
            raw = zf.read(MEMBER)
    except zipfile.BadZipFile as exc:
        raise StagingError(f"{path.name}: not a zip file: {exc}") from exc
    try:
        df = pd.read_csv(io.BytesIO(raw), encoding="latin-1", dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError) as exc:
        raise StagingError(f"{path.name}/{MEMBER}: not a readable CSV: {exc}") from exc
    return df.apply(_clean_text)


def _clean_text(s: pd.Series) -> pd.Series:
    """Mis-decoded and plain non-breaking spaces to spaces, runs of spaces collapsed."""
    return (
        s.str.replace("\u00c2\u00a0", " ", regex=False)
        .str.replace("\u00a0", " ", regex=False)
        .str.replace(r"\s+", " ", regex=True)
        .str.strip()
    )


def find_columns(columns: list[str]) -> dict[str, str]:
    """Map each wanted field to the one header that ends with it (or equals it)."""
    found: dict[str, str] = {}
    for field, name in COLUMNS.items():
        hits = [c for c in columns if c == field or c.endswith(" - " + field)]
        if len(hits) != 1:
            raise StagingError(
                f"FREIDA 2016: expected one column for {field!r}, found {len(hits)}: {hits}"
            )
        found[hits[0]] = name
    return found


def parse_score(value: object, where: str) -> int | None:
    """A USMLE score cell: ``None`` for no value; an integer for a plain number; anything
    else is an error naming the cell (a changed format must not pass as missing)."""
    text = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    if text.strip().lower() in NO_VALUE:
        return None
    m = _INT.match(text)
    if not m:
        raise StagingError(f"FREIDA 2016 {where}: not a score: {text!r}")
    return int(m.group(1))


def parse_flag(value: object, where: str) -> bool | None:
    """``Yes`` / ``No``; no answer is missing; anything else is an error naming the cell."""
    text = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    low = text.strip().lower()
    if low in NO_VALUE:
        return None
    if low == "yes":
        return True
    if low == "no":
        return False
    raise StagingError(f"FREIDA 2016 {where}: not Yes/No: {text!r}")


def parse_band(value: object) -> tuple[str | None, int | None, int | None]:
    """An average-score range: ``"221 - 240"`` -> (band, 221, 240); ``"> 240"`` -> (band,
    241, None); ``"< 200"`` -> (band, None, 199); no value -> all missing."""
    text = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    if text.strip().lower() in NO_VALUE:
        return None, None, None
    m = _BAND.match(text)
    if not m:
        raise StagingError(f"FREIDA 2016: not a score range: {text!r}")
    lo, hi, gt, lt = m.groups()
    band = re.sub(r"\s+", " ", text.strip())
    if lo:
        return band, int(lo), int(hi)
    if gt:
        return band, int(gt) + 1, None
    return band, None, int(lt) - 1


def parse_nrmp_codes(value: object) -> tuple[bool | None, list[str]]:
    """``"Yes Code(s): 1292140C0, 1292140P0,"`` -> (True, ["1292140C0", "1292140P0"])."""
    text = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    low = text.strip().lower()
    if not low:
        return None, []
    flag = True if low.startswith("yes") else False if low.startswith("no") else None
    return flag, list(dict.fromkeys(_NRMP_CODE.findall(text)))


def parse_freida_2016(path: Path) -> pd.DataFrame:
    """The staged ``freida_2016_programs`` table: one row per IM program of the 2016 scrape
    (``Program Id`` starting 140), read directly from the landed zip."""
    raw = read_result_csv(path)
    cols = find_columns(list(raw.columns))
    # CSV line of each row (header = line 1), so a failure names the row.
    raw = raw.assign(_line=raw.index + 2)
    im = raw[raw[_col(cols, "acgme_id")].str.startswith(IM_PREFIX)].rename(columns=cols)
    out = pd.DataFrame(index=im.index)
    out["acgme_id"] = im["acgme_id"]
    out["source_row"] = im["_line"]
    out["program_title"] = im["program_title"].replace("", None)
    out["primary_teaching_site"] = im["primary_teaching_site"].replace("", None)
    out["program_type_2016"] = im["program_type_2016"].replace("", None)
    for name in SCORES:
        out[name] = [
            parse_score(v, f"line {line} {name}")
            for v, line in zip(im[name], im["_line"], strict=True)
        ]
    for name in FLAGS:
        out[name] = [
            parse_flag(v, f"line {line} {name}")
            for v, line in zip(im[name], im["_line"], strict=True)
        ]
    bands = im["avg_step1_band"].map(parse_band)
    out["avg_step1_band"] = bands.map(lambda b: b[0])
    out["avg_step1_low"] = bands.map(lambda b: b[1])
    out["avg_step1_high"] = bands.map(lambda b: b[2])
    out["first_year_positions_2016"] = [
        parse_score(v, f"line {line} first_year_positions_2016")
        for v, line in zip(im["first_year_positions_2016"], im["_line"], strict=True)
    ]
    match = im["nrmp_main_match"].map(parse_nrmp_codes)
    out["in_nrmp_main_match_2016"] = match.map(lambda m: m[0])
    out["nrmp_codes_2016"] = match.map(lambda m: m[1])
    # The "General Information" section is what holds scores and visas; 91 IM pages lack it.
    general = [c for c in raw.columns if c.startswith("General Information - ")]
    gi = raw.loc[im.index, general]
    out["general_info_present"] = gi.ne("").any(axis=1)
    log.info(
        "FREIDA 2016: %d IM rows of %d, %d with the General Information section",
        len(out),
        len(raw),
        int(out["general_info_present"].sum()),
    )
    return out.reset_index(drop=True)


def _col(cols: dict[str, str], name: str) -> str:
    return next(k for k, v in cols.items() if v == name)


def build_minimums_2016(
    staged: pd.DataFrame, programs: pd.DataFrame, snapshot: Snapshot
) -> pd.DataFrame:
    """The published ``program_minimums_2016``: every 2016 IM record, with ``on_acgme_list``
    and the current name, city and state where the id is still accredited.

    ``programs`` is the published ``programs`` frame (its ACGME provenance columns are
    carried over); ``snapshot`` is the landed 2016 zip. Every row is marked stale and carries
    its age against the ACGME list's as-of date.
    """
    table = TABLES["program_minimums_2016"]
    current = programs[["acgme_id", "program_name", "city", "state"]]
    acgme_prov = programs[["acgme_snapshot", "acgme_as_of", "acgme_sha256"]].drop_duplicates()
    if len(acgme_prov) != 1:
        raise ValueError(f"programs carries {len(acgme_prov)} ACGME snapshots; expected one")
    out = staged.rename(columns={"program_title": "program_title_2016"}).merge(
        current, on="acgme_id", how="left", indicator=True
    )
    out["on_acgme_list"] = out.pop("_merge").eq("both")
    out["evidence_status"] = STALE
    acgme_as_of = pd.Timestamp(str(acgme_prov["acgme_as_of"].iloc[0]))
    age = (acgme_as_of - pd.Timestamp(snapshot.as_of)).days / 365.25
    out["evidence_age_years"] = round(age, 2)
    out = out.assign(**provenance("freida_2016", snapshot))
    for col in acgme_prov.columns:
        out[col] = acgme_prov[col].iloc[0]
    log.info(
        "program_minimums_2016: %d records, %d still on the ACGME list",
        len(out),
        int(out["on_acgme_list"].sum()),
    )
    return table.coerce(out[[c for c in table.column_names if c in out.columns]])


def unmatched_2016(minimums: pd.DataFrame) -> pd.DataFrame:
    """``unmatched_records`` rows for the 2016 IM ids no longer on the ACGME list (they stay
    in ``program_minimums_2016`` with ``on_acgme_list`` = false)."""
    gone = minimums[~minimums["on_acgme_list"].astype(bool)]
    rows = pd.DataFrame(
        {
            "source": "freida_2016",
            "record_id": gone["acgme_id"],
            "missing_from": "acgme_programs",
            "program_name": gone["program_title_2016"],
            "city": None,
            "state": None,
            "note": "2016 FREIDA IM page whose id is not on the current ACGME list (closed or "
            "renumbered): kept in program_minimums_2016 with on_acgme_list = false",
            "snapshot": gone["freida_2016_snapshot"],
        }
    )
    return TABLES["unmatched_records"].coerce(rows)


def stage_freida_2016(snap: Snapshot) -> Staged:
    """The staged ``freida_2016_programs`` table of the landed 2016 FREIDA result."""
    frame = TABLES["freida_2016_programs"].coerce(parse_freida_2016(snap.local_path))
    return Staged(snap.source, {"freida_2016_programs": frame})
