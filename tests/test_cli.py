"""The command line: a refresh from a broken copy of the real FREIDA snapshot fails with a
message naming the problem, exits 1, keeps the last good version current and the bad
snapshot landed for audit."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from imgpipeline.cli import app, print_summary
from imgpipeline.refresh.land import land_snapshot, read_landings
from imgpipeline.refresh.programs import build_programs, snapshots_frame
from imgpipeline.settings import Settings, get_settings
from imgpipeline.store import current_version, publish_version
from imgpipeline.store import read_manifest as read_version_manifest

# Runs flows or reads the run's Prefect server: waits for it (conftest.prefect_server).
pytestmark = pytest.mark.usefixtures("prefect_server")

NYU = "1403521292"

runner = CliRunner()


def flat(text: str) -> str:
    """CLI output with rich's line wrapping undone."""
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def workspace(
    tmp_path_factory: pytest.TempPathFactory,
    data_dir: Path,
    freida_csv: Path,
    staged_acgme: pd.DataFrame,
    staged_freida: pd.DataFrame,
) -> dict[str, Path]:
    """A source folder with every real snapshot and SHA256SUMS (symlinked) and two broken
    copies of the real FREIDA CSV, plus a processed folder holding a good published version."""
    base = tmp_path_factory.mktemp("cli")
    src = base / "src"
    # Every real snapshot (symlinked) beside the broken copies, so only FREIDA differs.
    for real_file in data_dir.rglob("*"):
        if real_file.is_file():
            link = src / real_file.relative_to(data_dir)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(real_file)

    # Two breaks in one copy (a refresh costs seconds; the gate names every failure at once):
    # a repeated program id with conflicting values, and the state column removed.
    real = pd.read_csv(freida_csv, dtype=str, keep_default_na=False)
    twin = real[real["program_id"] == NYU].assign(pct_img="50.0", first_year_positions="3.0")
    pd.concat([real, twin]).drop(columns=["state"]).to_csv(src / "freida/duplicated-id-no-state_2025-05-26.csv", index=False)

    # A good version, published from the real snapshots (without a flow run).
    settings = get_settings(source_dir=str(data_dir), raw_dir=base / "raw", processed_dir=base / "processed")
    snaps = {n: land_snapshot(n, settings) for n in ("acgme_programs", "freida_programs")}
    programs, unmatched = build_programs(
        staged_acgme, staged_freida, snaps["acgme_programs"], snaps["freida_programs"]
    )
    tables = {
        "programs": programs,
        "unmatched_records": unmatched,
        "snapshots": snapshots_frame(list(snaps.values())),
    }
    publish_version(tables, settings, {"run": "good"})
    return {"src": src, "raw": base / "raw", "processed": base / "processed", "csv_rows": len(real)}


def run_refresh(workspace: dict, freida_file: str) -> tuple[int, str]:
    result = runner.invoke(
        app,
        [
            "refresh",
            "--source-dir", str(workspace["src"]),
            "--freida-file", freida_file,
            "--raw-dir", str(workspace["raw"]),
            "--processed-dir", str(workspace["processed"]),
        ],
    )
    return result.exit_code, flat(result.output)


def assert_previous_version_intact(workspace: dict, before: Path) -> None:
    settings = get_settings(processed_dir=workspace["processed"])
    assert current_version(settings) == before
    programs = pd.read_parquet(workspace["processed"] / "current" / "programs.parquet")
    assert len(programs) == 688 and programs["acgme_id"].is_unique
    assert read_version_manifest(settings)["version"] == before.name
    assert [p.name for p in settings.versions_dir.iterdir()] == [before.name], "nothing new"


def assert_bad_snapshot_kept(workspace: dict, rel: str) -> None:
    bad = workspace["src"] / rel
    sha = hashlib.sha256(bad.read_bytes()).hexdigest()
    landed = workspace["raw"] / "freida_programs" / "2025-05-26" / bad.name
    assert landed.read_bytes() == bad.read_bytes()
    rows = read_landings(Settings(raw_dir=workspace["raw"]))
    assert any(r["sha256"] == sha and r["path"] == str(landed) for r in rows)


def test_a_duplicated_program_id_and_a_removed_column_fail_the_refresh(workspace: dict) -> None:
    before = current_version(get_settings(processed_dir=workspace["processed"]))
    rel = "freida/duplicated-id-no-state_2025-05-26.csv"
    sha = hashlib.sha256((workspace["src"] / rel).read_bytes()).hexdigest()

    code, out = run_refresh(workspace, rel)

    assert code == 1, out
    assert "refresh failed; nothing was published." in out
    # The repeated id, with both of its rows...
    assert (
        f"freida_programs@2025-05-26#{sha[:12]} -> freida_programs: column 'acgme_id' "
        "failed column_values_to_be_unique"
    ) in out
    appended = workspace["csv_rows"] + 2  # header is line 1
    assert f"failing rows: {NYU} (source_row 2), {NYU} (source_row {appended})" in out
    # ...and the removed column, each named.
    assert (
        f"freida_programs@2025-05-26#{sha[:12]} -> freida_programs: column 'state' "
        "failed column_to_exist: the column is missing"
    ) in out
    assert f"The last good version is still current: {before}" in out
    assert_previous_version_intact(workspace, before)
    assert_bad_snapshot_kept(workspace, rel)


def test_where_prints_the_current_version(workspace: dict, tmp_path: Path) -> None:
    result = runner.invoke(app, ["where", "--processed-dir", str(workspace["processed"])])
    assert result.exit_code == 0
    current = current_version(get_settings(processed_dir=workspace["processed"]))
    assert flat(result.output).replace(" ", "") == str(current).replace(" ", "")

    empty = runner.invoke(app, ["where", "--processed-dir", str(tmp_path / "none")])
    assert empty.exit_code == 1
    assert "nothing published yet" in flat(empty.output)


def test_the_summary_printout_names_unmatched_and_collapsed_ids(capsys) -> None:
    result = {
        "tables": {"programs": 688},
        "validation": [
            {"table": "programs", "source": "published", "rows": 688, "evaluated": 141, "failed": 0}
        ],
        "unmatched": {"ACGME programs without a FREIDA page": ["1400500019", "1400500020"]},
        "collapsed_duplicates": {"freida_programs@2025-05-26#d42ad9d78199": ["1401900001"]},
        "version": "v1",
        "version_dir": "/x/versions/v1",
        "current_dir": "/x/current",
    }
    print_summary(result)
    out = flat(capsys.readouterr().out)
    assert "ACGME programs without a FREIDA page: 2 1400500019, 1400500020" in out
    assert "exact duplicate rows collapsed in freida_programs@2025-05-26#d42ad9d78199: 1401900001" in out
    assert "Published version v1" in out
    json.dumps(result)


def test_piped_output_keeps_one_fact_per_line_and_paths_whole(capsys) -> None:
    """Piped (cron, CI): no line is wrapped at 80 columns, a long path stays whole on its line,
    and a table is one line per row with every value named."""
    deep = "/srv/" + "/".join(["imgpipeline-archive"] * 6) + "/versions/20261130T032234863097Z"
    result = {
        "tables": {"programs": 688, "score_reasons": 82560},
        "validation": [
            {"table": "freida_programs", "source": "freida_programs@2025-05-26#d42ad9d78199", "rows": 688, "evaluated": 95, "failed": 0}
        ],
        "sections": {"Changes since the previous version": "First publication: no previous version to compare with; " * 3 + "end."},
        "data_docs": deep + "/data_docs/index.html",
        "version": "20261130T032234863097Z",
        "version_dir": deep,
        "current_dir": "/srv/current",
    }
    print_summary(result)
    lines = capsys.readouterr().out.splitlines()
    assert len(deep) > 120
    assert f"Data Docs: {deep}/data_docs/index.html" in lines
    assert f"outputs: /srv/current -> {deep}" in lines
    assert "Published tables: table score_reasons, rows 82560" in lines
    assert (
        "Validation: table freida_programs, source freida_programs@2025-05-26#d42ad9d78199, "
        "rows 688, checks 95, failed 0"
    ) in lines
    assert "## Changes since the previous version" in lines
    assert "First publication: no previous version to compare with; " * 3 + "end." in lines
    assert not any(set(line) <= set("─━┃│┏┓┗┛ ") and line for line in lines), "no drawn boxes"
