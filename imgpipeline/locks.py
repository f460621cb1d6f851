"""Locks that keep concurrent runs from interleaving (docs/failure_modes.md).

- ``run_lock``: one refresh at a time per processed folder. A second refresh started while
  one runs waits up to ``IMGPIPELINE_REFRESH_LOCK_WAIT_S`` (default 0: it refuses at once)
  and then refuses with a message naming the holder (host, pid, since when).
- ``publish_lock``: one publication at a time per processed folder, refresh and batch alike
  (a batch publishes under ``<processed>/batches`` but locks ``<processed>``), waiting up to
  ``IMGPIPELINE_PUBLISH_LOCK_WAIT_S``: the critical section (rename, switch, prune) is short.
- ``pin``: a shared lock a reader (a batch scoring against a refresh version) holds on the
  version folder; pruning skips a pinned version instead of deleting it under the reader.

``fcntl.flock`` locks belong to the open file: a killed process releases them, so a crash
never leaves a stale lock. Local filesystems only (flock over NFS is not reliable).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from imgpipeline.errors import PipelineError

POLL_S = 0.1


class LockBusy(PipelineError):
    """Another run holds the lock; nothing was done."""


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return "another process"
    return f"{info.get('what', 'a run')} (pid {info.get('pid')} on {info.get('host')}, since {info.get('since')})"


@contextlib.contextmanager
def _flock(path: Path, what: str, wait_s: float, setting: str) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + max(0.0, wait_s)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    waited = f"waited {wait_s:g} s" if wait_s > 0 else "did not wait"
                    raise LockBusy(
                        f"{what} refused: {_holder(path)} holds {path} ({waited}; setting {setting}); "
                        "nothing was changed"
                    ) from None
                time.sleep(POLL_S)
        info = {"what": what, "pid": os.getpid(), "host": socket.gethostname(), "since": datetime.now(UTC).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def run_lock(processed_dir: Path, wait_s: float, what: str = "refresh") -> contextlib.AbstractContextManager[None]:
    """Held for a whole refresh run (landing to publication)."""
    return _flock(refresh_lock_path(processed_dir), what, wait_s, "IMGPIPELINE_REFRESH_LOCK_WAIT_S")


def publish_lock(processed_dir: Path, wait_s: float, what: str = "publication") -> contextlib.AbstractContextManager[None]:
    """Held while a version is renamed into place, switched to and old ones pruned."""
    return _flock(Path(processed_dir) / ".publish.lock", what, wait_s, "IMGPIPELINE_PUBLISH_LOCK_WAIT_S")


def busy(path: Path) -> str | None:
    """Who holds the lock file ``path`` now, or None if it is free (a quick check before
    starting anything expensive; the lock taken afterwards is what counts)."""
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return _holder(path)
    finally:
        os.close(fd)
    return None


def refresh_lock_path(processed_dir: Path) -> Path:
    return Path(processed_dir) / ".refresh.lock"


@contextlib.contextmanager
def pin(version_dir: Path) -> Iterator[None]:
    """A shared lock on a version folder while it is read; see ``pinned``."""
    fd = os.open(version_dir, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def pinned(version_dir: Path) -> bool:
    """Whether a reader holds a pin on ``version_dir`` (so it must not be pruned now)."""
    try:
        fd = os.open(version_dir, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases the probe's lock
    return False
