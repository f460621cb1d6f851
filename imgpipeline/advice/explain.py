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


def _o(a: Any, n: int) -> np.ndarray:
    """``a`` (a text or an array of texts) as an object array of length n."""
    return np.broadcast_to(np.asarray(a, dtype=object), (n,)).copy()


def _stated(value: float, n: int) -> np.ndarray:
    return _o("unknown" if value != value else "stated", n)  # nan != nan


def _one(a: Applicants, g: int, term: str, n: int, c: Coefficients) -> tuple[np.ndarray, np.ndarray] | None:
    """(basis, evidence) of the applicant-only terms, the same at every program."""
    if term == "failures":
        k = int(a.failures[g])
        return _o("stated", n), _o(f"{k} failed USMLE attempt(s)" if k else "no failed attempt", n)
    if term == "usce":
        h = a.hands_on[g]
        if h != h:
            return _o("unknown", n), _o("USCE not stated: counted as the typical applicant's", n)
        return _o("stated", n), _o(f"{h:g} months hands-on USCE, {np.nan_to_num(a.observership[g]):g} months observership", n)
    if term == "letters":
        v = a.letters[g]
        return _stated(v, n), _o("letters not stated" if v != v else f"{v:.0f} letter(s) from US IM attendings", n)
    if term in ("recent_clinical", "gaps"):
        v = a.recent_clinical[g] if term == "recent_clinical" else a.gaps[g]
        yes, no = ("recent clinical work", "no recent clinical work") if term == "recent_clinical" else ("unexplained gaps", "no unexplained gaps")
        return _stated(v, n), _o("not stated" if v != v else (yes if v == 1 else no), n)
    return None


def _program(term: str, c: Coefficients, a: Applicants, ps: Programs, g: int, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(basis, evidence) of the terms that read the program, one per program."""
    n = ps.n
    if term == "baseline":
        return ps.openness_basis.astype(object), ps.openness_evidence + "; calibrated to the NRMP's interviews per applicant"
    if term == "program_facts":
        has = ps.bonus_reasons != ""
        return np.where(has, "stated", "unknown").astype(object), np.where(has, ps.bonus_reasons, "no stated opening (new program, holistic review, IMGs welcome)").astype(object)
    if term == "step2ck":
        ck, ref = a.step2ck[g], c["step2ck_reference"]
        if ck != ck:
            return _o("unknown", n), _o(f"Step 2 CK not taken: counted at the typical applicant's {ref:.0f}", n)
        sel = np.array([SELECTIVITY_WORDS.get(float(x), f"selectivity {x:g}") for x in ps.selectivity], dtype=object)
        return _o("stated", n), f"Step 2 CK {ck:.0f} against the typical applicant's {ref:.0f}, at a " + sel
    if term == "minimums_2016":
        with np.errstate(invalid="ignore"):
            ck, s1 = a.step2ck[g] < ps.step2_min_2016, a.step1[g] < ps.step1_min_2016
        ck_t = np.array([f"Step 2 CK below the {m:.0f} minimum the program listed in 2016" if b else "" for m, b in zip(ps.step2_min_2016, ck, strict=True)], dtype=object)
        s1_t = np.array([f"Step 1 below the {m:.0f} minimum the program listed in 2016" if b else "" for m, b in zip(ps.step1_min_2016, s1, strict=True)], dtype=object)
        both = np.where(ck & s1, "; ", "")
        text = np.where(ck | s1, ck_t + both + s1_t + " (dated evidence)", "no 2016 minimum above your scores")
        return _o("stated", n), text.astype(object)
    if term == "yog":
        basis = np.array([YOG_BASIS.get(str(x), "unknown") for x in ps.yog_tolerance], dtype=object)
        words = np.array([str(x).replace("_", " ") for x in ps.yog_tolerance], dtype=object)
        return basis, f"{a.years[g]:.0f} years since graduation; the program's YOG tolerance: " + words
    if term == "usce_policy":
        has = ps.usce_policy != ""
        return np.where(has, "stated", "unknown").astype(object), np.where(has, "the program states USCE " + ps.usce_policy.astype(object), "no stated USCE policy").astype(object)
    if term == "overlap":
        return _o("stated", n), np.where(values > 0, "several of your weaknesses are screens the same programs apply: all but the largest count in part", "at most one screen applies").astype(object)
    return _visa_text(a, ps, g)


def _visa_text(a: Applicants, ps: Programs, g: int) -> tuple[np.ndarray, np.ndarray]:
    n, need = ps.n, str(a.visa_need[g])
    if need == "none":
        return _o("stated", n), _o("no visa needed", n)
    state = visa_state(ps, need)
    words = {"yes": "sponsors", "unknown": "sponsorship unknown for", "no": "does not sponsor", "no_inferred": "lists no visa (FREIDA lists no visa type) for"}
    bases = {"yes": "stated", "no": "stated", "no_inferred": "inferred", "unknown": "unknown"}
    extra = np.where((state == "yes") & (need == "h1b") & (not a.step3_passed[g]), "; Step 3 not passed (many H-1B programs require it)", "")
    text = np.array([f"{words[str(s)]} {VISA_LABEL[need]}" for s in state], dtype=object) + extra
    return np.array([bases[str(s)] for s in state], dtype=object), text


def term_texts(terms: Terms, c: Coefficients, a: Applicants, ps: Programs, g: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(basis, evidence) of every term for applicant g, one per program (arrays of length P)."""
    out = {}
    for term in TERMS:
        one = _one(a, g, term, ps.n, c)
        out[term] = one if one is not None else _program(term, c, a, ps, g, terms.terms[term][g])
    return out


def contributions_of(terms: Terms, c: Coefficients, a: Applicants, ps: Programs, g: int, js: Any) -> list[list[dict[str, Any]]]:
    """Every term of applicant g at each program j of ``js``: log-odds, odds multiplier, basis,
    evidence. The log-odds add up exactly to the logit."""
    texts = term_texts(terms, c, a, ps, g)
    out = []
    for j in js:
        row = []
        for term in TERMS:
            value = float(terms.terms[term][g, j])
            basis, evidence = texts[term][0][j], texts[term][1][j]
            row.append({"term": term, "log_odds": round(value, 6), "odds_multiplier": float(f"{math.exp(value):.6g}"), "basis": basis, "evidence": evidence})
        out.append(row)
    return out


def contributions(terms: Terms, c: Coefficients, a: Applicants, ps: Programs, g: int, j: int) -> list[dict[str, Any]]:
    """Every term of applicant g at program j (``contributions_of`` for one program)."""
    return contributions_of(terms, c, a, ps, g, [j])[0]


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
