"""Landing: copy a source snapshot, byte for byte, into ``data/raw/<source>/<as-of>/`` and
record it in the manifest. Landed files are never changed afterwards."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urljoin

import httpx
from tenacity import (
    before_sleep_log,
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from imgpipeline.errors import LandingError, disk_message
from imgpipeline.refresh.sources import CATALOG, Source, as_of_for
from imgpipeline.settings import Settings

log = logging.getLogger(__name__)

CHUNK = 1 << 20


@dataclass(frozen=True)
class Snapshot:
    """A landed snapshot: what every published row traces back to."""

    source: str
    location: str
    as_of: str
    retrieved_at: str
    sha256: str
    size_bytes: int
    rights: str
    path: str

    @property
    def snapshot_id(self) -> str:
        return f"{self.source}@{self.as_of}#{self.sha256[:12]}"

    @property
    def local_path(self) -> Path:
        return Path(self.path)


def provenance(prefix: str, snap: Snapshot | None) -> dict[str, str | None]:
    """The three columns that trace a row to ``snap`` (``<prefix>_snapshot``, ``_as_of``,
    ``_sha256``; None for a source not landed), as declared by ``tables._common.provenance``."""
    return {
        f"{prefix}_snapshot": snap.snapshot_id if snap else None,
        f"{prefix}_as_of": snap.as_of if snap else None,
        f"{prefix}_sha256": snap.sha256 if snap else None,
    }


def is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def resolve_location(source: Source, settings: Settings) -> str:
    """Where the snapshot of ``source`` is read from: a file path or an http(s) URL."""
    rel = settings.source_files.get(source.name, source.path)
    if is_url(rel) or os.path.isabs(rel):
        return rel
    base = settings.source_dir
    if is_url(base):
        return urljoin(base.rstrip("/") + "/", rel)
    return str(Path(base) / rel)


LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


class FetchRefused(LandingError):
    """A fetch refused for what the server did (redirect elsewhere, too large, plain http)."""


def check_url(url: str, settings: Settings) -> None:
    """Only https:// is fetched; plain http:// only from this machine, and only when
    ``http_allow_loopback_http`` says so (a local test server)."""
    u = httpx.URL(url)
    if u.scheme == "https":
        return
    if u.scheme == "http" and u.host in LOOPBACK_HOSTS and settings.http_allow_loopback_http:
        return
    raise FetchRefused(
        f"refused {url}: only https:// sources are fetched (plain http:// only from 127.0.0.1 "
        "with IMGPIPELINE_HTTP_ALLOW_LOOPBACK_HTTP=true)"
    )


def _client(location: str, settings: Settings) -> httpx.Client:
    """A client with connect/read timeouts that follows redirects only within the host (and
    scheme and port) of ``location``: a redirect elsewhere is refused."""
    origin = httpx.URL(location)

    def same_origin(response: httpx.Response) -> None:
        # Called for every response, redirects included, before httpx follows one.
        if response.has_redirect_location:
            to = response.request.url.join(response.headers["location"])
            if (to.scheme, to.host, to.port) != (origin.scheme, origin.host, origin.port):
                raise FetchRefused(
                    f"refused a redirect from {response.request.url} to another host: {to} "
                    "(only redirects within the source's host are followed)"
                )

    timeout = httpx.Timeout(settings.http_timeout_s, connect=settings.http_connect_timeout_s)
    return httpx.Client(timeout=timeout, follow_redirects=True, event_hooks={"response": [same_origin]})


def _retryable(exc: BaseException) -> bool:
    """Only a server error (5xx) is retried: a 4xx, a timeout, a refused connection or a
    refused redirect will not change by asking again right away."""
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code >= 500
    return False


def _retrying(settings: Settings) -> Any:
    """Retry server errors (5xx) with backoff; anything else fails at once."""
    return retry(
        retry=retry_if_exception(_retryable),
        stop=stop_after_attempt(settings.http_attempts),
        wait=wait_exponential(multiplier=settings.http_backoff_s, max=30),
        before_sleep=before_sleep_log(log, logging.WARNING),
        reraise=True,
    )


def _get(client: httpx.Client, url: str, dest: Path, settings: Settings) -> None:
    """Stream ``url`` into ``dest``, retrying transient failures."""

    @_retrying(settings)
    def attempt() -> None:
        with client.stream("GET", url) as resp:
            resp.raise_for_status()
            with dest.open("wb") as fh:
                for chunk in _capped(resp, url, settings.source_max_bytes):
                    fh.write(chunk)

    attempt()


def _capped(resp: httpx.Response, url: str, limit: int) -> Any:
    """The response body in chunks, refused past ``limit`` bytes (announced or counted)."""
    announced = resp.headers.get("content-length")
    if announced and announced.isdigit() and int(announced) > limit:
        raise FetchRefused(_too_big(url, f"announces {int(announced):,} bytes", limit))
    seen = 0
    for chunk in resp.iter_bytes(CHUNK):
        seen += len(chunk)
        if seen > limit:
            raise FetchRefused(_too_big(url, "sent more than that", limit))
        yield chunk


def _too_big(where: str, what: str, limit: int) -> str:
    return f"refused {where}: it {what}; the limit is {limit:,} bytes (setting IMGPIPELINE_SOURCE_MAX_BYTES)"


def _get_sums(client: httpx.Client, url: str, settings: Settings) -> str | None:
    """The text of a ``SHA256SUMS`` file, or None where the server has none (404). A transient
    failure is retried like the snapshot itself and, if it persists, raised: a flaky mirror
    must not switch the checksum verification off."""

    @_retrying(settings)
    def attempt() -> str | None:
        with client.stream("GET", url) as resp:
            if resp.status_code in (404, 410):
                return None
            resp.raise_for_status()
            return b"".join(_capped(resp, url, settings.source_max_bytes)).decode("utf-8", "replace")

    return attempt()


def _expected_sha256(location: str, client: httpx.Client | None, settings: Settings) -> str | None:
    """The checksum the mirror publishes for ``location`` in a ``SHA256SUMS`` beside its
    top folder, if it publishes one."""
    name = PurePosixPath(location.split("://", 1)[-1])
    for depth in range(1, 3):
        if len(name.parts) <= depth:
            break
        rel = "/".join(name.parts[-depth:])
        if is_url(location):
            base = location[: -len(rel)]
            assert client is not None
            text = _get_sums(client, urljoin(base, "SHA256SUMS"), settings)
            if text is None:
                continue
        else:
            sums = Path(location).parents[depth - 1] / "SHA256SUMS"
            if not sums.exists():
                continue
            text = sums.read_text()
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].lstrip("*") == rel:
                return parts[0].lower()
    return None


def _sha256(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def land_snapshot(name: str, settings: Settings) -> Snapshot:
    """Land the current snapshot of source ``name`` and return its manifest row.

    Refuses (LandingError) a file whose checksum differs from the one its mirror publishes.
    Landing the same bytes twice reuses the landed file; different bytes under the same name
    and date are landed beside it, never over it. A full or read-only disk is a LandingError
    naming it; nothing half-written is left (the temporary file is removed, the manifest
    line is written whole or not at all).
    """
    try:
        return _land(name, settings)
    except OSError as exc:
        raise LandingError(
            disk_message(f"landing {name}", exc, settings.raw_dir, None, "nothing was landed").replace(
                "; nothing was current before", ""
            )
        ) from exc


def _land(name: str, settings: Settings) -> Snapshot:
    source = CATALOG[name]
    location = resolve_location(source, settings)
    as_of = as_of_for(source, location)
    filename = PurePosixPath(location.split("?", 1)[0]).name
    if as_of is None:
        stem, suffix = PurePosixPath(filename).stem, PurePosixPath(filename).suffix
        raise LandingError(
            f"{name}: cannot tell the as-of date of {location}: name the file "
            f"{stem}_YYYY-MM-DD{suffix} (the catalog's date {source.as_of} is that of {source.path})"
        )
    target_dir = settings.raw_dir / name / as_of
    target_dir.mkdir(parents=True, exist_ok=True)

    with tempfile.NamedTemporaryFile(dir=target_dir, prefix=".landing-", delete=False) as tmp:
        tmp_path = Path(tmp.name)
    try:
        expected = _copy_in(name, location, tmp_path, settings)
        sha, size = _sha256(tmp_path)
        if expected is None:
            log.warning("%s: no SHA256SUMS entry for %s: landed without checksum verification", name, location)
        elif sha != expected:
            raise LandingError(
                f"{name}: refused {location}: sha256 {sha} does not match the expected {expected}"
            )
        target, is_new = _keep(tmp_path, target_dir / filename, sha)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        _remove_if_empty(target_dir)
        raise
    tmp_path.unlink(missing_ok=True)

    recorded = None if is_new else _manifest_row(settings.manifest_path, str(target), sha)
    if recorded is not None:
        # The same bytes were landed before: that landing is the record, not a second row.
        log.info("%s: reusing %s, landed %s", name, target, recorded.retrieved_at)
        return recorded
    snap = Snapshot(
        source=name,
        location=location,
        as_of=as_of,
        retrieved_at=datetime.now(UTC).isoformat(timespec="seconds"),
        sha256=sha,
        size_bytes=size,
        rights=source.rights,
        path=str(target),
    )
    _append_line(settings.manifest_path, json.dumps(asdict(snap)))
    log.info("landed %s (%s bytes, sha256 %s) at %s", name, size, sha[:12], target)
    return snap


def _copy_in(name: str, location: str, tmp_path: Path, settings: Settings) -> str | None:
    """The snapshot at ``location`` (a URL or a file) copied to ``tmp_path``; returns the sha256
    its SHA256SUMS expects (None where it lists none)."""
    if not is_url(location):
        src = Path(location)
        if not src.is_file():
            raise LandingError(f"{name}: snapshot not found at {location}")
        if src.stat().st_size > settings.source_max_bytes:
            raise LandingError(f"{name}: {_too_big(location, f'is {src.stat().st_size:,} bytes', settings.source_max_bytes)}")
        shutil.copyfile(src, tmp_path)
        return _expected_sha256(location, None, settings)
    check_url(location, settings)
    with _client(location, settings) as client:
        try:
            _get(client, location, tmp_path, settings)
            return _expected_sha256(location, client, settings)
        except FetchRefused as exc:
            raise FetchRefused(f"{name}: {exc}") from None
        except httpx.TimeoutException as exc:
            kind = "connecting" if isinstance(exc, httpx.ConnectTimeout) else "waiting for data"
            raise LandingError(
                f"{name}: could not fetch {location}: timed out {kind} (connect "
                f"{settings.http_connect_timeout_s:g} s, read {settings.http_timeout_s:g} s; settings "
                "IMGPIPELINE_HTTP_CONNECT_TIMEOUT_S, IMGPIPELINE_HTTP_TIMEOUT_S)"
            ) from exc
        except httpx.HTTPError as exc:
            raise LandingError(f"{name}: could not fetch {location}: {exc}") from exc


def _keep(tmp_path: Path, target: Path, sha: str) -> tuple[Path, bool]:
    """Where the landed bytes live (a file already there with other bytes keeps its name; the
    new one gets the checksum in its name), and whether they were new (moved in read-only)."""
    if target.exists() and _sha256(target)[0] != sha:
        target = target.with_name(f"{target.stem}.{sha[:12]}{target.suffix}")
    is_new = not target.exists()
    if is_new:
        os.replace(tmp_path, target)
        target.chmod(0o444)
    return target, is_new


def _append_line(path: Path, line: str) -> None:
    """Append one line whole or not at all: a failed write (full disk) is cut back off, so
    the manifest never holds half a row."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        data = (line + "\n").encode()
        try:
            written = os.write(fd, data)
            if written != len(data):
                raise OSError(28, "No space left on device (short write)", str(path))
            os.fsync(fd)
        except BaseException:
            with contextlib.suppress(OSError):  # not a regular file (a device): nothing to cut
                os.ftruncate(fd, size)
            raise
    finally:
        os.close(fd)


def _remove_if_empty(folder: Path) -> None:
    """Leave no empty ``<source>/<as-of>`` folder behind a refused landing."""
    for d in (folder, folder.parent):
        try:
            d.rmdir()
        except OSError:
            return


def _manifest_row(manifest: Path, path: str, sha256: str) -> Snapshot | None:
    """The manifest's record of the file at ``path`` with these bytes, if it has one."""
    if not manifest.exists():
        return None
    for line in manifest.read_text().splitlines():
        if not line:
            continue
        row = json.loads(line)
        if row["path"] == path and row["sha256"] == sha256:
            return Snapshot(**row)
    return None


def read_landings(settings: Settings) -> list[dict[str, object]]:
    """Every landing ever recorded, oldest first."""
    if not settings.manifest_path.exists():
        return []
    return [json.loads(x) for x in settings.manifest_path.read_text().splitlines() if x]
