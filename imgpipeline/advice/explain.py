"""The reasons behind each chance, in words: every term's log-odds, its odds multiplier, basis
and evidence, for the programs a person reads (a list, a program page). Text only: the numbers
come from ``model.compute_terms``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from imgpipeline.advice.model import (
    EXCLUSION_TEXT,
    TERMS,
    Applicants,
    Coefficients,
    Programs,
    Terms,
    visa_state,
)

VISA_LABEL = {"j1": "J-1", "h1b": "H-1B", "either": "J-1 or H-1B"}
TERM_LABEL = {
    "baseline": "openness to IMGs", "program_facts": "stated openings", "step2ck": "Step 2 CK",
    "minimums_2016": "2016 minimums", "failures": "failed attempts", "yog": "years since graduation",
    "usce": "USCE", "usce_policy": "program's USCE policy", "letters": "letters", "recent_clinical": "recent clinical work",
    "gaps": "gaps", "visa": "visa", "overlap": "overlapping screens",
}
YOG_BASIS = {"stated_no_limit": "stated", "stated_preference": "stated", "stated_limit": "stated", "likely_tolerant": "inferred", "likely_strict": "inferred", "unknown": "unknown"}
SELECTIVITY_WORDS = {0.0: "community program", 0.5: "mid-tier academic or hybrid program", 1.0: "highly competitive academic program"}


def _stated(value: float) -> str:
    return "unknown" if value != value else "stated"  # nan != nan


def _term_text(term: str, c: Coefficients, a: Applicants, ps: Programs, g: int, j: int, terms_value: float = 0.0) -> tuple[str, str]:
    """(basis, evidence) of one term for applicant g at program j."""
    if term == "baseline":
        return str(ps.openness_basis[j]), f"{ps.openness_evidence[j]}; calibrated to the NRMP's interviews per applicant"
    if term == "program_facts":
        words = ps.bonus_reasons[j]
        return ("stated", words) if words else ("unknown", "no stated opening (new program, holistic review, IMGs welcome)")
    if term == "step2ck":
        ck = a.step2ck[g]
        sel = SELECTIVITY_WORDS.get(float(ps.selectivity[j]), f"selectivity {ps.selectivity[j]:g}")
        if ck != ck:
            return "unknown", f"Step 2 CK not taken: counted at the typical applicant's {c['step2ck_reference']:.0f}"
        return "stated", f"Step 2 CK {ck:.0f} against the typical applicant's {c['step2ck_reference']:.0f}, at a {sel}"
    if term == "minimums_2016":
        parts = []
        if a.step2ck[g] < ps.step2_min_2016[j]:
            parts.append(f"Step 2 CK below the {ps.step2_min_2016[j]:.0f} minimum the program listed in 2016")
        if a.step1[g] < ps.step1_min_2016[j]:
            parts.append(f"Step 1 below the {ps.step1_min_2016[j]:.0f} minimum the program listed in 2016")
        return ("stated", "; ".join(parts) + " (dated evidence)") if parts else ("stated", "no 2016 minimum above your scores")
    if term == "failures":
        n = int(a.failures[g])
        return "stated", f"{n} failed USMLE attempt(s)" if n else "no failed attempt"
    if term == "yog":
        level = str(ps.yog_tolerance[j])
        return YOG_BASIS.get(level, "unknown"), f"{a.years[g]:.0f} years since graduation; the program's YOG tolerance: {level.replace('_', ' ')}"
    if term == "usce":
        h = a.hands_on[g]
        if h != h:
            return "unknown", "USCE not stated: counted as the typical applicant's"
        return "stated", f"{h:g} months hands-on USCE, {np.nan_to_num(a.observership[g]):g} months observership"
    if term == "usce_policy":
        pol = str(ps.usce_policy[j])
        return ("stated", f"the program states USCE {pol}") if pol else ("unknown", "no stated USCE policy")
    if term == "letters":
        return _stated(a.letters[g]), "letters not stated" if a.letters[g] != a.letters[g] else f"{a.letters[g]:.0f} letter(s) from US IM attendings"
    if term == "recent_clinical":
        v = a.recent_clinical[g]
        return _stated(v), "not stated" if v != v else ("recent clinical work" if v == 1 else "no recent clinical work")
    if term == "gaps":
        v = a.gaps[g]
        return _stated(v), "not stated" if v != v else ("unexplained gaps" if v == 1 else "no unexplained gaps")
    if term == "overlap":
        v = float(terms_value)
        return "stated", ("several of your weaknesses are screens the same programs apply: all but the largest count in part" if v > 0 else "at most one screen applies")
    need = str(a.visa_need[g])
    if need == "none":
        return "stated", "no visa needed"
    state = str(visa_state(ps, need)[j])
    words = {"yes": "sponsors", "unknown": "sponsorship unknown for", "no": "does not sponsor", "no_inferred": "lists no visa (FREIDA lists no visa type) for"}[state]
    basis = {"yes": "stated", "no": "stated", "no_inferred": "inferred", "unknown": "unknown"}[state]
    extra = "; Step 3 not passed (many H-1B programs require it)" if need == "h1b" and not a.step3_passed[g] and state == "yes" else ""
    return basis, f"{words} {VISA_LABEL[need]}{extra}"


def contributions(terms: Terms, c: Coefficients, a: Applicants, ps: Programs, g: int, j: int) -> list[dict[str, Any]]:
    """Every term of applicant g at program j: log-odds, odds multiplier, basis, evidence. The
    log-odds add up exactly to the logit."""
    out = []
    for term in TERMS:
        value = float(terms.terms[term][g, j])
        basis, evidence = _term_text(term, c, a, ps, g, j, value)
        out.append({
            "term": term, "log_odds": round(value, 6), "odds_multiplier": float(f"{math.exp(value):.6g}"),
            "basis": basis, "evidence": evidence,
        })
    return out


def why(contribs: list[dict[str, Any]], offset: float, top: int = 4) -> str:
    """The terms that move the chance most, as odds multipliers ('x0.45 failed attempts'); the
    baseline shows as the program's openness against the average program (``offset`` is the
    calibration offset every program shares)."""
    shown = []
    for x in contribs:
        value = x["log_odds"] - (offset if x["term"] == "baseline" else 0.0)
        if abs(value) >= 0.01:
            shown.append((value, "openness to IMGs" if x["term"] == "baseline" else TERM_LABEL[x["term"]]))
    shown.sort(key=lambda v: -abs(v[0]))
    return ", ".join(f"x{math.exp(v):.2f} {label}" for v, label in shown[:top]) or "as the typical applicant at the average program"


def cautions(a: Applicants, ps: Programs, g: int, j: int) -> list[str]:
    """What to check before applying to program j."""
    out = []
    need = str(a.visa_need[g])
    if need != "none" and visa_state(ps, need)[j] == "unknown":
        out.append(f"{VISA_LABEL[need]} sponsorship unknown: confirm with the program")
    if need == "h1b" and not a.step3_passed[g]:
        out.append("H-1B: many H-1B programs require Step 3 passed")
    if ps.ecfmg_required[j]:
        out.append("the program requires ECFMG certification")
    if ps.usce_policy[j]:
        out.append(f"the program states USCE {ps.usce_policy[j]}")
    if ps.yog_tolerance[j] == "stated_preference":
        out.append("the program states a preferred graduation window")
    for step, mins, score in (("Step 2 CK", ps.step2_min_2016, a.step2ck), ("Step 1", ps.step1_min_2016, a.step1)):
        if mins[j] == mins[j] and score[g] < mins[j]:
            out.append(f"2016 FREIDA listed a {step} minimum of {mins[j]:.0f} (dated: confirm the current policy)")
    return out


def exclusion_text(terms: Terms, j: int, g: int = 0) -> str:
    return "; ".join(EXCLUSION_TEXT[k] for k, v in terms.excluded.items() if v[g, j])
