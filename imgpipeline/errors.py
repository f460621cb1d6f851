"""Errors that say exactly what failed: which source, which column, which rule, which rows."""

from __future__ import annotations

import errno
import re
from dataclasses import dataclass, field
from pathlib import Path


class PipelineError(Exception):
    """Base of every failure a run reports to its user (exit code 1, nothing published)."""


class LandingError(PipelineError):
    """A snapshot could not be fetched, or was refused (checksum mismatch, immutable clash)."""


class StagingError(PipelineError):
    """A snapshot could not be read into its staged table at all."""


@dataclass
class Failure:
    """One failed rule of a table's validation suite."""

    table: str
    source: str
    rule: str
    column: str | None
    detail: str
    rows: list[str] = field(default_factory=list)
    unexpected_count: int | None = None

    def describe(self) -> str:
        where = f"column {self.column!r}" if self.column else "table"
        rows = ""
        if self.rows:
            shown = ", ".join(self.rows[:10])
            more = f" (+{len(self.rows) - 10} more)" if len(self.rows) > 10 else ""
            rows = f"; failing rows: {shown}{more}"
        count = f" [{self.unexpected_count} unexpected]" if self.unexpected_count else ""
        return f"{self.source} -> {self.table}: {where} failed {self.rule}{count}: {self.detail}{rows}"


class ValidationFailed(PipelineError):
    """A staged or published table broke its declaration's checks; nothing is published."""

    def __init__(self, failures: list[Failure]):
        self.failures = failures
        super().__init__(
            "validation failed:\n" + "\n".join("  - " + f.describe() for f in failures)
        )


# errno -> what a person calls it. EFBIG is what a file-size limit (RLIMIT_FSIZE, a quota
# per file) gives; the tests simulate a full disk with it.
DISK_ERRORS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large for the filesystem or the process's file-size limit",
    errno.EROFS: "read-only filesystem",
    errno.EACCES: "permission denied (read-only folder?)",
    errno.EPERM: "operation not permitted (read-only folder?)",
}


def disk_message(action: str, exc: OSError, where: Path, current: Path | None, outcome: str) -> str:
    """One line: what failed, why (the disk condition by name), and what is still current."""
    code = exc.errno
    if code is None:
        # pyarrow reports write failures as OSError("... [errno 28] No space left ...").
        m = re.search(r"errno (\d+)", str(exc))
        code = int(m.group(1)) if m else None
    why = DISK_ERRORS.get(code or -1) or (exc.strerror or str(exc).splitlines()[0])
    path = exc.filename or where
    still = f"the last good version {current.name} stays current" if current else "nothing was current before"
    return f"{action} failed: {why} ({path}); {outcome}; {still}"
