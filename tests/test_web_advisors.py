"""The advice processes (``web.advisors``): the API's new recommendations computed by a pool of
spawned processes are the bytes the server computes itself, many at once; a dead advice process
fails one request (503, ask again; no stack trace) and new processes serve the next. Real processes, the
real app served by uvicorn, a real published version."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import zlib
from pathlib import Path

import httpx
import orjson
import pytest
import yaml

from imgpipeline.advice.profile import ProfileError, parse_profile
from imgpipeline.advice.published import load_published, resolve_version
from imgpipeline.advice.recommend import recommend
from imgpipeline.settings import Settings
from imgpipeline.web.advisors import AdviceLost, Advisors

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"


def example(name: str, step2ck: int | None = None) -> dict:
    p = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())
    if step2ck is not None:
        p["step2ck"]["score"] = step2ck
        p["profile_id"] = f"{name}-{step2ck}"
    return p


def here(settings: Settings, body: dict) -> bytes:
    """What the server computes in its own process for ``body``."""
    return recommend(parse_profile(body, settings=settings), load_published(resolve_version(settings)), settings=settings).json_bytes()


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_advice_processes_answer_many_at_once_what_the_server_computes(published: Settings, loop: str):
    """On both event loops (a 300 KB answer is often readable before all of it is written),
    each advice process on its own CPU; every other answer asked for gzip (compressed in the
    advice process: the same bytes once inflated)."""
    import uvloop

    bodies = [example(n, s) for n in ("moderately_low_j1", "very_high_h1b") for s in (222, 236, 248)]
    folder = resolve_version(published)
    advisors = Advisors(published, 2)

    async def all_at_once() -> list[bytes]:
        return await asyncio.gather(*(advisors.advise_json(folder, orjson.dumps(b), gzip=i % 2 == 1) for i, b in enumerate(bodies)))

    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop if loop == "uvloop" else None) as runner:
            got = runner.run(all_at_once())
        # Each process answered (the first two requests took one each), so each has pinned
        # itself: slot i on the i-th CPU the server may use; with one CPU, where it may.
        cpus = sorted(os.sched_getaffinity(0))
        pinned = {a.slot: os.sched_getaffinity(a.process.pid) for a in advisors._all}
    finally:
        advisors.close()
    assert pinned == {i: {cpus[i % len(cpus)]} if len(cpus) > 1 else set(cpus) for i in (0, 1)}
    assert all(g[:2] == b"\x1f\x8b" for g in got[1::2]) and not any(g[:2] == b"\x1f\x8b" for g in got[::2])
    got = [zlib.decompress(g, wbits=31) if i % 2 else g for i, g in enumerate(got)]
    assert got == [here(published, b) for b in bodies]
    assert len({orjson.loads(g)["profile_id"] for g in got}) == len(bodies)


def test_no_advice_processes_computes_in_the_server(published: Settings):
    from tests.served import serve_app

    settings = published.model_copy(update={"web_advice_processes": 0})
    before = {p.pid for p in multiprocessing.active_children()}
    with serve_app(settings) as base, httpx.Client(base_url=base, timeout=120) as c:
        r = c.post("/api/recommend", json=example("very_high_h1b", 231))
        assert r.status_code == 200, r.text
        plain = c.post("/api/recommend", json=example("very_high_h1b", 231), headers={"Accept-Encoding": "identity"})
        assert [p for p in multiprocessing.active_children() if p.pid not in before] == []
    # httpx asks for gzip: compressed in the server's thread, once (the middleware left it as it was)
    assert r.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert r.content == plain.content == here(published, example("very_high_h1b", 231))


def test_a_dead_advice_process_fails_one_request_and_new_ones_serve_the_next(published: Settings):
    from tests.served import serve_app

    settings = published.model_copy(update={"web_advice_processes": 1})
    before = {p.pid for p in multiprocessing.active_children()}
    with serve_app(settings) as base, httpx.Client(base_url=base, timeout=120) as c:
        assert c.post("/api/recommend", json=example("moderately_low_j1", 230)).status_code == 200
        mine = [p for p in multiprocessing.active_children() if p.pid not in before]
        assert len(mine) == 1
        os.kill(mine[0].pid, signal.SIGKILL)
        mine[0].join(30)
        failed = c.post("/api/recommend", json=example("moderately_low_j1", 240))
        assert failed.status_code == 503 and failed.headers["retry-after"] == "5"
        assert "stopped" in failed.json()["detail"][0]["message"] and failed.json()["detail"][0]["field"] == "server"
        again = c.post("/api/recommend", json=example("moderately_low_j1", 240))
        assert again.status_code == 200, again.text
    assert again.content == here(published, example("moderately_low_j1", 240))


def test_advice_processes_must_be_at_least_one(published: Settings):
    with pytest.raises(ValueError, match="at least 1"):
        Advisors(published, 0)
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        Settings(web_advice_processes=-1)


def _children(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.add(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return out


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:   # ended meanwhile
        return b""


def test_advice_processes_end_with_a_killed_server(published: Settings):
    """`imgpipeline serve` killed (no shutdown of its pool): its advice processes end too, not
    left holding their copy of the version."""
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).parent / "imgpipeline"
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port), "--processed-dir", str(published.processed_dir), "--advice-processes", "2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        advisors: set[int] = set()
        while len(advisors) < 2:
            assert proc.poll() is None and time.monotonic() < deadline, "imgpipeline serve did not start its advice processes"
            time.sleep(0.2)
            advisors = {p for p in _children(proc.pid) if b"spawn_main" in _cmdline(p)}
        assert len(advisors) == 2
    finally:
        proc.kill()
        proc.wait(30)
    deadline = time.monotonic() + 30
    while any(b"spawn_main" in _cmdline(p) for p in advisors):
        assert time.monotonic() < deadline, f"advice processes {sorted(advisors)} outlived the killed server"
        time.sleep(0.2)


def test_an_advice_failure_is_raised_in_the_server_and_the_process_serves_on(published: Settings, tmp_path: Path):
    """A recommendation that fails in an advice process (here: a folder with no version) raises
    its exception in the server (which answers 500 without a stack trace), and the same process
    answers the next request. A body that is not a valid profile is read there too: its
    ``ProfileError`` reaches the server with every problem (the API's 422)."""
    good = orjson.dumps(example("very_high_h1b", 229))
    bad = {**example("very_high_h1b", 229), "favourite_colour": "blue"}
    bad["step2ck"] = {**bad["step2ck"], "score": 350}
    advisors = Advisors(published, 1)

    async def caught(folder: Path, raw: bytes) -> BaseException | bytes:
        try:
            return await advisors.advise_json(folder, raw)
        except Exception as exc:   # noqa: BLE001 - the exception itself is what is checked
            return exc

    async def each() -> list[BaseException | bytes]:
        folder = resolve_version(published)
        return [await caught(tmp_path / "no-version", good), await caught(folder, orjson.dumps(bad)),
                await caught(folder, b"{not json"), await caught(folder, good)]

    try:
        failed, invalid, not_json, answer = asyncio.run(each())
        pids = [a.process.pid for a in advisors._all]
    finally:
        advisors.close()
    assert isinstance(failed, Exception) and not isinstance(failed, (AdviceLost, ProfileError)), failed
    assert "no-version" in str(failed)
    assert isinstance(invalid, ProfileError) and isinstance(not_json, ProfileError)
    assert {f for f, _ in invalid.problems} == {"step2ck.score", "favourite_colour"}
    assert [f for f, _ in not_json.problems] == ["body"] and "not valid JSON" in not_json.problems[0][1]
    assert len(pids) == 1   # not replaced: the process lived on
    assert answer == here(published, example("very_high_h1b", 229))
