"""FREIDA staging against both real 2025 snapshots, plus the list parser's invariants."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from imgpipeline.refresh.stage.freida import (
    collapse_exact_duplicates,
    mask_contacts,
    normalise_visas,
    parse_freida,
    read_freida_csv,
)
from imgpipeline.tables import TABLES

FREIDA = TABLES["freida_programs"]
NYU = "1403521292"
REPEATED = "1401900001"


def raw_text(path: Path) -> pd.DataFrame:
    """The CSV exactly as written, every cell text, blanks as None (the test's own reading)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def raw_new(freida_csv: Path) -> pd.DataFrame:
    return raw_text(freida_csv)


@pytest.fixture(scope="module")
def raw_old(freida_csv_old: Path) -> pd.DataFrame:
    return raw_text(freida_csv_old)


@pytest.fixture(scope="module")
def staged_new_uncollapsed(freida_csv: Path) -> pd.DataFrame:
    return parse_freida(read_freida_csv(freida_csv))


@pytest.fixture(scope="module")
def staged_old(freida_csv_old: Path) -> tuple[pd.DataFrame, list[str]]:
    staged, repeated = collapse_exact_duplicates(
        parse_freida(read_freida_csv(freida_csv_old)), "acgme_id"
    )
    return FREIDA.coerce(staged, as_of="2025-05-24"), repeated


# ---- both snapshots ---------------------------------------------------------------------


def test_both_snapshots_stage_688_programs(
    staged_freida: pd.DataFrame, staged_old: tuple[pd.DataFrame, list[str]], raw_new, raw_old
) -> None:
    old, repeated_old = staged_old
    assert len(raw_new) == len(raw_old) == 689
    for df in (staged_freida, old):
        assert len(df) == 688
        assert df["acgme_id"].is_unique
        assert df.columns.tolist() == FREIDA.column_names
    assert repeated_old == [REPEATED]


def test_the_older_snapshot_lacks_first_academic_year_by_declaration(
    freida_csv_old: Path, raw_old: pd.DataFrame, staged_old
) -> None:
    assert "acgme_first_academic_year" not in raw_old.columns
    parsed = parse_freida(read_freida_csv(freida_csv_old))
    assert "acgme_first_year" not in parsed.columns, "the parser does not invent the column"

    old, _ = staged_old
    assert FREIDA.column("acgme_first_year").since == "2025-05-26"
    assert old["acgme_first_year"].isna().all()
    assert str(old["acgme_first_year"].dtype) == "Int64"
    # Without a date before `since`, the declaration does not fill the column in: it stays
    # absent, for validation to name.
    collapsed, _ = collapse_exact_duplicates(parsed, "acgme_id")
    for as_of in ("2025-05-26", None):
        assert "acgme_first_year" not in FREIDA.coerce(collapsed, as_of=as_of).columns


def test_the_newer_snapshot_has_first_academic_year(
    staged_freida: pd.DataFrame, raw_new: pd.DataFrame
) -> None:
    years = raw_new.drop_duplicates().set_index("program_id")["acgme_first_academic_year"]
    want = years.str.extract(r"^(\d{4}) - \d{4}$")[0].astype("Int64")
    got = staged_freida.set_index("acgme_id")["acgme_first_year"]
    assert got.notna().sum() == years.notna().sum() == 688
    pd.testing.assert_series_equal(got.sort_index(), want.sort_index(), check_names=False)
    assert got[NYU] == 2000  # "2000 - 2001": in ACGME records since 2000 or earlier


def test_both_snapshots_agree_on_the_fields_they_share(
    staged_freida: pd.DataFrame, staged_old
) -> None:
    old, _ = staged_old
    a = staged_freida.set_index("acgme_id").drop(columns=["acgme_first_year", "source_row"])
    b = old.set_index("acgme_id").drop(columns=["acgme_first_year", "source_row"])
    assert set(a.index) == set(b.index)
    assert a.loc[NYU, "img_share"] == b.loc[NYU, "img_share"] == 0.023


# ---- NYU and typed values ---------------------------------------------------------------


def test_nyu_grossman_typed_fields(staged_freida: pd.DataFrame) -> None:
    r = staged_freida.set_index("acgme_id").loc[NYU]
    assert r.program_name == "NYU Grossman School of Medicine Program"
    assert (r.city, r.state) == ("New York", "NY")
    assert r.img_share == 0.023  # pct_img "2.3"
    assert r.do_share == 0.02
    assert r.usmd_share == 0.958
    assert r.first_year_positions == 95  # "95.0"
    assert r.interviews_last_year == 500
    assert r.avg_hours_on_duty_y1 == 70.0
    assert r.program_type_stated == "University-based"
    assert r.visas_listed == ["J-1"] and r.lists_j1 and not r.lists_h1b and not r.lists_f1
    assert r.accepting_2025_2026 and r.participates_in_eras
    assert r.start_months == ["July"]
    assert r.data_last_updated == pd.Timestamp("2025-03-28T08:08:20Z")
    assert r.source_row == 2


def test_percentages_are_fractions_and_blanks_stay_missing(
    raw_new: pd.DataFrame, staged_new_uncollapsed: pd.DataFrame, staged_freida: pd.DataFrame
) -> None:
    for pct, share in (("pct_img", "img_share"), ("pct_do", "do_share"), ("pct_usmd", "usmd_share")):
        blank = raw_new[pct].isna()
        assert blank.sum() == 163  # rows of the CSV; the repeated row is one of them
        missing = staged_new_uncollapsed[share].isna()
        assert (missing == blank).all(), "missing exactly where the CSV is blank"
        expected = raw_new.loc[~blank, pct].astype(float) / 100
        got = staged_new_uncollapsed.loc[~blank, share].astype(float)
        assert (got - expected).abs().max() < 1e-9
        assert (got == 0).sum() == (raw_new[pct].astype(float) == 0).sum(), "no invented zeros"
    # 162 distinct programs once the exact repeat (itself blank) is collapsed.
    assert staged_freida["img_share"].isna().sum() == 162
    assert staged_freida["img_share"].between(0, 1).sum() == 688 - 162


def test_blank_counts_stay_missing(raw_new: pd.DataFrame, staged_new_uncollapsed) -> None:
    for src, dst in (
        ("first_year_positions", "first_year_positions"),
        ("interviews_conducted_last_year", "interviews_last_year"),
        ("program_best_described_as", "program_type_stated"),
    ):
        assert raw_new[src].isna().sum() > 0
        assert (staged_new_uncollapsed[dst].isna() == raw_new[src].isna()).all(), src


# ---- visas ------------------------------------------------------------------------------


LABELS = {
    "J-1 through ECFMG": ("J-1", "J-1 visa sponsorship through ECFMG"),
    "H-1B": ("H-1B", "H-1B visa"),
    "F-1": ("F-1", "F-1 visa"),
}


def test_both_serialisations_in_the_real_file_normalise_alike(
    raw_new: pd.DataFrame, staged_freida: pd.DataFrame
) -> None:
    cells = raw_new.drop_duplicates().set_index("program_id")["visa_statuses_accepted"]
    dicts = cells[cells.str.contains("'value'")]
    assert len(dicts) == 3 and (~cells.str.contains("'value'")).sum() == 685
    by_id = staged_freida.set_index("acgme_id")
    assert by_id.loc["1403200226", "visas_listed"] == ["J-1"]  # [{'value': 'J-1 through ECFMG', ...}]
    for pid in ("1400521068", "1404100909"):  # [{'value': 'J-1 through ECFMG'}, {'value': 'H-1B'}]
        r = by_id.loc[pid]
        assert (r.visas_listed, r.lists_j1, r.lists_h1b, r.lists_f1) == (["J-1", "H-1B"], True, True, False)
    # The same visas written as a list of strings give the same codes.
    assert normalise_visas("['J-1 through ECFMG', 'H-1B']") == normalise_visas(dicts["1400521068"])
    assert set(staged_freida["visas_listed"].explode().dropna()) == {"J-1", "H-1B", "F-1"}
    assert staged_freida["visas_listed"].map(len).eq(0).sum() == (cells == "[]").sum() == 185


@given(st.lists(st.sampled_from(sorted(LABELS)), unique=True))
def test_visa_serialisations_are_equivalent(values: list[str]) -> None:
    as_strings = repr(values)
    as_dicts = repr([{"value": v, "label": LABELS[v][1]} for v in values])
    got = normalise_visas(as_strings)
    assert got == normalise_visas(as_dicts)
    assert set(got) == {LABELS[v][0] for v in values}


def test_an_unknown_visa_label_is_kept_for_validation_to_flag() -> None:
    assert normalise_visas("['H-1B', 'O-1']") == ["H-1B", "O-1"]
    assert normalise_visas(None) == []


# ---- personal data ----------------------------------------------------------------------


def test_personal_contact_columns_never_reach_the_staged_frame(
    raw_new: pd.DataFrame, staged_new_uncollapsed: pd.DataFrame
) -> None:
    personal = [c for c in raw_new.columns if c.startswith(("program_director_", "contact_"))]
    assert len(personal) == 26
    assert not set(personal) & set(staged_new_uncollapsed.columns)
    cells = "\n".join(
        staged_new_uncollapsed[c].dropna().astype(str).str.cat(sep="\n")
        for c in staged_new_uncollapsed.columns
    )
    for who in ("program_director_", "contact_"):
        for col in ("email", "phone"):
            values = raw_new[who + col].dropna().unique()
            assert len(values) > 500
            assert [v for v in values if v in cells] == [], who + col
        names = (raw_new[who + "first_name"].str.strip() + " " + raw_new[who + "last_name"].str.strip())
        assert [n for n in names.dropna().unique() if n in cells] == [], who + "name"


def test_emails_in_special_features_are_masked(
    raw_new: pd.DataFrame, staged_freida: pd.DataFrame
) -> None:
    raw = raw_new.drop_duplicates().set_index("program_id")["special_features_text"]
    assert "erin.dickerson@trioshealth.org" in raw["1405400440"]
    text = staged_freida.set_index("acgme_id").loc["1405400440", "special_features_text"]
    assert "erin.dickerson" not in text
    assert "please contact [email removed]." in text
    email = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
    assert not staged_freida["special_features_text"].dropna().str.contains(email).any()
    # Social-media handles are not e-mail addresses and stay as written.
    assert "@cookcountyimr" in staged_freida["special_features_text"].str.cat(sep=" ")


def test_mask_contacts_masks_phones_and_emails() -> None:
    text = "Call (312) 555-0199 or 312-555-0199, write to pd.office@example.org; 2024-2025 year."
    assert mask_contacts(text) == (
        "Call [phone removed] or [phone removed], write to [email removed]; 2024-2025 year."
    )
    assert mask_contacts(None) is None


# ---- duplicates -------------------------------------------------------------------------


def test_the_exact_repeated_row_is_collapsed_and_reported(
    raw_new: pd.DataFrame, staged_new_uncollapsed: pd.DataFrame
) -> None:
    rows = raw_new.index[raw_new["program_id"] == REPEATED]
    assert len(rows) == 2 and raw_new.loc[rows[0]].equals(raw_new.loc[rows[1]])
    collapsed, repeated = collapse_exact_duplicates(staged_new_uncollapsed, "acgme_id")
    assert repeated == [REPEATED]
    assert (collapsed["acgme_id"] == REPEATED).sum() == 1
    assert len(collapsed) == 688
    # The first occurrence is kept, with the CSV line it came from.
    assert collapsed.loc[collapsed["acgme_id"] == REPEATED, "source_row"].item() == rows[0] + 2


def test_a_repeated_id_with_conflicting_values_is_not_collapsed() -> None:
    df = pd.DataFrame(
        {
            "acgme_id": ["1400000001", "1400000001", "1400000002", "1400000002"],
            "source_row": [2, 3, 4, 5],
            "img_share": [0.5, 0.1, 0.2, 0.2],
        }
    )
    collapsed, repeated = collapse_exact_duplicates(df, "acgme_id")
    assert repeated == ["1400000002"]
    assert collapsed["acgme_id"].tolist() == ["1400000001", "1400000001", "1400000002"]


# ---- a small fixture in the real format (fictional values) -------------------------------


SAMPLE = Path(__file__).parent / "fixtures" / "freida_programs_sample.csv"


def test_sample_in_the_real_format_stages_without_personal_data(freida_csv: Path) -> None:
    """Four rows under the real 52-column header: both visa serialisations, a blank and a
    zero percentage, a phone and an e-mail in the free text, filled contact columns, and an
    exact repeat."""
    assert SAMPLE.read_text().splitlines()[0] == freida_csv.read_text().splitlines()[0]
    staged, repeated = collapse_exact_duplicates(parse_freida(read_freida_csv(SAMPLE)), "acgme_id")
    staged = FREIDA.coerce(staged, as_of="2025-05-26")
    assert repeated == ["1409999002"]
    assert staged["acgme_id"].tolist() == ["1409999001", "1409999002", "1409999003"]
    assert staged["source_row"].tolist() == [2, 3, 5]
    assert staged["img_share"].tolist()[1:] == [0.125, 0.0] and pd.isna(staged["img_share"][0])
    assert staged["visas_listed"].tolist() == [["J-1", "H-1B", "F-1"], ["J-1", "H-1B"], []]
    assert staged["lists_f1"].tolist() == [True, False, False]
    assert staged["start_months"].tolist() == [["July"], ["June", "July"], ["July"]]
    assert pd.isna(staged.loc[2, "first_year_positions"]) and pd.isna(staged.loc[2, "program_type_stated"])
    assert staged["acgme_first_year"].tolist() == [2000, 2000, 2016]
    assert staged.loc[0, "special_features_text"] == (
        "Questions? Call [phone removed] or write to [email removed]. Follow @exampleim."
    )
    cells = staged.astype(str).to_csv(index=False)
    for personal in ("Placeholder", "Fictional", "010-0100", "010-0101",
                     "jane.placeholder@", "john.fictional@", "coordinator@"):
        assert personal not in cells, personal


def test_a_filled_cell_that_cannot_be_read_stops_the_staging(raw_new: pd.DataFrame) -> None:
    """A percentage, count, flag or academic year in another form would otherwise become
    missing, as if FREIDA were blank: staging names the column, program, row and value."""
    from imgpipeline.errors import StagingError

    raw = read_freida_csv(SAMPLE)
    raw.loc[1, "pct_img"] = "12.5%"
    raw.loc[2, "accepting_applications_2025_2026"] = "Yes"
    raw.loc[0, "acgme_first_academic_year"] = "since 2000"
    with pytest.raises(StagingError) as exc:
        parse_freida(raw)
    message = str(exc.value)
    assert "column 'pct_img': 1 values that are not readable as img_share: 1409999002 (source_row 3): '12.5%'" in message
    assert "column 'accepting_applications_2025_2026'" in message and "'Yes'" in message
    assert "column 'acgme_first_academic_year'" in message and "1409999001 (source_row 2): 'since 2000'" in message
    # Blank cells stay missing without complaint (the real files: 163 blank shares).
    assert parse_freida(read_freida_csv(SAMPLE))["img_share"].isna().sum() == 1
    assert raw_new["pct_img"].isna().sum() == 163
