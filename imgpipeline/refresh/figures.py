"""What the analysis notebooks share: open the current version and save figures beside it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from imgpipeline.settings import Settings
from imgpipeline.store import MANIFEST, current_version, read_table


def open_version(settings: Settings, version_dir: str | Path | None = None) -> tuple[Path, Path]:
    """The version folder to read (``version_dir``, or the current one) and its ``figures/``
    folder (created); a clear exit when nothing is published yet."""
    version = Path(version_dir).resolve() if version_dir else current_version(settings)
    if version is None:
        raise SystemExit(f"nothing published under {settings.processed_dir}: run `make run` first")
    if not (version / MANIFEST).exists():
        raise SystemExit(f"{version} is not a published version (no {MANIFEST})")
    figures = version / "figures"
    figures.mkdir(exist_ok=True)
    return version, figures


def source_caption(version: Path, *sources: str, note: str = "") -> str:
    """"Source: <title> (as of <date>); ... · version <id>" for the named snapshot sources
    (``snapshots.parquet`` of ``version``), with an optional note (e.g. n per group)."""

    snaps = read_table("snapshots", version=version).set_index("source")
    parts = [f"{snaps.at[s, 'title']} (as of {snaps.at[s, 'as_of']})" for s in sources]
    text = "Source: " + "; ".join(parts) + f" · imgpipeline version {version.name}"
    return f"{text}\n{note}" if note else text


def caption(fig: Any, text: str) -> None:
    """Write ``text`` under the figure (kept in the saved PNG) and remember it."""
    fig.text(0.01, 0.005, text, ha="left", va="bottom", fontsize=7, color="#444444", wrap=True)
    fig._imgpipeline_caption = text  # noqa: SLF001 - read by figure_saver


def figure_saver(figures: Path, dpi: int = 110, default_caption: str | None = None) -> Callable[[Any, str], Path]:
    """``save(fig, name)``: a tight PNG ``<figures>/<name>.png``, saying where it went and
    with which caption. A figure without its own ``caption`` gets ``default_caption``."""

    def save(fig: Any, name: str) -> Path:
        text = getattr(fig, "_imgpipeline_caption", None)
        if text is None and default_caption:
            caption(fig, default_caption)
            text = default_caption
        path = figures / f"{name}.png"
        lines = (text or "").count("\n") + 1 if text else 0
        fig.tight_layout(rect=(0, 0.035 * lines, 1, 1))
        fig.savefig(path, dpi=dpi)
        print("saved", path)  # noqa: T201 - the notebook's output names the figure
        if text:
            print("caption:", text.replace("\n", " / "))  # noqa: T201
        return path

    return save
