"""The published program universe: the ACGME list joined with FREIDA on the program number."""

from __future__ import annotations

import pandas as pd

from imgpipeline.refresh.land import Snapshot, provenance
from imgpipeline.refresh.sources import CATALOG
from imgpipeline.tables import TABLES

FREIDA_RENAMES = {
    "program_name": "freida_program_name",
    "city": "freida_city",
    "state": "freida_state",
    "source_url": "freida_url",
    "data_last_updated": "freida_last_updated",
}


def build_programs(
    acgme: pd.DataFrame,
    freida: pd.DataFrame,
    acgme_snap: Snapshot,
    freida_snap: Snapshot,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``programs`` (every ACGME program, with FREIDA's fields where FREIDA has the program)
    and ``unmatched_records`` (ids either source has and the other lacks)."""
    table = TABLES["programs"]
    fr = freida.rename(columns=FREIDA_RENAMES)
    keep = [c for c in fr.columns if c in set(table.column_names)]
    merged = acgme.merge(fr[keep], on="acgme_id", how="left", indicator=True)
    merged["in_freida"] = merged.pop("_merge").eq("both")
    for k, v in {
        **provenance("acgme", acgme_snap),
        **provenance("freida", freida_snap),
    }.items():
        merged[k] = v
    programs = table.coerce(merged[[c for c in table.column_names if c in merged.columns]])

    only_acgme = acgme[~acgme["acgme_id"].isin(freida["acgme_id"])]
    only_freida = freida[~freida["acgme_id"].isin(acgme["acgme_id"])]
    unmatched = pd.concat(
        [
            pd.DataFrame(
                {
                    "source": "acgme_programs",
                    "record_id": only_acgme["acgme_id"],
                    "missing_from": "freida_programs",
                    "program_name": only_acgme["program_name"],
                    "city": only_acgme["city"],
                    "state": only_acgme["state"],
                    "note": "published in programs with in_freida = false: no FREIDA fields",
                    "snapshot": acgme_snap.snapshot_id,
                }
            ),
            pd.DataFrame(
                {
                    "source": "freida_programs",
                    "record_id": only_freida["acgme_id"],
                    "missing_from": "acgme_programs",
                    "program_name": only_freida["program_name"],
                    "city": only_freida["city"],
                    "state": only_freida["state"],
                    "note": "not on the ACGME accredited list: left out of programs",
                    "snapshot": freida_snap.snapshot_id,
                }
            ),
        ],
        ignore_index=True,
    )
    return programs, TABLES["unmatched_records"].coerce(unmatched)


UNMATCHED_LABELS = {
    ("acgme_programs", "freida_programs"): "ACGME programs without a FREIDA page",
    ("freida_programs", "acgme_programs"): "FREIDA pages not on the ACGME list",
    ("freida_2016", "acgme_programs"): "2016 FREIDA IM programs no longer on the ACGME list",
    ("nrmp_program_results_fl", "acgme_programs"): "NRMP Florida IM codes not linked to an ACGME program",
}


def unmatched_summary(unmatched: pd.DataFrame) -> dict[str, list[str]]:
    """The run summary's view of ``unmatched_records``: ids per kind of gap (every known kind
    listed, empty ones too, so a summary shows that a gap was checked)."""
    out: dict[str, list[str]] = {label: [] for label in UNMATCHED_LABELS.values()}
    for (source, missing), group in unmatched.groupby(["source", "missing_from"], sort=False):
        label = UNMATCHED_LABELS.get((source, missing), f"{source} records missing from {missing}")
        out[label] = sorted(group["record_id"].astype(str))
    return out


def snapshots_frame(snaps: list[Snapshot]) -> pd.DataFrame:
    """The ``snapshots`` table: the provenance of a version."""
    rows = [
        {
            "snapshot": s.snapshot_id,
            "source": s.source,
            "title": CATALOG[s.source].title,
            "as_of": s.as_of,
            "retrieved_at": s.retrieved_at,
            "sha256": s.sha256,
            "size_bytes": s.size_bytes,
            "location": s.location,
            "origin": CATALOG[s.source].origin,
            "rights": s.rights,
        }
        for s in snaps
    ]
    return TABLES["snapshots"].coerce(pd.DataFrame(rows))
