"""Loads the rulebook (``rulebook.yaml`` beside this module, or IMGPIPELINE_RULEBOOK_PATH).

Each part of the pipeline reads its own section through a typed model of its own, so a typo
in the file fails loudly where the section is used."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import yaml

from imgpipeline.settings import Settings

DEFAULT_PATH = Path(__file__).with_name("rulebook.yaml")


def rulebook_path(settings: Settings | None = None) -> Path:
    if settings is None:
        # Settings() reads the environment on every call (milliseconds, on the path an
        # applicant waits on); the variable that can change its answer is the cache key.
        return _default_path(os.environ.get("IMGPIPELINE_RULEBOOK_PATH"))
    return settings.rulebook_path or DEFAULT_PATH


@functools.lru_cache(maxsize=8)
def _default_path(env_value: str | None) -> Path:
    return Settings().rulebook_path or DEFAULT_PATH


@functools.lru_cache(maxsize=8)
def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the rulebook must be a mapping of sections")
    return data


def load_rulebook(settings: Settings | None = None) -> dict[str, Any]:
    """The whole rulebook as a mapping of sections."""
    return _load(rulebook_path(settings))


def section(name: str, settings: Settings | None = None) -> dict[str, Any]:
    """One section of the rulebook; a missing section is an error naming the file."""
    return section_at(rulebook_path(settings), name)


def section_at(path: Path, name: str) -> Any:
    """One section of the rulebook file at ``path`` (read once per file, as ``section``): for
    callers that cache what they validate from it per file."""
    book = _load(path)
    if name not in book:
        raise KeyError(f"rulebook {path} has no section {name!r}")
    return book[name]
