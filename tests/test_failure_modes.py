"""docs/failure_modes.md, row by row: each case of its table is built and run for real (the CLI
in a child process with resource limits, the library functions where the door is one, a real
HTTP server on 127.0.0.1, real locks held by another process, a real file-size limit and a
real immutable folder), and its output must hold the documented message."""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

# Runs flows or reads the run's Prefect server: waits for it (conftest.prefect_server).
pytestmark = pytest.mark.usefixtures("prefect_server")

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "failure_modes.md"
IMGPIPELINE = ROOT / ".venv" / "bin" / "imgpipeline"
ACGME_REL = "acgme/internal-medicine-programs_2024-2025.pdf"
CPU_LIMIT_S = 5
MEMORY_LIMIT_KB = 200 * 1024


def table() -> list[tuple[str, str]]:
    """(case, message) of every row between the doc's markers."""
    text = DOC.read_text()
    body = text.split("<!-- failure-modes:start -->", 1)[1].split("<!-- failure-modes:end -->", 1)[0]
    rows = []
    for line in body.strip().splitlines()[2:]:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        case = cells[0].strip("`")
        message = cells[3]
        if message.startswith("`") and message.endswith("`"):
            message = message[1:-1]
        rows.append((case, message))
    return rows


def holds(output: str, message: str) -> bool:
    """Whether ``output`` holds ``message``, ``…`` standing for anything (in order)."""
    pattern = ".*?".join(re.escape(part) for part in message.split("…"))
    return re.search(pattern, output, re.DOTALL) is not None


# ---- the CLI, in a child process with limits --------------------------------------------------


# A small launcher runs the CLI as its own child, with the CPU limit, reaps it with os.wait4 and
# writes the CLI's own peak RSS to a report file: measured from a fresh, small parent, the
# figure is the CLI's alone (a child forked or vforked from this large test process would
# carry the worker's pages in its peak).
LAUNCH = """
import os, resource, subprocess, sys
limit, report, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
def cap():
    resource.setrlimit(resource.RLIMIT_CPU, (limit, limit))
child = subprocess.Popen(cmd, preexec_fn=cap)
_, status, usage = os.wait4(child.pid, 0)
with open(report, "w") as f:
    f.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def _communicate(proc: subprocess.Popen, stdin: bytes | None) -> tuple[bytes, bytes]:
    """Feed and read the launcher until it exits."""
    try:
        return proc.communicate(stdin)
    except BrokenPipeError:  # refused before reading all of it
        return proc.communicate()


def cli(args: list[str], cwd: Path, stdin: bytes | None = None, env: dict[str, str] | None = None) -> str:
    """Run ``imgpipeline ARGS``; assert exit 1, one line on stderr, nothing written to
    ``cwd``, and the CPU and memory bounds. Returns stderr."""
    before = sorted(p.name for p in cwd.iterdir())
    fd, report = tempfile.mkstemp(prefix="imgpipeline-rss-")
    os.close(fd)
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, str(CPU_LIMIT_S), report, str(IMGPIPELINE), *args], cwd=cwd,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})},
    )
    out, err = _communicate(proc, stdin)
    peak_kb = int(Path(report).read_text() or 0)
    os.unlink(report)
    text = err.decode()
    assert proc.returncode == 1, (proc.returncode, text, out.decode()[-2000:])
    assert len(text.strip().splitlines()) == 1, text
    assert "Traceback" not in text
    assert sorted(p.name for p in cwd.iterdir()) == before, "a refusal writes nothing"
    assert 0 < peak_kb < MEMORY_LIMIT_KB, peak_kb
    return text


@pytest.fixture
def work(tmp_path: Path) -> Path:
    d = tmp_path / "work"
    d.mkdir()
    return d


def write(folder: Path, name: str, data: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


LAUGHS = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
)


def recommend_file(name: str, data: str | bytes) -> Callable[[Path], str]:
    def run(work: Path) -> str:
        inputs = work.parent / "inputs"
        inputs.mkdir(exist_ok=True)
        return cli(["recommend", str(write(inputs, name, data))], work)

    return run


def _parquet_bytes() -> bytes:
    buf = io.BytesIO()
    pd.DataFrame({"profile_id": ["p"]}).to_parquet(buf)
    return buf.getvalue()


def _big(work: Path) -> str:
    inputs = work.parent / "inputs"
    inputs.mkdir(exist_ok=True)
    path = inputs / "big.yaml"
    with path.open("wb") as fh:
        fh.truncate(50_000_000)  # sparse: 50 MB by size, refused before a byte is read
    return cli(["recommend", str(path)], work)


def _stdin(data: bytes) -> Callable[[Path], str]:
    return lambda work: cli(["recommend", "-"], work, stdin=data)


def _directory(work: Path) -> str:
    (work.parent / "adir").mkdir()
    return cli(["recommend", str(work.parent / "adir")], work)


def _api_duplicate(work: Path) -> str:
    from imgpipeline.advice.profile import load_profile
    from imgpipeline.advice.safe_input import InputRefused

    path = write(work.parent, "dup.yaml", "graduation_year: 2020\nstep2ck: {score: 240}\nstep2ck: {score: 210}\n")
    with pytest.raises(InputRefused) as exc:
        load_profile(path)
    return str(exc.value)


def _api_bytes(work: Path) -> str:
    from imgpipeline.advice.profile import profile_from_bytes
    from imgpipeline.advice.safe_input import InputRefused

    with pytest.raises(InputRefused) as exc:
        profile_from_bytes(LAUGHS.encode(), "request")
    return str(exc.value)


def batch_cli(make: Callable[[Path], Path], env: dict[str, str] | None = None) -> Callable[[Path], str]:
    def run(work: Path) -> str:
        return cli(["batch", str(make(work.parent)), "--processed-dir", str(work.parent / "processed")], work, env=env)

    return run


def _mkdir(d: Path) -> Path:
    (d / "folder.csv").mkdir()
    return d / "folder.csv"


BAD_ROWS = (
    "profile_id,graduation_year,step2ck_score,usce_hands_on_months,visa_need\n"
    "bad-score,2020,350,4,J-1\nbad-year,2999,230,4,J-1\nbad-usce,2020,230,-2,none\n"
    "bad-visa,2020,230,4,O-1\nok-row,2020,230,4,H-1B\n"
)


def read_profiles_case(csv: str, **settings: object) -> Callable[[Path], str]:
    def run(work: Path) -> str:
        from imgpipeline.advice import batch as bt
        from imgpipeline.settings import get_settings

        path = write(work.parent, "profiles.csv", csv)
        rejects = work.parent / "profiles-rejects.csv"
        with pytest.raises(bt.BatchInputError) as exc:
            bt.read_profiles(path, rejects_path=rejects, settings=get_settings(**settings))
        return str(exc.value)

    return run


def _freida_truncated(work: Path) -> str:
    from imgpipeline.errors import StagingError
    from imgpipeline.refresh.stage.freida import parse_freida, read_freida_csv
    from imgpipeline.settings import Settings

    src = (Path(Settings().source_dir) / "freida" / "internal-medicine-programs_2025-05-26.csv").read_bytes()
    cut = src.index(b"['J", len(src) // 2) + 3
    path = write(work.parent, "internal-medicine-programs_2025-05-26.csv", src[:cut])
    with pytest.raises(StagingError) as exc:
        parse_freida(read_freida_csv(path))
    return str(exc.value)


def _freida_bad_list(work: Path) -> str:
    from imgpipeline.errors import StagingError
    from imgpipeline.refresh.stage.freida import parse_freida, read_freida_csv
    from imgpipeline.settings import Settings

    raw = read_freida_csv(Path(Settings().source_dir) / "freida" / "internal-medicine-programs_2025-05-26.csv")
    raw.loc[5, "visa_statuses_accepted"] = "['J-1"
    with pytest.raises(StagingError) as exc:
        parse_freida(raw)
    return str(exc.value)


# ---- a real HTTP server ----------------------------------------------------------------------


class Server:
    """Real bytes over HTTP on 127.0.0.1; ``mode`` says how to misbehave."""

    def __init__(self, body: bytes, mode: str):
        server = self
        self.requests = 0

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                if self.path.endswith("SHA256SUMS"):
                    self.send_error(404)
                    return
                server.requests += 1
                port = self.server.server_address[1]
                if mode == "same-host-redirect" and not self.path.startswith("/moved/"):
                    self.send_response(301)
                    self.send_header("Location", f"/moved{self.path}")
                    self.end_headers()
                    return
                if mode == "redirect":
                    self.send_response(302)
                    self.send_header("Location", f"http://localhost:{port}{self.path}")
                    self.end_headers()
                    return
                if mode == "503":
                    self.send_error(503, "try again")
                    return
                if mode == "404":
                    self.send_error(404)
                    return
                if mode == "slow":
                    time.sleep(3)
                self.send_response(200)
                if mode != "unannounced":
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"


@contextmanager
def serving(body: bytes, mode: str) -> Iterator[Server]:
    s = Server(body, mode)
    s.thread.start()
    try:
        yield s
    finally:
        s.httpd.shutdown()
        s.httpd.server_close()


def http_case(mode: str, allow: bool = True, requests: int | None = None, **kw: object) -> Callable[[Path], str]:
    def run(work: Path) -> str:
        from imgpipeline.errors import LandingError
        from imgpipeline.refresh.land import land_snapshot, read_landings
        from imgpipeline.settings import Settings, get_settings

        body = (Path(Settings().source_dir) / ACGME_REL).read_bytes()
        with serving(body, mode) as server:
            settings = get_settings(
                source_dir=server.url, raw_dir=work.parent / "raw", http_backoff_s=0.001,
                http_allow_loopback_http=allow, **kw,
            )
            with pytest.raises(LandingError) as exc:
                land_snapshot("acgme_programs", settings)
            if requests is not None:
                assert server.requests == requests, "5xx retried up to the attempts; nothing else retried"
        assert read_landings(settings) == []
        assert not any(p.is_file() for p in settings.raw_dir.rglob("*")), "nothing landed"
        return str(exc.value)

    return run


# ---- locks held by another process --------------------------------------------------------


@contextmanager
def held(kind: str, folder: Path) -> Iterator[None]:
    """Another process holding the refresh or publish lock of ``folder``, as a run would."""
    code = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from imgpipeline.locks import {kind}_lock
        with {kind}_lock(Path({str(folder)!r}), 0, {'"refresh"' if kind == 'run' else '"publication of 2"'}):
            print("held", flush=True)
            sys.stdin.read()
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        yield
    finally:
        proc.communicate("")


def _refresh_locked(work: Path) -> str:
    processed = work.parent / "processed"
    with held("run", processed):
        return cli(["refresh", "--processed-dir", str(processed)], work)


def small_tables(data_dir: Path, raw: Path) -> dict[str, pd.DataFrame]:
    from imgpipeline.refresh.land import land_snapshot
    from imgpipeline.refresh.programs import snapshots_frame
    from imgpipeline.settings import get_settings

    snap = land_snapshot("acgme_programs", get_settings(source_dir=str(data_dir), raw_dir=raw))
    return {"snapshots": snapshots_frame([snap])}


def published_once(work: Path) -> tuple[object, dict[str, pd.DataFrame], Path]:
    from imgpipeline.settings import Settings, get_settings
    from imgpipeline.store import current_version, publish_version

    data_dir = Path(Settings().source_dir)
    tables = small_tables(data_dir, work.parent / "raw")
    settings = get_settings(raw_dir=work.parent / "raw", processed_dir=work.parent / "processed", publish_lock_wait_s=0.2)
    first = publish_version(tables, settings, {"run": 1})
    assert current_version(settings) == first
    return settings, tables, first


def assert_previous_current(settings: object, first: Path) -> None:
    from imgpipeline.store import current_version, read_table

    assert current_version(settings) == first  # type: ignore[arg-type]
    assert len(read_table("snapshots", settings)) == 1  # type: ignore[arg-type]
    versions = settings.versions_dir  # type: ignore[attr-defined]
    assert [p.name for p in versions.iterdir()] == [first.name], "no partial or incoming folder"


def _publish_locked(work: Path) -> str:
    from imgpipeline.locks import LockBusy
    from imgpipeline.store import publish_version

    settings, tables, first = published_once(work)
    with held("publish", settings.processed_dir), pytest.raises(LockBusy) as exc:  # type: ignore[attr-defined]
        publish_version(tables, settings, {"run": 2})  # type: ignore[arg-type]
    assert_previous_current(settings, first)
    return str(exc.value)


FSIZE_CHILD = textwrap.dedent(
    """
    import resource, sys
    from pathlib import Path
    import pandas as pd
    from imgpipeline.errors import PipelineError
    from imgpipeline.settings import get_settings
    what, raw, processed, limit = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
    settings = get_settings(raw_dir=raw, processed_dir=processed)
    if what == "publish":
        from imgpipeline.store import publish_version
        tables = {"snapshots": pd.read_parquet(processed / "current" / "snapshots.parquet")}
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        run = lambda: publish_version(tables, settings, {"run": 2})
    else:
        from imgpipeline.refresh.land import land_snapshot
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        run = lambda: land_snapshot("acgme_programs", settings)
    try:
        run()
    except PipelineError as exc:
        print(exc)
        sys.exit(1)
    sys.exit(0)
    """
)


def fsize_child(what: str, raw: Path, processed: Path, limit: int) -> str:
    """Run a publication or landing in a child process whose files cannot grow past
    ``limit`` bytes (RLIMIT_FSIZE: writes fail with EFBIG, SIGXFSZ ignored): a full disk."""

    def ignore_sigxfsz() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    proc = subprocess.run(
        [sys.executable, "-c", FSIZE_CHILD, what, str(raw), str(processed), str(limit)],
        capture_output=True, text=True, preexec_fn=ignore_sigxfsz, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr[-3000:])
    assert "Traceback" not in proc.stdout
    return proc.stdout


def _publish_full(work: Path) -> str:
    settings, _, first = published_once(work)
    out = fsize_child("publish", settings.raw_dir, settings.processed_dir, 1024)  # type: ignore[attr-defined]
    assert_previous_current(settings, first)
    return out


@contextmanager
def immutable(folder: Path) -> Iterator[None]:
    """``chattr +i``: nothing can be created, renamed or removed in ``folder``, even by root."""
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode:
        pytest.skip("chattr +i is not available on this filesystem")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def _publish_read_only(work: Path) -> str:
    from imgpipeline.store import PublishError, publish_version

    settings, tables, first = published_once(work)
    with immutable(settings.versions_dir), pytest.raises(PublishError) as exc:  # type: ignore[attr-defined]
        publish_version(tables, settings, {"run": 2})  # type: ignore[arg-type]
    assert_previous_current(settings, first)
    return str(exc.value)


def _land_full(work: Path) -> str:
    raw = work.parent / "raw"
    out = fsize_child("land", raw, work.parent / "processed", 64 * 1024)
    assert not [p for p in raw.rglob("*") if p.is_file()], "no partial snapshot left"
    return out


def _land_manifest_full(work: Path) -> str:
    from imgpipeline.errors import LandingError
    from imgpipeline.refresh.land import land_snapshot
    from imgpipeline.settings import get_settings

    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    raw = work.parent / "raw"
    raw.mkdir()
    (raw / "manifest.jsonl").symlink_to("/dev/full")
    with pytest.raises(LandingError) as exc:
        land_snapshot("acgme_programs", get_settings(raw_dir=raw))
    assert not list(raw.rglob(".landing-*")), "no temporary file left"
    return str(exc.value)


def _land_read_only(work: Path) -> str:
    from imgpipeline.errors import LandingError
    from imgpipeline.refresh.land import land_snapshot
    from imgpipeline.settings import get_settings

    raw = work.parent / "raw"
    raw.mkdir()
    with immutable(raw), pytest.raises(LandingError) as exc:
        land_snapshot("acgme_programs", get_settings(raw_dir=raw))
    assert list(raw.iterdir()) == []
    return str(exc.value)


CASES: dict[str, Callable[[Path], str]] = {
    "billion-laughs": recommend_file("billion.yaml", LAUGHS),
    "alias": recommend_file("alias.yaml", "graduation_year: 2020\nstep1: *x\n"),
    "duplicate-key": recommend_file("dup.yaml", "graduation_year: 2020\nstep2ck: {score: 240}\nstep2ck: {score: 210}\n"),
    "duplicate-nested-key": recommend_file("dup2.yaml", "graduation_year: 2020\nstep1:\n  passed: true\n  passed: false\n"),
    "stdin-duplicate-key": _stdin(b"graduation_year: 2020\ngraduation_year: 2021\n"),
    "binary": recommend_file("bin.yaml", b"\x00\x01\x02\x03binary"),
    "parquet-as-profile": recommend_file("table.yaml", _parquet_bytes()),
    "latin-1": recommend_file("latin.yaml", "graduation_year: 2020\nprofile_id: caf\xe9\n".encode("latin-1")),
    "oversized": _big,
    "oversized-stdin": _stdin(b"#" * 1_000_000),
    "deep-nesting": recommend_file("deep.yaml", "a: " + "{b: " * 3000 + "1" + "}" * 3000),
    "long-string": recommend_file("long.yaml", "graduation_year: 2020\nprofile_id: " + "x" * 10_000 + "\n"),
    "python-tag": recommend_file("tag.yaml", "graduation_year: !!python/object/apply:os.system ['true']\n"),
    "bad-yaml": recommend_file("bad.yaml", "graduation_year: 2020\nstep1: [1, 2\nvisa_need: J-1\n"),
    "empty": recommend_file("empty.yaml", ""),
    "directory": _directory,
    "missing": lambda work: cli(["recommend", str(work.parent / "nowhere.yaml")], work),
    "csv-to-recommend": recommend_file("profiles.csv", "profile_id,graduation_year\np1,2020\n"),
    "csv-content-as-yaml": recommend_file("profiles.yaml", "profile_id,graduation_year\np1,2020\n"),
    "list-to-recommend": recommend_file("list.yaml", "- graduation_year: 2020\n- graduation_year: 2021\n"),
    "failing-score-passed": recommend_file("ck150.yaml", "graduation_year: 2020\nstep2ck: {score: 150, passed: true, year: 2021}\n"),
    "passing-score-failed": recommend_file("ck250.yaml", "graduation_year: 2020\nstep2ck: {score: 250, passed: false}\n"),
    "ecfmg-without-step1": recommend_file("e1.yaml", "graduation_year: 2020\nstep1: {passed: false}\nstep2ck: {score: 240, year: 2021}\necfmg_certified: true\n"),
    "ecfmg-without-step2ck": recommend_file("e2.yaml", "graduation_year: 2020\necfmg_certified: true\n"),
    "zero-attempts": recommend_file("att.yaml", "graduation_year: 2020\nstep2ck: {score: 240, attempts: 0}\n"),
    "api-duplicate-key": _api_duplicate,
    "api-bytes-alias": _api_bytes,
    "batch-missing": batch_cli(lambda d: d / "missing.csv"),
    "batch-directory": batch_cli(_mkdir),
    "batch-binary-csv": batch_cli(lambda d: write(d, "table.csv", _parquet_bytes())),
    "batch-oversized": batch_cli(lambda d: write(d, "big.csv", BAD_ROWS), env={"IMGPIPELINE_BATCH_MAX_BYTES": "100"}),
    "batch-too-many-rows": read_profiles_case(BAD_ROWS, batch_max_rows=3),
    "batch-bad-rows": read_profiles_case(BAD_ROWS),
    "batch-duplicate-ids": read_profiles_case("profile_id,graduation_year\nx,2020\ny,2020\nx,2021\n"),
    "batch-missing-id": read_profiles_case("profile_id,graduation_year\n,2020\ny,2020\n"),
    "freida-truncated": _freida_truncated,
    "freida-bad-list": _freida_bad_list,
    "http-plain": http_case("ok", allow=False, requests=0),
    "http-redirect-elsewhere": http_case("redirect", requests=1),
    "http-too-large": http_case("ok", source_max_bytes=1000, requests=1),
    "http-too-large-unannounced": http_case("unannounced", source_max_bytes=1000, requests=1),
    "http-read-timeout": http_case("slow", http_timeout_s=0.5, requests=1),
    "http-5xx": http_case("503", http_attempts=3, requests=3),
    "http-4xx": http_case("404", requests=1),
    "refresh-while-refreshing": _refresh_locked,
    "publish-while-publishing": _publish_locked,
    "publish-full-disk": _publish_full,
    "publish-read-only": _publish_read_only,
    "land-full-disk": _land_full,
    "land-manifest-full": _land_manifest_full,
    "land-read-only": _land_read_only,
}


def test_every_case_of_the_table_is_run_here() -> None:
    documented = [case for case, _ in table()]
    assert len(documented) == len(set(documented))
    assert set(documented) == set(CASES), (set(documented) ^ set(CASES))


@pytest.mark.parametrize(("case", "message"), table(), ids=[c for c, _ in table()])
def test_failure_mode(case: str, message: str, work: Path) -> None:
    output = CASES[case](work)
    assert holds(output, message), f"{case}: expected {message!r} in\n{output}"


def test_a_redirect_within_the_host_is_followed(tmp_path: Path) -> None:
    """The refusals above are not blanket ones: a same-host redirect lands the file."""
    from imgpipeline.refresh.land import land_snapshot
    from imgpipeline.settings import Settings, get_settings

    body = (Path(Settings().source_dir) / ACGME_REL).read_bytes()
    with serving(body, "same-host-redirect") as server:
        settings = get_settings(source_dir=server.url, raw_dir=tmp_path / "raw", http_allow_loopback_http=True)
        snap = land_snapshot("acgme_programs", settings)
    assert snap.local_path.read_bytes() == body
    assert server.requests == 2, "the redirect, then the file"
