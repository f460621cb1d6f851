"""One applicant's advice on a real published version: the docs' examples and the issue's
profiles (a Step 1 failure with CK 245, a US-citizen IMG 12 years out, Step 1 not yet passed),
graded Step 2 CK, lists that are the top of their ranking, readiness and unknown-policy notes,
unknown not read as bad, files, CLI, imports and the docs' commands."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from imgpipeline.advice import lists
from imgpipeline.advice.profile import load_profile, parse_profile
from imgpipeline.advice.published import NotPublished, Published, load_published
from imgpipeline.advice.recommend import Recommendation, recommend
from imgpipeline.advice.render import count
from imgpipeline.cli import app
from imgpipeline.declare import EMAIL_PATTERN, PHONE_PATTERN
from imgpipeline.settings import Settings
from tests import synthetic

SETTINGS = Settings()  # the rules every call here is given

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"
MODERATE = EXAMPLES / "moderately_low_j1.yaml"
VERY_HIGH = EXAMPLES / "very_high_h1b.yaml"
YEAR = 2026  # the season the examples are written for

PROFILES = {
    "ck231": {"graduation_year": 2024, "step2ck": {"score": 231}, "usce": {"hands_on_months": 3}},
    "ck245": {"graduation_year": 2024, "step2ck": {"score": 245}, "usce": {"hands_on_months": 3}},
    "step1_fail_ck245": {"graduation_year": 2023, "step1": {"passed": True, "attempts": 2}, "step2ck": {"score": 245}, "usce": {"hands_on_months": 3}, "visa_need": "j1"},
    "us_citizen_12y": {"graduation_year": 2014, "step2ck": {"score": 228}, "usce": {"hands_on_months": 2}, "visa_need": "none"},
    "step1_not_passed": {"graduation_year": 2025, "step1": {"taken": False, "passed": False}, "visa_need": "j1"},
    "three_failures": {"graduation_year": 2020, "step1": {"passed": True, "attempts": 3}, "step2ck": {"score": 225, "attempts": 2}, "usce": {"hands_on_months": 4}},
}


@pytest.fixture(scope="module")
def data(published) -> Published:  # type: ignore[no-untyped-def]
    return load_published(published)


@pytest.fixture(scope="module")
def recs(data: Published) -> dict[str, Recommendation]:
    out = {k: recommend(parse_profile(v, settings=SETTINGS), data, as_of_year=YEAR) for k, v in PROFILES.items()}
    out["moderate"] = recommend(load_profile(MODERATE, SETTINGS), data, as_of_year=YEAR)
    out["very_high"] = recommend(load_profile(VERY_HIGH, SETTINGS), data, as_of_year=YEAR)
    return out


def test_step2ck_is_graded_and_reaches_further_into_academic_programs(recs: dict[str, Recommendation]) -> None:
    a = recs["ck231"].all_programs.set_index("acgme_id")
    b = recs["ck245"].all_programs.set_index("acgme_id").reindex(a.index)
    eligible = a["p_interview"] > 0
    assert recs["ck231"].tier == recs["ck245"].tier == "lower"           # alike but for the score
    assert (b.loc[eligible, "p_interview"] > a.loc[eligible, "p_interview"]).all()
    # The CK 245 list holds more academic programs among its first 100 than the CK 231 list.
    def academic(rec: Recommendation) -> int:
        return int((rec.programs.head(100)["program_tier"] != "community").sum())
    assert academic(recs["ck245"]) > academic(recs["ck231"])


@pytest.mark.parametrize("which", ["moderate", "very_high", "ck231", "ck245", "step1_fail_ck245", "us_citizen_12y", "step1_not_passed"])
def test_every_list_is_the_top_of_its_ranking(recs: dict[str, Recommendation], which: str) -> None:
    rec = recs[which]
    allp = rec.all_programs
    listed = allp[allp["status"] == "listed"]
    waiting = allp[allp["status"] == "beyond_list"]
    bonus = lists.list_rules(SETTINGS).preferred_state_log_odds
    key = lambda d: np.log(d["p_interview"] / (1 - d["p_interview"])) + bonus * d["preferred_state"]  # noqa: E731
    if len(listed) and len(waiting):
        assert key(waiting).max() <= key(listed).min() + 1e-9
    assert not (allp["status"].eq("listed") & allp["exclusion_reasons"].ne("")).any()
    assert len(rec.programs) == rec.size["programs"] == rec.counts["listed"]


@pytest.mark.parametrize("which", ["moderate", "very_high", "step1_fail_ck245", "us_citizen_12y", "step1_not_passed"])
def test_outputs_show_interviews_p_match_and_the_size_curve(recs: dict[str, Recommendation], which: str) -> None:
    rec = recs[which]
    s = rec.summary()
    if rec.n_listed:
        o = s["outcome"]
        assert o["interviews_low"] <= o["expected_interviews"] <= o["interviews_high"]
        assert o["p_match_low"] <= o["p_match"] <= o["p_match_high"]
        assert any(c["programs"] == rec.n_listed for c in s["size_curve"])
        assert s["size"]["article_range"] == rec.assessment.list_size.text()
        assert s["size"]["compared_with_article"]
    json.dumps(s)  # JSON-ready


def test_readiness_leads_when_a_step_is_missing(recs: dict[str, Recommendation]) -> None:
    rec = recs["step1_not_passed"]
    ids = [r.id for r in rec.readiness]
    assert ids[:2] == ["step1_not_passed", "step2ck_not_taken"]
    assert "Pass all required steps before ranking" in rec.readiness[0].article
    assert "Programs may wait to see Step 2 CK" in rec.readiness[1].article
    assert rec.tier != "high" or "step1_failed" not in rec.assessment.factor_ids  # not taken is not a failure
    assert not recs["ck245"].readiness


def test_unknown_policies_are_counted_and_said(recs: dict[str, Recommendation]) -> None:
    fail = {p["id"]: p for p in recs["step1_fail_ck245"].policy_notes}
    assert fail["failed_attempts_policy_unknown"]["programs"] == recs["step1_fail_ck245"].n_listed  # no program states one
    old = {p["id"]: p for p in recs["us_citizen_12y"].policy_notes}
    assert "yog_policy_unknown" in old and "12 years out" in old["yog_policy_unknown"]["says"]
    assert not recs["ck245"].policy_notes


def test_unknown_is_not_bad(data: Published) -> None:
    unstated = recommend(parse_profile({"graduation_year": 2024, "step2ck": {"score": 240}}, settings=SETTINGS), data, as_of_year=YEAR)
    assert "few_us_im_letters" not in unstated.assessment.factor_ids
    assert "no_usce" not in unstated.assessment.factor_ids
    assert {"usce", "us_im_letters"} <= set(unstated.not_stated)
    zero = recommend(parse_profile({"graduation_year": 2024, "step2ck": {"score": 240}, "us_im_letters": 0, "usce": {"hands_on_months": 0}}, settings=SETTINGS), data, as_of_year=YEAR)
    assert {"few_us_im_letters", "no_usce"} <= set(zero.assessment.factor_ids)
    a = unstated.all_programs.set_index("acgme_id")["p_interview"]
    z = zero.all_programs.set_index("acgme_id")["p_interview"].reindex(a.index)
    assert (z[a > 0] < a[a > 0]).all()


def test_military_programs_are_left_out_for_civilians_only(data: Published) -> None:
    military = data.table.loc[data.table["military"], "acgme_id"]
    assert len(military) > 0
    base = {"graduation_year": 2024, "step2ck": {"score": 250}, "usce": {"hands_on_months": 4}}
    civilian = recommend(parse_profile(base, settings=SETTINGS), data, as_of_year=YEAR).all_programs.set_index("acgme_id")
    member = recommend(parse_profile({**base, "service_member": True}, settings=SETTINGS), data, as_of_year=YEAR).all_programs.set_index("acgme_id")
    assert (civilian.loc[military, "p_interview"] == 0).all()
    assert civilian.loc[military, "exclusion_reasons"].str.contains("military").all()
    assert (member.loc[military, "p_interview"] > 0).all()


@pytest.mark.parametrize("which", ["moderate", "very_high"])
def test_rows_carry_reasons_evidence_and_provenance(recs: dict[str, Recommendation], which: str) -> None:
    rec = recs[which]
    for _, row in rec.programs.head(20).iterrows():
        contribs = json.loads(row["contributions"])
        logit = np.log(row["p_interview"] / (1 - row["p_interview"]))
        assert abs(sum(c["log_odds"] for c in contribs) - logit) < 1e-4
        assert all(c["basis"] in ("stated", "imputed", "inferred", "unknown") and c["evidence"] for c in contribs)
        assert row["acgme_snapshot"].startswith("acgme_programs@") and row["freida_snapshot"].startswith("freida_programs@")
    text = rec.programs.to_csv()
    assert not re.search(EMAIL_PATTERN, text) and not re.search(PHONE_PATTERN, text)


def test_repeated_names_show_their_city(data: Published) -> None:
    names = data.table["program_name"]
    repeated = names[names.duplicated(keep=False)].index
    assert len(repeated) >= 2
    shown = data.display_name[repeated]
    assert len(set(shown)) == len(shown) or all("(" in s for s in shown)


def test_files_hold_the_list_and_the_curve(recs: dict[str, Recommendation], tmp_path: Path) -> None:
    files = recs["moderate"].write(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"recommendations.csv", "recommendations.parquet", "recommendation.json", "all_programs.csv", "size_curve.csv", "size_curve.svg", "plan.csv"}
    doc = json.loads(files["json"].read_text())
    assert len(doc["list"]) == recs["moderate"].n_listed and doc["outcome"]["programs"] == recs["moderate"].n_listed
    assert files["size_curve_svg"].read_text().startswith("<svg") and "<polyline" in files["size_curve_svg"].read_text()


@pytest.mark.parametrize("which", sorted({*PROFILES, "moderate", "very_high"}))
def test_json_bytes_is_the_object_the_cli_writes(recs: dict[str, Recommendation], which: str) -> None:
    """What the API sends (``json_bytes``: each program's contributions written as text from
    the arrays) is byte for byte orjson's writing of ``to_json()``, and reads back as the
    object the CLI writes to recommendation.json."""
    import orjson

    rec = recs[which]
    body = rec.json_bytes()
    assert body == orjson.dumps(rec.to_json(), default=str)
    doc = json.loads(body)
    assert doc == json.loads(json.dumps(rec.to_json(), default=str))
    assert len(doc["list"]) == rec.n_listed
    assert all(len(p["contributions"]) == len(doc["list"][0]["contributions"]) > 0 for p in doc["list"])


VARIED = [  # every text path of the explanations: each visa need, Step 3, scores below the 2016 minimums, not stated
    {"graduation_year": 2024, "step1": {"passed": True, "score": 205}, "step2ck": {"score": 209}, "visa_need": "h1b", "usce": {"hands_on_months": 1}},
    {"graduation_year": 2012, "step2ck": {"score": 262, "attempts": 2}, "visa_need": "either", "us_im_letters": 4, "unexplained_gaps": False},
    {"graduation_year": 2019, "step1": {"taken": False, "passed": False}, "visa_need": "j1", "recent_clinical_work": False, "preferred_states": ["TX", "West"]},
    {"graduation_year": 2021, "step1": {"passed": True, "score": 230}, "step2ck": {"score": 238}, "step3": {"taken": True, "passed": True, "score": 225},
     "visa_need": "h1b", "usce": {"hands_on_months": 0, "observership_months": 2}, "us_im_letters": 0, "unexplained_gaps": True},
    {"graduation_year": 2025, "step2ck": {"score": 224}, "usce": {"hands_on_months": 12}, "us_im_letters": 3, "service_member": True, "budget_usd": 900},
]


def test_the_apis_texts_are_the_explanations_texts(data: Published) -> None:
    """The fast paths of the API's JSON (each term's basis and evidence written from per-version
    and per-value tables: ``contribution_tails``; the cautions from per-version texts:
    ``caution_texts``; exclusions at the listed programs only) give the texts of
    ``term_texts``, ``cautions`` and ``exclusion_texts`` at every program, for varied profiles,
    the memo's first reading and its second."""
    import orjson

    from imgpipeline.advice import explain

    c, ps = data.coefficients, data.programs
    every = np.arange(ps.n)
    for _ in range(2):
        for v in VARIED + list(PROFILES.values()):
            rec = recommend(parse_profile(v, settings=SETTINGS), data, as_of_year=YEAR)
            assert rec.json_bytes() == orjson.dumps(rec.to_json(), default=str)
            s = rec.listing.s
            texts = explain.term_texts(s.terms, c, s.applicants, ps, 0)
            tails = explain.contribution_tails(s.terms, c, s.applicants, ps, 0, every)
            for t, written in zip(explain.TERMS, tails, strict=True):
                bases, evidence = texts[t]
                assert [orjson.loads(b"{" + x[1:]) for x in written] == [{"basis": b, "evidence": e} for b, e in zip(bases, evidence, strict=True)], t
            assert explain.caution_texts(s.applicants, ps, 0, every) == ["; ".join(explain.cautions(s.applicants, ps, 0, j)) for j in every]
            some = np.flatnonzero(s.excluded[0])[:50].tolist() + rec.listing.listed.tolist()
            assert explain.exclusion_texts(s.terms, 0, some).tolist() == explain.exclusion_texts(s.terms)[some].tolist()


def test_a_scored_rows_eligible_and_budget_are_counted_once_as_each_alone(data: Published) -> None:
    """``Scored.eligible`` (every row's count at once) and ``Scored.covers`` (once per budget)
    give what each row's own count and the fee schedule's search give, and the summary's
    counts are the list's statuses counted one by one, for varied profiles and their plans."""
    for v in VARIED + list(PROFILES.values()):
        for budget in (None, 900.0, 2345.0):
            rec = recommend(parse_profile({**v, "budget_usd": budget}, settings=SETTINGS), data, as_of_year=YEAR)
            s, status = rec.listing.s, rec.listing.status
            assert [s.eligible(g) for g in range(len(s.who))] == [data.n - int(s.excluded[g].sum()) for g in range(len(s.who))]
            assert s.covers(budget) == (None if budget is None else s.prep.schedule.covers(budget)) == rec.fee["budget_covers"]
            assert rec.counts["eligible"] == data.n - int(s.excluded[0].sum())
            assert rec.counts["listed"] == int((status == lists.LISTED).sum()) == rec.n_listed
            assert rec.counts["candidates"] == int(((status == lists.BEYOND) | (status == lists.LISTED)).sum())
            assert rec.left_out == {k: int((status == lists.STATUS.index(k)).sum()) for k in lists.LEFT_OUT_TEXT}


def test_why_and_the_shown_log_odds_read_from_their_memos_as_computed(recs: dict[str, Recommendation]) -> None:
    """``why_rows`` and ``Shown.of`` keep each value's words and rounding in a memo: twice over
    (memo empty, then full), they give what each row's own computation gives; a zero keeps its
    sign whichever zero came first."""
    import math

    from imgpipeline.advice import explain

    def why_row(v: list[float], offset: float) -> str:   # the words, program by program
        value = [x - (offset if t == "baseline" else 0.0) for t, x in zip(explain.TERMS, v, strict=True)]
        kept = sorted((i for i, x in enumerate(value) if abs(x) >= 0.01), key=lambda i: -abs(value[i]))[:4]
        return ", ".join(f"x{math.exp(value[i]):.2f} {explain.TERM_LABEL[t] if (t := explain.TERMS[i]) != 'baseline' else 'openness to IMGs'}" for i in kept) or "as the typical applicant at the average program"

    for rec in recs.values():
        s, js = rec.listing.s, rec.listing.listed
        offset = s.prep.data.coefficients["calibration_offset"]
        explain._shown_memo.cache_clear()
        for _ in range(2):
            shown = explain.Shown.of(explain.term_values(s.terms, 0, js))
            values = shown.log_odds[shown.index]
            assert shown.log_odds.tolist() == [round(v, 6) for v in np.unique(shown.values).tolist()]
            assert shown.odds.tolist() == [float(f"{math.exp(v):.6g}") for v in np.unique(shown.values).tolist()]
            assert explain.why_rows(values, offset) == [why_row(v, offset) for v in values.tolist()]
    for first in (0.0, -0.0):
        for v in (first, -first):
            shown = explain.Shown.of(np.array([[v, 1.0]]))
            assert math.copysign(1.0, shown.log_odds[0]) == math.copysign(1.0, v)


def test_a_version_without_the_model_is_refused(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{}")
    with pytest.raises(NotPublished, match="predates the interview-chance model"):
        load_published(tmp_path)
    with pytest.raises(NotPublished, match="neither a published version"):
        load_published(tmp_path / "nothing")


def test_recommend_accepts_a_profile_built_in_code() -> None:
    profile = parse_profile({"graduation_year": 2024, "step2ck": {"score": 240}, "usce": {"hands_on_months": 3}, "us_im_letters": 2}, settings=SETTINGS)
    rec = recommend(profile, synthetic.published(150), as_of_year=YEAR)
    assert rec.tier == "lower" and rec.n_listed > 0 and rec.outcome is not None


def test_the_path_imports_neither_prefect_gx_nor_sklearn(published) -> None:  # type: ignore[no-untyped-def]
    code = (
        "import sys\n"
        "from imgpipeline.advice.profile import load_profile\n"
        "from imgpipeline.advice.recommend import recommend\n"
        "from imgpipeline.advice.render import renderables\n"
        f"rec = recommend(load_profile({str(MODERATE)!r}), {str(published.processed_dir)!r})\n"
        "renderables(rec)\n"
        "print(rec.n_listed)\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout.splitlines()
    assert int(out[0]) > 0
    loaded = {m.split(".")[0] for m in out[1].split()}
    assert "imgpipeline" in loaded
    assert not loaded & {"prefect", "great_expectations", "sklearn", "matplotlib", "dask", "distributed", "scipy"}


def test_cli_prints_the_outcome_and_writes_the_files(published, recs: dict[str, Recommendation], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(
        app, ["recommend", str(MODERATE), "--processed-dir", str(published.processed_dir), "--out", str(tmp_path / "out"), "--rows", "5"]
    )
    assert result.exit_code == 0, result.output
    flat = re.sub(r"\s+", " ", result.output)
    n = recs["moderate"].n_listed
    assert "Moderately low risk" in flat and f"Your list: first 5 of {n}" in flat
    assert "Applications -> expected interviews -> P(match)" in flat and "Outcome: " in flat


def test_cli_piped_prints_each_program_on_one_line(published, recs: dict[str, Recommendation], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Not on a terminal (a pipe, a log, a test's capture), the tables are one line per row with
    every value named, as the other commands' tables (a drawn table wraps at 80 columns)."""
    result = CliRunner().invoke(
        app, ["recommend", str(MODERATE), "--processed-dir", str(published.processed_dir), "--out", str(tmp_path / "out"), "--rows", "5"]
    )
    assert result.exit_code == 0, result.output
    rec = recs["moderate"]
    rows = [line for line in result.output.splitlines() if line.startswith(f"Your list: first 5 of {rec.n_listed}: # ")]
    assert len(rows) == 5
    for line, (_, p) in zip(rows, rec.programs.head(5).iterrows(), strict=True):
        assert f"# {p['rank']}, program (state) {p['program_name']} ({p['state']}" in line and p["why"] in line
    curve = [line for line in result.output.splitlines() if line.startswith("Applications -> expected interviews -> P(match): programs ")]
    assert len(curve) == len(rec.size_curve)
    assert not any(c in result.output for c in "┏│└")


def test_cli_on_a_terminal_draws_the_tables(published, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich's own switch: draw as for a terminal
    monkeypatch.setenv("COLUMNS", "160")
    import imgpipeline.cli as cli

    cli.console.cache_clear()
    try:
        result = CliRunner().invoke(
            app, ["recommend", str(MODERATE), "--processed-dir", str(published.processed_dir), "--out", str(tmp_path / "out"), "--rows", "5"]
        )
    finally:
        cli.console.cache_clear()
    assert result.exit_code == 0, result.output
    flat = re.sub(r"\s+", " ", re.sub(r"\x1b\[[0-9;]*m", "", result.output))
    assert "┏" in result.output and "Applications -> expected interviews -> P(match)" in flat and "Your list: first 5 of" in flat
    assert not re.search(r"Your list: first 5 of \d+: # ", flat) and "Files: " in flat


def test_the_command_process_exits_with_its_output_and_files_whole(published, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The command as its own process (it skips the interpreter's last garbage collections at
    exit: cli.skip_the_last_collections): everything printed and written is there, whole."""
    out = tmp_path / "out"
    code = "import sys\nfrom imgpipeline.cli import app\nsys.argv[0] = 'imgpipeline'\napp()\n"
    proc = subprocess.run(
        [sys.executable, "-c", code, "recommend", str(MODERATE), "--processed-dir", str(published.processed_dir), "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    last = proc.stdout.rstrip("\n").splitlines()[-1]
    files = [Path(p) for p in last.removeprefix("Files: ").split(", ")]
    assert last.startswith("Files: ") and len(files) == 7 and all(p.parent == out and p.stat().st_size > 0 for p in files)
    summary = json.loads((out / "recommendation.json").read_text())
    assert len(summary["list"]) == summary["programs"]["listed"] > 0
    assert (out / "size_curve.svg").read_text().rstrip().endswith("</svg>")


def test_cli_names_the_bad_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("graduation_year: 2020\nstep2ck: {score: 350}\n")
    result = CliRunner().invoke(app, ["recommend", str(bad), "--processed-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "step2ck.score" in re.sub(r"\s+", " ", result.output)


# ---- docs/recommend.md: its commands run and its numbers are the real ones ----------------


def doc_commands() -> list[list[str]]:
    text = (ROOT / "docs" / "recommend.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    return [shlex.split(line) for b in blocks for line in b.splitlines() if line.startswith("imgpipeline recommend ")]


def test_the_docs_example_commands_run_and_match_the_docs(published, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    commands = doc_commands()
    assert {Path(c[2]).name for c in commands} >= {MODERATE.name, VERY_HIGH.name}
    text = re.sub(r"\s+", " ", (ROOT / "docs" / "recommend.md").read_text())
    monkeypatch.chdir(ROOT)
    for argv in commands:
        args = list(argv[1:]) + ["--processed-dir", str(published.processed_dir), "--out", str(tmp_path / Path(argv[2]).stem)]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, (argv, result.output)
        rec = recommend(load_profile(ROOT / argv[2], SETTINGS), published)
        # The figures the docs quote are this run's: tier, list size and outcome.
        assert f"{rec.assessment.label}: {rec.n_listed} programs listed" in text
        if rec.outcome is not None:
            assert f"about {count(rec.outcome.expected_interviews)} interviews" in text


@pytest.mark.parametrize("which", ["moderate", "very_high", "ck245", "step1_not_passed", "three_failures"])
def test_the_json_list_is_the_list_frame_as_json(recs: dict[str, Recommendation], which: str) -> None:
    """to_json's list is built from the arrays, not the frame: it is the frame written by pandas
    and read back, contributions as lists."""
    rec = recs[which]
    rows = rec.programs.drop(columns=["contributions"]).assign(contributions=[json.loads(c) for c in rec.programs["contributions"]])
    assert rec.to_json()["list"] == json.loads(rows.to_json(orient="records"))
    assert rec.n_listed == len(rec.programs) == rec.counts["listed"]


def test_profiles_scored_together_get_the_numbers_each_gets_alone(data: Published) -> None:
    """recommend scores a profile with its plan's changed profiles in one pass (advice.core):
    every row's chances, ranking, size and outcomes are those of the profile scored alone."""
    from imgpipeline.advice import core

    prep = core.prepare(data, SETTINGS)
    who = [core.applicant(parse_profile(v, settings=SETTINGS), YEAR, prep) for v in PROFILES.values()]
    who.append(core.applicant(load_profile(VERY_HIGH, SETTINGS), YEAR, prep))
    together = core.score(prep, who)
    for g, a in enumerate(who):
        alone = core.score(prep, [a])
        for name in ("p", "p_low", "p_high", "logit", "status", "order"):
            assert np.array_equal(getattr(together, name)[g], getattr(alone, name)[0]), name
        assert together.choice(g) == alone.choice(0)
        for n in {1, together.choice(g).n, len(alone.cand[0])} - {0}:
            x, y = together.outcome(g, n), alone.outcome(0, n)
            assert (x.p_match, x.p_match_low, x.p_match_high, x.expected_interviews) == (y.p_match, y.p_match_low, y.p_match_high, y.expected_interviews)
            assert np.array_equal(x.distribution, y.distribution)
