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
from imgpipeline import conflicts as conflict_steps
from imgpipeline import crosswalk as crosswalk_steps
from imgpipeline import match_probability as probability_steps
from imgpipeline import programs as program_steps
from imgpipeline import scoring as scoring_steps
from imgpipeline.features import build as feature_steps
from imgpipeline.features.visa import visa_conflicts
from imgpipeline.land import Snapshot
from imgpipeline.land import land_snapshot as land
from imgpipeline.locks import run_lock
from imgpipeline.publish import publish_version as publish
from imgpipeline.settings import Settings, get_settings
from imgpipeline.stage import charting as charting_stage
from imgpipeline.stage import freida2016 as freida2016_stage
from imgpipeline.stage import nrmp_results as nrmp_stage
from imgpipeline.stage.acgme import stage_acgme as parse_acgme
from imgpipeline.stage.freida import collapse_exact_duplicates, read_freida_csv
from imgpipeline.stage.freida import stage_freida as parse_freida
from imgpipeline.summary import RunSummary
from imgpipeline.tables import TABLES

WEEKLY_CRON = "0 6 * * 1"
SOURCES = (
    "acgme_programs",
    "freida_programs",
    "freida_2016",
    "nrmp_charting_outcomes",
    "nrmp_program_results_fl",
)


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
def stage_freida_2016(snap: Snapshot) -> pd.DataFrame:
    return TABLES["freida_2016_programs"].coerce(freida2016_stage.stage_freida_2016(snap.local_path))


@task(cache_policy=NO_CACHE)
def stage_nrmp_results(snap: Snapshot) -> tuple[pd.DataFrame, list[str]]:
    """The tidy results, and the codes the file lists on several rows (merged by year)."""
    return nrmp_stage.stage_nrmp_results(snap.local_path), nrmp_stage.repeated_codes(snap.local_path)


@task(cache_policy=NO_CACHE)
def stage_charting(snap: Snapshot) -> tuple[pd.DataFrame, pd.DataFrame]:
    return charting_stage.stage_charting(snap)


@task(cache_policy=NO_CACHE)
def build_features(programs: pd.DataFrame, settings: Settings) -> feature_steps.FeatureTables:
    return feature_steps.build_features(programs, settings)


@task(cache_policy=NO_CACHE)
def build_history(
    staged_2016: pd.DataFrame,
    staged_nrmp: pd.DataFrame,
    programs: pd.DataFrame,
    snaps: dict[str, Snapshot],
    settings: Settings,
) -> dict[str, pd.DataFrame]:
    """The dated outcome and history tables: 2016 minimums, NRMP Florida results, and the
    NRMP-to-ACGME crosswalk, with the records none of them could link."""
    minimums = freida2016_stage.build_minimums_2016(staged_2016, programs, snaps["freida_2016"])
    results = nrmp_stage.build_nrmp_program_results(staged_nrmp, snaps["nrmp_program_results_fl"])
    crosswalk, unmatched_codes = crosswalk_steps.build_crosswalk(
        results, programs, crosswalk_steps.load_rules(settings), staged_2016, snaps
    )
    return {
        "program_minimums_2016": minimums,
        "nrmp_program_results": results,
        "nrmp_crosswalk": crosswalk,
        "unmatched": pd.concat(
            [freida2016_stage.unmatched_2016(minimums), unmatched_codes], ignore_index=True
        ),
    }


@task(cache_policy=NO_CACHE)
def build_conflicts(programs: pd.DataFrame, minimums: pd.DataFrame) -> pd.DataFrame:
    """Where sources disagree: FREIDA vs ACGME, 2016 vs 2025 visas, visa list vs text."""
    return conflict_steps.build_conflicts(programs, minimums, visa_conflicts(programs))


@task(cache_policy=NO_CACHE)
def fit_match_probability(
    outcomes: pd.DataFrame, totals: pd.DataFrame, settings: Settings
) -> pd.DataFrame:
    return probability_steps.build_match_probability_curve(
        outcomes, totals, seed=settings.random_seed
    )


@task(cache_policy=NO_CACHE)
def score_programs(
    features: feature_steps.FeatureTables, minimums: pd.DataFrame
) -> scoring_steps.ScoreTables:
    return scoring_steps.build_program_scores(
        features.program_features, features.feature_evidence, minimums
    )


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
    source, column, rule and rows, and the last good version stays current. One refresh runs
    at a time per processed folder: a second one waits up to ``refresh_lock_wait_s`` (default:
    not at all) and then refuses (``LockBusy``), leaving the first one's publication whole.
    """
    settings = get_settings(
        source_dir=source_dir,
        source_files=source_files,
        raw_dir=raw_dir,
        processed_dir=processed_dir,
    )
    with run_lock(settings.processed_dir, settings.refresh_lock_wait_s):
        return _refresh(settings)


def _refresh(settings: Settings) -> dict[str, Any]:
    """The refresh itself, inside the flow run and the run lock."""
    log = get_run_logger()
    snaps = {name: land_snapshot(name, settings) for name in SOURCES}

    acgme = stage_acgme(snaps["acgme_programs"])
    freida, repeated = stage_freida(snaps["freida_programs"])
    staged_2016 = stage_freida_2016(snaps["freida_2016"])
    staged_nrmp, merged_codes = stage_nrmp_results(snaps["nrmp_program_results_fl"])
    outcomes, totals = stage_charting(snaps["nrmp_charting_outcomes"])
    staged_report = validate_tables(
        [
            (acgme, "acgme_programs", snaps["acgme_programs"].snapshot_id),
            (freida, "freida_programs", snaps["freida_programs"].snapshot_id),
            (staged_2016, "freida_2016_programs", snaps["freida_2016"].snapshot_id),
        ]
    )

    programs, unmatched = build_programs(
        acgme, freida, snaps["acgme_programs"], snaps["freida_programs"]
    )
    features = build_features(programs, settings)
    history = build_history(staged_2016, staged_nrmp, programs, snaps, settings)
    minimums = history["program_minimums_2016"]
    conflicts = build_conflicts(programs, minimums)
    curve = fit_match_probability(outcomes, totals, settings)
    scores = score_programs(features, minimums)
    unmatched = TABLES["unmatched_records"].coerce(
        pd.concat([unmatched, history["unmatched"]], ignore_index=True)
    )

    published = {
        "programs": programs,
        "unmatched_records": unmatched,
        "snapshots": program_steps.snapshots_frame(list(snaps.values())),
        "program_features": features.program_features,
        "feature_evidence": features.feature_evidence,
        "program_minimums_2016": minimums,
        "nrmp_program_results": history["nrmp_program_results"],
        "nrmp_crosswalk": history["nrmp_crosswalk"],
        "conflicts": conflicts,
        "charting_outcomes": outcomes,
        "charting_outcomes_totals": totals,
        "match_probability_curve": curve,
        "program_scores": scores.program_scores,
        "score_reasons": scores.score_reasons,
        "score_validity": scores.score_validity,
    }
    published["changes"], changes_from = diff_changes(published, settings)
    published_report = validate_tables([(df, name, "published") for name, df in published.items()])
    data_docs = build_data_docs()

    summary = RunSummary(
        snapshots=[{"source": s.source, "as_of": s.as_of, "sha256": s.sha256, "snapshot": s.snapshot_id} for s in snaps.values()],
        tables={name: len(df) for name, df in published.items()},
        validation=staged_report + published_report,
        unmatched=program_steps.unmatched_summary(unmatched),
        collapsed_duplicates={snaps["freida_programs"].snapshot_id: repeated},
        data_docs="data_docs/index.html",
        changes_from=changes_from,
        changes=change_steps.counts(published["changes"]),
        notes=[
            f"{snaps['nrmp_program_results_fl'].snapshot_id}: NRMP codes on several rows, merged "
            f"by year (a row without positions gives way to the one with them): {', '.join(merged_codes)}"
        ]
        if merged_codes
        else [],
    )
    changes_text = change_steps.summarize(published["changes"], changes_from)
    summary.sections["Changes since the previous version"] = changes_text
    summary.sections["Program features"] = features.summary_markdown()
    summary.sections["Match probability (IM, non-US IMGs)"] = (
        probability_steps.curve_summary_markdown(curve)
    )
    summary.sections["Program scores: validity"] = scores.summary_markdown
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
