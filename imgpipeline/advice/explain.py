"""The reasons behind each chance, in words: every term's log-odds, its odds multiplier, basis
and evidence, for the programs a person reads (a list, a program page). Text only: the numbers
come from ``model.compute_terms``."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

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
VISA_WORDS = {"yes": "sponsors", "unknown": "sponsorship unknown for", "no": "does not sponsor", "no_inferred": "lists no visa (FREIDA lists no visa type) for"}
VISA_BASES = {"yes": "stated", "no": "stated", "no_inferred": "inferred", "unknown": "unknown"}
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


def _program_words(ps: Programs) -> dict[str, np.ndarray]:
    """The per-program words the texts read, the same for every applicant: computed once per
    version (cached on ``ps``)."""
    hit = ps.__dict__.get("_words")
    if hit is not None:
        return hit
    has_bonus, has_usce = ps.bonus_reasons != "", ps.usce_policy != ""
    out = {
        "baseline_basis": ps.openness_basis.astype(object),
        "baseline_evidence": ps.openness_evidence + "; calibrated to the NRMP's interviews per applicant",
        "facts_basis": np.where(has_bonus, "stated", "unknown").astype(object),
        "facts_evidence": np.where(has_bonus, ps.bonus_reasons, "no stated opening (new program, holistic review, IMGs welcome)").astype(object),
        "selectivity": np.array([SELECTIVITY_WORDS.get(float(x), f"selectivity {x:g}") for x in ps.selectivity], dtype=object),
        "yog_basis": np.array([YOG_BASIS.get(str(x), "unknown") for x in ps.yog_tolerance], dtype=object),
        "yog_words": np.array([str(x).replace("_", " ") for x in ps.yog_tolerance], dtype=object),
        "usce_basis": np.where(has_usce, "stated", "unknown").astype(object),
        "usce_evidence": np.where(has_usce, "the program states USCE " + ps.usce_policy.astype(object), "no stated USCE policy").astype(object),
    }
    for need in VISA_LABEL:
        state = visa_state(ps, need)
        out[f"visa_basis_{need}"] = np.array([VISA_BASES[str(s)] for s in state], dtype=object)
        out[f"visa_words_{need}"] = np.array([f"{VISA_WORDS[str(s)]} {VISA_LABEL[need]}" for s in state], dtype=object)
    ps.__dict__["_words"] = out
    return out


def _program(term: str, c: Coefficients, a: Applicants, ps: Programs, g: int, values: np.ndarray, js: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(basis, evidence) of the terms that read the program, one per program of ``js``
    (``values``: the term's log-odds there)."""
    n, w = len(js), _program_words(ps)
    if term == "baseline":
        return w["baseline_basis"][js], w["baseline_evidence"][js]
    if term == "program_facts":
        return w["facts_basis"][js], w["facts_evidence"][js]
    if term == "step2ck":
        ck, ref = a.step2ck[g], c["step2ck_reference"]
        if ck != ck:
            return _o("unknown", n), _o(f"Step 2 CK not taken: counted at the typical applicant's {ref:.0f}", n)
        return _o("stated", n), f"Step 2 CK {ck:.0f} against the typical applicant's {ref:.0f}, at a " + w["selectivity"][js]
    if term == "minimums_2016":
        return _o("stated", n), _minimum_texts(a, ps, g, js)
    if term == "yog":
        return w["yog_basis"][js], f"{a.years[g]:.0f} years since graduation; the program's YOG tolerance: " + w["yog_words"][js]
    if term == "usce_policy":
        return w["usce_basis"][js], w["usce_evidence"][js]
    if term == "overlap":
        return _o("stated", n), np.where(values > 0, "several of your weaknesses are screens the same programs apply: all but the largest count in part", "at most one screen applies").astype(object)
    return _visa_text(a, ps, g, js)


def _minimum_texts(a: Applicants, ps: Programs, g: int, js: np.ndarray) -> np.ndarray:
    step2, step1 = ps.step2_min_2016[js], ps.step1_min_2016[js]
    with np.errstate(invalid="ignore"):
        ck, s1 = a.step2ck[g] < step2, a.step1[g] < step1
    ck_t = np.array([f"Step 2 CK below the {m:.0f} minimum the program listed in 2016" if b else "" for m, b in zip(step2, ck, strict=True)], dtype=object)
    s1_t = np.array([f"Step 1 below the {m:.0f} minimum the program listed in 2016" if b else "" for m, b in zip(step1, s1, strict=True)], dtype=object)
    both = np.where(ck & s1, "; ", "")
    return np.where(ck | s1, ck_t + both + s1_t + " (dated evidence)", "no 2016 minimum above your scores").astype(object)


def _visa_text(a: Applicants, ps: Programs, g: int, js: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, need = len(js), str(a.visa_need[g])
    if need == "none":
        return _o("stated", n), _o("no visa needed", n)
    w = _program_words(ps)
    state = visa_state(ps, need)[js]
    extra = np.where((state == "yes") & (need == "h1b") & (not a.step3_passed[g]), "; Step 3 not passed (many H-1B programs require it)", "")
    return w[f"visa_basis_{need}"][js], w[f"visa_words_{need}"][js] + extra


def term_texts(terms: Terms, c: Coefficients, a: Applicants, ps: Programs, g: int, js: Any = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(basis, evidence) of every term for applicant g, one per program of ``js`` (default:
    every program, arrays of length P)."""
    js = np.arange(ps.n) if js is None else np.asarray(js, dtype=np.intp)
    out = {}
    for term in TERMS:
        one = _one(a, g, term, len(js), c)
        out[term] = one if one is not None else _program(term, c, a, ps, g, terms.terms[term][g, js], js)
    return out


# The terms whose texts read the program's columns (besides the applicant's values): programs
# alike in these columns get the same basis and evidence. The program-only terms' texts
# (``_BY_PROGRAM``) read no applicant value; the applicant-only ones (``_one``'s) no program's.
_TEXT_KEYS = {
    "step2ck": ("selectivity",),
    "minimums_2016": ("step2_min_2016", "step1_min_2016"),
    "yog": ("yog_tolerance",),
    "visa": ("visa_j1", "visa_h1b", "visa_either"),
}
_BY_PROGRAM = ("baseline", "program_facts", "usce_policy")
_APPLICANT_ONLY = ("failures", "usce", "letters", "recent_clinical", "gaps")
# The applicant's values (``Applicants`` fields) each term's texts read (``_one``, ``_program``).
TEXT_READS = {
    "baseline": (), "program_facts": (), "step2ck": ("step2ck",), "minimums_2016": ("step2ck", "step1"),
    "failures": ("failures",), "yog": ("years",), "usce": ("hands_on", "observership"), "usce_policy": (),
    "letters": ("letters",), "recent_clinical": ("recent_clinical",), "gaps": ("gaps",),
    "visa": ("visa_need", "step3_passed"), "overlap": (),
}
_MEMO_SIZE = 4096   # distinct (term, values) kept per version before the memo starts again


def _text_codes(ps: Programs) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per term of ``_TEXT_KEYS``: each program's code (programs alike in the term's columns
    share one) and the first program of each code; computed once per version (cached on ``ps``)."""
    hit = ps.__dict__.get("_text_codes")
    if hit is not None:
        return hit
    out = {}
    for term, cols in _TEXT_KEYS.items():
        seen: dict[str, int] = {}
        firsts: list[int] = []
        codes = np.empty(ps.n, dtype=np.intp)
        for j, key in enumerate(zip(*(getattr(ps, col).tolist() for col in cols), strict=True)):
            codes[j] = seen.setdefault(repr(key), len(seen))   # repr: nan is one key
            if codes[j] == len(firsts):
                firsts.append(j)
        out[term] = (codes, np.array(firsts, dtype=np.intp))
    ps.__dict__["_text_codes"] = out
    return out


def _tails(bases: np.ndarray, evidence: np.ndarray) -> np.ndarray:
    """The end of each contribution's JSON text as ``orjson.dumps`` writes it (UTF-8 bytes):
    ``,"basis":...,"evidence":...}`` (each distinct pair written once)."""
    pairs = list(zip(bases.tolist(), evidence.tolist(), strict=True))
    written = {(b, e): b',"basis":' + orjson.dumps(b) + b',"evidence":' + orjson.dumps(e) + b"}" for b, e in set(pairs)}
    return np.array([written[pair] for pair in pairs], dtype=object)


def _tail_table(term: str, c: Coefficients, a: Applicants, ps: Programs, g: int) -> np.ndarray:
    """``_tails`` of the term for applicant g, one per row ``_tail_rows`` points to: the one text
    of an applicant-only term; every program's of a program-only term; one program's of each
    code (``_text_codes``); overlap's two (at most one screen, several)."""
    if term in _APPLICANT_ONLY:
        return _tails(*_one(a, g, term, 1, c))  # type: ignore[misc]
    if term in _BY_PROGRAM:
        return _tails(*_program(term, c, a, ps, g, np.zeros(ps.n), np.arange(ps.n)))
    if term in _TEXT_KEYS:
        firsts = _text_codes(ps)[term][1]
        return _tails(*_program(term, c, a, ps, g, np.zeros(len(firsts)), firsts))
    return _tails(*_program(term, c, a, ps, g, np.array([0.0, 1.0]), np.zeros(2, dtype=np.intp)))


def _tail_rows(term: str, terms: Terms, ps: Programs, g: int, js: np.ndarray) -> np.ndarray:
    """Each program of ``js``'s row in ``_tail_table``."""
    if term in _APPLICANT_ONLY:
        return np.zeros(len(js), dtype=np.intp)
    if term in _BY_PROGRAM:
        return js
    if term in _TEXT_KEYS:
        return _text_codes(ps)[term][0][js]
    return (terms.terms[term][g, js] > 0).astype(np.intp)


def contribution_tails(terms: Terms, c: Coefficients, a: Applicants, ps: Programs, g: int, js: Any, follow: tuple[bytes, ...] | None = None) -> list[np.ndarray]:
    """Per term (``TERMS`` order), ``_tails`` of ``term_texts`` at the programs ``js`` (each
    followed by ``follow``'s bytes for the term, if given): the same texts, each table of a
    term worded and written once per version and the applicant's values it reads
    (``TEXT_READS``: a bounded memo on ``ps``)."""
    js = np.asarray(js, dtype=np.intp)
    memo = ps.__dict__.get("_tail_memo")
    if memo is None or memo[0] is not c or len(memo[1]) > _MEMO_SIZE:
        memo = ps.__dict__["_tail_memo"] = (c, {})
    read = {f: a.visa_need[g] if f == "visa_need" else getattr(a, f)[g].item() for f in {f for fs in TEXT_READS.values() for f in fs}}
    read = {f: None if v != v else v for f, v in read.items()}   # nan (not stated): one key
    out = []
    for t, term in enumerate(TERMS):
        after = follow[t] if follow else b""
        key = (term, after, *(read[f] for f in TEXT_READS[term]))
        table = memo[1].get(key)
        if table is None:
            table = memo[1][key] = np.array([x + after for x in _tail_table(term, c, a, ps, g).tolist()], dtype=object)
        out.append(table[_tail_rows(term, terms, ps, g, js)])
    return out


def term_values(terms: Terms, g: int, js: Any) -> np.ndarray:
    """(n, T): every term's log-odds of applicant g at the programs ``js`` (``TERMS`` order)."""
    js = np.asarray(js, dtype=np.intp)
    return np.stack([terms.terms[t][g, js] for t in TERMS], axis=1) if len(js) else np.zeros((0, len(TERMS)))


def _shown(v: float) -> tuple[float, float]:
    """A log-odds as shown and its odds multiplier."""
    return round(v, 6), float(f"{math.exp(v):.6g}")


_shown_memo = functools.lru_cache(maxsize=1 << 16)(_shown)   # a zero's sign is its own: never from it


@functools.lru_cache(maxsize=1 << 16)
def _why_words(label: str, v: float) -> str:
    """A term's words in ``why``."""
    return f"x{math.exp(v):.2f} {label}"


@dataclass(frozen=True)
class Shown:
    """Log-odds as a person reads them, each distinct value worded once: rounded to 6 decimals,
    and its odds multiplier to 6 significant digits (``index``: each cell's distinct value;
    a zero's sign is the cell's own: ``cells``)."""

    values: np.ndarray
    index: np.ndarray
    log_odds: np.ndarray
    odds: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray) -> Shown:
        distinct, index = np.unique(values, return_inverse=True)
        pairs = [_shown_memo(v) if v != 0.0 else _shown(v) for v in distinct.tolist()]
        lo, om = np.array(pairs, dtype=float).reshape(len(pairs), 2).T
        return cls(values, index.reshape(values.shape), lo.copy(), om.copy())

    def cells(self) -> tuple[list[list[float]], list[list[float]]]:
        """(log-odds, odds multiplier) of every cell; a zero keeps its sign."""
        lo = np.where(self.values == 0.0, self.values, self.log_odds[self.index])
        return lo.tolist(), self.odds[self.index].tolist()


def text_rows(texts: dict[str, tuple[np.ndarray, np.ndarray]]) -> tuple[list[list[str]], list[list[str]]]:
    """``term_texts``' bases and evidence as (n, T) rows."""
    if not len(texts[TERMS[0]][0]):
        return [], []
    return tuple(np.stack([texts[t][i] for t in TERMS], axis=1).tolist() for i in (0, 1))  # type: ignore[return-value]


def contribution_rows(log_odds: list[list[Any]], odds: list[list[Any]], bases: list[list[str]], evidence: list[list[str]]) -> list[list[dict[str, Any]]]:
    """Per program, every term as a mapping: term, log_odds, odds_multiplier, basis, evidence."""
    return [
        [{"term": t, "log_odds": lo, "odds_multiplier": om, "basis": b, "evidence": e} for t, lo, om, b, e in zip(TERMS, *row, strict=True)]
        for row in zip(log_odds, odds, bases, evidence, strict=True)
    ]


def contributions_of(terms: Terms, c: Coefficients, a: Applicants, ps: Programs, g: int, js: Any) -> list[list[dict[str, Any]]]:
    """Every term of applicant g at each program j of ``js``: log-odds, odds multiplier, basis,
    evidence. The log-odds add up exactly to the logit."""
    js = np.asarray(list(js), dtype=np.intp)
    lo, om = Shown.of(term_values(terms, g, js)).cells()
    return contribution_rows(lo, om, *text_rows(term_texts(terms, c, a, ps, g, js)))


def contributions(terms: Terms, c: Coefficients, a: Applicants, ps: Programs, g: int, j: int) -> list[dict[str, Any]]:
    """Every term of applicant g at program j (``contributions_of`` for one program)."""
    return contributions_of(terms, c, a, ps, g, [j])[0]


def why(contribs: list[dict[str, Any]], offset: float, top: int = 4) -> str:
    """The terms that move the chance most, as odds multipliers ('x0.45 failed attempts'); the
    baseline shows as the program's openness against the average program (``offset`` is the
    calibration offset every program shares)."""
    log_odds = np.array([[x["log_odds"] for x in contribs]], dtype=float).reshape(1, len(contribs))
    return why_rows(log_odds, offset, top, tuple(x["term"] for x in contribs))[0]


def why_rows(log_odds: np.ndarray, offset: float, top: int = 4, terms: tuple[str, ...] = TERMS) -> list[str]:
    """``why`` of several programs at once: ``log_odds`` (n programs x ``terms``) as shown. A
    term shows when it moves the log-odds by 0.01 or more, largest first (ties in term order)."""
    labels = ["openness to IMGs" if t == "baseline" else TERM_LABEL[t] for t in terms]
    value = log_odds - np.array([offset if t == "baseline" else 0.0 for t in terms])
    keep = np.abs(value) >= 0.01
    order = np.argsort(np.where(keep, -np.abs(value), np.inf), axis=1, kind="stable")[:, :top]
    # The terms kept come first in each row's order: each row's words are its first ``kept``.
    kept = np.minimum(keep.sum(axis=1), order.shape[1]).tolist()
    # Each distinct (term, value) among the cells worded once (a value often repeats across
    # programs), and read from a memo of (label, value) across calls.
    cells, where = np.unique(order + 1j * np.take_along_axis(value, order, axis=1), return_inverse=True)
    said = [_why_words(labels[i], v) for i, v in zip(cells.real.astype(int).tolist(), cells.imag.tolist(), strict=True)]
    rows = np.array(said, dtype=object)[where.reshape(order.shape)].tolist() if said else [[]] * len(kept)
    return [", ".join(row[:m]) or "as the typical applicant at the average program" for row, m in zip(rows, kept, strict=True)]


def cautions(a: Applicants, ps: Programs, g: int, j: int) -> list[str]:
    """What to check before applying to program j."""
    return caution_lists(a, ps, g, [j])[0]


def _program_cautions(ps: Programs) -> list[tuple[str, ...]]:
    """The cautions that read the program only (ECFMG, USCE policy, a preferred graduation
    window), per program: once per version (cached on ``ps``)."""
    hit = ps.__dict__.get("_cautions")
    if hit is None:
        rows = zip(ps.ecfmg_required.tolist(), ps.usce_policy.tolist(), ps.yog_tolerance.tolist(), strict=True)
        hit = ps.__dict__["_cautions"] = [tuple(filter(None, (
            "the program requires ECFMG certification" if ecfmg else "",
            f"the program states USCE {usce}" if usce else "",
            "the program states a preferred graduation window" if yog == "stated_preference" else "",
        ))) for ecfmg, usce, yog in rows]
    return hit


def caution_lists(a: Applicants, ps: Programs, g: int, js: Any) -> list[list[str]]:
    """What applicant g should check before applying to each program of ``js``, in order: the
    visa's, the applicant's own, the program's, the 2016 minimums'."""
    js = np.asarray(js, dtype=np.intp)
    need = str(a.visa_need[g])
    none = [""] * len(js)
    visa = none
    if need != "none":
        unknown = f"{VISA_LABEL[need]} sponsorship unknown: confirm with the program"
        visa = [unknown if s == "unknown" else "" for s in visa_state(ps, need)[js].tolist()]
    own = "H-1B: many H-1B programs require Step 3 passed" if need == "h1b" and not a.step3_passed[g] else ""
    minimums = []
    for step, mins, score in (("Step 2 CK", ps.step2_min_2016[js], a.step2ck[g]), ("Step 1", ps.step1_min_2016[js], a.step1[g])):
        with np.errstate(invalid="ignore"):
            below = (mins == mins) & (score < mins)
        minimums.append([
            f"2016 FREIDA listed a {step} minimum of {m:.0f} (dated: confirm the current policy)" if b else ""
            for m, b in zip(mins.tolist(), below.tolist(), strict=True)
        ] if below.any() else none)
    programs = _program_cautions(ps)
    return [[x for x in (v, own, *programs[j], ck, s1) if x] for v, j, ck, s1 in zip(visa, js.tolist(), *minimums, strict=True)]


def caution_texts(a: Applicants, ps: Programs, g: int, js: Any) -> list[str]:
    """``caution_lists``, each '; '-joined."""
    return ["; ".join(row) for row in caution_lists(a, ps, g, js)]


def exclusion_reasons(terms: Terms, j: int, g: int = 0) -> list[str]:
    """Why applicant g is excluded at program j, one reason per exclusion (none when eligible)."""
    return [EXCLUSION_TEXT[k] for k, v in terms.excluded.items() if v[g, j]]


def exclusion_texts(terms: Terms, g: int = 0, js: Any = None) -> np.ndarray:
    """``exclusion_reasons`` of applicant g at every program (or at the programs ``js``), at
    once, '; '-joined: (P,) (or (len(js),)) objects."""
    js = slice(None) if js is None else np.asarray(js, dtype=np.intp)
    out = np.full(terms.shape[1] if isinstance(js, slice) else len(js), "", dtype=object)
    for k, v in terms.excluded.items():
        hit = np.asarray(v[g][js], dtype=bool)
        if hit.any():
            out[hit] = np.where(out[hit] == "", EXCLUSION_TEXT[k], out[hit] + "; " + EXCLUSION_TEXT[k])
    return out
