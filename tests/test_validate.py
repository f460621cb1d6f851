"""The validation gate: GX suites made from the declarations pass the real staged tables and
name the source, column, rule and rows of every break planted in copies of them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from imgpipeline.errors import ValidationFailed
from imgpipeline.refresh.stage.freida import (
    collapse_exact_duplicates,
    parse_freida,
    read_freida_csv,
)
from imgpipeline.refresh.validate import build_expectations, validate_frames
from imgpipeline.tables import TABLES

ACGME = TABLES["acgme_programs"]
FREIDA = TABLES["freida_programs"]
NYU = "1403521292"


def failures_by_rule(exc: ValidationFailed) -> dict[tuple[str, str | None], list[str]]:
    return {(f.rule, f.column): f.rows for f in exc.failures}


def test_the_real_staged_tables_pass(
    staged_acgme: pd.DataFrame, staged_freida: pd.DataFrame
) -> None:
    reports = validate_frames(
        [(staged_acgme, ACGME, "acgme@test"), (staged_freida, FREIDA, "freida@test")]
    )
    assert [(r.table, r.rows, r.success) for r in reports] == [
        ("acgme_programs", 688, True),
        ("freida_programs", 688, True),
    ]
    assert [r.evaluated for r in reports] == [
        len(build_expectations(ACGME)),
        len(build_expectations(FREIDA)),
    ]


def test_the_suite_is_made_from_the_declaration() -> None:
    kinds = [(type(e).__name__, getattr(e, "column", None)) for e in build_expectations(FREIDA)]
    for c in FREIDA.columns:
        assert ("ExpectColumnValuesToBeOfType", c.name) in kinds
    # Every column present: no existence check (the value checks need the column).
    assert not [k for k in kinds if k[0] == "ExpectColumnToExist"]
    assert ("ExpectColumnValuesToBeUnique", "acgme_id") in kinds
    assert ("ExpectColumnValuesToMatchRegex", "acgme_id") in kinds
    assert ("ExpectColumnValuesToBeInSet", "state") in kinds
    assert ("ExpectColumnValuesToBeBetween", "img_share") in kinds
    assert ("ExpectColumnValuesToNotBeNull", "program_name") in kinds
    assert ("ExpectColumnValuesToNotMatchRegex", "special_features_text") in kinds
    assert ("ExpectTableRowCountToBeBetween", None) in kinds
    # A missing column keeps only its existence check (which is what fails).
    present = [c for c in FREIDA.column_names if c != "state"]
    reduced = [(type(e).__name__, getattr(e, "column", None)) for e in build_expectations(FREIDA, present)]
    assert [k for k in reduced if k[1] == "state"] == [("ExpectColumnToExist", "state")]


def test_every_break_in_real_copies_is_named_at_once(
    staged_acgme: pd.DataFrame, staged_freida: pd.DataFrame
) -> None:
    freida = staged_freida.copy()
    by_id = freida.set_index("acgme_id")
    # A repeated program id carrying conflicting values (as a bad scrape would add it).
    twin = freida[freida["acgme_id"] == NYU].assign(img_share=0.5, source_row=999)
    freida = pd.concat([freida, twin], ignore_index=True)
    bad_state = by_id.index[10]
    freida["state"] = freida["state"].cat.add_categories(["XX"])  # a closed set: a value it lacks
    freida.loc[freida["acgme_id"] == bad_state, "state"] = "XX"
    too_big = by_id.index[20]
    freida.loc[freida["acgme_id"] == too_big, "img_share"] = 1.5
    emailed = by_id.index[30]
    freida.loc[freida["acgme_id"] == emailed, "special_features_text"] = "Write to pd@example.org"
    acgme = staged_acgme.drop(columns=["city"])

    with pytest.raises(ValidationFailed) as err:
        validate_frames([(acgme, ACGME, "acgme@bad"), (freida, FREIDA, "freida@bad")])

    got = failures_by_rule(err.value)
    assert got[("column_to_exist", "city")] == []
    assert got[("column_values_to_be_unique", "acgme_id")] == [
        f"{NYU} (source_row 2)",
        f"{NYU} (source_row 999)",
    ]
    assert got[("column_values_to_be_in_set", "state")] == [
        f"{bad_state} (source_row {by_id.loc[bad_state, 'source_row']})"
    ]
    assert got[("column_values_to_be_between", "img_share")][0].startswith(too_big)
    assert got[("column_values_to_not_match_regex", "special_features_text")][0].startswith(emailed)
    assert len(err.value.failures) == 5
    sources = {f.column: f.source for f in err.value.failures}
    assert sources["city"] == "acgme@bad" and sources["acgme_id"] == "freida@bad"
    message = str(err.value)
    assert "freida@bad -> freida_programs: column 'acgme_id' failed column_values_to_be_unique" in message
    assert f"failing rows: {NYU} (source_row 2), {NYU} (source_row 999)" in message
    assert "acgme@bad -> acgme_programs: column 'city' failed column_to_exist: the column is missing" in message
    # The contact data itself is not echoed into the message.
    assert "pd@example.org" not in message


def test_wrong_types_and_implausible_row_counts_fail(staged_acgme: pd.DataFrame) -> None:
    few = staged_acgme.head(40).copy()
    few["source_page"] = few["source_page"].astype(str)
    with pytest.raises(ValidationFailed) as err:
        validate_frames([(few, ACGME, "acgme@few")])
    rules = {(f.rule, f.column) for f in err.value.failures}
    assert ("table_row_count_to_be_between", None) in rules
    assert ("column_values_to_be_of_type", "source_page") in rules
    assert "observed 40" in str(err.value)


def test_a_newer_snapshot_missing_a_declared_column_fails(freida_csv: Path) -> None:
    """The 2025-05-26 scrape without `acgme_first_academic_year`: the declaration says the
    column exists from that date on, so the gate names it instead of accepting blanks."""
    raw = read_freida_csv(freida_csv).drop(columns=["acgme_first_academic_year"])
    staged, _ = collapse_exact_duplicates(parse_freida(raw), "acgme_id")
    with pytest.raises(ValidationFailed) as err:
        validate_frames([(FREIDA.coerce(staged, as_of="2025-05-26"), FREIDA, "freida@cut")])
    assert failures_by_rule(err.value) == {("column_to_exist", "acgme_first_year"): []}


def test_the_older_snapshot_passes_with_the_column_missing_by_declaration(
    freida_csv_old: Path,
) -> None:
    staged, _ = collapse_exact_duplicates(parse_freida(read_freida_csv(freida_csv_old)), "acgme_id")
    frame = FREIDA.coerce(staged, as_of="2025-05-24")
    [report] = validate_frames([(frame, FREIDA, "freida@2025-05-24")])
    assert report.success and report.rows == 688


def test_a_published_row_without_its_provenance_fails(programs_frame: pd.DataFrame) -> None:
    """Provenance columns (source ``manifest``) of a published table are checked as never
    missing: a row that no longer says which snapshot it came from is not published."""
    programs = TABLES["programs"]
    broken = programs_frame.copy()
    broken.loc[broken["acgme_id"] == NYU, "freida_sha256"] = None
    broken.loc[broken["acgme_id"] == NYU, "acgme_as_of"] = None
    with pytest.raises(ValidationFailed) as exc:
        validate_frames([(broken, programs, "published")])
    found = failures_by_rule(exc.value)
    assert found == {
        ("column_values_to_not_be_null", "freida_sha256"): [NYU],
        ("column_values_to_not_be_null", "acgme_as_of"): [NYU],
    }
    # Staged tables carry no provenance columns; their nullable columns stay nullable.
    assert not any(c.source == "manifest" for c in TABLES["freida_programs"].columns)
