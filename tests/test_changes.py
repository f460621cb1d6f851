"""Changes between refreshes: the diff on the two real 2025 FREIDA snapshots, on modified
copies of the real files (programs added and removed, visas gained and lost, IMG shares moved,
text changed, a column emptied), on tiny frames for each rule, and through the flow."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imgpipeline.refresh.changes import diff_versions, summarize, text
from imgpipeline.refresh.land import land_snapshot
from imgpipeline.refresh.programs import build_programs, snapshots_frame
from imgpipeline.refresh.stage.freida import (
    collapse_exact_duplicates,
    parse_freida,
    read_freida_csv,
)
from imgpipeline.settings import Settings, get_settings
from imgpipeline.store import current_version, read_manifest, read_tables, write_table
from imgpipeline.tables import TABLES

THRESHOLD = 0.05


def build(acgme: pd.DataFrame, freida_file: Path | str, s: Settings) -> dict[str, pd.DataFrame]:
    """The published tables a refresh builds from these sources (as the flow does)."""
    s = s.model_copy(update={"source_files": {"freida_programs": str(freida_file)}})
    snaps = [land_snapshot("acgme_programs", s), land_snapshot("freida_programs", s)]
    staged, _ = collapse_exact_duplicates(parse_freida(read_freida_csv(snaps[1].local_path)), "acgme_id")
    freida = TABLES["freida_programs"].coerce(staged, as_of=snaps[1].as_of)
    programs, unmatched = build_programs(acgme, freida, *snaps)
    return {"programs": programs, "unmatched_records": unmatched, "snapshots": snapshots_frame(snaps)}


def freida_copy(src: Path, dest: Path, edits: dict[str, dict[str, str]], drop: set[str], blank: set[str]) -> Path:
    """A copy of a real FREIDA CSV, every other byte of a row kept as the csv module reads it."""
    with src.open(newline="") as fh:
        reader = csv.DictReader(fh)
        fields, rows = reader.fieldnames, list(reader)
    assert fields is not None
    with dest.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            if row["program_id"] in drop:
                continue
            for col in blank:
                row[col] = ""
            for col, value in edits.get(row["program_id"], {}).items():
                assert col in row, col
                row[col] = value
            writer.writerow(row)
    return dest


def kinds(changes: pd.DataFrame) -> set[tuple]:
    return {
        (r.change, r.column if isinstance(r.column, str) else None, r.acgme_id if isinstance(r.acgme_id, str) else None)
        for r in changes.itertuples()
    }


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Settings:
    base = tmp_path_factory.mktemp("changes")
    return get_settings(source_dir=str(data_dir), raw_dir=base / "raw", processed_dir=base / "processed")


@pytest.fixture(scope="module")
def real_new(staged_acgme: pd.DataFrame, freida_csv: Path, workspace: Settings) -> dict[str, pd.DataFrame]:
    return build(staged_acgme, freida_csv, workspace)


def test_the_two_real_snapshots_differ_by_one_column_and_two_texts(
    staged_acgme: pd.DataFrame, freida_csv_old: Path, real_new: dict, workspace: Settings
) -> None:
    old = build(staged_acgme, freida_csv_old, workspace)
    changes = diff_versions(old, real_new, from_version="v-old", img_share_threshold=THRESHOLD)
    assert kinds(changes) == {
        ("column_populated", "acgme_first_year", None),
        ("text_changed", "special_features_text", "1400500009"),
        ("text_changed", "special_features_text", "1400500018"),
    }
    texts = changes[changes["change"] == "text_changed"]
    assert texts["old_value"].tolist() == ["N/A", "N/A"] and texts["new_value"].isna().all()
    assert texts["program_name"].str.startswith("Adventist Health Central California Network").all()
    populated = changes[changes["change"] == "column_populated"].iloc[0]
    filled = int(real_new["programs"]["acgme_first_year"].notna().sum())
    assert f"now populated in {filled} of 688 rows" in populated["detail"]
    assert set(changes["from_version"]) == {"v-old"}
    old_ids, new_ids = changes.iloc[0]["from_snapshots"], changes.iloc[0]["to_snapshots"]
    assert any(s.startswith("freida_programs@2025-05-24#") for s in old_ids)  # a list of snapshot ids
    assert any(s.startswith("freida_programs@2025-05-26#") for s in new_ids)
    text_summary = summarize(changes, "v-old")
    assert "- programs: column_populated 1, text_changed 2" in text_summary


def test_modified_copies_report_every_change_and_nothing_else(
    staged_acgme: pd.DataFrame, freida_csv: Path, real_new: dict, workspace: Settings, tmp_path: Path
) -> None:
    copy = freida_copy(
        freida_csv,
        tmp_path / "changes_freida_2025-06-02.csv",
        edits={
            "1403521292": {"visa_statuses_accepted": "['J-1 through ECFMG', 'H-1B']"},
            "1402411169": {"visa_statuses_accepted": "[]"},
            "1403200226": {"visa_statuses_accepted": "[{'value': 'H-1B', 'label': 'H-1B visa'}]"},
            "1403521301": {"pct_img": "50.0"},
            "1402421172": {"pct_img": "4.9"},
            "1404121380": {"pct_img": ""},
            "1402621208": {"special_features_text": "We sponsor J-1 visas. Write to gme@example.org."},
            "1405421434": {"first_year_positions": "70.0"},
        },
        drop={"1404100909"},
        blank={"avg_hours_on_duty_y1"},
    )
    acgme = staged_acgme
    old = {k: v for k, v in real_new.items()}
    old["programs"] = real_new["programs"][~real_new["programs"]["acgme_id"].isin({"1405631444", "1405631445"})]
    new = build(acgme[acgme["acgme_id"] != "1400100001"], copy, workspace)

    changes = diff_versions(old, new, from_version="v1", img_share_threshold=THRESHOLD)
    assert kinds(changes) == {
        ("program_added", None, "1405631444"),
        ("program_added", None, "1405631445"),
        ("program_removed", None, "1400100001"),
        ("visa_gained", "lists_h1b", "1403521292"),
        ("visa_lost", "lists_j1", "1402411169"),
        ("visa_lost", "lists_h1b", "1402411169"),
        ("visa_lost", "lists_f1", "1402411169"),
        ("visa_lost", "lists_j1", "1403200226"),
        ("visa_gained", "lists_h1b", "1403200226"),
        ("img_share_moved", "img_share", "1403521301"),
        ("img_share_moved", "img_share", "1404121380"),
        ("text_changed", "special_features_text", "1402621208"),
        ("value_changed", "first_year_positions", "1405421434"),
        ("value_changed", "in_freida", "1404100909"),
        ("column_emptied", "avg_hours_on_duty_y1", None),
        ("rows_changed", None, None),
    }
    # Downstream of programs, one row per table: the unmatched records gained the program
    # that lost its FREIDA page and the FREIDA page whose program left the ACGME list.
    (rows,) = changes[changes["change"] == "rows_changed"].itertuples()
    assert rows.table == "unmatched_records" and rows.old_value == "12 -> 14 rows"
    assert rows.detail == "unmatched_records by source, record_id: 0 of 12 rows changed; 2 added"
    by = changes.set_index(["change", "acgme_id"])
    moved = by.loc[("img_share_moved", "1403521301")]
    assert (moved["old_value"], moved["new_value"]) == ("0.641", "0.5") and "-0.141" in moved["detail"]
    gone = by.loc[("img_share_moved", "1404121380")]
    assert gone["new_value"] is None or pd.isna(gone["new_value"])
    assert "no longer stated" in gone["detail"]
    # The program's text is staged with contact data masked; so is what the change shows.
    assert by.loc[("text_changed", "1402621208"), "new_value"] == "We sponsor J-1 visas. Write to [email removed]."
    assert by.loc[("value_changed", "1405421434")][["old_value", "new_value"]].tolist() == ["67", "70"]
    assert by.loc[("program_removed", "1400100001"), "program_name"] == str(
        acgme.set_index("acgme_id").loc["1400100001", "program_name"]
    )
    left = by.loc[("value_changed", "1404100909")]
    assert (left["old_value"], left["new_value"]) == ("true", "false")
    assert "no longer has a page" in left["detail"]
    # The published changes table passes its own suite.
    from imgpipeline.refresh.validate import validate_frames

    (report,) = validate_frames([(changes, TABLES["changes"], "test")])
    assert report.success and report.rows == 16


def program_frame(**cols) -> pd.DataFrame:
    base = {"acgme_id": ["1400000001", "1400000002"], "program_name": ["A Program", "B Program"]}
    return pd.DataFrame({**base, **cols})


def test_img_share_is_reported_only_past_the_threshold() -> None:
    old = {"programs": program_frame(img_share=[0.40, 0.40])}
    new = {"programs": program_frame(img_share=[0.45, 0.4501])}
    changes = diff_versions(old, new, from_version="v", img_share_threshold=0.05)
    assert kinds(changes) == {("img_share_moved", "img_share", "1400000002")}
    looser = diff_versions(old, new, from_version="v", img_share_threshold=0.10)
    assert looser.empty


def test_tables_and_columns_appearing_and_disappearing() -> None:
    old = {
        "programs": program_frame(site=["x", "y"], zip=["10001", "10002"]),
        "gone": pd.DataFrame({"a": [1]}),
        "changes": pd.DataFrame({"change": ["text_changed"]}),
    }
    new = {
        "programs": program_frame(site=["x", "y"], acgme_first_year=[2000, None]),
        "fresh": pd.DataFrame({"a": [1, 2]}),
    }
    changes = diff_versions(old, new, from_version="v", img_share_threshold=0.05)
    assert kinds(changes) == {
        ("table_added", None, None),
        ("table_removed", None, None),
        ("column_added", "acgme_first_year", None),
        ("column_removed", "zip", None),
    }
    assert set(changes.loc[changes["change"].str.startswith("table"), "table"]) == {"fresh", "gone"}
    # Ordered as declared: tables, then columns.
    assert changes["change"].tolist() == ["table_added", "table_removed", "column_added", "column_removed"]


def test_tier_changes_and_feature_sponsorship_replace_freida_lists() -> None:
    programs = program_frame(lists_j1=[True, True], visas_listed=[["J-1"], ["J-1"]])
    features_old = pd.DataFrame({"acgme_id": ["1400000001", "1400000002"], "tier": ["community", "community"], "sponsors_j1": [True, True]})
    features_new = features_old.assign(tier=["community", "mid_tier_academic_hybrid"], sponsors_j1=[False, True])
    programs_new = programs.assign(lists_j1=[True, False], visas_listed=[["J-1"], []])
    changes = diff_versions(
        {"programs": programs, "program_features": features_old},
        {"programs": programs_new, "program_features": features_new},
        from_version="v",
        img_share_threshold=0.05,
    )
    # Sponsorship as program_features decides it (text may override FREIDA's list), once;
    # beside the program rows, the table's rows_changed row counts the columns that moved.
    assert kinds(changes) == {
        ("tier_changed", "tier", "1400000002"),
        ("visa_lost", "sponsors_j1", "1400000001"),
        ("rows_changed", None, None),
    }
    assert changes.loc[changes["change"] == "rows_changed", "detail"].tolist() == [
        "program_features by acgme_id: 2 of 2 rows changed (tier 1, sponsors_j1 1)"
    ]
    tier = changes[changes["change"] == "tier_changed"].iloc[0]
    assert (tier["old_value"], tier["new_value"], tier["program_name"]) == ("community", "mid_tier_academic_hybrid", "B Program")
    # Without program_features, FREIDA's list is the sponsorship signal.
    alone = diff_versions({"programs": programs}, {"programs": programs_new}, from_version="v", img_share_threshold=0.05)
    assert kinds(alone) == {("visa_lost", "lists_j1", "1400000002")}


def test_other_tables_get_one_rows_changed_row_by_their_key() -> None:
    """Rows paired by the declared key (program_code, year); provenance columns ignored;
    floats equal to 6 decimals; the largest move of a number; added and removed rows."""
    def results(**cols) -> pd.DataFrame:
        base = {
            "program_code": ["1102140C0", "1102140C0", "1104140C0"],
            "year": [2025, 2026, 2026],
            "nrmp_snapshot": ["nrmp@2026-04#aaaaaaaaaaaa"] * 3,
        }
        return pd.DataFrame({**base, **cols})

    old = {"nrmp_program_results": results(quota=[10, 12, 8], fill_rate=[1.0, 0.5, 0.25])}
    same = results(quota=[10, 12, 8], fill_rate=[1.0, 0.5000000001, 0.25]).assign(
        nrmp_snapshot="nrmp@2026-05#bbbbbbbbbbbb"
    )
    assert diff_versions(old, {"nrmp_program_results": same}, from_version="v", img_share_threshold=0.05).empty

    moved = results(quota=[10, 12, 9], fill_rate=[1.0, 0.75, 0.25])
    moved = pd.concat([moved.iloc[1:], moved.iloc[[0]].assign(year=2027)], ignore_index=True)
    changes = diff_versions(old, {"nrmp_program_results": moved}, from_version="v", img_share_threshold=0.05)
    (row,) = changes.itertuples()
    assert (row.change, row.table, row.old_value) == ("rows_changed", "nrmp_program_results", "3 -> 3 rows")
    assert row.detail == (
        "nrmp_program_results by program_code, year: 2 of 2 rows changed "
        "(quota 1 (largest move 1), fill_rate 1 (largest move 0.25)); 1 added; 1 removed"
    )


def test_values_compare_equal_whatever_the_dtypes() -> None:
    assert text(pd.NA) is None and text(float("nan")) is None and text(None) is None
    assert text(True) == text(pd.array([True], dtype="boolean")[0]) == "true"
    assert text(95.0) == text(95) == text(pd.array([95], dtype="Int64")[0]) == "95"
    assert text(0.023) == text(0.0230000001) == "0.023"
    assert text(pd.Timestamp("2024-07-01")) == "2024-07-01"
    assert text(pd.Timestamp("2025-03-28 08:08:20", tz="UTC")) == "2025-03-28T08:08:20+00:00"


def test_a_version_read_back_from_parquet_has_no_changes(real_new: dict, tmp_path: Path) -> None:
    for name, df in real_new.items():
        write_table(df, name, tmp_path)
    changes = diff_versions(read_tables(tmp_path), real_new, from_version="v", img_share_threshold=THRESHOLD)
    assert changes.empty, changes[["change", "column", "acgme_id", "detail"]].head()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_added_and_removed_programs_are_exactly_the_set_differences(real_new: dict, data: st.DataObject) -> None:
    programs = real_new["programs"]
    ids = programs["acgme_id"].tolist()
    old_ids = set(data.draw(st.lists(st.sampled_from(ids), max_size=40)))
    new_ids = set(data.draw(st.lists(st.sampled_from(ids), max_size=40)))
    old = {"programs": programs[~programs["acgme_id"].isin(old_ids)]}
    new = {"programs": programs[~programs["acgme_id"].isin(new_ids)]}
    changes = diff_versions(old, new, from_version="v", img_share_threshold=THRESHOLD)
    assert set(changes.loc[changes["change"] == "program_added", "acgme_id"]) == old_ids - new_ids
    assert set(changes.loc[changes["change"] == "program_removed", "acgme_id"]) == new_ids - old_ids
    assert set(changes["change"]) <= {"program_added", "program_removed"}


def test_a_first_publication_has_an_empty_changes_table(published: Settings, tmp_path: Path) -> None:
    """The fixture's first refresh (the older snapshot) had nothing to compare with."""
    first = published.versions_dir / read_manifest(published)["changes_from"]
    changes = pd.read_parquet(first / "changes.parquet")
    assert changes.empty and list(changes.columns) == TABLES["changes"].column_names
    manifest = json.loads((first / "manifest.json").read_text())
    assert manifest["changes_from"] is None and manifest["changes"] == {}
    # `imgpipeline changes` on a folder whose current version is that first one.
    (tmp_path / "current").symlink_to(first, target_is_directory=True)
    from typer.testing import CliRunner

    from imgpipeline.cli import app

    shown = CliRunner().invoke(app, ["changes", "--processed-dir", str(tmp_path)])
    assert shown.exit_code == 0 and "First publication" in shown.output


# What the newer FREIDA snapshot moved in the derived tables: the new column fills in the
# first ACGME year (and the age and new-program flag derived from it), the IMG-share model
# gains a predictor (imputed shares re-estimated; two cross the tier threshold), and scores
# follow. Each such table gets one rows_changed row; no program, visa or stated share moves.
# The derived tables the FREIDA change reaches (the interview model's program side and its
# calibration move with the features).
DERIVED = {"program_features", "feature_evidence", "program_openness", "interview_coefficients", "program_scores", "score_reasons", "score_validity"}


@pytest.mark.slow
def test_refreshing_the_older_then_the_newer_snapshot_publishes_exactly_the_difference(
    published: Settings,
) -> None:
    """The ``published`` fixture's two refreshes: the older FREIDA snapshot, then the newer."""
    version = current_version(published)
    assert version is not None
    manifest = read_manifest(published)
    first = manifest["changes_from"]
    assert first is not None and first != version.name and (published.versions_dir / first).is_dir()
    changes = pd.read_parquet(version / "changes.parquet")
    # In the program universe: exactly the new column and the two program texts.
    assert kinds(changes[changes["table"] == "programs"]) == {
        ("column_populated", "acgme_first_year", None),
        ("text_changed", "special_features_text", "1400500009"),
        ("text_changed", "special_features_text", "1400500018"),
    }
    # Downstream: one rows_changed row per derived table that moved, and the two tiers that the
    # re-estimated imputed shares moved across the 0.2 hybrid line (McLaren: 0.222 -> 0.189;
    # Charles R Drew: 0.181 -> 0.255; the newer snapshot adds acgme_first_year, a predictor).
    derived = changes[changes["table"] != "programs"]
    assert kinds(derived) == {("tier_changed", "tier", "1402500002"), ("tier_changed", "tier", "1400500930"), ("rows_changed", None, None)}
    rows = derived[derived["change"] == "rows_changed"].set_index("table")["detail"]
    assert set(rows.index) == DERIVED, rows
    features = rows["program_features"]
    assert features.startswith("program_features by acgme_id: 682 of 688 rows changed (")
    assert "acgme_first_year 682 (was missing in every row)" in features
    assert "new_program 603" in features and "img_share 135 (largest move " in features
    # Tables the FREIDA change does not reach are not mentioned (the in-memory tables of the
    # second run compared with the Parquet of the first: no false differences).
    assert not {"charting_outcomes", "match_probability_curve", "nrmp_program_results", "conflicts"} & set(changes["table"])
    assert manifest["changes"] == {k: int(v) for k, v in changes["change"].value_counts().items() if v}  # kinds that occur
    section = manifest["sections"]["Changes since the previous version"]
    assert "acgme_first_year" in section and "- programs: column_populated 1, text_changed 2" in section
    # `imgpipeline changes` prints the same summary from the published files.
    from typer.testing import CliRunner

    from imgpipeline.cli import app

    shown = CliRunner().invoke(app, ["changes", "--processed-dir", str(published.processed_dir)])
    assert shown.exit_code == 0, shown.output
    assert first in shown.output and "acgme_first_year" in shown.output
    assert "1400500009" in shown.output and "1400500018" in shown.output
