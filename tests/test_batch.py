"""Batch scoring without Prefect: reading and validating profile files (CSV, Parquet, YAML), and
scoring a few hundred profiles against a real published version: the same lists as
``recommend``, independent of chunking, every hard exclusion respected."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from imgpipeline import batch as bt
from imgpipeline import recommend as rc
from imgpipeline.applicant import load_profile, parse_profile
from imgpipeline.fees import eras_fee
from imgpipeline.risk import list_sizes

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLE_CSV = ROOT / "docs" / "examples" / "profiles_batch.csv"
YEAR = 2026


def test_csv_parquet_and_yaml_give_the_same_applicants(tmp_path: Path) -> None:
    csv = bt.read_profiles(EXAMPLE_CSV, as_of_year=YEAR)
    flat = pd.read_csv(EXAMPLE_CSV, dtype={"profile_id": str, "preferred_states": str})
    flat.to_parquet(tmp_path / "p.parquet", index=False)
    pq = bt.read_profiles(tmp_path / "p.parquet", as_of_year=YEAR)
    docs = [yaml.safe_load((ROOT / "docs" / "examples" / f).read_text()) for f in ("moderately_low_j1.yaml", "very_high_h1b.yaml")]
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(docs))
    ym = bt.read_profiles(tmp_path / "p.yaml", as_of_year=YEAR)
    pd.testing.assert_frame_equal(csv.applicants, pq.applicants)
    assert csv.preferred == pq.preferred
    # The two docs examples, written as YAML profiles and as CSV rows, are the same applicants.
    pd.testing.assert_frame_equal(ym.applicants, csv.applicants.iloc[:2].reset_index(drop=True))
    assert ym.preferred == csv.preferred[:2]
    assert csv.applicants["step2ck_taken"].tolist()[-1] is False  # an empty score: not taken yet
    assert np.isnan(csv.budgets[1]) and csv.budgets[0] == 3000


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
def data(published) -> rc.PublishedPrograms:  # type: ignore[no-untyped-def]
    return rc.load_published(published)


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> bt.Profiles:
    path = bt.write_input(bt.random_profiles(300, seed=7), tmp_path_factory.mktemp("batch") / "p.parquet")
    return bt.read_profiles(path, as_of_year=YEAR)


@pytest.fixture(scope="module")
def scored(many: bt.Profiles, data: rc.PublishedPrograms) -> tuple[pd.DataFrame, pd.DataFrame]:
    return bt.score_profiles(many, data, chunk_size=1000)


@pytest.mark.xdist_group("published")
def test_batch_lists_are_the_recommend_lists(data: rc.PublishedPrograms) -> None:
    profiles = bt.read_profiles(EXAMPLE_CSV, as_of_year=YEAR)
    _, recs = bt.score_chunk(profiles, data)
    flat = pd.read_csv(EXAMPLE_CSV, dtype={"profile_id": str, "preferred_states": str})
    for row in flat.to_dict("records"):
        one = rc.recommend(parse_profile(bt._nested(row)), data, as_of_year=YEAR)
        mine = recs[recs["profile_id"] == row["profile_id"]]
        assert list(mine["acgme_id"]) == list(one.programs["acgme_id"]), row["profile_id"]
        assert np.array_equal(mine["score"].to_numpy(), one.programs["score"].to_numpy())
        assert list(mine["band"]) == list(one.programs["band"])
    ml = rc.recommend(load_profile(ROOT / "docs" / "examples" / "moderately_low_j1.yaml"), data, as_of_year=YEAR)
    assert (recs["profile_id"] == "example-moderately-low-j1").sum() == ml.n_listed


@pytest.mark.xdist_group("published")
def test_chunking_changes_nothing(many: bt.Profiles, data: rc.PublishedPrograms, scored: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    small = bt.score_profiles(many, data, chunk_size=37)
    pd.testing.assert_frame_equal(small[0], scored[0], check_exact=True)
    pd.testing.assert_frame_equal(small[1], scored[1], check_exact=True)


@pytest.mark.xdist_group("published")
def test_every_hard_exclusion_holds_and_sizes_follow_the_article(many: bt.Profiles, data: rc.PublishedPrograms, scored: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    apps, recs = scored
    f = data.features.set_index("acgme_id")
    rows = recs.merge(many.applicants, on="profile_id").join(f, on="acgme_id", rsuffix="_program")
    # A needed visa the program states (or is inferred) not to sponsor is never listed; an
    # unknown sponsorship is listed (with a caution in recommend's texts).
    no_j1 = rows["sponsors_j1"].astype("boolean").eq(False).fillna(False)
    no_h1b = rows["sponsors_h1b"].astype("boolean").eq(False).fillna(False)
    need = rows["visa_need"]
    assert not no_j1[need == "j1"].any() and not no_h1b[need == "h1b"].any() and not (no_j1 & no_h1b)[need == "either"].any()
    failed = rows["usmle_failures"] > 0
    assert not rows.loc[failed, "failed_attempts_policy"].isin(["not_considered", "first_attempt_required"]).any()
    limit = pd.to_numeric(rows["yog_limit_years"], errors="coerce")
    assert not ((rows["yog_tolerance"] == "stated_limit") & (rows["years_since_graduation"] > limit)).any()
    assert not rows["imgs_welcome"].astype("boolean").eq(False).fillna(False).any()
    # Sizes: the tier's maximum, or fewer (and flagged) only when fewer programs qualify.
    sizes = list_sizes()
    per = recs.groupby("profile_id").size().reindex(apps["profile_id"], fill_value=0).to_numpy()
    assert (per == apps["programs_listed"].to_numpy()).all()
    cap = apps["risk_tier"].map(lambda t: sizes[t].max)
    qualifying = apps["programs_eligible"] - apps["programs_left_out"]
    assert (apps["programs_listed"] == np.minimum(cap, qualifying)).all()
    assert (apps["below_article_size"] == (apps["programs_listed"] < apps["risk_tier"].map(lambda t: sizes[t].min))).all()
    assert apps["below_article_size"].any() and not apps["below_article_size"].all()
    assert (apps["eras_fee_usd"] == apps["programs_listed"].map(eras_fee)).all()
    assert (apps[["listed_likely", "listed_target", "listed_reach"]].sum(axis=1) == apps["programs_listed"]).all()
    # Ranks are 1..n per applicant, in file order.
    assert (recs.groupby("profile_id", sort=False)["rank"].apply(lambda r: list(r) == list(range(1, len(r) + 1)))).all()
    assert list(dict.fromkeys(recs["profile_id"])) == [p for p, n in zip(apps["profile_id"], per, strict=True) if n]


def test_cli_batch_refuses_a_missing_file_before_starting_prefect(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from imgpipeline.cli import app

    result = CliRunner().invoke(app, ["batch", str(tmp_path / "missing.csv"), "--processed-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "missing.csv: no such file" in result.output and not (tmp_path / "batches").exists()
