"""``python -m bench.web``: the JSON API under load on this machine (issue 14).

Starts ``imgpipeline serve``'s app with uvicorn on a free 127.0.0.1 port over the current
published version (or a refresh into a temporary folder, as ``python -m bench`` does), then for
each scenario runs 1, 8 and 32 concurrent clients for ``--duration`` seconds each (keep-alive
connections, one thread per client) and prints p50 / p95 latency, requests/s and errors beside
the goal: p95 under 50 ms at 8 concurrent clients on 2 cores, no error under load. Bounded: every
run stops by itself, and the server is stopped at the end.

Scenarios:
- ``program``: GET /api/programs/{acgme_id}, cycling over every program;
- ``recommend-repeat``: POST /api/recommend with the two docs examples (the page's filter and
  download clicks ask for the same profile again: served from the per-version cache);
- ``recommend-new``: POST /api/recommend with a new profile every request: the batch's seeded
  plausible applicants (``advice.batch.random_profiles``: every tier, visa need, preference and
  budget), each sent once with a fresh ``profile_id``, so the model runs every time and the
  advice's memos of repeated applicant values hit only as often as varied applicants make them
  (before, the two docs examples with only Step 2 CK varied: 72 distinct applicants);
- ``recommend-new-gzip``: the same, from a client that asks for gzip and inflates the answer, as
  httpx and browsers do (the other scenarios' client asks for no encoding).
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import httptools
import orjson
import yaml

from imgpipeline.advice.batch import _nested, random_profiles
from imgpipeline.settings import apply_run_environment, usable_cpus
from imgpipeline.web.server import HTTP_PROTOCOL, LOOP

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"
GOAL_P95_MS = 50.0
GOAL_CLIENTS = 8
NEW_PROFILES = 20_000   # more than a bench run sends at the rates measured (about 150 a second)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(processed_dir: Path, advice_processes: int) -> tuple[subprocess.Popen, int]:
    """One uvicorn process, as ``imgpipeline serve`` runs it, with ``advice_processes``."""
    port = free_port()
    env = {**os.environ, "IMGPIPELINE_PROCESSED_DIR": str(processed_dir), "IMGPIPELINE_WEB_ADVICE_PROCESSES": str(advice_processes)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "imgpipeline.web.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--http", HTTP_PROTOCOL, "--loop", LOOP, "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/version")
            if conn.getresponse().status == 200:
                conn.close()
                return proc, port
        except OSError:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise RuntimeError("the server did not answer within 180 s")


def server_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by the server and its worker processes: what a
    request costs the server, whatever else the machine is running."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:   # fields[1]: the parent pid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def scenarios(port: int) -> dict[str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)   # a worker's first read of the version
    conn.request("GET", "/api/programs")
    ids = [p["acgme_id"] for p in json.loads(conn.getresponse().read())["programs"]]
    conn.close()
    examples = [yaml.safe_load((EXAMPLES / f"{n}.yaml").read_text()) for n in ("moderately_low_j1", "very_high_h1b")]
    written = [orjson.dumps(ex) for ex in examples]
    counter = itertools.count()
    lock = threading.Lock()

    def program() -> tuple[str, str, bytes | None]:
        with lock:
            i = next(counter)
        return "GET", f"/api/programs/{ids[i % len(ids)]}", None

    def repeat() -> tuple[str, str, bytes | None]:
        with lock:
            i = next(counter)
        return "POST", "/api/recommend", written[i % 2]

    applicants = [_nested(r) for r in random_profiles(NEW_PROFILES, seed=2026)]

    def new() -> tuple[str, str, bytes | None]:
        with lock:
            i = next(counter)
        p = {**applicants[i % NEW_PROFILES], "profile_id": f"bench-{os.getpid()}-{i}"}
        return "POST", "/api/recommend", orjson.dumps(p)

    return {"program": program, "recommend-repeat": repeat, "recommend-new": new, "recommend-new-gzip": new}


def asks_gzip(scenario: str) -> bool:
    return scenario.endswith("-gzip")


class Client:
    """One keep-alive connection that sends a request and reads its whole answer, with as
    little of the load generator's own CPU as it can: the request written as bytes, the answer
    read into one reused buffer and parsed by httptools (uvicorn's own parser). The generator
    shares the server's 2 cores, so its cost per request is taken from the server's: with
    ``http.client`` it was about 1 ms per 300 KB answer (its header parsing, buffered reads and
    copies), measured by the process's CPU time over a run. With ``gzip`` it asks for gzip, as
    httpx and browsers do, and inflates each answer as it arrives (what such a client spends)."""

    def __init__(self, port: int, gzip: bool = False) -> None:
        self.port, self.sock, self.gzip = port, None, gzip
        self.buf = memoryview(bytearray(1 << 20))
        self.done, self.body_bytes = False, 0
        self.parser = None
        self.inflate = None

    def on_headers_complete(self) -> None:
        self.inflate = zlib.decompressobj(wbits=31) if self.gzip else None   # gzip's header and trailer

    def on_body(self, body: bytes) -> None:
        self.body_bytes += len(self.inflate.decompress(body)) if self.inflate is not None else len(body)

    def on_message_complete(self) -> None:
        self.done = True

    def _connect(self) -> None:
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=300)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.parser = httptools.HttpResponseParser(self)

    def request(self, method: str, path: str, body: bytes | None) -> int:
        """The answer's status, once it is read whole (reconnecting first if closed)."""
        if self.sock is None:
            self._connect()
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
        if self.gzip:
            head += "Accept-Encoding: gzip\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.sock.sendall(head.encode() + b"\r\n" + (body or b""))
        self.done = False
        while not self.done:
            n = self.sock.recv_into(self.buf)
            if not n:
                raise ConnectionError("the server closed the connection")
            self.parser.feed_data(self.buf[:n])
        return self.parser.get_status_code()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def run(port: int, make_request, clients: int, duration: float, server_pid: int | None = None, gzip: bool = False) -> dict[str, Any]:
    """``clients`` threads, each on its own keep-alive connection (``Client``, asking for gzip
    with ``gzip``), for ``duration`` seconds."""
    lat: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    stop = time.monotonic() + duration

    def client(k: int) -> None:
        conn = Client(port, gzip)
        while time.monotonic() < stop:
            method, path, body = make_request()
            t0 = time.perf_counter()
            try:
                status = conn.request(method, path, body)
                if status != 200:
                    errors.append(f"{method} {path}: {status}")
            except (OSError, httptools.HttpParserError, zlib.error) as exc:
                errors.append(f"{method} {path}: {exc!r}")
                conn.close()
                continue
            lat[k].append(time.perf_counter() - t0)
        conn.close()

    cpu0 = server_cpu_s(server_pid) if server_pid else None
    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + 120)
    wall = time.perf_counter() - t0
    all_lat = sorted(x for per in lat for x in per)
    n = len(all_lat)
    cpu = (server_cpu_s(server_pid) - cpu0) if server_pid and cpu0 is not None else None
    return {
        "server_cpu_ms_per_request": cpu * 1000 / n if cpu is not None and n else None,
        "clients": clients, "requests": n, "errors": len(errors), "error_examples": errors[:3],
        "p50_ms": statistics.median(all_lat) * 1000 if n else None,
        "p95_ms": all_lat[min(n - 1, int(0.95 * n))] * 1000 if n else None,
        "rps": n / wall if wall else 0.0,
    }


def markdown(results: dict[str, list[dict[str, Any]]], advice_processes: int, duration: float, machine: dict[str, Any], source: str) -> str:
    lines = [
        f"Measured {machine['date']} on {machine['nproc']} CPUs ({machine['cpu']}), Python {machine['python']}, commit "
        f"`{machine['commit']}`; load average at the start {', '.join(f'{x:.2f}' for x in machine['load_average'] or ())}. "
        f"one uvicorn process with {advice_processes} advice process(es) on 127.0.0.1, the load generator on the same machine; {duration:.0f} s per row. "
        f"Published data: {source}.",
        "",
        f"| scenario | clients | requests | errors | p50 | p95 | requests/s | server CPU per request | goal (p95 < {GOAL_P95_MS:.0f} ms at {GOAL_CLIENTS}, no error) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, rows in results.items():
        for r in rows:
            goal = ""
            if r["clients"] == GOAL_CLIENTS:
                ok = r["p95_ms"] is not None and r["p95_ms"] < GOAL_P95_MS and r["errors"] == 0
                goal = "met" if ok else "missed"
            elif r["errors"]:
                goal = "errors"
            p50 = f"{r['p50_ms']:.1f} ms" if r["p50_ms"] is not None else "-"
            p95 = f"{r['p95_ms']:.1f} ms" if r["p95_ms"] is not None else "-"
            cpu = f"{r['server_cpu_ms_per_request']:.1f} ms" if r["server_cpu_ms_per_request"] is not None else "-"
            lines.append(f"| {name} | {r['clients']} | {r['requests']:,} | {r['errors']} | {p50} | {p95} | {r['rps']:,.1f} | {cpu} | {goal} |")
    return "\n".join(lines)


def main() -> None:
    from bench.__main__ import machine, version_with_features

    ap = argparse.ArgumentParser(prog="python -m bench.web", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--processed-dir", type=Path, default=None)
    ap.add_argument("--duration", type=float, default=30.0, help="seconds per scenario and concurrency")
    ap.add_argument("--clients", default="1,8,32")
    ap.add_argument("--scenarios", default="program,recommend-repeat,recommend-new,recommend-new-gzip")
    ap.add_argument("--advice-processes", type=int, default=usable_cpus(), help="processes computing new recommendations (default: one per CPU, as imgpipeline serve; 0: in the server process)")
    ap.add_argument("--markdown", type=Path, default=None, help="also write the results block here")
    args = ap.parse_args()
    os.environ.setdefault("PREFECT_HOME", str(ROOT / ".prefect" / "bench"))
    apply_run_environment()  # the project's other defaults (pyproject.toml)

    m = machine()
    version, source = version_with_features(args.processed_dir)
    processed = version.parent.parent
    print(f"published data: {source}", flush=True)
    proc, port = start_server(processed, args.advice_processes)
    results: dict[str, list[dict[str, Any]]] = {}
    try:
        make = scenarios(port)
        for name in args.scenarios.split(","):
            gz = asks_gzip(name)
            run(port, make[name], 4, 3.0, gzip=gz)        # warm: every advice process busy once
            results[name] = []
            for clients in (int(c) for c in args.clients.split(",")):
                r = run(port, make[name], clients, args.duration, proc.pid, gzip=gz)
                results[name].append(r)
                goal = ""
                if clients == GOAL_CLIENTS:
                    ok = r["p95_ms"] is not None and r["p95_ms"] < GOAL_P95_MS and r["errors"] == 0
                    goal = f"  [goal p95 < {GOAL_P95_MS:.0f} ms, no error: {'met' if ok else 'MISSED'}]"
                print(f"{name:>17} x{clients:<3} {r['requests']:>7,} requests, {r['errors']} errors, p50 {r['p50_ms'] or 0:7.1f} ms, "
                      f"p95 {r['p95_ms'] or 0:7.1f} ms, {r['rps']:8.1f} req/s, server CPU {r['server_cpu_ms_per_request'] or 0:.1f} ms/request{goal}", flush=True)
                for e in r["error_examples"]:
                    print(f"    error: {e}", flush=True)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    text = markdown(results, args.advice_processes, args.duration, m, source)
    print("\n" + text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
        print(f"\nwrote {args.markdown}")
    if any(r["errors"] for rows in results.values() for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
