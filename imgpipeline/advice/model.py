"""The interview-chance model: P(interview) for every applicant x program, with its reasons.

    logit P = calibration + openness_j + sum of the applicant-program terms

Everything the model needs is published at each refresh (``program_openness``: one row per
program; ``interview_coefficients``: one row per constant), so an app can compute any
applicant's chance from the Parquet alone; this module is the package's reference
implementation, used by the refresh (the per-tier table), ``recommend`` and the batch flow.

``Terms`` keeps every log-odds contribution as its own array, so the reasons add up exactly to
the logit; hard exclusions are kept apart (P = 0, reason said). Imports neither Prefect, GX nor
scikit-learn: this is what an applicant waits on.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from imgpipeline.vocabulary import BANDS, INTERVIEW_TERMS, PROGRAM_TIERS, YOG_LEVELS

TERMS = INTERVIEW_TERMS
EXCLUSIONS = ("excluded_visa", "excluded_failed_attempts", "excluded_yog", "excluded_imgs", "excluded_military")
EXCLUSION_TEXT = {
    "excluded_visa": "needed visa not sponsored",
    "excluded_failed_attempts": "states it excludes failed attempts",
    "excluded_yog": "states a graduation window you are beyond",
    "excluded_imgs": "states it does not consider IMGs",
    "excluded_military": "military program (fills its positions with service members)",
}


# --------------------------------------------------------------------------------------------
# The published inputs: coefficients and the program side.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coefficients:
    """``interview_coefficients`` as a mapping term -> value, with typed accessors."""

    values: dict[str, float]

    def __getitem__(self, term: str) -> float:
        try:
            return self.values[term]
        except KeyError:
            raise KeyError(f"interview_coefficients has no term {term!r}") from None

    @classmethod
    def from_table(cls, table: pd.DataFrame) -> Coefficients:
        return cls({str(t): float(v) for t, v in zip(table["term"], table["value"], strict=True)})


def _col(df: pd.DataFrame, name: str, dtype: type = float, fill: object = np.nan) -> np.ndarray:
    s = df[name]
    if dtype is bool:
        return s.astype("boolean").fillna(bool(fill)).to_numpy(dtype=bool)
    if dtype is object:
        return s.astype("object").where(s.notna(), fill).to_numpy(dtype=object)
    return pd.to_numeric(s, errors="coerce").astype(float).to_numpy(dtype=float, na_value=np.nan)


def _joined(df: pd.DataFrame, name: str, sep: str = "; ") -> np.ndarray:
    """A ``list<string>`` column as one text per row, its items ``sep``-joined (empty for an
    empty or missing list): the words the explanations quote. A version published before the
    column was a list holds the joined text already: it is kept as it is."""
    def one(v: Any) -> str:
        if isinstance(v, str):
            return v
        return "" if v is None or isinstance(v, float) else sep.join(map(str, v))

    return np.array([one(v) for v in df[name]], dtype=object)


@dataclass
class Programs:
    """``program_openness`` as per-program arrays (length P), read once per version."""

    table: pd.DataFrame
    acgme_id: np.ndarray
    openness: np.ndarray
    openness_low: np.ndarray
    openness_high: np.ndarray
    program_bonus: np.ndarray
    selectivity: np.ndarray
    tier_idx: np.ndarray
    visa_j1: np.ndarray
    visa_h1b: np.ndarray
    yog_tolerance: np.ndarray
    yog_limit: np.ndarray
    usce_policy: np.ndarray
    usce_months: np.ndarray
    excludes_failures: np.ndarray
    excludes_imgs: np.ndarray
    military: np.ndarray
    step1_min_2016: np.ndarray
    step2_min_2016: np.ndarray
    openness_basis: np.ndarray
    openness_evidence: np.ndarray
    bonus_reasons: np.ndarray         # program_bonus_reasons, '; '-joined ("" for none)
    ecfmg_required: np.ndarray
    visa_either: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))

    def __post_init__(self) -> None:
        self.visa_either = _better_visa(self.visa_j1, self.visa_h1b)

    @property
    def n(self) -> int:
        return len(self.acgme_id)

    @classmethod
    def from_table(cls, t: pd.DataFrame) -> Programs:
        t = t.reset_index(drop=True)
        tiers = t["program_tier"].astype(str).to_numpy()
        return cls(
            table=t,
            acgme_id=t["acgme_id"].astype(str).to_numpy(dtype=object),
            openness=_col(t, "openness"),
            openness_low=_col(t, "openness_low"),
            openness_high=_col(t, "openness_high"),
            program_bonus=np.nan_to_num(_col(t, "program_bonus")),
            selectivity=np.nan_to_num(_col(t, "selectivity")),
            tier_idx=np.array([PROGRAM_TIERS.index(x) for x in tiers], dtype=np.int8),
            visa_j1=_col(t, "visa_j1", object, "unknown"),
            visa_h1b=_col(t, "visa_h1b", object, "unknown"),
            yog_tolerance=_col(t, "yog_tolerance", object, "unknown"),
            yog_limit=_col(t, "yog_limit_years"),
            usce_policy=_col(t, "usce_policy", object, ""),
            usce_months=_col(t, "usce_months"),
            excludes_failures=_col(t, "excludes_failed_attempts", bool, False),
            excludes_imgs=_col(t, "excludes_imgs", bool, False),
            military=_col(t, "military", bool, False),
            step1_min_2016=_col(t, "step1_min_2016"),
            step2_min_2016=_col(t, "step2_min_2016"),
            openness_basis=_col(t, "openness_basis", object, "unknown"),
            openness_evidence=_col(t, "openness_evidence", object, ""),
            bonus_reasons=_joined(t, "program_bonus_reasons"),
            ecfmg_required=_col(t, "ecfmg_required", bool, False),
        )


# --------------------------------------------------------------------------------------------
# The applicant side: derived columns as float arrays (nan = not stated).
# --------------------------------------------------------------------------------------------


# The applicant values ``Applicants._build`` reads as numbers (nan: not stated).
_NUMBER_FIELDS = (
    "step2ck_score", "step1_score", "step1_failures", "usmle_failures", "years_since_graduation",
    "usce_hands_on_months", "usce_observership_months", "us_im_letters", "recent_clinical_work", "unexplained_gaps",
)


@dataclass
class Applicants:
    """The derived applicant columns the model reads (length G), nan where not stated."""

    step2ck: np.ndarray
    step1: np.ndarray
    step1_failures: np.ndarray
    failures: np.ndarray
    years: np.ndarray
    hands_on: np.ndarray
    observership: np.ndarray
    letters: np.ndarray
    recent_clinical: np.ndarray   # 1 / 0 / nan
    gaps: np.ndarray              # 1 / 0 / nan
    visa_need: np.ndarray         # object: none / j1 / h1b / either
    step3_passed: np.ndarray      # bool
    service_member: np.ndarray    # bool

    @property
    def n(self) -> int:
        return len(self.step2ck)

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> Applicants:
        def f(name: str) -> np.ndarray:
            if name not in df:
                return np.full(len(df), np.nan)
            col = df[name]
            if pd.api.types.is_integer_dtype(col.dtype) or pd.api.types.is_float_dtype(col.dtype):
                return col.to_numpy(dtype=float, na_value=np.nan)  # already numbers: the same floats, one conversion
            return pd.to_numeric(col, errors="coerce").astype(float).to_numpy(dtype=float, na_value=np.nan)

        def b(name: str) -> np.ndarray:
            if name not in df:
                return np.zeros(len(df), dtype=bool)
            return df[name].astype("boolean").fillna(False).to_numpy(dtype=bool)

        def tri(name: str) -> np.ndarray:
            if name not in df:
                return np.full(len(df), np.nan)
            s = df[name].astype("boolean")
            return np.where(s.isna(), np.nan, s.fillna(False).astype(float))

        return cls._build(f, b, tri, df["visa_need"].astype(str).to_numpy(dtype=object))

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]]) -> Applicants:
        """``from_frame`` for typed values (``applicant.applicant_values``), without a frame: the
        numbers ``_build`` reads converted at once (one (G, k) array, None as nan)."""
        table = np.array([[r.get(name) for name in _NUMBER_FIELDS] for r in rows], dtype=float).reshape(len(rows), len(_NUMBER_FIELDS))
        columns = {name: table[:, k] for k, name in enumerate(_NUMBER_FIELDS)}

        def b(name: str) -> np.ndarray:
            return np.array([bool(r.get(name)) for r in rows], dtype=bool)

        # Values are already typed: a yes/no/unknown field reads as 1 / 0 / nan, as a number.
        return cls._build(columns.__getitem__, b, columns.__getitem__, np.array([str(r["visa_need"]) for r in rows], dtype=object))

    @classmethod
    def _build(cls, f: Any, b: Any, tri: Any, visa_need: np.ndarray) -> Applicants:
        """The arrays from a reader of numbers (``f``), of flags (``b``) and of yes/no/unknown
        fields (``tri``), whatever the rows come from."""
        return cls(
            step2ck=f("step2ck_score"),
            step1=f("step1_score"),
            step1_failures=nan_to(f("step1_failures")),
            failures=nan_to(f("usmle_failures")),
            years=f("years_since_graduation"),
            hands_on=f("usce_hands_on_months"),
            observership=f("usce_observership_months"),
            letters=f("us_im_letters"),
            recent_clinical=tri("recent_clinical_work"),
            gaps=tri("unexplained_gaps"),
            visa_need=visa_need,
            step3_passed=b("step3_passed"),
            service_member=b("service_member"),
        )

    def take(self, idx: np.ndarray | slice) -> Applicants:
        return Applicants(**{k: v[idx] for k, v in vars(self).items()})

    def with_visa(self, need: str) -> Applicants:
        """The same applicants with another visa need (what J-1 flexibility would open)."""
        return replace(self, visa_need=np.full(self.n, need, dtype=object))


# --------------------------------------------------------------------------------------------
# The terms: each a (G, P) array of log-odds (or broadcastable to it).
# --------------------------------------------------------------------------------------------


@dataclass
class Terms:
    """Every log-odds contribution (``TERMS``) and every exclusion (``EXCLUSIONS``) for G
    applicants x P programs; ``logit`` is their sum, ``p`` the chance (0 where excluded)."""

    terms: dict[str, np.ndarray]
    excluded: dict[str, np.ndarray]
    shape: tuple[int, int]

    @property
    def logit(self) -> np.ndarray:
        out = np.zeros(self.shape)
        for v in self.terms.values():
            out += v   # in place: the same sums, term by term, without a new array per term
        return out

    @property
    def any_excluded(self) -> np.ndarray:
        out = np.zeros(self.shape, dtype=bool)
        for v in self.excluded.values():
            out |= v
        return out

    @property
    def p(self) -> np.ndarray:
        return np.where(self.any_excluded, 0.0, sigmoid(self.logit))


def nan_to(x: np.ndarray, value: float = 0.0) -> np.ndarray:
    """``np.nan_to_num(x, nan=value)``, without its cost on a few values: a copy with nan
    replaced (``np.nan_to_num`` itself where ``x`` is not float or holds an infinity)."""
    if x.dtype.kind != "f":
        return np.nan_to_num(x, nan=value)
    out = np.where(np.isnan(x), value, x)
    return out if not np.isinf(out).any() else np.nan_to_num(x, nan=value)


def _full(x: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``np.broadcast_to(x, shape)``: a read-only view (of ``x`` itself when it has that shape
    already, without the broadcast's cost)."""
    if x.shape != shape:
        return np.broadcast_to(x, shape)
    view = x.view()
    view.flags.writeable = False
    return view


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))


@dataclass(frozen=True)
class ProgramSide:
    """The parts of the terms that read only the programs and the coefficients (per-program
    arrays), computed once per version (``program_side``): an applicant's terms then cost a
    few array operations."""

    coefficients: Coefficients
    baseline: np.ndarray            # (1, P) calibration + openness
    step2ck_weight: np.ndarray      # (P,) 1 + interaction x selectivity
    yog_older: np.ndarray           # (P,) the term of an older graduate, by YOG tolerance
    yog_limited: np.ndarray         # (P,) a stated required window
    usce_need: np.ndarray           # (P,) months a USCE policy asks for (1 if not stated)
    usce_policy: np.ndarray         # (P,) the term of being short of it
    visa: dict[tuple[str, bool], tuple[np.ndarray, np.ndarray]]   # (need, exclude inferred) -> (excluded, unknown term)
    h1b_yes: np.ndarray             # (P,) the H-1B-without-Step-3 term where H-1B is sponsored


def program_side(c: Coefficients, ps: Programs) -> ProgramSide:
    """``ps``' program side for ``c``, cached on ``ps`` (one per version in practice)."""
    hit = ps.__dict__.get("_side")
    if hit is not None and hit.coefficients is c:
        return hit
    per_level = np.array([c[f"yog_{lv}"] if lv != "stated_limit" else c["yog_unknown"] for lv in YOG_LEVELS])
    level_idx = np.array([YOG_LEVELS.index(lv) if lv in YOG_LEVELS else YOG_LEVELS.index("unknown") for lv in ps.yog_tolerance], dtype=np.intp)
    visa = {}
    for need in ("j1", "h1b", "either"):
        state = visa_state(ps, need)
        for inferred in (True, False):
            no = (state == "no") | ((state == "no_inferred") & inferred)
            unknown = (state == "unknown") | ((state == "no_inferred") & (not inferred))
            visa[(need, inferred)] = (no, np.where(unknown, c["visa_unknown"], 0.0))
    side = ProgramSide(
        coefficients=c,
        baseline=(c["calibration_offset"] + ps.openness)[None, :],
        step2ck_weight=1.0 + c["step2ck_selectivity_interaction"] * ps.selectivity,
        yog_older=per_level[level_idx],
        yog_limited=ps.yog_tolerance == "stated_limit",
        usce_need=np.where(np.isnan(ps.usce_months), 1.0, ps.usce_months),
        usce_policy=np.where(ps.usce_policy == "required", c["usce_required_short"],
                             np.where(ps.usce_policy == "preferred", c["usce_preferred_short"], 0.0)),
        visa=visa,
        h1b_yes=np.where(visa_state(ps, "h1b") == "yes", c["h1b_without_step3"], 0.0),
    )
    ps.__dict__["_side"] = side
    return side


def _step2ck(c: Coefficients, a: Applicants, side: ProgramSide) -> np.ndarray:
    """Graded Step 2 CK around the reference, costing (and earning) more at selective
    programs; not taken = the reference (0)."""
    delta = nan_to(a.step2ck - c["step2ck_reference"])
    return c["step2ck_per_point"] * delta[:, None] * side.step2ck_weight[None, :]


def _minimums(c: Coefficients, a: Applicants, ps: Programs) -> np.ndarray:
    """Below a Step minimum the program stated in 2016 (dated evidence, never excluding)."""
    with np.errstate(invalid="ignore"):
        ck = a.step2ck[:, None] < ps.step2_min_2016[None, :]
        s1 = a.step1[:, None] < ps.step1_min_2016[None, :]
    return c["below_2016_step2_minimum"] * ck + c["below_2016_step1_minimum"] * s1


def _failures(c: Coefficients, a: Applicants) -> np.ndarray:
    """First failure, then each further one; a Step 1 failure partly offset by a strong CK."""
    n = a.failures
    raw = np.where(n >= 1, c["first_failure"], 0.0) + c["further_failure"] * np.maximum(n - 1, 0)
    strong = nan_to(a.step2ck, -1) >= c["step1_failure_offset_ck"]
    step1_share = np.where(n > 0, np.minimum(a.step1_failures, n) / np.maximum(n, 1), 0.0)
    relief = np.where(strong, step1_share * (1.0 - c["step1_failure_offset_fraction"]), 0.0)
    return (raw * (1.0 - relief))[:, None]


def _older(c: Coefficients, a: Applicants) -> np.ndarray:
    """Graduated longer ago than the coefficients' YOG threshold (not stated: no)."""
    return nan_to(a.years) > c["yog_after_years"]


def _yog(c: Coefficients, a: Applicants, side: ProgramSide) -> np.ndarray:
    """Older graduates by the program's tolerance (beyond a stated required window excludes:
    ``exclusions``)."""
    older = _older(c, a)
    return np.where(older[:, None], side.yog_older[None, :], 0.0)


def usce_own(c: Coefficients, a: Applicants) -> np.ndarray:
    """The applicant's own USCE term (G,): none, observerships only, strong; not stated = 0."""
    hands = a.hands_on
    total = hands + nan_to(a.observership)
    stated = ~np.isnan(hands)
    return np.where(
        stated & (total <= 0), c["no_usce"],
        np.where(stated & (hands <= 0), c["observership_only"],
                 np.where(stated & (hands >= c["usce_hands_on_months_strong"]), c["usce_strong"], 0.0)),
    )


def _usce(c: Coefficients, a: Applicants, side: ProgramSide) -> tuple[np.ndarray, np.ndarray]:
    """The applicant's USCE (not stated = 0) and a program's stated requirement."""
    hands = a.hands_on
    stated = ~np.isnan(hands)
    own = usce_own(c, a)
    with np.errstate(invalid="ignore"):
        short = stated[:, None] & (hands[:, None] < side.usce_need[None, :])
    return own[:, None], np.where(short, side.usce_policy[None, :], 0.0)


def _visa(a: Applicants, side: ProgramSide, P: int, exclude_inferred: bool, excluded: bool = False) -> np.ndarray:
    """Per visa need: unknown sponsorship costs, H-1B without Step 3 too; (``excluded``) where
    the need is not sponsored: excluded."""
    out = np.zeros((a.n, P), dtype=bool if excluded else float)
    for need in ("j1", "h1b", "either"):
        rows = a.visa_need == need
        if not rows.any():
            continue
        no, t = side.visa[(need, exclude_inferred)]
        out[rows] = (no if excluded else t)[None, :]
        if need == "h1b" and not excluded:
            no_step3 = rows & ~a.step3_passed
            out[no_step3] += side.h1b_yes[None, :]
    return out


def visa_state(ps: Programs, need: str) -> np.ndarray:
    """yes / no / no_inferred / unknown for one visa need ('either': the better of the two)."""
    return {"j1": ps.visa_j1, "h1b": ps.visa_h1b, "either": ps.visa_either}[need]


def _better_visa(j: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Per program, the better of two sponsorship states: yes, then unknown, then no, then
    no_inferred."""
    order = ("yes", "unknown", "no", "no_inferred")
    rank = {s: i for i, s in enumerate(order)}
    return np.array([x if rank.get(x, 1) <= rank.get(y, 1) else y for x, y in zip(j, h, strict=True)], dtype=object)


def _stated(c: Coefficients, a: Applicants) -> dict[str, np.ndarray]:
    """Stated weaknesses only: a field left out adds 0."""
    with np.errstate(invalid="ignore"):
        few = a.letters < c["letters_min"]
    return {
        "letters": np.where(few, c["few_letters"], 0.0)[:, None],
        "recent_clinical": np.where(a.recent_clinical == 0, c["no_recent_clinical_work"], 0.0)[:, None],
        "gaps": np.where(a.gaps == 1, c["unexplained_gaps"], 0.0)[:, None],
    }


def applicant_parts(c: Coefficients, a: Applicants) -> dict[str, np.ndarray]:
    """The parts of the terms that read only the applicants, (G,) each, computed as
    ``compute_terms`` computes them: the Step 2 CK points before the program's weight, the
    failures, USCE, letters, recent-work and gaps terms, and whether the YOG term applies
    (``older``). The batch kernel combines them with the program side pair by pair."""
    stated = _stated(c, a)
    return {
        "step2ck": c["step2ck_per_point"] * nan_to(a.step2ck - c["step2ck_reference"]),
        "failures": _failures(c, a)[:, 0],
        "usce": usce_own(c, a),
        **{k: v[:, 0] for k, v in stated.items()},
        "older": _older(c, a),
    }


# The applicant's screens: weaknesses a program may screen on. The same programs tend to screen
# out the same applicants on several of them, so all but the largest count in part ("overlap").
SCREENS = ("failures", "yog", "usce", "letters", "recent_clinical", "gaps")


def _overlap(c: Coefficients, screens: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """Gives back the share ``screen_overlap`` of every negative screen term but the largest."""
    # The sum and the least of the negative terms, screen by screen in order: the same floats as
    # summing their stack over its first axis (NumPy adds along an outer axis one by one), without
    # broadcasting each screen to (G, P) first.
    neg = [np.minimum(s, 0.0) for s in screens]
    total, least = neg[0], neg[0]
    for x in neg[1:]:
        total, least = total + x, np.minimum(least, x)
    return -c["screen_overlap"] * _full(total - least, shape)


def compute_terms(c: Coefficients, ps: Programs, a: Applicants, *, exclude_inferred_visa: bool = True) -> Terms:
    """Every term and exclusion for ``a`` (G applicants) x ``ps`` (P programs)."""
    G, P = a.n, ps.n
    side = program_side(c, ps)
    yog = _yog(c, a, side)
    usce, policy = _usce(c, a, side)
    visa = _visa(a, side, P, exclude_inferred_visa)
    stated = _stated(c, a)
    terms = {
        "baseline": side.baseline,
        "program_facts": ps.program_bonus[None, :],
        "step2ck": _step2ck(c, a, side),
        "minimums_2016": _minimums(c, a, ps),
        "failures": _failures(c, a),
        "yog": yog,
        "usce": usce,
        "usce_policy": policy,
        **stated,
        "visa": visa,
    }
    terms["overlap"] = _overlap(c, [terms[k] for k in SCREENS], (G, P))
    terms = {k: _full(terms[k], (G, P)) for k in TERMS}
    return Terms(terms, exclusions(c, ps, a, exclude_inferred_visa=exclude_inferred_visa), (G, P))


def exclusions(c: Coefficients, ps: Programs, a: Applicants, *, exclude_inferred_visa: bool = True) -> dict[str, np.ndarray]:
    """Every hard exclusion (``EXCLUSIONS``) for ``a`` (G applicants) x ``ps`` (P programs):
    ``compute_terms``' exclusions, without the terms."""
    G, P = a.n, ps.n
    side = program_side(c, ps)
    with np.errstate(invalid="ignore"):
        beyond = (a.years[:, None] > ps.yog_limit[None, :]) & side.yog_limited[None, :]
    return {
        "excluded_visa": _visa(a, side, P, exclude_inferred_visa, excluded=True),
        "excluded_failed_attempts": (a.failures > 0)[:, None] & ps.excludes_failures[None, :],
        "excluded_yog": beyond,
        "excluded_imgs": np.broadcast_to(ps.excludes_imgs[None, :], (G, P)),
        "excluded_military": (~a.service_member)[:, None] & ps.military[None, :],
    }


def baseline_bounds(c: Coefficients, ps: Programs) -> tuple[np.ndarray, np.ndarray]:
    """The baseline term at the low and high ends of each program's openness interval."""
    return c["calibration_offset"] + ps.openness_low, c["calibration_offset"] + ps.openness_high


def band_of(p: np.ndarray, excluded: np.ndarray, likely: float, target: float) -> np.ndarray:
    """Band codes into ``BANDS`` (reach, target, likely, excluded) by P(interview)."""
    code = np.where(p >= likely, BANDS.index("likely"), np.where(p >= target, BANDS.index("target"), BANDS.index("reach")))
    return np.where(excluded, BANDS.index("excluded"), code).astype(np.int8)
