"""The run summary: what a refresh landed, checked, matched and published, in one record that
the CLI prints, the flow posts as a Prefect artifact and the version manifest keeps."""

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
    data_docs: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_markdown(self) -> str:
        """The summary as Markdown (for the Prefect artifact and the docs)."""
        out = [f"# imgpipeline refresh: version `{self.version}`", ""]
        if self.version_dir:
            out += [f"Outputs: `{self.current_dir}` -> `{self.version_dir}`", ""]
        if self.data_docs:
            out += [f"Data Docs: `{self.data_docs}`", ""]
        out += ["## Snapshots", "", "| source | as of | sha256 |", "|---|---|---|"]
        out += [f"| {s['source']} | {s['as_of']} | `{s['sha256'][:16]}` |" for s in self.snapshots]
        out += ["", "## Published tables", "", "| table | rows |", "|---|---|"]
        out += [f"| {k} | {v} |" for k, v in self.tables.items()]
        out += ["", "## Validation", "", "| table | source | rows | checks | failed |"]
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
