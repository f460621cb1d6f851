"""The refresh's part of the interview-chance model: the program side and the coefficients.

``program_openness`` (one row per program) holds each program's openness to IMGs, its yearly
IMG interview volume (interviews last year x IMG share) against the average program's, with the
interval the IMG share's interval gives, and every program fact the model's terms read
(selectivity, visa sponsorship, YOG tolerance, stated policies, 2016 minimums).
``interview_coefficients`` (one row per constant) holds the rulebook's constants, the Step 2 CK
slope and reference read off the Charting Outcomes reconstruction, and the calibration offset
solved so that the reference applicant's typical list brings the interviews the NRMP reports.
Together they let any app compute any applicant's chance (``imgpipeline.advice.model``).

Pure functions of the staged and derived tables; no Prefect, no GX.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from scipy import optimize

from imgpipeline.advice.model import sigmoid
from imgpipeline.settings import Settings
from imgpipeline.vocabulary import PROGRAM_TIERS, YOG_LEVELS

SPECIALTY = "Internal Medicine"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Calibration(_Strict):
    applications_per_applicant: float = Field(gt=0)
    applications_source: str
    interviews_source: str


class Openness(_Strict):
    volume_elasticity: float = Field(gt=0, le=2)
    min_img_interviews: float = Field(gt=0)
    unknown_share_interval: tuple[float, float]
    new_program: float
    holistic_review: float
    imgs_welcome: float


class ApplicantTerms(_Strict):
    step2ck_source: str
    step2ck_selectivity_interaction: float = Field(ge=0)
    selectivity: dict[Literal["community", "mid_tier_academic_hybrid", "highly_competitive_academic"], float]
    below_2016_step2_minimum: float = Field(le=0)
    below_2016_step1_minimum: float = Field(le=0)
    first_failure: float = Field(le=0)
    further_failure: float = Field(le=0)
    step1_failure_offset_ck: float
    step1_failure_offset_fraction: float = Field(ge=0, le=1)
    yog_after_years: float
    yog_by_tolerance: dict[str, float]
    no_usce: float = Field(le=0)
    observership_only: float = Field(le=0)
    usce_hands_on_months_strong: float
    usce_strong: float = Field(ge=0)
    usce_required_short: float = Field(le=0)
    usce_preferred_short: float = Field(le=0)
    letters_min: float
    few_letters: float = Field(le=0)
    no_recent_clinical_work: float = Field(le=0)
    unexplained_gaps: float = Field(le=0)
    visa_unknown: float = Field(le=0)
    h1b_without_step3: float = Field(le=0)
    screen_overlap: float = Field(ge=0, le=1)


class Bands(_Strict):
    likely_multiple: float = Field(gt=0)
    target_multiple: float = Field(gt=0)


class InterviewRules(_Strict):
    """The rulebook's ``interview`` section."""

    calibration: Calibration
    openness: Openness
    applicant: ApplicantTerms
    tier_profiles: dict[str, dict[str, float | int | bool | None]]
    bands: Bands


def interview_rules(settings: Settings) -> InterviewRules:
    rules = settings.rulebook.typed("interview", InterviewRules)
    levels = set(rules.applicant.yog_by_tolerance)
    expected = set(YOG_LEVELS) - {"stated_limit"}
    if levels != expected:
        raise ValueError(f"interview.applicant.yog_by_tolerance must give exactly {sorted(expected)}")
    if rules.bands.target_multiple >= rules.bands.likely_multiple:
        raise ValueError("interview.bands: target_multiple must be below likely_multiple")
    return rules


# --------------------------------------------------------------------------------------------
# The program side.
# --------------------------------------------------------------------------------------------


def _num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce").astype(float)


def _visa(value: pd.Series, basis: pd.Series) -> np.ndarray:
    v = value.astype("boolean")
    return np.where(
        v.eq(True).fillna(False), "yes",
        np.where(v.eq(False).fillna(False) & basis.eq("inferred").fillna(False), "no_inferred",
                 np.where(v.eq(False).fillna(False), "no", "unknown")),
    ).astype(object)


def _shares(f: pd.DataFrame, rules: Openness) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """IMG share with its interval and basis; unknown counts the median stated share with the
    rulebook's percentile range of stated shares as its interval."""
    share, low, high = _num(f["img_share"]), _num(f["img_share_low"]), _num(f["img_share_high"])
    basis = f["img_share_basis"].astype("object").where(share.notna(), "unknown")
    stated = share[basis.eq("stated")]
    q_lo, q_hi = stated.quantile(list(rules.unknown_share_interval)) if len(stated) else (np.nan, np.nan)
    unknown = share.isna()
    share = share.where(~unknown, stated.median())
    low = low.where(low.notna(), share).where(~unknown, q_lo)
    high = high.where(high.notna(), share).where(~unknown, q_hi)
    return share, low, high, basis


def _interviews(f: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Interviews last year (zero counts as missing: a program that has not recruited yet);
    else first-year positions x the median interviews per position (imputed); else the median
    (unknown)."""
    iv = _num(f["interviews_last_year"]).where(lambda s: s > 0)
    pos = _num(f["first_year_positions"]).where(lambda s: s > 0)
    per_position = (iv / pos).median()
    by_size = pos * per_position
    basis = pd.Series(np.where(iv.notna(), "stated", np.where(by_size.notna(), "imputed", "unknown")), index=f.index)
    return iv.fillna(by_size).fillna(iv.median()), basis


def _volume_basis(share_basis: pd.Series, iv_basis: pd.Series) -> np.ndarray:
    return np.where(
        share_basis.eq("unknown") | iv_basis.eq("unknown"), "unknown",
        np.where(share_basis.eq("stated") & iv_basis.eq("stated"), "stated", "imputed"),
    ).astype(object)


def _bonus(f: pd.DataFrame, rules: Openness) -> tuple[np.ndarray, list[list[str]]]:
    """Stated openings to IMGs as log-odds, and their words: one list per program, in the
    rulebook's order (empty when none)."""
    total = np.zeros(len(f))
    words: list[list[str]] = [[] for _ in range(len(f))]
    for col, says in (("new_program", "new program"), ("holistic_review", "states holistic review"), ("imgs_welcome", "states IMGs are welcome")):
        yes = f[col].astype("boolean").eq(True).fillna(False).to_numpy()
        total = total + np.where(yes, getattr(rules, col), 0.0)
        for i in np.flatnonzero(yes):
            words[i].append(says)
    return total, words


def _minimums(ids: pd.Series, minimums: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    if minimums is None or minimums.empty:
        return np.full(len(ids), np.nan), np.full(len(ids), np.nan)
    m = minimums.drop_duplicates("acgme_id").set_index("acgme_id")
    return (
        _num(ids.map(m["step1_min_score"])).to_numpy(),
        _num(ids.map(m["step2_min_score"])).to_numpy(),
    )


def _openness_evidence(share: pd.Series, sbasis: pd.Series, iv: pd.Series, ivbasis: pd.Series, volume: pd.Series) -> np.ndarray:
    out = []
    for s, sb, i, ib, v in zip(share, sbasis, iv, ivbasis, volume, strict=True):
        s_txt = f"IMG share {s:.2f} ({sb})" if sb != "unknown" else f"IMG share unknown (counted at the median stated share, {s:.2f})"
        i_txt = f"{i:.0f} interviews last year" + ("" if ib == "stated" else f" ({ib}: from first-year positions)" if ib == "imputed" else " (unknown: the median program)")
        out.append(f"{s_txt} x {i_txt} = about {v:.0f} IMG interviews a year")
    return np.array(out, dtype=object)


def build_program_openness(
    features: pd.DataFrame,
    programs: pd.DataFrame,
    minimums: pd.DataFrame | None,
    rules: InterviewRules,
) -> pd.DataFrame:
    """One row per program: openness (log of its IMG interview volume against the mean, times
    the rulebook's elasticity) with its interval, and every program fact the terms read."""
    f = features.reset_index(drop=True)
    ids = f["acgme_id"].astype(str)
    o = rules.openness
    share, low, high, sbasis = _shares(f, o)
    iv, ivbasis = _interviews(f)
    volume = (iv * share).clip(lower=o.min_img_interviews)
    mean = float(volume.mean())
    scale = o.volume_elasticity

    def openness(v: pd.Series) -> np.ndarray:
        return scale * np.log(v.clip(lower=o.min_img_interviews).to_numpy() / mean)

    bonus, bonus_words = _bonus(f, o)
    step1_min, step2_min = _minimums(ids, minimums)
    city = ids.map(programs.astype({"acgme_id": str}).drop_duplicates("acgme_id").set_index("acgme_id")["city"])
    tier = f["tier"].astype("object").where(f["tier"].isin(PROGRAM_TIERS), "mid_tier_academic_hybrid")
    policy = f["failed_attempts_policy"].astype("object")
    out = pd.DataFrame({
        "acgme_id": ids,
        "program_name": f["program_name"],
        "city": city,
        "state": f["state"],
        "program_type": f["program_type"],
        "program_tier": tier,
        "tier_reason": f["tier_reason"],
        "selectivity": tier.map(rules.applicant.selectivity).astype(float),
        "img_share": share, "img_share_low": low, "img_share_high": high, "img_share_basis": sbasis,
        "interviews_last_year": iv, "interviews_basis": ivbasis,
        "img_interviews": volume, "img_interviews_low": (iv * low).clip(lower=o.min_img_interviews),
        "img_interviews_high": (iv * high).clip(lower=o.min_img_interviews),
        "openness": openness(volume), "openness_low": openness(iv * low), "openness_high": openness(iv * high),
        "openness_basis": _volume_basis(sbasis, ivbasis),
        "openness_evidence": _openness_evidence(share, sbasis, iv, ivbasis, volume),
        "program_bonus": bonus, "program_bonus_reasons": bonus_words,
        "visa_j1": _visa(f["sponsors_j1"], f["sponsors_j1_basis"]),
        "visa_h1b": _visa(f["sponsors_h1b"], f["sponsors_h1b_basis"]),
        "yog_tolerance": f["yog_tolerance"].astype("object").fillna("unknown"),
        "yog_limit_years": _num(f["yog_limit_years"]),
        "usce_policy": f["usce_policy"].astype("object").fillna(""),
        "usce_months": _num(f["usce_months"]),
        "excludes_failed_attempts": policy.isin(["not_considered", "first_attempt_required"]).to_numpy(),
        "excludes_imgs": f["imgs_welcome"].astype("boolean").eq(False).fillna(False).to_numpy(),
        "military": f["program_type"].eq("military").to_numpy(),
        "accepting_applications": f["accepting_2026_2027"].astype("boolean"),
        "ecfmg_required": f["ecfmg_required"].astype("boolean").eq(True).fillna(False).to_numpy(),
        "step1_min_2016": step1_min, "step2_min_2016": step2_min,
    })
    prov = [c for c in f.columns if c.endswith(("_snapshot", "_as_of", "_sha256"))]
    return pd.concat([out, f[prov]], axis=1)


# --------------------------------------------------------------------------------------------
# The coefficients.
# --------------------------------------------------------------------------------------------


def _pooled(outcomes: pd.DataFrame, measure: str) -> float:
    """The mean of a measure over matched and not-matched non-US IMGs in IM, weighted by n."""
    rows = outcomes[(outcomes["specialty"] == SPECIALTY) & (outcomes["measure"] == measure)]
    rows = rows[rows["outcome"].isin(["matched", "not_matched"])]
    n, mean = _num(rows["n"]), _num(rows["mean"])
    if len(rows) != 2 or n.isna().any() or mean.isna().any():
        raise ValueError(f"Charting Outcomes: {SPECIALTY} {measure} lacks matched / not-matched means")
    return float((n * mean).sum() / n.sum())


def step2ck_slope(curve: pd.DataFrame) -> float:
    """The log-odds per Step 2 CK point of the published P(match) curve over its core range:
    the log likelihood ratio per point of the reconstructed distributions."""
    core = curve[(curve["measure"] == "step2ck") & (curve["support"] == "core")]
    p = _num(core["p_match"]).to_numpy()
    x = _num(core["value"]).to_numpy()
    if len(x) < 2:
        raise ValueError("match_probability_curve has no core Step 2 CK range")
    return float(np.polyfit(x, np.log(p / (1 - p)), 1)[0])


def solve_calibration(openness: pd.DataFrame, apps: float, interviews: float) -> float:
    """The offset that makes the reference applicant's expected interviews, over a typical list
    of ``apps`` programs, equal ``interviews``. The typical list is targeted: the ``apps``
    civilian programs accepting applications that are most open to IMGs (IMGs already filter
    FREIDA for IMG-friendly programs; with a random list instead, every chance would be about
    three times higher and the reference applicant's own list would match far above the
    NRMP's rate)."""
    pool = openness[~openness["military"] & openness["accepting_applications"].fillna(True)]
    base = np.sort((pool["openness"] + pool["program_bonus"]).to_numpy())[::-1][: int(round(apps))]
    return float(optimize.brentq(lambda a: sigmoid(a + base).sum() - interviews, -30, 30, xtol=1e-12))


ARTICLE = "Low Step Score Strategies for IMGs (Residency Advisor; ../shared/seed)"
# Constants the article itself gives (thresholds); every other rulebook constant is a judgement.
ARTICLE_THRESHOLDS = {
    "yog_after_years": "the article: 'More than 5 years since graduation (YOG >5)'",
    "usce_hands_on_months_strong": "the article: 'Aim for 3-4 months of IM-focused USCE'",
    "letters_min": "the article: 'at least two from U.S. internal medicine attendings'",
    "step1_failure_offset_ck": "the article: 'A strong Step 2 CK (e.g., >=235-240) can partially offset ... a prior Step 1 attempt failure'",
}
UNITS = {
    "step2ck_reference": "score", "step2ck_per_point": "log-odds per point", "yog_after_years": "years",
    "usce_hands_on_months_strong": "months", "letters_min": "letters", "step1_failure_offset_ck": "score",
    "step1_failure_offset_fraction": "fraction", "screen_overlap": "fraction", "step2ck_selectivity_interaction": "multiplier per unit selectivity",
    "volume_elasticity": "multiplier", "applications_per_applicant": "applications", "reference_interviews": "interviews",
    "band_likely": "probability", "band_target": "probability", "band_likely_multiple": "multiplier", "band_target_multiple": "multiplier",
}


def _rule_rows(rules: InterviewRules) -> list[dict[str, object]]:
    a = rules.applicant
    values = {k: v for k, v in a.model_dump().items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    values.update({f"yog_{k}": v for k, v in a.yog_by_tolerance.items()})
    values["volume_elasticity"] = rules.openness.volume_elasticity
    values["band_likely_multiple"], values["band_target_multiple"] = rules.bands.likely_multiple, rules.bands.target_multiple
    rows = []
    for term, value in values.items():
        sourced = term in ARTICLE_THRESHOLDS
        rows.append({
            "term": term, "value": float(value), "unit": UNITS.get(term, "log-odds"),
            "basis": "sourced" if sourced else "judgement",
            "source": ARTICLE_THRESHOLDS[term] if sourced else "rulebook interview section (judgement; docs/scoring.md: sensitivity)",
        })
    return rows


def build_coefficients(rules: InterviewRules, openness: pd.DataFrame, curve: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """One row per constant of the model, with its value, unit, basis and source."""
    c = rules.calibration
    interviews = _pooled(outcomes, "contiguous_ranks")
    offset = solve_calibration(openness, c.applications_per_applicant, interviews)
    rows = _rule_rows(rules) + [
        {"term": "step2ck_reference", "value": _pooled(outcomes, "step2ck"), "unit": "score", "basis": "sourced",
         "source": "NRMP Charting Outcomes 2026, non-US IMGs, Internal Medicine: mean Step 2 CK of matched and not matched, weighted by n"},
        {"term": "step2ck_per_point", "value": step2ck_slope(curve), "unit": "log-odds per point", "basis": "sourced",
         "source": rules.applicant.step2ck_source},
        {"term": "applications_per_applicant", "value": c.applications_per_applicant, "unit": "applications", "basis": "sourced", "source": c.applications_source},
        {"term": "reference_interviews", "value": interviews, "unit": "interviews", "basis": "sourced", "source": c.interviews_source + " (mean, weighted by n)"},
        {"term": "band_likely", "value": rules.bands.likely_multiple * interviews / c.applications_per_applicant, "unit": "probability", "basis": "calibrated",
         "source": "band_likely_multiple x reference_interviews / applications_per_applicant"},
        {"term": "band_target", "value": rules.bands.target_multiple * interviews / c.applications_per_applicant, "unit": "probability", "basis": "calibrated",
         "source": "band_target_multiple x reference_interviews / applications_per_applicant"},
        {"term": "calibration_offset", "value": offset, "unit": "log-odds", "basis": "calibrated",
         "source": "solved at this refresh: the reference applicant's expected interviews over the applications_per_applicant civilian programs accepting applications most open to IMGs = reference_interviews"},
    ]
    out = pd.DataFrame(rows)
    out["description"] = out["term"].map(TERM_WORDS).fillna("")
    return out.sort_values("term", kind="stable").reset_index(drop=True)


TERM_WORDS = {
    "calibration_offset": "Added to every program's openness: sets the overall level of the chances",
    "step2ck_reference": "The Step 2 CK at which the Step 2 CK term is 0 (the typical non-US IMG applicant in IM)",
    "step2ck_per_point": "Log-odds per Step 2 CK point above (or below) the reference, at a community program",
    "step2ck_selectivity_interaction": "A CK point counts (1 + this x selectivity) times at a program of that selectivity",
    "below_2016_step2_minimum": "Step 2 CK below the minimum the program stated in 2016 (dated evidence)",
    "below_2016_step1_minimum": "Step 1 below the minimum the program stated in 2016 (dated evidence)",
    "first_failure": "The first failed USMLE attempt",
    "further_failure": "Each failed attempt after the first",
    "step1_failure_offset_ck": "Step 2 CK from which a Step 1 failure is partly offset",
    "step1_failure_offset_fraction": "The share of a Step 1 failure's term that remains when offset",
    "yog_after_years": "Years since graduation beyond which the YOG terms apply",
    "no_usce": "No US clinical experience (stated)",
    "observership_only": "Only observerships, no hands-on USCE (stated)",
    "usce_hands_on_months_strong": "Hands-on USCE months from which USCE counts as strong",
    "usce_strong": "Strong hands-on USCE",
    "usce_required_short": "The program states USCE required and the applicant has fewer hands-on months",
    "usce_preferred_short": "The program states USCE preferred and the applicant has fewer hands-on months",
    "letters_min": "Letters from US IM attendings below which the letters term applies",
    "few_letters": "Fewer than letters_min letters from US IM attendings (stated)",
    "no_recent_clinical_work": "No recent clinical practice or training (stated)",
    "unexplained_gaps": "Significant unexplained gaps (stated)",
    "visa_unknown": "A needed visa whose sponsorship is unknown",
    "h1b_without_step3": "An H-1B need at an H-1B sponsor without Step 3 passed",
    "screen_overlap": "Share given back of every negative applicant screen term but the largest (failures, YOG, USCE, letters, recent clinical work, gaps)",
    "volume_elasticity": "openness = this x log(IMG interview volume / mean volume)",
    "applications_per_applicant": "Applications in the reference applicant's typical list",
    "reference_interviews": "Interviews the reference applicant's typical list brings",
    "band_likely": "P(interview) from which a program is 'likely'",
    "band_target": "P(interview) from which a program is 'target' (below: 'reach')",
    "band_likely_multiple": "band_likely as a multiple of the typical applicant's average chance per application",
    "band_target_multiple": "band_target as a multiple of the typical applicant's average chance per application",
}
TERM_WORDS.update({f"yog_{lv}": f"More than yog_after_years since graduation, at a program whose YOG tolerance is {lv}" for lv in YOG_LEVELS})
