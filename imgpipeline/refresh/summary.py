"""The run summary: what a refresh landed, checked, matched, changed and published, in one
record that the CLI prints, the flow posts as a Prefect artifact and the version manifest keeps."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from imgpipeline.text import markdown_table

if TYPE_CHECKING:
    import pandas as pd

    from imgpipeline.refresh.features import FeatureTables
    from imgpipeline.refresh.land import Snapshot
    from imgpipeline.refresh.program_scores import InterviewTables
    from imgpipeline.refresh.stage import Staged

CHANGES_SECTION = "Changes since the previous version"


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
    # What the version was computed from (imgpipeline.refresh.inputs.run_inputs): snapshot checksums,
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
        out += ["## Snapshots", "", markdown_table(["source", "as of", "sha256"], [(s["source"], s["as_of"], f"`{s['sha256'][:16]}`") for s in self.snapshots])]
        out += ["", "## Published tables", "", markdown_table(["table", "rows"], self.tables.items())]
        passed = sum(1 for v in self.validation if not v["failed"])
        out += ["", "## Validation", "", f"{passed} of {len(self.validation)} suites passed.", ""]
        out += [markdown_table(["table", "source", "rows", "checks", "failed"], [(v["table"], v["source"], v["rows"], v["evaluated"], v["failed"]) for v in self.validation])]
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


@dataclass
class Built:
    """What a refresh built from the staged sources: the tables to publish (``changes`` is
    added once they are compared with the current version), with the feature and model
    results whose summaries the run summary shows."""

    published: dict[str, pd.DataFrame]
    features: FeatureTables
    model: InterviewTables


def staging_checked(staged: dict[str, Staged]) -> Iterator[tuple[str, str, pd.DataFrame]]:
    """(source, table, frame) of each staged frame validated at staging: a declared table that
    is not published (published ones are validated with the rest before publication)."""
    from imgpipeline.tables import TABLES

    for source, st in staged.items():
        for name, frame in st.frames.items():
            if name in TABLES and not TABLES[name].published:
                yield source, name, frame


def run_summary(
    snaps: dict[str, Snapshot],
    staged: dict[str, Staged],
    built: Built,
    validation: list[dict[str, Any]],
    inputs: dict[str, Any],
    changes_from: str | None,
) -> RunSummary:
    """The run summary of a refresh about to publish ``built.published``."""
    from imgpipeline.refresh import changes as change_steps
    from imgpipeline.refresh import match_probability as probability_steps
    from imgpipeline.refresh import programs as program_steps

    published = built.published
    summary = RunSummary(
        snapshots=[{"source": s.source, "as_of": s.as_of, "sha256": s.sha256, "snapshot": s.snapshot_id} for s in snaps.values()],
        tables={name: len(df) for name, df in published.items()},
        validation=validation,
        unmatched=program_steps.unmatched_summary(published["unmatched_records"]),
        collapsed_duplicates={snaps[name].snapshot_id: st.collapsed for name, st in staged.items() if st.collapsed is not None},
        data_docs="data_docs/index.html",
        changes_from=changes_from,
        changes=change_steps.counts(published["changes"]),
        inputs=inputs,
        notes=[note for st in staged.values() for note in st.notes],
    )
    summary.sections[CHANGES_SECTION] = change_steps.summarize(published["changes"], changes_from)
    summary.sections["Program features"] = built.features.summary_markdown()
    summary.sections["Match probability (IM, non-US IMGs)"] = probability_steps.curve_summary_markdown(
        published["match_probability_curve"]
    )
    summary.sections["Interview chances: validity"] = built.model.summary_markdown
    return summary


def notebooks_markdown(version: str | None, runs: list[dict[str, Any]]) -> str:
    """The notebooks run after publication, as Markdown (for the Prefect artifact)."""
    rows = [(r["notebook"], "ok" if r["ok"] else f"FAILED: {r['error']}", ", ".join(r["figures"] or [])) for r in runs]
    return f"# Analysis notebooks on version `{version}`\n\n" + markdown_table(["notebook", "outcome", "figures"], rows) + "\n"
