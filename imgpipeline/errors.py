"""Errors that say exactly what failed: which source, which column, which rule, which rows."""

from __future__ import annotations

from dataclasses import dataclass, field


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
