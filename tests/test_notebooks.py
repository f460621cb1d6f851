"""The notebooks (jupytext percent files, no outputs committed) run against a real run's
outputs (the session fixture ``published``) and save their figures next to them."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from imgpipeline.refresh.notebooks import notebook_paths, run_notebooks
from imgpipeline.settings import PROJECT_DIR, Settings
from imgpipeline.store import current_version

NOTEBOOKS = notebook_paths()
# What a notebook may import from the package: reading the published data, nothing that
# computes it.
# What a notebook may import: readers of a published version, and the advice's own function for
# what a list brings (the size curve applicants see), so the notebook computes nothing itself.
READERS = {"imgpipeline.refresh.figures", "imgpipeline.store", "imgpipeline.settings", "imgpipeline.tables", "imgpipeline.advice.outcome"}


def figures_of(path: Path) -> list[str]:
    return re.findall(r"""save\(fig, ["']([\w-]+)["']\)""", path.read_text())


def tables_of(path: Path) -> list[str]:
    return re.findall(r"""read_table\(["'](\w+)["']""", path.read_text())


def test_notebooks_are_numbered_percent_scripts_without_outputs() -> None:
    assert [p.name[:3] for p in NOTEBOOKS] == [f"{i:02d}_" for i in range(1, len(NOTEBOOKS) + 1)]
    assert not list((PROJECT_DIR / "notebooks").glob("*.ipynb")), "commit the .py, not outputs"
    for path in NOTEBOOKS:
        text = path.read_text()
        assert "format_name: percent" in text and "# %%" in text, path.name
        assert figures_of(path), f"{path.name} saves no figure"
        assert tables_of(path), f"{path.name} reads no published table"
        imported = {
            node.module
            for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("imgpipeline")
        } | {
            alias.name
            for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.Import)
            for alias in node.names
            if alias.name.startswith(("imgpipeline", "flows"))
        }
        assert imported <= READERS, f"{path.name} imports pipeline logic: {imported - READERS}"


def test_every_published_analysis_table_is_read_by_a_notebook() -> None:
    read = {t for path in NOTEBOOKS for t in tables_of(path)}
    assert {
        "nrmp_program_results", "nrmp_crosswalk", "conflicts", "feature_evidence",
        "program_minimums_2016", "unmatched_records", "program_features", "program_scores",
        "match_probability_curve",
    } <= read


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_refresh_ran_the_notebook_on_the_version_it_published(path: Path, published: Settings) -> None:
    """The fixture's second refresh ran every notebook after publishing (as a scheduled
    refresh does): its executed notebook and its figures are in the version folder."""
    import json

    import nbformat

    version = current_version(published)
    assert version is not None
    executed = version / "notebooks" / f"{path.stem}.ipynb"
    notebook = nbformat.read(executed, as_version=4)
    errors = [
        o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"
    ]
    assert not errors
    # The version came in as a parameter, after the notebook's own parameters cell.
    tags = [c.get("metadata", {}).get("tags", []) for c in notebook.cells]
    injected = tags.index(["injected-parameters"])
    assert tags[injected - 1] == ["parameters"]
    assert f"version_dir = {str(version)!r}" in notebook.cells[injected].source
    printed = "".join(
        o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )
    assert f"version {version.name}" in printed
    expected = [version / "figures" / f"{name}.png" for name in figures_of(path)]
    for figure in expected:
        assert figure.exists() and figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", figure
        assert f"saved {figure}" in printed
    # Every figure has a caption naming its source snapshots, their as-of dates and the version.
    captions = [line for line in printed.splitlines() if line.startswith("caption: Source: ")]
    assert len(captions) == len(expected)
    assert all("(as of " in c and f"imgpipeline version {version.name}" in c for c in captions)
    [report] = [r for r in json.loads((version / "notebooks.json").read_text()) if r["notebook"] == path.name]
    assert report["ok"] and report["executed"] == f"notebooks/{path.stem}.ipynb"
    assert sorted(report["figures"]) == sorted(f.name for f in expected)


@pytest.mark.slow
def test_a_failing_notebook_is_reported_and_the_version_stays_published(
    published: Settings, tmp_path: Path
) -> None:
    """A version without the table notebook 03 reads: the notebook fails, the failure is
    recorded with its error, and the version is untouched (nothing unpublished)."""
    import shutil

    from imgpipeline.refresh.notebooks import run_all

    version = current_version(published)
    assert version is not None
    broken = Path(shutil.copytree(version, tmp_path / "versions" / version.name, ignore=shutil.ignore_patterns("match_probability_curve.parquet", "figures", "notebooks*")))
    [run] = run_all(published, names=["03"], version=broken)
    assert not run.ok and run.executed is None
    assert "match_probability_curve" in run.error
    assert (broken / "notebooks.json").exists() and (broken / "programs.parquet").exists()
    assert current_version(published) == version


@pytest.mark.slow
def test_run_notebooks_keeps_the_executed_notebook_beside_the_version(published_copy: Settings) -> None:
    """The runner on its own (``imgpipeline notebooks``) on the current version (of a copy: it
    rewrites the version's notebooks.json, which other tests read)."""
    [written] = run_notebooks(published_copy, names=["03"])
    version = current_version(published_copy)
    assert written == version / "notebooks" / "03_match_probability.ipynb"
    import nbformat

    cells = nbformat.read(written, as_version=4).cells
    assert any(o.get("output_type") == "display_data" for c in cells for o in c.get("outputs", []))


@pytest.mark.slow
def test_the_landscape_notebook_runs_on_the_older_snapshots_version(published: Settings, tmp_path: Path) -> None:
    """The first version of ``published`` (FREIDA 2025-05-24, which has no first ACGME year, so
    no program has a known accreditation age) still gets its landscape figures: a notebook must
    not assume a column the sources may leave empty (a copy: the runner writes beside it)."""
    import shutil

    from imgpipeline.refresh.notebooks import run_all

    older = min((published.processed_dir / "versions").iterdir())
    assert older != current_version(published)
    copy = Path(shutil.copytree(older, tmp_path / "versions" / older.name, ignore=shutil.ignore_patterns("figures", "notebooks*")))
    [run] = run_all(published, names=["01"], version=copy)
    assert run.ok, run.error
    assert "01_new_programs.png" in run.figures
