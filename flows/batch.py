"""The batch flow: read -> validate profiles -> score chunks -> validate -> publish.

Scores a file of many applicant profiles against every program of one published refresh
version and publishes one row per applicant per recommended program (``batch_recommendations``)
and one per applicant (``batch_applicants``), atomically, as a new version under
``<processed>/batches`` (its own ``versions/`` and ``current``, apart from the refresh's).

Only wiring lives here (``imgpipeline.advice.batch`` does the work). The applicants are split into
chunks scored by separate tasks; the result does not depend on the chunking or on the task
runner: Prefect's default thread pool, or Dask (``run_batch(runner="dask")``: a local cluster,
or ``dask_address`` of an existing one) for when one machine is not enough.

Run it: ``imgpipeline batch profiles.csv [--dask]``, or ``python -m flows.batch profiles.csv``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import uuid
from collections import deque
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyarrow.parquet as pq
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from imgpipeline.advice import batch as batch_steps
from imgpipeline.advice.csv_out import write_csv
from imgpipeline.advice.fees import eras_schedule
from imgpipeline.advice.published import load_published
from imgpipeline.checks import ChunkReport, check_chunk, check_rows
from imgpipeline.errors import ValidationFailed
from imgpipeline.locks import pin
from imgpipeline.rulebook import rulebook_digest
from imgpipeline.settings import Settings, get_settings
from imgpipeline.store import publish_version, resolve_version
from imgpipeline.tables import TABLES
from imgpipeline.text import markdown_table

BATCH_TABLES = ("batch_applicants", "batch_recommendations")


@task(cache_policy=NO_CACHE)
def read_profiles(path: str, skip_bad_rows: bool = False, rejects_path: str | None = None, settings: Settings | None = None, plans: bool = False) -> batch_steps.Profiles:
    """Read and validate every profile of the file (all problems reported at once, every bad
    row in the rejects file); bad rows refuse the file unless ``skip_bad_rows``."""
    return batch_steps.read_profiles(path, skip_bad_rows=skip_bad_rows, rejects_path=rejects_path, settings=settings, keep_profiles=plans)


class Chunk:
    """One chunk of profiles handed to a task as a single opaque object. Prefect walks a task's
    parameters (lists, tuples, dataclasses, twice per task) looking for futures: through a
    ``Profiles`` it visited every preferred-states tuple, about 20 s of GIL-holding work at
    100k profiles. (Prefect's ``quote`` does the same on the default runner, but Dask delivers
    it to the task as a plain tuple.)"""

    __slots__ = ("profiles",)

    def __init__(self, profiles: batch_steps.Profiles):
        self.profiles = profiles


@task(cache_policy=NO_CACHE, task_run_name="plan_chunk-{index}")
def plan_chunk(chunk: Chunk, version_dir: str, index: int, settings: Settings) -> pd.DataFrame:
    """Each applicant's plan in one chunk (``batch_plan_steps`` rows), by the settings' rulebook."""
    return batch_steps.plan_chunk(chunk.profiles, load_published(Path(version_dir)), settings)


@task(cache_policy=NO_CACHE, task_run_name="score_chunk-{index}")
def score_chunk(chunk: Chunk, version_dir: str, index: int, settings: Settings) -> list[pd.DataFrame]:
    """Score one chunk against every program (the published data is loaded once per process),
    by the settings' rulebook: ``[applicants, recommendations]``, a list the flow empties once
    it has written them (Prefect keeps a finished task's result for the rest of the run, so a
    chunk's rows would otherwise stay in memory until the flow ends)."""
    return list(batch_steps.score_chunk(chunk.profiles, load_published(Path(version_dir)), settings))


@task(cache_policy=NO_CACHE)
def publish_batch(
    applicants: pd.DataFrame, streamed: dict[str, tuple[Path, int]], settings: Settings, summary: dict[str, Any], rejects: pd.DataFrame | None = None
) -> Path:
    """A new version folder under <processed>/batches (the streamed lists moved in), then one
    switch of its ``current``; rows skipped by --skip-bad-rows are published beside the lists
    as ``rejects.csv``."""
    extra = None
    if rejects is not None and len(rejects):
        staging = Path(tempfile.mkdtemp(prefix="imgpipeline-rejects-"))
        extra = {"rejects.csv": write_csv(rejects, staging / "rejects.csv")}
    return publish_version(
        {"batch_applicants": applicants}, batch_settings(settings), summary, extra_files=extra, streamed=streamed, lock_dir=settings.processed_dir
    )


def batch_settings(settings: Settings) -> Settings:
    """The settings whose processed folder is the batches' own: ``<processed>/batches``."""
    return settings.model_copy(update={"processed_dir": settings.processed_dir / "batches"})


def _markdown(summary: dict[str, Any], folder: Path) -> str:
    a = summary["applicants"]
    lines = [
        f"# imgpipeline batch: version `{folder.name}`",
        "",
        f"Outputs: `{folder}`",
        "",
        f"Scored {a['profiles']:,} profiles of `{summary['input']['file']}` (sha256 `{summary['input']['sha256'][:16]}`) against "
        f"the {summary['programs']} programs of refresh version `{summary['published_version']}`: "
        f"{summary['tables']['batch_recommendations']:,} listed programs in {summary['chunks']} chunk(s) on the {summary['runner']} runner.",
        "",
    ]
    header = ["risk tier", "applicants", "mean listed", "mean expected interviews", "mean P(match | list)", "below the article's size"]
    rows = [
        (tier, f"{row['applicants']:,}", f"{row['mean_listed']:.1f}", f"{row['mean_expected_interviews']:.1f}", f"{row['mean_p_match']:.2f}", f"{row['below_article_size']:,}")
        for tier, row in a["by_tier"].items()
    ]
    return "\n".join([*lines, markdown_table(header, rows)])


def _summary(applicants: pd.DataFrame, profiles: batch_steps.Profiles, version_dir: Path, runner: str, chunks: int, n_programs: int, n_rows: int, settings: Settings) -> dict[str, Any]:
    refresh = load_published(version_dir).manifest
    s = eras_schedule(settings)
    by_tier = {
        str(t): {
            "applicants": int(len(g)),
            "mean_listed": float(g["programs_listed"].mean()),
            "mean_expected_interviews": float(g["expected_interviews"].mean()),
            "mean_p_match": float(g["p_match"].mean()),
            "below_article_size": int(g["below_article_size"].sum()),
        }
        for t, g in applicants.groupby("risk_tier", sort=False)
    }
    return {
        "kind": "batch",
        "input": {"file": profiles.source, "sha256": profiles.sha256},
        "published_version": version_dir.name,
        "published_snapshots": refresh.get("snapshots", []),
        "rulebook_sha256": rulebook_digest(settings),
        "fees": {"season": s.season, "as_of": s.as_of, "source": s.source},
        "runner": runner,
        "chunks": chunks,
        "programs": n_programs,
        "applicants": {"profiles": len(applicants), "by_tier": by_tier},
        "tables": {"batch_applicants": len(applicants), "batch_recommendations": n_rows},
    }


@flow(name="batch", log_prints=False)
def batch(
    profiles: str,
    processed_dir: str | None = None,
    version_dir: str | None = None,
    chunk_size: int = 5000,
    runner_name: str = "default",
    skip_bad_rows: bool = False,
    rejects_path: str | None = None,
    in_flight: int = 3,
    plans: bool = False,
) -> dict[str, Any]:
    """Score every profile of ``profiles`` (CSV, Parquet or a YAML list) against the current
    published version (or ``version_dir``) and publish the lists as a new batch version;
    with ``plans``, each applicant's next steps too (``batch_plan_steps``: every sized step
    re-runs the model, about 30 ms per applicant on 2 cores).

    The chunks' lists stream to one Parquet file (one row group per chunk, at most
    ``in_flight`` chunks scored ahead of the writer), each chunk checked against the table's
    declared checks as it arrives (``imgpipeline.checks``: no frame of every row is ever
    held); any failure, named by row, stops the run before anything is published."""
    settings = get_settings(processed_dir=processed_dir)
    version = resolve_version(Path(version_dir) if version_dir else settings)
    # The refresh version is pinned while it is read: a refresh publishing meanwhile never
    # prunes it from under the batch (imgpipeline.locks).
    with pin(version):
        return _batch(settings, version, profiles, chunk_size, runner_name, skip_bad_rows, rejects_path, in_flight, plans)


def _stream(chunks: list[batch_steps.Profiles], version: Path, lists_path: Path, in_flight: int, settings: Settings) -> tuple[pd.DataFrame, dict[str, ChunkReport]]:
    """Score the chunks (at most ``in_flight`` ahead of the writer), check each against the
    declared checks, and stream the lists to ``lists_path``; the applicants' rows and the
    checks' reports."""
    recs_table, apps_table = TABLES["batch_recommendations"], TABLES["batch_applicants"]
    reports = {n: ChunkReport(n) for n in BATCH_TABLES}
    writer = pq.ParquetWriter(lists_path, recs_table.arrow_schema())
    parts: list[pd.DataFrame] = []
    todo = deque(enumerate(chunks))
    pending: deque[Any] = deque()
    try:
        while todo or pending:
            while todo and len(pending) < max(1, in_flight):
                i, c = todo.popleft()
                pending.append(score_chunk.submit(Chunk(c), str(version), i, settings))
            scored = pending.popleft().result()
            apps, recs = scored
            scored.clear()
            recs = recs_table.coerce(recs)
            for name, df, table in (("batch_recommendations", recs, recs_table), ("batch_applicants", apps_table.coerce(apps), apps_table)):
                r = reports[name]
                evaluated, failures = check_chunk(df, table, "batch", r.rows)
                r.rows += len(df)
                r.chunks += 1
                r.evaluated = max(r.evaluated, evaluated)
                r.failures += failures
            if not any(r.failures for r in reports.values()):
                writer.write_table(recs_table.to_arrow(recs))
            parts.append(apps)
            del recs, apps
    finally:
        writer.close()
    return apps_table.coerce(pd.concat(parts, ignore_index=True)), reports


def _stream_plans(chunks: list[batch_steps.Profiles], version: Path, plans_path: Path, settings: Settings) -> ChunkReport:
    """Each chunk's plans, checked against the declared checks and streamed to ``plans_path``."""
    table = TABLES["batch_plan_steps"]
    report = ChunkReport("batch_plan_steps")
    with pq.ParquetWriter(plans_path, table.arrow_schema()) as writer:
        for future in [plan_chunk.submit(Chunk(c), str(version), i, settings) for i, c in enumerate(chunks)]:
            rows = table.coerce(future.result())
            evaluated, failures = check_chunk(rows, table, "batch", report.rows)
            report.rows += len(rows)
            report.chunks += 1
            report.evaluated = max(report.evaluated, evaluated)
            report.failures += failures
            if not report.failures:
                writer.write_table(table.to_arrow(rows))
    return report


def _batch(
    settings: Settings, version: Path, profiles: str, chunk_size: int, runner_name: str,
    skip_bad_rows: bool, rejects_path: str | None, in_flight: int, plans: bool = False,
) -> dict[str, Any]:
    log = get_run_logger()
    n_programs = load_published(version).n  # fails early on a version without the model
    people = read_profiles(profiles, skip_bad_rows, rejects_path, settings, plans)
    chunks = people.chunks(chunk_size)
    staging = batch_settings(settings).versions_dir / f".streaming-{uuid.uuid4().hex}"
    staging.mkdir(parents=True)
    apps_table, recs_table = TABLES["batch_applicants"], TABLES["batch_recommendations"]
    lists_path = staging / "batch_recommendations.parquet"
    try:
        applicants, reports = _stream(chunks, version, lists_path, in_flight, settings)
        streamed = {"batch_recommendations": (lists_path, reports["batch_recommendations"].rows)}
        if plans:
            plans_path = staging / "batch_plan_steps.parquet"
            reports["batch_plan_steps"] = _stream_plans(chunks, version, plans_path, settings)
            streamed["batch_plan_steps"] = (plans_path, reports["batch_plan_steps"].rows)
        # Across chunks: profile ids unique, and the row counts.
        _, across = check_chunk(applicants[["profile_id"]], apps_table, "batch")
        failures = [f for r in reports.values() for f in r.failures]
        failures += [f for f in across if f.rule == "column_values_to_be_unique" and f not in failures]
        failures += check_rows(apps_table, len(applicants), "batch") + check_rows(recs_table, reports["batch_recommendations"].rows, "batch")
        if plans:
            failures += check_rows(TABLES["batch_plan_steps"], reports["batch_plan_steps"].rows, "batch")
        if failures:
            raise ValidationFailed(failures)
        n_rows = reports["batch_recommendations"].rows
        summary = _summary(applicants, people, version, runner_name, len(chunks), n_programs, n_rows, settings)
        summary["validation"] = [
            {"table": r.table, "rows": r.rows, "chunks": r.chunks, "evaluated": r.evaluated, "failed": len(r.failures), "engine": "imgpipeline.checks (declared checks per chunk)"}
            for r in reports.values()
        ]
        n_rejects = 0 if people.rejects is None else int(people.rejects["row"].nunique())
        summary["rejected_rows"] = n_rejects
        if n_rejects:
            summary["rejects"] = {"file": "rejects.csv", "copy": rejects_path}
            log.warning("%d bad rows skipped (--skip-bad-rows); they are in rejects.csv of the version", n_rejects)
        summary["tables"].update({name: rows for name, (_, rows) in streamed.items()})
        folder = publish_batch(applicants, streamed, settings, summary, people.rejects)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    markdown = _markdown(summary, folder)
    create_markdown_artifact(key="batch-summary", markdown=markdown, description="imgpipeline batch")
    log.info("published batch version %s at %s", folder.name, folder)
    return {**summary, "version": folder.name, "version_dir": str(folder), "markdown": markdown}


def run_batch(
    profiles: str,
    processed_dir: str | None = None,
    version_dir: str | None = None,
    chunk_size: int = 5000,
    runner: Literal["default", "dask"] = "default",
    dask_address: str | None = None,
    dask_workers: int = 2,
    dask_processes: bool = True,
    skip_bad_rows: bool = False,
    rejects_path: str | None = None,
    in_flight: int = 3,
    plans: bool = False,
) -> dict[str, Any]:
    """Run the flow on Prefect's default task runner, or on Dask: an existing cluster at
    ``dask_address``, else a local one of ``dask_workers`` single-threaded workers. At most
    ``in_flight`` chunks are scored ahead of the Parquet writer (memory grows with it)."""
    if runner == "default":
        return batch(profiles, processed_dir, version_dir, chunk_size, "default", skip_bad_rows, rejects_path, in_flight, plans)
    from prefect_dask import DaskTaskRunner

    if dask_address:
        task_runner = DaskTaskRunner(address=dask_address)
    else:
        task_runner = DaskTaskRunner(
            cluster_kwargs={"n_workers": dask_workers, "threads_per_worker": 1, "processes": dask_processes, "dashboard_address": None}
        )
    return batch.with_options(task_runner=task_runner)(profiles, processed_dir, version_dir, chunk_size, "dask", skip_bad_rows, rejects_path, max(in_flight, dask_workers), plans)


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args:
        sys.exit("usage: python -m flows.batch PROFILES [--dask]")
    print(run_batch(args[0], runner="dask" if "--dask" in args else "default")["markdown"])  # noqa: T201
