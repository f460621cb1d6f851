"""Small synthetic published inputs of the interview model, in the real published formats:
``program_openness`` rows, ``interview_coefficients`` from the real rulebook (with the sourced
and calibrated values fixed), and a contiguous-ranks curve. For tests of rules and invariants
that need no refresh."""

from __future__ import annotations

import numpy as np
import pandas as pd

from imgpipeline.advice.published import Published, from_frames
from imgpipeline.refresh.interview import _rule_rows, interview_rules
from imgpipeline.settings import Settings

FIXED = {
    "step2ck_reference": 245.0, "step2ck_per_point": 0.033, "applications_per_applicant": 77.0,
    "reference_interviews": 4.27, "calibration_offset": -3.5, "band_likely": 0.11, "band_target": 0.028,
}


def coefficients() -> pd.DataFrame:
    rows = _rule_rows(interview_rules(Settings()))
    rows += [{"term": k, "value": v, "unit": "", "basis": "sourced", "source": "test"} for k, v in FIXED.items()]
    out = pd.DataFrame(rows)
    out["description"] = ""
    return out


def curve() -> pd.DataFrame:
    k = np.arange(1, 41)
    p = 1 - np.exp(-0.25 * k)
    return pd.DataFrame({
        "measure": "contiguous_ranks", "value": k, "p_match": p, "p_match_low": p * 0.95, "p_match_high": np.minimum(p * 1.05, 1),
        "support": "core", "charting_as_of": "2026",
    })


def openness(n: int = 60, seed: int = 0, **overrides: object) -> pd.DataFrame:
    """n programs with varied openness, tiers, visas and states; columns as published."""
    rng = np.random.default_rng(seed)
    tiers = np.array(["community", "mid_tier_academic_hybrid", "highly_competitive_academic"])[rng.integers(0, 3, n)]
    share = rng.uniform(0, 1, n).round(3)
    o = np.log(np.clip(share * rng.uniform(50, 400, n), 0.5, None) / 90.0) * 0.8
    df = pd.DataFrame({
        "acgme_id": [f"140{i:07d}" for i in range(n)],
        "program_name": [f"Program {i}" for i in range(n)],
        "city": [f"City {i % 7}" for i in range(n)],
        "state": np.array(["NY", "NJ", "FL", "TX", "CA", "IL"])[rng.integers(0, 6, n)],
        "program_type": np.where(tiers == "community", "community", "university"),
        "program_tier": tiers,
        "tier_reason": "",
        "selectivity": pd.Series(tiers).map({"community": 0.0, "mid_tier_academic_hybrid": 0.5, "highly_competitive_academic": 1.0}).to_numpy(),
        "img_share": share, "img_share_low": np.clip(share - 0.1, 0, 1), "img_share_high": np.clip(share + 0.1, 0, 1),
        "img_share_basis": "stated",
        "openness": o, "openness_low": o - 0.2, "openness_high": o + 0.2,
        "openness_basis": "stated", "openness_evidence": "test",
        "program_bonus": 0.0, "program_bonus_reasons": [[] for _ in range(n)],
        "visa_j1": np.array(["yes", "no", "unknown", "no_inferred"])[rng.integers(0, 4, n)],
        "visa_h1b": np.array(["yes", "no", "unknown"])[rng.integers(0, 3, n)],
        "yog_tolerance": np.array(["likely_tolerant", "unknown", "likely_strict"])[rng.integers(0, 3, n)],
        "yog_limit_years": np.nan, "usce_policy": "", "usce_months": np.nan,
        "excludes_failed_attempts": False, "excludes_imgs": False, "military": False,
        "accepting_applications": True, "ecfmg_required": False,
        "step1_min_2016": np.nan, "step2_min_2016": np.nan,
        "acgme_snapshot": "acgme@test", "freida_snapshot": "freida@test", "acgme_as_of": "2025-05-02", "freida_as_of": "2025-05-26",
    })
    for k, v in overrides.items():
        df[k] = v
    return df


def published(n: int = 60, seed: int = 0, **overrides: object) -> Published:
    return from_frames(openness(n, seed, **overrides), coefficients(), curve())
