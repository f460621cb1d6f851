"""Shared fixtures: the real snapshots, their staged tables, and one real published version.

Tests that need a published version share one refresh per test worker (``published``); mark
them ``@pytest.mark.xdist_group("published")`` so they run on the same worker.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"

# Prefect's home stays inside the project, one per test worker (each temporary server owns
# its database); telemetry off. Set before anything imports prefect.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
# A PREFECT_HOME from the environment is a base folder: each worker gets its own inside it.
_home_base = Path(os.environ.get("PREFECT_HOME", str(ROOT / ".prefect")))
os.environ["PREFECT_HOME"] = str(_home_base / f"test-{_worker}")
Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
# A fresh home migrates its database on first start: slow on a loaded 2-core machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# Library loggers reach flow-run logs; outside a flow run they only log locally.
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "imgpipeline")
os.environ.setdefault("MPLBACKEND", "Agg")
# Refreshes in tests skip the notebooks (a kernel per notebook); the second refresh of
# ``published`` runs them, as a scheduled refresh does.
os.environ.setdefault("IMGPIPELINE_RUN_NOTEBOOKS", "false")

from imgpipeline.settings import Settings, get_settings  # noqa: E402


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
def staged_acgme(acgme_pdf: Path):
    from imgpipeline.refresh.stage.acgme import parse_acgme
    from imgpipeline.tables import TABLES

    return TABLES["acgme_programs"].coerce(parse_acgme(acgme_pdf))


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


@pytest.fixture
def tmp_settings(tmp_path: Path, data_dir: Path) -> Settings:
    """Settings reading the real mirror and writing into a fresh temporary project."""
    return get_settings(
        source_dir=str(data_dir),
        raw_dir=tmp_path / "raw",
        processed_dir=tmp_path / "processed",
    )


# The FREIDA snapshot before the current one: the first of the two refreshes of ``published``.
OLDER_FREIDA = "freida/internal-medicine-programs_2025-05-24.csv"


@pytest.fixture(scope="session")
def published(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Settings:
    """Two real refreshes through the Prefect flow, on the embedded temporary server, as a
    schedule would run them: the older FREIDA snapshot (2025-05-24), then the current
    sources. The current version is the second; its changes.parquet is the real difference
    between the two snapshots, and its manifest's ``changes_from`` names the first version
    (still in versions/). Returns the settings that locate the outputs."""
    from flows.refresh import refresh

    base = tmp_path_factory.mktemp("published")
    settings = get_settings(
        source_dir=str(data_dir), raw_dir=base / "raw", processed_dir=base / "processed"
    )
    where = {
        "source_dir": str(data_dir),
        "raw_dir": str(settings.raw_dir),
        "processed_dir": str(settings.processed_dir),
    }
    refresh(**where, source_files={"freida_programs": OLDER_FREIDA})
    refresh(**where, notebooks=True)
    return settings


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
def features(programs_frame):
    """``program_features``, ``feature_evidence`` and the imputation metrics of the real
    snapshots (one build per worker: mark users @pytest.mark.xdist_group("features"))."""
    from imgpipeline.refresh.features import build_features

    return build_features(programs_frame)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Make ``--dist loadgroup`` group again. pytest-xdist 3.8 tags a test of an
    ``xdist_group`` by rewriting ``item._nodeid``, which pytest 9 no longer reads (the id lives
    in ``item._id``): without this the scheduler sees no groups, spreads the ``published`` and
    ``features`` tests over both workers, and each worker runs the session fixtures again (two
    refreshes each)."""
    if not getattr(config.option, "loadgroup", False):
        return
    try:  # pytest internals: without them the suite still runs, only the grouping is lost
        from _pytest.nodeid import coerce_node_id
    except ImportError:
        return

    for item in items:
        names = sorted(
            {str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in item.iter_markers("xdist_group")}
        )
        suffix = "@" + "_".join(names)
        if names and not item.nodeid.endswith(suffix):
            item._id = coerce_node_id(item.nodeid + suffix)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop Prefect's temporary server while pytest's output streams are still open (Prefect
    would otherwise stop it at exit and log to a closed stream)."""
    import sys

    if "prefect.server.api.server" not in sys.modules:
        return
    import logging

    from prefect.server.api.server import SubprocessASGIServer

    # Prefect's console handler may still hold a stream a CLI test (CliRunner) has closed: its
    # "Stopping temporary server" line would print a logging traceback instead.
    logging.raiseExceptions = False
    for server in list(SubprocessASGIServer._instances.values()):
        server.stop()


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
    background thread, over the ``published`` version; one per test worker. Yields its base URL.
    Mark users ``@pytest.mark.xdist_group("published")``."""
    import socket
    import threading
    import time

    import httpx
    import uvicorn

    from imgpipeline.web.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(published), host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, name="web-server", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the web app did not start within 60 s")
        time.sleep(0.05)
    httpx.get(f"{base}/api/version", timeout=120).raise_for_status()   # reads the version once
    yield base
    server.should_exit = True
    thread.join(30)
