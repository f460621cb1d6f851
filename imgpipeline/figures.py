"""What the analysis notebooks share: open the current version and save figures beside it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from imgpipeline.publish import current_version
from imgpipeline.settings import Settings


def open_version(settings: Settings, version_dir: str | Path | None = None) -> tuple[Path, Path]:
    """The version folder to read (``version_dir``, or the current one) and its ``figures/``
    folder (created); a clear exit when nothing is published yet."""
    version = Path(version_dir).resolve() if version_dir else current_version(settings)
    if version is None:
        raise SystemExit(f"nothing published under {settings.processed_dir}: run `make run` first")
    if not (version / "manifest.json").exists():
        raise SystemExit(f"{version} is not a published version (no manifest.json)")
    figures = version / "figures"
    figures.mkdir(exist_ok=True)
    return version, figures


def figure_saver(figures: Path, dpi: int = 110) -> Callable[[Any, str], Path]:
    """``save(fig, name)``: a tight PNG ``<figures>/<name>.png``, saying where it went."""

    def save(fig: Any, name: str) -> Path:
        path = figures / f"{name}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=dpi)
        print("saved", path)  # noqa: T201 - the notebook's output names the figure
        return path

    return save
