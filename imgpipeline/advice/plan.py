"""Your next steps: the article's remedies as a personal plan, with what each would change.

For every risk factor that fired and every readiness gap, the rulebook's ``plan`` section names
the article's remedy (quoted, with its section). Each step is made personal from the profile
and the published data (months of USCE stated, letters, failures, the sponsors of the listed
programs in the preferred states...) and, where the step implies a changed profile (3 more
months of hands-on USCE, Step 3 passed, J-1 flexibility, 40 more applications...), that profile
is re-run through the same interview-chance model (``advice.recommend``): the change in tier,
programs open, expected interviews and P(match | list) with its band, at the applicant's list
size. Where the model has no term for a step, its effect says so (``cannot_size``) and carries
no number. A profile with no factor and no gap gets no step.

``build_plan`` is called by ``recommend``; ``plan_rows`` turns a recommendation's plan into one
row per applicant x step (for the batch output).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from imgpipeline.advice import core, lists, outcome
from imgpipeline.advice.profile import VISA_LABEL, ApplicantProfile, parse_profile
from imgpipeline.advice.published import Published
from imgpipeline.advice.risk import Clause, as_values, holds_all
from imgpipeline.rulebook import Rulebook
from imgpipeline.settings import Settings, given
from imgpipeline.text import pct

if TYPE_CHECKING:
    from imgpipeline.advice.recommend import Recommendation

CHANGE_KEYS = (
    "usce_hands_on_months", "recent_clinical_work", "us_im_letters", "step3_passed", "visa_need",
    "unexplained_gaps", "season_later_years", "applications_add",
)


# --------------------------------------------------------------------------------------------
# The rulebook's ``plan`` section.
# --------------------------------------------------------------------------------------------


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Quote(_Frozen):
    text: str
    section: str


class Condition(_Frozen):
    """One of the FAQ's conditions for delaying a year; ``when`` empty: not checkable here."""

    id: str
    article: str
    when: tuple[Clause, ...] = ()
    checks: str

    def holds(self, applicant: pd.DataFrame | Mapping[str, Any]) -> bool | None:
        """On one profile's typed values (``applicant.applicant_values``; or row 0 of a frame)."""
        if not self.when:
            return None
        return holds_all(self.when, as_values(applicant))


class StepRule(_Frozen):
    id: str
    title: str
    answers: tuple[str, ...] = Field(min_length=1)
    when: tuple[Clause, ...] = ()
    quotes: tuple[Quote, ...] = Field(min_length=1)
    change: dict[str, Any] | None = None
    change_when: tuple[Clause, ...] = ()
    conditions: tuple[Condition, ...] = ()

    @model_validator(mode="after")
    def _change(self) -> StepRule:
        unknown = set(self.change or {}) - set(CHANGE_KEYS)
        if unknown:
            raise ValueError(f"plan step {self.id}: unknown change keys {sorted(unknown)} (known: {CHANGE_KEYS})")
        return self

    def applies(self, applicant: pd.DataFrame | Mapping[str, Any]) -> bool:
        return holds_all(self.when, as_values(applicant))

    def sizable(self, applicant: pd.DataFrame | Mapping[str, Any]) -> bool:
        return self.change is not None and holds_all(self.change_when, as_values(applicant))


class Negligible(_Frozen):
    p_match: float
    expected_interviews: float
    eligible: int


class PlanRules(_Frozen):
    cannot_size: str
    negligible: Negligible
    steps: tuple[StepRule, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _ids(self) -> PlanRules:
        ids = [s.id for s in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError("plan.steps ids repeat")
        return self


def plan_rules(settings: Settings) -> PlanRules:
    """The ``plan`` section, checked: every id a step answers is a risk factor or a readiness
    gap of the rulebook."""
    return settings.rulebook.derive(_plan_rules)


def _plan_rules(book: Rulebook) -> PlanRules:
    """Validated and checked once per rulebook object (once per settings object)."""
    rules = PlanRules.model_validate(book.section("plan"))
    known = {f["id"] for f in book.section("risk")["factors"]} | {r["id"] for r in book.section("readiness")}
    for s in rules.steps:
        unknown = set(s.answers) - known
        if unknown:
            raise ValueError(f"plan step {s.id} answers unknown factors or gaps {sorted(unknown)}")
    return rules


# --------------------------------------------------------------------------------------------
# The plan.
# --------------------------------------------------------------------------------------------


@dataclass
class Figures:
    """What one profile's re-run gives, at a list size."""

    tier: str
    tier_label: str
    eligible: int
    programs: int
    expected_interviews: float
    p_match: float
    p_match_low: float
    p_match_high: float


@dataclass
class Effect:
    """What a step would change: ``sized`` with before / after figures, or the reason it is not."""

    sized: bool
    says: str
    change: str = ""
    before: Figures | None = None      # your list as it is
    after: Figures | None = None       # the changed profile, at your list size (+ added applications)
    after_list: Figures | None = None  # the changed profile's own list (the size recommend picks for it)

    @property
    def delta_p_match(self) -> float:
        """The change in P(match | list), from your list to the list the changed profile gets."""
        return self.after_list.p_match - self.before.p_match if self.after_list and self.before else 0.0

    @property
    def delta_eligible(self) -> int:
        return self.after.eligible - self.before.eligible if self.after and self.before else 0

    @property
    def delta_interviews(self) -> float:
        return self.after_list.expected_interviews - self.before.expected_interviews if self.after_list and self.before else 0.0

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"sized": self.sized, "says": self.says, "change": self.change}
        for name in ("before", "after", "after_list"):
            fig = getattr(self, name)
            out[name] = None if fig is None else {k: (round(v, 3) if isinstance(v, float) else v) for k, v in vars(fig).items()}   # Figures holds plain values: no deep copy
        if self.sized:
            out["delta"] = {
                "p_match": round(self.delta_p_match, 3),
                "eligible": self.delta_eligible,
                "expected_interviews": round(self.delta_interviews, 2),
            }
        return out


@dataclass
class Step:
    """One step of the plan: the remedy, the factors it answers, the article, made personal,
    and what it would change."""

    id: str
    title: str
    answers: list[dict[str, str]]
    quotes: list[dict[str, str]]
    personal: list[str]
    effect: Effect
    conditions: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "answers": self.answers, "quotes": self.quotes,
            "personal": self.personal, "effect": self.effect.as_dict(), "conditions": self.conditions,
        }


@dataclass
class Plan:
    steps: list[Step]

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.steps]

    def step(self, id: str) -> Step:
        return next(s for s in self.steps if s.id == id)

    def as_dicts(self) -> list[dict[str, Any]]:
        return [s.as_dict() for s in self.steps]


# --------------------------------------------------------------------------------------------
# Outcomes at a list size, from a recommendation's own chances.
# --------------------------------------------------------------------------------------------


def candidate_chances(rec: Recommendation, preferred_log_odds: float) -> pd.DataFrame:
    """The programs a list draws from (listed, then beyond the list), in the list's order: the
    listed ones by rank, the rest by the ranking key (log-odds + the preferred-state bonus)."""
    t = rec.all_programs
    cand = t[t["status"].isin(["listed", "beyond_list"])].copy()
    key = lists.key_from_chance(cand["p_interview"].to_numpy(dtype=float), cand["preferred_state"].astype(bool).to_numpy(), preferred_log_odds)
    cand["_listed"] = cand["status"].eq("listed")
    cand["_rank"] = np.where(cand["_listed"], cand["rank"], 1 << 30)
    cand["_key"] = -key
    return cand.sort_values(["_rank", "_key"], kind="stable").drop(columns=["_listed", "_rank", "_key"]).reset_index(drop=True)


def outcome_at(rec: Recommendation, data: Published, n: int, preferred_log_odds: float) -> outcome.Outcome | None:
    """The outcome of the first ``n`` programs of the applicant's ranking (fewer if fewer
    qualify); None when no program qualifies."""
    cand = candidate_chances(rec, preferred_log_odds)
    n = min(n, len(cand))
    if n <= 0:
        return None
    cols = [cand[c].to_numpy(dtype=float) for c in ("p_interview", "p_interview_low", "p_interview_high")]
    return outcome.size_curve(*cols, data.ranks, np.array([n]))[0]


# --------------------------------------------------------------------------------------------
# The changed profile a step implies.
# --------------------------------------------------------------------------------------------


def changed_profile(profile: ApplicantProfile, change: dict[str, Any], settings: Settings) -> tuple[ApplicantProfile, int, list[str]]:
    """The profile as the step says (validated again), the seasons later it is assessed, and
    the change in words. Unknown stays unknown: a change never fills a field the profile left
    out (USCE months not stated stay not stated). The profile's fields are validated again as
    ``parse_profile`` reads a mapping, but the Steps and USCE it leaves as they were are passed
    as the models they are (pydantic does not validate a model instance again): the same
    profile as validating its whole ``model_dump()``, without checking them twice."""
    d = dict(profile.__dict__)   # the fields as they are (what iterating the model gives, without its cost)
    words: list[str] = []
    later = 0
    for key, how in change.items():
        if key == "usce_hands_on_months":
            if profile.usce is None:
                continue
            before = profile.usce.hands_on_months
            d["usce"] = {**profile.usce.model_dump(), "hands_on_months": before + how["add"]}
            words.append(f"+{how['add']:g} months of hands-on USCE ({before + how['add']:g} in all)")
        elif key == "recent_clinical_work":
            if d["recent_clinical_work"] is False and how is True:
                d["recent_clinical_work"] = True
                words.append("recent clinical work")
        elif key == "us_im_letters":
            if d["us_im_letters"] is not None and d["us_im_letters"] < how["at_least"]:
                d["us_im_letters"] = how["at_least"]
                words.append(f"{how['at_least']} letters from US IM attendings")
        elif key == "step3_passed":
            s3 = profile.step3
            if how and not (s3.taken and s3.passed):
                attempts = s3.attempts + 1 if s3.taken else 1
                d["step3"] = {"taken": True, "passed": True, "attempts": attempts, "score": None}
                words.append("Step 3 passed")
        elif key == "visa_need":
            if d["visa_need"] != how:
                words.append(f"visa need {VISA_LABEL[d['visa_need']]} -> {VISA_LABEL[how]}")
                d["visa_need"] = how
        elif key == "unexplained_gaps":
            if d["unexplained_gaps"] is True and how is False:
                d["unexplained_gaps"] = False
                words.append("gaps explained")
        elif key == "season_later_years":
            later = int(how)
            words.insert(0, f"applying {later} season(s) later")
    return parse_profile(d, "changed profile", settings), later, words


# --------------------------------------------------------------------------------------------
# Made personal.
# --------------------------------------------------------------------------------------------


def _sponsors_in_preferred(rec: Recommendation, profile: ApplicantProfile) -> str:
    """Where to look for a rotation at a site affiliated with an ACGME IM program: the listed
    programs (each one is) in the preferred states, and their distinct institutions (the first
    line of the ACGME address: the sponsoring institution or site)."""
    listing = rec.listing
    js = listing.listed
    if not len(js):
        return "No program qualifies for your list, so it names no institution to approach."
    site = _program_sites(listing.s.prep)[js].tolist()
    if profile.preferred_states:
        where = listing.s.preferred[0, js]
        names = ", ".join(x if x.isupper() else x.title() for x in profile.preferred_states)
        k, m = len({x for x, w in zip(site, where, strict=True) if w and x is not None}), int(where.sum())
        return (
            f"Places to look: {m} of your {len(js)} listed programs are in your preferred states ({names}), "
            f"at {k} institutions (ACGME's address line) that run ACGME-accredited IM programs: a rotation whose "
            "faculty teach there meets the article's affiliation point."
        )
    k = len({x for x in site if x is not None})
    return (
        f"Places to look: your {len(js)} listed programs are at {k} institutions (ACGME's address line) that run "
        "ACGME-accredited IM programs; state preferred states to narrow them to where you can rotate."
    )


def _program_sites(prep: core.Prepared) -> np.ndarray:
    """Each program's institution (``_institutions``; None where the version has none), in the
    version's order: looked up once per prepared version, not per listed program per plan."""
    hit = prep.cache.get("program_sites")
    if hit is None:
        sites = _institutions(str(prep.data.folder))
        hit = prep.cache["program_sites"] = np.array([sites.get(x) for x in prep.data.programs.acgme_id.tolist()], dtype=object)
    return hit


@functools.lru_cache(maxsize=4)
def _institutions(folder: str) -> dict[str, str]:
    """acgme_id -> the first line of the ACGME address (institution or site), from the
    version's published ``programs`` table; empty if the version has none."""
    from imgpipeline.store import has_table, read_table

    if not has_table("programs", Path(folder)):
        return {}
    t = read_table("programs", version=Path(folder), columns=["acgme_id", "site"])
    t = t[t["site"].notna()]
    return dict(zip(t["acgme_id"].astype(str), t["site"].astype(str), strict=True))


def _personal(rule: StepRule, rec: Recommendation, profile: ApplicantProfile, row: Mapping[str, Any], effect: Effect) -> list[str]:
    a = rec.assessment
    out: list[str] = []
    sid = rule.id
    if sid == "usce":
        u = profile.usce
        if u is None:
            out.append("You do not state your USCE; the article's aim is 3-4 months, hands-on, IM-focused.")
        elif u.total_months <= 0:
            out.append("You state no US clinical experience: the article calls strong USCE often the single most powerful way to improve your chances.")
        else:
            out.append(f"You state {u.hands_on_months:g} months of hands-on USCE and {u.observership_months:g} of observership; the article ranks hands-on rotations above observerships.")
        if profile.recent_clinical_work is False:
            out.append("You state no recent clinical work: US rotations are recent clinical training too.")
        out.append(_sponsors_in_preferred(rec, profile))
    elif sid == "letters":
        out.append(f"You state {profile.us_im_letters} letter(s) from US IM attendings; the article asks for at least two of 3-4, one preferably from a PD, APD, clerkship director or core faculty.")
        if profile.usce is not None and profile.usce.hands_on_months <= 0:
            out.append("Letters come from hands-on rotations: ask early about evaluations on the USCE step above.")
    elif sid == "step2ck_redemption":
        s1 = profile.step1
        if s1 is not None and s1.failures:
            out.append(f"Your Step 1 shows {s1.failures} failed attempt(s): a strong Step 2 CK is the article's way to show upward trajectory.")
        elif s1 is not None and s1.score is not None:
            out.append(f"Your Step 1 is {s1.score}: Step 2 CK is the score programs now weigh most.")
        out.append("Your chances here count Step 2 CK at the typical applicant's score: they move with the score you get.")
    elif sid == "pass_required_steps":
        gaps = [r.says for r in rec.readiness if r.id in rule.answers]
        out.append("Outstanding: " + "; ".join(gaps) + ". The chances assume it is done before programs review applications.")
    elif sid == "step3":
        if profile.visa_need == "h1b":
            out.append("You need an H-1B only and have not passed Step 3: the model counts that against you at every program that sponsors H-1B.")
        years = int(row["years_since_graduation"])
        if years > 5 or (row["graduation_to_step2ck_years"] is not None and row["graduation_to_step2ck_years"] > 2):
            out.append(f"You are {years} years from graduation: Step 3 shows ongoing academic engagement, but the article warns it rarely erases failures.")
    elif sid in ("visa_j1_flexibility", "visa_also_h1b"):
        if effect.sized and effect.before and effect.after:
            gain = effect.after.eligible - effect.before.eligible
            out.append(
                f"With {VISA_LABEL[profile.visa_need]} only, {effect.before.eligible} programs are open to you; with J-1 or H-1B, "
                f"{effect.after.eligible} would be ({gain:+d} programs)."
            )
    elif sid == "explain_gaps":
        out.append("You state significant unexplained gaps: say in your ERAS experiences and statement what you did in them.")
    elif sid == "apply_broadly":
        out.append(f"Your list: {rec.size['programs']} programs ({rec.size['compared_with_article']}); the article for your tier: {a.list_size.text()}, {a.list_size.mix}.")
    elif sid == "personal_statement":
        out.append("Write one or two sentences: the factual cause, what you learned, the evidence of improvement (a better Step 2 CK, US evaluations); no more.")
    elif sid == "interview_answer":
        out.append("Three parts, in order: 1. acknowledge without defensiveness; 2. concise context, not excuses; 3. transition to evidence of growth (your USCE feedback, a better score).")
    elif sid == "low_score_evidence":
        if profile.step2ck is not None:
            out.append(f"Your Step 2 CK is {profile.step2ck.score}: strong IM evaluations and letters that speak to clinical reasoning are how the article says to offset it.")
    elif sid == "research":
        out.append("You state no research output; the data here (Charting Outcomes 2026) shows research counts that do not separate matched from unmatched non-US IMGs.")
    elif sid == "delay_year":
        years = int(row["years_since_graduation"])
        out.append(f"You are {years} years from graduation; a year's delay makes it {years + 1}" + (
            " and crosses the article's YOG > 5." if years <= 5 < years + 1 else "."))
    return out


# --------------------------------------------------------------------------------------------
# Building the plan.
# --------------------------------------------------------------------------------------------


def _change_words(words: list[str], later: int, add: int | None, n: int, n_after: int | None) -> str:
    out = list(words)
    if add and n_after == n:
        out.append(f"{add} more applications: no more programs qualify beyond your {n}")
    elif add:
        out.append(f"{add} more applications down the same ranking ({n} -> {n_after})")
    return ", ".join(out) if out else "nothing to change"


def _n(x: float) -> str:
    return f"{x:.1f}" if x >= 0.1 or x == 0 else f"{x:.2f}"


def _p(f: Figures) -> str:
    return f"P(match | list) {pct(f.p_match)} ({pct(f.p_match_low)}-{pct(f.p_match_high)})"


def _effect_text(e: Effect, rules: PlanRules) -> str:
    b, a, own = e.before, e.after, e.after_list
    assert b is not None and a is not None and own is not None
    neg = rules.negligible
    tier = f"tier {b.tier_label}" + (" (unchanged)" if a.tier == b.tier else f" -> {a.tier_label}")
    elig = f"programs open to you {b.eligible} -> {a.eligible} ({a.eligible - b.eligible:+d})"
    same = (
        f"your list of {b.programs}: {_n(b.expected_interviews)} expected interviews, {_p(b)} -> "
        + (f"at {a.programs} programs: " if a.programs != b.programs else "")
        + f"{_n(a.expected_interviews)}, {_p(a)}"
    )
    out = f"{tier}; {elig}; {same}"
    if own.programs != a.programs:
        out += f"; the list it would give you ({own.programs} programs): {_n(own.expected_interviews)} expected interviews, {_p(own)}"
    small = all(
        abs(x.p_match - b.p_match) < neg.p_match and abs(x.expected_interviews - b.expected_interviews) < neg.expected_interviews
        for x in (a, own)
    )
    if small and abs(e.delta_eligible) < neg.eligible and a.tier == b.tier:
        out = "re-run through the model, this changes almost nothing for you: " + out
    return out


@dataclass
class Pending:
    """A step of the plan before its numbers: the rule, the factors and gaps it answers, and
    either its effect already (not sizable, not sized) or the changed profile it re-runs
    (``changed``: None when the change leaves the profile as it is; ``run``: its row among the
    scored applicants)."""

    rule: StepRule
    answers: list[dict[str, str]]
    effect: Effect | None = None
    changed: core.Applicant | None = None
    later: int = 0
    words: list[str] = field(default_factory=list)
    add: int | None = None
    run: int = 0


def pending_steps(main: core.Applicant, prep: core.Prepared, settings: Settings | None = None, sized: bool = True) -> list[Pending]:
    """The steps whose factors or gaps fired for ``main``, with the changed profile each sized
    step implies (assessed, not yet scored; the rules of ``settings``, else of ``prep``'s)."""
    settings = settings or prep.settings
    rules = plan_rules(settings)
    year = main.as_of_year or date.today().year
    fired = {f.id: f.says for f in main.assessment.factors + main.assessment.notes}
    fired |= {r.id: r.says for r in main.readiness}
    out = []
    for rule in rules.steps:
        answers = [{"id": i, "says": fired[i]} for i in rule.answers if i in fired]
        if not answers or not rule.applies(main.row):
            continue
        step = Pending(rule, answers)
        if not sized and rule.change is not None:
            step.effect = Effect(sized=False, says="not sized in this run (sized=False)")
        elif rule.sizable(main.row):
            changed, step.later, step.words = changed_profile(main.profile, rule.change or {}, settings)
            step.add = (rule.change or {}).get("applications_add")
            if changed != main.profile or step.later:
                step.changed = core.applicant(changed, year + step.later, prep, like=main)
        else:
            step.effect = Effect(sized=False, says=rules.cannot_size)
        out.append(step)
    return out


def runs_of(main: core.Applicant, steps: list[Pending]) -> list[core.Applicant]:
    """The applicants to score: ``main`` (row 0), then each distinct changed profile (setting
    each step's ``run``)."""
    who = [main]
    for s in steps:
        if s.changed is not None:
            same = (g for g, a in enumerate(who) if g and a.as_of_year == s.changed.as_of_year and a.profile == s.changed.profile)
            s.run = next(same, len(who))
            if s.run == len(who):
                who.append(s.changed)
    return who


def _figures(s: core.Scored, g: int, n: int | None) -> Figures:
    """Applicant g's figures at ``n`` programs down its ranking (``outcome_at``), or (``n``
    None) for its own list."""
    if n is None:
        k = s.choice(g).n
        o = s.outcome(g, k) if k > 0 else None
    else:
        o = s.outcome_down(g, n)
    a = s.who[g].assessment
    return Figures(
        tier=a.tier, tier_label=a.label, eligible=s.eligible(g),
        programs=o.n if o else 0, expected_interviews=o.expected_interviews if o else 0.0,
        p_match=o.p_match if o else 0.0, p_match_low=o.p_match_low if o else 0.0, p_match_high=o.p_match_high if o else 0.0,
    )


def finish_plan(rec: Recommendation, s: core.Scored, steps: list[Pending], settings: Settings | None = None) -> Plan:
    """The plan from its pending steps and the scored applicants (row 0: ``rec``'s own; the
    others: the changed profiles, as ``recommend`` would score each alone)."""
    rules = plan_rules(settings or s.prep.settings)
    main = s.who[0]
    n = int(rec.size["programs"])
    before = _figures(s, 0, n)  # no program qualifies: zeros, and a step may still open some
    out: list[Step] = []
    for p in steps:
        effect = p.effect
        if effect is None:
            after = _figures(s, p.run, n + (p.add or 0))
            own = after if p.add else _figures(s, p.run, None)
            effect = Effect(sized=True, says="", change=_change_words(p.words, p.later, p.add, n, after.programs),
                            before=before, after=after, after_list=own)
            effect.says = _effect_text(effect, rules)
        conditions = [{"id": c.id, "article": c.article, "holds": c.holds(main.row), "checks": c.checks} for c in p.rule.conditions]
        out.append(Step(
            id=p.rule.id, title=p.rule.title, answers=p.answers,
            quotes=[{"text": q.text, "section": q.section} for q in p.rule.quotes],
            personal=_personal(p.rule, rec, main.profile, main.row, effect), effect=effect, conditions=conditions,
        ))
    order = {r.id: i for i, r in enumerate(rules.steps)}
    out.sort(key=lambda s: (
        not s.effect.sized, -round(s.effect.delta_p_match, 4), -s.effect.delta_eligible,
        -round(s.effect.delta_interviews, 3), order[s.id],
    ))
    return Plan(out)


def build_plan(
    rec: Recommendation,
    profile: ApplicantProfile,
    data: Published,
    *,
    as_of_year: int | None = None,
    settings: Settings | None = None,
    sized: bool = True,
) -> Plan:
    """The plan for one applicant whose recommendation is ``rec`` (built from ``data``):
    one step per remedy whose factors or gaps fired, sized by re-running the model on the
    changed profiles (all at once, with the applicant's own: ``core.score``; ``sized=False``
    skips the re-runs and says so). ``recommend`` scores them with the applicant directly.
    The rules are those of ``settings`` (the environment's without, read for this call)."""
    settings = given(settings)
    prep = core.prepare(data, settings)
    main = core.applicant(profile, as_of_year, prep)
    steps = pending_steps(main, prep, settings, sized)
    return finish_plan(rec, core.score(prep, runs_of(main, steps)), steps, settings)


def plan_csv_rows(rec: Recommendation) -> pd.DataFrame:
    """``plan_rows`` for plan.csv: the ids answered '|'-joined, the quotes as '"text" (section)'
    joined by ' | '."""
    rows = plan_rows(rec)
    rows["answers"] = rows["answers"].map("|".join)
    rows["quotes"] = rows["quotes"].map(lambda qs: " | ".join(f"\"{q['text']}\" ({q['section']})" for q in qs))
    return rows


def plan_rows(rec: Recommendation) -> pd.DataFrame:
    """One row per applicant x step of ``rec.plan`` (for the batch output): the step, the ids of
    the factors and gaps it answers (a list), its article quotes with their sections (records), the personal
    lines, whether the model sized it and the before / after figures (missing when not sized)."""
    cols = [
        "profile_id", "step_order", "step_id", "title", "answers", "quotes", "personal", "sized", "effect", "change",
        "tier_before", "tier_after", "eligible_before", "eligible_after", "programs_before", "programs_after",
        "expected_interviews_before", "expected_interviews_after", "p_match_before", "p_match_after",
        "p_match_low_after", "p_match_high_after", "programs_after_list", "expected_interviews_after_list",
        "p_match_after_list", "p_match_low_after_list", "p_match_high_after_list", "published_version",
    ]
    rows = []
    for i, s in enumerate(rec.plan.steps if rec.plan else [], start=1):
        b, a, own = s.effect.before, s.effect.after, s.effect.after_list
        rows.append({
            "profile_id": rec.profile_id, "step_order": i, "step_id": s.id, "title": s.title,
            "answers": [x["id"] for x in s.answers],
            "quotes": [{"text": q["text"], "section": q["section"]} for q in s.quotes],
            "personal": " ".join(s.personal), "sized": s.effect.sized, "effect": s.effect.says, "change": s.effect.change,
            "tier_before": b.tier if b else None, "tier_after": a.tier if a else None,
            "eligible_before": b.eligible if b else None, "eligible_after": a.eligible if a else None,
            "programs_before": b.programs if b else None, "programs_after": a.programs if a else None,
            "expected_interviews_before": b.expected_interviews if b else None,
            "expected_interviews_after": a.expected_interviews if a else None,
            "p_match_before": b.p_match if b else None, "p_match_after": a.p_match if a else None,
            "p_match_low_after": a.p_match_low if a else None, "p_match_high_after": a.p_match_high if a else None,
            "programs_after_list": own.programs if own else None,
            "expected_interviews_after_list": own.expected_interviews if own else None,
            "p_match_after_list": own.p_match if own else None,
            "p_match_low_after_list": own.p_match_low if own else None,
            "p_match_high_after_list": own.p_match_high if own else None,
            "published_version": rec.version,
        })
    return pd.DataFrame(rows, columns=cols).astype({
        "step_order": "Int64", "sized": "boolean", "eligible_before": "Int64", "eligible_after": "Int64",
        "programs_before": "Int64", "programs_after": "Int64", "expected_interviews_before": "Float64",
        "expected_interviews_after": "Float64", "p_match_before": "Float64", "p_match_after": "Float64",
        "p_match_low_after": "Float64", "p_match_high_after": "Float64", "programs_after_list": "Int64",
        "expected_interviews_after_list": "Float64", "p_match_after_list": "Float64",
        "p_match_low_after_list": "Float64", "p_match_high_after_list": "Float64",
    })
