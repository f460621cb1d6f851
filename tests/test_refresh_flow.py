"""One real refresh through the Prefect flow (the session fixture ``published``): what it
published, how it traces to its snapshots, and that no contact data got through."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pypdfium2 as pdfium
import pytest

from imgpipeline.settings import Settings
from imgpipeline.store import current_version, read_manifest, read_table
from imgpipeline.tables import TABLES

# Runs flows or reads the run's Prefect server: waits for it (conftest.prefect_server).
pytestmark = pytest.mark.usefixtures("prefect_server")

NYU = "1403521292"
# The test's own patterns, broader than the pipeline's: any e-mail address, and US phone
# numbers written as (612) 863-4649, 612-863-4649, 612.863.4649 or 612 863 4649.
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?:\(\d{3}\)\s?|\b\d{3}[-.\s])\d{3}[-.\s]\d{4}\b")


def mirror_sums(data_dir: Path) -> dict[str, str]:
    return {
        rel: digest
        for digest, rel in (x.split() for x in (data_dir / "SHA256SUMS").read_text().splitlines())
    }


@pytest.fixture(scope="module")
def version(published: Settings) -> Path:
    folder = current_version(published)
    assert folder is not None and folder.parent == published.versions_dir.resolve()
    return folder


@pytest.fixture(scope="module")
def programs(published: Settings) -> pd.DataFrame:
    return read_table("programs", published)


@pytest.fixture(scope="module")
def manifest(published: Settings) -> dict:
    return read_manifest(published)


def test_programs_are_exactly_the_688_acgme_ids(programs: pd.DataFrame, acgme_pdf: Path) -> None:
    pdf = pdfium.PdfDocument(str(acgme_pdf))
    try:
        text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()
    ids = re.findall(r"\[(140\d{7})\]", text)
    assert len(programs) == 688 and programs["acgme_id"].is_unique
    assert set(programs["acgme_id"]) == set(ids)


def test_freida_fields_for_nyu(programs: pd.DataFrame) -> None:
    r = programs.set_index("acgme_id").loc[NYU]
    assert r.in_freida
    assert r.freida_program_name == "NYU Grossman School of Medicine Program"
    assert r.img_share == 0.023
    assert r.first_year_positions == 95
    assert list(r.visas_listed) == ["J-1"] and r.lists_j1 and not r.lists_h1b
    assert r.acgme_first_year == 2000
    assert r.freida_url == f"https://freida.ama-assn.org/program/{NYU}"
    assert (r.city, r.state) == ("New York", "NY")


def test_provenance_columns_trace_to_the_mirror(
    programs: pd.DataFrame, data_dir: Path, published: Settings
) -> None:
    sums = mirror_sums(data_dir)
    acgme_sha = sums["acgme/internal-medicine-programs_2024-2025.pdf"]
    freida_sha = sums["freida/internal-medicine-programs_2025-05-26.csv"]
    assert set(programs["acgme_sha256"]) == {acgme_sha}
    assert set(programs["acgme_as_of"]) == {dt.date(2025, 5, 2)}
    assert set(programs["acgme_snapshot"]) == {f"acgme_programs@2025-05-02#{acgme_sha[:12]}"}
    assert set(programs["freida_sha256"]) == {freida_sha}
    assert set(programs["freida_as_of"]) == {dt.date(2025, 5, 26)}
    assert set(programs["freida_snapshot"]) == {f"freida_programs@2025-05-26#{freida_sha[:12]}"}
    snapshots = read_table("snapshots", published).set_index("source")
    landed = {
        json.loads(x)["sha256"] for x in published.manifest_path.read_text().splitlines()
    }
    assert snapshots.loc["acgme_programs", "sha256"] == acgme_sha
    assert snapshots.loc["freida_programs", "sha256"] == freida_sha
    assert {acgme_sha, freida_sha} <= landed


def test_parquet_schema_has_version_and_descriptions(version: Path) -> None:
    schema = pq.read_schema(version / "programs.parquet")
    table = TABLES["programs"]
    assert schema.metadata[b"schema_version"] == table.schema_version.encode()
    assert schema.names == table.column_names
    for c in table.columns:
        assert schema.field(c.name).metadata[b"description"].decode() == c.description
    assert schema.field("img_share").metadata[b"unit"] == b"fraction"


def test_run_summary_reports_the_unmatched_ids(
    manifest: dict, published: Settings, programs: pd.DataFrame, freida_csv: Path
) -> None:
    acgme_only = manifest["unmatched"]["ACGME programs without a FREIDA page"]
    freida_only = manifest["unmatched"]["FREIDA pages not on the ACGME list"]
    assert len(acgme_only) == 6 and len(freida_only) == 6
    # Independently: the ids of the two files.
    freida_ids = set(pd.read_csv(freida_csv, dtype=str)["program_id"])
    assert set(acgme_only) == set(programs["acgme_id"]) - freida_ids
    assert set(freida_only) == freida_ids - set(programs["acgme_id"])
    # Kept in the published table of unmatched records, and flagged in programs.
    unmatched = read_table("unmatched_records", published)
    assert sorted(unmatched.loc[unmatched["source"] == "acgme_programs", "record_id"]) == acgme_only
    assert sorted(unmatched.loc[unmatched["source"] == "freida_programs", "record_id"]) == freida_only
    no_page = programs[~programs["in_freida"]]
    assert sorted(no_page["acgme_id"]) == acgme_only
    assert no_page["freida_program_name"].isna().all() and no_page["img_share"].isna().all()
    assert manifest["collapsed_duplicates"] == {
        f"freida_programs@2025-05-26#{programs['freida_sha256'].iloc[0][:12]}": ["1401900001"]
    }
    # The NRMP code the Florida file lists on two rows, merged by year, is said too.
    (note,) = manifest["notes"]
    assert note.startswith("nrmp_program_results_fl@2026-04#") and note.endswith(": 1104040R0")
    assert manifest["version"] == current_version(published).name
    assert manifest["tables"]["programs"]["rows"] == 688
    assert all(v["failed"] == 0 for v in manifest["validation"])


def test_no_email_or_phone_in_any_published_file(version: Path) -> None:
    assert EMAIL.search("write to erin.dickerson@trioshealth.org") and PHONE.search("Ph: (612) 863-4649")
    files = sorted(version.glob("*.parquet"))
    assert {"programs.parquet", "unmatched_records.parquet", "snapshots.parquet"} <= {
        f.name for f in files
    }
    scanned = 0
    for path in files:
        df = pd.read_parquet(path)
        for col in df.columns:
            values = df[col].dropna()
            values = values[values.map(lambda v: isinstance(v, str))].astype(str)
            if values.empty:
                continue
            scanned += len(values)
            hits = values[values.str.contains(EMAIL) | values.str.contains(PHONE)]
            assert hits.empty, (path.name, col, hits.head(3).tolist())
        metadata = pq.read_schema(path).metadata or {}
        for v in metadata.values():
            assert not EMAIL.search(v.decode()) and not PHONE.search(v.decode()), path.name
    text = (version / "manifest.json").read_text()
    assert not EMAIL.search(text) and not PHONE.search(text)
    assert scanned > 688 * 20


def test_the_flow_run_is_recorded_by_prefect(published_runs: Settings) -> None:
    """Both refreshes of ``published`` are completed flow runs on the run's Prefect server,
    with their run-summary artifacts (other tests' refreshes are on the same server: only the
    runs on this processed folder count)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
        FlowFilter,
        FlowFilterName,
    )

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["refresh"])))
        ours = [r for r in runs if r.parameters.get("processed_dir") == str(published_runs.processed_dir)]
        completed = [r for r in ours if r.state and r.state.is_completed()]
        assert len(completed) >= 2, [r.state for r in ours]
        summaries = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["refresh-summary"]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[r.id for r in completed]),
            )
        )
    assert len(summaries) == 2 and all("Unmatched records" in str(a.data) for a in summaries)


def test_prefect_yaml_declares_the_weekly_deployment() -> None:
    """prefect.yaml parses with Prefect's own model, its schedule is a valid cron equal to
    the flow's, and its entrypoint loads the refresh flow."""
    import yaml
    from prefect.cli.deploy._models import PrefectYamlModel, RawScheduleConfig
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.flows import Flow, load_flow_from_entrypoint

    from flows.refresh import WEEKLY_CRON

    root = Path(__file__).resolve().parents[1]
    raw = yaml.safe_load((root / "prefect.yaml").read_text())
    model = PrefectYamlModel.model_validate(raw)
    [deployment] = model.deployments
    assert deployment.name == "weekly-refresh"
    assert deployment.work_pool is not None and deployment.work_pool.name == "imgpipeline"
    [schedule] = raw["deployments"][0]["schedules"]
    schedule = RawScheduleConfig.model_validate(schedule)
    assert schedule.cron == WEEKLY_CRON and schedule.timezone == "UTC"
    CronSchedule(cron=schedule.cron, timezone=schedule.timezone)  # raises on a bad cron

    path, name = deployment.entrypoint.split(":")
    flow = load_flow_from_entrypoint(str(root / path) + ":" + name, use_placeholder_flow=False)
    assert isinstance(flow, Flow) and flow.name == "refresh"
    assert {"source_dir", "raw_dir", "processed_dir"} <= set(flow.parameters.properties)
