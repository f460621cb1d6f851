"""The refresh's side of the interview model: openness from IMG interview volume, the
coefficients with their bases and sources, the calibration against the NRMP's interviews."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imgpipeline.advice.model import Programs, sigmoid
from imgpipeline.refresh.interview import (
    build_program_openness,
    interview_rules,
    solve_calibration,
    step2ck_slope,
)
from imgpipeline.settings import Settings
from imgpipeline.tables import TABLES
from tests import synthetic

RULES = interview_rules(Settings())


def features(**cols: list) -> pd.DataFrame:
    """Three programs in program_features' columns: an IMG-heavy one, a low-IMG one, one
    without a stated share (imputed) and one with nothing (unknown)."""
    base = {
        "acgme_id": ["1400000001", "1400000002", "1400000003", "1400000004"],
        "program_name": ["A", "B", "C", "D"], "state": ["NY", "MA", "FL", "TX"],
        "program_type": ["community", "university", "community", "community"],
        "tier": ["community", "highly_competitive_academic", "community", "community"],
        "tier_reason": ["", "", "", ""],
        "img_share": [0.8, 0.02, 0.5, None], "img_share_low": [None, None, 0.3, None], "img_share_high": [None, None, 0.7, None],
        "img_share_basis": ["stated", "stated", "imputed", "unknown"],
        "interviews_last_year": [200.0, 400.0, 0.0, None], "first_year_positions": [10.0, 40.0, 8.0, None],
        "sponsors_j1": [True, False, None, False], "sponsors_j1_basis": ["stated", "stated", "unknown", "inferred"],
        "sponsors_h1b": [False, True, None, False], "sponsors_h1b_basis": ["stated", "stated", "unknown", "inferred"],
        "yog_tolerance": ["likely_tolerant", "likely_strict", None, None], "yog_limit_years": [None] * 4,
        "usce_policy": [None, "preferred", None, None], "usce_months": [None] * 4,
        "failed_attempts_policy": [None] * 4, "imgs_welcome": [True, None, None, None], "holistic_review": [None] * 4,
        "new_program": [False, False, True, False], "accepting_2026_2027": [True, True, True, None], "ecfmg_required": [None] * 4,
    }
    base.update(cols)
    return pd.DataFrame(base)


def test_openness_is_the_img_interview_volume_against_the_mean() -> None:
    f = features()
    programs = pd.DataFrame({"acgme_id": f["acgme_id"], "city": ["a", "b", "c", "d"]})
    o = build_program_openness(f, programs, None, RULES).set_index("acgme_id")
    # Interviews: stated; zero counts as missing -> positions x the median per position (imputed).
    assert o.loc["1400000003", "interviews_basis"] == "imputed"
    assert o.loc["1400000003", "interviews_last_year"] == pytest.approx(8 * np.median([200 / 10, 400 / 40]))
    assert o.loc["1400000004", "openness_basis"] == "unknown"
    vol = o["img_interviews"]
    assert vol["1400000001"] == pytest.approx(160) and vol["1400000002"] == pytest.approx(8)
    k = RULES.openness.volume_elasticity
    assert o.loc["1400000001", "openness"] - o.loc["1400000002", "openness"] == pytest.approx(k * np.log(160 / 8))
    # The interval comes from the IMG share's interval; a stated share has none.
    assert o.loc["1400000003", "openness_low"] < o.loc["1400000003", "openness"] < o.loc["1400000003", "openness_high"]
    assert o.loc["1400000001", "openness_low"] == o.loc["1400000001", "openness"]
    # Stated facts: visa states, openings as log-odds.
    assert list(o["visa_j1"]) == ["yes", "no", "unknown", "no_inferred"]
    assert o.loc["1400000001", "program_bonus"] == pytest.approx(RULES.openness.imgs_welcome)
    assert o.loc["1400000003", "program_bonus"] == pytest.approx(RULES.openness.new_program)


def test_the_stated_openings_are_a_list_in_the_rulebook_order() -> None:
    f = features(holistic_review=[True, None, True, None])
    programs = pd.DataFrame({"acgme_id": f["acgme_id"], "city": ["a", "b", "c", "d"]})
    o = TABLES["program_openness"].coerce(build_program_openness(f, programs, None, RULES)).set_index("acgme_id")
    assert o["program_bonus_reasons"].tolist() == [
        ["states holistic review", "states IMGs are welcome"], [], ["new program", "states holistic review"], []]
    # The explanations quote them '; '-joined, as before the column was a list.
    ps = Programs.from_table(o.reset_index())
    assert ps.bonus_reasons.tolist() == ["states holistic review; states IMGs are welcome", "", "new program; states holistic review", ""]


def test_the_calibration_brings_the_nrmp_interviews_over_the_targeted_list() -> None:
    o = synthetic.openness(200, seed=5)
    offset = solve_calibration(o, apps=77, interviews=4.27)
    top = np.sort((o["openness"] + o["program_bonus"]).to_numpy())[::-1][:77]
    assert sigmoid(offset + top).sum() == pytest.approx(4.27, abs=1e-9)


def test_the_step2ck_slope_is_read_off_the_core_curve() -> None:
    x = np.arange(230, 261)
    p = sigmoid(0.03 * (x - 245))
    curve = pd.DataFrame({"measure": "step2ck", "support": "core", "value": x, "p_match": p})
    assert step2ck_slope(curve) == pytest.approx(0.03)


def test_every_coefficient_has_a_basis_and_a_source(published) -> None:  # type: ignore[no-untyped-def]
    from imgpipeline.store import read_table

    c = read_table("interview_coefficients", published)
    assert c["basis"].isin(["sourced", "calibrated", "judgement"]).all() and c["source"].str.len().gt(0).all()
    terms = set(c["term"])
    assert {"calibration_offset", "step2ck_per_point", "step2ck_reference", "reference_interviews", "band_likely"} <= terms
    by = c.set_index("term")
    assert by.loc["calibration_offset", "basis"] == "calibrated"
    assert by.loc["reference_interviews", "value"] == pytest.approx((2649 * 6.1 + 2730 * 2.5) / (2649 + 2730))
    assert by.loc["step2ck_reference", "value"] == pytest.approx((2649 * 249 + 2730 * 242) / (2649 + 2730))
    assert 0.02 < by.loc["step2ck_per_point", "value"] < 0.05
    assert by.loc["yog_after_years", "value"] == 5 and by.loc["yog_after_years", "basis"] == "sourced"

