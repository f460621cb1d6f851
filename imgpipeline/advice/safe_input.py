"""Reading what a user hands us, safely: one place every door goes through (the ``recommend``
CLI, stdin, the Python API, batch YAML files, and any later HTTP door).

Each refusal is an ``InputRefused``: one line that names the input and the problem (the field,
the key and its line, the limit and the setting that holds it), never a traceback. The checks
run before the expensive work and bound it:

- a size cap checked on the file's size *before* reading it, and again while reading (a pipe or
  a device has no size), so a 50 MB file is never read whole;
- binary or non-UTF-8 content is refused by name, before YAML sees it;
- YAML is parsed by a ``SafeLoader`` that refuses anchors and aliases (no "billion laughs"),
  explicit tags and merge keys, duplicate keys (naming the key and both lines), nesting deeper
  than the cap and strings longer than the cap, and counts nodes, all while composing, so a
  hostile document is refused before it is built;
- a directory or a missing path is refused in one line; a batch file (CSV, Parquet) or a list
  of profiles handed to the one-profile door points to ``imgpipeline batch``.

The limits are settings (``IMGPIPELINE_PROFILE_MAX_BYTES`` ...), not literals. This module
imports neither pandas nor pydantic models, so a refusal costs milliseconds and a few MB.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml

from imgpipeline.errors import PipelineError

# A refusal is one line; a value quoted in it is cut to this many characters.
MAX_MESSAGE_CHARS = 400
MAX_QUOTED_CHARS = 40
STDIN_NAMES = ("-", "/dev/stdin")
BATCH_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq", ".xlsx", ".xls")
# Magic numbers of files people hand over by mistake, named in the refusal.
_MAGIC = {
    b"PAR1": "a Parquet file",
    b"PK\x03\x04": "a ZIP archive (or an Office document)",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\x1f\x8b": "a gzip archive",
    b"\x7fELF": "an executable",
    b"SQLite format 3": "a SQLite database",
}


class InputRefused(PipelineError, ValueError):
    """An input refused before use: ``str()`` is one line naming the input and the problem."""

    def __init__(self, name: str, problem: str):
        self.name = name
        self.problem = problem
        super().__init__(one_line(f"{name}: {problem}"))


def one_line(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` on one line (whitespace runs collapsed), cut to ``limit`` characters."""
    flat = re.sub(r"\s+", " ", str(text)).strip()
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def quoted(value: object) -> str:
    """A user's value quoted for a message, cut so a hostile value cannot flood the output."""
    text = repr(value)
    return text if len(text) <= MAX_QUOTED_CHARS else text[: MAX_QUOTED_CHARS - 4] + "...'"


@dataclass(frozen=True)
class Limits:
    """What one YAML document may hold."""

    max_bytes: int
    max_depth: int
    max_string: int
    max_nodes: int
    setting_prefix: str = "IMGPIPELINE_PROFILE"

    @classmethod
    def profile(cls, settings: Any = None) -> Limits:
        s = settings or _settings()
        return cls(s.profile_max_bytes, s.profile_max_depth, s.profile_max_string, s.profile_max_nodes)

    @classmethod
    def batch_yaml(cls, settings: Any = None) -> Limits:
        """A YAML list of profiles: each profile within the profile caps, one level deeper."""
        s = settings or _settings()
        return cls(
            s.batch_yaml_max_bytes,
            s.profile_max_depth + 1,
            s.profile_max_string,
            s.profile_max_nodes * s.batch_max_rows,
            "IMGPIPELINE_BATCH_YAML",
        )


def _settings() -> Any:
    """The environment's settings, read for this call (entry points pass their own)."""
    from imgpipeline.settings import Settings

    return Settings()


# ---- bytes ----------------------------------------------------------------------------------


def read_bytes(path: str | Path, max_bytes: int, setting: str = "IMGPIPELINE_PROFILE_MAX_BYTES") -> bytes:
    """The bytes of the file at ``path`` (``-``: stdin), at most ``max_bytes``: the size is
    checked before reading, and the read stops one byte past the cap whatever the size said."""
    name = str(path)
    if name in STDIN_NAMES:
        return read_stream(sys.stdin.buffer, max_bytes, "<stdin>", setting)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputRefused(name, "no such file") from None
    except OSError as exc:
        raise InputRefused(name, f"cannot be read: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputRefused(name, "is a directory, not a file")
    if stat.S_ISREG(st.st_mode) and st.st_size > max_bytes:
        raise InputRefused(name, _too_big(st.st_size, max_bytes, setting))
    try:
        with open(path, "rb") as fh:
            return read_stream(fh, max_bytes, name, setting)
    except OSError as exc:
        raise InputRefused(name, f"cannot be read: {exc.strerror}") from None


def read_stream(stream: IO[bytes], max_bytes: int, name: str = "<stdin>", setting: str = "IMGPIPELINE_PROFILE_MAX_BYTES") -> bytes:
    """At most ``max_bytes`` from a binary stream; one byte more is a refusal."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InputRefused(name, _too_big(None, max_bytes, setting))
    return data


def _too_big(size: int | None, limit: int, setting: str) -> str:
    what = f"is {size:,} bytes" if size is not None else "is larger than the limit"
    return f"{what}; the limit is {limit:,} bytes (setting {setting})"


def binary_kind(data: bytes) -> str | None:
    """What a binary file is (by its magic number), or None for text."""
    for magic, kind in _MAGIC.items():
        if data.startswith(magic):
            return kind
    if b"\x00" in data[:8192]:
        return "a binary file (it holds NUL bytes)"
    return None


def decode_text(data: bytes, name: str) -> str:
    """UTF-8 text (a BOM dropped); binary content and other encodings are refused by name."""
    kind = binary_kind(data)
    if kind:
        raise InputRefused(name, f"is {kind}, not UTF-8 text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputRefused(
            name, f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at line {line}, offset {exc.start}); save it as UTF-8"
        ) from None


# ---- YAML -----------------------------------------------------------------------------------


class _Refusal(Exception):
    """Raised inside the loader; turned into an InputRefused naming the input."""


class _SafeLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader, refusing what a profile never needs while it composes."""

    def __init__(self, stream: str, limits: Limits):
        super().__init__(stream)
        self._limits = limits
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: D102 - PyYAML's hook
        event = self.peek_event()
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            raise _Refusal(f"line {line}: YAML aliases (*{event.anchor}) are not accepted")
        if getattr(event, "anchor", None) is not None:
            raise _Refusal(f"line {line}: YAML anchors (&{event.anchor}) are not accepted")
        tag = getattr(event, "tag", None)
        if tag is not None and tag != "!":
            raise _Refusal(f"line {line}: explicit YAML tags ({quoted(tag)}) are not accepted")
        self._nodes += 1
        if self._nodes > self._limits.max_nodes:
            raise _Refusal(f"more than {self._limits.max_nodes:,} values (setting IMGPIPELINE_PROFILE_MAX_NODES)")
        if isinstance(event, yaml.ScalarEvent) and len(event.value) > self._limits.max_string:
            raise _Refusal(
                f"line {line}: a value of {len(event.value):,} characters; the limit is "
                f"{self._limits.max_string} (setting IMGPIPELINE_PROFILE_MAX_STRING)"
            )
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            self._depth += 1
            if self._depth > self._limits.max_depth:
                raise _Refusal(
                    f"line {line}: nested deeper than {self._limits.max_depth} levels "
                    "(setting IMGPIPELINE_PROFILE_MAX_DEPTH)"
                )
            try:
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:  # noqa: D102
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise _Refusal(f"line {line}: a mapping key must be plain text")
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _Refusal(f"line {line}: YAML merge keys (<<) are not accepted")
            key = self.construct_object(key_node)
            if key in seen:
                raise _Refusal(f"line {line}: duplicate key {quoted(key)} (first at line {seen[key]})")
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


# The mapping constructor PyYAML registers calls construct_mapping through the class, so the
# override above is used for every mapping, nested ones included.


def load_yaml(text: str, name: str, limits: Limits) -> Any:
    """One YAML document under ``limits``; any problem is an ``InputRefused`` of one line."""
    loader = _SafeLoader(text, limits)
    try:
        return loader.get_single_data()
    except _Refusal as exc:
        raise InputRefused(name, str(exc)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise InputRefused(name, f"not valid YAML: {where}{exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise InputRefused(name, f"not valid YAML: {exc}") from None
    except RecursionError:
        raise InputRefused(name, "nested too deeply") from None
    finally:
        loader.dispose()


def load_yaml_file(path: str | Path, limits: Limits) -> Any:
    """A YAML file (``-``: stdin) read and parsed under ``limits``."""
    name = "<stdin>" if str(path) in STDIN_NAMES else str(path)
    data = read_bytes(path, limits.max_bytes, f"{limits.setting_prefix}_MAX_BYTES")
    return load_yaml(decode_text(data, name), name, limits)


# ---- one profile ------------------------------------------------------------------------------


def profile_mapping(data: Any, name: str) -> dict[str, Any]:
    """The parsed document as one profile's mapping; a list or a CSV line points to batch."""
    if isinstance(data, dict):
        return data
    if data is None:
        raise InputRefused(name, "is empty: a profile is a YAML mapping of fields (docs/recommend.md)")
    if isinstance(data, list):
        raise InputRefused(
            name, f"holds a list of {len(data)} profiles; one profile is a YAML mapping. Score a list with `imgpipeline batch {name}`"
        )
    if isinstance(data, str) and data and "," in data.splitlines()[0]:
        raise InputRefused(name, f"looks like a CSV batch file, not a YAML profile: use `imgpipeline batch {name}`")
    raise InputRefused(name, f"must be a YAML mapping of profile fields, got {type(data).__name__} {quoted(data)}")


def read_profile_mapping(source: str | Path | bytes, name: str | None = None, settings: Any = None) -> dict[str, Any]:
    """One profile's raw mapping from a path (``-``: stdin) or from bytes (an HTTP body),
    through every check above. Pydantic validation of the fields comes after
    (``imgpipeline.advice.profile.parse_profile``)."""
    limits = Limits.profile(settings)
    if isinstance(source, bytes):
        label = name or "profile"
        if len(source) > limits.max_bytes:
            raise InputRefused(label, _too_big(len(source), limits.max_bytes, "IMGPIPELINE_PROFILE_MAX_BYTES"))
        return profile_mapping(load_yaml(decode_text(source, label), label, limits), label)
    label = name or ("<stdin>" if str(source) in STDIN_NAMES else str(source))
    suffix = Path(str(source)).suffix.lower()
    if suffix in BATCH_SUFFIXES:
        raise InputRefused(label, f"is a batch file ({suffix}), not a YAML profile: score it with `imgpipeline batch {label}`")
    return profile_mapping(load_yaml_file(source, limits), label)


def refusal_line(exc: BaseException) -> str:
    """Any refusal of an input as one line: an ``InputRefused`` as it is, a profile with bad
    fields as ``source: field: problem; field: problem``."""
    problems = getattr(exc, "problems", None)
    if problems:
        source = getattr(exc, "source", "profile")
        return one_line(f"{source}: " + "; ".join(f"{field}: {msg}" for field, msg in problems))
    return one_line(str(exc))
