"""Shared fixtures: the real snapshots, their staged tables, and one real published version.

The expensive session fixtures (``published``: two real refreshes; ``features``) are built
once per test run, whatever the number of xdist workers, as pytest-xdist's documentation
recommends (a folder shared by the workers, ``tmp_path_factory.getbasetemp().parent``, and a
``filelock.FileLock``: the first worker builds, the others wait and reuse). Every flow run of
the test run goes to one temporary Prefect server (``prefect server start``), started in the
background by the main pytest process before the workers.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock, Timeout

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"

# Prefect's home stays inside the project, in a folder of its own for the tests (local result
# storage; the database is the test harness's temporary one): a PREFECT_HOME from the
# environment is the folder it goes in. Set by the main process before anything imports
# prefect; the xdist workers inherit it.
if not os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["PREFECT_HOME"] = str(Path(os.environ.get("PREFECT_HOME", str(ROOT / ".prefect"))) / "test")
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
# The project's run defaults (pyproject.toml: [tool.prefect], [tool.imgpipeline.environment]:
# telemetry off, library logs in flow runs, a patient server start on a loaded machine).
from imgpipeline.settings import apply_run_environment  # noqa: E402

apply_run_environment()
# One thread per process for OpenMP and BLAS (scikit-learn's gradient boosting, numpy): the
# tests run two workers on two cores, and OpenMP threads spinning against the other worker
# (or any other load) made a cross-validation 30 times slower. Inherited by the CLI children.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# Refreshes in tests skip the notebooks (a kernel per notebook); the second refresh of
# ``published`` runs them, as a scheduled refresh does.
os.environ.setdefault("IMGPIPELINE_RUN_NOTEBOOKS", "false")

from imgpipeline.settings import Settings, get_settings  # noqa: E402,I001


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The offline mirror of the official sources (``../shared/data``)."""
    path = Path(Settings().source_dir)
    if not (path / "SHA256SUMS").exists():
        pytest.fail(f"the source snapshots are not at {path}: clone the project beside ../shared")
    return path


@pytest.fixture(scope="session")
def acgme_pdf(data_dir: Path) -> Path:
    return data_dir / "acgme" / "internal-medicine-programs_2024-2025.pdf"


@pytest.fixture(scope="session")
def freida_csv(data_dir: Path) -> Path:
    return data_dir / "freida" / "internal-medicine-programs_2025-05-26.csv"


@pytest.fixture(scope="session")
def freida_csv_old(data_dir: Path) -> Path:
    return data_dir / "freida" / "internal-medicine-programs_2025-05-24.csv"


@pytest.fixture(scope="session")
def parsed_acgme(acgme_pdf: Path):
    """``parse_acgme`` of the real PDF, before coercion (reading the PDF takes a second or
    more): shared, never changed."""
    from imgpipeline.refresh.stage.acgme import parse_acgme

    return parse_acgme(acgme_pdf)


@pytest.fixture(scope="session")
def staged_acgme(parsed_acgme):
    from imgpipeline.tables import TABLES

    return TABLES["acgme_programs"].coerce(parsed_acgme)


@pytest.fixture(scope="session")
def staged_freida(freida_csv: Path):
    from imgpipeline.refresh.stage.freida import (
        collapse_exact_duplicates,
        parse_freida,
        read_freida_csv,
    )
    from imgpipeline.tables import TABLES

    staged, _ = collapse_exact_duplicates(parse_freida(read_freida_csv(freida_csv)), "acgme_id")
    return TABLES["freida_programs"].coerce(staged)


@pytest.fixture(scope="session")
def staged_freida_2016(tmp_path_factory: pytest.TempPathFactory, data_dir: Path):
    """The staged ``freida_2016_programs`` table (parsing the 2016 pages takes seconds), read
    from a landed snapshot as the flow does. Shared: tests copy it before changing it."""
    from imgpipeline.refresh.land import land_snapshot
    from imgpipeline.refresh.stage.freida2016 import parse_freida_2016
    from imgpipeline.tables import TABLES

    base = tmp_path_factory.mktemp("freida2016")
    settings = get_settings(source_dir=str(data_dir), raw_dir=base / "raw", processed_dir=base / "processed")
    return TABLES["freida_2016_programs"].coerce(parse_freida_2016(land_snapshot("freida_2016", settings).local_path))


@pytest.fixture
def tmp_settings(tmp_path: Path, data_dir: Path) -> Settings:
    """Settings reading the real mirror and writing into a fresh temporary project."""
    return get_settings(
        source_dir=str(data_dir),
        raw_dir=tmp_path / "raw",
        processed_dir=tmp_path / "processed",
    )


# ---- one temporary Prefect server for the whole run ---------------------------------------

_SERVER = pytest.StashKey[tuple[subprocess.Popen, Path]]()
# Where the run's server logs (inherited by the xdist workers, which wait for it).
SERVER_LOG = "IMGPIPELINE_TEST_PREFECT_LOG"


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """In the main pytest process (not in an xdist worker): start a real Prefect server
    (``prefect server start``, API only) on a free 127.0.0.1 port and a temporary SQLite
    database, and point this process and every process started after it at it: the xdist
    workers (started in pytest-xdist's own ``pytest_sessionstart``, after this one) and the
    CLI children of the tests. One server, so a test on any worker sees the flow runs of
    ``published``. Started in the background: the workers start and collect meanwhile, and
    each waits for it before the first test that needs it (``prefect_server``)."""
    if hasattr(session.config, "workerinput") or session.config.getoption("collectonly"):
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    folder = Path(tempfile.mkdtemp(prefix="imgpipeline-test-prefect-"))
    from prefect_db import template_path  # tests/prefect_db.py (made by `make setup`)

    if template_path().exists():  # already migrated: the server starts without migrating
        shutil.copyfile(template_path(), folder / "prefect.db")
    env = {**os.environ, "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{folder / 'prefect.db'}"}
    env.pop("PREFECT_API_URL", None)
    command = [str(Path(sys.executable).parent / "prefect"), "server", "start", "--host", "127.0.0.1",
               "--port", str(port), "--no-ui", "--log-level", "WARNING"]
    with open(folder / "server.log", "w") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    session.config.stash[_SERVER] = (server, folder)
    os.environ["PREFECT_API_URL"] = f"http://127.0.0.1:{port}/api"
    os.environ[SERVER_LOG] = str(folder / "server.log")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop the server after the tests and the xdist workers, once this process has sent it
    the logs and events its flow runs left queued (as Prefect's test harness does)."""
    started = session.config.stash.get(_SERVER, None)
    if started is not None:
        server, folder = started
        if "prefect" in sys.modules:
            from prefect.events.worker import EventsWorker
            from prefect.logging.handlers import APILogWorker

            APILogWorker.drain_all(timeout=30)
            EventsWorker.drain_all(timeout=30)
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def prefect_server() -> None:
    """Wait (once per process) until the run's Prefect server answers its health check; fail
    the test, with the server's log, if it does not within Prefect's start timeout. Asked for
    by ``published`` and by the modules whose tests run flows or read the server
    (``pytestmark = pytest.mark.usefixtures("prefect_server")``): the other tests start while
    the server is still starting."""
    import httpx

    url = os.environ.get("PREFECT_API_URL")
    if not url or not os.environ.get(SERVER_LOG):
        return
    from imgpipeline.settings import run_environment

    wait = float(run_environment().get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", 180))
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    log = Path(os.environ[SERVER_LOG])
    pytest.fail(f"the test run's Prefect server ({url}) did not answer within {wait:g} s:\n{log.read_text()[-3000:] if log.exists() else ''}")


# ---- built once per test run, shared by the xdist workers -----------------------------------

# The FREIDA snapshot before the current one: the first of the two refreshes of ``published``.
OLDER_FREIDA = "freida/internal-medicine-programs_2025-05-24.csv"
# The session fixtures built once per run, in the order a worker starts them.
SHARED = ("published", "features")
_LOCKS: dict[Path, FileLock] = {}


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every worker of this run sees (pytest-xdist's recipe): the parent of the
    workers' own temporary folders, new for each run; without xdist, the run's own.

    ``IMGPIPELINE_TEST_SHARED=<folder>`` keeps the builds in that folder across runs instead,
    for iterating on tests that read them; the builds there are those of the code that made
    them: delete the folder after changing the refresh."""
    if kept := os.environ.get("IMGPIPELINE_TEST_SHARED"):
        Path(kept).mkdir(parents=True, exist_ok=True)
        return Path(kept)
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _lock(folder: Path) -> FileLock:
    """The lock of a shared build, one object per process (re-entrant: the early start below
    and the fixture hold the same one)."""
    return _LOCKS.setdefault(folder, FileLock(folder.with_name(folder.name + ".lock")))


def _build_once(folder: Path, build: Callable[[Path], None]) -> None:
    """``build(folder)`` in exactly one worker of the run; the others wait for it, then reuse
    the folder. A failure is recorded: the other workers fail with its traceback instead of
    building again."""
    done = folder.with_name(folder.name + ".done")
    failed = folder.with_name(folder.name + ".failed")
    with _lock(folder):
        if failed.exists():
            pytest.fail(f"building {folder.name} failed (once for the whole run):\n{failed.read_text()}")
        if done.exists():
            return
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        try:
            build(folder)
        except BaseException:
            failed.write_text(traceback.format_exc())
            raise
        done.touch()


@pytest.fixture(scope="session")
def published(shared_dir: Path, data_dir: Path, prefect_server: None) -> Settings:
    """Two real refreshes through the Prefect flow, as a schedule would run them: the older
    FREIDA snapshot (2025-05-24), then the current sources with the analysis notebooks. The
    current version is the second; its changes.parquet is the real difference between the two
    snapshots, and its manifest's ``changes_from`` names the first version (still in versions/).

    The first refresh is the command's: two ``imgpipeline refresh`` processes started at once
    on the empty folders, one publishing and the other refused; what each said and what they
    left are in ``race.json`` beside the folders (test_hostile_inputs). Were none published,
    the flow is called here instead, so that only that test fails.

    Built once per test run and shared by every worker: tests read it and never change it (a
    test that writes works on a copy, ``published_copy``). Returns the settings that locate it."""
    base = shared_dir / "published"
    settings = get_settings(source_dir=str(data_dir), raw_dir=base / "raw", processed_dir=base / "processed")

    def build(_: Path) -> None:
        from flows.refresh import refresh

        where = {
            "source_dir": str(data_dir),
            "raw_dir": str(settings.raw_dir),
            "processed_dir": str(settings.processed_dir),
        }
        (base / "server.txt").write_text(os.environ.get("PREFECT_API_URL", ""))
        race = refresh_race(settings, OLDER_FREIDA)
        (base / "race.json").write_text(json.dumps(race, indent=2))
        if race["current"] is None:
            refresh(**where, source_files={"freida_programs": OLDER_FREIDA})
        refresh(**where, notebooks=True)

    _build_once(base, build)
    return settings


def refresh_race(settings: Settings, freida_file: str) -> dict:
    """Two real ``imgpipeline refresh`` processes on the same folders, started together (this
    interpreter's command; the run's Prefect server, from the environment). Returns their exit
    codes, outputs, and the versions and ``current`` they left (folder names)."""
    command = Path(sys.executable).parent / "imgpipeline"
    args = [str(command), "refresh", "--freida-file", freida_file, "--raw-dir", str(settings.raw_dir), "--processed-dir", str(settings.processed_dir)]
    env = {**os.environ, "IMGPIPELINE_SOURCE_DIR": str(settings.source_dir)}
    procs = [
        subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=settings.processed_dir.parent)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=1800) for p in procs]
    versions = settings.processed_dir / "versions"
    current = settings.processed_dir / "current"
    return {
        "runs": [{"code": p.returncode, "stdout": out, "stderr": err} for p, (out, err) in zip(procs, outputs, strict=True)],
        "versions": sorted(v.name for v in versions.iterdir()) if versions.is_dir() else [],
        "current": current.resolve().name if current.exists() else None,
    }


@pytest.fixture
def published_runs(published: Settings) -> Settings:
    """``published``, for a test that reads what its refreshes left on this run's Prefect
    server (task runs, artifacts): skipped when the build was kept from an earlier run
    (``IMGPIPELINE_TEST_SHARED``), whose server is gone."""
    record = published.processed_dir.parent / "server.txt"
    built_on = record.read_text() if record.exists() else None
    if built_on != os.environ.get("PREFECT_API_URL", ""):
        pytest.skip("published was built by an earlier test run (IMGPIPELINE_TEST_SHARED): its flow runs are on that run's server")
    return published


@pytest.fixture
def published_copy(published: Settings, tmp_path: Path) -> Settings:
    """A copy of ``published`` (its raw and processed folders, ``current`` included) for a
    test that writes into a published version or its folders."""
    base = tmp_path / "published"
    shutil.copytree(published.raw_dir, base / "raw", symlinks=True)
    shutil.copytree(published.processed_dir, base / "processed", symlinks=True)
    return get_settings(source_dir=published.source_dir, raw_dir=base / "raw", processed_dir=base / "processed")


@pytest.fixture(scope="session")
def programs_frame(tmp_path_factory: pytest.TempPathFactory, data_dir: Path, staged_acgme, staged_freida):
    """The published ``programs`` frame of the real snapshots (landed into a temp dir for their
    provenance), without running the flow."""
    from imgpipeline.refresh.land import land_snapshot
    from imgpipeline.refresh.programs import build_programs

    base = tmp_path_factory.mktemp("programs")
    settings = get_settings(source_dir=str(data_dir), raw_dir=base / "raw", processed_dir=base / "processed")
    acgme_snap = land_snapshot("acgme_programs", settings)
    freida_snap = land_snapshot("freida_programs", settings)
    return build_programs(staged_acgme, staged_freida, acgme_snap, freida_snap)[0]


@pytest.fixture(scope="session")
def features(shared_dir: Path, request: pytest.FixtureRequest):
    """``program_features``, ``feature_evidence`` and the imputation metrics of the real
    snapshots (``build_features(programs_frame)``), built once per test run."""
    folder = shared_dir / "features"

    def build(folder: Path) -> None:
        from imgpipeline.refresh.features import build_features

        tables = build_features(request.getfixturevalue("programs_frame"))
        (folder / "features.pickle").write_bytes(pickle.dumps(tables))

    _build_once(folder, build)
    return pickle.loads((folder / "features.pickle").read_bytes())


def _needs(item: pytest.Item) -> list[str]:
    """The shared builds a test uses (directly or through its fixtures)."""
    names = getattr(item, "fixturenames", ())
    return [name for name in SHARED if name in names]


def _order(item: pytest.Item) -> int:
    """Those of ``published`` last; before them, those that wait for the Prefect server; before
    them, those of ``features``; the others first."""
    if "published" in _needs(item):
        return 3
    if "prefect_server" in getattr(item, "fixturenames", ()):
        return 2
    return len(_needs(item))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that need a shared build run last, those of ``published`` at the very end (a
    stable sort: otherwise in their order), so that a worker not building runs the others
    meanwhile; the tests that need the Prefect server run after those that do not."""
    items.sort(key=_order)


@pytest.fixture(scope="session", autouse=True)
def _start_shared_builds(request: pytest.FixtureRequest) -> None:
    """At each worker's first test, start the shared builds this run needs that no other
    worker has started: one worker refreshes while the other runs the tests that need neither,
    and only waits at a test that does. A build that fails fails the tests that need it (as the
    fixture itself would), not this worker's first test."""
    wanted = [name for name in SHARED if any(name in _needs(item) for item in request.session.items)]
    if not wanted:
        return
    shared = request.getfixturevalue("shared_dir")
    for name in wanted:
        lock = _lock(shared / name)
        try:
            lock.acquire(blocking=False)
        except Timeout:
            continue  # another worker is building it
        try:
            request.getfixturevalue(name)
        except (Exception, pytest.fail.Exception):
            pass
        finally:
            lock.release()


CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def chromium():
    """A real headless Chromium (Debian's, driven by Playwright). `make test` installs it with
    apt-get when run as root; without it the browser tests are skipped, saying why. Per module:
    Playwright's sync API runs an event loop in this thread while it is open, which later tests
    of the worker (another sync_playwright, Prefect's sync calls) must not inherit."""
    import shutil

    path = os.environ.get("IMGPIPELINE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.skip("no Chromium on this machine (make test installs Debian's `chromium` when run as root)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def offline_page(chromium):
    """A page of a browser context with the network cut: only file:// loads; every other
    request is aborted and recorded in ``page.blocked``."""
    context = chromium.new_context(offline=True, viewport={"width": 1300, "height": 900})
    blocked: list[str] = []

    def only_files(route) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_files)
    page = context.new_page()
    page.blocked = blocked
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(scope="session")
def web_server(published: Settings):
    """The web app (``imgpipeline serve``'s) served by uvicorn on a free 127.0.0.1 port in a
    background thread, over the ``published`` version; one per test worker. Yields its base URL."""
    import httpx

    from tests.served import serve_app

    with serve_app(published) as base:
        httpx.get(f"{base}/api/version", timeout=120).raise_for_status()   # reads the version once
        yield base
