"""Conflicts between sources, on the real snapshots: FREIDA vs ACGME, 2016 vs 2025 visas, and
the visa list vs program text rows the features step provides."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from imgpipeline.refresh.conflicts import VISA_TEXT_COLUMNS, build_conflicts, classify
from imgpipeline.refresh.land import Snapshot, land_snapshot
from imgpipeline.refresh.programs import build_programs
from imgpipeline.refresh.stage.freida2016 import build_minimums_2016
from imgpipeline.settings import get_settings
from imgpipeline.tables import TABLES

TABLE = TABLES["conflicts"]


@pytest.fixture(scope="module")
def snaps(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> dict[str, Snapshot]:
    base = tmp_path_factory.mktemp("conflicts")
    settings = get_settings(source_dir=str(data_dir), raw_dir=base / "raw", processed_dir=base / "p")
    return {n: land_snapshot(n, settings) for n in ("acgme_programs", "freida_programs", "freida_2016")}


@pytest.fixture(scope="module")
def programs(staged_acgme, staged_freida, snaps) -> pd.DataFrame:
    return build_programs(staged_acgme, staged_freida, snaps["acgme_programs"], snaps["freida_programs"])[0]


@pytest.fixture(scope="module")
def minimums(programs, snaps, staged_freida_2016) -> pd.DataFrame:
    return build_minimums_2016(staged_freida_2016, programs, snaps["freida_2016"])


@pytest.fixture(scope="module")
def conflicts(programs, minimums) -> pd.DataFrame:
    return build_conflicts(programs, minimums, None)


def rows(conflicts: pd.DataFrame, acgme_id: str, field: str) -> pd.DataFrame:
    return conflicts[(conflicts["acgme_id"] == acgme_id) & (conflicts["field"] == field)]


# ---- classification ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "how", "kind"),
    [
        ("St. Louis", "Saint Louis", "city", "spelling"),
        ("St. Petersburg", "St Petersburg", "city", "spelling"),
        ("Fort Walton Beach", "Ft Walton Bch", "city", "spelling"),
        ("JBSA Fort Sam Houston", "JBSA Ft Sam Houston", "city", "spelling"),
        ("Cambridge", "Camrbidge", "city", "typo"),
        ("Palmdale", "Saint Louis", "city", "substantive"),
        ("Lansing", "East Lansing", "city", "substantive"),
        ("Baptist Health - UAMS Program", "Baptist Health-UAMS Program", "name", "spelling"),
        ("Chicago Medical School/Rosalind Franklin University of Medicine & Science Program",
         "Chicago Medical School/Rosalind Franklin University of Medicine and Science Program", "name", "spelling"),
        ("Prisma Health/University of South Carolina SOM Columbia (Columbia) Program",
         "Prisma Health/University of South Carolina School of Medicine Columbia (Columbia) Program", "name", "spelling"),
        ("University of Alabama Hospital (Huntsville) Program", "University of Alabama Hospital Program", "name", "qualifier"),
        ("CHI St. Vincent - Hot Springs Program", "Morehouse School of Medicine Program", "name", "substantive"),
        ("Weston", "Weston", "city", None),
        ("Weston", None, "city", None),
    ],
)  # fmt: skip
def test_classify(a, b, how, kind) -> None:
    assert classify(a, b, how) == kind


@given(st.text(min_size=1, max_size=30), st.text(min_size=1, max_size=30), st.sampled_from(["city", "name"]))
def test_classify_is_symmetric(a: str, b: str, how: str) -> None:
    assert classify(a, b, how) == classify(b, a, how)
    assert classify(a, a, how) is None


# ---- real data ---------------------------------------------------------------------------------


def test_palmdale_vs_saint_louis_is_substantive(conflicts: pd.DataFrame) -> None:
    city = rows(conflicts, "1400500014", "city").iloc[0]
    assert (city["value_a"], city["value_b"], city["kind"]) == ("Palmdale", "Saint Louis", "substantive")
    assert (city["source_a"], city["source_b"]) == ("acgme_programs", "freida_programs")
    assert city["snapshot_a"].startswith("acgme_programs@2025-05-02#")
    assert city["snapshot_b"].startswith("freida_programs@2025-05-26#")
    state = rows(conflicts, "1400500014", "state").iloc[0]
    assert (state["value_a"], state["value_b"], state["kind"]) == ("CA", "MO", "substantive")


def test_abbreviations_are_spelling_not_conflicts(conflicts: pd.DataFrame, programs) -> None:
    # 1401100017: ACGME "St. Petersburg", FREIDA "St Petersburg"
    p = programs.set_index("acgme_id").loc["1401100017"]
    assert (p["city"], p["freida_city"]) == ("St. Petersburg", "St Petersburg")
    assert rows(conflicts, "1401100017", "city")["kind"].tolist() == ["spelling"]
    assert rows(conflicts, "1402831217", "city")["kind"].tolist() == ["spelling"]  # St Louis
    fwb = rows(conflicts, "1401100012", "city").iloc[0]  # Fort Walton Beach vs Ft Walton Bch
    assert fwb["kind"] == "spelling"


def test_every_city_difference_is_a_row(conflicts: pd.DataFrame, programs) -> None:
    both = programs[programs["in_freida"].astype(bool)]
    differ = set(both.loc[both["city"] != both["freida_city"], "acgme_id"])
    assert differ == set(conflicts.loc[conflicts["field"] == "city", "acgme_id"])
    subst = conflicts[(conflicts["field"] == "city") & (conflicts["kind"] == "substantive")]
    assert {"1400500014", "1403300539", "1401100909"} <= set(subst["acgme_id"])  # Kissimmee/Orlando
    assert "1400500005" in set(conflicts.loc[conflicts["kind"] == "typo", "acgme_id"])  # Ingelwood


def test_2016_vs_2025_visa(conflicts: pd.DataFrame, minimums, programs) -> None:
    # 1400512052: the 2016 page did not list J-1 or H-1B; the 2025 page lists both.
    old = minimums.set_index("acgme_id").loc["1400512052"]
    new = programs.set_index("acgme_id").loc["1400512052"]
    assert not old["lists_j1_visa"] and new["lists_j1"]
    j1 = rows(conflicts, "1400512052", "j1_visa").iloc[0]
    assert (j1["kind"], j1["value_a"], j1["value_b"]) == ("changed", "not listed", "listed")
    assert (j1["source_a"], j1["as_of_a"]) == ("freida_2016", pd.Timestamp("2016-02-28"))  # a date
    assert "stale" in j1["detail"]
    # Only where both pages say something and they differ.
    changed = conflicts[conflicts["kind"] == "changed"]
    m = minimums.merge(programs, on="acgme_id")
    m = m[m["in_freida"].astype(bool) & m["lists_j1_visa"].notna()]
    expected = m[m["lists_j1_visa"].astype(bool) != m["lists_j1"].astype(bool)]
    assert set(expected["acgme_id"]) == set(changed.loc[changed["field"] == "j1_visa", "acgme_id"])
    assert len(expected) > 0


def test_visa_list_vs_text_rows(programs, minimums) -> None:
    # A tiny fixture frame in the columns the features step returns, for a real program and
    # its real sentence ("We do not sponsor visas."); the list value is made up for the test.
    text = programs.set_index("acgme_id").at["1402500921", "special_features_text"]
    assert "We do not sponsor visas." in text
    visa_rows = pd.DataFrame(
        [{"acgme_id": "1402500921", "field": "sponsors_j1", "list_value": "listed",
          "text_value": "not sponsored", "quote": "We do not sponsor visas."}]
    )  # fmt: skip
    assert tuple(visa_rows.columns) == VISA_TEXT_COLUMNS
    out = build_conflicts(programs, minimums, visa_rows)
    row = rows(out, "1402500921", "sponsors_j1").iloc[0]
    assert row["kind"] == "list_vs_text" and row["evidence_quote"] == "We do not sponsor visas."
    assert row["source_b"] == "freida_programs (special_features_text)"
    with pytest.raises(ValueError, match="lack columns"):
        build_conflicts(programs, minimums, visa_rows.drop(columns=["quote"]))


def test_rows_from_the_features_step_are_accepted(programs, minimums) -> None:
    visa = pytest.importorskip("imgpipeline.refresh.features.visa")
    visa_rows = visa.visa_conflicts(programs)
    assert set(VISA_TEXT_COLUMNS) <= set(visa_rows.columns)
    out = build_conflicts(programs, minimums, visa_rows)
    assert int((out["kind"] == "list_vs_text").sum()) == len(visa_rows)


def test_published_suite_passes(conflicts: pd.DataFrame) -> None:
    from imgpipeline.refresh.validate import validate_frames

    (report,) = validate_frames([(conflicts, TABLE, "published")])
    assert report.success
    assert not conflicts.duplicated(list(TABLE.key)).any()
