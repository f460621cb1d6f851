"""The 2016 FREIDA scrape: staging from the real zip, checked cell by cell against the raw
CSV, and the published historical minimums joined to the current ACGME list."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from imgpipeline.errors import StagingError, ValidationFailed
from imgpipeline.refresh.land import Snapshot, land_snapshot
from imgpipeline.refresh.programs import build_programs
from imgpipeline.refresh.stage.freida2016 import (
    build_minimums_2016,
    parse_band,
    parse_flag,
    parse_freida_2016,
    parse_nrmp_codes,
    parse_score,
    unmatched_2016,
)
from imgpipeline.settings import get_settings
from imgpipeline.tables import TABLES

STAGED = TABLES["freida_2016_programs"]
MINIMUMS = TABLES["program_minimums_2016"]


@pytest.fixture(scope="module")
def zip_path(data_dir: Path) -> Path:
    return data_dir / "freida" / "all-specialties_2016-02-28.zip"


@pytest.fixture(scope="module")
def raw_rows(zip_path: Path) -> tuple[list[str], list[list[str]]]:
    """The CSV read by the test itself, with the csv module: header and rows."""
    with zipfile.ZipFile(zip_path) as zf:
        rows = list(csv.reader(io.TextIOWrapper(zf.open("result.csv"), encoding="latin-1")))
    return rows[0], rows[1:]


@pytest.fixture(scope="module")
def snaps(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> dict[str, Snapshot]:
    base = tmp_path_factory.mktemp("freida2016")
    settings = get_settings(source_dir=str(data_dir), raw_dir=base / "raw", processed_dir=base / "p")
    return {n: land_snapshot(n, settings) for n in ("acgme_programs", "freida_programs", "freida_2016")}


@pytest.fixture(scope="module")
def staged(staged_freida_2016: pd.DataFrame) -> pd.DataFrame:
    # Read from a landed snapshot, as the flow does (conftest's, shared with other modules).
    return staged_freida_2016


@pytest.fixture(scope="module")
def programs(staged_acgme, staged_freida, snaps) -> pd.DataFrame:
    programs, _ = build_programs(
        staged_acgme, staged_freida, snaps["acgme_programs"], snaps["freida_programs"]
    )
    return programs


@pytest.fixture(scope="module")
def minimums(staged, programs, snaps) -> pd.DataFrame:
    return build_minimums_2016(staged, programs, snaps["freida_2016"])


def raw_cell(header: list[str], row: list[str], field: str) -> str:
    (i,) = [k for k, c in enumerate(header) if c == field or c.endswith(" - " + field)]
    return row[i]


# ---- staging --------------------------------------------------------------------------------


def test_stages_the_415_im_rows_of_10260(staged: pd.DataFrame, raw_rows) -> None:
    header, rows = raw_rows
    assert len(header) == 115 and len(rows) == 10260
    raw_im = [r[header.index("Program Id")] for r in rows if r[header.index("Program Id")].startswith("140")]
    assert len(staged) == len(raw_im) == 415
    assert sorted(staged["acgme_id"]) == sorted(raw_im)
    assert staged["acgme_id"].is_unique
    # 91 pages carry only the Basic Information section: no score or visa fields.
    assert int((~staged["general_info_present"]).sum()) == 91
    assert staged.loc[~staged["general_info_present"], ["step1_min_score", "lists_j1_visa"]].isna().all().all()


@pytest.mark.parametrize(
    ("acgme_id", "expected"),
    [
        # Each checked by hand against result.csv (line given).
        (  # line 6108
            "1403831350",
            dict(step1_min_score=220, step1_required=True, step2_min_score=220, step2_required=True,
                 avg_step1_band="201 - 220", avg_step1_low=201, avg_step1_high=220,
                 lists_ecfmg_certification=True, lists_j1_visa=True, lists_h1b_visa=False,
                 lists_f1_visa=False, nrmp_codes_2016=["1585140C0", "1585140P0"]),
        ),
        (  # line 6488, NYU: Step 2 minimum blank, not required
            "1403521292",
            dict(step1_min_score=210, step1_required=True, step2_min_score=None, step2_required=False,
                 avg_step1_band="221 - 240", lists_j1_visa=True, lists_h1b_visa=True, lists_f1_visa=False),
        ),
        (  # line 6132, Cleveland Clinic Florida
            "1401121528",
            dict(step1_min_score=210, step2_min_score=220, lists_h1b_visa=True,
                 nrmp_codes_2016=["1383140C0", "1383140P0", "1383140P1"]),
        ),
        (  # line 6278: "No answer" / "No Answer" cells stay missing
            "1400512060",
            dict(step1_min_score=200, step2_min_score=None, step2_required=None, avg_step1_band=None,
                 lists_h1b_visa=None, lists_f1_visa=True, lists_j1_visa=True),
        ),
        (  # line 6106: average band "No answer"
            "1402512186",
            dict(step1_min_score=210, step2_min_score=210, avg_step1_band=None, avg_step1_low=None,
                 lists_j1_visa=True, lists_h1b_visa=False),
        ),
    ],
)
def test_values_match_the_raw_csv(staged: pd.DataFrame, acgme_id: str, expected: dict) -> None:
    row = staged.set_index("acgme_id").loc[acgme_id]
    for col, want in expected.items():
        got = row[col]
        if want is None:
            assert pd.isna(got), f"{acgme_id} {col}: {got!r} should be missing"
        else:
            assert got == want, f"{acgme_id} {col}: {got!r} != {want!r}"


def test_scores_agree_with_the_raw_csv_everywhere(staged: pd.DataFrame, raw_rows) -> None:
    """Every IM row's Step minimums equal the raw cell (blank = missing)."""
    header, rows = raw_rows
    by_id = staged.set_index("acgme_id")
    for r in rows:
        pid = r[header.index("Program Id")]
        if not pid.startswith("140"):
            continue
        for field, col in (("Step 1 Minimum Score", "step1_min_score"), ("Step 2 Minimum Score", "step2_min_score")):
            cell = raw_cell(header, r, field)
            got = by_id.at[pid, col]
            assert (pd.isna(got) and cell == "") or str(got) == cell, (pid, col, cell, got)


def test_mis_decoded_spaces_are_cleaned(staged: pd.DataFrame, raw_rows) -> None:
    header, rows = raw_rows
    cells = [raw_cell(header, r, "Participates in the Main Match of the National Resident Matching Program (NRMP)") for r in rows]
    assert any("\u00c2\u00a0" in c for c in cells)  # the quirk is real
    assert not staged["nrmp_codes_2016"].explode().dropna().str.contains("\u00c2|\u00a0").any()
    assert int(staged["nrmp_codes_2016"].map(len).gt(0).sum()) == 313


def test_staged_suite_passes_on_real_data(staged: pd.DataFrame) -> None:
    from imgpipeline.refresh.validate import validate_frames

    (report,) = validate_frames([(staged, STAGED, "freida_2016")])
    assert report.rows == 415 and report.success


def test_out_of_range_score_fails_validation(staged: pd.DataFrame) -> None:
    from imgpipeline.refresh.validate import validate_frames

    bad = staged.copy()
    bad.loc[bad["acgme_id"] == "1403831350", "step1_min_score"] = 350
    with pytest.raises(ValidationFailed) as exc:
        validate_frames([(bad, STAGED, "freida_2016")])
    (failure,) = exc.value.failures
    assert failure.column == "step1_min_score" and "1403831350" in failure.rows[0]


# ---- parsing, fixtures written in the real format --------------------------------------------


def write_zip(path: Path, header: list[str], rows: list[list[str]], member: str = "result.csv") -> Path:
    buf = io.StringIO()
    csv.writer(buf).writerows([header, *rows])
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(member, buf.getvalue().encode("latin-1"))
    return path


def test_a_non_numeric_score_is_an_error_naming_the_line(tmp_path: Path, raw_rows) -> None:
    header, rows = raw_rows
    im = [list(r) for r in rows if r[header.index("Program Id")] == "1403831350"]
    i = [k for k, c in enumerate(header) if c.endswith("Step 1 Minimum Score")][0]
    im[0][i] = "22O"
    with pytest.raises(StagingError, match=r"line 2 step1_min_score: not a score: '22O'"):
        parse_freida_2016(write_zip(tmp_path / "x.zip", header, im))


def test_a_zip_without_result_csv_is_refused(tmp_path: Path, raw_rows) -> None:
    header, rows = raw_rows
    with pytest.raises(StagingError, match="no result.csv"):
        parse_freida_2016(write_zip(tmp_path / "x.zip", header, rows[:2], member="other.csv"))


def test_a_renamed_field_is_refused(tmp_path: Path, raw_rows) -> None:
    header, rows = raw_rows
    renamed = [c.replace("Step 2 Minimum Score", "Step 2 CK Minimum") for c in header]
    with pytest.raises(StagingError, match="Step 2 Minimum Score"):
        parse_freida_2016(write_zip(tmp_path / "x.zip", renamed, rows[:2]))


@given(st.integers(min_value=0, max_value=999))
def test_parse_score_reads_plain_numbers(n: int) -> None:
    assert parse_score(str(n), "t") == n
    assert parse_score(f" {n} ", "t") == n


@pytest.mark.parametrize("cell", ["", "No answer", "No Answer", "n/a", None])
def test_parse_score_no_value_is_missing(cell) -> None:
    assert parse_score(cell, "t") is None


def test_parse_flag_and_band_and_codes() -> None:
    assert parse_flag("Yes", "t") is True and parse_flag("No", "t") is False
    assert parse_flag("No Answer", "t") is None
    with pytest.raises(StagingError):
        parse_flag("Maybe", "t")
    assert parse_band("221 - 240") == ("221 - 240", 221, 240)
    assert parse_band("> 240") == ("> 240", 241, None)
    assert parse_band("< 200") == ("< 200", None, 199)
    assert parse_band("No answer") == (None, None, None)
    assert parse_nrmp_codes("Yes Code(s): 3050140P1, 3050140P0, 3050140C0,") == (
        True,
        ["3050140P1", "3050140P0", "3050140C0"],
    )
    assert parse_nrmp_codes("No Code(s):") == (False, [])


# ---- published minimums -------------------------------------------------------------------


def test_minimums_keep_every_2016_record_and_flag_394_still_accredited(
    minimums: pd.DataFrame, programs: pd.DataFrame
) -> None:
    assert len(minimums) == 415
    still = minimums["on_acgme_list"].astype(bool)
    assert int(still.sum()) == 394
    assert set(minimums.loc[still, "acgme_id"]) == set(minimums["acgme_id"]) & set(programs["acgme_id"])
    # Joined fields are the current ACGME ones; gone ids have none.
    cur = programs.set_index("acgme_id")
    for _, r in minimums[still].iterrows():
        assert r["program_name"] == cur.at[r["acgme_id"], "program_name"]
        assert r["state"] == cur.at[r["acgme_id"], "state"]
    assert minimums.loc[~still, ["program_name", "city", "state"]].isna().all().all()
    assert {"1402411166", "1404121374"} <= set(minimums.loc[~still, "acgme_id"])  # Carney, Hahnemann


def test_minimums_are_dated_stale_evidence(minimums: pd.DataFrame, snaps) -> None:
    assert (minimums["evidence_status"] == "stale").all()
    assert (minimums["freida_2016_as_of"] == "2016-02-28").all()
    assert (minimums["freida_2016_sha256"] == snaps["freida_2016"].sha256).all()
    assert (minimums["acgme_as_of"] == "2025-05-02").all()
    assert minimums["evidence_age_years"].round(1).eq(9.2).all()


def test_minimums_for_existing_ids_match_the_raw_page(minimums: pd.DataFrame) -> None:
    row = minimums.set_index("acgme_id").loc["1401121528"]  # Cleveland Clinic Florida
    assert row["on_acgme_list"] and row["city"] == "Weston" and row["state"] == "FL"
    assert (row["step1_min_score"], row["step2_min_score"]) == (210, 220)
    assert row["program_title_2016"] == "Cleveland Clinic (Florida) Program"


def test_published_suite_passes_and_unmatched_rows_fit(minimums: pd.DataFrame) -> None:
    from imgpipeline.refresh.validate import validate_frames

    gone = unmatched_2016(minimums)
    assert len(gone) == 21 and (gone["source"] == "freida_2016").all()
    reports = validate_frames(
        [(minimums, MINIMUMS, "published"), (gone, TABLES["unmatched_records"], "published")]
    )
    assert all(r.success for r in reports)
