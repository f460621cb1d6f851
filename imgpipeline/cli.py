"""The ``imgpipeline`` command line: refresh the published data, and read it."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table as RichTable

from imgpipeline.errors import PipelineError
from imgpipeline.settings import PROJECT_DIR, get_settings

app = typer.Typer(help="Open, validated IM residency program data for IMGs.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def prefect_environment() -> None:
    """Defaults for running flows here: Prefect's home inside the project, telemetry off,
    library logs shown in flow runs. Values already in the environment win."""
    os.environ.setdefault("PREFECT_HOME", str(PROJECT_DIR / ".prefect"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "imgpipeline")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")


SourceDir = Annotated[
    str | None,
    typer.Option(help="Folder or http(s) base URL of the source snapshots (default ../shared/data)"),
]
FreidaFile = Annotated[
    str | None,
    typer.Option(help="FREIDA snapshot to read instead of the newest (path or URL, relative to --source-dir; its name carries its as-of date: <name>_YYYY-MM-DD.csv)"),
]
ProcessedDir = Annotated[Path | None, typer.Option(help="Where versions are published")]
RawDir = Annotated[Path | None, typer.Option(help="Where snapshots are landed")]


@app.command()
def refresh(
    source_dir: SourceDir = None,
    freida_file: FreidaFile = None,
    raw_dir: RawDir = None,
    processed_dir: ProcessedDir = None,
) -> None:
    """Land, validate and publish a new version from the source snapshots (a Prefect flow)."""
    prefect_environment()
    from flows.refresh import refresh as refresh_flow
    from imgpipeline.publish import current_version

    files = {"freida_programs": freida_file} if freida_file else None
    settings = get_settings(processed_dir=processed_dir)
    before = current_version(settings)
    try:
        result = refresh_flow(
            source_dir=source_dir,
            source_files=files,
            raw_dir=str(raw_dir) if raw_dir else None,
            processed_dir=str(processed_dir) if processed_dir else None,
        )
    except Exception as exc:
        # A check that failed (PipelineError) says what failed; anything else is a bug, whose
        # traceback Prefect has logged above. Either way: what is current now.
        what = str(exc) if isinstance(exc, PipelineError) else f"{type(exc).__name__}: {exc}"
        after = current_version(settings)
        if after is not None and after != before:
            err.print(f"[bold red]refresh failed after publishing {after.name}.[/]\n{what}")
        else:
            err.print(f"[bold red]refresh failed; nothing was published.[/]\n{what}")
            if after is not None:
                err.print(f"The last good version is still current: {after}")
        raise typer.Exit(1) from None
    print_summary(result)


def print_summary(result: dict) -> None:
    tables = RichTable(title="Published tables")
    tables.add_column("table")
    tables.add_column("rows", justify="right")
    for name, rows in result["tables"].items():
        tables.add_row(name, str(rows))
    console.print(tables)
    checks = RichTable(title="Validation")
    for col in ("table", "source", "rows", "checks", "failed"):
        checks.add_column(col)
    for v in result["validation"]:
        checks.add_row(v["table"], v["source"], str(v["rows"]), str(v["evaluated"]), str(v["failed"]))
    console.print(checks)
    for what, ids in result.get("unmatched", {}).items():
        console.print(f"{what}: {len(ids)} {', '.join(ids)}")
    for src, ids in result.get("collapsed_duplicates", {}).items():
        if ids:
            console.print(f"exact duplicate rows collapsed in {src}: {', '.join(ids)}")
    for note in result.get("notes", []):
        console.print(note)
    for title, text in result.get("sections", {}).items():
        console.rule(title)
        console.print(Markdown(text))
    if result.get("data_docs"):
        console.print(f"Data Docs: {result['data_docs']}")
    console.print(
        f"[bold green]Published version {result['version']}[/]\n"
        f"  outputs: {result['current_dir']} -> {result['version_dir']}"
    )


@app.command()
def where(processed_dir: ProcessedDir = None) -> None:
    """Print the folder of the current published version."""
    from imgpipeline.publish import current_version

    settings = get_settings(processed_dir=processed_dir)
    current = current_version(settings)
    if current is None:
        err.print(f"nothing published yet under {settings.processed_dir}: run `make run`")
        raise typer.Exit(1)
    console.print(str(current))


@app.command()
def recommend(
    profile: Annotated[Path, typer.Argument(help="Applicant profile (YAML; docs/recommend.md)")],
    out: Annotated[Path | None, typer.Option(help="Folder for the CSV, JSON and Parquet files (default ./recommendation-<profile>)")] = None,
    processed_dir: ProcessedDir = None,
    version_dir: Annotated[Path | None, typer.Option(help="Read this published version folder instead of the current one")] = None,
    rows: Annotated[int, typer.Option(help="Programs shown on screen (the files hold the whole list)")] = 25,
) -> None:
    """Your risk tier, each program's chance of interviewing you, the list by expected value,
    the interviews it should bring and P(match | list), readiness and what to confirm; from the
    published data alone (no Prefect, no Great Expectations)."""
    from imgpipeline.advice.recommend import recommend as build
    from imgpipeline.advice.render import renderables
    from imgpipeline.applicant import ProfileError, load_profile

    try:
        applicant = load_profile(profile)
        rec = build(applicant, version_dir or get_settings(processed_dir=processed_dir))
    except (ProfileError, PipelineError, FileNotFoundError) as exc:
        err.print(f"[bold red]no recommendation:[/] {exc}")
        raise typer.Exit(1) from None
    for item in renderables(rec, rows):
        console.print(item)
    files = rec.write(out or Path(f"recommendation-{profile.stem}"))
    console.print("Files: " + ", ".join(str(p) for p in files.values()))


@app.command()
def batch(
    profiles: Annotated[Path, typer.Argument(help="Applicant profiles: CSV or Parquet (one row each) or a YAML list (docs/recommend.md)", exists=True, dir_okay=False)],
    processed_dir: ProcessedDir = None,
    chunk_size: Annotated[int, typer.Option(help="Profiles per scoring task")] = 5000,
    dask: Annotated[bool, typer.Option(help="Run the scoring tasks on a Dask cluster (prefect-dask)")] = False,
    dask_address: Annotated[str | None, typer.Option(help="Scheduler address of an existing Dask cluster (default: a local one)")] = None,
    dask_workers: Annotated[int, typer.Option(help="Workers of the local Dask cluster")] = 2,
) -> None:
    """Score a file of many applicant profiles against every program and publish one row per
    applicant per recommended program (a Prefect flow; a new version under <processed>/batches)."""
    prefect_environment()
    from flows.batch import run_batch

    try:
        result = run_batch(
            str(profiles), processed_dir=str(processed_dir) if processed_dir else None, chunk_size=chunk_size,
            runner="dask" if dask or dask_address else "default", dask_address=dask_address, dask_workers=dask_workers,
        )
    except PipelineError as exc:
        err.print(f"[bold red]batch failed; nothing was published.[/]\n{exc}")
        raise typer.Exit(1) from None
    console.print(Markdown(result["markdown"]))


@app.command()
def changes(processed_dir: ProcessedDir = None) -> None:
    """Print what the current version changed since the one before it (changes.parquet)."""
    from imgpipeline.changes import summarize
    from imgpipeline.publish import current_version, read_manifest, read_table

    settings = get_settings(processed_dir=processed_dir)
    if current_version(settings) is None:
        err.print(f"nothing published yet under {settings.processed_dir}: run `make run`")
        raise typer.Exit(1)
    frame = read_table("changes", settings)
    console.print(Markdown(summarize(frame, read_manifest(settings).get("changes_from"))))


@app.command()
def notebooks(
    processed_dir: ProcessedDir = None,
    only: Annotated[
        list[str] | None, typer.Option(help="Run only notebooks whose name starts with this (e.g. 01)")
    ] = None,
) -> None:
    """Execute the analysis notebooks on the current version; the executed notebooks go to
    <version>/notebooks/ and their figures to <version>/figures/."""
    from imgpipeline.notebooks import run_notebooks

    settings = get_settings(processed_dir=processed_dir)
    try:
        written = run_notebooks(settings, only)
    except FileNotFoundError as exc:
        err.print(str(exc))
        raise typer.Exit(1) from None
    for path in written:
        console.print(f"executed {path}")
    if written:
        console.print(f"figures: {written[0].parent.parent / 'figures'}")


@app.command()
def sensitivity(
    profiles: Annotated[list[Path], typer.Argument(help="Applicant profiles (YAML) to rebuild under each change", exists=True, dir_okay=False)],
    processed_dir: ProcessedDir = None,
) -> None:
    """How much the listed examples' advice moves when each judgement constant of the
    interview model is halved or raised by half (Markdown; docs/scoring.md quotes it)."""
    from imgpipeline import sensitivity as sens
    from imgpipeline.advice.published import load_published
    from imgpipeline.applicant import load_profile

    data = load_published(get_settings(processed_dir=processed_dir))
    table = sens.sensitivity(data, {p.stem: load_profile(p) for p in profiles})
    console.print(sens.markdown(table), soft_wrap=True)


@app.command()
def dictionary(
    check: Annotated[bool, typer.Option(help="Only check that docs/data_dictionary.md is current")] = False,
) -> None:
    """Regenerate docs/data_dictionary.md from the table declarations."""
    from imgpipeline import dictionary as dd

    if check:
        diff = dd.stale()
        if diff:
            err.print(f"{dd.DICTIONARY_PATH} is out of date; run `{dd.REGENERATE}`:\n{diff}")
            raise typer.Exit(1)
        console.print(f"{dd.DICTIONARY_PATH} is current")
        return
    console.print(f"wrote {dd.write()}")


@app.command("schema-lock")
def schema_lock(
    tables: Annotated[list[str] | None, typer.Argument(help="Tables to record (default: all published)")] = None,
    check: Annotated[bool, typer.Option(help="Only check the declarations against the lock")] = False,
) -> None:
    """Record the published tables' schema versions in imgpipeline/schema_lock.json."""
    from imgpipeline import contract

    lock = contract.load()
    if check:
        problems = contract.check(lock)
        for p in problems:
            err.print(f"- {p}")
        if problems:
            raise typer.Exit(1)
        console.print("every published schema matches its locked version")
        return
    try:
        new = contract.updated(lock, only=tables)
    except ValueError as exc:
        err.print(f"[bold red]not recorded:[/]\n{exc}")
        raise typer.Exit(1) from None
    contract.write(new)
    console.print(f"wrote {contract.LOCK_PATH}: " + ", ".join(f"{k} {max(v, key=contract.version_key)}" for k, v in new.items()))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    processed_dir: ProcessedDir = None,
    workers: Annotated[int, typer.Option(help="Worker processes (each reads the version once)")] = 1,
) -> None:
    """The applicant's web page and the JSON API (FastAPI) over the current published version:
    a form for your profile, your list with its reasons, each program's evidence, the sources;
    /api/recommend, /api/programs, /api/version and the OpenAPI docs at /docs. A refresh's new
    version is picked up by the next request. No Prefect, no Great Expectations."""
    import uvicorn

    if processed_dir is not None:
        os.environ["IMGPIPELINE_PROCESSED_DIR"] = str(processed_dir.resolve())
    settings = get_settings(processed_dir=processed_dir)
    console.print(f"serving {settings.current_dir} on http://{host}:{port}/ (API docs at /docs); Ctrl-C stops")
    uvicorn.run("imgpipeline.web.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False)


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    app()


if __name__ == "__main__":
    main()
