"""An empty Prefect database, migrated once per install, that each test run's server starts
from (a copy): a fresh SQLite database runs every Prefect migration first, about 15 CPU-seconds
at the start of every test run, before the shared refreshes can start.

``make setup`` runs this file; ``conftest`` copies the template when it is there (it is named
by the installed Prefect's version) and otherwise lets the server migrate a fresh database.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def template_path() -> Path:
    """Where the migrated empty database of the installed Prefect lives."""
    return ROOT / ".prefect" / "templates" / f"prefect-{metadata.version('prefect')}.db"


def make_template() -> Path:
    """Migrate an empty database to ``template_path()`` (written aside, then renamed)."""
    path = template_path()
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    env = {**os.environ, "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{partial}", "PREFECT_HOME": str(path.parent)}
    env.pop("PREFECT_API_URL", None)
    prefect = Path(sys.executable).parent / "prefect"
    subprocess.run([str(prefect), "server", "database", "upgrade", "-y"], env=env, check=True, stdout=subprocess.DEVNULL)
    partial.rename(path)
    return path


if __name__ == "__main__":
    print(f"an empty Prefect database for the test runs' server: {make_template()}")
