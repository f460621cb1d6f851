"""The personal list builder: which IM programs one applicant should apply to, how many, and why.

``recommend(profile, source)`` reads only the published Parquet of one version (the current one
by default), assesses the applicant's risk tier (``risk``), scores every program for them
(``scoring.score_programs``, the same function as the published per-tier table) and builds the
list with the rulebook's ``list_size`` and ``recommend`` sections:

* hard exclusions (visa not sponsored, a stated exclusion of failed attempts, a stated YOG
  window, a stated refusal of IMGs) are never listed;
* programs the article says not to waste applications on (R1), programs not accepting
  applications (R2) and long shots scoring below the rulebook's floor (R6) are left out,
  counted and said;
* the list holds the tier's ``list_size.max`` programs, fewer when fewer qualify (and then it
  says how many were excluded or left out, and why), in the tier's band mix (R3), preferred
  states first among programs of similar reach (R4), ties to the higher IMG share.

``build_lists`` does the choosing column-wise over (list keys x programs), so the batch flow
(``imgpipeline.batch``) builds 100k lists with the same code. Imports neither Prefect nor Great
Expectations: this is what an applicant (or an app) waits on.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from imgpipeline.applicant import ApplicantProfile, applicant_frame
from imgpipeline.csv_out import write_csv
from imgpipeline.errors import PipelineError
from imgpipeline.fees import FeeSchedule, eras_schedule
from imgpipeline.risk import TIERS, ListSize, RiskAssessment, assess_frame, assess_row, list_sizes
from imgpipeline.rulebook import section
from imgpipeline.scoring import BANDS, PROGRAM_TIERS, ProgramSide, prepare_programs, score_programs
from imgpipeline.settings import Settings

log = logging.getLogger(__name__)

MIX_BANDS = ("likely", "target", "reach")
# What happened to each program in a list, as small codes (``ListPlan.status``).
STATUS = (
    "listed",
    "excluded",
    "avoided_program_tier",
    "avoided_few_imgs",
    "not_accepting",
    "long_shot",
    "beyond_list",
)
LISTED, EXCLUDED, AVOIDED_TIER, AVOIDED_FEW_IMGS, NOT_ACCEPTING, LONG_SHOT, BEYOND = range(len(STATUS))
LEFT_OUT_TEXT = {
    "avoided_program_tier": "highly competitive academic centres (R1: 'elite academic centers with strong Step cutoffs')",
    "avoided_few_imgs": "programs with a stated IMG share at or below the rulebook's threshold (R1: 'very few or no IMGs')",
    "not_accepting": "programs not accepting 2026-2027 applications per FREIDA (R2)",
    "long_shot": "long shots scoring below {floor:g} for you (R6: not worth an application fee; ranked in all_programs.csv)",
}
EXCLUSION_TEXT = {
    "excluded_visa": "needed visa not sponsored",
    "excluded_failed_attempts": "stated exclusion of failed attempts",
    "excluded_yog": "stated graduation window you are beyond",
    "excluded_imgs": "stated refusal of IMGs",
}
# Tables a recommendation reads from a published version (the first is required).
INPUT_TABLES = ("program_features", "feature_evidence", "program_minimums_2016", "match_probability_curve")


class NotPublished(PipelineError):
    """No usable published version: nothing published yet, or a version without features."""


# --------------------------------------------------------------------------------------------
# The rulebook's ``recommend`` section.
# --------------------------------------------------------------------------------------------


class AvoidRule(BaseModel):
    """R1: programs left out of a tier's list (never in place of a hard exclusion)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    program_tiers: tuple[str, ...] = ()
    stated_img_share_at_most: float | None = Field(None, ge=0, le=1)

    @model_validator(mode="after")
    def _tiers(self) -> AvoidRule:
        unknown = set(self.program_tiers) - set(PROGRAM_TIERS)
        if unknown:
            raise ValueError(f"unknown program tiers {sorted(unknown)}; expected {PROGRAM_TIERS}")
        return self


class RecommendRules(BaseModel):
    """How a list is chosen once its size is known (see the rulebook's comments R1-R5)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    preferred_state_points: float = Field(ge=0)
    skip_not_accepting: bool
    long_shot_below: float | None = Field(None, ge=0, le=100)
    avoid: dict[str, AvoidRule]
    mix: dict[str, dict[Literal["likely", "target", "reach"], float]]

    @model_validator(mode="after")
    def _complete(self) -> RecommendRules:
        for name, per_tier in (("avoid", self.avoid), ("mix", self.mix)):
            if set(per_tier) != set(TIERS):
                raise ValueError(f"recommend.{name} must define exactly {TIERS}")
        for tier, shares in self.mix.items():
            if set(shares) != set(MIX_BANDS) or any(not 0 <= v <= 1 for v in shares.values()):
                raise ValueError(f"recommend.mix.{tier}: a share in [0, 1] for each of {MIX_BANDS}")
            if abs(sum(shares.values()) - 1) > 1e-9:
                raise ValueError(f"recommend.mix.{tier}: shares must add up to 1")
        return self

    def mix_matrix(self) -> np.ndarray:
        """4 applicant tiers x 3 bands (MIX_BANDS order)."""
        return np.array([[self.mix[t][b] for b in MIX_BANDS] for t in TIERS], dtype=float)


@functools.lru_cache(maxsize=1)
def rules() -> RecommendRules:
    return RecommendRules.model_validate(section("recommend"))


# --------------------------------------------------------------------------------------------
# The published version a recommendation reads.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishedPrograms:
    """One published version's programs, prepared once for scoring and list building."""

    folder: Path
    version: str
    features: pd.DataFrame
    program_side: ProgramSide
    curve: pd.DataFrame | None
    state: np.ndarray            # program state codes (P)
    avoid_tier: np.ndarray       # (4 applicant tiers, P): R1, program tier
    avoid_few_imgs: np.ndarray   # (4, P): R1, stated IMG share at most the threshold
    not_accepting: np.ndarray    # (P,): R2
    img_share: np.ndarray        # (P,): stated or imputed IMG share, -1 where unknown (ties in the ranking)
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.state)


def resolve_version(source: Settings | Path | str | None = None) -> Path:
    """The version folder to read: ``current`` of the settings' processed folder (the default
    settings if None), or a folder given as a path: a version folder itself, or a processed
    folder holding ``current``."""
    if source is None or isinstance(source, Settings):
        settings = source or Settings()
        link = settings.current_dir
        if not link.exists():
            raise NotPublished(f"nothing published yet under {settings.processed_dir}: run `imgpipeline refresh`")
        return link.resolve()
    path = Path(source)
    if (path / "program_features.parquet").exists() or (path / "manifest.json").exists():
        return path.resolve()
    if (path / "current").exists():
        return (path / "current").resolve()
    raise NotPublished(f"{path} is neither a published version nor a processed folder with a current version")


def load_published(source: Settings | Path | str | None = None) -> PublishedPrograms:
    """The programs of a published version, prepared for scoring. Cached per version folder:
    an app pays the reading once, and a refresh's switch of ``current`` is picked up."""
    return _load(resolve_version(source))


@functools.lru_cache(maxsize=4)
def _load(folder: Path) -> PublishedPrograms:
    if not (folder / "program_features.parquet").exists():
        raise NotPublished(
            f"version {folder.name} has no program_features.parquet: it predates the program "
            "features; run `imgpipeline refresh` to publish a version that has them"
        )
    frames = {
        name: pd.read_parquet(folder / f"{name}.parquet") if (folder / f"{name}.parquet").exists() else None
        for name in INPUT_TABLES
    }
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    features = frames.pop("program_features")
    assert features is not None
    log.info("loaded %d programs of version %s", len(features), folder.name)
    return programs_from_frames(
        features, frames["feature_evidence"], frames["program_minimums_2016"], frames["match_probability_curve"],
        folder=folder, manifest=manifest,
    )


def programs_from_frames(
    features: pd.DataFrame,
    evidence: pd.DataFrame | None = None,
    minimums_2016: pd.DataFrame | None = None,
    curve: pd.DataFrame | None = None,
    folder: Path | None = None,
    manifest: dict[str, Any] | None = None,
    rules_: RecommendRules | None = None,
) -> PublishedPrograms:
    """Programs prepared for scoring and list building from the published frames themselves
    (``load_published`` reads them from a version folder)."""
    r = rules_ or rules()
    manifest = manifest or {}
    features = features.astype({"acgme_id": str}).reset_index(drop=True)
    ps = prepare_programs(features, evidence, minimums_2016)
    tier = np.array(PROGRAM_TIERS, dtype=object)[ps.tier_idx]
    share = pd.to_numeric(features["img_share"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    stated = features["img_share_basis"].astype(str).eq("stated").to_numpy()
    avoid_tier = np.stack([np.isin(tier, list(r.avoid[t].program_tiers)) for t in TIERS])
    few = []
    for t in TIERS:
        limit = r.avoid[t].stated_img_share_at_most
        few.append(np.zeros(len(features), dtype=bool) if limit is None else stated & (np.nan_to_num(share, nan=2.0) <= limit))
    accepting = features.get("accepting_2026_2027")
    not_accepting = (
        np.asarray(accepting.astype("boolean").eq(False).fillna(False), dtype=bool)
        if accepting is not None and r.skip_not_accepting
        else np.zeros(len(features), dtype=bool)
    )
    folder = folder or Path(".")
    return PublishedPrograms(
        folder=folder,
        version=str(manifest.get("version") or folder.name or "unpublished"),
        features=features,
        program_side=ps,
        curve=curve,
        state=features["state"].astype(str).to_numpy(dtype=object),
        avoid_tier=avoid_tier,
        avoid_few_imgs=np.stack(few),
        not_accepting=not_accepting,
        img_share=np.nan_to_num(share, nan=-1.0),
        manifest=manifest,
    )


# --------------------------------------------------------------------------------------------
# Choosing the lists: (K list keys x P programs) arrays, no loop over pairs.
# --------------------------------------------------------------------------------------------


@dataclass
class ListPlan:
    """The lists of K list keys over P programs."""

    rank: np.ndarray        # (K, P) int32: 1..n for listed programs, 0 otherwise
    status: np.ndarray      # (K, P) int8: STATUS codes
    n_listed: np.ndarray    # (K,)
    n_eligible: np.ndarray  # (K,)
    n_candidates: np.ndarray  # (K,) eligible and not left out (R1, R2, R6)


def _ranks(sort_key: np.ndarray, tiebreak: np.ndarray) -> np.ndarray:
    """Each element's 0-based position when its row is sorted ascending by ``sort_key``, ties
    by ``tiebreak`` (P,) ascending, then in program order (stable sorts)."""
    by_tie = np.argsort(tiebreak, kind="stable")
    order = by_tie[np.argsort(sort_key[:, by_tie], axis=1, kind="stable")]
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.broadcast_to(np.arange(sort_key.shape[1]), sort_key.shape), axis=1)
    return ranks


def build_lists(
    score: np.ndarray,
    band: np.ndarray,
    eligible: np.ndarray,
    tier: np.ndarray,
    preferred: np.ndarray,
    data: PublishedPrograms,
    rules_: RecommendRules | None = None,
) -> ListPlan:
    """Choose each list key's programs.

    ``score``, ``band`` (codes of ``scoring.BANDS``), ``eligible`` and ``preferred`` are
    (K, P); ``tier`` (K,) holds applicant-tier indexes (``risk.TIERS``). Candidates are the
    eligible programs not left out (R1 avoid, R2 not accepting, R6 long shots scoring below
    ``long_shot_below``). The list holds ``list_size.max`` programs of the tier, or every
    candidate if fewer; each band takes at most its ``mix`` share of the places (best-ranked
    first) and places left go to the best-ranked candidates left. Ranking is by score plus
    ``preferred_state_points`` in a preferred state; ties go to the higher IMG share (an
    unknown one last), then keep program order."""
    r = rules_ or rules()
    K, P = score.shape
    sizes = list_sizes()
    hi = np.array([sizes[t].max for t in TIERS], dtype=np.int64)[tier]
    avoid_tier = data.avoid_tier[tier]
    avoid_few = data.avoid_few_imgs[tier] & ~avoid_tier
    not_acc = np.broadcast_to(data.not_accepting, (K, P)) & ~avoid_tier & ~avoid_few
    long_shot = np.zeros((K, P), dtype=bool)
    if r.long_shot_below is not None:
        long_shot = (score < r.long_shot_below) & ~avoid_tier & ~avoid_few & ~not_acc
    left_out = avoid_tier | avoid_few | not_acc | long_shot
    cand = eligible & ~left_out
    n_cand = cand.sum(axis=1)
    n = np.minimum(hi, n_cand)
    key = score + r.preferred_state_points * preferred
    tie = -data.img_share
    picked = np.zeros((K, P), dtype=bool)
    shares = r.mix_matrix()[tier]
    for j, name in enumerate(MIX_BANDS):
        quota = np.floor(shares[:, j] * n + 1e-9).astype(np.int64)
        in_band = cand & (band == BANDS.index(name))
        pos = _ranks(np.where(in_band, -key, np.inf), tie)
        picked |= in_band & (pos < quota[:, None])
    rest = cand & ~picked
    pos = _ranks(np.where(rest, -key, np.inf), tie)
    picked |= rest & (pos < (n - picked.sum(axis=1))[:, None])
    rank = np.where(picked, _ranks(np.where(picked, -key, np.inf), tie) + 1, 0).astype(np.int32)
    status = np.full((K, P), BEYOND, dtype=np.int8)
    status[picked] = LISTED
    status[eligible & avoid_tier] = AVOIDED_TIER
    status[eligible & avoid_few] = AVOIDED_FEW_IMGS
    status[eligible & not_acc] = NOT_ACCEPTING
    status[eligible & long_shot] = LONG_SHOT
    status[~eligible] = EXCLUDED
    return ListPlan(rank=rank, status=status, n_listed=picked.sum(axis=1), n_eligible=eligible.sum(axis=1), n_candidates=n_cand)


def preferred_mask(data: PublishedPrograms, states: tuple[str, ...]) -> np.ndarray:
    """(P,) whether each program is in one of the (expanded) preferred state codes."""
    return np.isin(data.state, list(states)) if states else np.zeros(data.n, dtype=bool)


# --------------------------------------------------------------------------------------------
# One applicant's recommendation.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeeEstimate:
    """ERAS fees for the list (and for the article's range), per the rulebook's schedule."""

    programs: int
    usd: float
    usd_at_min: float
    usd_at_max: float
    season: str
    as_of: str
    source: str
    url: str
    budget_usd: float | None
    budget_covers: int | None

    def text(self) -> str:
        out = f"ERAS fee for {self.programs} IM programs: ${self.usd:,.0f} ({self.season}, schedule as of {self.as_of})"
        if self.budget_usd is not None and self.budget_covers is not None and self.budget_covers < self.programs:
            out += f"; your budget of ${self.budget_usd:,.0f} covers {self.budget_covers} programs"
        return out + ". AAMC application fees only: ECFMG's fees for IMGs (ERAS token, USMLE transcript) are extra"


def fee_estimate(n: int, size: ListSize, budget: float | None, schedule: FeeSchedule | None = None) -> FeeEstimate:
    s = schedule or eras_schedule()
    covers = None
    if budget is not None:
        # The largest count whose fee fits the budget (fees only grow with the count).
        covers = 0
        while covers < 10_000 and s.cost(covers + 1) <= budget:
            covers += 1
    return FeeEstimate(
        programs=n, usd=s.cost(n), usd_at_min=s.cost(size.min), usd_at_max=s.cost(size.max),
        season=s.season, as_of=s.as_of, source=s.source, url=s.url, budget_usd=budget, budget_covers=covers,
    )


# What the chance is, so that nobody reads it as their own odds: the curve is marginal in Step 2 CK.
MATCH_CHANCE_BASIS = (
    "share of all non-US IMGs applying in IM with this Step 2 CK who matched (NRMP Charting "
    "Outcomes); the score alone: failed attempts, years since graduation, USCE and visa need "
    "are not in this figure"
)


def match_chance(curve: pd.DataFrame | None, step2ck: float | None) -> dict[str, Any] | None:
    """The published curve's row at the applicant's Step 2 CK (the curve is published per
    integer score): chance, band and support, or None without a curve or a score."""
    if curve is None or step2ck is None or pd.isna(step2ck):
        return None
    c = curve[(curve["measure"] == "step2ck") & (curve["value"] == round(float(step2ck)))]
    if c.empty:
        return {"step2ck": float(step2ck), "p_match": None, "p_match_low": None, "p_match_high": None, "support": "outside the published curve", "basis": MATCH_CHANCE_BASIS}
    row = c.iloc[0]

    def num(v: Any) -> float | None:
        return None if pd.isna(v) else round(float(v), 3)

    return {
        "step2ck": float(step2ck),
        "p_match": num(row["p_match"]),
        "p_match_low": num(row["p_match_low"]),
        "p_match_high": num(row["p_match_high"]),
        "support": str(row["support"]),
        "specialty": str(row.get("specialty", "")),
        "as_of": str(row.get("charting_as_of", "")),
        "basis": MATCH_CHANCE_BASIS,
    }


@dataclass
class Recommendation:
    """One applicant's list and everything needed to explain it."""

    profile_id: str | None
    version: str
    version_dir: Path
    assessment: RiskAssessment
    n_programs: int
    n_eligible: int
    n_candidates: int
    n_listed: int
    excluded: dict[str, int]
    left_out: dict[str, int]
    beyond_list: int
    size_note: str
    mix: dict[str, int]
    mix_by_program_tier: dict[str, int]
    preferred_states: tuple[str, ...]
    preferred_listed: int
    fee: FeeEstimate
    match_probability: dict[str, Any] | None
    programs: pd.DataFrame          # the list, ranked
    all_programs: pd.DataFrame      # every program with its status
    notes: list[str] = field(default_factory=list)

    @property
    def tier(self) -> str:
        return self.assessment.tier

    @property
    def list_size(self) -> ListSize:
        return self.assessment.list_size

    def summary(self) -> dict[str, Any]:
        """Everything but the rows, as JSON-ready values."""
        a = self.assessment
        return {
            "profile_id": self.profile_id,
            "published_version": self.version,
            "risk_tier": a.tier,
            "risk_label": a.label,
            "factors": [{"id": f.id, "tier": f.tier, "says": f.says, "rule": f.rule, "article": f.article, "decision": f.decision} for f in a.factors],
            "notes": [{"id": f.id, "says": f.says, "article": f.article} for f in a.notes],
            "list_size": {"min": a.list_size.min, "max": a.list_size.max, "open_ended": a.list_size.open_ended, "text": a.list_size.text(), "mix": a.list_size.mix, "article": a.list_size.article},
            "programs_published": self.n_programs,
            "programs_eligible": self.n_eligible,
            "programs_candidates": self.n_candidates,
            "programs_listed": self.n_listed,
            "excluded": self.excluded,
            "left_out": self.left_out,
            "beyond_list": self.beyond_list,
            "size_note": self.size_note,
            "mix": self.mix,
            "mix_by_program_tier": self.mix_by_program_tier,
            "preferred_states": list(self.preferred_states),
            "preferred_listed": self.preferred_listed,
            "fee": {k: v for k, v in vars(self.fee).items()},
            "match_probability": self.match_probability,
            "list_notes": self.notes,
        }

    def to_json(self) -> dict[str, Any]:
        rows = self.programs.drop(columns=["contributions"]).assign(
            contributions=[json.loads(c) for c in self.programs["contributions"]]
        )
        records = json.loads(rows.to_json(orient="records"))
        return {**self.summary(), "programs": records}

    def write(self, out: str | Path) -> dict[str, Path]:
        """The list as CSV, Parquet and JSON (with the summary), and every program's status
        as CSV, in ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        files = {
            "csv": out / "recommendations.csv",
            "parquet": out / "recommendations.parquet",
            "json": out / "recommendation.json",
            "all_programs": out / "all_programs.csv",
        }
        write_csv(self.programs, files["csv"])  # formula-like text neutralised
        self.programs.to_parquet(files["parquet"], index=False)
        files["json"].write_text(json.dumps(self.to_json(), indent=2, default=str))
        write_csv(self.all_programs, files["all_programs"])
        return files


def _reason_text(contributions: str) -> str:
    """The contributions that moved the score (not the base), shortest first: what the table
    shows as 'why'."""
    parts = []
    for c in json.loads(contributions):
        if c["factor"] in ("base",) or abs(c["points"]) < 0.005:
            continue
        parts.append(f"{c['factor']} {c['points']:+.1f} ({c['basis']})")
    return "; ".join(parts) or "no adjustment to the tier's base"


def _size_note(size: ListSize, n_listed: int, n_eligible: int, n_candidates: int, n_programs: int, excluded: dict[str, int], left_out: dict[str, int], beyond: int, floor: float | None = None) -> str:
    why_ex = ", ".join(f"{EXCLUSION_TEXT[k]} {v}" for k, v in excluded.items() if v)
    why_out = "; ".join(f"{v} {LEFT_OUT_TEXT[k].format(floor=floor or 0)}" for k, v in left_out.items() if v)
    if n_listed < size.min:
        return (
            f"{n_listed} programs, fewer than the article's {size.text()}: only {n_eligible} of "
            f"{n_programs} programs are open to you ({n_programs - n_eligible} excluded; by reason, a program may have several: {why_ex})"
            + (f", and {n_eligible - n_candidates} of those are left out ({why_out})" if n_eligible > n_candidates else "")
            + ". Every qualifying program is listed"
            + (": the list stops there rather than fill the article's size with long shots." if left_out.get("long_shot") else ".")
        )
    text = f"{n_listed} programs, within the article's {size.text()}"
    if n_listed < size.max:
        text += f" (every one of the {n_candidates} qualifying programs)"
    if beyond:
        text += f"; {beyond} more qualifying programs rank after these (all_programs.csv)"
        if size.open_ended:
            text += f": the article says {size.text()}, so continue down that ranking if you can"
    return text + "."


def recommend(
    profile: ApplicantProfile,
    source: Settings | Path | str | PublishedPrograms | None = None,
    *,
    as_of_year: int | None = None,
    rules_: RecommendRules | None = None,
) -> Recommendation:
    """One applicant's risk tier, list size, ranked list with reasons, and fee estimate, from
    one published version (``source``: settings, a version or processed folder, or data
    already loaded by ``load_published``)."""
    data = source if isinstance(source, PublishedPrograms) else load_published(source)
    apps = applicant_frame([profile], as_of_year)
    apps["risk_tier"] = assess_frame(apps)["risk_tier"].to_numpy()
    assessment = assess_row(apps, 0)
    ps = data.program_side
    # The list is chosen on the batch scorer's numbers (identical to a batch run); the texts
    # (exclusions, cautions, contributions) come from the scorer's explained mode.
    lean = score_programs(ps, apps, with_text=False).scores
    full = score_programs(ps, apps, with_reasons=True).scores
    score = lean["score"].to_numpy(dtype=float)[None, :]
    band = lean["band"].cat.codes.to_numpy()[None, :]
    eligible = lean["eligible"].to_numpy(dtype=bool)[None, :]
    codes = profile.preferred_state_codes
    preferred = preferred_mask(data, codes)
    tier_i = np.array([TIERS.index(assessment.tier)])
    plan = build_lists(score, band, eligible, tier_i, preferred[None, :], data, rules_)

    f = data.features
    table = pd.DataFrame(
        {
            "rank": plan.rank[0],
            "acgme_id": ps.acgme_id,
            "program_name": f["program_name"].to_numpy(dtype=object),
            "state": data.state,
            "census_region": f["census_region"].to_numpy(dtype=object) if "census_region" in f else None,
            "program_tier": np.array(PROGRAM_TIERS, dtype=object)[ps.tier_idx],
            "img_share": pd.to_numeric(f["img_share"], errors="coerce").to_numpy(dtype=float, na_value=np.nan),
            "img_share_basis": ps.img_basis,
            "score": lean["score"].to_numpy(dtype=float),
            "band": lean["band"].astype(str).to_numpy(dtype=object),
            "preferred_state": preferred,
            "status": np.array(STATUS, dtype=object)[plan.status[0]],
            "exclusion_reasons": full["exclusion_reasons"].to_numpy(dtype=object),
            "cautions": full["cautions"].to_numpy(dtype=object),
            "contributions": full["contributions"].to_numpy(dtype=object),
        }
    )
    for col in ("acgme_snapshot", "freida_snapshot"):
        if col in f:
            table[col] = f[col].astype(str).to_numpy(dtype=object)
    table["published_version"] = data.version
    listed = table[table["status"] == "listed"].sort_values("rank").reset_index(drop=True)
    listed.insert(11, "why", [_reason_text(c) for c in listed["contributions"]])
    order = np.lexsort((-table["score"].to_numpy(), np.where(plan.rank[0] > 0, plan.rank[0], 1 << 30), plan.status[0]))
    status = table.iloc[order].drop(columns=["contributions"]).reset_index(drop=True)

    excluded = {k: int(lean[k].sum()) for k in EXCLUSION_TEXT}
    left_out = {k: int((plan.status[0] == STATUS.index(k)).sum()) for k in LEFT_OUT_TEXT}
    n_listed = int(plan.n_listed[0])
    beyond = int((plan.status[0] == BEYOND).sum())
    size = assessment.list_size
    r = rules_ or rules()
    note = _size_note(size, n_listed, int(plan.n_eligible[0]), int(plan.n_candidates[0]), data.n, excluded, left_out, beyond, r.long_shot_below)
    notes = []
    if codes:
        in_pref = int((eligible[0] & preferred).sum())
        notes.append(
            f"preferred states ({', '.join(x if x.isupper() else x.title() for x in profile.preferred_states)}): {int(listed['preferred_state'].sum())} listed, "
            f"of {in_pref} open to you there; a preference adds {r.preferred_state_points:g} ranking points: it reorders programs of "
            "similar score, never changes a score, a band or an exclusion"
        )
    if n_listed < size.min and profile.visa_need == "h1b" and excluded["excluded_visa"]:
        either = score_programs(ps, apps.assign(visa_need="either"), with_text=False).scores
        notes.append(
            f"H-1B only: {int(eligible.sum())} programs are open to you; with J-1 or H-1B, {int(either['eligible'].sum())} would be "
            "(the article: 'If you require H-1B only, your pool will shrink dramatically; consider being flexible with J-1 if possible')"
        )
    fee = fee_estimate(n_listed, size, profile.budget_usd)
    if fee.budget_covers is not None and fee.budget_covers < n_listed:
        notes.append(f"the list's ERAS fee ${fee.usd:,.0f} is above your budget of ${fee.budget_usd:,.0f}, which covers the first {fee.budget_covers} programs")
    ck = profile.step2ck.score if profile.step2ck else None
    return Recommendation(
        profile_id=profile.profile_id,
        version=data.version,
        version_dir=data.folder,
        assessment=assessment,
        n_programs=data.n,
        n_eligible=int(plan.n_eligible[0]),
        n_candidates=int(plan.n_candidates[0]),
        n_listed=n_listed,
        excluded=excluded,
        left_out=left_out,
        beyond_list=beyond,
        size_note=note,
        mix={b: int((listed["band"] == b).sum()) for b in MIX_BANDS},
        mix_by_program_tier={t: int((listed["program_tier"] == t).sum()) for t in PROGRAM_TIERS},
        preferred_states=profile.preferred_states,
        preferred_listed=int(listed["preferred_state"].sum()),
        fee=fee,
        match_probability=match_chance(data.curve, ck),
        programs=listed,
        all_programs=status,
        notes=notes,
    )


# --------------------------------------------------------------------------------------------
# On screen.
# --------------------------------------------------------------------------------------------

FACTOR_SHORT = {
    "program_tier": "tier", "img_share": "IMG", "visa": "visa", "yog": "YOG", "usce": "USCE",
    "new_program": "new", "holistic_review": "holistic", "imgs_welcome": "welcome", "bounds": "bound",
}
CAUTION_SHORT = (
    (r"^visa sponsorship unknown", "visa unknown"),
    (r"^H-1B: many H-1B programs require Step 3", "H-1B: Step 3"),
    (r"requires ECFMG certification", "ECFMG required"),
    (r"^the program states USCE (\w+)", r"USCE \1"),
    (r"^beyond the program's preferred graduation window", "YOG preference"),
    (r"^2016 FREIDA listed a Step 2 CK minimum of (\S+),.*", r"2016 CK min \1"),
    (r"^2016 FREIDA listed a Step 1 minimum of (\S+),.*", r"2016 Step 1 min \1"),
    (r"not accepting", "not accepting"),
)
TIER_SHORT = {"community": "comm.", "mid_tier_academic_hybrid": "mid", "highly_competitive_academic": "elite"}


def short_why(contributions: str) -> str:
    """The points that moved a score off its tier's base, in a few characters each."""
    parts = [
        f"{FACTOR_SHORT[c['factor']]} {c['points']:+.1f}".replace(".0", "")
        for c in json.loads(contributions)
        if c["factor"] != "base" and abs(c["points"]) >= 0.05
    ]
    return ", ".join(parts) or "-"


def short_cautions(cautions: str) -> str:
    """The cautions as short tags (the files hold the full sentences)."""
    import re

    out = []
    for part in filter(None, (cautions or "").split("; ")):
        for pattern, tag in CAUTION_SHORT:
            m = re.search(pattern, part)
            if m:
                out.append(m.expand(tag))
                break
        else:
            out.append(part)
    return ", ".join(out)


def renderables(rec: Recommendation, rows: int = 25) -> list[Any]:
    """What ``imgpipeline recommend`` prints: the tier and its factors, the list size and why,
    the mix, the fee, and the first ``rows`` programs with their reasons (rich renderables)."""
    from rich.table import Table as RichTable
    from rich.text import Text

    a = rec.assessment
    head = Text()
    head.append(f"{a.label}", style="bold")
    head.append(f"  (profile {rec.profile_id or '-'}, published version {rec.version})\n")
    for f in a.factors:
        head.append(f"  - [{f.tier}] {f.says}  (rule: {f.rule})\n")
    for f in a.notes:
        head.append(f"  - [note] {f.says}\n")
    if not a.factors:
        head.append("  - none of the article's risk factors\n")
    head.append(f"\nApply to {a.list_size.text()} programs ({a.list_size.mix}); listed: ", style="bold")
    head.append(f"{rec.size_note}\n")
    head.append(
        f"Mix: {rec.mix['likely']} likely, {rec.mix['target']} target, {rec.mix['reach']} reach; "
        + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in rec.mix_by_program_tier.items() if v)
        + "\n"
    )
    head.append(rec.fee.text() + "\n")
    mp = rec.match_probability
    if mp is not None:
        if mp["p_match"] is None:
            bound = "" if mp["p_match_high"] is None else f"; at most {mp['p_match_high']:.2f}"
            head.append(f"P(match in IM) at Step 2 CK {mp['step2ck']:g}: no value ({mp['support']}{bound})\n")
        else:
            head.append(
                f"P(match in IM) at Step 2 CK {mp['step2ck']:g}: {mp['p_match']:.2f} (band {mp['p_match_low']:.2f}-"
                f"{mp['p_match_high']:.2f}, {mp['support']}; NRMP Charting Outcomes, non-US IMGs)\n"
                "  (the score alone, over all non-US IMG applicants in IM: your other risk factors are not in this figure)\n"
            )
    for n in rec.notes:
        head.append(f"Note: {n}\n")
    table = RichTable(title=f"Your list: first {min(rows, rec.n_listed)} of {rec.n_listed}", show_lines=False, pad_edge=False)
    for col, kw in (
        ("#", {"justify": "right"}), ("program (state)", {"ratio": 5, "overflow": "fold"}), ("tier", {}),
        ("IMG", {"justify": "right"}), ("score", {"justify": "right"}), ("band", {}),
        ("points; cautions", {"ratio": 4, "overflow": "fold"}),
    ):
        table.add_column(col, **kw)
    for r in rec.programs.head(rows).itertuples():
        share = "?" if pd.isna(r.img_share) else f"{r.img_share:.2f}" + ("" if r.img_share_basis == "stated" else "~")
        why = short_why(r.contributions)
        caution = short_cautions(r.cautions)
        table.add_row(
            str(r.rank), f"{r.program_name} ({r.state}{'*' if r.preferred_state else ''})", TIER_SHORT[r.program_tier],
            share, f"{r.score:.1f}", r.band, "; ".join(x for x in (why if why != "-" else "", f"[yellow]{caution}[/]" if caution else "") if x) or "-",
        )
    foot = Text(
        "* preferred state; ~ imputed IMG share. Score: how reachable the program is for your tier, 0-100, the sum of its "
        "points (not a probability). Points: IMG share, tier, visa, YOG, USCE, new program, holistic review, IMGs welcome. "
        "Every row's contributions with their evidence, the full cautions and the provenance are in the files.",
        style="dim",
    )
    return [head, table, foot]
