"""Great Expectations' HTML Data Docs: written beside each published version from that run's
validations, linked from the run summary; a failed check shows with its values."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd
import pytest

from imgpipeline.settings import Settings
from imgpipeline.store import current_version, read_manifest
from imgpipeline.tables import TABLES

# Runs flows or reads the run's Prefect server: waits for it (conftest.prefect_server).
pytestmark = pytest.mark.usefixtures("prefect_server")

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?:\(\d{3}\)\s?|\b\d{3}[-.\s])\d{3}[-.\s]\d{4}\b")


def page_text(path: Path) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", path.read_text())))


def local_links(site: Path) -> list[tuple[Path, Path]]:
    """(page, target) for every relative href/src of every page, and the index's page list.
    The favicon is left out: GX 1.24 links it one folder short from validation pages."""
    out = []
    for page in site.rglob("*.html"):
        text = page.read_text()
        for link in re.findall(r"""(?:href|src)=["']([^"'#?]+)""", text):
            if "://" not in link and not link.endswith("favicon.ico"):
                out.append((page, (page.parent / link).resolve()))
        for link in re.findall(r"'((?:validations|expectations)/[^']+\.html)'", text):
            out.append((page, (page.parent / link).resolve()))
    return out


def test_a_run_gets_its_own_pages_and_a_failure_shows_its_values(
    staged_freida: pd.DataFrame, tmp_path: Path, offline_page
) -> None:
    from imgpipeline.refresh.validate import Gate, build_data_docs

    gate = Gate()
    table = TABLES["freida_programs"]
    gate.run(staged_freida, table, "good run", run_name="run-a")
    broken = staged_freida.copy()
    broken["state"] = broken["state"].cat.add_categories(["ZZ"])  # a closed set: a value it lacks
    broken.loc[broken["acgme_id"] == "1403521292", "state"] = "ZZ"
    report = gate.run(broken, table, "broken copy", run_name="run-b")
    assert not report.success

    site = tmp_path / "docs"
    index = build_data_docs(gate.take_results("run-b"), site)
    assert index == site / "index.html"
    (page,) = site.glob("validations/freida_programs/run-b/*/*.html")
    assert not list(site.glob("validations/*/run-a"))
    text = page_text(page)
    assert "values must belong to this set" in text and "ZZ" in text and "1403521292" in text
    assert (site / "expectations" / "freida_programs.html").exists()
    # The other run's result stays with the gate; this run's results were taken; untagged
    # validations keep nothing, and neither does GX's own store.
    assert [r.meta["run_id"].run_name for r in gate.results] == ["run-a"]
    gate.run(staged_freida, table, "untagged")
    assert len(gate.results) == 1 and gate.context.validation_results_store.list_keys() == []
    # Every local link resolves, and GX's unused static files (about 4 MB) are gone.
    assert all(target.exists() for _, target in local_links(site))
    assert sum(f.stat().st_size for f in site.rglob("*") if f.is_file()) < 1_000_000
    assert not (site / "static" / "images" / "glossary_scroller.gif").exists()

    # Offline in a real browser: the index lists the failed validation as failed, its page
    # shows the failed expectation with a visible status, and "Failed only" hides the rest.
    offline_page.goto(index.as_uri())
    rows = offline_page.locator("#validations tbody tr")
    assert rows.count() == 1
    assert rows.first.locator("td").first.inner_text() == "✖ failed"
    rows.first.locator("a").click()
    offline_page.wait_for_load_state()
    assert offline_page.url == page.as_uri()
    assert offline_page.locator(".status-failed").first.is_visible()
    passed = offline_page.locator(".status-passed")
    assert passed.count() > 50 and passed.first.is_visible()
    offline_page.get_by_text("Failed Only").click()
    assert not passed.first.is_visible()
    failed_row = offline_page.locator("tr", has=offline_page.locator(".status-failed")).filter(has_text="ZZ")
    assert failed_row.count() >= 1 and failed_row.last.is_visible()
    assert "values must belong to this set" in failed_row.last.inner_text()
    assert offline_page.blocked == []


def test_a_failed_run_leaves_no_results_behind(staged_freida: pd.DataFrame) -> None:
    from imgpipeline.errors import ValidationFailed
    from imgpipeline.refresh.validate import Gate, validate_frames

    gate = Gate()
    broken = staged_freida.assign(state="ZZ")
    with pytest.raises(ValidationFailed, match="state"):
        validate_frames([(broken, TABLES["freida_programs"], "broken")], gate, run_name="failed-run")
    assert gate.results == []


def test_the_published_version_has_data_docs_of_every_validation(published: Settings) -> None:
    version = current_version(published)
    assert version is not None
    manifest = read_manifest(published)
    assert manifest["data_docs"] == "data_docs/index.html"
    site = version / "data_docs"
    index = site / "index.html"
    assert index.exists()
    index_text = index.read_text()
    validated = {v["table"] for v in manifest["validation"]}
    assert {"acgme_programs", "freida_programs", "programs", "changes"} <= validated
    for table in validated:
        pages = list(site.glob(f"validations/{table}/*/*/*.html"))
        assert len(pages) == 1, table
        assert str(pages[0].relative_to(site)) in index_text
        assert "Succeeded" in page_text(pages[0])
    assert all(target.exists() for _, target in local_links(site))
    for page in site.rglob("*.html"):
        text = page_text(page)
        assert not EMAIL.search(text) and not PHONE.search(text), page


def test_the_data_docs_open_offline_from_a_copied_version(
    published: Settings, tmp_path: Path, offline_page
) -> None:
    """A version folder copied elsewhere (an archive on a machine with no network): its Data
    Docs open in Chromium with every validation listed, each with a visible status, and no
    page of the site asks for anything outside the folder."""
    import shutil
    import stat

    version = current_version(published)
    assert version is not None
    site = version / "data_docs"
    # Normal permissions, like the rest of the version (was drwx------ from mkdtemp).
    assert stat.S_IMODE(site.stat().st_mode) & 0o055 == 0o055
    copy = shutil.copytree(version, tmp_path / "archive" / version.name)
    for page in (copy / "data_docs").rglob("*.html"):
        assert not re.search(r"""(?:src|href)=["'](?:https?:)?//""", page.read_text()), page
    offline_page.goto((copy / "data_docs" / "index.html").as_uri())
    validated = read_manifest(published)["validation"]
    rows = offline_page.locator("#validations tbody tr")
    assert rows.count() == len(validated)
    listed = {
        rows.nth(i).locator("td").nth(1).inner_text(): rows.nth(i).locator("td").first.inner_text()
        for i in range(rows.count())
    }
    assert listed == {v["table"]: "✔ passed" for v in validated}
    rows.filter(has_text="program_scores").locator("a").click()
    offline_page.wait_for_load_state()
    assert offline_page.url.startswith((copy / "data_docs" / "validations" / "program_scores").as_uri())
    status = offline_page.locator(".status-passed")
    assert status.count() >= 10 and status.first.is_visible()
    assert "Succeeded" in offline_page.locator("body").inner_text()
    assert offline_page.blocked == []


def test_the_run_summary_artifact_links_the_data_docs(published_runs: Settings) -> None:
    published = published_runs
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    version = current_version(published)
    assert version is not None
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["refresh-summary"]))
        )
    (summary,) = [a for a in artifacts if f"version `{version.name}`" in str(a.data)]
    index = version / "data_docs" / "index.html"
    # A path to open, not a file:// link (which the Prefect UI's browser will not follow).
    assert f"needs no network): `{index}`" in str(summary.data)
    assert "file://" not in str(summary.data)
    # The fixture's second refresh: its summary says what it was compared with; the first
    # refresh's summary says it was a first publication.
    first = read_manifest(published)["changes_from"]
    assert f"changes since version `{first}`" in str(summary.data)
    (earlier,) = [a for a in artifacts if f"version `{first}`" in str(a.data) and a.id != summary.id]
    assert "First publication: no previous version to compare with." in str(earlier.data)
