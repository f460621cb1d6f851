"""Per-tier program scores with their reasons.

A score says how reachable a program is for an applicant of a risk tier: a sum of
contributions (the tier's base, the program's tier, its IMG share, visa, YOG, USCE and stated
bonuses), each with its evidence and the basis of the feature it reads (stated / imputed /
inferred / unknown), bounded to 0-100. Hard exclusions (a needed visa not sponsored, a stated
exclusion of failed attempts, a stated YOG window, a stated refusal of IMGs) make a program
ineligible whatever its score. Weights live in the rulebook's ``scoring`` section.

Everything is column-wise (numpy over programs x applicants), imports neither Prefect nor GX,
and scores each distinct applicant key once: ``score_programs`` serves the published per-tier
table, ``recommend`` and a batch of 100k profiles alike.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from imgpipeline.applicant import APPLICANT_COLUMNS, VISA_LABEL, VISA_NEEDS
from imgpipeline.risk import TIERS, assess_frame
from imgpipeline.risk import rules as risk_rules
from imgpipeline.rulebook import rulebook_path, section

log = logging.getLogger(__name__)

PROGRAM_TIERS = ("community", "mid_tier_academic_hybrid", "highly_competitive_academic")
BANDS = ("reach", "target", "likely", "excluded")
REASON_BASES = ("stated", "imputed", "inferred", "unknown", "rulebook", "applicant")
FACTORS = (
    "base", "program_tier", "img_share", "visa", "yog", "usce",
    "new_program", "holistic_review", "imgs_welcome", "bounds",
)
# The applicant columns a score and its texts depend on: profiles equal on these score alike.
# (Failures enter only as "any failed attempt".)
KEY_COLUMNS = (
    "risk_tier", "visa_need", "usmle_failures", "years_since_graduation",
    "usce_hands_on_months", "step2ck_score", "step1_score", "ecfmg_certified", "step3_passed",
)
# Without texts (batch scoring) the score, band and exclusions depend on these alone.
SCORE_KEY_COLUMNS = KEY_COLUMNS[:5]

PerTier = dict[Literal["lower", "moderately_low", "high", "very_high"], float]


def _vector(per_tier: PerTier, what: str) -> np.ndarray:
    missing = set(TIERS) - set(per_tier)
    if missing:
        raise ValueError(f"{what}: no value for {sorted(missing)}")
    return np.array([per_tier[t] for t in TIERS], dtype=float)  # type: ignore[index]


class ProgramTierWeights(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    community: PerTier
    mid_tier_academic_hybrid: PerTier
    highly_competitive_academic: PerTier
    unknown_as: Literal["community", "mid_tier_academic_hybrid", "highly_competitive_academic"]

    def matrix(self) -> np.ndarray:
        """4 applicant tiers x 3 program tiers (PROGRAM_TIERS order)."""
        return np.column_stack([_vector(getattr(self, k), f"program_tier.{k}") for k in PROGRAM_TIERS])


class ImgShareWeights(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    saturation: float = Field(gt=0, le=1)
    max_penalty: PerTier
    unknown_fraction: float = Field(ge=0, le=1)
    imputed_weight: float = Field(ge=0, le=1)


class VisaWeights(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    exclude_inferred: bool
    unknown_points: float = Field(le=0)
    step3_caution_for_h1b: bool


class YogWeights(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    older_after_years: int = Field(ge=0)
    points_for_older: dict[str, float]

    @model_validator(mode="after")
    def _levels(self) -> YogWeights:
        need = {"likely_strict", "stated_preference", "unknown", "likely_tolerant", "stated_no_limit"}
        if set(self.points_for_older) != need:
            raise ValueError(f"yog.points_for_older must name exactly {sorted(need)}")
        if any(v > 0 for v in self.points_for_older.values()):
            raise ValueError("yog.points_for_older are penalties (<= 0)")
        return self


class UsceWeights(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    required: float = Field(le=0)
    preferred: float = Field(le=0)


class Bonuses(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    new_program: float = Field(ge=0)
    holistic_review: float = Field(ge=0)
    imgs_welcome: float = Field(ge=0)


class Bands(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    likely: float
    target: float

    @model_validator(mode="after")
    def _order(self) -> Bands:
        if not 0 <= self.target < self.likely <= 100:
            raise ValueError("bands: need 0 <= target < likely <= 100")
        return self


class ScoringRules(BaseModel):
    """The rulebook's ``scoring`` section, checked so a riskier tier can never score higher."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base: PerTier
    program_tier: ProgramTierWeights
    img_share: ImgShareWeights
    visa: VisaWeights
    yog: YogWeights
    usce: UsceWeights
    bonuses: Bonuses
    bands: Bands
    tier_profiles: dict[str, dict[str, Any]]

    @model_validator(mode="after")
    def _monotone(self) -> ScoringRules:
        base = _vector(self.base, "base")
        if np.any(np.diff(base) > 0) or base.min() < 0 or base.max() > 100:
            raise ValueError("base must be within 0-100 and never rise with risk")
        m = self.program_tier.matrix()
        if np.any(m > 0) or np.any(np.diff(m, axis=0) > 0):
            raise ValueError("program_tier penalties must be <= 0 and never shrink with risk")
        pen = _vector(self.img_share.max_penalty, "img_share.max_penalty")
        if np.any(pen > 0) or np.any(np.diff(pen) > 0):
            raise ValueError("img_share.max_penalty must be <= 0 and never shrink with risk")
        if set(self.tier_profiles) != set(TIERS):
            raise ValueError(f"tier_profiles must define {TIERS}")
        for tier, prof in self.tier_profiles.items():
            unknown = set(prof) - set(APPLICANT_COLUMNS)
            if unknown:
                raise ValueError(f"tier_profiles.{tier}: unknown applicant fields {sorted(unknown)}")
        return self


@functools.lru_cache(maxsize=1)
def rules() -> ScoringRules:
    return ScoringRules.model_validate(section("scoring"))


def rulebook_digest() -> str:
    """sha256 of the rulebook file the scores were computed with."""
    return hashlib.sha256(rulebook_path().read_bytes()).hexdigest()


# --------------------------------------------------------------------------------------------
# Program side: everything about the programs, computed once per feature table.
# --------------------------------------------------------------------------------------------


def _s(df: pd.DataFrame, col: str) -> pd.Series:
    """A column, or all-missing if the (optional) column is absent."""
    return df[col] if col in df.columns else pd.Series(pd.NA, index=df.index, dtype="object")


def _flag(series: pd.Series, value: bool) -> np.ndarray:
    """Where a nullable boolean is exactly ``value`` (missing is neither)."""
    return np.asarray(series.astype("boolean").eq(value).fillna(False), dtype=bool)


def _txt(series: pd.Series) -> np.ndarray:
    return np.asarray(series.astype("object").where(series.notna(), ""), dtype=object)


def _o(a: Any) -> np.ndarray:
    """Text arrays as Python objects, so ``+`` joins them element-wise."""
    return np.asarray(a, dtype=object)


@dataclass
class ProgramSide:
    """Per-program arrays the scorer reads (length P) and the evidence behind them."""

    features: pd.DataFrame
    acgme_id: np.ndarray
    tier_idx: np.ndarray
    tier_evidence: np.ndarray
    tier_basis: np.ndarray
    img_unfriendliness: np.ndarray
    img_evidence: np.ndarray
    img_basis: np.ndarray
    visa_state: dict[str, np.ndarray]   # code -> "yes" / "no" / "no_inferred" / "unknown"
    visa_basis: dict[str, np.ndarray]
    yog_level: np.ndarray
    yog_limit: np.ndarray               # float, nan where none
    yog_evidence: np.ndarray
    yog_basis: np.ndarray
    usce_policy: np.ndarray             # "required" / "preferred" / ""
    usce_months: np.ndarray             # float, nan where none
    usce_evidence: np.ndarray
    excludes_failures: np.ndarray
    failures_evidence: np.ndarray
    excludes_imgs: np.ndarray
    bonus: dict[str, np.ndarray]        # factor -> points per program
    bonus_evidence: dict[str, np.ndarray]
    bonus_basis: dict[str, np.ndarray]
    ecfmg_required: np.ndarray
    not_accepting: np.ndarray
    step2_min_2016: np.ndarray
    step1_min_2016: np.ndarray

    def __post_init__(self) -> None:
        # Text arrays made by np.where are fixed-width unicode; keep every text as objects.
        for name, value in list(vars(self).items()):
            if isinstance(value, np.ndarray) and value.dtype.kind == "U":
                setattr(self, name, _o(value))
            elif isinstance(value, dict):
                setattr(self, name, {k: _o(v) if isinstance(v, np.ndarray) and v.dtype.kind == "U" else v for k, v in value.items()})

    @property
    def n(self) -> int:
        return len(self.acgme_id)


def _quote(evidence: pd.DataFrame | None, feature: str, ids: pd.Series, fallback: np.ndarray) -> np.ndarray:
    """The evidence sentence of ``feature_evidence`` for each program, else ``fallback``."""
    if evidence is None or evidence.empty:
        return fallback
    ev = evidence[evidence["feature"] == feature].drop_duplicates("acgme_id").set_index("acgme_id")["evidence"]
    got = ids.map(ev)
    return np.where(got.notna(), got.astype("object"), fallback)


def prepare_programs(
    features: pd.DataFrame,
    evidence: pd.DataFrame | None = None,
    minimums_2016: pd.DataFrame | None = None,
    rules_: ScoringRules | None = None,
) -> ProgramSide:
    """Read ``program_features`` (and, optionally, ``feature_evidence`` for quotes and
    ``program_minimums_2016`` for stale minimums) into the scorer's per-program arrays."""
    r = rules_ or rules()
    f = features.reset_index(drop=True)
    ids = f["acgme_id"].astype(str)
    n = len(f)

    # Program tier (inferred by the features step; unknown counts as the rulebook's neutral tier).
    tier = _s(f, "tier").astype("object")
    known = tier.isin(PROGRAM_TIERS).to_numpy()
    tier_filled = np.where(known, tier.to_numpy(dtype=object), r.program_tier.unknown_as)
    tier_idx = np.array([PROGRAM_TIERS.index(t) for t in tier_filled], dtype=np.int64)
    reason = _txt(_s(f, "tier_reason"))
    tier_evidence = np.where(
        known,
        "program tier " + tier_filled.astype(object) + np.where(reason != "", ": " + reason, ""),
        f"program tier unknown: counted as {r.program_tier.unknown_as} (neutral)",
    )
    tier_basis = np.where(known, _txt(_s(f, "tier_basis")), "unknown")
    tier_basis = np.where(tier_basis == "", "inferred", tier_basis)

    # IMG share -> unfriendliness in [0, 1] (1: no IMGs), basis-aware.
    w = r.img_share
    share = pd.to_numeric(_s(f, "img_share"), errors="coerce").to_numpy(dtype=float)
    sbasis = _txt(_s(f, "img_share_basis"))
    sbasis = np.where(np.isnan(share), "unknown", np.where(sbasis == "", "stated", sbasis))
    raw = 1.0 - np.minimum(np.nan_to_num(share, nan=0.0) / w.saturation, 1.0)
    unfriendly = np.where(
        sbasis == "stated",
        raw,
        np.where(sbasis == "imputed", w.imputed_weight * raw + (1 - w.imputed_weight) * w.unknown_fraction, w.unknown_fraction),
    )
    low = pd.to_numeric(_s(f, "img_share_low"), errors="coerce").to_numpy(dtype=float)
    high = pd.to_numeric(_s(f, "img_share_high"), errors="coerce").to_numpy(dtype=float)
    share_txt = np.array([f"{x:.2f}" if not np.isnan(x) else "" for x in share], dtype=object)
    interval = np.array(
        [f" (interval {a:.2f}-{b:.2f})" if not (np.isnan(a) or np.isnan(b)) else "" for a, b in zip(low, high, strict=True)],
        dtype=object,
    )
    img_evidence = np.where(
        sbasis == "stated",
        "IMG share " + share_txt + " (FREIDA)",
        np.where(
            sbasis == "imputed",
            "IMG share " + share_txt + " imputed" + interval + f", counted at {w.imputed_weight:g} of its weight",
            f"IMG share unknown: neutral penalty ({w.unknown_fraction:g} of the maximum)",
        ),
    )

    # Visa sponsorship per code.
    visa_state: dict[str, np.ndarray] = {}
    visa_basis: dict[str, np.ndarray] = {}
    for code, col in (("j1", "sponsors_j1"), ("h1b", "sponsors_h1b")):
        val = _s(f, col)
        b = _txt(_s(f, f"{col}_basis"))
        yes, no = _flag(val, True), _flag(val, False)
        state = np.where(yes, "yes", np.where(no & (b == "inferred"), "no_inferred", np.where(no, "no", "unknown")))
        visa_state[code] = state
        visa_basis[code] = np.where(state == "unknown", "unknown", np.where(b == "", "stated", b))

    # YOG: stated window (required excludes, preferred penalises) or inferred tolerance.
    level = _txt(_s(f, "yog_tolerance"))
    level = np.where(level == "", "unknown", level)
    yog_limit = pd.to_numeric(_s(f, "yog_limit_years"), errors="coerce").to_numpy(dtype=float)
    yog_reason = _txt(_s(f, "yog_tolerance_reason"))
    yog_evidence = np.where(yog_reason != "", yog_reason, "YOG tolerance unknown")
    yog_basis = _txt(_s(f, "yog_tolerance_basis"))
    yog_basis = np.where(yog_basis == "", "unknown", yog_basis)

    # USCE policy.
    usce_policy = _txt(_s(f, "usce_policy"))
    usce_months = pd.to_numeric(_s(f, "usce_months"), errors="coerce").to_numpy(dtype=float)
    usce_fallback = np.where(
        usce_policy != "",
        "program states USCE " + usce_policy + np.array([f" ({m:g} months)" if not np.isnan(m) else "" for m in usce_months], dtype=object),
        "no stated USCE policy",
    )
    usce_evidence = _quote(evidence, "usce_policy", ids, usce_fallback)
    usce_evidence = np.where(usce_policy != "", usce_evidence, "no stated USCE policy")

    failed = _txt(_s(f, "failed_attempts_policy"))
    excludes_failures = np.isin(failed, ["not_considered", "first_attempt_required"])
    failures_evidence = _quote(evidence, "failed_attempts_policy", ids, "program states: failed attempts " + failed)

    welcome = _s(f, "imgs_welcome")
    excludes_imgs = _flag(welcome, False)

    # Bonuses: stated (or inferred for new programs) facts; unknown contributes nothing.
    bonus: dict[str, np.ndarray] = {}
    bonus_evidence: dict[str, np.ndarray] = {}
    bonus_basis: dict[str, np.ndarray] = {}
    first_year = pd.to_numeric(_s(f, "acgme_first_year"), errors="coerce")
    new = _flag(_s(f, "new_program"), True)
    bonus["new_program"] = np.where(new, r.bonuses.new_program, 0.0)
    bonus_evidence["new_program"] = np.where(
        new,
        "new program (in ACGME records since " + _fmt(first_year.to_numpy(dtype=float, na_value=np.nan)) + ")",
        np.where(_flag(_s(f, "new_program"), False), "not a new program", "program age unknown"),
    )
    bonus_basis["new_program"] = np.where(_txt(_s(f, "new_program_basis")) == "", "unknown", _txt(_s(f, "new_program_basis")))
    for name, says in (("holistic_review", "states holistic review"), ("imgs_welcome", "states IMGs are welcome")):
        yes = _flag(_s(f, name), True)
        bonus[name] = np.where(yes, getattr(r.bonuses, name), 0.0)
        quote = _quote(evidence, name, ids, np.full(n, says, dtype=object))
        stated = yes | (excludes_imgs if name == "imgs_welcome" else False)
        bonus_evidence[name] = _o(np.where(stated, quote, "not stated"))
        b = _txt(_s(f, f"{name}_basis"))
        bonus_basis[name] = np.where(b == "", "unknown", b)

    # Cautions' inputs.
    ecfmg_required = _flag(_s(f, "ecfmg_required"), True)
    not_accepting = _flag(_s(f, "accepting_2026_2027"), False)
    step2_min = np.full(n, np.nan)
    step1_min = np.full(n, np.nan)
    if minimums_2016 is not None and not minimums_2016.empty:
        mins = minimums_2016.drop_duplicates("acgme_id").set_index("acgme_id")
        if "step2_min_score" in mins:
            step2_min = pd.to_numeric(ids.map(mins["step2_min_score"]), errors="coerce").to_numpy(dtype=float)
        if "step1_min_score" in mins:
            step1_min = pd.to_numeric(ids.map(mins["step1_min_score"]), errors="coerce").to_numpy(dtype=float)

    return ProgramSide(
        features=f,
        acgme_id=ids.to_numpy(dtype=object),
        tier_idx=tier_idx,
        tier_evidence=tier_evidence,
        tier_basis=tier_basis,
        img_unfriendliness=unfriendly,
        img_evidence=img_evidence,
        img_basis=sbasis,
        visa_state=visa_state,
        visa_basis=visa_basis,
        yog_level=level,
        yog_limit=yog_limit,
        yog_evidence=yog_evidence,
        yog_basis=yog_basis,
        usce_policy=usce_policy,
        usce_months=usce_months,
        usce_evidence=usce_evidence,
        excludes_failures=excludes_failures,
        failures_evidence=failures_evidence,
        excludes_imgs=excludes_imgs,
        bonus=bonus,
        bonus_evidence=bonus_evidence,
        bonus_basis=bonus_basis,
        ecfmg_required=ecfmg_required,
        not_accepting=not_accepting,
        step2_min_2016=step2_min,
        step1_min_2016=step1_min,
    )



# --------------------------------------------------------------------------------------------
# Scoring: distinct applicant keys (G) x programs (P), as (G, P) arrays, in blocks of keys.
# --------------------------------------------------------------------------------------------

EXCLUSION_FLAGS = ("excluded_visa", "excluded_failed_attempts", "excluded_yog", "excluded_imgs")


@dataclass
class Scored:
    """Scores of the distinct applicant keys x programs.

    ``keys`` holds the distinct key rows (``KEY_COLUMNS``, or ``SCORE_KEY_COLUMNS`` without
    texts); ``applicant_key`` gives each input applicant row its key; ``scores`` has one row per
    key x program (``key`` indexes ``keys``, ``program`` the programs); ``reasons`` one row per
    key x program x factor."""

    keys: pd.DataFrame
    applicant_key: np.ndarray
    scores: pd.DataFrame
    reasons: pd.DataFrame | None


def _combine_visa(ps: ProgramSide, need: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For one visa need, per program: state (yes / no / no_inferred / unknown / notneeded),
    basis and evidence."""
    n = ps.n
    if need == "none":
        return _o(np.full(n, "notneeded")), _o(np.full(n, "applicant")), _o(np.full(n, "no visa needed"))
    if need in ("j1", "h1b"):
        st, b = ps.visa_state[need], ps.visa_basis[need]
        label = VISA_LABEL[need]
        ev = np.where(
            st == "yes", f"sponsors {label}",
            np.where(st == "no", f"does not sponsor {label}",
                     np.where(st == "no_inferred", f"does not list {label} (FREIDA lists no visa type)", f"{label} sponsorship unknown")),
        )
        return _o(st), _o(b), _o(ev)
    j, h = ps.visa_state["j1"], ps.visa_state["h1b"]
    yes = (j == "yes") | (h == "yes")
    unknown = ~yes & ((j == "unknown") | (h == "unknown"))
    inferred_no = ~yes & ~unknown & ((j == "no_inferred") | (h == "no_inferred"))
    st = np.where(yes, "yes", np.where(unknown, "unknown", np.where(inferred_no, "no_inferred", "no")))
    sponsored = _o(np.where(j == "yes", "J-1", "")) + _o(np.where((j == "yes") & (h == "yes"), " and ", "")) + _o(np.where(h == "yes", "H-1B", ""))
    ev = np.where(
        yes, "sponsors " + sponsored,
        np.where(unknown, "J-1 / H-1B sponsorship unknown",
                 np.where(inferred_no, "lists no visa (FREIDA lists no visa type)", "sponsors neither J-1 nor H-1B")),
    )
    b = np.where(yes & (j == "yes"), ps.visa_basis["j1"], np.where(yes, ps.visa_basis["h1b"], np.where(unknown, "unknown", ps.visa_basis["j1"])))
    return _o(st), _o(b), _o(ev)


def _fmt(values: np.ndarray) -> np.ndarray:
    return _o([f"{x:g}" if not np.isnan(x) else "?" for x in values])


def _join(parts: list[np.ndarray]) -> np.ndarray:
    """'; '-joined non-empty texts, element-wise."""
    out = _o(np.full(parts[0].shape, "")) if parts else _o([])
    for p in parts:
        out = out + np.where((out != "") & (p != ""), "; ", "") + p
    return out


def score_programs(
    ps: ProgramSide,
    applicants: pd.DataFrame,
    rules_: ScoringRules | None = None,
    with_reasons: bool = True,
    with_text: bool = True,
    block: int = 256,
) -> Scored:
    """Score every program for every applicant.

    ``applicants`` has the derived columns of ``applicant.applicant_frame`` (``risk_tier`` is
    added by ``risk.assess_frame`` if absent). Rows equal on ``KEY_COLUMNS`` are scored once,
    ``block`` keys at a time. ``with_text=False`` (batch scoring) leaves out the exclusion and
    caution texts and the reasons, keeping the scores, bands and exclusion flags."""
    r = rules_ or rules()
    apps = applicants
    if "risk_tier" not in apps.columns:
        apps = apps.assign(risk_tier=assess_frame(apps)["risk_tier"].to_numpy())
    cols = list(KEY_COLUMNS if with_text else SCORE_KEY_COLUMNS)
    missing = [c for c in cols if c not in apps.columns]
    if missing:
        raise ValueError(f"applicants lack {missing}")
    key_frame = apps[cols].reset_index(drop=True)
    key_frame["usmle_failures"] = (key_frame["usmle_failures"].astype("Float64").fillna(0) > 0).astype("int64")
    codes = key_frame.groupby(cols, dropna=False, sort=False).ngroup().to_numpy()
    first = ~pd.Series(codes).duplicated().to_numpy()
    keys = key_frame[first].reset_index(drop=True)
    for c in KEY_COLUMNS:
        if c not in keys.columns:
            keys[c] = pd.NA
    if not set(keys["visa_need"].astype(str)) <= set(VISA_NEEDS):
        raise ValueError(f"visa_need must be one of {VISA_NEEDS}")
    if not set(keys["risk_tier"].astype(str)) <= set(TIERS):
        raise ValueError(f"risk_tier must be one of {TIERS}")
    with_reasons = with_reasons and with_text
    scores, reasons = [], []
    for start in range(0, len(keys), block):
        sc, rs = _score_block(ps, keys.iloc[start : start + block], start, r, with_reasons, with_text)
        scores.append(sc)
        if rs is not None:
            reasons.append(rs)
    return Scored(
        keys=keys,
        applicant_key=codes,
        scores=pd.concat(scores, ignore_index=True),
        reasons=pd.concat(reasons, ignore_index=True) if with_reasons else None,
    )


def _score_block(
    ps: ProgramSide, keys: pd.DataFrame, offset: int, r: ScoringRules, with_reasons: bool, with_text: bool
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    G, P = len(keys), ps.n
    t = np.array([TIERS.index(x) for x in keys["risk_tier"]], dtype=np.int64)
    need = keys["visa_need"].astype(str).to_numpy()
    failures = keys["usmle_failures"].astype("Float64").fillna(0).to_numpy(dtype=float)
    yog = keys["years_since_graduation"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    hands_on = keys["usce_hands_on_months"].astype("Float64").fillna(0).to_numpy(dtype=float)
    ck = keys["step2ck_score"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    s1 = keys["step1_score"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    certified = keys["ecfmg_certified"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    step3 = keys["step3_passed"].astype("boolean").fillna(False).to_numpy(dtype=bool)

    c: dict[str, np.ndarray] = {}
    c["base"] = np.repeat(_vector(r.base, "base")[t][:, None], P, axis=1)
    c["program_tier"] = r.program_tier.matrix()[t[:, None], ps.tier_idx[None, :]]
    c["img_share"] = _vector(r.img_share.max_penalty, "img_share.max_penalty")[t][:, None] * ps.img_unfriendliness[None, :]

    visa_parts = {v: _combine_visa(ps, v) for v in set(need)}
    state = np.stack([visa_parts[v][0] for v in need])
    visa_excluded = (state == "no") | ((state == "no_inferred") & r.visa.exclude_inferred)
    visa_unknown = (state == "unknown") | ((state == "no_inferred") & (not r.visa.exclude_inferred))
    c["visa"] = np.where(visa_unknown, r.visa.unknown_points, 0.0)

    older = np.nan_to_num(yog, nan=0.0) > r.yog.older_after_years
    beyond = (yog[:, None] > ps.yog_limit[None, :]) & ~np.isnan(ps.yog_limit)[None, :]
    yog_excluded = beyond & (ps.yog_level == "stated_limit")[None, :]
    pref = ps.yog_level == "stated_preference"
    pts = r.yog.points_for_older
    level_pts = np.array([0.0 if lv in ("stated_limit", "stated_preference") else pts.get(lv, pts["unknown"]) for lv in ps.yog_level])
    c["yog"] = np.where(
        pref[None, :], np.where(beyond, pts["stated_preference"], 0.0),
        np.where(older[:, None], level_pts[None, :], 0.0),
    )

    needed = np.where(np.isnan(ps.usce_months), 1.0, np.maximum(ps.usce_months, 1.0))
    lacks = (hands_on[:, None] < needed[None, :]) & (ps.usce_policy != "")[None, :]
    policy_pts = np.where(ps.usce_policy == "required", r.usce.required, np.where(ps.usce_policy == "preferred", r.usce.preferred, 0.0))
    c["usce"] = np.where(lacks, policy_pts[None, :], 0.0)

    for name in ("new_program", "holistic_review", "imgs_welcome"):
        c[name] = np.repeat(ps.bonus[name][None, :], G, axis=0)
    if with_reasons:
        # The published points are rounded; the score is their exact sum.
        for k in c:
            c[k] = np.round(c[k], 2)
    raw = sum(c.values())
    score = np.clip(raw, 0.0, 100.0)
    c["bounds"] = score - raw

    fail_excluded = (failures[:, None] > 0) & ps.excludes_failures[None, :]
    img_excluded = np.repeat(ps.excludes_imgs[None, :], G, axis=0)
    eligible = ~(visa_excluded | yog_excluded | fail_excluded | img_excluded)
    band = np.where(~eligible, "excluded", np.where(score >= r.bands.likely, "likely", np.where(score >= r.bands.target, "target", "reach")))

    gi = np.repeat(np.arange(G), P)
    pi = np.tile(np.arange(P), G)
    if not with_text:
        # Lean rows for batch scoring: programs by index (and a categorical id), no texts.
        lean = pd.DataFrame(
            {
                "key": (gi + offset).astype(np.int64),
                "program": pi.astype(np.int32),
                "acgme_id": pd.Categorical.from_codes(pi, categories=pd.Index(ps.acgme_id.astype(str))),
                "score": score.ravel(),
                "band": pd.Categorical(band.ravel(), categories=BANDS),
                "eligible": eligible.ravel(),
                "excluded_visa": visa_excluded.ravel(),
                "excluded_failed_attempts": fail_excluded.ravel(),
                "excluded_yog": yog_excluded.ravel(),
                "excluded_imgs": img_excluded.ravel(),
            }
        )
        return lean, None
    f = ps.features
    out = {
        "key": gi + offset,
        "program": pi,
        "acgme_id": ps.acgme_id[pi],
        "program_name": _s(f, "program_name").to_numpy(dtype=object)[pi],
        "state": _s(f, "state").to_numpy(dtype=object)[pi],
        "program_tier": np.array(PROGRAM_TIERS, dtype=object)[ps.tier_idx][pi],
        "img_share": pd.to_numeric(_s(f, "img_share"), errors="coerce").to_numpy(dtype=float)[pi],
        "img_share_basis": ps.img_basis[pi],
        "risk_tier": keys["risk_tier"].to_numpy(dtype=object)[gi],
        "visa_need": need[gi],
        "score": score.ravel(),
        "band": band.ravel(),
        "eligible": eligible.ravel(),
        "excluded_visa": visa_excluded.ravel(),
        "excluded_failed_attempts": fail_excluded.ravel(),
        "excluded_yog": yog_excluded.ravel(),
        "excluded_imgs": img_excluded.ravel(),
    }
    reasons = None
    shape = (G, P)

    def grid(a: np.ndarray) -> np.ndarray:
        return np.broadcast_to(_o(a), shape) if np.ndim(a) == 1 else _o(a)

    visa_ev = np.stack([visa_parts[v][2] for v in need])
    visa_basis = np.stack([visa_parts[v][1] for v in need])
    need_label = _o([VISA_LABEL[v] for v in need])[:, None]
    yog_txt = _fmt(yog)[:, None]
    lim_txt = _fmt(ps.yog_limit)[None, :]
    excl = _join([
        _o(np.where(visa_excluded, "visa: needs " + need_label + "; program " + visa_ev + " (" + visa_basis + ")", "")),
        _o(np.where(fail_excluded, "failed attempts: " + grid(ps.failures_evidence), "")),
        _o(np.where(yog_excluded, "YOG: " + yog_txt + " years since graduation; the program states graduation within " + lim_txt + " years (" + grid(ps.yog_evidence) + ")", "")),
        _o(np.where(img_excluded, "IMGs: the program states it does not consider them (" + grid(ps.bonus_evidence["imgs_welcome"]) + ")", "")),
    ])
    h1b_route = ((need == "h1b")[:, None] | ((need == "either")[:, None] & (ps.visa_state["j1"] != "yes")[None, :])) & (ps.visa_state["h1b"] == "yes")[None, :]
    caut = _join([
        _o(np.where(visa_unknown & ~visa_excluded, "visa sponsorship unknown: confirm with the program", "")),
        _o(np.where(h1b_route & ~step3[:, None] & r.visa.step3_caution_for_h1b, "H-1B: many H-1B programs require Step 3 passed", "")),
        _o(np.where(ps.ecfmg_required[None, :] & ~certified[:, None], "the program requires ECFMG certification", "")),
        _o(np.where(lacks, "the program states USCE " + grid(ps.usce_policy) + " (" + grid(ps.usce_evidence) + ")", "")),
        _o(np.where(pref[None, :] & beyond, "beyond the program's preferred graduation window (" + grid(ps.yog_evidence) + ")", "")),
        _o(np.where(ps.step2_min_2016[None, :] > ck[:, None], "2016 FREIDA listed a Step 2 CK minimum of " + _fmt(ps.step2_min_2016)[None, :] + ", above " + _fmt(ck)[:, None] + " (stale evidence, not current policy)", "")),
        _o(np.where(ps.step1_min_2016[None, :] > s1[:, None], "2016 FREIDA listed a Step 1 minimum of " + _fmt(ps.step1_min_2016)[None, :] + ", above " + _fmt(s1)[:, None] + " (stale evidence, not current policy)", "")),
        _o(np.where(ps.not_accepting[None, :], "FREIDA: not accepting applications for 2026-2027", "")),
    ])
    out["exclusion_reasons"] = excl.ravel()
    out["cautions"] = caut.ravel()
    if with_reasons:
        labels = {tt.id: tt.label for tt in risk_rules().tiers}
        tier_txt = _o([f"{labels[x]}: the tier's base" for x in keys["risk_tier"]])[:, None]
        yog_ev = np.where(
            yog_excluded, "excluded by the stated window: " + grid(ps.yog_evidence),
            np.where(
                older[:, None] | (pref[None, :] & beyond),
                yog_txt + " years since graduation; " + grid(ps.yog_evidence),
                yog_txt + f" years since graduation (not more than {r.yog.older_after_years}): no YOG adjustment",
            ),
        )
        usce_ev = np.where(lacks, "fewer hands-on USCE months than the program states: " + grid(ps.usce_evidence), grid(ps.usce_evidence))
        visa_txt = np.where((need == "none")[:, None], "no visa needed", "needs " + need_label + "; program " + visa_ev)
        visa_txt = np.where(visa_excluded, "excluded: " + visa_txt, visa_txt)
        evidence = {
            "base": np.broadcast_to(tier_txt, shape),
            "program_tier": grid(ps.tier_evidence),
            "img_share": grid(ps.img_evidence),
            "visa": visa_txt,
            "yog": yog_ev,
            "usce": usce_ev,
            "new_program": grid(ps.bonus_evidence["new_program"]),
            "holistic_review": grid(ps.bonus_evidence["holistic_review"]),
            "imgs_welcome": grid(ps.bonus_evidence["imgs_welcome"]),
            "bounds": np.where(c["bounds"] != 0, "score bounded to 0-100", "within 0-100"),
        }
        basis = {
            "base": np.full(shape, "rulebook", dtype=object),
            "program_tier": grid(ps.tier_basis),
            "img_share": grid(ps.img_basis),
            "visa": np.where((need == "none")[:, None], "applicant", visa_basis),
            "yog": np.where(older[:, None] | yog_excluded | (pref[None, :] & beyond), grid(ps.yog_basis), "applicant"),
            "usce": np.where(grid(ps.usce_policy) != "", "stated", "unknown"),
            "new_program": grid(ps.bonus_basis["new_program"]),
            "holistic_review": grid(ps.bonus_basis["holistic_review"]),
            "imgs_welcome": grid(ps.bonus_basis["imgs_welcome"]),
            "bounds": np.full(shape, "rulebook", dtype=object),
        }
        n = G * P
        reasons = pd.DataFrame(
            {
                "key": np.tile(out["key"], len(FACTORS)),
                "acgme_id": np.tile(out["acgme_id"], len(FACTORS)),
                "risk_tier": np.tile(out["risk_tier"], len(FACTORS)),
                "visa_need": np.tile(out["visa_need"], len(FACTORS)),
                "factor": np.repeat(_o(FACTORS), n),
                "points": np.concatenate([c[k].ravel() for k in FACTORS]),
                "evidence": np.concatenate([_o(evidence[k]).ravel() for k in FACTORS]),
                "basis": np.concatenate([_o(basis[k]).ravel() for k in FACTORS]),
            }
        )
        order = np.argsort(np.tile(np.arange(n), len(FACTORS)), kind="stable")
        reasons = reasons.iloc[order].reset_index(drop=True)
        out["contributions"] = _contributions_json(reasons, n)
    return pd.DataFrame(out), reasons


def _contributions_json(reasons: pd.DataFrame, n: int) -> np.ndarray:
    """The contributions of each key x program as a JSON list, in the order of the block's
    scores (``reasons`` holds len(FACTORS) consecutive rows per pair)."""
    frag = (
        '{"factor": ' + reasons["factor"].map(json.dumps)
        + ', "points": ' + reasons["points"].map(lambda x: json.dumps(round(float(x), 4)))
        + ', "basis": ' + reasons["basis"].map(json.dumps)
        + ', "evidence": ' + reasons["evidence"].map(json.dumps) + "}"
    ).to_numpy(dtype=object).reshape(n, len(FACTORS))
    return _o(["[" + ", ".join(row) + "]" for row in frag])


# --------------------------------------------------------------------------------------------
# The published per-tier tables and the validity report.
# --------------------------------------------------------------------------------------------


def tier_profiles(rules_: ScoringRules | None = None) -> pd.DataFrame:
    """The typical applicant of each tier (rulebook ``scoring.tier_profiles``), once per visa
    need the risk rules keep in that tier: a J-1 need makes a lower-risk applicant moderately
    low and an H-1B need makes anyone at least high, so those pairs are not published."""
    r = rules_ or rules()
    rows = []
    for tier in TIERS:
        for visa in VISA_NEEDS:
            row: dict[str, Any] = {col: None for col in APPLICANT_COLUMNS}
            row.update({"step2ck_taken": True, "step3_failures": 0, "recent_clinical_work": True, "unexplained_gaps": False})
            row.update(r.tier_profiles[tier])
            row["usce_total_months"] = (row.get("usce_hands_on_months") or 0) + (row.get("usce_observership_months") or 0)
            row["visa_need"] = visa
            row["profile_id"] = f"{tier}/{visa}"
            rows.append(row)
    typed = pd.DataFrame(rows)[list(APPLICANT_COLUMNS)].astype(APPLICANT_COLUMNS)
    typed["risk_tier"] = assess_frame(typed)["risk_tier"].to_numpy()
    intended = np.repeat(_o(TIERS), len(VISA_NEEDS))
    return typed[typed["risk_tier"].to_numpy() == intended].reset_index(drop=True)


def profile_text(row: pd.Series) -> str:
    """A tier profile in words, for the table and the docs."""
    parts = [f"Step 2 CK {row['step2ck_score']:g}" if pd.notna(row["step2ck_score"]) else "Step 2 CK not taken"]
    parts.append(f"{int(row['usmle_failures'])} failed attempt(s)")
    parts.append(f"{int(row['years_since_graduation'])} years since graduation")
    parts.append(f"{row['usce_hands_on_months']:g} months hands-on USCE")
    parts.append(f"visa: {VISA_LABEL[row['visa_need']]}")
    return ", ".join(parts)


@dataclass
class ScoreTables:
    """What the scoring step publishes, and the run-summary text."""

    program_scores: pd.DataFrame
    score_reasons: pd.DataFrame
    score_validity: pd.DataFrame
    summary_markdown: str


def build_program_scores(
    features: pd.DataFrame,
    evidence: pd.DataFrame | None = None,
    minimums_2016: pd.DataFrame | None = None,
) -> ScoreTables:
    """The published ``program_scores`` (one row per program x tier x visa need the tier
    admits), ``score_reasons`` (one row per factor of each) and ``score_validity``.

    ``evidence`` (``feature_evidence``) supplies the programs' own quotes; ``minimums_2016``
    (``program_minimums_2016``) the stale 2016 minimums behind cautions. Both are optional."""
    from imgpipeline.tables import TABLES

    ps = prepare_programs(features, evidence, minimums_2016)
    profiles = tier_profiles()
    scored = score_programs(ps, profiles)
    assert scored.reasons is not None
    text = {i: profile_text(scored.keys.iloc[i]) for i in range(len(scored.keys))}
    scores = scored.scores.assign(tier_profile=lambda d: d["key"].map(text), rulebook_sha256=rulebook_digest())
    prov = [col for col in features.columns if col.endswith(("_snapshot", "_as_of", "_sha256"))]
    if prov:
        scores = scores.merge(features[["acgme_id", *prov]].astype({"acgme_id": str}), on="acgme_id", how="left")
    program_scores = TABLES["program_scores"].coerce(scores.drop(columns=["key", "program"]))
    reasons = scored.reasons.drop(columns="key")
    if prov:
        reasons = reasons.merge(features[["acgme_id", *prov]].astype({"acgme_id": str}), on="acgme_id", how="left")
    score_reasons = TABLES["score_reasons"].coerce(reasons)
    validity, summary = validity_report(program_scores, score_reasons, features)
    # The checks read the whole version: they trace to the snapshots its features came from.
    for col in prov:
        values = features[col].dropna().unique()
        validity[col] = " + ".join(sorted(map(str, values)))
    return ScoreTables(program_scores, score_reasons, TABLES["score_validity"].coerce(validity), summary)


def _check(rows: list[dict[str, Any]], check: str, metric: str, value: float, *, tier: str = "all", visa: str = "all", expected: str = "", passed: bool | None = None, detail: str = "") -> None:
    rows.append({"check": check, "risk_tier": tier, "visa_need": visa, "metric": metric, "value": float(value), "expected": expected, "passed": passed, "detail": detail})


def validity_report(program_scores: pd.DataFrame, score_reasons: pd.DataFrame, features: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """What the real data can say about the scores: the ``score_validity`` rows and a Markdown
    summary for the run summary and the docs."""
    rows: list[dict[str, Any]] = []
    s = program_scores
    f = features.astype({"acgme_id": str}).set_index("acgme_id")

    # 1. Reasons add up to the score.
    sums = score_reasons.groupby(["acgme_id", "risk_tier", "visa_need"])["points"].sum()
    joined = s.set_index(["acgme_id", "risk_tier", "visa_need"])["score"]
    gap = float((sums.reindex(joined.index) - joined).abs().max())
    _check(rows, "reasons_sum_to_score", "max_abs_difference", gap, expected="< 1e-6", passed=gap < 1e-6)

    # 2. IMG-heavy visa sponsors vs low-IMG university programs, per tier (no visa need).
    share = pd.to_numeric(f["img_share"], errors="coerce")
    stated = f["img_share_basis"].eq("stated")
    heavy = f.index[stated & (share >= 0.5) & f["sponsors_j1"].astype("boolean").fillna(False) & f["sponsors_j1_basis"].eq("stated")]
    low_uni = f.index[stated & (share <= 0.10) & f["program_type"].eq("university")]
    for tier in TIERS:
        base = s[(s["risk_tier"] == tier) & (s["visa_need"] == "none")].set_index("acgme_id")["score"]
        a, b = base.reindex(heavy).mean(), base.reindex(low_uni).mean()
        _check(
            rows, "img_heavy_sponsors_beat_low_img_university", "mean_score_difference", a - b, tier=tier, visa="none",
            expected="> 0, growing with risk", passed=bool(a > b),
            detail=f"{len(heavy)} programs with stated IMG share >= 0.5 sponsoring J-1 (mean {a:.1f}) vs {len(low_uni)} university programs with stated IMG share <= 0.10 (mean {b:.1f})",
        )
    gaps = dict(zip(TIERS, (r["value"] for r in rows if r["check"] == "img_heavy_sponsors_beat_low_img_university"), strict=True))
    margin = min(gaps["high"], gaps["very_high"]) - max(gaps["lower"], gaps["moderately_low"])
    _check(
        rows, "img_heavy_advantage_larger_for_high_risk", "gap_margin", margin, expected="> 0", passed=margin > 0,
        detail="smallest gap of the high and very-high tiers minus the largest gap of the lower and moderately-low tiers",
    )

    # 3. Score rises with stated IMG share (rank correlation), per tier.
    for tier in TIERS:
        sub = s[(s["risk_tier"] == tier) & (s["visa_need"] == "none") & (s["img_share_basis"] == "stated")]
        rho = float(sub["score"].rank().corr(sub["img_share"].rank()))
        _check(rows, "score_rises_with_img_share", "spearman_rho", rho, tier=tier, visa="none", expected="> 0", passed=rho > 0, detail=f"{len(sub)} programs with a stated IMG share")

    # 4. Eligible share per tier and visa need; never rises with risk for the same need.
    elig = s.groupby(["visa_need", "risk_tier"])["eligible"].mean()
    for (visa, tier), v in elig.items():
        _check(rows, "eligible_share", "share_of_programs", v, tier=str(tier), visa=str(visa), detail=f"{int(round(v * s['acgme_id'].nunique()))} of {s['acgme_id'].nunique()} programs eligible")
    for visa in VISA_NEEDS:
        seq = [elig.get((visa, tier)) for tier in TIERS if (visa, tier) in elig.index]
        ok = all(x >= y - 1e-12 for x, y in zip(seq, seq[1:], strict=False))
        _check(rows, "eligible_share_never_rises_with_risk", "tiers_compared", len(seq), visa=visa, expected="non-increasing", passed=ok)

    # 5. Elite centres are reach for high-risk tiers; the band mix per tier.
    for tier in TIERS:
        sub = s[(s["risk_tier"] == tier) & (s["visa_need"] == "none")]
        for band in BANDS:
            _check(rows, "band_mix", f"share_{band}", float((sub["band"] == band).mean()), tier=tier, visa="none")
        elite = sub[sub["program_tier"] == "highly_competitive_academic"]
        if tier in ("high", "very_high"):
            share_reach = float(elite["band"].isin(["reach", "excluded"]).mean())
            _check(rows, "elite_centres_are_reach_for_high_risk", "share_reach", share_reach, tier=tier, visa="none", expected="= 1 (the article: 'minimal chance with low scores')", passed=share_reach == 1.0, detail=f"{len(elite)} highly competitive academic programs")

    # 6. Score distribution per tier (no visa need).
    for tier in TIERS:
        sc = s[(s["risk_tier"] == tier) & (s["visa_need"] == "none")]["score"]
        for q, name in ((0.1, "p10"), (0.5, "median"), (0.9, "p90")):
            _check(rows, "score_distribution", name, float(sc.quantile(q)), tier=tier, visa="none")
        _check(rows, "score_distribution", "mean", float(sc.mean()), tier=tier, visa="none")

    out = pd.DataFrame(rows)
    return out, _validity_markdown(out)


def _validity_markdown(v: pd.DataFrame) -> str:
    checks = v[v["passed"].notna()]
    failed = checks[checks["passed"] == False]  # noqa: E712
    lines = [f"{len(checks) - len(failed)} of {len(checks)} validity checks passed."]
    for _, r in failed.iterrows():
        lines.append(f"- FAILED {r['check']} ({r['risk_tier']}, {r['visa_need']}): {r['metric']} = {r['value']:.3f}, expected {r['expected']}")
    dist = v[v["check"] == "score_distribution"].pivot(index="risk_tier", columns="metric", values="value").reindex(list(TIERS))
    lines += ["", "| tier (no visa) | p10 | median | p90 | mean |", "|---|---|---|---|---|"]
    lines += [f"| {t} | {r['p10']:.1f} | {r['median']:.1f} | {r['p90']:.1f} | {r['mean']:.1f} |" for t, r in dist.iterrows()]
    elig = v[v["check"] == "eligible_share"].pivot(index="risk_tier", columns="visa_need", values="value").reindex(list(TIERS))
    cols = [c for c in VISA_NEEDS if c in elig.columns]
    lines += ["", "| eligible share | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    lines += [f"| {t} | " + " | ".join("" if pd.isna(r[c]) else f"{r[c]:.2f}" for c in cols) + " |" for t, r in elig.iterrows()]
    gap = v[v["check"] == "img_heavy_sponsors_beat_low_img_university"].set_index("risk_tier")
    lines += ["", "IMG-heavy J-1 sponsors minus low-IMG university programs (mean score): " + ", ".join(f"{t} {gap.loc[t, 'value']:+.1f}" for t in TIERS if t in gap.index)]
    return "\n".join(lines)
