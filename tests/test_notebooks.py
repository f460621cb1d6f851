"""The notebooks (jupytext percent files, no outputs committed) run against a real run's
outputs (the session fixture ``published``) and save their figures next to them."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from imgpipeline.publish import current_version
from imgpipeline.settings import PROJECT_DIR, Settings

NOTEBOOKS = sorted((PROJECT_DIR / "notebooks").glob("[0-9][0-9]_*.py"))
# What a notebook may import from the package: reading the published data, nothing that
# computes it.
READERS = {"imgpipeline.publish", "imgpipeline.settings", "imgpipeline.tables"}


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
def test_notebook_runs_on_the_published_outputs(
    path: Path, published: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jupytext
    from nbclient import NotebookClient

    version = current_version(published)
    assert version is not None
    missing = [t for t in tables_of(path) if not (version / f"{t}.parquet").exists()]
    if missing:
        pytest.skip(f"the refresh flow does not publish {', '.join(missing)} yet")
    expected = [version / "figures" / f"{name}.png" for name in figures_of(path)]
    for figure in expected:
        figure.unlink(missing_ok=True)
    # The kernel inherits the environment: the notebook reads the published fixture's folder.
    monkeypatch.setenv("IMGPIPELINE_PROCESSED_DIR", str(published.processed_dir))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = jupytext.read(path)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
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
