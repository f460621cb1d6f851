"""The refresh flow: land -> stage -> validate -> build -> validate -> publish.

Only wiring lives here; every step is a plain function of ``imgpipeline``. Tasks take and
return DataFrames, so none of them is cached across runs (Prefect would hash the frames);
staging is sub-second and landing reuses landed files by checksum.

Run it: ``imgpipeline refresh`` (or ``python -m flows.refresh``), on Prefect's embedded
temporary server by default. Serve it weekly: ``python -m flows.refresh --serve``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from imgpipeline import changes as change_steps
from imgpipeline import programs as program_steps
from imgpipeline.land import Snapshot
from imgpipeline.land import land_snapshot as land
from imgpipeline.publish import publish_version as publish
from imgpipeline.settings import Settings, get_settings
from imgpipeline.stage.acgme import stage_acgme as parse_acgme
from imgpipeline.stage.freida import collapse_exact_duplicates, read_freida_csv
from imgpipeline.stage.freida import stage_freida as parse_freida
from imgpipeline.summary import RunSummary
from imgpipeline.tables import TABLES

WEEKLY_CRON = "0 6 * * 1"
SOURCES = ("acgme_programs", "freida_programs")


@task(cache_policy=NO_CACHE, task_run_name="land_snapshot-{name}")
def land_snapshot(name: str, settings: Settings) -> Snapshot:
    """I/O: fetch (with retries on transient HTTP failures) and land one snapshot."""
    return land(name, settings)


@task(cache_policy=NO_CACHE)
def stage_acgme(snap: Snapshot) -> pd.DataFrame:
    return TABLES["acgme_programs"].coerce(parse_acgme(snap.local_path))


@task(cache_policy=NO_CACHE)
def stage_freida(snap: Snapshot) -> tuple[pd.DataFrame, list[str]]:
    staged, repeated = collapse_exact_duplicates(
        parse_freida(read_freida_csv(snap.local_path)), "acgme_id"
    )
    return TABLES["freida_programs"].coerce(staged, as_of=snap.as_of), repeated


@task(cache_policy=NO_CACHE)
def validate_tables(frames: list[tuple[pd.DataFrame, str, str]]) -> list[dict[str, Any]]:
    """Run each table's declared GX suite; any failure raises ValidationFailed."""
    from imgpipeline.validate import validate_frames

    reports = validate_frames(
        [(df, TABLES[name], src) for df, name, src in frames], run_name=flow_run.id
    )
    return [
        {
            "table": r.table,
            "source": r.source,
            "rows": r.rows,
            "evaluated": r.evaluated,
            "failed": len(r.failures),
        }
        for r in reports
    ]


@task(cache_policy=NO_CACHE)
def build_programs(
    acgme: pd.DataFrame, freida: pd.DataFrame, acgme_snap: Snapshot, freida_snap: Snapshot
) -> tuple[pd.DataFrame, pd.DataFrame]:
    return program_steps.build_programs(acgme, freida, acgme_snap, freida_snap)


@task(cache_policy=NO_CACHE)
def diff_changes(
    tables: dict[str, pd.DataFrame], settings: Settings
) -> tuple[pd.DataFrame, str | None]:
    """The new tables against the current version (if any), before the switch."""
    return change_steps.changes_since_current(tables, settings)


@task(cache_policy=NO_CACHE)
def build_data_docs() -> Path:
    """Great Expectations' HTML Data Docs of this run's validations, in a folder that
    publish_version moves into the new version (``data_docs/index.html``)."""
    from imgpipeline.validate import build_data_docs as build
    from imgpipeline.validate import default_gate

    out = Path(tempfile.mkdtemp(prefix="imgpipeline-data-docs-"))
    build(default_gate().take_results(flow_run.id), out)
    return out


@task(cache_policy=NO_CACHE)
def publish_version(
    tables: dict[str, pd.DataFrame],
    settings: Settings,
    summary: RunSummary,
    extra_files: dict[str, Path] | None = None,
) -> RunSummary:
    folder = publish(tables, settings, summary.to_dict(), extra_files=extra_files)
    if summary.data_docs:
        summary.data_docs = str(folder / summary.data_docs)
    summary.version = folder.name
    summary.version_dir = str(folder)
    summary.current_dir = str(settings.current_dir)
    return summary


@flow(name="refresh", log_prints=False)
def refresh(
    source_dir: str | None = None,
    source_files: dict[str, str] | None = None,
    raw_dir: str | None = None,
    processed_dir: str | None = None,
) -> dict[str, Any]:
    """Full refresh of the real snapshots: land, stage, validate, build, validate, publish.

    Nothing is published unless every table passes its suite; a failure raises with the
    source, column, rule and rows, and the last good version stays current.
    """
    log = get_run_logger()
    settings = get_settings(
        source_dir=source_dir,
        source_files=source_files,
        raw_dir=raw_dir,
        processed_dir=processed_dir,
    )
    snaps = {name: land_snapshot(name, settings) for name in SOURCES}
    acgme = stage_acgme(snaps["acgme_programs"])
    freida, repeated = stage_freida(snaps["freida_programs"])
    staged_report = validate_tables(
        [
            (acgme, "acgme_programs", snaps["acgme_programs"].snapshot_id),
            (freida, "freida_programs", snaps["freida_programs"].snapshot_id),
        ]
    )
    programs, unmatched = build_programs(
        acgme, freida, snaps["acgme_programs"], snaps["freida_programs"]
    )
    snapshots = program_steps.snapshots_frame(list(snaps.values()))
    published = {"programs": programs, "unmatched_records": unmatched, "snapshots": snapshots}
    published["changes"], changes_from = diff_changes(published, settings)
    published_report = validate_tables([(df, name, "published") for name, df in published.items()])
    data_docs = build_data_docs()

    summary = RunSummary(
        snapshots=[{"source": s.source, "as_of": s.as_of, "sha256": s.sha256, "snapshot": s.snapshot_id} for s in snaps.values()],
        tables={name: len(df) for name, df in published.items()},
        validation=staged_report + published_report,
        unmatched={
            "ACGME programs without a FREIDA page": sorted(
                unmatched.loc[unmatched["source"] == "acgme_programs", "record_id"]
            ),
            "FREIDA pages not on the ACGME list": sorted(
                unmatched.loc[unmatched["source"] == "freida_programs", "record_id"]
            ),
        },
        collapsed_duplicates={snaps["freida_programs"].snapshot_id: repeated},
        data_docs="data_docs/index.html",
        changes_from=changes_from,
        changes=change_steps.counts(published["changes"]),
    )
    changes_text = change_steps.summarize(published["changes"], changes_from)
    summary.sections["Changes since the previous version"] = changes_text
    summary = publish_version(published, settings, summary, {"data_docs": data_docs})
    create_markdown_artifact(
        key="refresh-changes", markdown=changes_text, description="changes since the last version"
    )
    create_markdown_artifact(
        key="refresh-summary", markdown=summary.to_markdown(), description="imgpipeline refresh"
    )
    log.info("published version %s at %s", summary.version, summary.version_dir)
    return summary.to_dict()


if __name__ == "__main__":
    if "--serve" in sys.argv:
        refresh.serve(name="weekly-refresh", cron=WEEKLY_CRON)
    else:
        refresh()
