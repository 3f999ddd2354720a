"""What a person sees: staff and auditor pages in headless Chromium against a real server."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import httpx

from core import words
from server.reading.auditing import PAGE
from tests.browser.conftest import CHILD, HIDDEN_NOTE, SHARE_REASON, VISIBLE_NOTE, Site

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Locator, Page


def english_when(moment: datetime) -> str:
    """A moment as the English pages write it."""
    token = words.language.set("en")
    try:
        return words.when(moment)
    finally:
        words.language.reset(token)


def column(grid: Locator, n: int) -> list[str]:
    """The texts of the grid's `n`th column (1: the first department)."""
    return grid.locator(f"tbody tr td:nth-of-type({n})").all_inner_texts()


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

    assert page.locator("h1").inner_text() == f"Case Person mother as of {english_when(site.between)}"
    then = page.locator("main").inner_text()
    assert "parties then: Børn og Familie, Jobcenter" in then
    grid = page.locator("table.grid")
    assert grid.locator("thead th").all_inner_texts() == ["Event", "Børn og Familie", "Jobcenter"]
    held = grid.text_content() or ""
    assert VISIBLE_NOTE not in held and HIDDEN_NOTE not in held  # received after that moment
    assert set(column(grid, 2)) == {"none"}  # no consent yet, so nothing shared with the jobcenter

    page.get_by_label("Choose another moment").fill("")
    page.get_by_role("button", name="Replay").click()
    page.wait_for_load_state()
    grid = page.locator("table.grid")
    rows = grid.locator("tbody tr")
    hidden = rows.filter(has_text=HIDDEN_NOTE)  # the content is behind a click, in the row's <details>
    visible = rows.filter(has_text=VISIBLE_NOTE)
    assert hidden.locator("td").all_inner_texts() == ["recorded by itself", "none"]
    assert visible.locator("td").all_inner_texts() == ["recorded by itself", "consent"]
    assert not hidden.locator("details").evaluate("d => d.open")
    hidden.locator("summary").click()
    assert HIDDEN_NOTE in hidden.locator("details").inner_text()

    page.get_by_role("link", name="Verify").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Integrity of the log"
    assert page.get_by_role("status").inner_text() == (
        # three pushes, then two laptops' revisions at once and the server's flag
        f"{site.events} events in 2 cases and 6 signed batches: no problems found."
    )


def test_the_replay_as_of_a_local_date_matches_the_department_views_of_that_day(
    site: Site, browser: BrowserContext
) -> None:
    today = datetime.now(words.LOCAL)
    page = browser.new_page()
    sign_in(page, site, "auditor")
    page.goto(f"{site.url}/ui/audit/cases/{site.hansen}?as_of={today.date().isoformat()}")
    end_of_day = today.replace(hour=23, minute=59, second=59, microsecond=999_999)
    assert page.locator("h1").inner_text().endswith(f" pr. {words.when(end_of_day)}")  # the day's end, here

    grid = page.locator("table.grid")
    departments = grid.locator("thead th").all_inner_texts()[1:]
    rows = grid.locator("tbody tr")
    cells = [
        (rows.nth(i).get_attribute("data-event"), rows.nth(i).locator("td").all_inner_texts())
        for i in range(rows.count())
    ]
    tokens = {
        "Børn og Familie": ("children-family", site.tokens["children-family"]),
        "Jobcenter": ("jobcenter", site.tokens["jobcenter"]),
    }
    for n, name in enumerate(departments):
        if name not in tokens:
            continue
        department, token = tokens[name]
        answer = httpx.get(
            f"{site.url}/v1/departments/{department}/cases/{site.hansen}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        shown = {e["event"]: e["basis"] for e in answer.json()["events"]}
        seen = {event: texts[n] for event, texts in cells if texts[n] != "ingen"}
        assert set(seen) == set(shown), name
        assert all(seen[e] == words.word(b) for e, b in shown.items()), name


def test_the_exceptions_name_the_law_the_meeting_and_the_persons(site: Site, browser: BrowserContext) -> None:
    page = browser.new_page()
    sign_in(page, site, "auditor")
    page.get_by_role("link", name="Undtagelser").click()
    page.wait_for_load_state()
    row = page.get_by_role("row").filter(has_text=SHARE_REASON)
    cells = row.locator("td").all_inner_texts()
    assert cells[1] == CHILD
    assert cells[2] == "serviceloven § 49 a: tidlig bekymring for et barn drøftet på et SSD-møde"
    assert cells[3].startswith("SSD-møde, 2. marts 2026 kl. ") and cells[3].endswith(" CET")
    assert cells[4] == "Skole / PPR"


def test_the_access_log_filters_by_worker_department_case_and_period_and_pages_on(
    site: Site, browser: BrowserContext
) -> None:
    reader = browser.new_page()  # Anna of the jobcenter looks at her caseload many times
    sign_in(reader, site, "jobcenter")
    for _ in range(3):
        reader.goto(f"{site.url}/ui/cases/{site.hansen}")
    page = browser.new_page()
    page.context.clear_cookies()
    sign_in(page, site, "auditor")
    page.goto(f"{site.url}/ui/audit/access-log")
    total = int(page.locator("caption").inner_text().split()[0])
    assert total > 3

    page.get_by_label("Medarbejder-id").fill("anna")
    page.get_by_label("Afdeling").select_option(label="Jobcenter")
    page.get_by_label("Sags-id").fill(site.hansen)
    today = datetime.now(words.LOCAL).date().isoformat()
    page.get_by_label("Fra (dato, dansk tid)").fill(today)
    page.get_by_label("Til (dato, dansk tid)").fill(today)
    page.get_by_role("button", name="Vis").click()
    page.wait_for_load_state()
    table = page.get_by_role("table")
    looks = column(table, 2)  # other tests of the session look too: at least these three
    assert len(looks) >= 3 and set(looks) == {"anna"} and set(column(table, 3)) == {"Jobcenter"}
    assert column(table, 5).count("department-case") >= 3 and set(column(table, 4)) == {site.hansen[:8]}

    page.get_by_label("Til (dato, dansk tid)").fill("2026-01-01")  # a period before any look
    page.get_by_role("button", name="Vis").click()
    page.wait_for_load_state()
    assert page.locator("caption").inner_text().startswith("0 ")


def test_the_access_log_is_read_a_page_at_a_time_without_repeating_or_skipping(
    site: Site, browser: BrowserContext
) -> None:
    with httpx.Client(base_url=site.url, headers={"Authorization": f"Bearer {site.tokens['jobcenter']}"}) as anna:
        for _ in range(PAGE + 5):  # more looks than one page holds
            assert anna.get(f"/v1/departments/jobcenter/cases/{site.hansen}", timeout=30).status_code == 200
    page = browser.new_page()
    page.context.clear_cookies()
    sign_in(page, site, "auditor")
    page.goto(f"{site.url}/ui/audit/access-log?worker=anna")
    seen: list[str] = []
    while True:
        table = page.get_by_role("table")
        seen += [f"{a}|{b}" for a, b in zip(column(table, 1), column(table, 5), strict=True)]
        times = table.locator("tbody time").evaluate_all("ts => ts.map(t => t.getAttribute('datetime'))")
        assert times == sorted(times, reverse=True)  # newest first, across pages too
        following = page.get_by_role("link", name="Næste side")
        if following.count() == 0:
            break
        assert table.locator("tbody tr").count() == PAGE
        following.click()
        page.wait_for_load_state()
        assert page.get_by_role("link", name="Første side").count() == 1
    assert len(seen) >= PAGE + 5  # every look, whatever other tests looked at before
