"""Run the analysis notebooks (jupytext percent scripts in ``notebooks/``) against a published
version, keeping the executed notebooks and their figures beside that version's data.

Each notebook has a cell tagged ``parameters`` (``version_dir = None``); as papermill does,
the runner adds a cell after it, tagged ``injected-parameters``, that sets the version folder
to read, so a notebook run by the refresh reads the version that refresh published.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from imgpipeline.settings import PROJECT_DIR, Settings, run_environment
from imgpipeline.store import current_version

log = logging.getLogger(__name__)

NOTEBOOK_DIR = PROJECT_DIR / "notebooks"
REPORT = "notebooks.json"


def notebook_paths() -> list[Path]:
    """The numbered notebooks, in order."""
    return sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.py"))


def inject_parameters(notebook: Any, **parameters: Any) -> Any:
    """Add a cell setting ``parameters`` after the cell tagged ``parameters`` (papermill's
    convention); a notebook without one gets it first."""
    import nbformat

    source = "# Parameters\n" + "\n".join(f"{k} = {v!r}" for k, v in parameters.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    tagged = [i for i, c in enumerate(notebook.cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    notebook.cells.insert(tagged[0] + 1 if tagged else 0, cell)
    return notebook


def execute_notebook(
    path: Path, settings: Settings, version: Path | None = None, timeout_s: int = 600
) -> Any:
    """Execute one notebook on ``version`` (default: ``settings``' current version); return
    the executed notebook (an nbformat node), raising if a cell fails."""
    import jupytext
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    notebook = jupytext.read(path)
    if version is not None:
        inject_parameters(notebook, version_dir=str(version))
    env = {
        "IMGPIPELINE_PROCESSED_DIR": str(settings.processed_dir),
        "MPLBACKEND": run_environment()["MPLBACKEND"],
        # ipykernel's debugger warns about frozen modules on every kernel start.
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    # The kernel gets this process's environment and ``env`` (given to its process, not set
    # here: notebooks run side by side in threads). IPC sockets in a private temporary
    # folder: over TCP (the default) ipykernel warns on every start that its traffic is
    # unencrypted. Given a kernel manager, the client keeps its channels and the kernel
    # unless told (``cleanup_kc``): they are stopped at once, and the kernel again here
    # whatever happened (else it outlives the run, and the channels' zmq context warns when
    # collected, after the run's log is closed).
    with tempfile.TemporaryDirectory(prefix="imgpipeline-kernel-") as sockets:
        km = KernelManager(kernel_name="python3", transport="ipc", ip=str(Path(sockets) / "kernel"))
        try:
            NotebookClient(
                notebook,
                km=km,
                timeout=timeout_s,
                kernel_name="python3",
                resources={"metadata": {"path": str(path.parent)}},
                shutdown_kernel="immediate",
            ).execute(env={**os.environ, **env}, cleanup_kc=True)
        finally:
            if km.has_kernel:
                km.shutdown_kernel(now=True)
    return notebook


@dataclass
class NotebookRun:
    notebook: str
    ok: bool
    executed: str | None = None
    figures: list[str] | None = None
    error: str | None = None


def run_notebooks(
    settings: Settings, names: list[str] | None = None, version: Path | None = None
) -> list[Path]:
    """Execute the notebooks (all, or those whose file name starts with one of ``names``) on
    ``version`` (default: the current one) and write each executed ``.ipynb`` into
    ``<version>/notebooks/``; figures land in ``<version>/figures/``. Raises on the first
    notebook that fails."""
    runs = run_all(settings, names, version, stop_on_error=True)
    return [Path(r.executed) for r in runs if r.executed]


def run_all(
    settings: Settings,
    names: list[str] | None = None,
    version: Path | None = None,
    stop_on_error: bool = False,
) -> list[NotebookRun]:
    """Each notebook's outcome; a failing notebook is recorded (its partly executed notebook
    kept) and, unless ``stop_on_error``, the next one still runs. The outcomes are written to
    ``<version>/notebooks.json``."""
    import nbformat
    from nbclient.exceptions import CellExecutionError

    version = version or current_version(settings)
    if version is None:
        raise FileNotFoundError(f"nothing published under {settings.processed_dir}: run `make run`")
    out_dir = version / "notebooks"
    out_dir.mkdir(exist_ok=True)
    figures = version / "figures"
    paths = [p for p in notebook_paths() if not names or any(p.name.startswith(n) for n in names)]

    def run_one(path: Path) -> NotebookRun:
        log.info("executing %s on %s", path.name, version.name)
        target = out_dir / f"{path.stem}.ipynb"
        try:
            executed = execute_notebook(path, settings, version)
            nbformat.write(executed, target)
        except Exception as exc:
            if stop_on_error:
                raise
            if isinstance(exc, CellExecutionError):
                error = f"{exc.ename}: {exc.evalue}"
            else:
                error = f"{type(exc).__name__}: {exc}"
            log.error("notebook %s failed on %s: %s", path.name, version.name, error)
            return NotebookRun(path.name, False, error=error)
        return NotebookRun(path.name, True, executed=str(target), figures=saved_figures(executed, figures))

    # Each notebook in its own kernel, ``settings.notebook_workers`` at a time; the outcomes
    # in the notebooks' order.
    with ThreadPoolExecutor(max_workers=max(1, settings.notebook_workers)) as pool:
        runs = list(pool.map(run_one, paths))
    report = [{**asdict(r), "executed": r.executed and str(Path(r.executed).relative_to(version))} for r in runs]
    (version / REPORT).write_text(json.dumps(report, indent=2))
    return runs


def saved_figures(notebook: Any, figures: Path) -> list[str]:
    """The figure files a notebook's output says it saved (``saved <path>``, from
    ``imgpipeline.refresh.figures.figure_saver``) that exist in ``figures``."""
    text = "".join(
        o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )
    names = [line.split(" ", 1)[1].strip() for line in text.splitlines() if line.startswith("saved ")]
    return [Path(n).name for n in names if (figures / Path(n).name).exists()]
