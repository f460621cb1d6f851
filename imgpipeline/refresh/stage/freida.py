"""Stage the AMA FREIDA IM program pages (the 2025 scrapes).

Typed columns, percentages as fractions, visa lists normalised from both serialisations the
file holds, blanks kept as missing. Program-director and coordinator names, e-mails and phones
are never read; contact data inside free text is masked.
"""

from __future__ import annotations

import ast
import csv
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from imgpipeline.declare import EMAIL_PATTERN, PHONE_PATTERN
from imgpipeline.errors import StagingError
from imgpipeline.refresh.land import Snapshot
from imgpipeline.refresh.stage.staged import Staged
from imgpipeline.tables import TABLES

# Personal contact fields of the FREIDA page: dropped at ingest, never staged.
PERSONAL_PREFIXES = ("program_director_", "contact_")
# Columns read as they are, renamed.
RENAMES = {
    "program_id": "acgme_id",
    "program_name_suffix": "program_name",
    "city": "city",
    "state": "state",
    "source_url": "source_url",
    "website": "website",
    "specialty_title": "specialty_title",
    "affiliated_us_government": "affiliated_us_government",
    "program_best_described_as": "program_type_stated",
}
NUMBERS = {
    "accredited_training_length": "accredited_training_length",
    "required_training_length": "required_training_length",
    "first_year_positions": "first_year_positions",
    "interviews_conducted_last_year": "interviews_last_year",
    "avg_hours_on_duty_y1": "avg_hours_on_duty_y1",
}
PERCENTS = {"pct_img": "img_share", "pct_do": "do_share", "pct_usmd": "usmd_share"}
FLAGS = {
    "accepting_applications_2025_2026": "accepting_2025_2026",
    "accepting_applications_2026_2027": "accepting_2026_2027",
    "participates_in_eras": "participates_in_eras",
}
VISA_CODES = {"J-1 through ECFMG": "J-1", "J-1": "J-1", "H-1B": "H-1B", "F-1": "F-1"}
VISA_ORDER = ("J-1", "H-1B", "F-1")
SOURCE = "freida_programs"
_EMAIL = re.compile(EMAIL_PATTERN)
_PHONE = re.compile(PHONE_PATTERN)
_ACADEMIC_YEAR = re.compile(r"^\s*(\d{4})\s*-\s*(\d{4})\s*$")


def read_freida_csv(path: Path) -> pd.DataFrame:
    """The raw CSV as text, blanks as missing, personal contact columns dropped at once.

    Every record must have the header's number of fields: a short record (a file cut off
    mid-row, a stray line break) is refused naming its line, how many fields it has and the
    last column it reached. The line each row starts on is kept in ``attrs["source_lines"]``
    (cells may span lines) for later messages."""
    lines = record_lines(path, SOURCE)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise StagingError(f"{SOURCE}: {path.name}: not a readable FREIDA CSV: {exc}") from exc
    personal = [c for c in raw.columns if c.startswith(PERSONAL_PREFIXES)]
    raw = raw.drop(columns=personal)
    if len(lines) == len(raw):
        raw.attrs["source_lines"] = lines
    return raw


def record_lines(path: Path, source: str) -> list[int]:
    """The line each data record of a CSV starts on (header = line 1), refusing a file that
    is not UTF-8 or whose records do not all have the header's number of fields."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise StagingError(f"{source}: {path.name}: the file is empty")
            starts: list[int] = []
            start = reader.line_num + 1
            for row in reader:
                if len(row) != len(header) and row:
                    last = header[len(row) - 1] if 0 < len(row) <= len(header) else "?"
                    at_end = next(reader, None) is None
                    raise StagingError(
                        f"{source}: {path.name} line {start}: {len(row)} of {len(header)} columns, "
                        f"cut off in column {last!r}"
                        + (" at the end of the file (a truncated download?)" if at_end else "")
                    )
                starts.append(start)
                start = reader.line_num + 1
    except UnicodeDecodeError as exc:
        raise StagingError(f"{source}: {path.name}: not UTF-8 text (byte offset {exc.start})") from exc
    except csv.Error as exc:
        raise StagingError(f"{source}: {path.name} line {reader.line_num}: not a readable CSV record: {exc}") from exc
    return starts


def parse_list(text: object) -> list[str]:
    """A list cell in either serialisation the scrape wrote: ``['J-1 through ECFMG', 'H-1B']``
    or ``[{'value': 'H-1B', 'label': 'H-1B visa'}]``."""
    if text is None or (isinstance(text, float) and pd.isna(text)) or text is pd.NA:
        return []
    try:
        items = ast.literal_eval(str(text))
    except (ValueError, SyntaxError) as exc:
        cut = " (cut off: no closing ']')" if str(text).lstrip().startswith("[") and not str(text).rstrip().endswith("]") else ""
        raise StagingError(f"not a list{cut}: {str(text)[:80]!r}") from exc
    if not isinstance(items, list):
        raise StagingError(f"not a list: {text!r}")
    return [str(i["value"]) if isinstance(i, dict) else str(i) for i in items]


def normalise_visas(text: object) -> list[str]:
    """Visa types as sorted codes (``["J-1", "H-1B"]``); ``[]`` for an empty list. Unknown
    labels are kept verbatim so validation can flag them."""
    codes = {VISA_CODES.get(v, v) for v in parse_list(text)}
    known = [c for c in VISA_ORDER if c in codes]
    return known + sorted(codes - set(VISA_ORDER))


def mask_contacts(text: object) -> object:
    """Free text with e-mail addresses and phone numbers masked: they are personal data."""
    if not isinstance(text, str):
        return text
    return _PHONE.sub("[phone removed]", _EMAIL.sub("[email removed]", text))


def _flag(s: pd.Series) -> pd.Series:
    return s.map({"True": True, "False": False, "true": True, "false": False}).astype("boolean")


def parse_freida(raw: pd.DataFrame) -> pd.DataFrame:
    """The staged ``freida_programs`` table from the raw CSV frame.

    A column the snapshot lacks is left out (the validation gate names it), except
    ``acgme_first_academic_year``, which the declaration marks as added in 2025-05-26.
    """
    out = pd.DataFrame(index=raw.index)
    # The CSV line a row came from (header = line 1), so a failure can name the row.
    out["source_row"] = raw.index + 2
    for src, dst in RENAMES.items():
        if src in raw:
            out[dst] = raw[src].str.strip()
    for src, dst in NUMBERS.items():
        if src in raw:
            out[dst] = pd.to_numeric(raw[src], errors="coerce")
    for src, dst in PERCENTS.items():
        if src in raw:
            # FREIDA prints one decimal: round away float noise (2.3 / 100 -> 0.023).
            out[dst] = (pd.to_numeric(raw[src], errors="coerce") / 100.0).round(6)
    for src, dst in FLAGS.items():
        if src in raw:
            out[dst] = _flag(raw[src])
    if "visa_statuses_accepted" in raw:
        visas = _map_cells(raw, out, "visa_statuses_accepted", normalise_visas)
        out["visas_listed"] = visas
        for code, col in (("J-1", "lists_j1"), ("H-1B", "lists_h1b"), ("F-1", "lists_f1")):
            out[col] = visas.map(lambda v, c=code: c in v).astype("boolean")
    if "program_start_dates" in raw:
        out["start_months"] = _map_cells(raw, out, "program_start_dates", lambda t: list(dict.fromkeys(parse_list(t))))
    if "acgme_first_academic_year" in raw:
        years = raw["acgme_first_academic_year"].str.extract(_ACADEMIC_YEAR)
        out["acgme_first_year"] = pd.to_numeric(years[0], errors="coerce")
    if "special_features_text" in raw:
        out["special_features_text"] = raw["special_features_text"].map(mask_contacts)
    if "data_last_updated" in raw:
        out["data_last_updated"] = pd.to_datetime(raw["data_last_updated"], utc=True)
    _refuse_unreadable(raw, out)
    return out


def _map_cells(raw: pd.DataFrame, out: pd.DataFrame, col: str, fn: Callable[[object], object]) -> pd.Series:
    """``raw[col].map(fn)``; a cell ``fn`` cannot read stops staging naming the source, the
    line, the column and the program."""
    lines = raw.attrs.get("source_lines") or list(out["source_row"])
    values = []
    for i, cell in enumerate(raw[col]):
        try:
            values.append(fn(cell))
        except StagingError as exc:
            pid = raw["program_id"].iloc[i] if "program_id" in raw else "?"
            raise StagingError(f"{SOURCE}: line {lines[i]}, column {col!r} (program {pid}): {exc}") from None
    return pd.Series(values, index=raw.index, dtype=object)


def _refuse_unreadable(raw: pd.DataFrame, staged: pd.DataFrame) -> None:
    """A filled cell that staging could not read (a number, percentage, flag or academic year
    in another form) would become missing, as if FREIDA were blank: stop instead, naming the
    column, the rows and the values."""
    read_as = {
        **NUMBERS,
        **PERCENTS,
        **FLAGS,
        "acgme_first_academic_year": "acgme_first_year",
    }
    problems = []
    for src, dst in read_as.items():
        if src not in raw or dst not in staged:
            continue
        lost = raw[src].notna() & raw[src].str.strip().ne("") & staged[dst].isna()
        if lost.any():
            rows = ", ".join(
                f"{pid} (source_row {row}): {value!r}"
                for pid, row, value in zip(
                    raw.loc[lost, "program_id"] if "program_id" in raw else raw.index[lost],
                    staged.loc[lost, "source_row"],
                    raw.loc[lost, src],
                    strict=True,
                )
            )
            problems.append(f"column {src!r}: {int(lost.sum())} values that are not readable as {dst}: {rows}")
    if problems:
        raise StagingError("freida_programs: " + "; ".join(problems))


def collapse_exact_duplicates(
    df: pd.DataFrame, key: str, ignore: tuple[str, ...] = ("source_row",)
) -> tuple[pd.DataFrame, list[str]]:
    """Drop rows that repeat another row exactly (``ignore`` aside), returning the repeated
    keys for the run summary. Rows sharing a key with different values stay, for validation
    to reject."""
    compared = df[[c for c in df.columns if c not in ignore]]
    hashable = compared.map(lambda v: tuple(v) if isinstance(v, list) else v)  # list columns
    dup = hashable.duplicated(keep="first")
    return df[~dup].reset_index(drop=True), sorted(df.loc[dup, key].astype(str).unique())


def stage_freida_programs(snap: Snapshot) -> Staged:
    """The staged ``freida_programs`` table of a landed FREIDA export, rows the file repeats
    exactly collapsed into one (their ids in ``collapsed``)."""
    staged, repeated = collapse_exact_duplicates(parse_freida(read_freida_csv(snap.local_path)), "acgme_id")
    frame = TABLES["freida_programs"].coerce(staged, as_of=snap.as_of)
    return Staged(snap.source, {"freida_programs": frame}, collapsed=repeated)
