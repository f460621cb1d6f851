"""One applicant's advice: risk tier, P(interview) at every program, the list by expected value,
how many interviews it should bring, P(match | list), the size curve, readiness and unknowns.

``recommend(profile, source)`` reads one published version only (``advice.published``),
assesses risk once (``risk.assess_row``), computes the model's terms once
(``model.compute_terms``), ranks, sizes and explains. Imports neither Prefect, GX nor
scikit-learn: this is what an applicant (or an app) waits on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from imgpipeline.advice import explain, lists, outcome
from imgpipeline.advice.csv_out import write_csv
from imgpipeline.advice.fees import FeeSchedule, eras_schedule
from imgpipeline.advice.model import (
    Applicants,
    Terms,
    band_of,
    baseline_bounds,
    compute_terms,
    sigmoid,
)
from imgpipeline.advice.plan import Plan, build_plan, plan_rows
from imgpipeline.advice.profile import ApplicantProfile, applicant_frame
from imgpipeline.advice.published import Published, load_published
from imgpipeline.advice.readiness import (
    Readiness,
    assess_readiness,
    readiness_rules,
    unknown_policies,
)
from imgpipeline.advice.risk import RiskAssessment, assess_row
from imgpipeline.settings import Settings
from imgpipeline.vocabulary import BANDS, FREIDA_ACCEPTING_YEAR, PROGRAM_TIERS, RISK_TIERS


@dataclass
class Recommendation:
    """One applicant's list and everything needed to explain it."""

    profile_id: str | None
    version: str
    version_dir: Path
    assessment: RiskAssessment
    readiness: list[Readiness]
    not_stated: tuple[str, ...]
    counts: dict[str, int]
    excluded: dict[str, int]
    left_out: dict[str, int]
    size: dict[str, Any]
    outcome: outcome.Outcome | None
    size_curve: list[outcome.Outcome]
    bands: dict[str, str]
    fee: dict[str, Any]
    sources: dict[str, str]
    programs: pd.DataFrame          # the list, ranked
    all_programs: pd.DataFrame      # every program with its status and chance
    policy_notes: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    plan: Plan | None = None        # your next steps (advice.plan)

    @property
    def tier(self) -> str:
        return self.assessment.tier

    @property
    def n_listed(self) -> int:
        return len(self.programs)

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
            "readiness": [r.as_dict() for r in self.readiness],
            "not_stated": list(self.not_stated),
            "article_list_size": {"min": a.list_size.min, "max": a.list_size.max, "open_ended": a.list_size.open_ended, "text": a.list_size.text(), "mix": a.list_size.mix, "article": a.list_size.article},
            "programs": self.counts,
            "excluded": self.excluded,
            "left_out": self.left_out,
            "size": self.size,
            "outcome": self.outcome.as_dict() if self.outcome else None,
            "size_curve": [o.as_dict() for o in self.size_curve],
            "bands": self.bands,
            "fee": self.fee,
            "unknown_policies": self.policy_notes,
            "list_notes": self.notes,
            "sources": self.sources,
            "plan": self.plan.as_dicts() if self.plan is not None else None,
        }

    def to_json(self) -> dict[str, Any]:
        rows = self.programs.drop(columns=["contributions"]).assign(
            contributions=[json.loads(c) for c in self.programs["contributions"]]
        )
        return {**self.summary(), "list": json.loads(rows.to_json(orient="records"))}

    def write(self, out: str | Path) -> dict[str, Path]:
        """The list as CSV, Parquet and JSON (with the summary), every program's status and the
        size curve as CSV, and the size-curve plot as SVG, in ``out``."""
        from imgpipeline.advice.render import size_curve_svg

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        files = {
            "csv": out / "recommendations.csv",
            "parquet": out / "recommendations.parquet",
            "json": out / "recommendation.json",
            "all_programs": out / "all_programs.csv",
            "size_curve": out / "size_curve.csv",
            "size_curve_svg": out / "size_curve.svg",
            "plan": out / "plan.csv",
        }
        write_csv(self.programs, files["csv"])
        self.programs.to_parquet(files["parquet"], index=False)
        files["json"].write_text(json.dumps(self.to_json(), indent=2, default=str))
        write_csv(self.all_programs, files["all_programs"])
        write_csv(pd.DataFrame([o.as_dict() for o in self.size_curve]), files["size_curve"])
        files["size_curve_svg"].write_text(size_curve_svg(self))
        write_csv(plan_rows(self), files["plan"])
        return files


@dataclass
class Context:
    """What one recommendation computes once and every part reads."""

    data: Published
    profile: ApplicantProfile
    frame: pd.DataFrame
    applicants: Applicants
    terms: Terms
    p: np.ndarray
    p_low: np.ndarray
    p_high: np.ndarray
    status: np.ndarray
    order: np.ndarray
    preferred: np.ndarray


def _compute(profile: ApplicantProfile, frame: pd.DataFrame, data: Published, tier: str, rules: lists.ListRules) -> Context:
    apps = Applicants.from_frame(frame)
    c, ps = data.coefficients, data.programs
    terms = compute_terms(c, ps, apps)
    logit = terms.logit
    excluded = terms.any_excluded
    low, high = baseline_bounds(c, ps)
    base = terms.terms["baseline"]
    p = np.where(excluded, 0.0, sigmoid(logit))[0]
    p_low = np.where(excluded, 0.0, sigmoid(logit - base + low[None, :]))[0]
    p_high = np.where(excluded, 0.0, sigmoid(logit - base + high[None, :]))[0]
    t = ps.table
    left = lists.left_out_masks(
        ps.tier_idx, t["img_share"].to_numpy(dtype=float), t["img_share_basis"].eq("stated").to_numpy(),
        t["accepting_applications"].astype("boolean").eq(False).fillna(False).to_numpy(), rules,
    )
    tier_i = np.array([RISK_TIERS.index(tier)])
    status = lists.statuses(p[None, :], excluded, tier_i, left, rules)
    codes = profile.preferred_state_codes
    preferred = np.isin(t["state"].astype(str).to_numpy(), list(codes)) if codes else np.zeros(ps.n, dtype=bool)
    order = lists.ranking(logit, preferred[None, :], status, rules)
    return Context(data, profile, frame, apps, terms, p, p_low, p_high, status, order, preferred)


def _size(ctx: Context, rules: lists.ListRules, schedule: FeeSchedule) -> tuple[lists.SizeChoice, list[outcome.Outcome], list[outcome.Outcome], np.ndarray]:
    cand = ctx.order[0][ctx.status[0, ctx.order[0]] == lists.BEYOND]
    grid = lists.size_grid(len(cand), rules)
    budget = ctx.profile.budget_usd
    covers = schedule.covers(budget) if budget is not None else None
    if len(grid) == 0:
        return lists.SizeChoice(0, "no program qualifies", False), [], [], cand
    curve = outcome.size_curve(ctx.p[cand], ctx.p_low[cand], ctx.p_high[cand], ctx.data.ranks, grid)
    choice = lists.choose_size(curve, rules, covers)
    shown = sorted({s for s in rules.curve_sizes if s <= len(cand)} | {choice.n} - {0})
    display = outcome.size_curve(ctx.p[cand], ctx.p_low[cand], ctx.p_high[cand], ctx.data.ranks, np.array(shown, dtype=int))
    return choice, curve, display, cand


def _size_words(choice: lists.SizeChoice, article: Any, chosen: outcome.Outcome | None, curve: list[outcome.Outcome]) -> dict[str, Any]:
    n = choice.n
    at = {o.n: o for o in curve}
    words = f"{n} programs: {choice.why}"
    if n < article.min:
        more = at.get(min((s for s in at if s >= article.min), default=-1))
        gain = f"; {more.n} would raise P(match) from {chosen.p_match:.0%} to {more.p_match:.0%}" if more and chosen else ""
        compare = f"fewer than the article's {article.text()}: your chances say more applications add little{gain}"
    elif n > article.max and not article.open_ended:
        compare = f"more than the article's {article.text()}: at {article.max} your P(match) would still be rising"
    else:
        compare = f"within the article's {article.text()}"
    return {"programs": n, "why": words, "article_range": article.text(), "compared_with_article": compare, "reached_target": choice.reached_target}


def _table(ctx: Context, rank: np.ndarray, status: np.ndarray, likely: float, target: float) -> pd.DataFrame:
    """Every program with its chance, band, status and (for listed ones) reasons."""
    ps, t = ctx.data.programs, ctx.data.programs.table
    band = np.array(BANDS, dtype=object)[band_of(ctx.p, ctx.terms.any_excluded[0], likely, target)]
    df = pd.DataFrame({
        "rank": rank,
        "acgme_id": ps.acgme_id,
        "program_name": ctx.data.display_name,
        "city": t["city"].to_numpy(dtype=object),
        "state": t["state"].to_numpy(dtype=object),
        "program_tier": np.array(PROGRAM_TIERS, dtype=object)[ps.tier_idx],
        "img_share": t["img_share"].to_numpy(dtype=float),
        "img_share_basis": t["img_share_basis"].to_numpy(dtype=object),
        "p_interview": ctx.p,
        "p_interview_low": ctx.p_low,
        "p_interview_high": ctx.p_high,
        "band": band,
        "preferred_state": ctx.preferred,
        "status": np.array(lists.STATUS, dtype=object)[status],
        "exclusion_reasons": [explain.exclusion_text(ctx.terms, j) for j in range(ps.n)],
        "states_failed_attempts_policy": ps.excludes_failures,
        "states_yog_window": np.isin(ps.yog_tolerance, ["stated_limit", "stated_preference", "stated_no_limit"]),
        "acgme_snapshot": t["acgme_snapshot"].to_numpy(dtype=object),
        "freida_snapshot": t["freida_snapshot"].to_numpy(dtype=object),
    })
    df["published_version"] = ctx.data.version
    return df


def _explain_listed(ctx: Context, listed: pd.DataFrame) -> pd.DataFrame:
    c, a, ps = ctx.data.coefficients, ctx.applicants, ctx.data.programs
    index = {pid: j for j, pid in enumerate(ps.acgme_id)}
    js = [index[x] for x in listed["acgme_id"]]
    contribs = explain.contributions_of(ctx.terms, c, a, ps, 0, js)
    listed = listed.copy()
    listed.insert(listed.columns.get_loc("band") + 1, "why", [explain.why(x, c["calibration_offset"]) for x in contribs])
    listed["cautions"] = ["; ".join(explain.cautions(a, ps, 0, j)) for j in js]
    listed["contributions"] = [json.dumps(x) for x in contribs]
    return listed


def _counts(ctx: Context, status: np.ndarray) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    ex = {k: int(v[0].sum()) for k, v in ctx.terms.excluded.items()}
    left = {k: int((status == lists.STATUS.index(k)).sum()) for k in lists.LEFT_OUT_TEXT}
    n_excluded = int(ctx.terms.any_excluded[0].sum())
    counts = {
        "published": ctx.data.n,
        "eligible": ctx.data.n - n_excluded,
        "candidates": int(((status == lists.BEYOND) | (status == lists.LISTED)).sum()),
        "listed": int((status == lists.LISTED).sum()),
        "beyond_list": int((status == lists.BEYOND).sum()),
    }
    return counts, ex, left


def _notes(ctx: Context, counts: dict[str, int], listed: pd.DataFrame, rules: lists.ListRules) -> list[str]:
    notes = []
    prof = ctx.profile
    if prof.preferred_states:
        notes.append(
            f"preferred states ({', '.join(x if x.isupper() else x.title() for x in prof.preferred_states)}): "
            f"{int(listed['preferred_state'].sum())} listed; a preference adds {rules.preferred_state_log_odds:g} "
            "to a program's ranking key (log-odds), never to its chance, band or exclusions"
        )
    if prof.visa_need == "h1b":
        either = compute_terms(ctx.data.coefficients, ctx.data.programs, ctx.applicants.with_visa("either"))
        notes.append(
            f"H-1B only: {counts['eligible']} programs are open to you; with J-1 or H-1B, "
            f"{ctx.data.n - int(either.any_excluded[0].sum())} would be (the article: 'If you require H-1B only, your pool "
            "will shrink dramatically; consider being flexible with J-1 if possible')"
        )
    return notes


def recommend(
    profile: ApplicantProfile,
    source: Settings | Path | str | Published | None = None,
    *,
    as_of_year: int | None = None,
    settings: Settings | None = None,
    plan: bool = True,
) -> Recommendation:
    """One applicant's advice from one published version (``source``: settings, a version or
    processed folder, or data already loaded by ``load_published``). ``plan``: also build the
    next steps (``advice.plan``; each sized step re-runs this on a changed profile)."""
    settings = settings or (source if isinstance(source, Settings) else None)
    data = source if isinstance(source, Published) else load_published(source)
    rules = lists.list_rules(settings)
    schedule = eras_schedule(settings)
    frame = applicant_frame([profile], as_of_year)
    assessment = assess_row(frame, 0)
    ctx = _compute(profile, frame, data, assessment.tier, rules)
    choice, curve, display, cand = _size(ctx, rules, schedule)
    rank, status = lists.take_top(ctx.order, ctx.status, np.array([choice.n]))
    rank, status = rank[0], status[0]
    c = data.coefficients
    table = _table(ctx, rank, status, c["band_likely"], c["band_target"])
    listed = _explain_listed(ctx, table[table["status"] == "listed"].sort_values("rank").reset_index(drop=True))
    chosen = next((o for o in display if o.n == choice.n), None)
    counts, excluded, left_out = _counts(ctx, status)
    order = np.lexsort((-ctx.p, np.where(rank > 0, rank, 1 << 30), status))
    readiness = assess_readiness(frame, readiness_rules(settings))
    rec = Recommendation(
        profile_id=profile.profile_id, version=data.version, version_dir=data.folder, assessment=assessment,
        readiness=readiness, not_stated=profile.not_stated, counts=counts, excluded=excluded, left_out=left_out,
        size=_size_words(choice, assessment.list_size, chosen, curve),
        outcome=chosen, size_curve=display, bands=band_words(c["band_likely"], c["band_target"]),
        fee=fee_summary(schedule, choice.n, assessment.list_size, profile.budget_usd),
        sources=data.source_dates(), programs=listed,
        all_programs=table.iloc[order].drop(columns=["states_failed_attempts_policy", "states_yog_window"]).reset_index(drop=True),
        policy_notes=unknown_policies(frame, listed, c["yog_after_years"]),
        notes=_notes(ctx, counts, listed, rules) + season_notes(schedule, date.today()),
    )
    if plan:
        rec.plan = build_plan(rec, profile, data, as_of_year=as_of_year, settings=settings)
    return rec


def band_words(likely: float, target: float) -> dict[str, str]:
    return {
        "likely": f"P(interview) at least {likely:.0%}: about one interview per {1 / likely:.0f} such applications or better",
        "target": f"P(interview) {target:.0%} to {likely:.0%}",
        "reach": f"P(interview) below {target:.0%}",
        "excluded": "a hard exclusion applies (P = 0)",
    }


def eras_season(day: date) -> int:
    """The ERAS season applications open for on ``day``: season N opens in June of year N - 1
    (the 2026 season's applications went out from June 2025 for residency starting July 2026)."""
    return day.year + 1 if day.month >= 6 else day.year


def season_notes(schedule: FeeSchedule, day: date) -> list[str]:
    """Say when the fee schedule or FREIDA's accepting flags are of an earlier season than the
    one applications are open for on ``day``."""
    season = eras_season(day)
    out = []
    m = re.search(r"(\d{4})", schedule.season)
    if m and int(m.group(1)) < season:
        out.append(f"the fee schedule is the {schedule.season}'s (as of {schedule.as_of}); on {day.isoformat()} applications are for the {season} ERAS season: fees may have changed")
    first, last = FREIDA_ACCEPTING_YEAR
    if season > first:
        out.append(f"FREIDA's accepting-applications flags are for the {first}-{last} academic year (its snapshot); for residency starting in {season}, confirm each program is recruiting")
    return out


def fee_summary(schedule: FeeSchedule, n: int, article: Any, budget: float | None) -> dict[str, Any]:
    out = {
        "programs": n, "usd": schedule.cost(n), "usd_at_article_min": schedule.cost(article.min),
        "usd_at_article_max": schedule.cost(article.max), "season": schedule.season, "as_of": schedule.as_of,
        "source": schedule.source, "url": schedule.url, "budget_usd": budget,
        "budget_covers": schedule.covers(budget) if budget is not None else None,
        "note": "AAMC application fees only: ECFMG's fees for IMGs (ERAS token, USMLE transcript) are extra",
    }
    return out
