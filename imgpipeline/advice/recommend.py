"""One applicant's advice: risk tier, P(interview) at every program, the list by expected value,
how many interviews it should bring, P(match | list), the size curve, readiness and unknowns.

``recommend(profile, source)`` reads one published version only (``advice.published``, its
arrays prepared once per version: ``advice.core.prepare``), assesses risk once from the
profile's values (``risk.assess_values``: no frame), scores the profile and the changed
profiles its plan re-runs in one pass (``advice.core.score``: one ``model.compute_terms``, one
ranking, one outcome recursion), sizes and explains. The list and every program are kept as
arrays (``advice.listing``): ``to_json`` reads them, the frames are built when first read.
Imports neither Prefect, GX nor scikit-learn: this is what an applicant (or an app) waits on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from imgpipeline.advice import core, lists, outcome
from imgpipeline.advice.csv_out import write_csv
from imgpipeline.advice.fees import FeeSchedule
from imgpipeline.advice.listing import Listing, program_columns
from imgpipeline.advice.model import exclusions
from imgpipeline.advice.plan import Plan, finish_plan, pending_steps, plan_csv_rows, runs_of
from imgpipeline.advice.profile import ApplicantProfile
from imgpipeline.advice.published import Published, load_published
from imgpipeline.advice.readiness import Readiness, unknown_policies
from imgpipeline.advice.risk import RiskAssessment
from imgpipeline.settings import Settings, given
from imgpipeline.vocabulary import FREIDA_ACCEPTING_YEAR


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
    listing: Listing = field(repr=False)   # every program's chance, status and rank (arrays)
    policy_notes: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    plan: Plan | None = None        # your next steps (advice.plan)

    @property
    def programs(self) -> pd.DataFrame:
        """The list, ranked, with each program's reasons (a frame built when first read)."""
        return self.listing.programs()

    @property
    def all_programs(self) -> pd.DataFrame:
        """Every program with its status and chance (a frame built when first read)."""
        return self.listing.all_programs()

    @property
    def tier(self) -> str:
        return self.assessment.tier

    @property
    def n_listed(self) -> int:
        return len(self.listing.listed)

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
        """The summary and the list (``programs`` as JSON records, contributions as lists)."""
        return {**self.summary(), "list": self.listing.records()}

    def json_bytes(self) -> bytes:
        """``to_json()`` as compact JSON bytes (orjson; values ``default=str`` as the CLI's file),
        the list written from the arrays (``Listing.list_json``) after the summary's text, as
        ``orjson.dumps`` writes ``{**summary, "list": ...}`` (the list's key last)."""
        summary = orjson.dumps(self.summary(), default=str)
        return self.listing.list_json(summary[:-1] + b',"list":', b"}")

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
        # orjson (the web API's writer too): the same object, a tenth of the json module's time.
        files["json"].write_bytes(orjson.dumps(self.to_json(), default=str, option=orjson.OPT_INDENT_2))
        write_csv(self.all_programs, files["all_programs"])
        write_csv(pd.DataFrame([o.as_dict() for o in self.size_curve]), files["size_curve"])
        files["size_curve_svg"].write_text(size_curve_svg(self))
        write_csv(plan_csv_rows(self), files["plan"])
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


def _counts(s: core.Scored, status: np.ndarray) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    ex = {k: int(v[0].sum()) for k, v in s.terms.excluded.items()}
    by_status = np.bincount(status, minlength=len(lists.STATUS)).tolist()   # programs per status, counted at once
    left = {k: by_status[lists.STATUS.index(k)] for k in lists.LEFT_OUT_TEXT}
    counts = {
        "published": s.prep.data.n,
        "eligible": s.eligible(0),
        "candidates": by_status[lists.BEYOND] + by_status[lists.LISTED],
        "listed": by_status[lists.LISTED],
        "beyond_list": by_status[lists.BEYOND],
    }
    return counts, ex, left


def _notes(s: core.Scored, counts: dict[str, int], listing: Listing) -> list[str]:
    notes = []
    prof, rules, data = s.who[0].profile, s.prep.rules, s.prep.data
    if prof.preferred_states:
        notes.append(
            f"preferred states ({', '.join(x if x.isupper() else x.title() for x in prof.preferred_states)}): "
            f"{int(s.preferred[0, listing.listed].sum())} listed; a preference adds {rules.preferred_state_log_odds:g} "
            "to a program's ranking key (log-odds), never to its chance, band or exclusions"
        )
    if prof.visa_need == "h1b":
        either = exclusions(data.coefficients, data.programs, s.applicants.take(slice(0, 1)).with_visa("either"))
        notes.append(
            f"H-1B only: {counts['eligible']} programs are open to you; with J-1 or H-1B, "
            f"{data.n - int(np.logical_or.reduce(list(either.values()))[0].sum())} would be (the article: 'If you require H-1B only, your pool "
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
    with this one in one pass: ``core.score``). The rules are those of ``settings`` (else of
    ``source`` when it is settings, else the environment's, read for this call: a caller
    advising many applicants passes its settings)."""
    settings = given(settings, source)
    data = source if isinstance(source, Published) else load_published(source)
    prep = core.prepare(data, settings)
    main = core.applicant(profile, as_of_year, prep)
    steps = pending_steps(main, prep, settings) if plan else []
    rec = _recommendation(core.score(prep, runs_of(main, steps)))
    if plan:
        rec.plan = finish_plan(rec, rec.listing.s, steps, settings)
    rec.listing.s.release()
    return rec


def _recommendation(s: core.Scored) -> Recommendation:
    """Row 0 of ``s`` as a recommendation (without its plan)."""
    prep, main = s.prep, s.who[0]
    data, profile, assessment, c = prep.data, main.profile, main.assessment, prep.data.coefficients
    choice = s.choice(0)
    display = _display(s)
    listing = Listing.of(s, choice.n)
    chosen = next((o for o in display if o.n == choice.n), None)
    counts, excluded, left_out = _counts(s, listing.status)
    cols = {k: v[listing.listed] for k, v in program_columns(prep).items() if k in ("states_failed_attempts_policy", "states_yog_window")}
    return Recommendation(
        profile_id=profile.profile_id, version=data.version, version_dir=data.folder, assessment=assessment,
        readiness=main.readiness, not_stated=profile.not_stated, counts=counts, excluded=excluded, left_out=left_out,
        size=_size_words(choice, assessment.list_size, chosen, display),
        outcome=chosen, size_curve=display, bands=band_words(c["band_likely"], c["band_target"]),
        fee=fee_summary(prep.schedule, choice.n, assessment.list_size, profile.budget_usd, s.covers(profile.budget_usd)),
        sources=dict(prep.sources), listing=listing,
        policy_notes=unknown_policies(main.row, cols, c["yog_after_years"]),
        notes=_notes(s, counts, listing) + season_notes(prep.schedule, date.today()),
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


def fee_summary(schedule: FeeSchedule, n: int, article: Any, budget: float | None, covers: int | None = None) -> dict[str, Any]:
    """The fees of ``n`` programs and of the article's range, and what ``budget`` covers
    (``covers``: ``schedule.covers(budget)`` when the caller has it already)."""
    if budget is not None and covers is None:
        covers = schedule.covers(budget)
    out = {
        "programs": n, "usd": schedule.cost(n), "usd_at_article_min": schedule.cost(article.min),
        "usd_at_article_max": schedule.cost(article.max), "season": schedule.season, "as_of": schedule.as_of,
        "source": schedule.source, "url": schedule.url, "budget_usd": budget,
        "budget_covers": covers if budget is not None else None,
        "note": "AAMC application fees only: ECFMG's fees for IMGs (ERAS token, USMLE transcript) are extra",
    }
    return out
