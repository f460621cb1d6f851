"""Columns several tables share, declared once."""

from __future__ import annotations

from imgpipeline.declare import ACGME_ID_PATTERN, Column
from imgpipeline.vocabulary import US_STATES


def acgme_id(unique: bool = True, source: str = "ACGME") -> Column:
    return Column(
        "acgme_id",
        "string",
        "ACGME program number (10 digits; IM numbers start with 140); FREIDA's program_id",
        source=source,
        nullable=False,
        unique=unique,
        pattern=ACGME_ID_PATTERN,
    )


def state(source: str, nullable: bool = False) -> Column:
    return Column(
        "state",
        "category",
        "US state or territory, two-letter postal code",
        source=source,
        nullable=nullable,
        allowed=tuple(US_STATES),
    )


def provenance(prefix: str, source_title: str, full_date: bool = True) -> tuple[Column, ...]:
    """The three columns that trace a row to one landed snapshot of a source. The as-of is a
    date, unless the source dates its files by year or month only (``full_date=False``: NRMP),
    when it stays that text."""
    return (
        Column(
            f"{prefix}_snapshot",
            "string",
            f"Snapshot id of the {source_title} file this row comes from: source@as-of#sha256[:12]",
            source="manifest",
        ),
        Column(
            f"{prefix}_as_of",
            "date" if full_date else "string",
            f"As-of date of that {source_title} snapshot" + ("" if full_date else " (a year or year-month, as the source dates it)"),
            source="manifest",
        ),
        Column(
            f"{prefix}_sha256",
            "string",
            f"sha256 of that {source_title} snapshot, as landed in data/raw",
            source="manifest",
            pattern=r"^[0-9a-f]{64}$",
        ),
    )
