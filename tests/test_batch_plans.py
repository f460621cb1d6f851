"""Each applicant's next steps in a batch (``imgpipeline batch --plans``): one row per applicant
x step, the same steps, words and sized effects as ``imgpipeline recommend`` gives each profile,
published beside the lists and checked per chunk."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from imgpipeline.advice import batch as bt
from imgpipeline.advice.plan import plan_rows
from imgpipeline.advice.published import load_published
from imgpipeline.advice.recommend import recommend
from imgpipeline.store import current_version
from imgpipeline.tables import TABLES

# Runs flows or reads the run's Prefect server: waits for it (conftest.prefect_server).
pytestmark = pytest.mark.usefixtures("prefect_server")


@pytest.mark.slow
def test_batch_plans_are_what_recommend_gives_each_profile(published, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from flows.batch import run_batch

    refresh_version = current_version(published)
    profiles = bt.write_input(bt.random_profiles(12, seed=5), tmp_path / "profiles.csv")
    result = run_batch(str(profiles), processed_dir=str(tmp_path / "processed"), version_dir=str(refresh_version), chunk_size=5, plans=True)
    steps = pd.read_parquet(Path(result["version_dir"]) / "batch_plan_steps.parquet")

    data = load_published(refresh_version)
    people = bt.read_profiles(profiles, keep_profiles=True).profiles
    expected = TABLES["batch_plan_steps"].coerce(pd.concat([plan_rows(recommend(p, data, plan=True)) for p in people], ignore_index=True))
    pd.testing.assert_frame_equal(TABLES["batch_plan_steps"].coerce(steps), expected, check_exact=True)
    assert steps["profile_id"].nunique() > 6 and steps["sized"].any() and (~steps["sized"]).any()
    assert steps.groupby("profile_id")["step_order"].apply(lambda s: list(s) == list(range(1, len(s) + 1))).all()

    manifest = json.loads((Path(result["version_dir"]) / "manifest.json").read_text())
    assert manifest["tables"]["batch_plan_steps"]["rows"] == len(steps)
    assert {v["table"] for v in manifest["validation"]} == {"batch_applicants", "batch_recommendations", "batch_plan_steps"}


def test_plans_need_the_parsed_profiles(tmp_path: Path) -> None:
    profiles = bt.write_input(bt.random_profiles(3, seed=1), tmp_path / "profiles.csv")
    with pytest.raises(ValueError, match="keep_profiles=True"):
        bt.plan_chunk(bt.read_profiles(profiles), data=None)  # type: ignore[arg-type]
    assert len(bt.read_profiles(profiles, keep_profiles=True).profiles) == 3
