"""What the real data can say about the interview chances: the ``score_validity`` rows and a
Markdown summary for the run summary. Checks that can fail (``passed``) and descriptive rows
(``passed`` missing). No public file gives IMG interviews per program, so these show the model
behaves as its sources and the article say, not that it predicts one program's interviews.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from imgpipeline.advice.model import Coefficients, sigmoid
from imgpipeline.advice.outcome import RanksCurve, interview_distribution
from imgpipeline.advice.risk import TIERS
from imgpipeline.text import markdown_table
from imgpipeline.vocabulary import BANDS, VISA_NEEDS

KEY = ["acgme_id", "risk_tier", "visa_need"]


def _check(rows: list[dict[str, Any]], check: str, metric: str, value: float, *, tier: str = "all", visa: str = "all", expected: str = "", passed: bool | None = None, detail: str = "") -> None:
    rows.append({"check": check, "risk_tier": tier, "visa_need": visa, "metric": metric, "value": float(value), "expected": expected, "passed": passed, "detail": detail})


def _sums(rows: list[dict[str, Any]], scores: pd.DataFrame, reasons: pd.DataFrame) -> None:
    sums = reasons.groupby(KEY)["log_odds"].sum()
    logit = scores.set_index(KEY)["logit"]
    gap = float((sums.reindex(logit.index) - logit).abs().max())
    _check(rows, "contributions_sum_to_logit", "max_abs_difference", gap, expected="< 1e-5 (log-odds rounded to 1e-6 each)", passed=gap < 1e-5)


def _monotone(rows: list[dict[str, Any]], scores: pd.DataFrame) -> None:
    wide = scores[scores["visa_need"] == "none"].pivot(index="acgme_id", columns="risk_tier", values="p_interview")
    present = [t for t in TIERS if t in wide.columns]
    rises = sum(int((wide[b] > wide[a] + 1e-12).sum()) for a, b in zip(present, present[1:], strict=False))
    _check(rows, "p_never_rises_with_risk", "programs_where_it_rises", rises, visa="none", expected="= 0", passed=rises == 0,
           detail="each tier's typical applicant is no stronger than the one before in any term")


def _img_share(rows: list[dict[str, Any]], scores: pd.DataFrame, openness: pd.DataFrame) -> None:
    o = openness.set_index("acgme_id")
    stated = o["img_share_basis"].eq("stated")
    share = o["img_share"]
    heavy = o.index[stated & (share >= 0.5) & o["visa_j1"].eq("yes")]
    low_uni = o.index[stated & (share <= 0.10) & o["program_type"].eq("university")]
    for tier in TIERS:
        sub = scores[(scores["risk_tier"] == tier) & (scores["visa_need"] == "none")].set_index("acgme_id")
        if sub.empty:
            continue
        a, b = sub["p_interview"].reindex(heavy).mean(), sub["p_interview"].reindex(low_uni).mean()
        _check(rows, "img_heavy_sponsors_beat_low_img_university", "mean_p_ratio", a / b, tier=tier, visa="none", expected="> 1", passed=bool(a > b),
               detail=f"{len(heavy)} J-1 sponsors with stated IMG share >= 0.5 (mean P {a:.3f}) vs {len(low_uni)} university programs with stated share <= 0.10 (mean P {b:.3f})")
        st = sub[sub["img_share_basis"] == "stated"]
        rho = float(st["p_interview"].rank().corr(st["img_share"].rank()))
        _check(rows, "p_rises_with_img_share", "spearman_rho", rho, tier=tier, visa="none", expected="> 0", passed=rho > 0, detail=f"{len(st)} programs with a stated IMG share")


def _eligibility(rows: list[dict[str, Any]], scores: pd.DataFrame) -> None:
    # Grouped by the names (categoricals would group in their declared order).
    elig = scores.astype({"visa_need": "str", "risk_tier": "str"}).groupby(["visa_need", "risk_tier"])["eligible"].mean()
    n = scores["acgme_id"].nunique()
    for (visa, tier), v in elig.items():
        _check(rows, "eligible_share", "share_of_programs", v, tier=str(tier), visa=str(visa), detail=f"{int(round(v * n))} of {n} programs eligible")
    for visa in VISA_NEEDS:
        seq = [elig.get((visa, t)) for t in TIERS if (visa, t) in elig.index]
        ok = all(x >= y - 1e-12 for x, y in zip(seq, seq[1:], strict=False))
        _check(rows, "eligible_share_never_rises_with_risk", "tiers_compared", len(seq), visa=visa, expected="non-increasing", passed=ok)


def _distribution(rows: list[dict[str, Any]], scores: pd.DataFrame) -> None:
    for tier in TIERS:
        sub = scores[(scores["risk_tier"] == tier) & (scores["visa_need"] == "none")]
        if sub.empty:
            continue
        for band in BANDS:
            _check(rows, "band_mix", f"share_{band}", float((sub["band"] == band).mean()), tier=tier, visa="none")
        p = sub.loc[sub["eligible"], "p_interview"]
        for q, name in ((0.1, "p10"), (0.5, "median"), (0.9, "p90")):
            _check(rows, "p_interview_distribution", name, float(p.quantile(q)), tier=tier, visa="none")
        _check(rows, "p_interview_distribution", "mean", float(p.mean()), tier=tier, visa="none")
        elite = sub[sub["program_tier"] == "highly_competitive_academic"]
        if tier in ("high", "very_high"):
            share = float(elite["band"].isin(["reach", "excluded"]).mean())
            _check(rows, "elite_centres_are_reach_for_high_risk", "share_reach", share, tier=tier, visa="none",
                   expected="= 1 (the article: 'minimal chance with low scores')", passed=share == 1.0, detail=f"{len(elite)} highly competitive academic programs")


def _calibration(rows: list[dict[str, Any]], openness: pd.DataFrame, c: Coefficients, curve: pd.DataFrame | None) -> None:
    pool = openness[~openness["military"] & openness["accepting_applications"].fillna(True)]
    base = np.sort((pool["openness"] + pool["program_bonus"]).to_numpy())[::-1][: int(round(c["applications_per_applicant"]))]
    expected = float(sigmoid(c["calibration_offset"] + base).sum())
    gap = abs(expected - c["reference_interviews"])
    if curve is not None:
        ranks = RanksCurve.from_curve(curve)
        p_match = float(interview_distribution(sigmoid(c["calibration_offset"] + base)[None, :], ranks.kmax)[0, 0] @ ranks.p)
        rate = float(curve["img_matched"].iloc[0] / curve["img_total"].iloc[0])
        _check(rows, "reference_list_matches_at_nrmp_rate", "p_match_given_list", p_match, expected=f"near {rate:.3f} (NRMP 2026 non-US IMG match rate in IM)",
               passed=abs(p_match - rate) < 0.10, detail="the reference applicant's calibration list through the contiguous-ranks curve; within 0.10 of the published rate")
    _check(rows, "calibration_reproduces_nrmp_interviews", "expected_interviews", expected, expected=f"= {c['reference_interviews']:.2f} (Charting Outcomes mean contiguous ranks)",
           passed=gap < 1e-6, detail=f"reference applicant, the {c['applications_per_applicant']:.0f} civilian programs accepting applications most open to IMGs")


def validity_report(scores: pd.DataFrame, reasons: pd.DataFrame, openness: pd.DataFrame, c: Coefficients, curve: pd.DataFrame | None = None) -> tuple[pd.DataFrame, str]:
    rows: list[dict[str, Any]] = []
    _sums(rows, scores, reasons)
    _calibration(rows, openness, c, curve)
    _monotone(rows, scores)
    _img_share(rows, scores, openness)
    _eligibility(rows, scores)
    _distribution(rows, scores)
    out = pd.DataFrame(rows)
    return out, validity_markdown(out)


def validity_markdown(v: pd.DataFrame) -> str:
    checks = v[v["passed"].notna()]
    failed = checks[checks["passed"] == False]  # noqa: E712
    lines = [f"{len(checks) - len(failed)} of {len(checks)} validity checks passed."]
    lines += [f"- FAILED {r['check']} ({r['risk_tier']}, {r['visa_need']}): {r['metric']} = {r['value']:.3f}, expected {r['expected']}" for _, r in failed.iterrows()]
    dist = v[v["check"] == "p_interview_distribution"].pivot(index="risk_tier", columns="metric", values="value").reindex([t for t in TIERS])
    rows = [(t, *(f"{r[m]:.3f}" for m in ("p10", "median", "p90", "mean"))) for t, r in dist.dropna(how="all").iterrows()]
    lines += ["", markdown_table(["P(interview), no visa", "p10", "median", "p90", "mean"], rows)]
    return "\n".join(lines)
