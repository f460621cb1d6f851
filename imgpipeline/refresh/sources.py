"""The catalog of public sources the pipeline reads: where each lives in the mirror, its as-of
date and the terms its facts come under."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

RIGHTS_NOTE = (
    "Facts from {owner}; reuse governed by {owner}'s terms. The repository the snapshot comes "
    "from states no licence. Keep attribution (source and as-of date)."
)


@dataclass(frozen=True)
class Source:
    """One public source: a file in the mirror and what is known about it."""

    name: str
    path: str
    as_of: str
    owner: str
    title: str
    origin: str

    @property
    def rights(self) -> str:
        return RIGHTS_NOTE.format(owner=self.owner)


CATALOG: dict[str, Source] = {
    s.name: s
    for s in [
        Source(
            name="acgme_programs",
            path="acgme/internal-medicine-programs_2024-2025.pdf",
            as_of="2025-05-02",
            owner="ACGME",
            title="Internal Medicine Programs, Academic Year 2024-2025, list of accredited programs",
            origin="github.com/pmmrb1967/pdfplumber_usage_example Example.pdf @ ba54f2f",
        ),
        Source(
            name="freida_programs",
            path="freida/internal-medicine-programs_2025-05-26.csv",
            as_of="2025-05-26",
            owner="AMA FREIDA",
            title="FREIDA internal-medicine program pages (scrape)",
            origin="github.com/avinashsvinu/scapper freida_programs_output_with_academic_year.csv @ f9cebff",
        ),
        Source(
            name="freida_2016",
            path="freida/all-specialties_2016-02-28.zip",
            as_of="2016-02-28",
            owner="AMA FREIDA",
            title="FREIDA all-specialty program pages (2016 scrape)",
            origin="github.com/ababkin/parceed_transformer scrapeData.zip @ ab4dbb7",
        ),
        Source(
            name="nrmp_charting_outcomes",
            path="nrmp/charting-outcomes_non-us-img_2026.json",
            as_of="2026",
            owner="NRMP",
            title="Charting Outcomes: Non-U.S. IMGs, Main Residency Match 2026",
            origin="github.com/saieeshb/img-match-2026 src/data.js @ fbf8e36",
        ),
        Source(
            name="nrmp_program_results_fl",
            path="nrmp/program-results_florida_2020-2026.csv",
            as_of="2026-04",
            owner="NRMP",
            title="Main Match and SMS program results, Florida, 2020-2026",
            origin=(
                "github.com/flchildrenshospitals/nrmp-dashboard "
                "public/NRMP_2020_2026_Main_and_Specialty.csv @ 74da0c2"
            ),
        ),
    ]
}

_DATE_IN_NAME = re.compile(r"_(\d{4}-\d{2}-\d{2})\.[A-Za-z0-9]+$")


def as_of_for(source: Source, location: str) -> str | None:
    """The as-of date of a snapshot: the date its file name carries; else the catalog's, when
    it is the catalog's file; else None (another file's date cannot be known, and the
    catalog's would be invented for it)."""
    name = PurePosixPath(location.split("?", 1)[0]).name
    m = _DATE_IN_NAME.search(name)
    if m:
        return m.group(1)
    return source.as_of if name == PurePosixPath(source.path).name else None
