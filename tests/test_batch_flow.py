"""Prefect smoke test of the batch flow: a few hundred real-format profiles scored against a
real published version on the default task runner and on a local Dask cluster (2 worker
processes) give identical published tables, the lists streamed chunk by chunk to one Parquet
file with its declared schema and checked per chunk; each run publishes atomically under
<processed>/batches, apart from the refresh's versions."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from imgpipeline.advice import batch as bt
from imgpipeline.settings import get_settings
from imgpipeline.store import current_version
from imgpipeline.tables import TABLES

# Runs flows or reads the run's Prefect server: waits for it (conftest.prefect_server).
pytestmark = pytest.mark.usefixtures("prefect_server")


@pytest.mark.slow
def test_batch_flow_default_and_dask_publish_the_same_tables(published, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from flows.batch import batch_settings, run_batch

    refresh_version = current_version(published)
    profiles = bt.write_input(bt.random_profiles(240, seed=11), tmp_path / "profiles.csv")
    out = tmp_path / "processed"
    common = {"processed_dir": str(out), "version_dir": str(refresh_version), "chunk_size": 70}
    default = run_batch(str(profiles), runner="default", **common)
    dask = run_batch(str(profiles), runner="dask", dask_workers=2, **common)

    settings = batch_settings(get_settings(processed_dir=out))
    assert current_version(settings) == Path(dask["version_dir"]).resolve()
    assert sorted(p.name for p in settings.versions_dir.iterdir()) == sorted([default["version"], dask["version"]])
    assert not (out / "current").exists()  # the refresh's own `current` is not touched
    assert current_version(published) == refresh_version

    for name in ("batch_applicants", "batch_recommendations"):
        a = pd.read_parquet(Path(default["version_dir"]) / f"{name}.parquet")
        b = pd.read_parquet(Path(dask["version_dir"]) / f"{name}.parquet")
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    apps = pd.read_parquet(Path(dask["version_dir"]) / "batch_applicants.parquet")
    recs = pd.read_parquet(Path(dask["version_dir"]) / "batch_recommendations.parquet")
    assert len(apps) == 240 and len(recs) == int(apps["programs_listed"].sum()) > 240 * 80 * 0.5
    # The same rows as scoring without Prefect, one row group per chunk, the declared schema.
    direct = bt.score_profiles(bt.read_profiles(profiles), refresh_version)[1]
    assert list(recs["acgme_id"]) == list(direct["acgme_id"]) and list(recs["profile_id"]) == list(direct["profile_id"])
    assert (recs["p_interview"].to_numpy() == direct["p_interview"].to_numpy()).all()
    meta = pq.ParquetFile(Path(dask["version_dir"]) / "batch_recommendations.parquet")
    assert meta.metadata.num_row_groups == 4
    assert meta.schema_arrow.metadata[b"schema_version"].decode() == TABLES["batch_recommendations"].schema_version
    assert apps["expected_interviews"].gt(0).any() and apps["p_match"].between(0, 1).all()

    manifest = json.loads((Path(dask["version_dir"]) / "manifest.json").read_text())
    assert manifest["runner"] == "dask" and default["runner"] == "default"
    assert manifest["chunks"] == 4 and manifest["published_version"] == refresh_version.name
    assert manifest["input"]["sha256"] == bt.read_profiles(profiles).sha256
    assert {s["source"] for s in manifest["published_snapshots"]} >= {"acgme_programs", "freida_programs"}
    assert all(v["failed"] == 0 and v["chunks"] == 4 for v in manifest["validation"])
    assert manifest["tables"]["batch_recommendations"]["rows"] == len(recs)
    assert not [p for p in settings.versions_dir.iterdir() if p.name.startswith(".")]  # no staging left behind
    assert "below the article's size" in dask["markdown"]
