"""The refresh flow: land -> stage -> validate -> build -> validate -> publish.

Only wiring lives here; every step is a plain function of ``imgpipeline.refresh`` (the
refresh wing), and the version is written through ``imgpipeline.store``. Tasks take and
return DataFrames, so none of them is cached across runs (Prefect would hash the frames);
staging is sub-second and landing reuses landed files by checksum.

Run it: ``imgpipeline refresh`` (or ``python -m flows.refresh``), on Prefect's embedded
temporary server by default. Scheduled, two named deployments share one schedule
(the constants below; README, "Scheduled refreshes"): ``weekly-refresh`` from ``prefect.yaml``
runs on a work pool's worker; ``weekly-refresh-serve`` (``python -m flows.refresh --serve``)
runs in the serving process for as long as it lives.
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

from imgpipeline.locks import run_lock
from imgpipeline.refresh import build
from imgpipeline.refresh import changes as change_steps
from imgpipeline.refresh.alerts import alert_on_failure
from imgpipeline.refresh.inputs import (
    current_inputs,
    curve_inputs_key,
    differences,
    nothing_changed,
    run_inputs,
    unchanged_since,
)
from imgpipeline.refresh.land import Snapshot
from imgpipeline.refresh.land import land_snapshot as land
from imgpipeline.refresh.stage import Staged, stage_snapshot
from imgpipeline.refresh.summary import (
    CHANGES_SECTION,
    RunSummary,
    notebooks_markdown,
    run_summary,
    staging_checked,
)
from imgpipeline.settings import Settings, get_settings, run_environment
from imgpipeline.store import publish_version as publish
from imgpipeline.tables import TABLES

WEEKLY_CRON = "0 6 * * 1"
# The schedule options both deployments share; prefect.yaml repeats them for `prefect deploy`
# (tests/test_deployments.py holds the two equal).
TIMEZONE = "UTC"
TAGS = ["imgpipeline", "refresh"]
CONCURRENCY_LIMIT = 1
DEPLOY_NAME = "weekly-refresh"  # prefect.yaml, on a work pool
SERVE_NAME = "weekly-refresh-serve"  # python -m flows.refresh --serve
# The environment of a scheduled run (prefect.yaml's job_variables.env); serve sets it in
# its own process, where its runs execute.
JOB_ENV = {k: v for k, v in run_environment().items() if k in ("PREFECT_LOGGING_EXTRA_LOGGERS", "GX_ANALYTICS_ENABLED", "MPLBACKEND")}
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
def check_inputs(
    snaps: dict[str, Snapshot], settings: Settings, force: bool
) -> tuple[dict[str, Any], str | None]:
    """The run's inputs (snapshot checksums, rulebook digest, code version), and the current
    version if it was computed from the same ones: then there is nothing to do, unless forced."""
    inputs = run_inputs(snaps.values(), settings)
    same = unchanged_since(inputs, settings)
    if same is None and (current := current_inputs(settings)) is not None:
        get_run_logger().info("recomputing: %s", "; ".join(differences(inputs, current[1])))
    return inputs, None if force else same


@task(cache_policy=NO_CACHE, task_run_name="stage-{name}")
def stage_source(name: str, snap: Snapshot) -> Staged:
    """Read one landed snapshot into typed frames (the source's ``stage_<source>``)."""
    return stage_snapshot(snap)


@task(cache_policy=NO_CACHE)
def validate_tables(frames: list[tuple[pd.DataFrame, str, str]]) -> list[dict[str, Any]]:
    """Run each table's declared GX suite; any failure raises ValidationFailed."""
    from imgpipeline.refresh.validate import validate_frames

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


# The build's steps as tasks (one task run each); imgpipeline.refresh.build wires them. The
# match-probability fit alone is cached across runs, keyed on the digests it is a function of
# (``curve_inputs_key``: the Charting Outcomes snapshot's sha256, the rulebook, the code, the
# seed), never on the frames; its result is kept in Prefect's local result storage.
def _step_task(name: str, fn: Any) -> Any:
    if name == "fit_match_probability":
        return task(fn, name=name, persist_result=True,
                    cache_key_fn=lambda _, p: curve_inputs_key(p["outcomes"], p["totals"], p["settings"]))
    return task(fn, cache_policy=NO_CACHE, name=name)


STEPS = build.Steps(**{name: _step_task(name, fn) for name, fn in vars(build.Steps()).items()})


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
    from imgpipeline.refresh.validate import build_data_docs as build
    from imgpipeline.refresh.validate import default_gate

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


@task(cache_policy=NO_CACHE)
def run_analysis(version_dir: str, settings: Settings) -> list[dict[str, Any]]:
    """The analysis notebooks on the version just published (figures into its ``figures/``).
    Never raises: the data is published and stays so; a notebook that fails is reported (log,
    artifact, the run's result and ``<version>/notebooks.json``)."""
    from dataclasses import asdict

    from imgpipeline.refresh.notebooks import run_all

    log = get_run_logger()
    try:
        runs = [asdict(r) for r in run_all(settings, version=Path(version_dir))]
    except Exception as exc:  # the runner itself (no kernel, no jupytext): report it too
        runs = [{"notebook": "*", "ok": False, "executed": None, "figures": None, "error": f"{type(exc).__name__}: {exc}"}]
    for r in runs:
        if r["ok"]:
            log.info("notebook %s: %d figures", r["notebook"], len(r["figures"] or []))
        else:
            log.error("notebook %s failed (the data stays published): %s", r["notebook"], r["error"])
    return runs


@flow(
    name="refresh",
    log_prints=False,
    on_failure=[alert_on_failure],
    on_crashed=[alert_on_failure],
)
def refresh(
    source_dir: str | None = None,
    source_files: dict[str, str] | None = None,
    raw_dir: str | None = None,
    processed_dir: str | None = None,
    force: bool = False,
    notebooks: bool | None = None,
) -> dict[str, Any]:
    """Full refresh of the real snapshots: land, stage, validate, build, validate, publish,
    then run the analysis notebooks on the new version (``notebooks``: default from the
    settings, ``IMGPIPELINE_RUN_NOTEBOOKS``).

    Nothing is published unless every table passes its suite; a failure raises with the
    source, column, rule and rows, and the last good version stays current. When the landed
    snapshots, the rulebook and the code are those the current version was computed from,
    nothing is recomputed or published (``unchanged_since`` names that version) unless
    ``force``. A notebook that fails after publication is reported, and the version stays
    published. One refresh runs at a time per processed folder: a second one waits up to ``refresh_lock_wait_s`` (default:
    not at all) and then refuses (``LockBusy``), leaving the first one's publication whole.
    """
    settings = get_settings(
        source_dir=source_dir,
        source_files=source_files,
        raw_dir=raw_dir,
        processed_dir=processed_dir,
    )
    with run_lock(settings.processed_dir, settings.refresh_lock_wait_s):
        return _refresh(settings, force, notebooks)


def _refresh(settings: Settings, force: bool, notebooks: bool | None) -> dict[str, Any]:
    """The refresh itself, inside the flow run and the run lock."""
    log = get_run_logger()
    snaps = {name: land_snapshot(name, settings) for name in SOURCES}
    inputs, unchanged = check_inputs(snaps, settings, force)
    if unchanged is not None:
        log.info(nothing_changed(unchanged))
        return {"unchanged_since": unchanged, "version": unchanged, "current_dir": str(settings.current_dir)}

    staged = {name: stage_source(name, snap) for name, snap in snaps.items()}
    staged_report = validate_tables(
        [(df, name, snaps[source].snapshot_id) for source, name, df in staging_checked(staged)]
    )
    built = build.build_tables(staged, snaps, settings, STEPS)
    published = built.published
    published["changes"], changes_from = diff_changes(published, settings)
    published_report = validate_tables([(df, name, "published") for name, df in published.items()])
    data_docs = build_data_docs()

    summary = run_summary(snaps, staged, built, staged_report + published_report, inputs, changes_from)
    summary = publish_version(published, settings, summary, {"data_docs": data_docs})
    post_summary(summary)
    log.info("published version %s at %s", summary.version, summary.version_dir)
    result = summary.to_dict()
    if settings.run_notebooks if notebooks is None else notebooks:
        runs = run_analysis(summary.version_dir, settings)
        create_markdown_artifact(
            key="refresh-notebooks",
            markdown=notebooks_markdown(summary.version, runs),
            description="notebooks run after publication",
        )
        result["notebooks"] = runs
    return result


def post_summary(summary: RunSummary) -> None:
    """The run's changes and summary as Prefect artifacts (shown in the UI)."""
    create_markdown_artifact(
        key="refresh-changes",
        markdown=summary.sections[CHANGES_SECTION],
        description="changes since the last version",
    )
    create_markdown_artifact(
        key="refresh-summary", markdown=summary.to_markdown(), description="imgpipeline refresh"
    )


def serve_deployment() -> Any:
    """The deployment ``--serve`` registers: the weekly schedule, tags and concurrency limit of
    prefect.yaml's, under its own name, so it never replaces the work-pool deployment."""
    from prefect.schedules import Cron

    return refresh.to_deployment(
        name=SERVE_NAME,
        schedules=[Cron(WEEKLY_CRON, timezone=TIMEZONE)],
        concurrency_limit=CONCURRENCY_LIMIT,
        tags=TAGS,
        description="The weekly refresh, served by `python -m flows.refresh --serve` (runs "
        "in that process; paused when it stops).",
    )


def serve() -> None:
    """Register ``weekly-refresh-serve`` and run its scheduled runs here until stopped
    (its schedule is paused on shutdown, so no run waits for a process that is gone)."""
    import os

    from prefect import serve as prefect_serve

    for key, value in JOB_ENV.items():
        os.environ.setdefault(key, value)
    prefect_serve(serve_deployment(), pause_on_shutdown=True)


if __name__ == "__main__":
    if "--serve" in sys.argv:
        serve()
    else:
        refresh()
