"""Advice processes: the web app's new recommendations, computed by a few spawned processes,
each answering one request at a time on its own socket, while the server's one event loop reads
requests, hands each to the first idle process, and writes answers.

Why processes, and not uvicorn's ``--workers``: a new recommendation is CPU-bound Python (one at
a time per process), so a second core serves only through a second process. uvicorn's worker
processes each keep the connections they accepted, and which worker accepts is the kernel's
wake-up order: with 2 workers and 8 keep-alive clients, one worker held 7 of the connections
(118 ms median for its clients) while the other held 1 (16 ms), and the busy worker's queue
set the p95 (docs/benchmarks.md, "Web API"). Here every request, whichever connection brought
it, goes to whichever advice process is free.

Each advice process reads the current version when it starts (``start``) and any later one when
first asked for it (the server resolves ``current`` per request and passes the folder), with the
outcome recursion compiled (``advice.compiled``), and answers with ``Recommendation.json_bytes``:
the bytes the server would compute itself. Nothing here imports Prefect, GX, scikit-learn or
FastAPI.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
import pickle
import signal
import socket
import struct
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from imgpipeline.advice.profile import profile_from_json
from imgpipeline.advice.published import NotPublished, load_published, resolve_version
from imgpipeline.settings import Settings
from imgpipeline.web.encoding import encoded

log = logging.getLogger(__name__)


# --- in each advice process ------------------------------------------------------------------
_SETTINGS: list[Settings] = []      # this process's settings, set by ``start``
_SETTLED: set[Path] = set()


def start(settings: Settings) -> None:
    """An advice process's initializer: its settings, the compiled recursion, the current
    version read (when there is one)."""
    from imgpipeline.advice import compiled

    _SETTINGS[:] = [settings]
    compiled.install()
    try:
        settle(resolve_version(settings))
    except NotPublished:
        pass   # nothing published yet: the first request reads what is published by then


def read_and_freeze(folder: Path, *reads: Callable[[Path], object]) -> None:
    """A version's data read (``reads``, each caching it per folder), then left out of the
    garbage collector's passes (``gc.freeze``): the version's hundred thousand-odd objects live
    as long as the version is served, and each full pass over them cost a new recommendation
    about 0.5-1 ms on average. Frozen objects are still freed when nothing refers to them (but
    not when only a reference cycle does)."""
    for read in reads:
        read(folder)
    gc.collect()   # what is garbage now is freed, not frozen
    gc.freeze()


def settle(folder: Path) -> None:
    """``folder``'s arrays read once in this advice process (``read_and_freeze``)."""
    if folder not in _SETTLED:
        read_and_freeze(folder, load_published)
        _SETTLED.add(folder)


def advise_json(folder: Path, raw: bytes, gzip: bool = False) -> bytes:
    """``recommend(profile)``'s JSON bytes over the version in ``folder`` for the posted JSON
    body ``raw``, read and checked here (``profile_from_json``: its ``ProfileError`` is raised
    in the server, a 422), with this process's settings (what ``WebState`` computes in the
    server without advice processes); with ``gzip``, compressed (``encoding.encoded``: here,
    beside the other processes, rather than in the server, and a tenth of the bytes to send
    it)."""
    from imgpipeline.advice.recommend import recommend

    settle(folder)
    profile = profile_from_json(raw, settings=_SETTINGS[0])
    body = recommend(profile, load_published(folder), settings=_SETTINGS[0]).json_bytes()
    return encoded(body, gzip)


# One message each way on an advice process's socket: its length (8 bytes), then a kind (one
# byte) and the payload. The server sends REQUEST with the pickled (folder, body, gzip); the
# process answers ANSWER with the JSON bytes as they are (no pickling: 200-300 KB), or FAILED
# with the pickled exception.
_LENGTH = struct.Struct("!Q")
REQUEST, ANSWER, FAILED = b"q", b"a", b"f"


def frame(kind: bytes, payload: bytes) -> bytes:
    return _LENGTH.pack(1 + len(payload)) + kind + payload


def read_frame(stream: BinaryIO) -> tuple[bytes, bytes]:
    """The next message from a blocking stream (the advice process's side: its socket's
    ``makefile("rb")``, whose reads wait for every byte asked); ``EOFError`` once the other
    end is closed."""
    head = stream.read(_LENGTH.size)
    body = stream.read(_LENGTH.unpack(head)[0]) if len(head) == _LENGTH.size else b""
    if not body:
        raise EOFError("the other end closed the socket")
    return body[:1], body[1:]


async def read_frame_async(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> tuple[bytes, bytes]:
    """``read_frame`` on a non-blocking socket, the event loop waiting for each part (never
    blocking on an answer still being written)."""
    (n,) = _LENGTH.unpack(await _read_exactly_async(loop, sock, _LENGTH.size))
    body = await _read_exactly_async(loop, sock, n)
    return bytes(body[:1]), bytes(memoryview(body)[1:])


async def _read_exactly_async(loop: asyncio.AbstractEventLoop, sock: socket.socket, n: int) -> bytearray:
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        k = await loop.sock_recv_into(sock, view[got:])
        if not k:
            raise EOFError("the other end closed the socket")
        got += k
    return buf


def pin(slot: int) -> None:
    """Keep this advice process on one CPU: slot i on the i-th of the CPUs it may use (round
    them when there are more processes than CPUs). Each process then keeps its own core's
    caches, where the scheduler moved them between cores as the server and the clients ran:
    at 8 clients on 2 CPUs, p95 3-9% lower pinned in each of 7 alternating pairs of runs
    (docs/benchmarks.md, "Web API")."""
    if not hasattr(os, "sched_setaffinity"):
        return
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) > 1:
        os.sched_setaffinity(0, {cpus[slot % len(cpus)]})


def serve(sock: socket.socket, settings: Settings, slot: int = 0) -> None:
    """An advice process: ``start``, then each (folder, body, gzip) the server sends on ``sock``
    answered on it, one at a time (ANSWER: the JSON bytes; FAILED: the exception raised),
    until the server's end closes: at its shutdown, or when its process dies however it dies
    (killed, the kernel closes its sockets), so no advice process outlives the server holding
    its copy of the version. Ctrl-C reaches the whole process group: the server, which closes
    the sockets, decides when this process ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pin(slot)
    start(settings)
    requests = sock.makefile("rb")
    while True:
        try:
            _, payload = read_frame(requests)
        except (EOFError, OSError):
            return
        try:
            out = frame(ANSWER, advise_json(*pickle.loads(payload)))
        except Exception as exc:   # the server's request fails with it (and logs it there)
            try:
                out = frame(FAILED, pickle.dumps(exc))
            except Exception:
                out = frame(FAILED, pickle.dumps(RuntimeError(repr(exc))))
        try:
            sock.sendall(out)
        except OSError:   # the server is gone
            return


# --- in the server ---------------------------------------------------------------------------
class AdviceLost(RuntimeError):
    """The advice process computing a request died (the request is lost; a new process starts)."""


class _Advisor:
    """One advice process (spawned: a fresh interpreter, not a fork of the server's threads)
    and the server's end of its socket (non-blocking: only the event loop reads it)."""

    def __init__(self, settings: Settings, slot: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.slot = slot
        self.sock, theirs = socket.socketpair()
        self.process = ctx.Process(target=serve, args=(theirs, settings, slot), name="imgpipeline-advice", daemon=True)
        self.process.start()
        theirs.close()
        self.sock.setblocking(False)

    async def ask(self, folder: Path, raw: bytes, gzip: bool) -> bytes:
        """The answer to one request; ``AdviceLost`` if the process is gone."""
        loop = asyncio.get_running_loop()
        try:
            await loop.sock_sendall(self.sock, frame(REQUEST, pickle.dumps((folder, raw, gzip))))
            kind, payload = await read_frame_async(loop, self.sock)
        except (EOFError, OSError) as exc:
            raise AdviceLost(f"advice process {self.process.pid} stopped (exit code {self.process.exitcode})") from exc
        if kind == FAILED:
            raise pickle.loads(payload)
        return payload

    def stop(self, wait: float = 5.0) -> None:
        """Close the socket (the process's loop ends) and wait for the process, killing it after ``wait`` s."""
        self.sock.close()
        self.process.join(wait)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(wait)


class Advisors:
    """``processes`` advice processes over ``settings``, started on first use (or by
    ``start_warming``), each answering one request at a time: a request takes the first idle
    one (first come, first served). One that dies fails its request with ``AdviceLost`` and is
    replaced by a new one.

    Why not ``concurrent.futures.ProcessPoolExecutor``, which this replaced: its answers come
    back through two helper threads that take the server's GIL from the event loop, and
    moving a 300 KB answer that way cost the server 1.55 ms of CPU against 0.72 ms with each
    process's own pipe read by the event loop itself (docs/benchmarks.md, "Web API"). The event
    loop reads each answer as it arrives (``read_frame_async``): a blocking read of an answer
    still being written stalled every other request behind a process the OS had paused."""

    def __init__(self, settings: Settings, processes: int) -> None:
        if processes < 1:
            raise ValueError(f"advice processes must be at least 1, got {processes}")
        self.settings, self.processes = settings, processes
        self._all: list[_Advisor] = []
        self._idle: asyncio.Queue[_Advisor] | None = None

    def start_warming(self) -> None:
        """Start every advice process now (each reads the version as it starts), without
        waiting: the server answers meanwhile, and a request sent to a process still starting
        waits in its socket."""
        if self._idle is None:
            self._idle = asyncio.Queue()
            for slot in range(self.processes):
                self._add(slot)

    def _add(self, slot: int) -> None:
        advisor = _Advisor(self.settings, slot)
        self._all.append(advisor)
        self._idle.put_nowait(advisor)  # type: ignore[union-attr]

    async def advise_json(self, folder: Path, raw: bytes, gzip: bool = False) -> bytes:
        """The recommendation for the JSON body ``raw`` as JSON bytes (gzip-compressed with
        ``gzip``) from the first idle advice process. Once sent, a request runs to its answer
        even if its caller is cancelled (``shield``), so a process is never handed back with an
        answer still due."""
        self.start_warming()
        advisor = await self._idle.get()  # type: ignore[union-attr]
        return await asyncio.shield(self._ask(advisor, folder, raw, gzip))

    async def _ask(self, advisor: _Advisor, folder: Path, raw: bytes, gzip: bool) -> bytes:
        try:
            return await advisor.ask(folder, raw, gzip)
        except AdviceLost:
            log.error("an advice process died; starting a new one")
            self._all.remove(advisor)
            advisor.stop(wait=1.0)
            self._add(advisor.slot)   # its CPU, for the new one
            raise
        finally:
            if advisor in self._all and self._idle is not None:   # not lost, not closed meanwhile
                self._idle.put_nowait(advisor)

    def close(self) -> None:
        """Stop the advice processes (the server's shutdown)."""
        advisors, self._all, self._idle = self._all, [], None
        for advisor in advisors:
            advisor.sock.close()   # every process told at once, then each waited for
        for advisor in advisors:
            advisor.stop()
