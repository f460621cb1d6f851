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

from imgpipeline.advice import core, explain, lists, outcome
from imgpipeline.advice.model import band_of, compute_terms
from imgpipeline.advice.plan import Plan, finish_plan, pending_steps, plan_rows, runs_of
from imgpipeline.advice.published import Published, load_published
from imgpipeline.advice.readiness import Readiness, unknown_policies
from imgpipeline.applicant import ApplicantProfile
from imgpipeline.csv_out import write_csv
from imgpipeline.fees import FeeSchedule
from imgpipeline.risk import RiskAssessment
from imgpipeline.settings import Settings
from imgpipeline.vocabulary import BANDS, FREIDA_ACCEPTING_YEAR, PROGRAM_TIERS


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
    _scored: core.Scored | None = field(default=None, repr=False, compare=False)   # the arrays behind it

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


def _display(s: core.Scored) -> list[outcome.Outcome]:
    """The size curve shown: the rulebook's sizes up to the candidates, and the list's own."""
    cand, choice = s.cand[0], s.choice(0)
    if len(lists.size_grid(len(cand), s.prep.rules)) == 0:
        return []
    shown = sorted({x for x in s.prep.rules.curve_sizes if x <= len(cand)} | {choice.n} - {0})
    return [s.outcome(0, n) for n in shown]


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


def _table(s: core.Scored, rank: np.ndarray, status: np.ndarray, likely: float, target: float) -> pd.DataFrame:
    """Every program with its chance, band, status and (for listed ones) reasons."""
    data = s.prep.data
    ps, t = data.programs, data.programs.table
    band = np.array(BANDS, dtype=object)[band_of(s.p[0], s.excluded[0], likely, target)]
    df = pd.DataFrame({
        "rank": rank,
        "acgme_id": ps.acgme_id,
        "program_name": data.display_name,
        "city": t["city"].to_numpy(dtype=object),
        "state": t["state"].to_numpy(dtype=object),
        "program_tier": np.array(PROGRAM_TIERS, dtype=object)[ps.tier_idx],
        "img_share": t["img_share"].to_numpy(dtype=float),
        "img_share_basis": t["img_share_basis"].to_numpy(dtype=object),
        "p_interview": s.p[0],
        "p_interview_low": s.p_low[0],
        "p_interview_high": s.p_high[0],
        "band": band,
        "preferred_state": s.preferred[0],
        "status": np.array(lists.STATUS, dtype=object)[status],
        "exclusion_reasons": [explain.exclusion_text(s.terms, j) for j in range(ps.n)],
        "states_failed_attempts_policy": ps.excludes_failures,
        "states_yog_window": np.isin(ps.yog_tolerance, ["stated_limit", "stated_preference", "stated_no_limit"]),
        "acgme_snapshot": t["acgme_snapshot"].to_numpy(dtype=object),
        "freida_snapshot": t["freida_snapshot"].to_numpy(dtype=object),
    })
    df["published_version"] = data.version
    return df


def _explain_listed(s: core.Scored, listed: pd.DataFrame) -> pd.DataFrame:
    data = s.prep.data
    c, a, ps = data.coefficients, s.applicants, data.programs
    index = {pid: j for j, pid in enumerate(ps.acgme_id)}
    js = [index[x] for x in listed["acgme_id"]]
    contribs = explain.contributions_of(s.terms, c, a, ps, 0, js)
    listed = listed.copy()
    listed.insert(listed.columns.get_loc("band") + 1, "why", [explain.why(x, c["calibration_offset"]) for x in contribs])
    listed["cautions"] = ["; ".join(explain.cautions(a, ps, 0, j)) for j in js]
    listed["contributions"] = [json.dumps(x) for x in contribs]
    return listed


def _counts(s: core.Scored, status: np.ndarray) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    ex = {k: int(v[0].sum()) for k, v in s.terms.excluded.items()}
    left = {k: int((status == lists.STATUS.index(k)).sum()) for k in lists.LEFT_OUT_TEXT}
    n_excluded = int(s.excluded[0].sum())
    n = s.prep.data.n
    counts = {
        "published": n,
        "eligible": n - n_excluded,
        "candidates": int(((status == lists.BEYOND) | (status == lists.LISTED)).sum()),
        "listed": int((status == lists.LISTED).sum()),
        "beyond_list": int((status == lists.BEYOND).sum()),
    }
    return counts, ex, left


def _notes(s: core.Scored, counts: dict[str, int], listed: pd.DataFrame) -> list[str]:
    notes = []
    prof, rules, data = s.who[0].profile, s.prep.rules, s.prep.data
    if prof.preferred_states:
        notes.append(
            f"preferred states ({', '.join(x if x.isupper() else x.title() for x in prof.preferred_states)}): "
            f"{int(listed['preferred_state'].sum())} listed; a preference adds {rules.preferred_state_log_odds:g} "
            "to a program's ranking key (log-odds), never to its chance, band or exclusions"
        )
    if prof.visa_need == "h1b":
        either = compute_terms(data.coefficients, data.programs, s.applicants.take(slice(0, 1)).with_visa("either"))
        notes.append(
            f"H-1B only: {counts['eligible']} programs are open to you; with J-1 or H-1B, "
            f"{data.n - int(either.any_excluded[0].sum())} would be (the article: 'If you require H-1B only, your pool "
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
    next steps (``advice.plan``; each sized step re-runs the model on a changed profile, scored
    with this one in one pass: ``core.score``)."""
    settings = settings or (source if isinstance(source, Settings) else None)
    data = source if isinstance(source, Published) else load_published(source)
    prep = core.prepare(data, settings)
    main = core.applicant(profile, as_of_year, prep)
    steps = pending_steps(main, prep, settings) if plan else []
    rec = _recommendation(core.score(prep, runs_of(main, steps)))
    if plan:
        rec.plan = finish_plan(rec, rec._scored, steps, settings)
    return rec


def _recommendation(s: core.Scored) -> Recommendation:
    """Row 0 of ``s`` as a recommendation (without its plan)."""
    prep, main = s.prep, s.who[0]
    data, profile, assessment, c = prep.data, main.profile, main.assessment, prep.data.coefficients
    choice = s.choice(0)
    display = _display(s)
    rank, status = lists.take_top(s.order[:1], s.status[:1], np.array([choice.n]))
    rank, status = rank[0], status[0]
    table = _table(s, rank, status, c["band_likely"], c["band_target"])
    listed = _explain_listed(s, table[table["status"] == "listed"].sort_values("rank").reset_index(drop=True))
    chosen = next((o for o in display if o.n == choice.n), None)
    counts, excluded, left_out = _counts(s, status)
    order = np.lexsort((-s.p[0], np.where(rank > 0, rank, 1 << 30), status))
    return Recommendation(
        profile_id=profile.profile_id, version=data.version, version_dir=data.folder, assessment=assessment,
        readiness=main.readiness, not_stated=profile.not_stated, counts=counts, excluded=excluded, left_out=left_out,
        size=_size_words(choice, assessment.list_size, chosen, display),
        outcome=chosen, size_curve=display, bands=band_words(c["band_likely"], c["band_target"]),
        fee=fee_summary(prep.schedule, choice.n, assessment.list_size, profile.budget_usd),
        sources=dict(prep.sources), programs=listed,
        all_programs=table.iloc[order].drop(columns=["states_failed_attempts_policy", "states_yog_window"]).reset_index(drop=True),
        policy_notes=unknown_policies(main.row, listed, c["yog_after_years"]),
        notes=_notes(s, counts, listed) + season_notes(prep.schedule, date.today()),
        _scored=s,
    )


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
