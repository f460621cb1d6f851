"""NRMP Florida program results: staged from the real CSV (byte-order mark, wide years) into
a tidy program x year table, checked against the raw file."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest

from imgpipeline.errors import StagingError
from imgpipeline.refresh.land import land_snapshot
from imgpipeline.refresh.stage.nrmp_results import (
    build_nrmp_program_results,
    parse_nrmp_results,
    read_results_csv,
    repeated_codes,
    track_of,
)
from imgpipeline.settings import get_settings
from imgpipeline.tables import TABLES

TABLE = TABLES["nrmp_program_results"]


@pytest.fixture(scope="module")
def csv_path(data_dir: Path) -> Path:
    return data_dir / "nrmp" / "program-results_florida_2020-2026.csv"


@pytest.fixture(scope="module")
def raw(csv_path: Path) -> list[dict[str, str]]:
    """The file read by the test itself: csv module, BOM stripped by utf-8-sig."""
    with csv_path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> pd.DataFrame:
    base = tmp_path_factory.mktemp("nrmp")
    settings = get_settings(source_dir=str(data_dir), raw_dir=base / "raw", processed_dir=base / "p")
    snap = land_snapshot("nrmp_program_results_fl", settings)
    return build_nrmp_program_results(parse_nrmp_results(snap.local_path), snap)


def test_the_file_starts_with_a_byte_order_mark(csv_path: Path, published: pd.DataFrame) -> None:
    assert csv_path.read_bytes()[:3] == b"\xef\xbb\xbf"
    assert set(published["match"]) == {"Main", "Specialty"}  # first column read clean


def test_tidy_shape(published: pd.DataFrame, raw) -> None:
    codes = {r["Program Code"] for r in raw}
    assert len(raw) == 954 and len(codes) == 953  # one code on two rows
    assert published["program_code"].nunique() == 953
    assert sorted(published["year"].unique()) == list(range(2020, 2027))
    assert len(published) == 953 * 7
    assert not published.duplicated(["program_code", "year"]).any()


def test_internal_medicine_rows(published: pd.DataFrame, raw) -> None:
    im = published[published["is_internal_medicine"]].drop_duplicates("program_code")
    raw_im = [r for r in raw if r["Program Code"][4:7] == "140"]
    assert len(im) == len(raw_im) == 92
    # The README's 62 IM rows are the categorical ones ("Internal Medicine"); the other 30
    # codes with specialty 140 are preliminary (28) and primary-care (2) tracks.
    assert im["track"].value_counts()[lambda n: n > 0].to_dict() == {"categorical": 62, "preliminary": 28, "primary": 2}
    assert (im.loc[im["track"] == "categorical", "specialty"] == "Internal Medicine").all()
    assert sum(r["Specialty Cleaned"] == "Internal Medicine" for r in raw) == 62


def test_every_value_matches_the_raw_file(published: pd.DataFrame, raw) -> None:
    by_key = published.set_index(["program_code", "year"])
    for r in raw:
        if r["Program Code"] == "1104040R0":
            continue  # merged; tested below
        for year in range(2020, 2027):
            row = by_key.loc[(r["Program Code"], year)]
            assert row["quota"] == int(r[f"{year} Quota"])
            assert row["matched"] == int(r[f"{year} Matched"])
            assert row["sponsor"] == r["Sponsoring Institution"].strip()


@pytest.mark.parametrize(
    ("code", "year", "quota", "matched", "fill"),
    [
        ("1102140C0", 2026, 14, 14, 1.0),  # AdventHealth Orlando IM, full
        ("2300140C3", 2026, 20, 4, 0.2),  # BayCare St Anthony's: 4 of 20
        ("1662140C0", 2020, 20, 2, 0.1),  # HCA Oak Hill 2020
        ("2300140C0", 2020, 0, 0, None),  # not yet in the Match: no fill rate, not 0
    ],
)
def test_fill_by_program_and_year(published, code, year, quota, matched, fill) -> None:
    row = published.set_index(["program_code", "year"]).loc[(code, year)]
    assert (row["quota"], row["matched"]) == (quota, matched)
    if fill is None:
        assert pd.isna(row["fill_rate"]) and not row["offered"]
    else:
        assert row["fill_rate"] == pytest.approx(fill) and row["offered"]
    assert row["unfilled"] == quota - matched


def test_fill_rate_invariants(published: pd.DataFrame) -> None:
    offered = published[published["quota"] > 0]
    assert (offered["fill_rate"] - offered["matched"] / offered["quota"]).abs().max() < 1e-4
    assert published.loc[published["quota"] == 0, "fill_rate"].isna().all()
    assert (published["matched"] <= published["quota"]).all()


def test_repeated_code_is_merged_by_year(published: pd.DataFrame, csv_path: Path) -> None:
    assert repeated_codes(read_results_csv(csv_path)) == ["1104040R0"]
    r = published[published["program_code"] == "1104040R0"].set_index("year")
    assert r.loc[2020, "quota"] == 1 and r.loc[2026, "quota"] == 1
    assert r.loc[2020, "source_row"] != r.loc[2026, "source_row"]
    assert r.loc[2021:2025, "quota"].eq(0).all()


def test_code_parts_and_tracks(published: pd.DataFrame) -> None:
    row = published[published["program_code"] == "1102140C0"].iloc[0]
    assert (row["institution_code"], row["specialty_code"], row["track_code"]) == ("1102", "140", "C")
    assert track_of("1109140P3") == "preliminary"
    assert track_of("1102140M0") == "primary"
    assert track_of("1032R02S0") == "other"
    assert (published["state"] == "FL").all()


def test_published_suite_passes(published: pd.DataFrame) -> None:
    from imgpipeline.refresh.validate import validate_frames

    (report,) = validate_frames([(published, TABLE, "published")])
    assert report.success and report.rows == 6671


# ---- fixture files in the real format -------------------------------------------------------


def write_csv(path: Path, raw: list[dict[str, str]]) -> Path:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(raw[0]))
    w.writeheader()
    w.writerows(raw)
    path.write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8"))
    return path


def test_two_rows_with_positions_in_one_year_are_an_error(tmp_path: Path, raw) -> None:
    row = dict(next(r for r in raw if r["Program Code"] == "1102140C0"))
    with pytest.raises(StagingError, match=r"1102140C0 has 2 rows with positions in 2020"):
        parse_nrmp_results(write_csv(tmp_path / "x.csv", [row, dict(row)]))


def test_a_non_numeric_count_is_an_error_naming_the_line(tmp_path: Path, raw) -> None:
    rows = [dict(r) for r in raw[:3]]
    rows[2]["2024 Quota"] = "n/a"
    with pytest.raises(StagingError, match=r"'2024 Quota': not a count at line 4: 'n/a'"):
        parse_nrmp_results(write_csv(tmp_path / "x.csv", rows))


def test_a_missing_column_is_refused(tmp_path: Path, raw) -> None:
    rows = [{k: v for k, v in r.items() if k != "Program Code"} for r in raw[:2]]
    with pytest.raises(StagingError, match="Program Code"):
        parse_nrmp_results(write_csv(tmp_path / "x.csv", rows))
