"""The refresh's interview-model tables: program_openness, interview_coefficients, and the
per-tier ``program_scores`` (P(interview) of each tier's typical applicant at every program,
per visa need) with their ``score_reasons`` and the ``score_validity`` checks.

The typical applicants come from the rulebook's ``interview.tier_profiles`` (the article's own
examples); each is assessed with the risk rules for every visa need, and only the (tier, visa
need) pairs the rules keep in that tier are published.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from imgpipeline.advice import explain
from imgpipeline.advice.model import (
    EXCLUSIONS,
    TERMS,
    Applicants,
    Coefficients,
    Programs,
    Terms,
    band_of,
    baseline_bounds,
    compute_terms,
    sigmoid,
)
from imgpipeline.advice.profile import APPLICANT_COLUMNS, VISA_LABEL
from imgpipeline.advice.risk import TIERS, RiskRules, assess_frame
from imgpipeline.advice.risk import rules as risk_rules
from imgpipeline.refresh.interview import (
    InterviewRules,
    build_coefficients,
    build_program_openness,
    interview_rules,
)
from imgpipeline.rulebook import rulebook_digest
from imgpipeline.settings import Settings
from imgpipeline.vocabulary import BANDS, VISA_NEEDS


def tier_profiles(rules: InterviewRules, risk: RiskRules) -> pd.DataFrame:
    """The typical applicant of each tier, once per visa need the risk rules keep in it."""
    rows = []
    for tier in TIERS:
        for visa in VISA_NEEDS:
            row: dict[str, Any] = {col: None for col in APPLICANT_COLUMNS}
            row.update({"step1_passed": True, "step2ck_taken": True, "step2ck_passed": True, "step3_failures": 0,
                        "recent_clinical_work": True, "unexplained_gaps": False, "service_member": False})
            row.update(rules.tier_profiles[tier])
            row["usce_total_months"] = (row.get("usce_hands_on_months") or 0) + (row.get("usce_observership_months") or 0)
            row["visa_need"] = visa
            row["profile_id"] = f"{tier}/{visa}"
            rows.append(row)
    typed = pd.DataFrame(rows)[list(APPLICANT_COLUMNS)].astype(APPLICANT_COLUMNS)
    typed["risk_tier"] = assess_frame(typed, risk)["risk_tier"].to_numpy()
    intended = np.repeat(np.array(TIERS, dtype=object), len(VISA_NEEDS))
    return typed[typed["risk_tier"].to_numpy() == intended].reset_index(drop=True)


def profile_text(row: pd.Series) -> str:
    parts = [f"Step 2 CK {row['step2ck_score']:g}" if pd.notna(row["step2ck_score"]) else "Step 2 CK not taken"]
    parts.append(f"{int(row['usmle_failures'])} failed attempt(s)")
    parts.append(f"{int(row['years_since_graduation'])} years since graduation")
    parts.append(f"{row['usce_hands_on_months']:g} months hands-on USCE")
    parts.append(f"visa: {VISA_LABEL[row['visa_need']]}")
    return ", ".join(parts)


def _key_rows(g: int, profiles: pd.DataFrame, terms: Terms, c: Coefficients, apps: Applicants, ps: Programs, bounds: tuple[np.ndarray, np.ndarray]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The scores and the reasons of one typical applicant (row g) at every program."""
    P = ps.n
    excluded, logit = terms.any_excluded[g], terms.logit[g]
    rest = logit - terms.terms["baseline"][g]
    p = np.where(excluded, 0.0, sigmoid(logit))
    texts = explain.term_texts(terms, c, apps, ps, g)
    contribs = explain.contributions_of(terms, c, apps, ps, g, range(P))
    key = {"risk_tier": profiles["risk_tier"].iat[g], "visa_need": profiles["visa_need"].iat[g]}
    scores = pd.DataFrame({
        "acgme_id": ps.acgme_id, **key, "tier_profile": profile_text(profiles.iloc[g]), "logit": logit,
        "p_interview": p,
        "p_interview_low": np.where(excluded, 0.0, sigmoid(rest + bounds[0])),
        "p_interview_high": np.where(excluded, 0.0, sigmoid(rest + bounds[1])),
        "band": np.array(BANDS, dtype=object)[band_of(p, excluded, c["band_likely"], c["band_target"])],
        "eligible": ~excluded,
        **{k: terms.excluded[k][g] for k in EXCLUSIONS},
        "exclusion_reasons": [explain.exclusion_reasons(terms, j, g) for j in range(P)],
        "cautions": explain.caution_lists(apps, ps, g, range(P)),
        "contributions": contribs,
    })
    values = np.stack([terms.terms[t][g] for t in TERMS], axis=1).ravel()
    reasons = pd.DataFrame({
        "acgme_id": np.repeat(ps.acgme_id, len(TERMS)), **key, "term": np.tile(np.array(TERMS, dtype=object), P),
        "log_odds": np.round(values, 6), "odds_multiplier": [float(f"{x:.6g}") for x in np.exp(values)],
        "basis": np.stack([texts[t][0] for t in TERMS], axis=1).ravel(),
        "evidence": np.stack([texts[t][1] for t in TERMS], axis=1).ravel(),
    })
    return scores, reasons


def _score_rows(profiles: pd.DataFrame, ps: Programs, c: Coefficients) -> tuple[pd.DataFrame, pd.DataFrame]:
    apps = Applicants.from_frame(profiles)
    terms = compute_terms(c, ps, apps)
    bounds = baseline_bounds(c, ps)
    parts = [_key_rows(g, profiles, terms, c, apps, ps, bounds) for g in range(apps.n)]
    scores = pd.concat([s for s, _ in parts], ignore_index=True).merge(
        ps.table[["acgme_id", "program_name", "state", "program_tier", "img_share", "img_share_basis"]], on="acgme_id", how="left"
    )
    return scores, pd.concat([r for _, r in parts], ignore_index=True)


@dataclass
class InterviewTables:
    """What the model step publishes, and the run-summary text."""

    program_openness: pd.DataFrame
    interview_coefficients: pd.DataFrame
    program_scores: pd.DataFrame
    score_reasons: pd.DataFrame
    score_validity: pd.DataFrame
    summary_markdown: str


def _stamp(df: pd.DataFrame, prov: pd.DataFrame) -> pd.DataFrame:
    return df.merge(prov, on="acgme_id", how="left")


def build_interview_tables(
    features: pd.DataFrame,
    programs: pd.DataFrame,
    minimums: pd.DataFrame | None,
    curve: pd.DataFrame,
    outcomes: pd.DataFrame,
    settings: Settings | None = None,
) -> InterviewTables:
    """The program side, the coefficients, the per-tier scores with their reasons, and the
    validity checks, each coerced to its declared table."""
    from imgpipeline.tables import TABLES

    rules = interview_rules(settings)
    openness = TABLES["program_openness"].coerce(build_program_openness(features, programs, minimums, rules))
    coefs = build_coefficients(rules, openness, curve, outcomes)
    for col in ("charting_snapshot", "charting_as_of", "charting_sha256"):
        coefs[col] = curve[col].iloc[0]
    coefs = TABLES["interview_coefficients"].coerce(coefs)
    ps, c = Programs.from_table(openness), Coefficients.from_table(coefs)
    scores, reasons = _score_rows(tier_profiles(rules, risk_rules(settings)), ps, c)
    prov = openness[["acgme_id"] + [x for x in openness.columns if x.startswith(("acgme_", "freida_")) and x != "acgme_id"]]
    scores["rulebook_sha256"] = rulebook_digest(settings)
    program_scores = TABLES["program_scores"].coerce(_stamp(scores, prov))
    score_reasons = TABLES["score_reasons"].coerce(_stamp(reasons, prov))
    from imgpipeline.refresh.validity import validity_report

    validity, summary = validity_report(program_scores, score_reasons, openness, c, curve)
    for col in prov.columns.drop("acgme_id"):
        validity[col] = " + ".join(sorted(map(str, openness[col].dropna().unique())))
    return InterviewTables(openness, coefs, program_scores, score_reasons, TABLES["score_validity"].coerce(validity), summary)


__all__ = ["InterviewTables", "build_interview_tables", "tier_profiles", "TERMS"]
