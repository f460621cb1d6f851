"""ACGME staging against the real PDF report: all 688 programs, exact.

The reference values come from the PDF's own full text, extracted here independently of the
stager (which cuts the page into cells by position): the numbers in brackets, and for each
program the text between its number and the next one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pypdfium2 as pdfium
import pytest

from imgpipeline.refresh.stage.acgme import _logical_lines, _split_address

STRING_COLUMNS = ["program_name", "site", "street", "city", "state", "zip", "accreditation_status"]


@pytest.fixture(scope="module")
def pdf_text(acgme_pdf: Path) -> str:
    pdf = pdfium.PdfDocument(str(acgme_pdf))
    try:
        pages = [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    finally:
        pdf.close()
    # pdfium writes a hyphen the layout broke a line at as U+FFFE.
    return "\n".join(pages).replace("\r\n", "\n").replace("\ufffe", "-")


@pytest.fixture(scope="module")
def segments(pdf_text: str) -> dict[str, str]:
    """Each program's text in reading order: from after its ``[id]`` to the next ``[id]``."""
    parts = re.split(r"\[(140\d{7})\]", pdf_text)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


@pytest.fixture(scope="module")
def raw_staged(parsed_acgme: pd.DataFrame) -> pd.DataFrame:
    return parsed_acgme  # parse_acgme(acgme_pdf), conftest's


@pytest.fixture(scope="module")
def by_id(staged_acgme: pd.DataFrame) -> pd.DataFrame:
    return staged_acgme.set_index("acgme_id")


def compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_688_programs_with_688_unique_ids(staged_acgme: pd.DataFrame, raw_staged) -> None:
    assert len(staged_acgme) == 688
    assert staged_acgme["acgme_id"].nunique() == 688
    assert raw_staged.attrs["stated_program_count"] == 688


def test_a_file_that_is_not_a_pdf_stops_the_staging(tmp_path: Path) -> None:
    from imgpipeline.errors import StagingError
    from imgpipeline.refresh.stage.acgme import parse_acgme

    fake = tmp_path / "internal-medicine-programs_2024-2025.pdf"
    fake.write_text("Program Number,Address\n")
    with pytest.raises(StagingError, match="internal-medicine-programs_2024-2025.pdf is not a readable PDF"):
        parse_acgme(fake)


def test_a_row_count_other_than_the_reports_own_stops_the_staging() -> None:
    from imgpipeline.errors import StagingError
    from imgpipeline.refresh.stage.acgme import check_count

    check_count(688, 688)
    check_count(688, None)  # a report without the line: the other checks still run
    with pytest.raises(StagingError, match="the report says 688 programs found, 687 rows were read"):
        check_count(687, 688)


def test_ids_are_exactly_the_bracketed_numbers_of_the_pdf(
    staged_acgme: pd.DataFrame, pdf_text: str
) -> None:
    in_text = re.findall(r"\[(\d{10})\]", pdf_text)
    assert len(in_text) == 688 and all(i.startswith("140") for i in in_text)
    assert set(staged_acgme["acgme_id"]) == set(in_text)
    # Read in the report's order, page by page.
    assert staged_acgme["acgme_id"].tolist() == in_text


def test_every_name_is_the_text_after_its_number_with_wraps_joined(
    staged_acgme: pd.DataFrame, segments: dict[str, str]
) -> None:
    """No character of a name lost or added, across all 688; the site, when there is one,
    follows the name directly."""
    bad = []
    for row in staged_acgme.itertuples():
        seg = compact(segments[row.acgme_id])
        name = compact(row.program_name)
        follows = compact(row.site) if isinstance(row.site, str) else ""
        if not seg.startswith(name + follows):
            bad.append((row.acgme_id, row.program_name))
        if "  " in row.program_name or row.program_name != row.program_name.strip():
            bad.append((row.acgme_id, repr(row.program_name)))
    assert bad == []


def test_city_state_zip_date_and_preliminary_match_the_text_for_all(
    staged_acgme: pd.DataFrame, segments: dict[str, str]
) -> None:
    city_line = re.compile(r"^(.+), ([A-Z]{2}) (\d{5})-?(\d{4})?$", re.M)
    date_prelim = re.compile(r"(\d{2})/(\d{2})/(\d{4})\s+(Yes|No)\b")
    mismatches = []
    for row in staged_acgme.itertuples():
        seg = segments[row.acgme_id]
        city, state, zip5, zip4 = city_line.findall(seg)[-1]
        want_zip = zip5 + (f"-{zip4}" if zip4 else "")
        mm, dd, yyyy, prelim = date_prelim.search(seg).groups()
        status = re.sub(r"\s+", " ", seg[: date_prelim.search(seg).start()]).strip()
        got = (row.city, row.state, row.zip, row.effective_date, row.offers_preliminary)
        want = (city, state, want_zip, pd.Timestamp(f"{yyyy}-{mm}-{dd}"), prelim == "Yes")
        if got != want or not status.endswith(row.accreditation_status):
            mismatches.append((row.acgme_id, got, want))
    assert mismatches == []


def test_abbott_northwestern_field_by_field(by_id: pd.DataFrame) -> None:
    r = by_id.loc["1402631204"]
    # "Abbott<U+FFFE>Northwestern" in the PDF: a hyphen the layout broke the line at.
    assert r.program_name == "Abbott-Northwestern Hospital Program"
    assert r.site == "Abbott Northwestern Hospital"
    assert r.street == "Medical Education-11135, 800 E 28th Street"
    assert (r.city, r.state, r.zip) == ("Minneapolis", "MN", "55407")
    assert r.accreditation_status == "Continued Accreditation"
    assert r.effective_date == pd.Timestamp("2025-01-24")
    assert not r.offers_preliminary
    assert r.source_page == 1


def test_a_name_wrapped_over_four_lines(by_id: pd.DataFrame) -> None:
    r = by_id.loc["1401100010"]
    assert r.program_name == (
        "HCA Florida Healthcare/USF Morsani College of Medicine GME - Tampa South Program"
    )
    assert r.site == "HCA Florida Sarasota Doctor's Hospital"
    assert r.street == "5731 Bee Ridge Rd"
    assert (r.city, r.state, r.zip) == ("Sarasota", "FL", "34233")
    assert r.accreditation_status == "Initial Accreditation"
    assert r.effective_date == pd.Timestamp("2023-04-21")
    assert not r.offers_preliminary


def test_zip_plus_four_printed_without_hyphen(by_id: pd.DataFrame) -> None:
    r = by_id.loc["1404031355"]  # "Portland, OR 972132967" in the PDF
    assert r.program_name == "Providence Health & Services - Oregon/Providence Medical Center Program"
    assert r.site == "Providence Portland Medical Center"
    assert r.street == "Department of Medical Education, 5050 NE Hoyt St, Suite 540"
    assert (r.city, r.state, r.zip) == ("Portland", "OR", "97213-2967")
    assert r.offers_preliminary


def test_a_name_without_program_and_a_street_over_two_lines(by_id: pd.DataFrame) -> None:
    r = by_id.loc["1400512062"]
    assert r.program_name == "Sutter Health/California Pacific Medical Center"
    assert r.site == "California Pacific Medical Center"
    assert r.street == "1101 Van Ness, Graduate Medical Education, Suite 1120"
    assert (r.city, r.state, r.zip) == ("San Francisco", "CA", "94109")
    assert r.accreditation_status == "Continued Accreditation"
    assert r.offers_preliminary


def test_last_program_of_a_page_stops_at_the_footer(by_id: pd.DataFrame) -> None:
    r = by_id.loc["1404100002"]  # bottom of page 45
    assert r.program_name == "Philadelphia College of Osteopathic Medicine/Redeemer Health System Program"
    assert r.accreditation_status == "Voluntary Withdrawal"
    assert r.effective_date == pd.Timestamp("2025-06-30")
    assert r.source_page == 45
    assert (r.site, r.street, r.city, r.zip) == (
        "Holy Redeemer Hospital", "1648 Huntingdon Pike", "Meadowbrook", "19046"
    )


def test_last_program_of_the_report(staged_acgme: pd.DataFrame, by_id: pd.DataFrame) -> None:
    last = staged_acgme.iloc[-1]
    assert last["acgme_id"] == "1403521281"
    r = by_id.loc["1403521281"]
    assert r.program_name == "Zucker School of Medicine at Hofstra/Northwell Program"
    assert r.site == "Department of Medicine"
    assert r.street == "270-05 76th Avenue"
    assert (r.city, r.state, r.zip) == ("New Hyde Park", "NY", "11040")
    assert r.offers_preliminary
    assert r.source_page == 79
    for col in STRING_COLUMNS:
        assert "programs found" not in str(r[col])
        assert "\u00a9" not in str(r[col])


def test_a_program_without_site_line(by_id: pd.DataFrame) -> None:
    r = by_id.loc["1401200006"]  # "2415 Parkwood Drive" straight after the name; no e-mail
    assert r.program_name == "Southeast Georgia Health System, Inc. Program"
    assert pd.isna(r.site)
    assert r.street == "2415 Parkwood Drive"
    assert (r.city, r.state, r.zip) == ("Brunswick", "GA", "31520")


def test_no_contact_data_in_any_column(staged_acgme: pd.DataFrame) -> None:
    contact = re.compile(r"@|\bPh:|\(\d{3}\)\s*\d{3}-\d{4}|\b\d{3}-\d{3}-\d{4}\b")
    for col in STRING_COLUMNS:
        hits = staged_acgme[col].dropna().loc[lambda s: s.str.contains(contact)]
        assert hits.empty, (col, hits.head().tolist())


def test_no_director_name_in_any_column(
    staged_acgme: pd.DataFrame, segments: dict[str, str]
) -> None:
    """The director column's text (after the last phone / e-mail line, before the status)
    appears in no staged cell of any program."""
    status = re.compile(r"(Continued|Initial|Probationary|Voluntary) ")
    directors = []
    for seg in segments.values():
        lines = seg.split("\n")
        start = 1 + max(i for i, x in enumerate(lines) if x.startswith("Ph:") or "@" in x)
        if re.fullmatch(r"[a-z.]+", lines[start]):  # an e-mail wrapped: "...@bswhealth." "org"
            start += 1
        text = re.sub(r"\s+", " ", " ".join(lines[start:]))
        directors.append(text[: status.search(text).start()].split(",")[0].strip())
    assert len(directors) == 688 and "David M. Tierney" in directors
    odd = [d for d in directors if not re.fullmatch(r"[A-Za-z][\w.'-]*(?: [\w.'-]+)+", d)]
    assert odd == []
    cells = "\n".join(
        staged_acgme[col].dropna().str.cat(sep="\n") for col in STRING_COLUMNS
    )
    leaked = sorted({d for d in directors if d in cells})
    assert leaked == []


def test_attention_lines_naming_a_person_are_dropped(by_id: pd.DataFrame) -> None:
    """Mail-routing lines inside the address name people (coordinators): not published."""
    assert by_id.loc["1402800916", "street"] == "3100 Oak Grove Rd"  # "Attn: Matthew Riffle"
    assert by_id.loc["1400400541", "street"] == "225 E Washington Ave"  # "Attn: Rachel Statler"
    assert by_id.loc["1400300541", "street"] == (
        "GME Department/Administration, 18701 North 67th Avenue"  # "Angela Franco-GME ..."
    )
    assert by_id.loc["1404812009", "street"] == (
        "Brooke Army Medical Center, 3551 Roger Brooke Drive"  # "Attn: MCHE-ZDM-M, ..."
    )
    streets = "\n".join(by_id["street"])
    for name in ("Riffle", "Statler", "Angela Franco", "Attn", "ATTN"):
        assert name not in streets


def test_logical_lines_undo_layout_wraps() -> None:
    cell = "Zucker School of \r\nMedicine at Hofstra/Northwell \r\nProgram\r\nSchandorf\ufffe\r\nLartey"
    assert _logical_lines(cell) == [
        "Zucker School of Medicine at Hofstra/Northwell Program",
        "Schandorf-Lartey",
    ]


def test_split_address_drops_phone_and_email_lines() -> None:
    cell = (
        "Abbott Northwestern Hospital\r\nMedical Education-11135\r\n800 E 28th Street\r\n"
        "Minneapolis, MN 55407\r\nPh: (612) 863-4649\r\nanwresidency@allina.com"
    )
    assert _split_address(cell) == {
        "site": "Abbott Northwestern Hospital",
        "street": "Medical Education-11135, 800 E 28th Street",
        "city": "Minneapolis",
        "state": "MN",
        "zip": "55407",
    }
