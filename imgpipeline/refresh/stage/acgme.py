"""Stage the ACGME list of accredited IM programs from its PDF report.

The report's plain text interleaves its columns, so each program row is cut out by position:
the column edges come from the header words of each page, the row edges from the
``[140xxxxxxx]`` program numbers, and the text inside each cell is read with pdfium's
bounded-text extraction. Director names, phones and e-mails are never read into the table.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pypdfium2 as pdfium

from imgpipeline.errors import StagingError
from imgpipeline.refresh.land import Snapshot
from imgpipeline.refresh.stage.staged import Staged
from imgpipeline.tables import TABLES

HEADERS = ("Program Number", "Address", "Program", "Accreditation", "Effective", "Offers")
_ID = re.compile(r"^\[(\d{10})\]\s*")
_CITY_LINE = re.compile(r"^(?P<city>.+?),\s*(?P<state>[A-Z]{2})\s+(?P<zip5>\d{5})(?:-?(?P<zip4>\d{4}))?$")
_PHONE_LINE = re.compile(r"^Ph:", re.I)
_EMAIL_LINE = re.compile(r"^\S+@\S+$")
# Mail-routing text inside an address that can name a person, in the two forms the report
# uses: an attention line ("Attn: <name>, ...", dropped up to its first comma) and a name
# hyphenated onto the GME office ("<Given> <Family>-GME Department", the name dropped).
_ATTENTION = re.compile(r"^attn\b:?\s*[^,]*(?:,\s*|$)", re.I)
_NAME_ON_OFFICE = re.compile(r"^[A-Z][a-z]+ [A-Z][a-z]+-(?=GME\b)")
_FOUND = re.compile(r"(\d+)\s+programs found", re.I)
# pdfium marks a hyphen that the PDF's layout broke a line at with U+0002 (or U+FFFE).
_SOFT_HYPHEN = re.compile("[\x02\ufffe\u00ad]")


def _find(textpage: pdfium.PdfTextPage, needle: str) -> list[tuple[float, float, float, float]]:
    searcher = textpage.search(needle, match_case=True)
    boxes = []
    while (hit := searcher.get_next()) is not None:
        boxes.append(textpage.get_charbox(hit[0]))
    return boxes


def _logical_lines(cell: str) -> list[str]:
    """Lines of a cell with layout wraps undone: a physical line that ends in a space, or at a
    broken hyphen, continues on the next one."""
    cell = _SOFT_HYPHEN.sub("-\u0000", cell)
    out: list[str] = []
    carry = ""
    for raw in cell.replace("\r\n", "\n").split("\n"):
        if raw.endswith("-\u0000"):
            carry += raw[:-1]
            continue
        if raw.endswith(" "):
            carry += raw
            continue
        out.append(re.sub(r"\s+", " ", (carry + raw).replace("\u0000", "")).strip())
        carry = ""
    if carry.strip():
        out.append(re.sub(r"\s+", " ", carry.replace("\u0000", "")).strip())
    return [x for x in out if x]


def _one_line(cell: str) -> str:
    return " ".join(_logical_lines(cell)).strip()


def read_cells(path: Path) -> tuple[list[dict[str, object]], int | None]:
    """Cut the report into one dict of raw cell texts per program, plus the count the report
    says it holds ("688 programs found")."""
    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise StagingError(f"acgme_programs: {path.name} is not a readable PDF: {exc}") from exc
    rows: list[dict[str, object]] = []
    stated: int | None = None
    try:
        for page_no in range(len(pdf)):
            page = pdf[page_no]
            tp = page.get_textpage()
            width, _ = page.get_size()
            if stated is None and (m := _FOUND.search(tp.get_text_range())):
                stated = int(m.group(1))
            ids = _find(tp, "[140")
            if not ids:
                continue
            head = {h: _find(tp, h) for h in HEADERS}
            if any(not v for v in head.values()):
                raise StagingError(f"page {page_no + 1}: header words not found")
            header_top = head["Address"][0][3]
            # "Program" also starts "Program Number" and program names: take the header one.
            director = [b for b in head["Program"] if abs(b[3] - header_top) < 1 and b[0] > 200]
            edges = [
                head["Program Number"][0][0],
                head["Address"][0][0],
                director[0][0],
                head["Accreditation"][0][0],
                head["Effective"][0][0],
                head["Offers"][0][0],
            ]
            edges = [e - 2 for e in edges] + [width]
            # The last row ends at the footer, or at the "N programs found." line below it.
            ends = _find(tp, "\u00a9 20") + _find(tp, "programs found")
            floor = max(b[3] for b in ends) + 2 if ends else 0.0
            tops = [b[3] + 2 for b in ids]
            for top, bottom in zip(tops, tops[1:] + [floor], strict=True):
                cells = [
                    tp.get_text_bounded(edges[i], bottom, edges[i + 1], top) for i in range(6)
                ]
                rows.append(
                    {
                        "page": page_no + 1,
                        "name_cell": cells[0],
                        "address_cell": cells[1],
                        "status_cell": cells[3],
                        "date_cell": cells[4],
                        "prelim_cell": cells[5],
                    }
                )
    finally:
        pdf.close()
    return rows, stated


def _split_address(cell: str) -> dict[str, str | None]:
    """Site, street, city, state and ZIP from the address cell; phone and e-mail lines, and
    attention lines that can name a person, are dropped here, so they never reach a table.

    The "City, ST ZIP" line is found among the physical lines (a street line may end in a
    space without wrapping into it); the lines above it are the site and street."""
    physical = [x.strip() for x in _SOFT_HYPHEN.sub("-", cell).replace("\r\n", "\n").split("\n")]
    city_idx = next(
        (i for i in range(len(physical) - 1, -1, -1) if _CITY_LINE.match(physical[i])), None
    )
    out: dict[str, str | None] = dict(site=None, street=None, city=None, state=None, zip=None)
    if city_idx is None:
        return out
    m = _CITY_LINE.match(physical[city_idx])
    assert m is not None
    zip_code = m["zip5"] + (f"-{m['zip4']}" if m["zip4"] else "")
    out.update(city=m["city"].strip(), state=m["state"], zip=zip_code)
    above = cell.replace("\r\n", "\n").split("\n")[:city_idx]
    before = [
        _NAME_ON_OFFICE.sub("", _ATTENTION.sub("", x)).strip()
        for x in _logical_lines("\n".join(above))
        if not _PHONE_LINE.match(x) and not _EMAIL_LINE.match(x)
    ]
    before = [x for x in before if x]
    if len(before) >= 2 and not before[0][0].isdigit():
        out["site"] = before[0]
        before = before[1:]
    out["street"] = ", ".join(before) or None
    return out


def parse_acgme(path: Path) -> pd.DataFrame:
    """One row per program of the ACGME report: the staged ``acgme_programs`` table."""
    cells, stated = read_cells(path)
    records = []
    for c in cells:
        name = _one_line(str(c["name_cell"]))
        m = _ID.match(name)
        if not m:
            raise StagingError(f"page {c['page']}: a row without a program number: {name[:60]!r}")
        prelim = _one_line(str(c["prelim_cell"]))
        records.append(
            {
                "acgme_id": m.group(1),
                "program_name": name[m.end() :].strip(),
                **_split_address(str(c["address_cell"])),
                "accreditation_status": _one_line(str(c["status_cell"])),
                "effective_date": pd.to_datetime(
                    _one_line(str(c["date_cell"])), format="%m/%d/%Y", errors="coerce"
                ),
                "offers_preliminary": {"Yes": True, "No": False}.get(prelim),
                "source_page": c["page"],
            }
        )
    df = pd.DataFrame.from_records(records)
    check_count(len(df), stated)
    df.attrs["stated_program_count"] = stated
    return df


def check_count(read: int, stated: int | None) -> None:
    """The report counts its own rows ("688 programs found"): a layout the parser misreads
    shows here first, before any other check."""
    if stated is not None and read != stated:
        raise StagingError(
            f"acgme_programs: the report says {stated} programs found, {read} rows were read"
        )


def stage_acgme_programs(snap: Snapshot) -> Staged:
    """The staged ``acgme_programs`` table of a landed ACGME report."""
    return Staged(snap.source, {"acgme_programs": TABLES["acgme_programs"].coerce(parse_acgme(snap.local_path))})
