"""What a refresh is computed from, and whether the current version was computed from exactly
that: the no-work refresh.

A version is a function of its inputs: the landed snapshots (by sha256), the rulebook (by
digest), the code (package version plus a digest of its source files) and the few settings
that change outputs. A refresh records them in the version's manifest (``inputs``); the next
refresh compares the snapshots it has just landed against the current version's record before
doing any other work, and publishes nothing when they are the same ("nothing changed since
<version>"). Any difference (one snapshot, one rule, one line of code) recomputes everything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

from imgpipeline.refresh.land import Snapshot
from imgpipeline.rulebook import rulebook_digest
from imgpipeline.settings import PROJECT_DIR, Settings
from imgpipeline.store import current_version, read_manifest

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # imgpipeline/, both wings
# The source whose digest is the code version: the package (with its rulebook, schema lock
# and table declarations), the flows that wire it and the notebooks a run may execute.
CODE_ROOTS = (PACKAGE_DIR, PROJECT_DIR / "flows", PROJECT_DIR / "notebooks")
CODE_SUFFIXES = (".py", ".yaml", ".yml", ".json")


def code_version(roots: Iterable[Path] = CODE_ROOTS) -> dict[str, str]:
    """The package version and the sha256 of the source files under ``roots`` (each file's
    path from its root's parent, and its bytes, in sorted order)."""
    h = hashlib.sha256()
    for root in roots:
        if not root.is_dir():
            continue
        for path in sorted(p for p in root.rglob("*") if p.suffix in CODE_SUFFIXES and p.is_file()):
            if "__pycache__" in path.parts:
                continue
            rel = path.relative_to(root.parent).as_posix()
            h.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    try:
        package = metadata.version("imgpipeline")
    except metadata.PackageNotFoundError:
        package = "unknown"
    return {"package": package, "source_sha256": h.hexdigest()}


def run_inputs(snapshots: Iterable[Snapshot], settings: Settings) -> dict[str, Any]:
    """Everything a version is computed from, as recorded in its manifest."""
    return {
        "snapshots": {s.source: s.sha256 for s in sorted(snapshots, key=lambda s: s.source)},
        "rulebook_sha256": rulebook_digest(settings),
        "code": code_version(),
        "options": {
            "random_seed": settings.random_seed,
            "img_share_change_threshold": settings.img_share_change_threshold,
        },
    }


def current_inputs(settings: Settings) -> tuple[str, dict[str, Any] | None] | None:
    """The current version's name and recorded inputs (None where its manifest has none or
    cannot be read), or None before the first publication."""
    folder = current_version(settings)
    if folder is None:
        return None
    try:
        manifest = read_manifest(settings, folder)
    except (OSError, ValueError):
        return folder.name, None
    return str(manifest.get("version") or folder.name), manifest.get("inputs") or None


def unchanged_since(inputs: dict[str, Any], settings: Settings) -> str | None:
    """The current version's name if it was computed from exactly ``inputs``, else None (no
    version yet, a version that recorded no inputs, or any difference)."""
    current = current_inputs(settings)
    if current is None or current[1] != inputs:
        return None
    return current[0]


def differences(inputs: dict[str, Any], recorded: dict[str, Any] | None) -> list[str]:
    """What differs between ``inputs`` and a version's recorded inputs, in words (for the log
    of a refresh that does the work)."""
    if not recorded:
        return ["the current version recorded no inputs"]
    out = []
    old, new = recorded.get("snapshots", {}), inputs["snapshots"]
    for source in sorted(set(old) | set(new)):
        if old.get(source) != new.get(source):
            out.append(f"snapshot {source}: {str(old.get(source))[:12]} -> {str(new.get(source))[:12]}")
    for key, what in (("rulebook_sha256", "rulebook"), ("code", "code version"), ("options", "options")):
        if recorded.get(key) != inputs[key]:
            out.append(what)
    return out


def nothing_changed(version: str) -> str:
    return f"nothing changed since {version}"


def curve_inputs_key(outcomes: Any, totals: Any, settings: Settings) -> str:
    """What the match-probability curve is a function of, as one digest: the Charting Outcomes
    snapshot its staged tables came from (their ``charting_sha256``), the rulebook, the code
    and the random seed. The refresh caches the fit across runs under it (a refresh where only
    FREIDA changed reuses the last fit; any other difference fits again)."""
    parts = [
        *sorted({str(v) for frame in (outcomes, totals) for v in frame["charting_sha256"].dropna().unique()}),
        rulebook_digest(settings),
        code_version()["source_sha256"],
        str(settings.random_seed),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()
