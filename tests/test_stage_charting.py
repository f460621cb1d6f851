"""Charting Outcomes 2026 (non-US IMGs): the tidy distributions and totals from the real
snapshot, and refusal of a snapshot whose numbers do not hold together."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from imgpipeline.errors import StagingError
from imgpipeline.refresh.land import Snapshot, land_snapshot
from imgpipeline.refresh.stage.charting import parse_charting
from imgpipeline.settings import get_settings
from imgpipeline.tables import TABLES


@pytest.fixture(scope="module")
def charting_snap(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Snapshot:
    base = tmp_path_factory.mktemp("charting")
    settings = get_settings(source_dir=str(data_dir), raw_dir=base / "raw", processed_dir=base / "processed")
    return land_snapshot("nrmp_charting_outcomes", settings)


@pytest.fixture(scope="module")
def staged(charting_snap: Snapshot) -> tuple[pd.DataFrame, pd.DataFrame]:
    return parse_charting(charting_snap)


def _row(df: pd.DataFrame, **where: str) -> pd.Series:
    sel = df
    for k, v in where.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1, where
    return sel.iloc[0]


def test_im_step2ck_as_published(staged: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    outcomes, _ = staged
    m = _row(outcomes, specialty="Internal Medicine", measure="step2ck", outcome="matched")
    n = _row(outcomes, specialty="Internal Medicine", measure="step2ck", outcome="not_matched")
    assert (m["n"], m["min"], m["q1"], m["median"], m["q3"], m["max"], m["mean"], m["sd"]) == (2649, 209, 240, 251, 259, 284, 249, 14)
    assert (n["n"], n["median"], n["q1"], n["q3"], n["max"]) == (2730, 243, 233, 253, 279)
    assert bool(m["verified"]) and not bool(_row(outcomes, specialty="Internal Medicine", measure="research", outcome="matched")["verified"])


def test_grain_and_suppressed_groups(staged: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    outcomes, _ = staged
    specialties = outcomes.loc[outcomes["specialty"] != "All specialties", "specialty"].nunique()
    assert specialties == 24
    assert len(outcomes) == 24 * 9 * 2 + 9 * 2
    assert not outcomes.duplicated(["specialty", "measure", "outcome"]).any()
    derm = _row(outcomes, specialty="Dermatology", measure="step2ck", outcome="matched")
    assert derm["n"] == 4 and bool(derm["suppressed"]) and pd.isna(derm["median"])
    assert not bool(_row(outcomes, specialty="Dermatology", measure="step2ck", outcome="not_matched")["suppressed"])
    everyone = _row(outcomes, specialty="All specialties", measure="step2ck", outcome="matched")
    assert everyone["median"] == 248 and pd.isna(everyone["q1"]) and pd.isna(everyone["n"])
    assert _row(outcomes, specialty="All specialties", measure="contiguous_ranks", outcome="not_matched")["median"] == 2.0


def test_totals_and_match_rates(staged: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    _, totals = staged
    im = _row(totals, specialty="Internal Medicine")
    assert (im["positions"], im["img_matched"], im["img_not_matched"], im["img_total"]) == (11632, 3392, 3600, 6992)
    assert im["match_rate"] == pytest.approx(0.485)
    assert im["match_rate_computed"] == pytest.approx(3392 / 6992)
    assert (totals["match_rate"] - totals["match_rate_computed"]).abs().max() < 0.001
    overall = _row(totals, specialty="All specialties")
    assert (overall["img_matched"], overall["img_total"], overall["analysis_sample"]) == (5721, 11685, 8943)
    assert overall["headline_match_rate"] == pytest.approx(0.415)
    assert overall["phd_share_matched"] == pytest.approx(0.022)
    assert len(totals) == 25


def test_every_row_traces_to_the_snapshot(staged: tuple[pd.DataFrame, pd.DataFrame], charting_snap: Snapshot) -> None:
    for df in staged:
        assert set(df["charting_snapshot"]) == {charting_snap.snapshot_id}
        assert set(df["charting_sha256"]) == {charting_snap.sha256}
        assert set(df["charting_as_of"]) == {"2026"}


def test_published_declarations_pass_their_suites(staged: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    from imgpipeline.refresh.validate import validate_frames

    outcomes, totals = staged
    reports = validate_frames(
        [(outcomes, TABLES["charting_outcomes"], "test"), (totals, TABLES["charting_outcomes_totals"], "test")]
    )
    assert all(r.success for r in reports)
    assert TABLES["charting_outcomes"].published and TABLES["charting_outcomes_totals"].published


def _mutated(charting_snap: Snapshot, tmp_path: Path, change) -> Snapshot:  # type: ignore[no-untyped-def]
    data = json.loads(charting_snap.local_path.read_text())
    change(data)
    path = tmp_path / "charting.json"
    path.write_text(json.dumps(data))
    return Snapshot(**{**charting_snap.__dict__, "path": str(path)})


def _im(data: dict) -> dict:
    return next(s for s in data["specialties"] if s["name"] == "Internal Medicine")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: _im(d)["metrics"]["step2ck"]["matched"].update(q1=255), "out of order"),
        (lambda d: _im(d)["metrics"]["step2ck"]["matched"].update(iqr=25), "iqr"),
        (lambda d: _im(d).update(imgMatched=3000), "3000 matched"),
        (lambda d: d["metrics"].pop(0), "not described"),
        (lambda d: d.pop("overall"), "overall"),
    ],
)
def test_refuses_numbers_that_do_not_hold_together(charting_snap: Snapshot, tmp_path: Path, change, words: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(StagingError, match=words):
        parse_charting(_mutated(charting_snap, tmp_path, change))


def test_refuses_a_file_that_is_not_json(charting_snap: Snapshot, tmp_path: Path) -> None:
    path = tmp_path / "charting.json"
    path.write_text("export const data = {")
    with pytest.raises(StagingError, match="not a readable"):
        parse_charting(Snapshot(**{**charting_snap.__dict__, "path": str(path)}))
