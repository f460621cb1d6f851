"""Run the analysis notebooks (jupytext percent scripts in ``notebooks/``) against a published
version, keeping the executed notebooks and their figures beside that version's data."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from imgpipeline.publish import current_version
from imgpipeline.settings import PROJECT_DIR, Settings

log = logging.getLogger(__name__)

NOTEBOOK_DIR = PROJECT_DIR / "notebooks"


def notebook_paths() -> list[Path]:
    """The numbered notebooks, in order."""
    return sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.py"))


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    """The kernel inherits this process's environment: point it at the version to read."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def execute_notebook(path: Path, settings: Settings, timeout_s: int = 600) -> Any:
    """Execute one notebook on ``settings``' current version; return the executed notebook
    (an nbformat node), raising if a cell fails."""
    import jupytext
    from nbclient import NotebookClient

    notebook = jupytext.read(path)
    with _environment(IMGPIPELINE_PROCESSED_DIR=str(settings.processed_dir), MPLBACKEND="Agg"):
        NotebookClient(
            notebook,
            timeout=timeout_s,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
    return notebook


def run_notebooks(settings: Settings, names: list[str] | None = None) -> list[Path]:
    """Execute the notebooks (all, or those whose file name starts with one of ``names``) and
    write each executed ``.ipynb`` into ``<version>/notebooks/``; figures land in
    ``<version>/figures/``."""
    import nbformat

    version = current_version(settings)
    if version is None:
        raise FileNotFoundError(f"nothing published under {settings.processed_dir}: run `make run`")
    out_dir = version / "notebooks"
    out_dir.mkdir(exist_ok=True)
    written = []
    for path in notebook_paths():
        if names and not any(path.name.startswith(n) for n in names):
            continue
        log.info("executing %s on %s", path.name, version.name)
        target = out_dir / f"{path.stem}.ipynb"
        nbformat.write(execute_notebook(path, settings), target)
        written.append(target)
    return written
