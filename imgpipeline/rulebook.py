"""The rulebook (``rulebook.yaml`` beside this module, or IMGPIPELINE_RULEBOOK_PATH), reached
through the settings: ``settings.rulebook`` reads it once per settings object, and each part of
the pipeline reads its own section through a typed model of its own
(``settings.rulebook.typed("risk", RiskRules)``), so a typo in the file fails loudly where the
section is used, and a rulebook passed in ``Settings(rulebook_path=...)`` reaches every rule."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml

if TYPE_CHECKING:
    from imgpipeline.settings import Settings

DEFAULT_PATH = Path(__file__).with_name("rulebook.yaml")
T = TypeVar("T")


class Rulebook:
    """One rulebook file's sections, with their typed models parsed once each."""

    def __init__(self, path: Path) -> None:
        self.path = path
        stat = path.stat()
        self.data, self.digest = _read(path, stat.st_mtime_ns, stat.st_size)
        self._typed: dict[tuple[str, Any], Any] = {}

    def section(self, name: str) -> Any:
        """One section; a missing section is an error naming the file."""
        if name not in self.data:
            raise KeyError(f"rulebook {self.path} has no section {name!r}")
        return self.data[name]

    def typed(self, name: str, parse: Any) -> Any:
        """A section parsed by ``parse`` (a pydantic model class, or a function of the
        section), once per rulebook object."""
        key = (name, parse)
        if key not in self._typed:
            raw = self.section(name)
            self._typed[key] = parse.model_validate(raw) if hasattr(parse, "model_validate") else parse(raw)
        return self._typed[key]

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (settings sent to a task in another process) without the parsed sections:
        the receiving process parses them again on first use."""
        return {**self.__dict__, "_typed": {}}

    def derive(self, make: Callable[[Rulebook], T]) -> T:
        """What ``make`` builds from several sections of this rulebook, once per rulebook
        object (``make`` is the cache key)."""
        key = ("derive", make)
        if key not in self._typed:
            self._typed[key] = make(self)
        return self._typed[key]


# PyYAML's safe loader on libyaml when the wheel has it (a tenth of the pure-Python parser's
# time on the rulebook: what every command pays first), else the pure-Python one; the same
# documents either way (tests/test_rulebook.py compares them on the rulebook).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.lru_cache(maxsize=8)
def _read(path: Path, mtime_ns: int, size: int) -> tuple[dict[str, Any], str]:
    """The file's sections and sha256 (cached by path and modification: a file that changes
    is read again)."""
    raw = path.read_bytes()
    data = yaml.load(raw, Loader=SAFE_LOADER) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the rulebook must be a mapping of sections")
    return data, hashlib.sha256(raw).hexdigest()


def rulebook_digest(settings: Settings) -> str:
    """sha256 of the rulebook file the settings read (``IMGPIPELINE_RULEBOOK_PATH`` or the default)."""
    return settings.rulebook.digest


def load_rulebook(settings: Settings) -> dict[str, Any]:
    """The whole rulebook as a mapping of sections."""
    return settings.rulebook.data


def section(name: str, settings: Settings) -> Any:
    """One section of the settings' rulebook."""
    return settings.rulebook.section(name)
