"""The match-probability curve fitted to Charting Outcomes 2026: faithful to the published
distributions, monotone, consistent with the published IM match rate, and honest where the
data stop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from imgpipeline.refresh import match_probability as mp
from imgpipeline.refresh.land import land_snapshot
from imgpipeline.refresh.stage.charting import parse_charting
from imgpipeline.settings import Settings, get_settings
from imgpipeline.tables import TABLES

IM_RATE = 3392 / 6992


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    base = tmp_path_factory.mktemp("curve")
    settings = get_settings(source_dir=str(data_dir), raw_dir=base / "raw", processed_dir=base / "processed")
    return parse_charting(land_snapshot("nrmp_charting_outcomes", settings))


@pytest.fixture(scope="module")
def fits(staged: tuple[pd.DataFrame, pd.DataFrame]) -> dict[str, mp.MeasureFit]:
    return {f.measure: f for f in mp.fit_curves(*staged, Settings())}


@pytest.fixture(scope="module")
def curve(staged: tuple[pd.DataFrame, pd.DataFrame], fits: dict[str, mp.MeasureFit]) -> pd.DataFrame:
    return mp.curve_table(list(fits.values()), staged[0])


def _m(curve: pd.DataFrame, measure: str) -> pd.DataFrame:
    return curve[curve["measure"] == measure].sort_values("value").set_index("value")


def test_reconstructions_reproduce_the_published_statistics(fits: dict[str, mp.MeasureFit]) -> None:
    report = pd.DataFrame(
        {"measure": f.measure, "statistic": stat, "published": pub, "reconstructed": round(r.fitted[stat], 2)}
        for f in fits.values()
        for r in (f.matched, f.unmatched)
        for stat, pub in r.published.items()
    )
    err = (report["published"] - report["reconstructed"]).abs()
    tolerance = np.where(report["measure"] == "step2ck", 0.6, 0.05)
    assert (err <= tolerance).all(), report[err > tolerance]


def test_monotone_in_step2ck_and_ranks(curve: pd.DataFrame) -> None:
    for measure in ("step2ck", "contiguous_ranks"):
        c = _m(curve, measure)
        p = c["p_match"].dropna()
        assert (np.diff(p.to_numpy()) >= 0).all() and p.iloc[-1] > p.iloc[0]
        assert (np.diff(c["p_match_low"].to_numpy()) >= -1e-12).all()
        assert (np.diff(c["p_match_high"].to_numpy()) >= -1e-12).all()
        inside = c["p_match"].notna()
        assert (c.loc[inside, "p_match_low"] <= c.loc[inside, "p_match"]).all()
        assert (c.loc[inside, "p_match"] <= c.loc[inside, "p_match_high"]).all()


def test_close_to_the_published_rate_near_the_overall_median(curve: pd.DataFrame, fits: dict[str, mp.MeasureFit]) -> None:
    f = fits["step2ck"]
    # The IM applicants' overall Step 2 CK distribution: the two reconstructions, weighted by
    # the published matched / unmatched totals.
    grid = np.arange(180, 301)
    mix = IM_RATE * np.interp(grid, f.matched.x, f.matched.cdf, left=0, right=1) + (1 - IM_RATE) * np.interp(grid, f.unmatched.x, f.unmatched.cdf, left=0, right=1)
    median = int(grid[np.searchsorted(mix, 0.5)])
    assert 243 <= median <= 251  # between the two published medians
    c = _m(curve, "step2ck")
    assert abs(c.loc[median, "p_match"] - IM_RATE) < 0.03
    # Calibration in the large: the curve averaged over the applicants gives the published rate.
    dens = np.diff(np.concatenate([[0.0], mix]))
    inside = c["p_match"].notna().reindex(grid).to_numpy()
    avg = np.sum(c["p_match"].reindex(grid).to_numpy()[inside] * dens[inside]) / dens[inside].sum()
    assert abs(avg - IM_RATE) < 0.015


def test_below_the_published_minimum_nothing_confident(curve: pd.DataFrame) -> None:
    c = _m(curve, "step2ck")
    below = c.loc[:208]
    assert (below["support"] == "extrapolated").all()
    assert below["p_match"].isna().all()
    assert (below["p_match_low"] == 0).all()
    assert (below["p_match_high"] == c.loc[209, "p_match_high"]).all()
    above = c.loc[285:]
    assert above["p_match"].isna().all() and (above["p_match_high"] == 1).all()
    assert c.loc[215, "support"] == "tail" and c.loc[245, "support"] == "core"


def test_band_is_wider_in_the_tail_than_in_the_core(curve: pd.DataFrame) -> None:
    c = _m(curve, "step2ck")
    width = c["p_match_high"] - c["p_match_low"]
    assert width.loc[215] > 1.5 * width.loc[245]
    assert width.loc[245] < 0.1


def test_curve_values_where_the_data_are(curve: pd.DataFrame) -> None:
    c = _m(curve, "step2ck")
    # Matched and unmatched medians 251 vs 243: the chance rises through the core.
    assert 0.15 < c.loc[215, "p_match"] < c.loc[230, "p_match"] < c.loc[245, "p_match"] < c.loc[260, "p_match"] < 0.8
    r = _m(curve, "contiguous_ranks")
    # Ranks separate the outcomes far more (medians 5 vs 2): one rank is a poor bet.
    assert r.loc[1, "p_match"] < 0.25 and r.loc[8, "p_match"] > 0.7


def test_curve_table_passes_its_declaration(curve: pd.DataFrame, staged: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    from imgpipeline.refresh.validate import validate_frames

    (report,) = validate_frames([(curve, TABLES["match_probability_curve"], "test")])
    assert report.success
    assert set(curve["charting_snapshot"]) == set(staged[0]["charting_snapshot"])
    assert len(curve) == (300 - 180 + 1) + 40


def test_deterministic_for_a_seed(staged: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """A seed fixes the band: two fits with one seed agree to the bit (a quick fit of 20
    bootstrap replicates of the contiguous-ranks curve alone, whose reconstruction is cheap:
    the seed only drives the bootstrap, the step2ck reconstruction's optimiser is seedless;
    that the published table is the default seed's fit, run after run, is
    test_unchanged_outputs' fingerprint)."""
    full = mp.rules(Settings()).model_dump()
    quick = mp.ProbabilityRules.model_validate(
        {**full, "bootstrap_replicates": 20, "measures": {"contiguous_ranks": full["measures"]["contiguous_ranks"]}}
    )
    a = mp.fit_curves(*staged, Settings(random_seed=8), rules_=quick)[0].curve
    b = mp.fit_curves(*staged, Settings(random_seed=8), rules_=quick)[0].curve
    assert set(a["measure"]) == {"contiguous_ranks"} and a["p_match"].notna().any()
    pd.testing.assert_frame_equal(a, b)


def test_run_summary_text(curve: pd.DataFrame) -> None:
    text = mp.curve_summary_markdown(curve)
    assert "3,392 / 6,992 = 0.485" in text and "below 209 no value" in text
    assert "| 215 | 0.25 |" in text and "| core |" in text
