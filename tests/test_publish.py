"""Atomic publication of the real tables: a version folder, then one switch of ``current``;
a process killed in the middle leaves the last good version complete and current."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from imgpipeline.refresh.land import land_snapshot
from imgpipeline.refresh.programs import build_programs, snapshots_frame
from imgpipeline.settings import Settings, get_settings
from imgpipeline.store import (
    current_version,
    prune_versions,
    publish_version,
    read_manifest,
    read_table,
    switch_current,
)
from imgpipeline.tables import TABLES

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def real_tables(
    tmp_path_factory: pytest.TempPathFactory, data_dir: Path, staged_acgme, staged_freida
) -> dict[str, pd.DataFrame]:
    """The three published tables built from the real snapshots, without a flow run."""
    raw = tmp_path_factory.mktemp("publish-raw")
    settings = get_settings(source_dir=str(data_dir), raw_dir=raw)
    snaps = {n: land_snapshot(n, settings) for n in ("acgme_programs", "freida_programs")}
    programs, unmatched = build_programs(
        staged_acgme, staged_freida, snaps["acgme_programs"], snaps["freida_programs"]
    )
    return {
        "programs": programs,
        "unmatched_records": unmatched,
        "snapshots": snapshots_frame(list(snaps.values())),
    }


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return get_settings(raw_dir=tmp_path / "raw", processed_dir=tmp_path / "processed")


def assert_complete(version: Path, tables: dict[str, pd.DataFrame]) -> None:
    """Every table of the version reads back whole, as its manifest lists it."""
    manifest = json.loads((version / "manifest.json").read_text())
    assert manifest["version"] == version.resolve().name
    assert set(manifest["tables"]) == set(tables)
    for name, df in tables.items():
        back = pd.read_parquet(version / f"{name}.parquet")
        assert len(back) == len(df) == manifest["tables"][name]["rows"]
        assert back.columns.tolist() == TABLES[name].column_names


def test_publish_writes_a_version_and_switches_current(
    real_tables: dict[str, pd.DataFrame], settings: Settings
) -> None:
    assert current_version(settings) is None
    folder = publish_version(real_tables, settings, {"unmatched": {"x": ["1"]}}, version_id="v1")

    assert folder == settings.versions_dir / "v1"
    assert settings.current_dir.is_symlink()
    assert os.readlink(settings.current_dir) == os.path.join("versions", "v1"), "relative link"
    assert current_version(settings) == folder.resolve()
    assert_complete(folder, real_tables)
    manifest = read_manifest(settings)
    assert manifest["tables"]["programs"]["schema_version"] == TABLES["programs"].schema_version
    assert manifest["unmatched"] == {"x": ["1"]}
    assert "version_dir" not in manifest and "current_dir" not in manifest
    programs = read_table("programs", settings)
    assert len(programs) == 688 and programs["acgme_id"].is_unique
    meta = pq.read_schema(folder / "programs.parquet").metadata
    assert meta[b"schema_version"] == TABLES["programs"].schema_version.encode()
    assert sorted(p.name for p in settings.versions_dir.iterdir()) == ["v1"]


def test_the_summary_cannot_overwrite_the_version_record(
    real_tables: dict[str, pd.DataFrame], settings: Settings
) -> None:
    """The flow's run summary carries placeholders (version None, table row counts): the
    manifest keeps the publisher's own values."""
    summary = {"version": None, "version_dir": None, "tables": {"programs": 688}}
    folder = publish_version(real_tables, settings, summary, version_id="v1")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["version"] == "v1"
    assert manifest["tables"]["programs"]["file"] == "programs.parquet"


def test_a_second_publish_switches_and_keeps_the_first(
    real_tables: dict[str, pd.DataFrame], settings: Settings
) -> None:
    first = publish_version(real_tables, settings, {}, version_id="v1")
    second = publish_version(real_tables, settings, {}, version_id="v2")
    assert current_version(settings) == second.resolve()
    assert_complete(first, real_tables)
    assert read_manifest(settings, first)["version"] == "v1"


def test_a_failed_write_publishes_nothing(
    real_tables: dict[str, pd.DataFrame], settings: Settings
) -> None:
    good = publish_version(real_tables, settings, {}, version_id="v1")
    broken = {**real_tables, "programs": real_tables["programs"].drop(columns=["state"])}
    with pytest.raises(KeyError):
        publish_version(broken, settings, {}, version_id="v2")
    assert current_version(settings) == good.resolve()
    assert sorted(p.name for p in settings.versions_dir.iterdir()) == ["v1"]

    with pytest.raises(ValueError, match="not declared as published"):
        publish_version({"freida_programs": pd.DataFrame()}, settings, {}, version_id="v3")
    assert current_version(settings) == good.resolve()


def test_prune_keeps_the_newest_and_never_the_current(
    real_tables: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    settings = get_settings(processed_dir=tmp_path / "processed", keep_versions=2)
    small = {"snapshots": real_tables["snapshots"]}
    for v in ("v1", "v2", "v3"):
        publish_version(small, settings, {}, version_id=v)
    assert sorted(p.name for p in settings.versions_dir.iterdir()) == ["v2", "v3"]
    # An older version made current again (a rollback) survives a prune that would drop it.
    switch_current(settings.versions_dir / "v2", settings)
    removed = prune_versions(settings.model_copy(update={"keep_versions": 1}))
    assert removed == []
    assert sorted(p.name for p in settings.versions_dir.iterdir()) == ["v2", "v3"]
    assert current_version(settings) == (settings.versions_dir / "v2").resolve()


KILLED_PUBLISHER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import pandas as pd
    import imgpipeline.store as publish
    from imgpipeline.settings import get_settings

    tables = pd.read_pickle(sys.argv[1])
    settings = get_settings(processed_dir=Path(sys.argv[2]))
    write_table = publish.write_table

    def write_then_stall(df, name, folder):
        path = write_table(df, name, folder)
        print("WROTE", path, flush=True)
        time.sleep(300)
        return path

    publish.write_table = write_then_stall
    publish.publish_version(tables, settings, {"run": "to be killed"}, version_id="v2")
    """
)


def _first_line(proc: subprocess.Popen[str], timeout: float) -> str:
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return line[0] if line else ""


def test_killed_in_the_middle_of_publishing(
    real_tables: dict[str, pd.DataFrame], settings: Settings, tmp_path: Path
) -> None:
    good = publish_version(real_tables, settings, {}, version_id="v1")
    pickled = tmp_path / "tables.pkl"
    pd.to_pickle(real_tables, pickled)
    script = tmp_path / "killed_publisher.py"
    script.write_text(KILLED_PUBLISHER)

    proc = subprocess.Popen(
        [sys.executable, str(script), str(pickled), str(settings.processed_dir)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        line = _first_line(proc, timeout=120)
        assert line.startswith("WROTE"), f"the publisher never wrote its first file: {line!r}"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    # Killed after its first file: a half-written incoming folder, the old version current.
    [incoming] = settings.versions_dir.glob(".incoming-*")
    written = Path(line.split(maxsplit=1)[1].strip())
    assert written.parent == incoming and written.exists()
    assert not (incoming / "manifest.json").exists()
    assert current_version(settings) == good.resolve()
    assert_complete(settings.current_dir, real_tables)
    assert read_manifest(settings)["version"] == "v1"
    assert [p.name for p in settings.versions_dir.iterdir() if not p.name.startswith(".")] == ["v1"]

    # The next publish goes through and removes the dead writer's leftovers.
    third = publish_version(real_tables, settings, {}, version_id="v3")
    assert current_version(settings) == third.resolve()
    assert_complete(third, real_tables)
    assert not incoming.exists()
    assert sorted(p.name for p in settings.versions_dir.iterdir()) == ["v1", "v3"]


def test_incoming_folders_of_live_writers_are_left_alone(settings: Settings) -> None:
    settings.versions_dir.mkdir(parents=True)
    live = settings.versions_dir / ".incoming-live"
    live.mkdir()
    (live / ".writer").write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid()}))
    unlabelled_fresh = settings.versions_dir / ".incoming-fresh"
    unlabelled_fresh.mkdir()
    unlabelled_old = settings.versions_dir / ".incoming-old"
    unlabelled_old.mkdir()
    two_hours_ago = time.time() - 7200
    os.utime(unlabelled_old, (two_hours_ago, two_hours_ago))

    removed = prune_versions(settings)

    assert removed == [unlabelled_old]
    assert live.exists() and unlabelled_fresh.exists()
