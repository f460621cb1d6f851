"""The data dictionary: generated from the declarations, committed, and covering every column
of every table and every column of the real published files."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from imgpipeline import dictionary
from imgpipeline.cli import app
from imgpipeline.declare import PROVENANCE
from imgpipeline.settings import Settings
from imgpipeline.store import current_version
from imgpipeline.tables import PUBLISHED, TABLES


def rows_by_table(markdown: str) -> dict[str, dict[str, list[str]]]:
    """Each ``### table`` section's column rows, cells unescaped, by column name."""
    out: dict[str, dict[str, list[str]]] = {}
    current = None
    for line in markdown.splitlines():
        if line.startswith("### "):
            current = line[4:].strip()
            out[current] = {}
        elif current and line.startswith("| `"):
            cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            out[current][cells[0].strip("`")] = cells
    return out


def test_the_committed_dictionary_is_what_the_declarations_generate() -> None:
    diff = dictionary.stale()
    assert diff is None, (
        f"{dictionary.DICTIONARY_PATH} differs from the table declarations: run "
        f"`{dictionary.REGENERATE}` and commit it.\n{diff}"
    )


def test_every_column_of_every_table_is_documented_as_declared() -> None:
    sections = rows_by_table(dictionary.render())
    assert set(sections) == set(TABLES)
    for name, table in TABLES.items():
        rows = sections[name]
        assert list(rows) == table.column_names, name
        for c in table.columns:
            _, dtype, unit, meaning, basis, source, rules = rows[c.name]
            assert dtype == dictionary.type_text(c), (name, c.name)
            assert (unit, meaning, basis, source) == (c.unit, c.description, c.basis, c.source), (name, c.name)
            # Provenance of a published row is checked as required whatever its nullability.
            traced = table.published and c.source == PROVENANCE
            assert rules.startswith("required" if not c.nullable or traced else "may be missing")
            for value in c.allowed or ():
                assert f"`{value}`" in rules, (name, c.name, value)


def test_published_tables_come_first_and_are_listed_with_their_versions() -> None:
    text = dictionary.render()
    staged_at = text.index("## Staged tables")
    for name, t in PUBLISHED.items():
        assert text.index(f"### {name}\n") < staged_at
        assert f"| [`{name}`](#{name}) |" in text and f"| `{t.schema_version}` |" in text
    for name in set(TABLES) - set(PUBLISHED):
        assert text.index(f"### {name}\n") > staged_at


def test_a_stale_file_is_reported_with_the_lines_that_differ(tmp_path: Path) -> None:
    path = tmp_path / "data_dictionary.md"
    dictionary.write(path)
    assert dictionary.stale(path) is None
    path.write_text(path.read_text().replace("| `acgme_id` |", "| `acgme_number` |", 1))
    diff = dictionary.stale(path)
    assert diff is not None and "-| `acgme_number` |" in diff and "+| `acgme_id` |" in diff


def test_the_cli_checks_the_committed_file() -> None:
    result = CliRunner().invoke(app, ["dictionary", "--check"])
    assert result.exit_code == 0, result.output
    assert "is current" in result.output


def test_every_column_of_the_real_published_files_is_in_the_dictionary(published: Settings) -> None:
    sections = rows_by_table(dictionary.DICTIONARY_PATH.read_text())
    version = current_version(published)
    assert version is not None
    files = sorted(version.glob("*.parquet"))
    assert {"programs.parquet", "changes.parquet"} <= {f.name for f in files}
    for path in files:
        schema = pq.read_schema(path)
        rows = sections[path.stem]
        assert schema.names == list(rows), path.name
        for field in schema:
            meaning = rows[field.name][3]
            assert field.metadata[b"description"].decode() == meaning, (path.name, field.name)
