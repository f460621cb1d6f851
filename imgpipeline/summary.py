"""The run summary: what a refresh landed, checked, matched, changed and published, in one
record that the CLI prints, the flow posts as a Prefect artifact and the version manifest keeps."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class RunSummary:
    version: str | None = None
    version_dir: str | None = None
    current_dir: str | None = None
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)
    validation: list[dict[str, Any]] = field(default_factory=list)
    unmatched: dict[str, list[str]] = field(default_factory=dict)
    collapsed_duplicates: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    sections: dict[str, str] = field(default_factory=dict)
    # Great Expectations' HTML Data Docs of this run's validations: relative to the version
    # folder in the manifest, the absolute path once published.
    data_docs: str | None = None
    # The version this one was compared with (None for a first publication) and the number of
    # changes of each kind found (the rows of changes.parquet).
    changes_from: str | None = None
    changes: dict[str, int] = field(default_factory=dict)
    # What the version was computed from (imgpipeline.inputs.run_inputs): snapshot checksums,
    # rulebook digest, code version; a refresh with the same inputs publishes nothing.
    inputs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_markdown(self) -> str:
        """The summary as Markdown (for the Prefect artifact and the docs)."""
        out = [f"# imgpipeline refresh: version `{self.version}`", ""]
        if self.version_dir:
            out += [f"Outputs: `{self.current_dir}` -> `{self.version_dir}`", ""]
        if self.data_docs:
            out += [
                f"Data Docs (Great Expectations validation results; open the file in a browser, "
                f"it needs no network): `{self.data_docs}`",
                "",
            ]
        out += ["## Changes", "", self.changes_line(), ""]
        out += ["## Snapshots", "", "| source | as of | sha256 |", "|---|---|---|"]
        out += [f"| {s['source']} | {s['as_of']} | `{s['sha256'][:16]}` |" for s in self.snapshots]
        out += ["", "## Published tables", "", "| table | rows |", "|---|---|"]
        out += [f"| {k} | {v} |" for k, v in self.tables.items()]
        passed = sum(1 for v in self.validation if not v["failed"])
        out += ["", "## Validation", "", f"{passed} of {len(self.validation)} suites passed.", ""]
        out += ["| table | source | rows | checks | failed |"]
        out += ["|---|---|---|---|---|"]
        out += [
            f"| {v['table']} | {v['source']} | {v['rows']} | {v['evaluated']} | {v['failed']} |"
            for v in self.validation
        ]
        if self.unmatched:
            out += ["", "## Unmatched records", ""]
            for what, ids in self.unmatched.items():
                out.append(f"- {what}: {len(ids)}" + (f" ({', '.join(ids)})" if ids else ""))
        if self.collapsed_duplicates:
            out += ["", "## Exact duplicate rows collapsed", ""]
            for src, ids in self.collapsed_duplicates.items():
                out.append(f"- {src}: {len(ids)}" + (f" ({', '.join(ids)})" if ids else ""))
        for title, text in self.sections.items():
            out += ["", f"## {title}", "", text]
        if self.notes:
            out += ["", "## Notes", ""] + [f"- {n}" for n in self.notes]
        return "\n".join(out) + "\n"

    def changes_line(self) -> str:
        """One line on what changed since the previous version."""
        if self.changes_from is None:
            return "First publication: no previous version to compare with."
        if not self.changes:
            return f"No changes since version `{self.changes_from}`."
        kinds = ", ".join(f"{k} {n}" for k, n in self.changes.items())
        return f"{sum(self.changes.values())} changes since version `{self.changes_from}`: {kinds}."
