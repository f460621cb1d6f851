"""Batch scoring without Prefect: reading and validating profile files (CSV, Parquet, YAML), and
scoring profiles against a real published version: the same list, size, chances and P(match |
list) as ``advice.recommend`` for the same profile, independent of chunking, every hard
exclusion respected, "not stated" kept apart from zero."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from imgpipeline.advice import batch as bt
from imgpipeline.advice.fees import eras_fee
from imgpipeline.advice.profile import load_profile, parse_profile
from imgpipeline.advice.published import Published, load_published
from imgpipeline.advice.recommend import recommend
from imgpipeline.advice.risk import list_sizes
from imgpipeline.settings import Settings

SETTINGS = Settings()  # the rules every call here is given

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = ROOT / "docs" / "examples"
EXAMPLE_CSV = EXAMPLES / "profiles_batch.csv"
YEAR = 2026


def test_csv_parquet_and_yaml_give_the_same_applicants(tmp_path: Path) -> None:
    csv = bt.read_profiles(EXAMPLE_CSV, as_of_year=YEAR)
    flat = pd.read_csv(EXAMPLE_CSV, dtype={"profile_id": str, "preferred_states": str})
    flat.to_parquet(tmp_path / "p.parquet", index=False)
    pq = bt.read_profiles(tmp_path / "p.parquet", as_of_year=YEAR)
    docs = [yaml.safe_load((EXAMPLES / f).read_text()) for f in ("moderately_low_j1.yaml", "very_high_h1b.yaml")]
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(docs))
    ym = bt.read_profiles(tmp_path / "p.yaml", as_of_year=YEAR)
    pd.testing.assert_frame_equal(csv.applicants, pq.applicants)
    assert csv.preferred == pq.preferred
    # The two docs examples, written as YAML profiles and as CSV rows, are the same applicants.
    pd.testing.assert_frame_equal(ym.applicants, csv.applicants.iloc[:2].reset_index(drop=True))
    assert ym.preferred == csv.preferred[:2]
    assert csv.applicants["step2ck_taken"].tolist()[-1] is False  # an empty score: not taken yet
    assert np.isnan(csv.budgets[1]) and csv.budgets[0] == 3000


def test_empty_cells_are_not_stated_never_zero(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text(
        "profile_id,graduation_year,step2ck_score,us_im_letters,usce_hands_on_months,recent_clinical_work,ecfmg_certified\n"
        "silent,2023,230,,,,\n"
        "zero,2023,230,0,0,false,false\n"
    )
    p = bt.read_profiles(tmp_path / "p.csv", as_of_year=YEAR).applicants
    silent, zero = p.iloc[0], p.iloc[1]
    for col in ("us_im_letters", "usce_hands_on_months", "usce_total_months", "recent_clinical_work", "ecfmg_certified", "research_items"):
        assert pd.isna(silent[col]), col
    assert zero["us_im_letters"] == 0 and zero["usce_hands_on_months"] == 0
    assert pd.notna(zero["recent_clinical_work"]) and not bool(zero["recent_clinical_work"])


def test_bad_rows_are_named_and_nothing_is_scored() -> None:
    with pytest.raises(bt.BatchInputError) as exc:
        bt.read_profiles(FIXTURES / "profiles_bad.csv")
    text = str(exc.value)
    assert "row 1 (bad-score): step2ck.score" in text
    assert "row 2 (bad-year): graduation_year" in text
    assert "row 3 (bad-usce): usce.hands_on_months: months cannot be negative" in text
    assert "row 4 (bad-visa): visa_need" in text
    assert "ok-row" not in text and "row 5" not in text


def test_unknown_columns_missing_ids_and_repeats_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("profile_id,graduation_year,name\nx,2020,Jane\n")
    with pytest.raises(bt.BatchInputError, match=r"unknown columns \['name'\]"):
        bt.read_profiles(tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text("profile_id,graduation_year\nx,2020\nx,2021\n")
    with pytest.raises(bt.BatchInputError, match="profile_id repeats"):
        bt.read_profiles(tmp_path / "b.csv")
    (tmp_path / "c.csv").write_text("profile_id,graduation_year\n,2020\n")
    with pytest.raises(bt.BatchInputError, match="profile_id is required"):
        bt.read_profiles(tmp_path / "c.csv")
    with pytest.raises(bt.BatchInputError, match="no such file"):
        bt.read_profiles(tmp_path / "missing.csv")
    (tmp_path / "d.txt").write_text("x")
    with pytest.raises(bt.BatchInputError, match="expected .csv, .parquet or .yaml"):
        bt.read_profiles(tmp_path / "d.txt")


# ---- on a real published version -----------------------------------------------------------


@pytest.fixture(scope="module")
def data(published) -> Published:  # type: ignore[no-untyped-def]
    return load_published(published)


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> bt.Profiles:
    path = bt.write_input(bt.random_profiles(300, seed=7), tmp_path_factory.mktemp("batch") / "p.parquet")
    return bt.read_profiles(path, as_of_year=YEAR)


@pytest.fixture(scope="module")
def scored(many: bt.Profiles, data: Published) -> tuple[pd.DataFrame, pd.DataFrame]:
    return bt.score_profiles(many, data, chunk_size=1000)


def _same_as_recommend(profile_rows: list[dict], apps: pd.DataFrame, recs: pd.DataFrame, data: Published) -> int:
    """Compare batch rows with ``recommend()`` for each profile; returns how many lists were compared."""
    compared = 0
    for raw in profile_rows:
        prof = parse_profile(raw, settings=SETTINGS)
        one = recommend(prof, data, as_of_year=YEAR)
        pid = prof.profile_id
        a = apps.set_index("profile_id").loc[pid]
        mine = recs[recs["profile_id"] == pid]
        assert list(mine["acgme_id"]) == list(one.programs["acgme_id"]), pid
        assert list(mine["rank"]) == list(one.programs["rank"]), pid
        assert np.allclose(mine["p_interview"], one.programs["p_interview"], rtol=0, atol=5e-7), pid
        assert np.allclose(mine["p_interview_low"], one.programs["p_interview_low"], rtol=0, atol=5e-7), pid
        assert list(mine["band"]) == list(one.programs["band"]), pid
        assert list(mine["preferred_state"]) == list(one.programs["preferred_state"]), pid
        assert a["programs_listed"] == one.n_listed == one.size["programs"], pid
        assert a["risk_tier"] == one.tier, pid
        assert set(a["risk_factors"]) == {f.id for f in one.assessment.factors + one.assessment.notes}, pid
        assert list(a["readiness"]) == [r.id for r in one.readiness], pid
        assert list(a["not_stated"]) == list(one.not_stated), pid
        assert a["programs_eligible"] == one.counts["eligible"] and a["programs_candidates"] == one.counts["candidates"], pid
        assert a["programs_left_out"] == sum(one.left_out.values()), pid
        assert a["eras_fee_usd"] == one.fee["usd"], pid
        if one.outcome is None:
            assert a["programs_listed"] == 0
            continue
        o = one.outcome
        for col, want in (
            ("expected_interviews", o.expected_interviews), ("interviews_low", o.interviews_low), ("interviews_high", o.interviews_high),
            ("p_match", o.p_match), ("p_match_low", o.p_match_low), ("p_match_high", o.p_match_high), ("p_no_interview", o.p_no_interview),
        ):
            assert a[col] == pytest.approx(want, abs=1e-12), (pid, col)
        compared += 1
    return compared


def test_batch_rows_are_recommend_for_the_docs_examples(data: Published, tmp_path: Path) -> None:
    # The docs' YAML examples, as a YAML batch file...
    docs = [yaml.safe_load(p.read_text()) for p in sorted(EXAMPLES.glob("*.yaml"))]
    (tmp_path / "docs.yaml").write_text(yaml.safe_dump(docs))
    apps, recs = bt.score_chunk(bt.read_profiles(tmp_path / "docs.yaml", as_of_year=YEAR), data)
    assert _same_as_recommend(docs, apps, recs, data) == len(docs) >= 2
    ml = recommend(load_profile(EXAMPLES / "moderately_low_j1.yaml", SETTINGS), data, as_of_year=YEAR)
    assert (recs["profile_id"] == "example-moderately-low-j1").sum() == ml.n_listed > 0
    # ... and the CSV example (a not-yet-taken Step 2 CK, budgets, regions, no preference).
    flat = pd.read_csv(EXAMPLE_CSV, dtype={"profile_id": str, "preferred_states": str})
    apps, recs = bt.score_chunk(bt.read_profiles(EXAMPLE_CSV, as_of_year=YEAR), data)
    rows = [bt._nested(r) for r in flat.to_dict("records")]
    assert _same_as_recommend(rows, apps, recs, data) >= len(rows) - 1
    assert "step2ck_not_taken" in apps.set_index("profile_id").loc["a-not-yet-ck", "readiness"]


def test_batch_rows_are_recommend_for_varied_profiles(many: bt.Profiles, data: Published, scored: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    apps, recs = scored
    raw = bt.random_profiles(300, seed=7)
    picked = [bt._nested(raw[i]) for i in range(0, 300, 12)]
    assert _same_as_recommend(picked, apps, recs, data) >= 20
    # Budget-capped and every size rule occur in this sample, so the comparison covers them.
    assert {"budget", "reached_target"} <= set(apps["size_rule"])


def test_chunking_changes_nothing(many: bt.Profiles, data: Published, scored: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    small = bt.score_profiles(many, data, chunk_size=37)
    pd.testing.assert_frame_equal(small[0], scored[0], check_exact=True)
    pd.testing.assert_frame_equal(small[1], scored[1], check_exact=True)


def test_threads_and_blocks_change_nothing(many: bt.Profiles, data: Published, scored: tuple[pd.DataFrame, pd.DataFrame], monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel's blocks on one thread, or small blocks taken in turn by the pool's threads
    (two chunks at once), give the same rows, value for value."""
    for threads, block in ((1, 256), (2, 16), (3, 7)):
        monkeypatch.setattr(bt, "THREADS", threads)
        monkeypatch.setattr(bt, "KEYS_PER_BLOCK", block)
        monkeypatch.setattr(bt, "_POOL", None)
        got = bt.score_profiles(many, data, chunk_size=150)
        pd.testing.assert_frame_equal(got[0], scored[0], check_exact=True)
        pd.testing.assert_frame_equal(got[1], scored[1], check_exact=True)


def test_every_hard_exclusion_holds_and_lists_follow_the_rules(many: bt.Profiles, data: Published, scored: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    apps, recs = scored
    t = data.table.set_index("acgme_id")
    rows = recs.merge(many.applicants, on="profile_id").join(t, on="acgme_id", rsuffix="_program")
    need = rows["visa_need"]
    no_j1 = rows["visa_j1"].isin(["no", "no_inferred"])
    no_h1b = rows["visa_h1b"].isin(["no", "no_inferred"])
    assert not no_j1[need == "j1"].any() and not no_h1b[need == "h1b"].any() and not (no_j1 & no_h1b)[need == "either"].any()
    assert not (rows["usmle_failures"] > 0)[rows["excludes_failed_attempts"].astype("boolean").fillna(False)].any()
    assert not rows["excludes_imgs"].astype("boolean").fillna(False).any()
    assert not rows["military"].astype("boolean").fillna(False).any()  # all civilians here
    assert (rows["p_interview"] >= data.coefficients["band_target"] * 0 + bt.lists.list_rules(SETTINGS).long_shot_below).all()
    assert ((rows["p_interview_low"] <= rows["p_interview"] + 1e-15) & (rows["p_interview"] <= rows["p_interview_high"] + 1e-15)).all()
    # Sizes never exceed the rulebook's maximum or the budget; ranks are 1..n in file order.
    per = recs.groupby("profile_id").size().reindex(apps["profile_id"], fill_value=0).to_numpy()
    assert (per == apps["programs_listed"].to_numpy()).all()
    assert (apps["programs_listed"] <= np.minimum(bt.lists.list_rules(SETTINGS).max_size, apps["programs_candidates"])).all()
    assert (apps["eras_fee_usd"] <= apps["budget_usd"].fillna(np.inf)).all()
    assert (apps["eras_fee_usd"] == apps["programs_listed"].map(lambda n: eras_fee(n, SETTINGS))).all()
    sizes = list_sizes(SETTINGS)
    assert (apps["below_article_size"] == (apps["programs_listed"] < apps["risk_tier"].map(lambda t: sizes[t].min))).all()
    assert (apps[["listed_likely", "listed_target", "listed_reach"]].sum(axis=1) == apps["programs_listed"]).all()
    assert (recs.groupby("profile_id", sort=False)["rank"].apply(lambda r: list(r) == list(range(1, len(r) + 1)))).all()
    assert list(dict.fromkeys(recs["profile_id"])) == [p for p, n in zip(apps["profile_id"], per, strict=True) if n]
    # Expected interviews are the sum of the listed chances, inside their interval.
    summed = recs.groupby("profile_id")["p_interview"].sum().reindex(apps["profile_id"], fill_value=0).to_numpy()
    assert np.allclose(summed, apps["expected_interviews"], atol=1e-9)
    assert ((apps["interviews_low"] <= apps["expected_interviews"] + 1e-12) & (apps["expected_interviews"] <= apps["interviews_high"] + 1e-12)).all()
    assert ((apps["p_match"] >= 0) & (apps["p_match"] <= 1)).all()


def test_a_not_stated_field_fires_nothing_and_is_listed(data: Published, tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text(
        "profile_id,graduation_year,step2ck_score,step2ck_year,visa_need,us_im_letters\n"
        "silent,2023,230,2023,J-1,\n"
        "none-stated,2023,230,2023,J-1,0\n"
    )
    apps, recs = bt.score_chunk(bt.read_profiles(tmp_path / "p.csv", as_of_year=YEAR), data)
    a = apps.set_index("profile_id")
    assert "us_im_letters" in a.loc["silent", "not_stated"]
    assert "us_im_letters" not in a.loc["none-stated", "not_stated"]
    silent = recs[recs["profile_id"] == "silent"].set_index("acgme_id")["p_interview"]
    zero = recs[recs["profile_id"] == "none-stated"].set_index("acgme_id")["p_interview"]
    common = silent.index.intersection(zero.index)
    assert len(common) and (silent[common] > zero[common]).all()  # zero letters costs; unstated does not


def test_cli_batch_refuses_a_missing_file_before_starting_prefect(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from imgpipeline.cli import app

    result = CliRunner().invoke(app, ["batch", str(tmp_path / "missing.csv"), "--processed-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "missing.csv: no such file" in result.output and not (tmp_path / "batches").exists()


def test_warm_compiles_the_signatures_the_batch_uses(many: bt.Profiles, data: Published, scored: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """``kernel.warm`` (run by ``make setup``) compiles each entry point for the very types and
    layouts the batch passes: after it and a real batch, each has one compiled signature (a
    mismatch would compile a second one at the first batch run)."""
    from imgpipeline.advice import kernel

    kernel.warm()
    bt.score_profiles(many, data, chunk_size=50)
    assert {f.__name__: len(f.signatures) for f in kernel.ENTRY_POINTS} == {f.__name__: 1 for f in kernel.ENTRY_POINTS}


def test_equal_rows_groups_rows_as_uniques_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """The keys' grouping by a hash of each row is np.unique's over the rows' bytes (first
    index of each group, each row's group), also when every row shares one hash."""
    rng = np.random.default_rng(3)
    m = rng.integers(0, 3, (2000, 9)).astype(float)
    m[rng.random(m.shape) < 0.1] = np.nan
    m[rng.random(m.shape) < 0.05] = -0.0                 # not 0.0: another key, as the bytes say
    bits = np.ascontiguousarray(m).view(np.uint64)
    _, first, inverse = np.unique(bits.view(np.dtype((np.void, 72))).ravel(), return_index=True, return_inverse=True)
    first_of_row = first[inverse.ravel()]                # each row's group, named by its first row
    for multiplier in (bt._HASH_MULTIPLIER, np.uint64(0)):   # 0: every row one hash, the rows' own sort
        monkeypatch.setattr(bt, "_HASH_MULTIPLIER", multiplier)
        got_first, got_inverse = bt._equal_rows(bits)
        assert sorted(got_first.tolist()) == sorted(first.tolist())
        assert got_first[got_inverse].tolist() == first_of_row.tolist()


def test_a_chunk_failing_to_build_its_keys_fails_the_batch_without_holding_the_next(many: bt.Profiles, data: Published) -> None:
    """A chunk whose keys cannot be built (an unknown visa need) fails the batch with its
    error; the chunks after it, which wait for its turn to build theirs, are not left waiting."""
    import threading

    bad = bt.Profiles(many.applicants.copy(), many.preferred, many.budgets, many.source, many.sha256)
    bad.applicants.loc[60, "visa_need"] = "martian"      # chunk 1 of 50 profiles each
    raised: list[BaseException] = []

    def run() -> None:
        try:
            bt.score_profiles(bad, data, chunk_size=50)
        except BaseException as exc:  # noqa: BLE001 - the error the batch raises is the test
            raised.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=120)
    assert not worker.is_alive(), "the batch hung on the failed chunk's turn"
    assert len(raised) == 1 and isinstance(raised[0], KeyError) and "martian" in str(raised[0])
