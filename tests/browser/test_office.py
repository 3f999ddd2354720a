"""The coordinator's work in the office: actions on the case page, recorded as the laptops' are.

The Hansen case holds a conflict the server flagged (two revisions of Emil's sub-goal made
at once on two laptops). Karen, its coordinator, resolves it on the page; her laptop, a
real client store syncing with the live server, gets the resolution at its next sync;
`audit verify` (a separate process) accounts for the office device that signed it. A
colleague who is not the coordinator, and a form without this session's token, are
refused, and nothing changes.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import pytest

from client.laptop import Laptop
from client.store import LaptopStore
from client.sync import Syncer, SyncReport, enroll_laptop
from tests.browser.conftest import FIELD_REVISION, OFFICE_REVISION, Site, running_site
from tests.browser.test_casework import open_hansen
from tests.browser.test_pages import sign_in
from tests.client.conftest import FAST_SCRYPT

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

PASSPHRASE = "a long passphrase for the field"
R = TypeVar("R")
Form = dict[str, str | float | bool]


def events_of(site: Site, token: str) -> list[dict[str, Any]]:
    """The Hansen case as the children & family department's JSON view has it now."""
    r = httpx.get(
        f"{site.url}/v1/departments/children-family/cases/{site.hansen}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    events: list[dict[str, Any]] = r.json()["events"]
    return events


def command(site: Site, *argv: str) -> Any:
    """A `tovholder` command on the server's data folder, as a process of its own; its JSON."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOVHOLDER_")}
    done = subprocess.run(
        [sys.executable, "-m", "tovholder", *argv, "--dir", str(site.folder), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def run(work: Coroutine[Any, Any, R]) -> R:
    """Run a coroutine to its end on a thread of its own: Playwright's synchronous driver
    keeps an event loop running on this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


def sync(folder: Path) -> None:
    async def go() -> None:
        laptop = Laptop(LaptopStore.open(folder, PASSPHRASE))
        try:
            syncer = Syncer(laptop)
            async with syncer._client() as client:
                report = SyncReport()
                await syncer.push(client, report)
                await syncer.pull(client, report)
        finally:
            laptop.close()

    run(go())


def open_conflicts(folder: Path, case_id: str) -> tuple[list[bool], str]:
    """The laptop's copy: whether each conflict is resolved, and the sub-goal's text."""
    laptop = Laptop(LaptopStore.open(folder, PASSPHRASE))
    try:
        state = laptop.view(case_id).state
        return list(state.conflicts.values()), state.goals["g2"].text
    finally:
        laptop.close()


#: A server of this module's own: its tests change the Hansen case.
site = pytest.fixture(scope="module", name="site")(running_site)


@pytest.fixture(scope="module")
def karens_laptop(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("karen") / "laptop"
    run(enroll_laptop(folder, site.url, site.code, PASSPHRASE, scrypt_n=FAST_SCRYPT))
    sync(folder)
    yield folder


def refusal(page: Page) -> str:
    return page.get_by_role("alert").inner_text()


def test_a_colleague_sees_no_form_and_a_post_without_this_pages_token_changes_nothing(
    site: Site, browser: BrowserContext
) -> None:
    before = len(events_of(site, site.tokens["children-family"]))
    page = browser.new_page()
    open_hansen(page, site, "colleague")  # Lars: children & family, not the coordinator
    assert page.locator("form.act").count() == 0 and page.get_by_role("button", name="Løs konflikten").count() == 0
    assert "Tovholderen løser den." in page.locator("main").inner_text()
    forms: list[Form] = [{"department": "health"}, {"department": "health", "csrf": "0" * 64}]
    for form in forms:
        refused = page.request.post(f"{site.url}/ui/cases/{site.hansen}/team", form=form, max_redirects=0)
        assert refused.status == 403 and "Tilbage til sagen" in refused.text()

    own = browser.new_page()  # Karen, the coordinator, in a context of her own below
    own.context.clear_cookies()
    open_hansen(own, site, "children-family")
    good = own.locator('form[action$="/team"] input[name="csrf"]').get_attribute("value") or ""
    assert good
    attempts: list[tuple[Form, dict[str, str]]] = [
        ({"department": "health"}, {}),
        ({"department": "health", "csrf": "0" * 64}, {}),
        ({"department": "health", "csrf": good}, {"Origin": "https://elsewhere.example"}),
        ({"department": "health", "csrf": good}, {"Sec-Fetch-Site": "cross-site"}),
    ]
    for form, headers in attempts:
        forged = own.request.post(
            f"{site.url}/ui/cases/{site.hansen}/team", form=form, headers=headers, max_redirects=0
        )
        assert forged.status == 403, form
        assert "Formularen kom ikke fra denne sides egen side" in forged.text()
    too_large = own.request.post(
        f"{site.url}/ui/cases/{site.hansen}/meeting",
        form={"csrf": good, "kind": "status", "held": "2026-03-10T09:30", "minutes": "x" * 20_000},
        max_redirects=0,
    )
    assert too_large.status == 413
    long_minutes = own.request.post(
        f"{site.url}/ui/cases/{site.hansen}/meeting",
        form={"csrf": good, "kind": "status", "held": "2026-03-10T09:30", "minutes": "x" * 3_000},
        max_redirects=0,
    )
    assert long_minutes.status == 400 and "referatet er længere end 2000 tegn" in long_minutes.text()
    conflict = own.locator('form[action$="/resolve"] input[name="conflict"]').get_attribute("value") or ""
    not_a_version = own.request.post(
        f"{site.url}/ui/cases/{site.hansen}/resolve",
        form={"csrf": good, "conflict": conflict, "version": "an-event-of-another-case"},
        max_redirects=0,
    )
    assert not_a_version.status == 400 and "den valgte version hører ikke til konflikten" in not_a_version.text()
    other_case = own.request.post(
        f"{site.url}/ui/cases/{site.case_id}/team", form={"department": "health", "csrf": good}, max_redirects=0
    )
    assert other_case.status == 403  # the token is bound to the Hansen case
    assert len(events_of(site, site.tokens["children-family"])) == before


def test_the_coordinator_resolves_the_conflict_on_the_page_and_the_laptop_gets_it_at_its_next_sync(
    site: Site, browser: BrowserContext, karens_laptop: Path
) -> None:
    assert open_conflicts(karens_laptop, site.hansen) == ([False], FIELD_REVISION)
    page = browser.new_page()
    open_hansen(page, site, "children-family")
    conflict = page.locator("section.conflict")
    assert conflict.count() == 1
    versions = conflict.locator(".version")
    assert versions.count() == 2
    side = [versions.nth(i).inner_text() for i in range(2)]
    assert OFFICE_REVISION in side[0] and FIELD_REVISION in side[1] and "karen" in side[1]
    assert "samtidige revisioner af samme mål" in conflict.inner_text()

    conflict.get_by_label("Behold version 1").check()
    conflict.get_by_role("button", name="Løs konflikten").click()
    page.wait_for_load_state()
    assert "Registreret." in page.get_by_role("status").last.inner_text()
    assert page.locator("section.conflict").count() == 0
    plan = page.get_by_role("table").filter(has_text="Del af").inner_text()
    assert OFFICE_REVISION in plan and FIELD_REVISION not in plan

    last = events_of(site, site.tokens["children-family"])[-2:]
    assert [e["type"] for e in last] == ["goal.revised", "conflict.resolved"]
    assert {(e["author"], e["device"][: len("office-karen-")]) for e in last} == {("karen", "office-karen-")}
    sync(karens_laptop)
    assert open_conflicts(karens_laptop, site.hansen) == ([True], OFFICE_REVISION)

    # The whole log still verifies (its batches held against the devices the administrative
    # log enrolled), and the office device is one of them, Karen's, for an administrator to see.
    report = command(site, "audit", "verify")
    assert report["ok"] is True, report
    devices = command(site, "admin", "device", "list")
    assert [d["worker"] for d in devices if d["device"].startswith("office-karen-")] == ["karen"]


def test_the_coordinator_adds_a_department_and_records_a_meeting_in_local_time(
    site: Site, browser: BrowserContext
) -> None:
    page = browser.new_page()
    open_hansen(page, site, "children-family")
    page.get_by_label("Afdeling", exact=True).select_option(label="Sundhed")
    page.get_by_role("button", name="Føj til teamet").click()
    page.wait_for_load_state()
    why = page.get_by_role("table").filter(has_text="Hvem kan se sagen og hvorfor").inner_text()
    assert "Sundhed" in why

    meeting = page.locator('form[action$="/meeting"]')
    meeting.get_by_label("Art").select_option("status")
    meeting.get_by_label("Afholdt (lokal tid, Europe/Copenhagen)").fill("2026-03-10T09:30")
    meeting.get_by_label("Referat").fill("Vi aftalte at mødes igen om en måned.")
    meeting.get_by_role("button", name="Registrér mødet").click()
    page.wait_for_load_state()
    text = page.locator("main").inner_text()
    assert "statusmøde, 10. marts 2026 kl. 09.30 CET" in text
    assert "Vi aftalte at mødes igen om en måned." in text
    topics = [e["type"] for e in events_of(site, site.tokens["children-family"])]
    assert topics[-2:] == ["team.joined", "meeting.held"]


def test_a_rule_broken_on_the_page_is_told_and_changes_nothing(site: Site, browser: BrowserContext) -> None:
    before = len(events_of(site, site.tokens["children-family"]))
    page = browser.new_page()
    sign_in(page, site, "children-family")
    page.goto(f"{site.url}/ui/cases/{site.hansen}")
    coordinator = page.locator('form[action$="/coordinator"]')
    coordinator.get_by_label("Medarbejder-id").fill("nobody-here")
    coordinator.get_by_role("button", name="Udpeg").click()
    page.wait_for_load_state()
    assert refusal(page) == "der er ingen aktiv medarbejder med det id"
    page.get_by_role("link", name="Tilbage til sagen").click()
    page.wait_for_load_state()
    assert len(events_of(site, site.tokens["children-family"])) == before


def test_after_a_handover_the_former_coordinators_open_page_is_refused_and_changes_nothing(
    site: Site, browser: BrowserContext, chromium: Browser
) -> None:
    page = browser.new_page()
    open_hansen(page, site, "children-family")
    stale = page.locator('form[action$="/team"] input[name="csrf"]').get_attribute("value") or ""
    coordinator = page.locator('form[action$="/coordinator"]')
    coordinator.get_by_label("Medarbejder-id").fill("lars")
    coordinator.get_by_label("Begrundelse").select_option("cover")
    coordinator.get_by_role("button", name="Udpeg").click()
    page.wait_for_load_state()
    assert "Tovholder: lars (Børn og Familie)" in page.locator("main").inner_text()
    assert page.locator("form.act").count() == 0  # Karen is no longer the coordinator

    before = len(events_of(site, site.tokens["children-family"]))
    refused = page.request.post(
        f"{site.url}/ui/cases/{site.hansen}/team", form={"department": "addiction", "csrf": stale}, max_redirects=0
    )
    assert refused.status == 403
    assert "kun sagens tovholder handler i sagen fra denne side; intet blev ændret" in refused.text()
    assert len(events_of(site, site.tokens["children-family"])) == before

    lars = chromium.new_context()  # Lars, now the coordinator, hands the case back
    try:
        back = lars.new_page()
        open_hansen(back, site, "colleague")
        form = back.locator('form[action$="/coordinator"]')
        form.get_by_label("Medarbejder-id").fill("karen")
        form.get_by_role("button", name="Udpeg").click()
        back.wait_for_load_state()
        assert "Tovholder: karen (Børn og Familie)" in back.locator("main").inner_text()
    finally:
        lars.close()
