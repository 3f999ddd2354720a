"""What a person sees: staff and auditor pages in headless Chromium against a real server."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.browser.conftest import HIDDEN_NOTE, VISIBLE_NOTE, Site

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page


def sign_in(page: Page, site: Site, who: str) -> None:
    page.goto(f"{site.url}/ui/cases")
    assert page.locator("h1").inner_text() == "Log ind"  # no session yet: the sign-in page
    page.get_by_label("Medarbejdernøgle").fill(site.tokens[who])
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_load_state()


def test_a_caseworker_sees_the_caseload_and_only_what_the_department_may(site: Site, browser: BrowserContext) -> None:
    page = browser.new_page()
    sign_in(page, site, "jobcenter")
    assert page.locator("h1").inner_text() == "Sager i Jobcenter"
    assert "2 sager, senest aktive først" in page.locator("caption").inner_text()
    page.get_by_role("link", name=site.case_id[:8]).click()  # no name: no consent covers identity
    page.wait_for_load_state()

    assert page.locator("h1").inner_text() == "Sag om intet navn synligt"
    text = page.locator("main").inner_text()
    timeline = page.get_by_role("table").filter(has_text="Alt, hvad din afdeling må se").inner_text()
    assert VISIBLE_NOTE in timeline and "Samtykke givet" in timeline
    assert HIDDEN_NOTE not in text  # health information the mother did not consent to share
    assert "gælder" in text  # the consent naming the jobcenter

    page.goto(f"{site.url}/ui/audit")
    assert "these pages are for auditors" in page.locator("main").inner_text()
    assert page.get_by_role("link", name="Tilbage til sagerne").count() == 1  # a way back

    # Signing out: the form carries its token against forgery, and the session ends.
    page.goto(f"{site.url}/ui/cases")
    assert page.locator('form[action="/ui/sign-out"] input[name="csrf"]').get_attribute("value")
    page.get_by_role("button", name="Log ud").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Log ind"
    page.goto(f"{site.url}/ui/cases")
    assert page.locator("h1").inner_text() == "Log ind"  # the session has ended


def test_a_wrong_token_is_refused(site: Site, browser: BrowserContext) -> None:
    page = browser.new_page()
    page.goto(f"{site.url}/ui/sign-in")
    page.get_by_label("Medarbejdernøgle").fill("not-a-token")
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_load_state()
    assert page.get_by_role("alert").inner_text() == "Nøglen er ikke en gyldig medarbejdernøgle."


def test_an_auditor_replays_a_chosen_moment_and_verifies_the_log(site: Site, browser: BrowserContext) -> None:
    page = browser.new_page()
    sign_in(page, site, "auditor")
    assert page.locator("h1").inner_text() == "Genafspil en sag"
    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Replay a case"
    page.get_by_label("Case id").fill(site.case_id)
    page.get_by_label("As of").fill(site.between.isoformat())
    page.get_by_role("button", name="Replay").click()
    page.wait_for_load_state()

    assert page.locator("h1").inner_text().startswith(f"Case {site.case_id} as of {site.between.isoformat()[:19]}")
    then = page.locator("main").inner_text()
    assert "parties then: children-family, jobcenter" in then
    assert VISIBLE_NOTE not in then and HIDDEN_NOTE not in then  # received after that moment
    assert "jobcenter: 0 event(s)" in then  # no consent yet, so nothing shared

    page.get_by_label("Choose another moment").fill("")
    page.get_by_role("button", name="Replay").click()
    page.wait_for_load_state()
    now = page.locator("main").inner_text()
    assert VISIBLE_NOTE in now and HIDDEN_NOTE in now  # the whole case, as the log holds it
    jobcenter = page.get_by_role("table").filter(has_text="jobcenter: ").inner_text()
    assert VISIBLE_NOTE in jobcenter and HIDDEN_NOTE not in jobcenter

    page.get_by_role("link", name="Verify").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Integrity of the log"
    assert page.get_by_role("status").inner_text() == (
        # three pushes, then two laptops' revisions at once and the server's flag
        f"{site.events} events in 2 cases and 6 signed batches: no problems found."
    )
