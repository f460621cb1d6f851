"""The notebooks (jupytext percent files, no outputs committed) run against a real run's
outputs (the session fixture ``published``) and save their figures next to them."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from imgpipeline.notebooks import execute_notebook, notebook_paths, run_notebooks
from imgpipeline.publish import current_version
from imgpipeline.settings import PROJECT_DIR, Settings

NOTEBOOKS = notebook_paths()
# What a notebook may import from the package: reading the published data, nothing that
# computes it.
READERS = {"imgpipeline.figures", "imgpipeline.publish", "imgpipeline.settings", "imgpipeline.tables"}


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


@pytest.mark.slow
@pytest.mark.xdist_group("published")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_on_the_published_outputs(path: Path, published: Settings) -> None:
    version = current_version(published)
    assert version is not None
    expected = [version / "figures" / f"{name}.png" for name in figures_of(path)]
    for figure in expected:
        figure.unlink(missing_ok=True)
    notebook = execute_notebook(path, published)
    errors = [
        o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"
    ]
    assert not errors
    printed = "".join(
        o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )
    assert f"version {version.name}" in printed
    for figure in expected:
        assert figure.exists() and figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", figure
        assert f"saved {figure}" in printed


@pytest.mark.slow
@pytest.mark.xdist_group("published")
def test_run_notebooks_keeps_the_executed_notebook_beside_the_version(published: Settings) -> None:
    [written] = run_notebooks(published, names=["03"])
    version = current_version(published)
    assert written == version / "notebooks" / "03_match_probability.ipynb"
    import nbformat

    cells = nbformat.read(written, as_version=4).cells
    assert any(o.get("output_type") == "display_data" for c in cells for o in c.get("outputs", []))
