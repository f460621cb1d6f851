"""Advice processes: the web app's new recommendations, computed by a pool of processes fed
from one queue of requests (``concurrent.futures.ProcessPoolExecutor``, spawned), while the
server's one event loop reads requests and writes answers.

Why a pool, and not uvicorn's ``--workers``: a new recommendation is CPU-bound Python (one at a
time per process), so a second core serves only through a second process. uvicorn's worker
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
import multiprocessing.connection
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from imgpipeline.advice.profile import ApplicantProfile
from imgpipeline.advice.published import NotPublished, load_published, resolve_version
from imgpipeline.settings import Settings

log = logging.getLogger(__name__)


# --- in each advice process ------------------------------------------------------------------
_SETTINGS: list[Settings] = []      # this process's settings, set by ``start``
_SETTLED: set[Path] = set()


def start(settings: Settings) -> None:
    """An advice process's initializer: its settings, the compiled recursion, the current
    version read (when there is one)."""
    from imgpipeline.advice import compiled

    _SETTINGS[:] = [settings]
    threading.Thread(target=_exit_with_server, name="imgpipeline-server-watch", daemon=True).start()
    compiled.install()
    try:
        settle(resolve_version(settings))
    except NotPublished:
        pass   # nothing published yet: the first request reads what is published by then


def _exit_with_server() -> None:
    """End this advice process when the server's process ends, however it ends (killed, it
    cannot shut its pool down): the pool's queues never tell a waiting process, which would
    otherwise hold its copy of the version for good."""
    server = multiprocessing.parent_process()
    if server is not None:
        multiprocessing.connection.wait([server.sentinel])
        os._exit(0)


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


def advise_json(folder: Path, profile: ApplicantProfile) -> bytes:
    """``recommend(profile)``'s JSON bytes over the version in ``folder``, with this process's
    settings (what ``WebState`` computes in the server without advice processes)."""
    from imgpipeline.advice.recommend import recommend

    settle(folder)
    return recommend(profile, load_published(folder), settings=_SETTINGS[0]).json_bytes()


# --- in the server ---------------------------------------------------------------------------
class Advisors:
    """A pool of ``processes`` advice processes over ``settings``, started on first use (or by
    ``start_warming``) and rebuilt if one of its processes dies."""

    def __init__(self, settings: Settings, processes: int) -> None:
        if processes < 1:
            raise ValueError(f"advice processes must be at least 1, got {processes}")
        self.settings, self.processes = settings, processes
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self.processes, mp_context=multiprocessing.get_context("spawn"),
                    initializer=start, initargs=(self.settings,),
                )
            return self._pool

    def start_warming(self) -> None:
        """Start every advice process now (each reads the version as it starts), without
        waiting: the server answers meanwhile."""
        pool = self.pool()
        for _ in range(self.processes):
            pool.submit(os.getpid)   # nothing to do: each process starts (its initializer runs)

    async def advise_json(self, folder: Path, profile: ApplicantProfile) -> bytes:
        """The recommendation's JSON bytes from the first free advice process. A process that
        died breaks the pool: it is rebuilt for the next request and this one fails."""
        pool = self.pool()
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, advise_json, folder, profile)
        except BrokenProcessPool:
            log.error("an advice process died; starting new ones")
            self._discard(pool)
            raise

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the advice processes (the server's shutdown)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
