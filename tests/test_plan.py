"""Your next steps (advice.plan): the rulebook's ``plan`` section against the article's own words
and examples, the changed profiles each step implies, and the plans of the docs' examples, a
profile with every factor and one with none on a real published version (each sized effect
checked against an independent re-run of the model), the batch rows and the HTML report."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from imgpipeline.advice import plan as pl
from imgpipeline.advice.model import compute_terms
from imgpipeline.advice.profile import applicant_frame, load_profile, parse_profile
from imgpipeline.advice.published import load_published
from imgpipeline.advice.recommend import recommend
from imgpipeline.advice.render import plan_lines
from imgpipeline.advice.report import report_html
from imgpipeline.advice.risk import assess, rules
from imgpipeline.cli import app
from imgpipeline.rulebook import section
from imgpipeline.settings import Settings

SETTINGS = Settings()  # the rules every call here is given

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"
YEAR = 2026
RULES = pl.plan_rules(SETTINGS)
CANNOT = RULES.cannot_size

# The article's examples, as profiles (season 2026).
# "Moderately low risk (e.g., Step 2 CK 220-225, no fails, strong USCE)" with a J-1 need: docs example 1.
# "Very high risk: Multiple USMLE failures; Long YOG plus visa requirement and no USCE": docs example 2.
NO_FACTOR = {  # none of the article's factors: CK 241, recent, hands-on USCE, 3 US IM letters, research
    "profile_id": "no-factor", "step1": {"passed": True}, "step2ck": {"score": 241, "year": 2025},
    "graduation_year": 2025, "usce": {"hands_on_months": 4}, "us_im_letters": 3, "research_items": 3,
    "visa_need": "none", "ecfmg_certified": True, "unexplained_gaps": False, "recent_clinical_work": True,
}
EVERY_FACTOR = {  # Step 1 failed twice (pass/fail era), CK not taken, 9 years out, H-1B, observerships only...
    "profile_id": "every-factor", "step1": {"passed": True, "attempts": 3}, "graduation_year": 2017,
    "usce": {"hands_on_months": 0, "observership_months": 2}, "us_im_letters": 1, "research_items": 0,
    "visa_need": "H-1B", "ecfmg_certified": False, "unexplained_gaps": True, "recent_clinical_work": False,
    "preferred_states": ["NY", "NJ"],
}
NO_USCE_J1 = {  # "You have no USCE and can secure several months ..." (FAQ 2); CK 214 ("<=215"), J-1
    "profile_id": "no-usce-j1", "step1": {"passed": True}, "step2ck": {"score": 214, "year": 2024},
    "graduation_year": 2023, "usce": {"hands_on_months": 0, "observership_months": 0}, "us_im_letters": 0,
    "visa_need": "J-1", "ecfmg_certified": True, "recent_clinical_work": True,
}


def _norm(text: str) -> str:
    for a, b in (("\u2013", "-"), ("\u2011", "-"), ("\u2014", "-"), ("\u2019", "'"), ("\u201c", '"'), ("\u201d", '"'), ("\u2265", ">=")):
        text = text.replace(a, b)
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def article() -> str:
    path = Path(Settings().source_dir).parent / "seed" / "000_88730210c215e5d1.txt"
    return _norm(path.read_text(encoding="utf-8"))


# ---- the rulebook section ----------------------------------------------------------------------


def test_every_quote_is_the_articles_own_words(article: str) -> None:
    """Each quote, split where the rulebook joins the article's bullets ("; ", ": "), is in the
    article word for word (dashes and quotes normalised), and each names its section."""
    for step in RULES.steps:
        quotes = [q.text for q in step.quotes] + [c.article for c in step.conditions]
        for q in quotes:
            for piece in re.split(r"[;:] ", _norm(q)):
                piece = piece.strip().rstrip(".:")
                assert piece and piece in article, f"{step.id}: {piece!r} is not in the article"
        for q in step.quotes:
            assert re.match(r"^(Step \d(\.\d)?|FAQ \d), ", q.section), f"{step.id}: section {q.section!r}"


def test_every_risk_factor_and_readiness_gap_has_a_remedy() -> None:
    answered = {i for s in RULES.steps for i in s.answers}
    factors = {f.id for f in rules(SETTINGS).factors if not (f.effect == "notes" and f.id.startswith("strong_"))}
    gaps = {r["id"] for r in section("readiness", Settings())}
    assert factors - answered == set()
    assert gaps - answered == set()


def test_a_broken_plan_rule_fails_loudly() -> None:
    raw = section("plan", Settings())
    bad = {**raw, "steps": [{**raw["steps"][0], "change": {"usce_months": {"add": 3}}}]}
    with pytest.raises(ValueError, match="unknown change keys"):
        pl.PlanRules.model_validate(bad)
    bad = {**raw, "steps": [{**raw["steps"][0], "quotes": []}]}
    with pytest.raises(ValueError):
        pl.PlanRules.model_validate(bad)


def test_the_articles_numbers_are_in_the_rulebook() -> None:
    steps = {s.id: s for s in RULES.steps}
    assert steps["usce"].change["usce_hands_on_months"] == {"add": 3}           # "Aim for 3-4 months"
    assert steps["letters"].change["us_im_letters"] == {"at_least": 2}          # "Two from U.S. internal medicine attendings"
    assert steps["apply_broadly"].change["applications_add"] == 40
    assert steps["delay_year"].change["season_later_years"] == 1
    assert len(steps["delay_year"].conditions) == 3                              # the FAQ's three conditions
    assert CANNOT == "the article recommends it; the data here cannot size it"
    # Step 3 is sized only for an H-1B need: the model has no other Step 3 term.
    assert [c.text() for c in steps["step3"].change_when] == ["visa_need == h1b"]


# ---- changed profiles ----------------------------------------------------------------------------


def test_changed_profile_follows_the_step_and_keeps_unknown_unknown() -> None:
    p = parse_profile(NO_USCE_J1, settings=SETTINGS)
    c, later, words = pl.changed_profile(p, {"usce_hands_on_months": {"add": 3}, "us_im_letters": {"at_least": 2}}, SETTINGS)
    assert c.usce.hands_on_months == 3 and c.us_im_letters == 2 and later == 0
    assert words == ["+3 months of hands-on USCE (3 in all)", "2 letters from US IM attendings"]
    c, _, _ = pl.changed_profile(p, {"visa_need": "either", "step3_passed": True}, SETTINGS)
    assert c.visa_need == "either" and c.step3.taken and c.step3.passed and c.usmle_failures == 0
    # not stated stays not stated: no months or letters are invented
    unknown = parse_profile({**NO_USCE_J1, "usce": None, "us_im_letters": None}, settings=SETTINGS)
    c, _, words = pl.changed_profile(unknown, {"usce_hands_on_months": {"add": 3}, "us_im_letters": {"at_least": 2}}, SETTINGS)
    assert c.usce is None and c.us_im_letters is None and words == []
    # a Step 3 failed once then passed: two attempts, the failure stays on the record
    failed = parse_profile({**NO_USCE_J1, "step3": {"taken": True, "passed": False, "attempts": 1}}, settings=SETTINGS)
    c, _, _ = pl.changed_profile(failed, {"step3_passed": True}, SETTINGS)
    assert c.step3.attempts == 2 and c.step3.failures == 1


def test_a_changed_profile_is_the_profile_its_whole_dump_validates_to() -> None:
    """``changed_profile`` passes the Steps and USCE it leaves alone as the models they are (not
    validated again): the result is the profile validating its whole ``model_dump()`` gives,
    for every step's change on profiles that state, leave out or fail each field."""
    variants = [
        NO_USCE_J1, EVERY_FACTOR,
        {**NO_USCE_J1, "usce": None, "us_im_letters": None, "recent_clinical_work": False, "unexplained_gaps": True},
        {**NO_USCE_J1, "step3": {"taken": True, "passed": False, "attempts": 2}, "visa_need": "h1b", "us_im_letters": 1},
        {**NO_USCE_J1, "step3": {"taken": True, "passed": True, "score": 220}, "usce": {"hands_on_months": 2, "observership_months": 3}},
        {**EVERY_FACTOR, "visa_need": "either", "preferred_states": ["NY", "West"], "budget_usd": 1500},
    ]
    changes = [r.change for r in RULES.steps if r.change] + [{k: v for r in RULES.steps if r.change for k, v in r.change.items()}]
    seen = 0
    for v in variants:
        p = parse_profile(v, settings=SETTINGS)
        for change in changes:
            c, _, _ = pl.changed_profile(p, change, SETTINGS)
            again = parse_profile(c.model_dump(), settings=SETTINGS)
            assert c == again and c.model_dump() == again.model_dump() and c.usmle_failures == again.usmle_failures
            seen += c != p
    assert seen >= len(variants)   # the changes did change profiles


def test_the_faqs_delay_conditions_are_checked_against_the_profile() -> None:
    delay = next(s for s in RULES.steps if s.id == "delay_year")
    no_usce = applicant_frame([parse_profile(NO_USCE_J1, settings=SETTINGS)], YEAR)
    every = applicant_frame([parse_profile(EVERY_FACTOR, settings=SETTINGS)], YEAR)
    held = {c.id: c.holds(no_usce) for c in delay.conditions}
    assert held == {"no_usce_can_secure": True, "step2ck_not_taken": False, "can_strengthen": None}
    held = {c.id: c.holds(every) for c in delay.conditions}
    assert held == {"no_usce_can_secure": False, "step2ck_not_taken": True, "can_strengthen": None}


# ---- plans on a real published version --------------------------------------------------------


@pytest.fixture(scope="module")
def data(published: Settings):
    return load_published(published)


def _rec(data: Any, profile: dict[str, Any] | Path):
    p = load_profile(profile, SETTINGS) if isinstance(profile, Path) else parse_profile(profile, settings=SETTINGS)
    return p, recommend(p, data, as_of_year=YEAR)


def _check_plan(rec: Any) -> None:
    """What every plan must hold: each step quotes the article, names what it answers, and gives
    its effect or says exactly that it cannot be sized; sized ones first, by what they change."""
    fired = {f.id for f in rec.assessment.factors + rec.assessment.notes} | {r.id for r in rec.readiness}
    for s in rec.plan.steps:
        assert s.quotes and all(q["text"] and q["section"] for q in s.quotes)
        assert s.answers and {a["id"] for a in s.answers} <= fired
        if s.effect.sized:
            assert s.effect.before and s.effect.after and "P(match | list)" in s.effect.says
        else:
            assert s.effect.says == CANNOT and s.effect.after is None
    sized = [s.effect.sized for s in rec.plan.steps]
    assert sized == sorted(sized, reverse=True)
    deltas = [round(s.effect.delta_p_match, 4) for s in rec.plan.steps if s.effect.sized]
    assert deltas == sorted(deltas, reverse=True)


def test_the_program_sites_are_each_programs_institution(data: Any) -> None:
    """``_program_sites`` (once per prepared version) gives each program the institution
    ``_institutions`` reads for its ACGME id, None where the version has none."""
    from imgpipeline.advice import core

    prep = core.prepare(data, SETTINGS)
    sites = pl._institutions(str(data.folder))
    got = pl._program_sites(prep)
    assert got.tolist() == [sites.get(x) for x in data.programs.acgme_id.tolist()]
    assert any(x is not None for x in got.tolist()) and pl._program_sites(prep) is got


@pytest.mark.slow
def test_a_profile_with_no_factor_gets_no_remedy(data: Any) -> None:
    p, rec = _rec(data, NO_FACTOR)
    assert rec.assessment.factors == () and rec.readiness == []
    assert rec.plan is not None and rec.plan.steps == []
    assert "no remedy" in plan_lines(rec)[0]
    assert rec.summary()["plan"] == []


@pytest.mark.slow
def test_moderately_low_j1_example(data: Any) -> None:
    p, rec = _rec(data, EXAMPLES / "moderately_low_j1.yaml")
    _check_plan(rec)
    ids = set(rec.plan.ids)
    # CK 223 and a J-1 need fired; 4 months hands-on and 3 letters: no USCE or letters step
    assert {"interview_answer", "low_score_evidence", "visa_also_h1b"} <= ids
    assert not ids & {"usce", "letters", "step3", "personal_statement", "delay_year", "apply_broadly"}
    visa = rec.plan.step("visa_also_h1b")
    assert visa.effect.sized
    either = compute_terms(data.coefficients, data.programs, _applicants(p).with_visa("either"))
    assert visa.effect.after.eligible == data.n - int(either.any_excluded[0].sum())
    assert rec.plan.step("interview_answer").effect.says == CANNOT


@pytest.mark.slow
def test_very_high_h1b_example(data: Any) -> None:
    p, rec = _rec(data, EXAMPLES / "very_high_h1b.yaml")
    _check_plan(rec)
    ids = set(rec.plan.ids)
    assert {"usce", "letters", "visa_j1_flexibility", "apply_broadly", "personal_statement", "interview_answer", "delay_year"} <= ids
    assert "step3" not in ids                                    # Step 3 already passed
    # J-1 flexibility opens the programs the list notes count
    j1 = rec.plan.step("visa_j1_flexibility")
    note = next(n for n in rec.notes if n.startswith("H-1B only"))
    assert f"with J-1 or H-1B, {j1.effect.after.eligible} would be" in note
    assert j1.effect.after.eligible > j1.effect.before.eligible
    assert f"({j1.effect.after.eligible - j1.effect.before.eligible:+d} programs)" in " ".join(j1.personal)
    # no USCE -> 3 months hands-on: the model's no_usce term becomes usce_strong
    usce = rec.plan.step("usce")
    assert usce.effect.after.expected_interviews > usce.effect.before.expected_interviews
    assert "Places to look" in " ".join(usce.personal) and "Northeast" in " ".join(usce.personal)
    # the FAQ's first condition holds (no USCE), the third cannot be checked
    delay = rec.plan.step("delay_year")
    assert [c["holds"] for c in delay.conditions] == [True, False, None]
    assert delay.effect.sized and "1 season(s) later" in delay.effect.change


@pytest.mark.slow
def test_every_factor_profile_gets_every_remedy_sized_by_the_same_model(data: Any) -> None:
    p, rec = _rec(data, EVERY_FACTOR)
    _check_plan(rec)
    expected = {"usce", "letters", "step2ck_redemption", "pass_required_steps", "step3", "visa_j1_flexibility",
                "explain_gaps", "apply_broadly", "personal_statement", "interview_answer", "research", "delay_year"}
    assert expected <= set(rec.plan.ids)
    # each sized effect equals an independent re-run of recommend() on the changed profile
    bonus = section("lists", Settings())["preferred_state_log_odds"]
    n = rec.size["programs"]
    for s in rec.plan.steps:
        if not s.effect.sized or s.id == "apply_broadly":
            continue
        rule = next(r for r in RULES.steps if r.id == s.id)
        changed, later, _ = pl.changed_profile(p, rule.change, SETTINGS)
        again = recommend(changed, data, as_of_year=YEAR + later, plan=False)
        o = pl.outcome_at(again, data, n, bonus)
        assert s.effect.after.eligible == again.counts["eligible"], s.id
        assert s.effect.after.tier == again.assessment.tier == assess(changed, YEAR + later, settings=SETTINGS).tier
        assert s.effect.after.p_match == pytest.approx(o.p_match) and s.effect.after.expected_interviews == pytest.approx(o.expected_interviews)
        assert s.effect.after_list.programs == again.size["programs"]
        assert s.effect.after_list.p_match == pytest.approx(again.outcome.p_match)
    # CK not taken: the redemption exam cannot be sized (its score is unknown), and warns not to rush
    ck = rec.plan.step("step2ck_redemption")
    assert ck.effect.says == CANNOT and any("Do not rush" in q["text"] for q in ck.quotes)
    # Step 3 for an H-1B need, with the caveat it rarely erases failures
    s3 = rec.plan.step("step3")
    assert s3.effect.sized and any("rarely" in q["text"] for q in s3.quotes)
    # 40 more applications, down the same ranking
    broad = rec.plan.step("apply_broadly")
    assert broad.effect.after.programs == min(n + 40, rec.counts["candidates"])
    assert broad.effect.after.p_match >= broad.effect.before.p_match


@pytest.mark.slow
def test_outcome_at_reproduces_the_list_outcome(data: Any) -> None:
    _, rec = _rec(data, EXAMPLES / "very_high_h1b.yaml")
    bonus = section("lists", Settings())["preferred_state_log_odds"]
    o = pl.outcome_at(rec, data, rec.size["programs"], bonus)
    assert o.n == rec.outcome.n
    assert o.p_match == pytest.approx(rec.outcome.p_match, abs=1e-3)
    assert o.expected_interviews == pytest.approx(rec.outcome.expected_interviews, abs=1e-3)
    listed = pl.candidate_chances(rec, bonus).head(rec.n_listed)["acgme_id"].tolist()
    assert listed == rec.programs["acgme_id"].tolist()


@pytest.mark.slow
def test_plan_rows_one_per_step_and_in_the_json(data: Any, tmp_path: Path) -> None:
    _, rec = _rec(data, EVERY_FACTOR)
    rows = pl.plan_rows(rec)
    assert len(rows) == len(rec.plan) and rows["step_order"].tolist() == list(range(1, len(rec.plan) + 1))
    assert rows["step_id"].tolist() == rec.plan.ids
    unsized = rows[~rows["sized"].astype(bool)]
    assert (unsized["effect"] == CANNOT).all() and unsized["p_match_after"].isna().all()
    sized = rows[rows["sized"].astype(bool)]
    assert sized["p_match_after"].notna().all() and (sized["profile_id"] == "every-factor").all()
    assert len(rec.to_json()["plan"]) == len(rec.plan)
    files = rec.write(tmp_path / "out")
    assert files["plan"].read_text().count("every-factor") == len(rec.plan)


# ---- the report ------------------------------------------------------------------------------


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.urls: list[str] = []
        self.tags: list[str] = []
        self.steps = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        if a.get("id"):
            self.ids.append(a["id"])
        if tag == "li" and "step" in (a.get("class") or ""):
            self.steps += 1
        for k in ("src", "href", "xlink:href", "data", "srcset", "action"):
            if a.get(k):
                self.urls.append(a[k])


@pytest.mark.slow
def test_report_is_one_static_page_with_every_section(data: Any, published: Settings, tmp_path: Path) -> None:
    _, rec = _rec(data, EXAMPLES / "very_high_h1b.yaml")
    html = report_html(rec)
    page = _Page()
    page.feed(html)
    for sid in ("tier", "readiness", "size-curve", "list", "plan", "sources"):
        assert sid in page.ids, sid
    assert "svg" in page.tags and "polyline" in page.tags           # the size curve, inline
    assert page.steps == len(rec.plan)
    assert not [u for u in page.urls if re.match(r"^(https?:)?//", u)]
    assert "link" not in page.tags and "script" not in page.tags and "@import" not in html and "url(" not in html
    assert rec.assessment.label in html and all(v in html for v in rec.sources.values())
    assert CANNOT in html and rec.programs["program_name"].iloc[0].replace("&", "&amp;") in html
    # the CLI writes it
    out = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["recommend", str(EXAMPLES / "moderately_low_j1.yaml"), "--version-dir", str(rec.version_dir),
                                      "--out", str(tmp_path / "files"), "--report", str(out)])
    assert result.exit_code == 0, result.output
    assert "Your next steps" in result.output and out.exists()
    again = _Page()
    again.feed(out.read_text())
    assert "plan" in again.ids and again.steps > 0


def _applicants(p: Any):
    from imgpipeline.advice.model import Applicants

    return Applicants.from_frame(applicant_frame([p], YEAR))


def test_the_fast_paths_order_and_outcomes_past_the_list_are_candidate_chances(data: Any) -> None:
    """The plan reads its re-runs' arrays (advice.core): past a list, the programs come in the
    order of candidate_chances and their outcomes are outcome_at's."""
    from imgpipeline.advice import core

    bonus = section("lists", Settings())["preferred_state_log_odds"]
    prep = core.prepare(data, SETTINGS)
    for profile in (EXAMPLES / "moderately_low_j1.yaml", EXAMPLES / "very_high_h1b.yaml", EVERY_FACTOR, NO_USCE_J1):
        p, rec = _rec(data, profile)
        s = core.score(prep, [core.applicant(p, YEAR, prep)])
        assert list(data.programs.acgme_id[s.list_order(0)]) == pl.candidate_chances(rec, bonus)["acgme_id"].tolist()
        for m in (1, rec.n_listed, rec.n_listed + 1, rec.n_listed + 40, rec.counts["candidates"] + 5):
            fast, ref = s.outcome_down(0, m), pl.outcome_at(rec, data, m, bonus)
            assert (fast is None) == (ref is None)
            if ref is not None:
                assert (fast.n, fast.p_match, fast.p_match_low, fast.p_match_high, fast.expected_interviews) == (
                    ref.n, ref.p_match, ref.p_match_low, ref.p_match_high, ref.expected_interviews)
