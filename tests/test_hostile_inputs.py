"""Hostile and broken input beyond the failure-mode table: bad batch rows skipped only by an
explicit option, formula injection neutralised in every CSV written, locks between refreshes
and batches (two real refreshes started at once: the first refresh of ``published``), a
pinned version never pruned."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from imgpipeline.advice import batch as bt
from imgpipeline.advice.csv_out import neutralise, write_csv
from imgpipeline.settings import Settings, get_settings
from imgpipeline.store import read_manifest

# Runs flows or reads the run's Prefect server: waits for it (conftest.prefect_server).
pytestmark = pytest.mark.usefixtures("prefect_server")

SETTINGS = Settings()  # the rules every call here is given

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"


def test_bad_rows_refuse_the_file_and_are_all_in_the_rejects_file(tmp_path: Path) -> None:
    rejects = tmp_path / "rejects.csv"
    with pytest.raises(bt.BatchInputError) as exc:
        bt.read_profiles(FIXTURES / "profiles_bad.csv", rejects_path=rejects)
    assert "--skip-bad-rows" in str(exc.value)
    frame = pd.read_csv(rejects)
    assert list(frame.columns) == ["row", "profile_id", "field", "reason"]
    assert frame["row"].tolist() == [1, 2, 3, 4]
    assert frame["profile_id"].tolist() == ["bad-score", "bad-year", "bad-usce", "bad-visa"]
    assert frame["field"].tolist() == ["step2ck.score", "graduation_year", "usce.hands_on_months", "visa_need"]
    assert frame["reason"].str.len().gt(0).all()


def test_skip_bad_rows_scores_only_the_good_rows_and_keeps_the_rejects(tmp_path: Path) -> None:
    rejects = tmp_path / "rejects.csv"
    profiles = bt.read_profiles(FIXTURES / "profiles_bad.csv", skip_bad_rows=True, rejects_path=rejects)
    assert profiles.applicants["profile_id"].tolist() == ["ok-row"]
    assert profiles.rejects is not None and profiles.rejects["row"].tolist() == [1, 2, 3, 4]
    assert len(pd.read_csv(rejects)) == 4


def test_a_file_with_no_good_row_is_refused_even_when_skipping(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("profile_id,graduation_year\na,2999\nb,1800\n")
    with pytest.raises(bt.BatchInputError, match="no row is valid"):
        bt.read_profiles(path, skip_bad_rows=True)


def test_formula_cells_are_neutralised_in_every_csv_written(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "text": ["=HYPERLINK(\"http://x\")", "+1", "-cmd", "@SUM(A1)", "\tx", "plain", None],
            "number": [-1.5, 2, 3, 4, 5, 6, 7],
        }
    )
    out = neutralise(df)
    assert out["text"].tolist()[:6] == ["'=HYPERLINK(\"http://x\")", "'+1", "'-cmd", "'@SUM(A1)", "'\tx", "plain"]
    assert out["number"].tolist() == df["number"].tolist(), "numbers stay numbers"
    # The rejects file is written by the same helper: a hostile profile id comes back inert.
    path = tmp_path / "p.csv"
    path.write_text('profile_id,graduation_year\n"=cmd|\' /C calc\'!A0",2999\n')
    rejects = tmp_path / "rejects.csv"
    with pytest.raises(bt.BatchInputError):
        bt.read_profiles(path, rejects_path=rejects)
    assert "'=cmd" in rejects.read_text()
    # And every CSV writer of the package goes through write_csv.
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "imgpipeline").rglob("*.py")
        if ".to_csv(" in p.read_text() and p.name != "csv_out.py"
    ]
    assert offenders == []
    assert write_csv(df, tmp_path / "x.csv").read_text().count("'") >= 5


def test_a_pinned_version_is_never_pruned(tmp_path: Path, data_dir: Path) -> None:
    """A batch pins the refresh version it reads (a real shared flock held by another
    process); a refresh publishing meanwhile does not prune it, and does once released."""
    from imgpipeline.refresh.land import land_snapshot
    from imgpipeline.refresh.programs import snapshots_frame
    from imgpipeline.store import publish_version

    snap = land_snapshot("acgme_programs", get_settings(source_dir=str(data_dir), raw_dir=tmp_path / "raw"))
    tables = {"snapshots": snapshots_frame([snap])}
    settings = get_settings(raw_dir=tmp_path / "raw", processed_dir=tmp_path / "processed", keep_versions=1)
    first = publish_version(tables, settings, {})
    code = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from imgpipeline.locks import pin
        with pin(Path({str(first)!r})):
            print("pinned", flush=True)
            sys.stdin.read()
        """
    )
    reader = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "pinned"
        second = publish_version(tables, settings, {})
        assert first.exists(), "pinned: kept although beyond keep_versions"
        assert (first / "snapshots.parquet").exists()
    finally:
        reader.communicate("")
    third = publish_version(tables, settings, {})
    assert not first.exists() and not second.exists() and third.exists()


def test_a_batch_publication_waits_on_the_refreshs_publish_lock(tmp_path: Path, data_dir: Path) -> None:
    """Batch versions live under <processed>/batches but lock <processed>: a batch and a
    refresh never switch at the same time."""
    from flows.batch import batch_settings
    from imgpipeline.locks import LockBusy, publish_lock
    from imgpipeline.refresh.land import land_snapshot
    from imgpipeline.refresh.programs import snapshots_frame
    from imgpipeline.store import publish_version

    snap = land_snapshot("acgme_programs", get_settings(source_dir=str(data_dir), raw_dir=tmp_path / "raw"))
    settings = get_settings(processed_dir=tmp_path / "processed", publish_lock_wait_s=0.2)
    with publish_lock(settings.processed_dir, 0, "refresh publication"), pytest.raises(LockBusy, match="refresh publication"):
        publish_version({"snapshots": snapshots_frame([snap])}, batch_settings(settings), {}, lock_dir=settings.processed_dir)
    assert not list((settings.processed_dir / "batches" / "versions").iterdir()), "no incoming folder left"


def test_two_refreshes_started_at_once_leave_exactly_one_new_version(published: Settings) -> None:
    """Two real `imgpipeline refresh` processes on the same folders, started together: one
    publishes, the other refuses naming the lock; one version, complete and current. They are
    the first refresh of ``published`` (conftest.refresh_race, on its empty folders): what they
    said and left was recorded right after them, before its second refresh."""
    race = json.loads((published.processed_dir.parent / "race.json").read_text())
    codes = sorted(r["code"] for r in race["runs"])
    assert codes == [0, 1], race["runs"]
    loser = next(r for r in race["runs"] if r["code"] == 1)
    assert "refresh.lock" in loser["stderr"] and "refused" in loser["stderr"], loser["stderr"][-2000:]
    [version] = race["versions"]
    assert not version.startswith(".") and race["current"] == version
    # Complete: the version the second refresh compared itself with, all its tables there.
    assert read_manifest(published)["changes_from"] == version
    assert pd.read_parquet(published.versions_dir / version / "programs.parquet").shape[0] > 600


@pytest.mark.parametrize(
    ("step2ck", "ok"),
    [
        ({"score": 212, "year": 2023}, False),  # 214 since 2022-07-01
        ({"score": 212, "year": 2020}, True),  # 209 then
        ({"score": 200, "year": 2013}, True),  # 196 until 2013-07-01
        ({"score": 200}, True),  # year unknown: passing in some era listed
        ({"score": 188}, False),  # below every minimum ever listed (189)
        ({"score": 214, "passed": False}, False),  # at or above every era's minimum
        ({"score": 210, "passed": False}, True),  # failing since 2022
    ],
)
def test_step2ck_passed_agrees_with_the_minimum_of_its_era(step2ck: dict, ok: bool) -> None:
    from imgpipeline.advice.profile import ProfileError, parse_profile

    data = {"graduation_year": 2012, "step2ck": step2ck}
    if ok:
        assert parse_profile(data, settings=SETTINGS).step2ck is not None
    else:
        with pytest.raises(ProfileError, match="step2ck"):
            parse_profile(data, settings=SETTINGS)
