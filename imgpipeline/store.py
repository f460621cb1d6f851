"""The store: the one module that writes and reads published versions, where the two wings meet.

The refresh wing publishes through it (``publish_version``); the advice wing, the web app, the
notebooks and the CLI read through it (``resolve_version``, ``read_table``, ``read_manifest``).

Publication is atomic: a complete new version folder, then one switch of ``current``. A version
is written under a hidden incoming name, flushed, renamed into ``versions/`` and only then does
the ``current`` symlink move to it, by an atomic rename of a new link over the old. A run killed
at any point leaves the previous version complete and current.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import pickle
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import pyarrow.parquet as pq

from imgpipeline.errors import PipelineError, disk_message
from imgpipeline.settings import Settings

# The table declarations, the catalog and the locks are imported by the functions that write
# (or prune): a reader (the advice, the CLI's `recommend`) does not pay for them.

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
WRITER = ".writer"
# Run-summary keys that are paths on the publishing machine, not part of a version.
LOCAL_KEYS = ("version_dir", "current_dir")
ABANDONED_AFTER_S = 3600


class NotPublished(PipelineError):
    """No usable published version: nothing published yet, or not a version folder."""


class PublishError(PipelineError):
    """A version could not be written (full or read-only disk...); nothing was published."""


def new_version_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return now.strftime("%Y%m%dT%H%M%S%fZ")


def write_table(df: pd.DataFrame, name: str, folder: Path) -> Path:
    """One published table as Parquet with its declared schema (types, descriptions,
    schema_version in the metadata)."""
    from imgpipeline.tables import TABLES

    path = folder / f"{name}.parquet"
    pq.write_table(TABLES[name].to_arrow(df), path)
    return path


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with path.open("rb") as fh:
        os.fsync(fh.fileno())


def publish_version(
    tables: dict[str, pd.DataFrame],
    settings: Settings,
    summary: dict[str, Any],
    extra_files: dict[str, Path] | None = None,
    version_id: str | None = None,
    lock_dir: Path | None = None,
    streamed: dict[str, tuple[Path, int]] | None = None,
) -> Path:
    """Write ``tables`` (every one declared as published) as a new version and make it current.

    ``extra_files`` (name -> a file or folder made by the run, e.g. Data Docs or figures) are
    moved into the version before it is switched to. ``streamed`` (name -> (a Parquet file
    already written with the table's declared schema, its rows)) are published tables too big
    to hold as one frame: moved in and listed in the manifest like the others. Returns the
    version folder.

    The rename, switch and prune hold the publish lock of ``lock_dir`` (default the processed
    folder; a batch passes the refresh's, so batch and refresh publications never interleave).
    A full or read-only disk (or any write error) fails with a ``PublishError`` naming it; the
    incoming folder is removed and the last good version stays current.
    """
    try:
        return _publish(tables, settings, summary, extra_files, version_id, lock_dir, streamed or {})
    except OSError as exc:
        raise PublishError(disk_message("publish", exc, settings.versions_dir, current_version(settings), "nothing was published, no partial folder left")) from exc


def _publish(
    tables: dict[str, pd.DataFrame],
    settings: Settings,
    summary: dict[str, Any],
    extra_files: dict[str, Path] | None,
    version_id: str | None,
    lock_dir: Path | None,
    streamed: dict[str, tuple[Path, int]],
) -> Path:
    from imgpipeline.locks import publish_lock
    from imgpipeline.tables import TABLES

    undeclared = [n for n in [*tables, *streamed] if n not in TABLES or not TABLES[n].published]
    if undeclared:
        raise ValueError(f"not declared as published tables: {undeclared}")
    version_id = version_id or new_version_id()
    versions = settings.versions_dir
    versions.mkdir(parents=True, exist_ok=True)
    incoming = versions / f".incoming-{version_id}"
    final = versions / version_id
    try:
        incoming.mkdir()
        (incoming / WRITER).write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid()}))
        files = _write_tables(incoming, tables, streamed)
        for name, src in (extra_files or {}).items():
            shutil.move(str(src), incoming / name)
        _write_manifest(incoming, version_id, summary, files)
        (incoming / WRITER).unlink()
        _fsync_dir(incoming)
        with publish_lock(lock_dir or settings.processed_dir, settings.publish_lock_wait_s, f"publication of {version_id}"):
            _switch_to(incoming, final, settings)
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        raise
    log.info("published version %s at %s", version_id, final)
    return final


def _listed(name: str, path: Path, rows: int) -> dict[str, Any]:
    """A table's entry in the manifest."""
    from imgpipeline.tables import TABLES

    table = TABLES[name]
    return {"file": path.name, "rows": rows, "schema_version": table.schema_version, "schema_fingerprint": table.fingerprint()}


def _write_tables(
    incoming: Path, tables: dict[str, pd.DataFrame], streamed: dict[str, tuple[Path, int]]
) -> dict[str, dict[str, Any]]:
    """Every table into the incoming folder, flushed: frames written with their declared
    schema, streamed files moved in. Returns their manifest entries."""
    files = {}
    for name, df in tables.items():
        path = write_table(df, name, incoming)
        _fsync_file(path)
        files[name] = _listed(name, path, len(df))
    for name, (src, rows) in streamed.items():
        path = incoming / f"{name}.parquet"
        shutil.move(str(src), path)
        _fsync_file(path)
        files[name] = _listed(name, path, rows)
    return files


def _write_manifest(incoming: Path, version_id: str, summary: dict[str, Any], files: dict[str, dict[str, Any]]) -> None:
    """The manifest and the data package catalog, flushed. The run summary first; what the
    publisher knows (the version, its files) wins over the summary's placeholders, and paths
    of this machine stay out of the folder."""
    from imgpipeline.catalog import CATALOG, datapackage
    from imgpipeline.tables import TABLES

    manifest = {
        **{k: v for k, v in summary.items() if k not in LOCAL_KEYS},
        "version": version_id,
        "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tables": files,
    }
    (incoming / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))
    _fsync_file(incoming / MANIFEST)
    package = datapackage(
        version_id,
        manifest["published_at"],
        {n: (TABLES[n], incoming / f["file"], f["rows"]) for n, f in files.items()},
        list(summary.get("snapshots") or []),
    )
    (incoming / CATALOG).write_text(json.dumps(package, indent=2, default=str))
    _fsync_file(incoming / CATALOG)


def _switch_to(incoming: Path, final: Path, settings: Settings) -> None:
    """Under the publish lock: the complete folder renamed into ``versions/``, ``current``
    switched to it, old versions pruned (a pruning failure only warns)."""
    os.rename(incoming, final)
    _fsync_dir(final.parent)
    try:
        switch_current(final, settings)
    except BaseException:
        shutil.rmtree(final, ignore_errors=True)  # never current: leave no orphan behind
        raise
    try:
        prune_versions(settings)
    except OSError as exc:  # published and current: pruning can wait for the next run
        log.warning("published %s, but pruning old versions failed: %s", final.name, exc)


def switch_current(version_dir: Path, settings: Settings) -> None:
    """Point ``current`` at ``version_dir`` in one atomic rename."""
    link = settings.current_dir
    tmp = link.with_name(f".current-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(os.path.relpath(version_dir, link.parent), target_is_directory=True)
    try:
        os.replace(tmp, link)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(link.parent)


def current_version(settings: Settings) -> Path | None:
    """The folder ``current`` points at, or None before the first publication. The link is
    read on every call (a publish switches it at any time); the real path of what it says is
    worked out once per link and target (``Path.resolve`` walks every part of the path: about
    a twentieth of the web server's CPU per request when done each time)."""
    link = settings.current_dir
    if not link.exists():
        return None
    try:
        target = os.readlink(link)
    except OSError:                 # not a link (a folder put there by hand): as it is
        return link.resolve()
    return _real_path(link, target)


@functools.lru_cache(maxsize=64)
def _real_path(link: Path, target: str) -> Path:
    """``link``'s real path while it says ``target`` (the key: a switched link is resolved anew)."""
    return link.resolve()


def resolve_version(source: Settings | Path | str | None = None) -> Path:
    """The version folder to read: ``current`` of the settings' processed folder (the default
    settings if None), or a folder given as a path: a version folder itself, or a processed
    folder holding ``current``. ``NotPublished`` when there is none."""
    if source is None or isinstance(source, Settings):
        settings = source or Settings()
        folder = current_version(settings)
        if folder is None:
            raise NotPublished(f"nothing published yet under {settings.processed_dir}: run `imgpipeline refresh` (or `make run`)")
        return folder
    path = Path(source)
    if (path / MANIFEST).exists() or any(path.glob("*.parquet")):
        return path.resolve()
    if (path / "current").exists():
        return (path / "current").resolve()
    raise NotPublished(f"{path} is neither a published version nor a processed folder with a current version")


def read_manifest(source: Settings | Path | str | None = None, version: Path | None = None) -> dict[str, Any]:
    """The manifest of a version (``version``, or the one ``source`` resolves to)."""
    folder = version or resolve_version(source)
    return json.loads((folder / MANIFEST).read_text())


def has_table(name: str, version: Path) -> bool:
    return (version / f"{name}.parquet").exists()


def read_table(
    name: str,
    source: Settings | Path | str | None = None,
    version: Path | None = None,
    columns: list[str] | None = None,
) -> pd.DataFrame:
    """A published table of a version (``version``, or the one ``source`` resolves to), as
    pandas, typed as declared: a closed set as a categorical whose categories are its allowed
    values (the Parquet dictionary holds them all), a date as ``datetime.date``, a list as an
    array of its items, a list of records as an array of dicts."""
    folder = version or resolve_version(source)
    return pd.read_parquet(folder / f"{name}.parquet", columns=columns)


def read_tables(version: Path) -> dict[str, pd.DataFrame]:
    """Every published table of a version folder, by name."""
    return {p.stem: pd.read_parquet(p) for p in sorted(version.glob("*.parquet"))}


T = TypeVar("T")
CACHE_KEEP = 16  # cached derivations kept per name (the newest); older ones are removed


def cached(
    version: Path, name: str, inputs: Sequence[str], code: Sequence[Path], build: Callable[[], T], cache_dir: Path | None,
    kind: type = object,
) -> T:
    """``build()``, something derived from the version folder ``version`` alone, kept between
    processes in ``cache_dir`` and reused while its key holds: the folder's path, the size and
    modification time of its files ``inputs``, the bytes of the ``code`` that builds it and the
    versions of Python and of the libraries whose objects it holds. Never inside a version (a
    version holds what was published, nothing else). Written atomically (a temporary file
    renamed over); an entry that cannot be read, is damaged, holds another key or something not
    of type ``kind`` is ignored and built again, and one that cannot be written (read-only or full disk) is skipped.

    The entries are pickles, so ``cache_dir`` must be a folder only the code's own user writes,
    as Python's ``__pycache__``: by default the project's ``.cache`` (``Settings.cache_dir``),
    not beside the published data, which may come from elsewhere. ``None``: no cache."""
    if cache_dir is None:
        return build()
    key = _cache_key(version, inputs, code)
    path = cache_dir / f"{name}-{version.name}-{key[:24]}.pickle"
    try:
        entry = pickle.loads(path.read_bytes())
        if isinstance(entry, dict) and entry.get("key") == key and isinstance(entry.get("value"), kind):
            return entry["value"]
        log.info("cache %s holds something else: built again", path)
    except FileNotFoundError:
        pass
    except Exception as exc:  # damaged, truncated, or of classes that no longer load
        log.info("cache %s unreadable (%s: %s): built again", path, type(exc).__name__, exc)
    value = build()
    _write_cached(path, {"key": key, "value": value}, name)
    return value


def _cache_key(version: Path, inputs: Sequence[str], code: Sequence[Path]) -> str:
    import numpy as np
    import pyarrow as pa

    h = hashlib.sha256(str(version.resolve()).encode() + b"\0")
    for name in inputs:
        try:
            st = (version / name).stat()
            h.update(f"{name} {st.st_size} {st.st_mtime_ns}\0".encode())
        except FileNotFoundError:
            h.update(f"{name} -\0".encode())
    for path in code:
        h.update(path.read_bytes() + b"\0")
    h.update(f"{sys.version} numpy {np.__version__} pandas {pd.__version__} pyarrow {pa.__version__}".encode())
    return h.hexdigest()


def _write_cached(path: Path, entry: dict[str, Any], name: str) -> None:
    """``entry`` pickled to ``path`` atomically, then the oldest entries of ``name`` beyond
    ``CACHE_KEEP`` removed; any OSError only skips the cache."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as fh:
            tmp = Path(fh.name)
            pickle.dump(entry, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        tmp = None
        entries = sorted(path.parent.glob(f"{name}-*.pickle"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in entries[CACHE_KEEP:]:
            old.unlink(missing_ok=True)
    except OSError as exc:
        log.info("cache %s not written (%s)", path, exc)
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def prune_versions(settings: Settings) -> list[Path]:
    """Remove the oldest versions beyond ``keep_versions`` (never the current one) and
    incoming folders left by killed runs (see ``_abandoned``)."""
    from imgpipeline.locks import pinned

    versions = settings.versions_dir
    current = current_version(settings)
    removed = []
    for stale in versions.glob(".incoming-*"):
        if _abandoned(stale):
            shutil.rmtree(stale, ignore_errors=True)
            removed.append(stale)
    done = sorted(p for p in versions.iterdir() if p.is_dir() and not p.name.startswith("."))
    for old in done[: max(0, len(done) - settings.keep_versions)]:
        if current is not None and old.resolve() == current:
            continue
        if pinned(old):
            log.info("not pruning %s: a reader (a batch) holds it", old.name)
            continue
        shutil.rmtree(old, ignore_errors=True)
        removed.append(old)
    return removed


def _abandoned(incoming: Path) -> bool:
    """Whether an incoming folder was left by a run that died: its writer process (on this
    host) is gone, or, for one written elsewhere or unlabelled, it is an hour old. Another
    run may be writing a fresh one right now, so a live writer's folder is never touched."""
    try:
        writer = json.loads((incoming / WRITER).read_text())
    except (OSError, ValueError):
        writer = None
    if writer and writer.get("host") == socket.gethostname():
        return not _alive(int(writer["pid"]))
    try:
        return time.time() - incoming.stat().st_mtime > ABANDONED_AFTER_S
    except FileNotFoundError:
        return False


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# Columns a refresh of the same snapshots may fill differently: when it ran (``*_at``), where
# the mirror sat on that machine, which version it was compared with, the rulebook's digest
# (it moves with a comment).
VOLATILE_COLUMNS = ("location", "from_version", "rulebook_sha256")


def fingerprint(version: Path) -> dict[str, dict[str, Any]]:
    """Each published table of a version as its row count and one digest per column (floats
    to 9 decimals), volatile columns aside: two refreshes of the same snapshots by code that
    computes the same thing have the same fingerprint."""
    import hashlib

    out: dict[str, dict[str, Any]] = {}
    for name, df in read_tables(version).items():
        digests = {}
        for col in sorted(df.columns):
            if col.endswith("_at") or col in VOLATILE_COLUMNS:
                continue
            values = df[col].round(9) if pd.api.types.is_float_dtype(df[col]) else df[col].astype("string")
            hashed = pd.util.hash_pandas_object(values, index=False).to_numpy().tobytes()
            digests[col] = hashlib.sha256(hashed).hexdigest()[:16]
        out[name] = {"rows": len(df), "columns": digests}
    return out
