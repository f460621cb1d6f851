"""One place for paths and options; every field can be overridden by an ``IMGPIPELINE_*``
environment variable or by the CLI (which builds a ``Settings`` with explicit values)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, PrivateAttr
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from imgpipeline.rulebook import Rulebook

PROJECT_DIR = Path(__file__).resolve().parents[1]


def usable_cpus() -> int:
    """The CPUs this process may run on (the machine's, where the system cannot say)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no sched_getaffinity (macOS)
        return max(1, os.cpu_count() or 1)


class Settings(BaseSettings):
    """Paths and options of a run.

    ``source_dir`` is where snapshots are read from: a folder (the offline mirror of the official
    sources, ``../shared/data`` beside the project by default) or an ``http(s)://`` base URL.
    ``source_files`` overrides single sources by name with a path or URL relative to it (or
    absolute), e.g. ``{"freida_programs": "freida/internal-medicine-programs_2025-05-24.csv"}``.
    """

    model_config = SettingsConfigDict(env_prefix="IMGPIPELINE_", env_nested_delimiter="__")

    project_dir: Path = PROJECT_DIR
    source_dir: str = str(PROJECT_DIR.parent / "shared" / "data")
    source_files: dict[str, str] = Field(default_factory=dict)
    raw_dir: Path = PROJECT_DIR / "data" / "raw"
    processed_dir: Path = PROJECT_DIR / "data" / "processed"
    # What is derived from a published version and kept between processes (the advice's arrays
    # of a version: store.cached): pickles, so a folder only this project's user writes, never
    # beside the published data.
    cache_dir: Path = PROJECT_DIR / ".cache"
    rulebook_path: Path | None = None
    http_timeout_s: float = 60.0
    http_connect_timeout_s: float = 10.0
    http_attempts: int = 4
    http_backoff_s: float = 0.5
    # Hostile or broken input (docs/failure_modes.md): what a door accepts at most.
    source_max_bytes: int = 512 * 1024 * 1024  # one snapshot, local or fetched
    http_allow_loopback_http: bool = False  # plain http:// only to 127.0.0.1/::1/localhost (tests)
    profile_max_bytes: int = 64 * 1024
    profile_max_depth: int = 6
    profile_max_string: int = 256
    profile_max_nodes: int = 2_000
    batch_max_bytes: int = 256 * 1024 * 1024
    batch_max_rows: int = 1_000_000
    batch_yaml_max_bytes: int = 16 * 1024 * 1024
    refresh_lock_wait_s: float = 0.0  # a second refresh refuses at once (0) or waits this long
    publish_lock_wait_s: float = 120.0
    keep_versions: int = 10
    img_share_change_threshold: float = 0.05
    random_seed: int = 20250526
    # Where a failed or crashed refresh posts its alert (JSON: source, subject, text); None
    # sends nothing. Any http(s) URL, e.g. a chat webhook or a Prefect server webhook.
    alert_webhook_url: str | None = None
    # Run the analysis notebooks on each newly published version (figures beside its data).
    run_notebooks: bool = True
    # How many notebooks run at once (one kernel process each).
    notebook_workers: int = 2
    # The web app's processes computing new recommendations for the API (``web.advisors``):
    # None, one per CPU; 0, none (computed in the server's own process).
    web_advice_processes: int | None = Field(default=None, ge=0)
    # The rulebook, read on first use and kept by this settings object (not per process).
    _rulebook: Rulebook | None = PrivateAttr(default=None)

    @property
    def advice_processes(self) -> int:
        """``web_advice_processes``, not set read as one per usable CPU."""
        return usable_cpus() if self.web_advice_processes is None else self.web_advice_processes

    @property
    def rulebook(self) -> Rulebook:
        """The rulebook these settings name (``rulebook_path``, or the default beside the
        package), read once per settings object."""
        # Read from the private attributes' dict: ``self._rulebook`` goes through pydantic's
        # ``__getattr__`` (about 10 us), and a profile's validation asks a dozen times.
        private = self.__pydantic_private__
        book = private.get("_rulebook") if private is not None else None
        if book is None:
            from imgpipeline.rulebook import DEFAULT_PATH, Rulebook

            self._rulebook = book = Rulebook(self.rulebook_path or DEFAULT_PATH)
        return book

    @property
    def current_dir(self) -> Path:
        """The published version readers use: a symlink switched atomically by a publish."""
        return self.processed_dir / "current"

    @property
    def versions_dir(self) -> Path:
        return self.processed_dir / "versions"

    @property
    def manifest_path(self) -> Path:
        return self.raw_dir / "manifest.jsonl"


def run_environment(project_dir: Path = PROJECT_DIR) -> dict[str, str]:
    """The environment defaults for running flows of this project, from its pyproject.toml:
    ``[tool.prefect]`` as PREFECT_* variables (a relative ``home`` inside the project) and
    ``[tool.imgpipeline.environment]`` as they are. The one place they are written."""
    import tomllib

    tool = tomllib.loads((project_dir / "pyproject.toml").read_text()).get("tool", {})
    out: dict[str, str] = {}

    def flatten(prefix: str, table: dict[str, object]) -> None:
        for key, value in table.items():
            name = f"{prefix}_{key.upper()}"
            if isinstance(value, dict):
                flatten(name, value)
            else:
                out[name] = str(value).lower() if isinstance(value, bool) else str(value)

    flatten("PREFECT", tool.get("prefect", {}))
    if "PREFECT_HOME" in out and not Path(out["PREFECT_HOME"]).is_absolute():
        out["PREFECT_HOME"] = str(project_dir / out["PREFECT_HOME"])
    out.update({k: str(v) for k, v in tool.get("imgpipeline", {}).get("environment", {}).items()})
    return out


def apply_run_environment() -> None:
    """Set the defaults of ``run_environment`` where the environment does not say otherwise
    (before Prefect or GX is imported)."""
    import os

    for key, value in run_environment().items():
        os.environ.setdefault(key, value)


def given(settings: Settings | None, source: object = None) -> Settings:
    """The settings a library call follows: those it was given, else ``source`` when that is
    settings, else the environment's, read for this call (entry points pass their own)."""
    if settings is not None:
        return settings
    return source if isinstance(source, Settings) else Settings()


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (from the CLI or a notebook) on top."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)  # type: ignore[arg-type]
