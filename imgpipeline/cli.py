"""The ``imgpipeline`` command line: refresh the published data, and read it."""

from __future__ import annotations

import functools
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

# pydantic looks for plugins (the ``pydantic`` entry-point group) when it builds its first
# model: a scan of every installed distribution's metadata, 20-30 ms of each command in this
# venv, which installs none. The command line skips the scan unless the environment says
# otherwise (PYDANTIC_DISABLE_PLUGINS set to "" loads plugins again). Before the settings'
# model is built, below.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from imgpipeline.errors import PipelineError  # noqa: E402
from imgpipeline.settings import get_settings  # noqa: E402
from imgpipeline.text import named_line  # noqa: E402

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(help="Open, validated IM residency program data for IMGs.", no_args_is_help=True)


@functools.cache
def console() -> Console:
    """Standard output for rich (made on first use: a command printing to a pipe never imports
    rich). soft_wrap: a line is never broken at the console's width (80 columns when piped, in
    cron or CI logs), so a path or an id stays whole; the terminal wraps it on screen if it must."""
    from rich.console import Console

    return Console(soft_wrap=True)


@functools.cache
def err() -> Console:
    """Standard error for rich, as ``console``."""
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True)


def on_terminal() -> bool:
    """Whether standard output is a terminal (rich draws tables and renders Markdown there).
    A stream that is no terminal (a pipe, a file, a test's capture) is answered without importing
    rich, unless rich's own overrides are set (FORCE_COLOR, TTY_COMPATIBLE): then rich decides."""
    if os.environ.get("FORCE_COLOR") is None and os.environ.get("TTY_COMPATIBLE", "") in ("", "0"):
        try:
            if not sys.stdout.isatty():
                return False
        except (AttributeError, ValueError):  # no stream, or a closed one
            return False
    return console().is_terminal


def skip_the_last_collections() -> None:
    """At exit, no last garbage collection over everything the process built: ``gc.freeze``,
    run by ``atexit`` before the interpreter's teardown. A command that read a version and wrote
    its files holds pandas, pyarrow, pydantic and the advice's objects; the teardown's passes over
    them took 0.3-0.5 s (more than the advice itself), 0.05-0.1 s frozen. Exit handlers still run
    (logging's is registered earlier, so after this one), the standard streams are still flushed;
    every file the command writes is closed before it returns. Objects held only by reference
    cycles are not finalised, their memory is the OS's to take back."""
    import atexit
    import gc

    atexit.unregister(gc.freeze)  # once, however many times a test process runs the command
    atexit.register(gc.freeze)


def say(text: str) -> None:
    """A line (or lines) on standard output as they are: no markup, no wrapping, no rich."""
    sys.stdout.write(text + "\n")


def emit_table(title: str, headers: list[str], rows: list[list[str]]) -> None:
    """A table: drawn by rich on a terminal; piped (a log), one line per row with every
    value named, since a drawn table wraps its cells at 80 columns."""
    if on_terminal():
        from rich.table import Table as RichTable

        table = RichTable(title=title)
        for h in headers:
            table.add_column(h, justify="right" if h in ("rows", "checks", "failed") else "left")
        for row in rows:
            table.add_row(*row)
        console().print(table)
        return
    for row in rows:
        say(named_line(title, headers, row))


def emit_markdown(title: str | None, text: str) -> None:
    """Markdown: rendered on a terminal; piped, its source lines as they are (rich would
    re-wrap paragraphs at 80 columns)."""
    if on_terminal():
        if title:
            console().rule(title)
        from rich.markdown import Markdown  # markdown-it and its plugins: only for a terminal

        console().print(Markdown(text))
        return
    if title:
        say(f"## {title}")
    say(text.rstrip("\n"))


def prefect_environment() -> None:
    """Defaults for running flows here (pyproject.toml's ``[tool.prefect]`` and
    ``[tool.imgpipeline.environment]``: Prefect's home inside the project, telemetry off,
    library logs shown in flow runs). Values already in the environment win."""
    from imgpipeline.settings import apply_run_environment

    apply_run_environment()


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
    force: Annotated[bool, typer.Option(help="Recompute and publish even when the snapshots, rulebook and code are those of the current version")] = False,
) -> None:
    """Land, validate and publish a new version from the source snapshots (a Prefect flow);
    when nothing changed since the current version, say so and publish nothing."""
    from imgpipeline.locks import busy, refresh_lock_path

    files = {"freida_programs": freida_file} if freida_file else None
    settings = get_settings(processed_dir=processed_dir)
    holder = busy(refresh_lock_path(settings.processed_dir))
    if holder and settings.refresh_lock_wait_s <= 0:
        # Refused before Prefect starts; the flow's own lock is what guarantees it.
        raise refuse(
            f"{holder} holds {refresh_lock_path(settings.processed_dir)} (setting IMGPIPELINE_REFRESH_LOCK_WAIT_S); nothing was changed",
            "refresh refused",
        )
    prefect_environment()
    from flows.refresh import refresh as refresh_flow
    from imgpipeline.store import current_version

    before = current_version(settings)
    try:
        result = refresh_flow(
            source_dir=source_dir,
            source_files=files,
            raw_dir=str(raw_dir) if raw_dir else None,
            processed_dir=str(processed_dir) if processed_dir else None,
            force=force,
        )
    except Exception as exc:
        # A check that failed (PipelineError) says what failed; anything else is a bug, whose
        # traceback Prefect has logged above. Either way: what is current now.
        what = str(exc) if isinstance(exc, PipelineError) else f"{type(exc).__name__}: {exc}"
        after = current_version(settings)
        plain = {"markup": False, "highlight": False}
        if after is not None and after != before:
            err().print(f"refresh failed after publishing {after.name}.", style="bold red", **plain)
            err().print(what, **plain)
        else:
            err().print("refresh failed; nothing was published.", style="bold red", **plain)
            err().print(what, **plain)
            if after is not None:
                err().print(f"The last good version is still current: {after}", **plain)
        raise typer.Exit(1) from None
    if result.get("unchanged_since"):
        from imgpipeline.refresh.inputs import nothing_changed

        console().print(nothing_changed(result["unchanged_since"]), highlight=False)
        return
    print_summary(result)


def print_summary(result: dict) -> None:
    """The run summary, one fact per line when piped (see ``emit_table``)."""
    plain = {"markup": False, "highlight": False}
    emit_table("Published tables", ["table", "rows"], [[n, str(r)] for n, r in result["tables"].items()])
    emit_table(
        "Validation",
        ["table", "source", "rows", "checks", "failed"],
        [[v["table"], v["source"], str(v["rows"]), str(v["evaluated"]), str(v["failed"])] for v in result["validation"]],
    )
    for what, ids in result.get("unmatched", {}).items():
        console().print(f"{what}: {len(ids)} {', '.join(ids)}", **plain)
    for src, ids in result.get("collapsed_duplicates", {}).items():
        if ids:
            console().print(f"exact duplicate rows collapsed in {src}: {', '.join(ids)}", **plain)
    for note in result.get("notes", []):
        console().print(note, **plain)
    for title, text in result.get("sections", {}).items():
        emit_markdown(title, text)
    if result.get("data_docs"):
        console().print(f"Data Docs: {result['data_docs']}", **plain)
    for run in result.get("notebooks", []):
        if run["ok"]:
            console().print(f"notebook {run['notebook']}: ok, figures {', '.join(run['figures'] or []) or 'none'}", **plain)
        else:
            console().print(f"notebook {run['notebook']}: FAILED (the data stays published): {run['error']}", style="bold red", **plain)
    console().print(f"Published version {result['version']}", style="bold green", **plain)
    console().print(f"outputs: {result['current_dir']} -> {result['version_dir']}", **plain)


@app.command()
def where(processed_dir: ProcessedDir = None) -> None:
    """Print the folder of the current published version."""
    from imgpipeline.store import current_version

    settings = get_settings(processed_dir=processed_dir)
    current = current_version(settings)
    if current is None:
        err().print(f"nothing published yet under {settings.processed_dir}: run `make run`")
        raise typer.Exit(1)
    console().print(str(current))


def refuse(message: str, prefix: str = "no recommendation") -> typer.Exit:
    """Print a refusal as exactly one line on stderr (no markup, no wrapping) and return the
    exit to raise (code 1)."""
    from imgpipeline.advice.safe_input import one_line

    sys.stderr.write(one_line(f"{prefix}: {message}") + "\n")
    sys.stderr.flush()
    return typer.Exit(1)


@app.command()
def recommend(
    profile: Annotated[str, typer.Argument(help="Applicant profile (YAML; docs/recommend.md); - reads it from stdin")],
    out: Annotated[Path | None, typer.Option(help="Folder for the CSV, JSON and Parquet files (default ./recommendation-<profile>)")] = None,
    processed_dir: ProcessedDir = None,
    version_dir: Annotated[Path | None, typer.Option(help="Read this published version folder instead of the current one")] = None,
    rows: Annotated[int, typer.Option(help="Programs shown on screen (the files hold the whole list)")] = 25,
    report: Annotated[Path | None, typer.Option(help="Also write a one-page HTML report here (static, no external assets)")] = None,
) -> None:
    """Your risk tier, each program's chance of interviewing you, the list by expected value,
    the interviews it should bring and P(match | list), readiness, what to confirm and your next
    steps; from the published data alone (no Prefect, no Great Expectations)."""
    skip_the_last_collections()
    # The input is read and refused (size, encoding, YAML, shape) before anything heavy is
    # imported: a hostile file costs milliseconds and a few MB (docs/failure_modes.md).
    from imgpipeline.advice.safe_input import InputRefused, read_profile_mapping, refusal_line

    name = "<stdin>" if profile == "-" else profile
    settings = get_settings(processed_dir=processed_dir)
    try:
        data = read_profile_mapping(profile, settings=settings)
    except InputRefused as exc:
        raise refuse(str(exc)) from None
    from imgpipeline.advice.profile import ProfileError, parse_profile

    try:
        applicant = parse_profile(data, name, settings)
    except ProfileError as exc:
        raise refuse(refusal_line(exc)) from None
    from imgpipeline.advice.recommend import recommend as build
    from imgpipeline.advice.render import plain_lines, renderables

    try:
        rec = build(applicant, version_dir or settings, settings=settings)
    except (PipelineError, FileNotFoundError) as exc:
        raise refuse(str(exc)) from None
    terminal = on_terminal()
    if terminal:
        for item in renderables(rec, rows):
            console().print(item)
    else:
        say("\n".join(plain_lines(rec, rows)))
    stem = "stdin" if profile == "-" else Path(profile).stem
    files = rec.write(out or Path(f"recommendation-{stem}"))
    if report is not None:
        from imgpipeline.advice.report import write_report

        files["report"] = write_report(rec, report)
    listed = "Files: " + ", ".join(str(p) for p in files.values())
    console().print(listed, markup=False, highlight=False) if terminal else say(listed)


@app.command()
def batch(
    profiles: Annotated[Path, typer.Argument(help="Applicant profiles: CSV or Parquet (one row each) or a YAML list (docs/recommend.md)")],
    processed_dir: ProcessedDir = None,
    chunk_size: Annotated[int, typer.Option(help="Profiles per scoring task")] = 5000,
    dask: Annotated[bool, typer.Option(help="Run the scoring tasks on a Dask cluster (prefect-dask)")] = False,
    dask_address: Annotated[str | None, typer.Option(help="Scheduler address of an existing Dask cluster (default: a local one)")] = None,
    dask_workers: Annotated[int, typer.Option(help="Workers of the local Dask cluster")] = 2,
    skip_bad_rows: Annotated[bool, typer.Option(help="Score the good rows and list the bad ones in the rejects file (default: any bad row refuses the file)")] = False,
    rejects: Annotated[Path | None, typer.Option(help="Where bad rows are listed (row, profile_id, field, reason; default ./<file>-rejects.csv)")] = None,
    in_flight: Annotated[int, typer.Option(help="Chunks scored ahead of the Parquet writer (memory grows with it)")] = 3,
    plans: Annotated[bool, typer.Option(help="Also publish each applicant's next steps (batch_plan_steps: one row per applicant x step, each sized step re-run through the model; about 30 ms per applicant)")] = False,
) -> None:
    """Score a file of many applicant profiles with the interview-chance model against every
    program and publish each applicant's list (P(interview) per listed program; expected
    interviews and P(match | list) per applicant), as `recommend` gives it for one profile (a
    Prefect flow; a new version under <processed>/batches)."""
    from imgpipeline.advice.batch import BatchInputError, preflight

    try:
        # A missing, oversized or binary file is refused before Prefect starts, by the limits
        # of the settings the batch flow runs with.
        preflight(profiles, get_settings(processed_dir=processed_dir))
    except BatchInputError as exc:
        raise refuse(str(exc), "batch refused; nothing was published") from None
    prefect_environment()
    from flows.batch import run_batch

    try:
        result = run_batch(
            str(profiles), processed_dir=str(processed_dir) if processed_dir else None, chunk_size=chunk_size,
            runner="dask" if dask or dask_address else "default", dask_address=dask_address, dask_workers=dask_workers,
            skip_bad_rows=skip_bad_rows, rejects_path=str(rejects or Path(f"{profiles.stem}-rejects.csv")),
            in_flight=in_flight, plans=plans,
        )
    except BatchInputError as exc:
        # One line; every bad row is in the rejects file the line names.
        raise refuse(str(exc).splitlines()[0], "batch refused; nothing was published") from None
    except PipelineError as exc:
        err().print(f"[bold red]batch failed; nothing was published.[/]\n{exc}", markup=True, highlight=False)
        raise typer.Exit(1) from None
    emit_markdown(None, result["markdown"])


@app.command()
def changes(processed_dir: ProcessedDir = None) -> None:
    """Print what the current version changed since the one before it (changes.parquet)."""
    from imgpipeline.refresh.changes import summarize
    from imgpipeline.store import current_version, read_manifest, read_table

    settings = get_settings(processed_dir=processed_dir)
    if current_version(settings) is None:
        err().print(f"nothing published yet under {settings.processed_dir}: run `make run`")
        raise typer.Exit(1)
    frame = read_table("changes", settings)
    emit_markdown(None, summarize(frame, read_manifest(settings).get("changes_from")))


@app.command()
def notebooks(
    processed_dir: ProcessedDir = None,
    version_dir: Annotated[Path | None, typer.Option(help="Run on this published version folder instead of the current one")] = None,
    only: Annotated[
        list[str] | None, typer.Option(help="Run only notebooks whose name starts with this (e.g. 01)")
    ] = None,
) -> None:
    """Execute the analysis notebooks on the current version (a refresh runs them too); the
    executed notebooks go to <version>/notebooks/ and their figures to <version>/figures/."""
    from imgpipeline.refresh.notebooks import run_all

    settings = get_settings(processed_dir=processed_dir)
    try:
        runs = run_all(settings, only, version=version_dir)
    except FileNotFoundError as exc:
        err().print(str(exc), markup=False)
        raise typer.Exit(1) from None
    plain = {"markup": False, "highlight": False}
    for run in runs:
        if run.ok:
            console().print(f"executed {run.executed}; figures {', '.join(run.figures or []) or 'none'}", **plain)
        else:
            err().print(f"notebook {run.notebook} failed: {run.error}", **plain)
    done = [r for r in runs if r.executed]
    if done:
        console().print(f"figures: {Path(done[0].executed).parent.parent / 'figures'}", **plain)
    if any(not r.ok for r in runs):
        raise typer.Exit(1)


@app.command()
def sensitivity(
    profiles: Annotated[list[Path], typer.Argument(help="Applicant profiles (YAML) to rebuild under each change", exists=True, dir_okay=False)],
    processed_dir: ProcessedDir = None,
) -> None:
    """How much the listed examples' advice moves when each judgement constant of the
    interview model is halved or raised by half (Markdown; docs/scoring.md quotes it)."""
    from imgpipeline.advice.profile import load_profile
    from imgpipeline.advice.published import load_published
    from imgpipeline.refresh import sensitivity as sens

    settings = get_settings(processed_dir=processed_dir)
    data = load_published(settings)
    table = sens.sensitivity(data, {p.stem: load_profile(p, settings) for p in profiles}, settings=settings)
    console().print(sens.markdown(table), soft_wrap=True)


@app.command()
def dictionary(
    check: Annotated[bool, typer.Option(help="Only check that docs/data_dictionary.md is current")] = False,
) -> None:
    """Regenerate docs/data_dictionary.md from the table declarations."""
    from imgpipeline import dictionary as dd

    if check:
        diff = dd.stale()
        if diff:
            err().print(f"{dd.DICTIONARY_PATH} is out of date; run `{dd.REGENERATE}`:\n{diff}")
            raise typer.Exit(1)
        console().print(f"{dd.DICTIONARY_PATH} is current")
        return
    console().print(f"wrote {dd.write()}")


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
            err().print(f"- {p}")
        if problems:
            raise typer.Exit(1)
        console().print("every published schema matches its locked version")
        return
    try:
        new = contract.updated(lock, only=tables)
    except ValueError as exc:
        err().print(f"[bold red]not recorded:[/]\n{exc}")
        raise typer.Exit(1) from None
    contract.write(new)
    console().print(f"wrote {contract.LOCK_PATH}: " + ", ".join(f"{k} {max(v, key=contract.version_key)}" for k, v in new.items()))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    processed_dir: ProcessedDir = None,
    advice_processes: Annotated[int | None, typer.Option(min=0, help="Advice processes computing the API's new recommendations, each reading the version once (0: in the server's process) [default: one per CPU]")] = None,
) -> None:
    """The applicant's web page and the JSON API (FastAPI) over the current published version:
    a form for your profile, your list with its reasons, each program's evidence, the sources;
    /api/recommend, /api/programs, /api/version and the OpenAPI docs at /docs. A refresh's new
    version is picked up by the next request. No Prefect, no Great Expectations."""
    import uvicorn

    from imgpipeline.web.server import HTTP_PROTOCOL, LOOP

    if processed_dir is not None:
        os.environ["IMGPIPELINE_PROCESSED_DIR"] = str(processed_dir.resolve())
    if advice_processes is not None:
        os.environ["IMGPIPELINE_WEB_ADVICE_PROCESSES"] = str(advice_processes)
    settings = get_settings(processed_dir=processed_dir)
    console().print(f"serving {settings.current_dir} on http://{host}:{port}/ with {settings.advice_processes} advice process(es) (API docs at /docs); Ctrl-C stops")
    uvicorn.run("imgpipeline.web.app:create_app", factory=True, host=host, port=port,
                http=HTTP_PROTOCOL, loop=LOOP, log_level="warning", access_log=False)


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    app()


if __name__ == "__main__":
    main()
