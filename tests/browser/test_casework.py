"""A caseworker's day in the pages: finding a family, reading its case, in Danish or English."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tests.browser.accessibility import overflow_width, serious_violations
from tests.browser.conftest import CHILD, GOAL, MOTHER, MOTHER_CPR, WITHDRAWN_NOTE, Site, screenshot_folder
from tests.browser.test_pages import sign_in

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, ViewportSize

NARROW: ViewportSize = {"width": 375, "height": 800}


def open_hansen(page: Page, site: Site, who: str) -> None:
    """Sign in and find the Hansen family by name (the jobcenter may see the mother's only)."""
    sign_in(page, site, who)
    page.get_by_label("Navn eller CPR-nummer").fill("hansen")
    page.get_by_role("button", name="Søg").click()
    page.wait_for_load_state()
    page.get_by_role("link", name=MOTHER).click()
    page.wait_for_load_state()


def test_the_coordinator_finds_the_family_by_name_and_sees_the_team_and_who_sees_why(
    site: Site, browser: BrowserContext
) -> None:
    page = browser.new_page()
    open_hansen(page, site, "children-family")
    assert page.locator("h1").inner_text() == f"Sag om {MOTHER}, {CHILD}"
    text = page.locator("main").inner_text()
    assert "Tovholder: karen (Børn og Familie)" in text
    why = page.get_by_role("table").filter(has_text="Hvem kan se sagen og hvorfor").inner_text()
    assert "Børn og Familie (sagsansvarlig)" in why and "Jobcenter" in why
    assert "egen registrering" in why and "children-family" not in why
    plan = page.get_by_role("table").filter(has_text="Del af").inner_text()
    assert GOAL in plan and CHILD in plan and "30. juni 2026" in plan

    assert MOTHER_CPR not in text and "010188-xxxx" in text  # masked until asked for
    assert "person.added" not in text and "consent_id" not in text  # the timeline in words
    assert "Person tilføjet" in text and " kl. " in text
    page.get_by_role("link", name=f"Vis CPR-nummer: {MOTHER}").click()
    page.wait_for_load_state()
    assert MOTHER_CPR in page.locator("main").inner_text()

    page.get_by_role("button", name="Log ud").click()  # the auditor sees that look in the access log
    page.wait_for_load_state()
    sign_in(page, site, "auditor")
    page.goto(f"{site.url}/ui/audit/access-log?case={site.hansen}")
    looks = page.get_by_role("table").inner_text()
    assert "department-cpr" in looks and "karen" in looks and MOTHER_CPR not in looks


def test_a_search_by_cpr_number_finds_the_family_and_an_unknown_name_finds_none(
    site: Site, browser: BrowserContext
) -> None:
    page = browser.new_page()
    sign_in(page, site, "jobcenter")
    page.get_by_label("Navn eller CPR-nummer").fill(f"{MOTHER_CPR[:6]}-{MOTHER_CPR[6:]}")
    page.get_by_role("button", name="Søg").click()
    page.wait_for_load_state()
    assert page.get_by_role("link", name=MOTHER).count() == 1
    page.get_by_label("Navn eller CPR-nummer").fill("Jensen")
    page.get_by_role("button", name="Søg").click()
    page.wait_for_load_state()
    assert "Ingen sag passer til søgningen." in page.locator("main").inner_text()


def test_the_jobcenter_is_told_what_is_withheld_after_the_mother_withdrew_her_consent(
    site: Site, browser: BrowserContext
) -> None:
    page = browser.new_page()
    open_hansen(page, site, "jobcenter")
    notice = page.get_by_role("status").inner_text()
    assert notice.startswith("tilbageholdt: 1 oplysninger, som din afdeling ikke må se siden 2. marts 2026")
    assert WITHDRAWN_NOTE not in page.locator("main").inner_text()


def test_pages_are_danish_by_default_and_english_on_switch(site: Site, browser: BrowserContext) -> None:
    page = browser.new_page()
    sign_in(page, site, "jobcenter")
    assert page.locator("html").get_attribute("lang") == "da"
    assert page.locator("h1").inner_text() == "Sager i Jobcenter"
    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Cases of Jobcenter"
    page.goto(f"{site.url}/ui/cases/{site.hansen}")
    assert page.locator("h1").inner_text() == f"Case of {MOTHER}"
    assert "withheld: 1 entries your department may not see since 2 March 2026" in page.locator("main").inner_text()
    page.get_by_role("link", name="Dansk").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == f"Sag om {MOTHER}"


def test_no_page_is_wider_than_a_phone_and_each_has_a_skip_link_a_visible_focus_and_a_way_back(
    site: Site, browser: BrowserContext
) -> None:
    page = browser.new_page()
    page.set_viewport_size(NARROW)
    sign_in(page, site, "children-family")
    for path in ("/ui/cases", f"/ui/cases/{site.hansen}", f"/ui/cases/{site.case_id}", "/ui/cases/no-such-case"):
        page.goto(f"{site.url}{path}")
        assert overflow_width(page) == 0, f"{path} is wider than {NARROW['width']} px"
        assert serious_violations(page) == [], path
        assert page.get_by_role("link", name="Spring til indhold").count() == 1
    assert page.get_by_role("link", name="Tilbage til sagerne").count() == 1  # from the error page
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Spring til indhold"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineColor")
    red, green, blue = (int(x) for x in outline[outline.index("(") + 1 : -1].split(",")[:3])
    assert contrast_with_white(red, green, blue) >= 3, outline


def contrast_with_white(red: int, green: int, blue: int) -> float:
    """WCAG 2.1's contrast ratio of an sRGB colour against white."""

    def linear(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.04045 else float(((v + 0.055) / 1.055) ** 2.4)

    luminance = 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)
    return 1.05 / (luminance + 0.05)


def test_every_auditor_management_and_error_page_fits_a_phone_with_no_serious_violation(
    site: Site, browser: BrowserContext
) -> None:
    page = browser.new_page()
    page.set_viewport_size(NARROW)
    page.goto(f"{site.url}/ui/sign-in")
    assert overflow_width(page) == 0 and serious_violations(page) == [], "sign-in"

    sign_in(page, site, "children-family")  # a refused action: the error page leads back to the case
    page.goto(f"{site.url}/ui/cases/{site.hansen}")
    page.locator('form[action$="/team"] input[name="csrf"]').evaluate("i => i.value = 'forged'")
    page.get_by_role("button", name="Føj til teamet").click()
    page.wait_for_load_state()
    assert "Formularen kom ikke fra denne sides egen side" in page.get_by_role("alert").inner_text()
    assert overflow_width(page) == 0 and serious_violations(page) == [], "refused action"
    assert page.get_by_role("link", name="Tilbage til sagen").count() == 1
    page.get_by_role("button", name="Log ud").click()
    page.wait_for_load_state()

    sign_in(page, site, "auditor")
    for path in (
        "/ui/audit",
        f"/ui/audit/cases/{site.hansen}",
        f"/ui/audit/cases/{site.case_id}?as_of=2026-03-02",
        "/ui/audit/access-log",
        "/ui/audit/exceptions",
        "/ui/audit/verify",
        "/ui/audit/cases/no-such-case",
        "/ui/no-such-page",
    ):
        page.goto(f"{site.url}{path}")
        assert overflow_width(page) == 0, f"{path} is wider than {NARROW['width']} px"
        assert serious_violations(page) == [], path
    page.get_by_role("button", name="Log ud").click()
    page.wait_for_load_state()

    sign_in(page, site, "management")
    page.goto(f"{site.url}/ui/monitoring")
    assert overflow_width(page) == 0 and serious_violations(page) == [], "monitoring"


def test_screenshots_of_the_caseload_a_case_page_and_the_replay_grid_for_the_readme(
    site: Site, browser: BrowserContext, tmp_path: Path
) -> None:
    """The README shows these; made here, from the pages as they are."""
    images = screenshot_folder(tmp_path)
    page = browser.new_page()
    page.set_viewport_size({"width": 960, "height": 720})
    sign_in(page, site, "children-family")
    page.screenshot(path=images / "caseload.png")
    page.goto(f"{site.url}/ui/cases/{site.hansen}#conflicts")
    page.screenshot(path=images / "case-page.png")
    page.get_by_role("button", name="Log ud").click()
    page.wait_for_load_state()
    sign_in(page, site, "auditor")
    page.goto(f"{site.url}/ui/audit/cases/{site.hansen}")
    page.locator("table.grid").scroll_into_view_if_needed()
    page.locator("table.grid tbody tr").nth(3).locator("summary").click()
    page.screenshot(path=images / "replay-grid.png")
    for name in ("caseload.png", "case-page.png", "replay-grid.png"):
        image = (images / name).read_bytes()
        assert image.startswith(b"\x89PNG") and len(image) < 400_000, name
