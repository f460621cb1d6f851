"""The no-work refresh: a refresh whose snapshots (sha256), rulebook and code are those of the
current version publishes nothing and says so; any difference recomputes."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from imgpipeline.refresh.inputs import (
    PACKAGE_DIR,
    code_version,
    current_inputs,
    differences,
    run_inputs,
    unchanged_since,
)
from imgpipeline.refresh.land import land_snapshot
from imgpipeline.refresh.programs import snapshots_frame
from imgpipeline.rulebook import DEFAULT_PATH, rulebook_digest
from imgpipeline.settings import Settings, get_settings
from imgpipeline.store import current_version, publish_version, read_manifest

# Runs flows or reads the run's Prefect server: waits for it (conftest.prefect_server).
pytestmark = pytest.mark.usefixtures("prefect_server")

SOURCES = ("acgme_programs", "freida_programs", "freida_2016", "nrmp_charting_outcomes", "nrmp_program_results_fl")


def mirror_sums(data_dir: Path) -> dict[str, str]:
    return {rel: digest for digest, rel in (x.split() for x in (data_dir / "SHA256SUMS").read_text().splitlines())}


# --- the decision, on a small real version (no flow run) ------------------------------------


@pytest.fixture
def landed(tmp_settings: Settings) -> list:
    return [land_snapshot(n, tmp_settings) for n in SOURCES]


def publish_with(settings: Settings, snaps: list, inputs: dict | None, version_id: str) -> None:
    summary = {"inputs": inputs} if inputs is not None else {}
    publish_version({"snapshots": snapshots_frame(snaps)}, settings, summary, version_id=version_id)


def test_inputs_are_the_landed_checksums_rulebook_and_code(
    landed: list, tmp_settings: Settings, data_dir: Path
) -> None:
    inputs = run_inputs(landed, tmp_settings)
    sums = mirror_sums(data_dir)
    assert inputs["snapshots"]["freida_programs"] == sums["freida/internal-medicine-programs_2025-05-26.csv"]
    assert inputs["snapshots"]["acgme_programs"] == sums["acgme/internal-medicine-programs_2024-2025.pdf"]
    assert set(inputs["snapshots"]) == set(SOURCES)
    assert inputs["rulebook_sha256"] == hashlib.sha256(DEFAULT_PATH.read_bytes()).hexdigest()
    assert inputs["code"]["package"] == "0.1.0"
    assert re.fullmatch(r"[0-9a-f]{64}", inputs["code"]["source_sha256"])
    assert run_inputs(reversed(landed), tmp_settings) == inputs, "order of landing does not matter"


def test_same_inputs_are_unchanged_and_any_difference_is_not(landed: list, tmp_settings: Settings) -> None:
    inputs = run_inputs(landed, tmp_settings)
    assert unchanged_since(inputs, tmp_settings) is None, "nothing published yet"
    publish_with(tmp_settings, landed, inputs, "v1")
    assert unchanged_since(inputs, tmp_settings) == "v1"

    other_snapshot = {**inputs, "snapshots": {**inputs["snapshots"], "freida_programs": "0" * 64}}
    other_rules = {**inputs, "rulebook_sha256": "1" * 64}
    other_code = {**inputs, "code": {**inputs["code"], "source_sha256": "2" * 64}}
    other_seed = {**inputs, "options": {**inputs["options"], "random_seed": 1}}
    for changed in (other_snapshot, other_rules, other_code, other_seed):
        assert unchanged_since(changed, tmp_settings) is None
    assert differences(other_snapshot, inputs) == [
        f"snapshot freida_programs: {inputs['snapshots']['freida_programs'][:12]} -> 000000000000"
    ]
    assert differences(other_rules, inputs) == ["rulebook"]

    # Only the current version counts: a newer one without recorded inputs (published by an
    # older release) is not "unchanged", even though v1 had the same inputs.
    publish_with(tmp_settings, landed, None, "v2")
    assert unchanged_since(inputs, tmp_settings) is None
    assert differences(inputs, None) == ["the current version recorded no inputs"]


def test_the_flow_step_stops_on_unchanged_inputs_unless_forced(landed: list, tmp_settings: Settings) -> None:
    """The flow's check_inputs task (its plain function): the current version's name when
    nothing changed, None (do the work) when forced."""
    from flows.refresh import check_inputs

    snaps = {s.source: s for s in landed}
    inputs = run_inputs(landed, tmp_settings)
    publish_with(tmp_settings, landed, inputs, "v1")
    assert check_inputs.fn(snaps, tmp_settings, force=False) == (inputs, "v1")
    assert check_inputs.fn(snaps, tmp_settings, force=True) == (inputs, None)


def test_an_unreadable_manifest_means_recompute(landed: list, tmp_settings: Settings) -> None:
    inputs = run_inputs(landed, tmp_settings)
    publish_with(tmp_settings, landed, inputs, "v1")
    assert current_inputs(tmp_settings) == ("v1", inputs)
    (tmp_settings.versions_dir / "v1" / "manifest.json").write_text("{")
    assert current_inputs(tmp_settings) == ("v1", None)
    assert unchanged_since(inputs, tmp_settings) is None


def test_rulebook_digest_follows_the_rulebook_in_use(tmp_path: Path) -> None:
    copy = tmp_path / "rulebook.yaml"
    shutil.copyfile(DEFAULT_PATH, copy)
    default = rulebook_digest(get_settings())
    assert rulebook_digest(get_settings(rulebook_path=copy)) == default
    copy.write_text(copy.read_text() + "\n# one more line\n")
    assert rulebook_digest(get_settings(rulebook_path=copy)) != default


def test_code_version_digests_the_package_source(tmp_path: Path) -> None:
    """A copy of the package digests the same; one changed byte in a module does not."""
    real = code_version(roots=(PACKAGE_DIR,))
    copy = tmp_path / "imgpipeline"
    shutil.copytree(PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert code_version(roots=(copy,)) == real
    module = copy / "store.py"
    module.write_text(module.read_text().replace("atomic", "Atomic", 1))
    assert code_version(roots=(copy,))["source_sha256"] != real["source_sha256"]
    (copy / "store.py").write_text((PACKAGE_DIR / "store.py").read_text())
    (copy / "stray.pyc").write_bytes(b"not source")
    assert code_version(roots=(copy,)) == real, "only source files count"


# --- the flow and the command, on the real published versions -------------------------------


@pytest.mark.slow
def test_refresh_of_unchanged_inputs_publishes_nothing(published: Settings, data_dir: Path) -> None:
    """``published`` ran two refreshes: the older FREIDA snapshot, then the current sources.
    A third with the current sources finds nothing changed: same versions, same current, no new
    landing; the command says so in one line and exits 0."""
    from flows.refresh import refresh

    current = current_version(published)
    versions = sorted(p.name for p in published.versions_dir.iterdir())
    landings = published.manifest_path.read_text()
    manifest = read_manifest(published)

    # The current version recorded what it was computed from: the mirror's current snapshots.
    sums = mirror_sums(data_dir)
    assert manifest["inputs"]["snapshots"]["freida_programs"] == sums["freida/internal-medicine-programs_2025-05-26.csv"]
    # The version before it differs by the FREIDA snapshot alone, and was recomputed from it.
    previous = read_manifest(published, published.versions_dir / manifest["changes_from"])
    assert differences(manifest["inputs"], previous["inputs"]) == [
        "snapshot freida_programs: "
        f"{sums['freida/internal-medicine-programs_2025-05-24.csv'][:12]} -> "
        f"{sums['freida/internal-medicine-programs_2025-05-26.csv'][:12]}"
    ]
    assert len(versions) == 2

    where = {"source_dir": str(data_dir), "raw_dir": str(published.raw_dir), "processed_dir": str(published.processed_dir)}
    result = refresh(**where)
    assert result["unchanged_since"] == current.name
    assert current_version(published) == current
    assert sorted(p.name for p in published.versions_dir.iterdir()) == versions
    assert published.manifest_path.read_text() == landings

    from imgpipeline.cli import app

    out = CliRunner().invoke(
        app,
        ["refresh", "--source-dir", str(data_dir), "--raw-dir", str(published.raw_dir), "--processed-dir", str(published.processed_dir)],
    )
    assert out.exit_code == 0, out.output
    assert out.output.strip().splitlines()[-1] == f"nothing changed since {current.name}"
    assert sorted(p.name for p in published.versions_dir.iterdir()) == versions


@pytest.mark.slow
def test_the_second_refresh_reused_the_fit_of_the_unchanged_charting_snapshot(published_runs: Settings) -> None:
    published = published_runs
    """The two refreshes of ``published`` differ by the FREIDA snapshot alone, so the second
    took the match-probability fit from the cache: its task run ended Cached, and Prefect's
    result storage holds the fit under the key of the Charting Outcomes snapshot (sha256),
    rulebook, code and seed its version was built from."""
    from prefect import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH

    from imgpipeline.refresh.inputs import curve_inputs_key
    from imgpipeline.store import read_table

    key = curve_inputs_key(read_table("charting_outcomes", published), read_table("charting_outcomes_totals", published), published)
    assert (Path(PREFECT_LOCAL_STORAGE_PATH.value()) / key).is_file()
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_="fit_match_probability")))
    last = max(runs, key=lambda r: r.start_time or r.expected_start_time)
    assert last.state is not None and last.state.name == "Cached", [(r.name, r.state_name) for r in runs]
