"""A refresh of the real snapshots publishes what was recorded before a change meant to keep
outputs the same (moving code, splitting functions): every table, row count and column,
compared by digest (``store.fingerprint``: provenance and timestamps that move between runs
aside). Record a new fingerprint only when outputs are meant to change
(``tests/record_fingerprint.py``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imgpipeline.settings import Settings
from imgpipeline.store import fingerprint, resolve_version

RECORDED = Path(__file__).parent / "fixtures" / "published_fingerprint.json"


def differences(recorded: dict, now: dict) -> list[str]:
    out = [f"table {t}: {'gone' if t in recorded else 'new'}" for t in sorted(set(recorded) ^ set(now))]
    for t in sorted(set(recorded) & set(now)):
        if recorded[t]["rows"] != now[t]["rows"]:
            out.append(f"{t}: {recorded[t]['rows']} rows -> {now[t]['rows']}")
        old, new = recorded[t]["columns"], now[t]["columns"]
        out += [f"{t}.{c}: {'differs' if c in old and c in new else 'gone' if c in old else 'new'}"
                for c in sorted(set(old) | set(new)) if old.get(c) != new.get(c)]
    return out


def test_differences_name_what_moved() -> None:
    a = {"t": {"rows": 2, "columns": {"x": "1", "y": "2"}}}
    b = {"t": {"rows": 3, "columns": {"x": "1", "y": "9", "z": "3"}}, "u": {"rows": 0, "columns": {}}}
    assert differences(a, b) == ["table u: new", "t: 2 rows -> 3", "t.y: differs", "t.z: new"]
    assert differences(a, a) == []


@pytest.mark.slow
def test_a_refresh_publishes_what_was_recorded(published: Settings) -> None:
    now = fingerprint(resolve_version(published))
    assert differences(json.loads(RECORDED.read_text()), now) == []
