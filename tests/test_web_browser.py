"""The applicant's pages in a real browser (issue 14): headless Debian Chromium driven by
Playwright against the real app (uvicorn on 127.0.0.1, ``web_server``) over a real published
version. The docs' two example applicants fill the form and must get the tier and the list
(acgme_ids in order) ``recommend()`` gives; a reason expands from the keyboard; the CSV
downloads; a program link leads to the program's evidence; a bad value shows the field's
message. With IMGPIPELINE_SCREENSHOTS=docs/app the pages are saved as PNGs for docs/app.md.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pandas as pd
import pytest
import yaml

from imgpipeline.settings import Settings

SETTINGS = Settings()  # the rules every call here is given

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"
CHROMIUM = Path(os.environ.get("IMGPIPELINE_CHROMIUM", "/usr/bin/chromium"))
SHOTS = os.environ.get("IMGPIPELINE_SCREENSHOTS")

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `make test` installs Debian's chromium when run as root (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        yield b
        b.close()


def shot(page, name: str) -> None:
    if SHOTS:
        folder = ROOT / SHOTS if not Path(SHOTS).is_absolute() else Path(SHOTS)
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"))


def fill_profile(page, profile: dict) -> None:
    """Type the profile into the form, field by field, as an applicant would."""
    from imgpipeline.web.forms import FIELDS, profile_to_form

    for name, value in profile_to_form(profile).items():
        el = page.locator(f"#{FIELDS[name].id}")
        if FIELDS[name].kind == "select":
            el.select_option(value)
        else:
            el.fill(value)


def expected(name: str, published):
    from imgpipeline.advice.profile import parse_profile
    from imgpipeline.advice.recommend import recommend

    profile = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())
    return profile, recommend(parse_profile(profile, settings=SETTINGS), published)


def listed_ids(page) -> list[str]:
    return page.locator("li.program").evaluate_all("els => els.map(e => e.dataset.acgmeId)")


def test_moderately_low_j1_in_the_browser(browser, web_server: str, published):
    profile, rec = expected("moderately_low_j1", published)
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(web_server + "/")
        # Every input has a label and starts at "not stated" (graduation year is the one required field).
        assert page.locator("label").count() == page.locator("form input:not([type=hidden]), form select").count()
        assert page.locator("#f-ecfmg-certified").input_value() == ""
        fill_profile(page, profile)
        page.evaluate("window.scrollTo(0, 0)")
        shot(page, "form")
        page.get_by_role("button", name="Show my list").click()
        page.wait_for_url("**/recommend?**")

        assert page.locator("#tier").get_attribute("data-tier") == rec.tier
        assert listed_ids(page) == list(rec.programs["acgme_id"])
        assert page.locator(".chart svg polyline").count() == 2
        assert page.locator("#outcome").inner_text().startswith(f"{rec.outcome.n} programs")
        # The plan: the same steps as `imgpipeline recommend`, in its order.
        plan = page.locator("#plan").inner_text()
        at = [plan.find(step.title) for step in rec.plan.steps]
        assert rec.plan.steps and -1 not in at and at == sorted(at)
        shot(page, "result")

        # A reason expands from the keyboard: focus the first summary, press Enter.
        first = page.locator("li.program details.why").first
        assert first.get_attribute("open") is None
        first.locator("summary").focus()
        page.keyboard.press("Enter")
        assert first.get_attribute("open") is not None
        terms = first.locator("table.contrib tbody tr")
        assert terms.count() == len(json.loads(rec.programs["contributions"].iloc[0]))
        assert first.locator("table.contrib").is_visible()
        shot(page, "reason")

        # The CSV download is the list.
        with page.expect_download() as dl:
            page.locator("#dl-csv").click()
        csv = pd.read_csv(io.BytesIO(Path(dl.value.path()).read_bytes()), dtype={"acgme_id": str})
        assert list(csv["acgme_id"]) == list(rec.programs["acgme_id"])

        # A filter by program tier (query parameters) keeps the order and only that tier.
        tier = rec.programs["program_tier"].iloc[-1]
        page.locator("#filter-tier").select_option(tier)
        page.get_by_role("button", name="Filter").click()
        page.wait_for_url("**tier=**")
        want = list(rec.programs.loc[rec.programs["program_tier"] == tier, "acgme_id"])
        assert listed_ids(page) == want and 0 < len(want)

        # Follow a program link to its features and their evidence.
        link = page.locator("li.program a.name").first
        name = link.inner_text()
        link.click()
        page.wait_for_url("**/programs/**")
        assert page.locator("#program-name").inner_text() == name
        bases = page.locator("table.features td.basis").all_inner_texts()
        assert bases and set(bases) <= {"stated", "imputed", "inferred", "unknown", ""}
        assert page.locator("table.features code").count() > 0        # source snapshots shown
        shot(page, "program")
        page.goto(web_server + "/sources")
        assert page.locator("section.snapshot").count() > 0
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        shot(page, "sources")
    finally:
        context.close()


def test_very_high_h1b_on_a_phone(browser, web_server: str, published):
    profile, rec = expected("very_high_h1b", published)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(web_server + "/")
        fill_profile(page, profile)
        page.get_by_role("button", name="Show my list").click()
        page.wait_for_url("**/recommend?**")
        assert page.locator("#tier").get_attribute("data-tier") == rec.tier == "very_high"
        assert listed_ids(page) == list(rec.programs["acgme_id"])
        # Readable on a phone: nothing wider than the screen.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        shot(page, "result-phone")
    finally:
        context.close()


def test_a_bad_value_shows_the_fields_message(browser, web_server: str):
    page = browser.new_page()
    try:
        page.goto(web_server + "/")
        page.locator("#f-graduation-year").fill("2020")
        score = page.locator("#f-step2ck-score")
        score.fill("350")
        score.press("Enter")                          # submits from the keyboard
        page.wait_for_url("**/recommend?**")
        message = page.locator("#f-step2ck-score-error")
        assert "between 1 and 300" in message.inner_text()
        assert page.locator("#f-step2ck-score").get_attribute("aria-invalid") == "true"
        assert "f-step2ck-score-error" in page.locator("#f-step2ck-score").get_attribute("aria-describedby")
        assert page.locator("#f-step2ck-score").input_value() == "350"   # the typed value is kept
        assert page.locator("#error-summary a[href='#f-step2ck-score']").count() == 1
        assert page.locator("#f-graduation-year").input_value() == "2020"
        page.locator("#f-step2ck-score").scroll_into_view_if_needed()
        shot(page, "bad-value")
    finally:
        page.close()
