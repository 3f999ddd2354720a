"""The outreach worker's app in headless Chromium: `tovholder client ui` as a real process.

One server and one app serve the module: the office sets the citizen's case up on its
own laptop (in the test's process) and the benefits worker's laptop runs the app. The
drop-in session of scenario 2 is then entered through the app with the server stopped,
synced when it is back, and read over HTTP as the departments see it; the office's
revision of the same goal made meanwhile is flagged, and the app's worker, the case's
coordinator, resolves it. Every page is checked with axe-core at 375 px, and what a
person clicks and types is counted for the README.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from client.commands.cases import person_added
from client.commands.plan import goal_added
from client.commands.sharing import consent_given
from client.laptop import Laptop
from client.ui.forms import LINKED
from core import events as ev
from server.context import ServerContext
from tests.browser.accessibility import overflow_width, serious_violations
from tests.browser.conftest import screenshot_folder, stop
from tests.integration.conftest import (
    EXE,
    PASSPHRASE,
    Server,
    Staff,
    add_worker,
    admin,
    each,
    free_port,
    in_process,
    laptop_copy,
    laptop_of,
    share_copy,
)
from tests.integration.conftest import sync as one_sync

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Locator, Page

pytestmark = pytest.mark.slow

CITIZEN = "Kim Drop-in"
GOAL = "A stable home"


def sync_laptop(laptop: Laptop) -> None:
    """Sync a laptop in the test's process, on a thread of its own (Playwright's driver
    keeps an event loop running on this one)."""
    each(one_sync, [laptop])


@dataclass
class FieldApp:
    """The running server and app, the citizen's case and what the office holds."""

    server: Server
    url: str
    case: str
    goal: str
    person: str
    office: Laptop
    tokens: dict[str, str]
    folder: Path
    env: dict[str, str]


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with status {proc.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("the app did not come up")


def start_app(folder: Path, env: dict[str, str], *options: str) -> tuple[str, subprocess.Popen[bytes]]:
    """`tovholder client --data FOLDER ui --no-browser` on a free port; its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [*EXE, "client", "--data", str(folder), "ui", "--port", str(port), "--no-browser", *options],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    _wait(f"{url}/unlock", proc)
    return url, proc


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FieldApp]:
    root = tmp_path_factory.mktemp("field")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOVHOLDER_", "SQLITE_"))}
    env["HOME"] = str(root)
    env["TOVHOLDER_TOKEN"] = in_process("server", "init", str(root / "server"), "--json")["admin_token"]
    server = Server(root / "server", env)
    server.start()
    tokens = {
        "adult-social": add_worker(server, "w-mette", "adult-social"),
        "benefits": add_worker(server, "w-bo", "benefits"),
        "addiction": add_worker(server, "w-rus", "addiction"),
    }
    # The office opens the case, makes benefits and the jobcenter parties, names the
    # benefits worker coordinator and sets the plan's goal.
    office = laptop_of(server, root / "office", "w-mette")
    case = office.open_case("citizen", "adult-social").case_id
    added = person_added("citizen", CITIZEN)
    office.record(case, added)
    person = added.fields["person_id"]
    for dept in ("benefits", "jobcenter"):
        office.record(case, ev.payload(ev.TeamMemberJoined, member_department=dept, worker=None))
    categories = ("identity", "contact", "plan", "finances", "decision")
    within_a_year = date.today() + timedelta(days=300)
    office.record(
        case,
        consent_given(person, (person,), ("benefits", "jobcenter"), categories, "Help at the drop-in", within_a_year),
    )
    office.record(
        case, ev.payload(ev.CoordinatorAssigned, worker="w-bo", coordinator_department="benefits", reason="intake")
    )
    goal = goal_added(person, GOAL, "adult-social")
    office.record(case, goal)
    sync_laptop(office)
    admin(server, "case", "assign", case, "--worker", "w-bo")
    folder = root / "bo"
    with laptop_of(server, folder, "w-bo") as bo:
        sync_laptop(bo)
    url, proc = start_app(folder, env, "--sync-every", "3600")
    try:
        yield FieldApp(server, url, case, goal.fields["goal_id"], person, office, tokens, folder, env)
    finally:
        office.close()
        stop(proc)
        server.kill()


@dataclass
class Hands:
    """A person at the page: every click and every typed character counted."""

    page: Page
    clicks: int = 0
    typed: int = 0
    steps: list[str] = field(default_factory=list)

    def click(self, target: Locator) -> None:
        self.clicks += 1
        target.click()

    def type(self, target: Locator, text: str) -> None:
        self.typed += len(text)
        target.fill(text)

    def choose(self, target: Locator, value: str) -> None:
        self.clicks += 1
        target.select_option(value)

    def submit(self, name: str) -> None:
        self.click(self.page.get_by_role("button", name=name, exact=True))
        self.page.wait_for_load_state()


def sized(browser: BrowserContext, viewport: dict[str, int]) -> Page:
    page = browser.new_page()
    page.set_viewport_size({"width": viewport["width"], "height": viewport["height"]})
    return page


def checked(page: Page) -> None:
    """What every page must pass: no serious axe-core violation and no sideways scroll."""
    assert serious_violations(page) == [], page.url
    assert overflow_width(page) == 0, page.url


def unlock(hands: Hands, url: str, passphrase: str = PASSPHRASE) -> None:
    hands.page.goto(f"{url}/unlock")
    hands.type(hands.page.get_by_label("Adgangsord"), passphrase)
    hands.submit("Lås op")


def _main(page: Page) -> str:
    return page.locator("main").inner_text()


def _record_contact(hands: Hands, note: str) -> None:
    page = hands.page
    form = page.locator("#contact-form")
    for challenge in ("økonomi", "bolig"):
        hands.click(form.get_by_label(challenge, exact=True))
    hands.type(form.get_by_label("Sted"), "Værestedet")
    hands.type(form.get_by_label("Notat"), note)
    hands.submit("Hurtig kontakt")
    assert "Registreret på denne computer" in _main(page)


def _server_case(server: Server, case: str) -> list[ev.CaseEvent]:
    ctx = ServerContext.open(server.folder, {})
    try:
        return [ctx.log.open(le) for le in ctx.log.case_events(case)]
    finally:
        ctx.close()


def test_the_drop_in_session_entered_offline_in_the_app_then_synced(
    app: FieldApp, browser: BrowserContext, tmp_path: Path
) -> None:
    page = sized(browser, {"width": 1280, "height": 720})
    hands = Hands(page)
    before = len(_server_case(app.server, app.case))
    app.server.kill()  # two hours at the drop-in centre without a connection

    unlock(hands, app.url)
    assert page.locator("h1").inner_text() == "Sager på denne computer"
    hands.click(page.get_by_role("link", name=CITIZEN))
    page.wait_for_load_state()
    for n in (1, 2):
        _record_contact(hands, f"Contact {n} at the drop-in")

    # A referral to the addiction centre, picked from the departments by name.
    hands.click(page.get_by_role("link", name="Henvis", exact=True))
    hands.choose(page.get_by_label("Til"), "addiction")
    hands.type(page.get_by_label("Begrundelse"), "Asked for help with alcohol")
    hands.submit("Henvis")

    # A one-off payment decision: offered to benefits, which owns aktivloven; the fact
    # it rests on is picked from the timeline, never typed as an id.
    hands.click(page.get_by_role("link", name="Registrér en afgørelse"))
    hands.type(page.get_by_label("Hjemmel"), "aktivloven § 81")
    hands.choose(page.get_by_label("Afgørelsestype"), "one-off-payment")
    hands.click(page.get_by_label("Contact 1 at the drop-in"))
    hands.type(page.get_by_label("Overvejelser"), "An unforeseen need for a deposit")
    hands.type(page.get_by_label("Begrundelse til borgeren"), "You get a one-off payment for the deposit")
    hands.type(page.get_by_label("Beløb i kroner"), "4500")
    hands.submit("Registrér en afgørelse")

    # A new sub-goal, and a revision of the plan's goal (the office revises it too).
    hands.click(page.get_by_role("link", name="Tilføj et mål"))
    hands.choose(page.get_by_label("For", exact=True), app.person)
    hands.type(page.get_by_label("Mål", exact=True), "Find a room near the centre")
    hands.choose(page.get_by_label("Ansvarlig"), "adult-social")
    hands.choose(page.get_by_label("Delmål af"), app.goal)
    hands.submit("Tilføj et mål")
    hands.click(page.get_by_role("link", name="Revidér et mål"))
    hands.choose(page.get_by_label("Mål", exact=True), app.goal)
    hands.type(page.get_by_label("Ny formulering"), "A stable home and a job plan")
    hands.submit("Revidér et mål")
    app.office.revise_goal(app.case, app.goal, "A stable home, step by step")

    text = _main(page)
    assert "6 ikke sendt endnu" in text  # 2 contacts, referral, decision, sub-goal, revision
    assert "Find a room near the centre" in text and "aktivloven § 81" in text

    # Sync with the server down: nothing was lost, sync again later.
    hands.submit("Synkronisér nu")
    assert "Serveren svarede ikke; intet gik tabt, synkronisér igen senere." in page.locator("header").inner_text()
    assert "6 ikke sendt endnu" in page.locator("header").inner_text()

    app.server.start()
    sync_laptop(app.office)  # the office's revision arrives first
    hands.submit("Synkronisér nu")
    header = page.locator("header").inner_text()
    assert "Synkroniseret." in header and "0 ikke sendt endnu" in header
    count = {"clicks": hands.clicks, "typed": hands.typed}
    print(f"\ndrop-in session through the app: {count}")

    # The server holds everything: nothing lost, both revisions kept, the clash flagged once.
    stored = _server_case(app.server, app.case)
    assert len(stored) == before + 1 + 6 + 1
    revisions = [e.text for e in stored if isinstance(e, ev.GoalRevised)]
    assert sorted(revisions) == ["A stable home and a job plan", "A stable home, step by step"]
    assert sum(isinstance(e, ev.ConflictFlagged) for e in stored) == 1

    # The departments' views over HTTP show what the scenario says.
    staff = Staff(app.server)
    try:
        benefits = staff.case(app.tokens["benefits"], "benefits", app.case)
        addiction = staff.get(app.tokens["addiction"], f"/v1/departments/addiction/cases/{app.case}", status=404)
    finally:
        staff.http.close()
    topics = [e["type"] for e in benefits["events"]]
    assert "decision.made" in topics and "conflict.flagged" in topics
    assert addiction  # referred to, but not a party: the addiction centre sees nothing yet

    # The conflict, explained in words with both versions side by side; the coordinator resolves it.
    page.goto(f"{app.url}/cases")
    assert "1 markerede konflikt(er) venter på tovholderen." in _main(page)
    page.get_by_role("link", name=CITIZEN).click()
    page.wait_for_load_state()
    conflict = page.locator("section").filter(has_text="To ændringer blev lavet samtidig")
    office_revision = page.get_by_role("row").filter(has_text="A stable home, step by step")
    assert "nyt siden sidste synkronisering" in office_revision.inner_text()  # brought by the last sync
    own_revision = page.get_by_role("row").filter(has_text="Mål revideret").filter(has_text="w-bo")
    assert "nyt siden" not in own_revision.inner_text()  # this laptop's own work is not news
    versions = conflict.locator(".side").inner_text()
    assert "A stable home and a job plan" in versions and "A stable home, step by step" in versions
    page.screenshot(path=str(screenshot_folder(tmp_path) / "field-case.png"))
    conflict.get_by_label("Hvordan den blev løst").fill("Kept the job plan; agreed with the office")
    conflict.get_by_role("button", name="Løs konflikten").click()
    page.wait_for_load_state()
    assert "Konflikter, der skal løses" not in _main(page)
    page.get_by_role("button", name="Synkronisér nu").click()
    page.wait_for_load_state()
    assert "0 ikke sendt endnu" in page.locator("header").inner_text()
    assert any(isinstance(e, ev.ConflictResolved) for e in _server_case(app.server, app.case))
    # The referral's outcome, picked from the case's referrals; an activity towards the sub-goal.
    page.get_by_role("link", name="Udfald af henvisning").click()
    page.get_by_label("Mødte borgeren op?").select_option("not arrived")
    page.get_by_role("button", name="Udfald af henvisning").click()
    page.wait_for_load_state()
    referral = page.get_by_role("listitem").filter(has_text="Asked for help with alcohol").inner_text()
    assert referral.startswith("Rusmiddelcenter") and referral.endswith("ikke mødt op")
    page.get_by_role("link", name="Tilføj en aktivitet").click()
    page.get_by_label("Mål", exact=True).select_option(label="Find a room near the centre")
    page.get_by_label("Udføres af").select_option("adult-social")
    page.get_by_label("Art", exact=True).fill("Housing support")
    page.get_by_label("Starter").fill("01-03-2027")
    page.get_by_label("Slutter").fill("01-02-2027")
    page.get_by_role("button", name="Tilføj en aktivitet").click()
    page.wait_for_load_state()
    assert page.locator("#activity-ends-error").inner_text()  # it cannot end before it starts
    page.get_by_label("Slutter").fill("01-09-2027")
    page.get_by_role("button", name="Tilføj en aktivitet").click()
    page.wait_for_load_state()
    activities = page.get_by_role("table").filter(has_text="Finansiering").inner_text()
    assert "Voksen: Handicap & Psykiatri" in activities and "1. september 2027" in activities

    # Every device converges: the app's laptop and the office hold the server's history,
    # event for event and link for link, as far as each department may see it.
    page.get_by_role("button", name="Synkronisér nu").click()
    page.wait_for_load_state()
    assert "0 ikke sendt endnu" in page.locator("header").inner_text()
    sync_laptop(app.office)
    root = app.folder.parent
    assert laptop_copy(app.folder, app.case) == share_copy(app.server, app.case, "benefits", "w-bo")
    assert laptop_copy(root / "office", app.case) == share_copy(app.server, app.case, "adult-social", "w-mette")

    page.goto(f"{app.url}/cases")
    page.screenshot(path=str(screenshot_folder(tmp_path) / "field-caseload.png"))


def _cli_day(hands: Hands, app: str) -> None:
    """The issue's day through the app: open a case with its person, give consent,
    record a contact, sync."""
    page = hands.page
    hands.click(page.get_by_role("link", name="Ny sag"))
    hands.type(page.get_by_label("Første persons navn"), "Sam Nielsen")
    hands.submit("Opret sagen")
    hands.click(page.get_by_role("link", name="Giv samtykke"))
    hands.choose(
        page.get_by_label("Hvis samtykke"), page.locator("#consent-subject option").nth(0).get_attribute("value") or ""
    )
    hands.click(page.get_by_role("group", name="Givet af").get_by_label("Sam Nielsen"))
    hands.click(page.get_by_role("group", name="Deles med").get_by_label("Jobcenter"))
    hands.click(page.get_by_role("group", name="Oplysninger").get_by_label("kontakt"))
    hands.type(page.get_by_label("Formål"), "Job search together")
    hands.type(page.get_by_label("Gyldigt til"), "01-06-2027")
    hands.submit("Giv samtykke")
    _record_contact(hands, "Talked about a job")
    hands.submit("Synkronisér nu")


def test_a_consent_given_and_withdrawn_and_a_rule_told_beside_its_field(app: FieldApp, browser: BrowserContext) -> None:
    page = sized(browser, {"width": 1280, "height": 720})
    hands = Hands(page)
    unlock(hands, app.url)
    _cli_day(hands, app.url)
    print(f"\nthe issue's day through the app: clicks {hands.clicks}, typed {hands.typed}")
    assert "Synkroniseret." in page.locator("header").inner_text()
    consents = page.get_by_role("table").filter(has_text="Hvis")
    assert "gælder" in consents.inner_text() and "Jobcenter" in consents.inner_text()
    consents.get_by_text("Teksten, borgeren fik vist").click()  # kept with the consent, and its hash
    shown = "Jeg giver samtykke til, at Jobcenter får oplysninger om kontakt vedrørende Sam Nielsen"
    assert shown in consents.inner_text() and "SHA-256" in consents.inner_text()

    # An anonymous tally of the day's contacts with people who will not be registered.
    page.get_by_role("link", name="Ny sag").click()
    page.get_by_label("Sagstype").select_option("tally")
    page.get_by_label("Første persons navn").fill("")
    page.get_by_role("button", name="Opret sagen").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text().startswith("Sag om anonym optælling")
    page.get_by_label("økonomi").fill("3")
    page.get_by_label("bolig").fill("1")
    page.get_by_role("button", name="Anonym optælling").click()
    page.wait_for_load_state()
    timeline = page.get_by_role("table").filter(has_text="Nyeste først").inner_text()
    assert "Kontakter optalt" in timeline and "økonomi" not in timeline  # counts, no names or notes
    page.get_by_role("button", name="Synkronisér nu").click()
    page.wait_for_load_state()
    assert "0 ikke sendt endnu" in page.locator("header").inner_text()
    page.goto(f"{app.url}/cases?q=Sam")
    page.get_by_role("link", name="Sam Nielsen").click()

    # Health information for more than a year: refused beside the field, in Danish.
    page.get_by_role("link", name="Giv samtykke").click()
    page.get_by_role("group", name="Givet af").get_by_label("Sam Nielsen").check()
    page.get_by_role("group", name="Deles med").get_by_label("Sundhed").check()
    page.get_by_role("group", name="Oplysninger").get_by_label("helbred").check()
    page.get_by_label("Formål").fill("Short")
    page.get_by_label("Gyldigt til").fill("01-06-2099")
    page.get_by_role("button", name="Giv samtykke").click()
    page.wait_for_load_state()
    assert page.locator("#consent-purpose-error").inner_text().startswith("et samtykke skal angive et konkret formål")
    assert page.get_by_role("group", name="Deles med").get_by_label("Sundhed").is_checked()  # what was sent stays
    page.get_by_label("Formål").fill("Treatment of her back")
    page.get_by_label("Gyldigt til").fill("01-06-2099")
    page.get_by_role("button", name="Giv samtykke").click()
    page.wait_for_load_state()
    error = page.locator("#consent-valid_until-error").inner_text()
    assert error.startswith("samtykke til oplysninger om helbred skal udløbe inden for et år")
    page.get_by_role("link", name="Sam Nielsen").click()

    # Withdrawal: one field and one button, as giving is one form and one button.
    row = consents.get_by_role("row").filter(has_text="Job search together")
    row.get_by_role("button", name="Tilbagekald samtykke").click()
    page.wait_for_load_state()
    state = page.get_by_role("table").filter(has_text="Hvis").get_by_role("row").filter(has_text="Job search together")
    assert "tilbagekaldt" in state.inner_text()


def test_every_page_passes_axe_and_fits_375_px(app: FieldApp, browser: BrowserContext) -> None:
    page = sized(browser, {"width": 375, "height": 740})
    page.goto(f"{app.url}/unlock")
    checked(page)
    unlock(Hands(page), app.url)
    checked(page)  # the caseload
    # Names, CPR numbers and notes typed into the app are not kept by the browser's autofill.
    assert (
        page.locator("form:not([autocomplete=off])").evaluate_all(
            "forms => forms.filter(f => f.querySelector('input[type=text], input[type=search], textarea'))"
            ".map(f => f.action)"
        )
        == []
    )
    paths = ("/cases/new", "/cases?q=nobody", f"/cases/{app.case}", "/cases/no-such-case")
    for path in (*paths, *(f"/cases/{app.case}/{name}" for name in LINKED)):
        page.goto(f"{app.url}{path}")
        assert page.locator("h1").count() == 1, path
        assert page.locator("form:not([autocomplete=off]) :is(input[type=text], textarea)").count() == 0, path
        checked(page)
    page.get_by_role("link", name="English").click()  # and back: the same page in English
    assert page.locator("h1").inner_text().startswith("Record a decision")
    checked(page)
    page.get_by_role("link", name="Dansk").click()
    # By keyboard alone: the skip link first, then a quick contact from the case page.
    page.goto(f"{app.url}/cases/{app.case}")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Spring til indhold"
    page.keyboard.press("Enter")

    def tab_to(test: str) -> None:
        for _ in range(80):
            page.keyboard.press("Tab")
            if page.evaluate(f"(e => {test})(document.activeElement)"):
                return
        raise AssertionError(f"no element where {test} is reached by Tab")

    tab_to("e.id === 'contact-note'")
    page.keyboard.type("Typed without a mouse")
    tab_to("e.textContent === 'Hurtig kontakt'")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert "Typed without a mouse" in page.get_by_role("table").filter(has_text="Nyeste først").inner_text()

    page.goto(f"{app.url}/cases/{app.case}/person")
    page.get_by_role("button", name="Tilføj en person").click()  # empty: the errors beside the fields
    page.wait_for_load_state()
    assert page.locator("#person-name-error").inner_text() == "Udfyld feltet."
    checked(page)


def test_a_wrong_passphrase_unlocks_nothing(app: FieldApp, browser: BrowserContext) -> None:
    page = browser.new_page()
    unlock(Hands(page), app.url, "not the passphrase")
    assert (
        page.get_by_role("alert").inner_text() == "Adgangsordet åbner ikke denne computers lager; intet blev låst op."
    )
    checked(page)
    page.goto(f"{app.url}/cases")
    assert page.locator("h1").inner_text() == "Lås op"
    with httpx.Client(base_url=app.url, timeout=10) as http:  # empty: never the environment's passphrase
        form = http.get("/unlock").text
        token = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        answer = http.post("/unlock", data={"csrf": token, "passphrase": ""}, follow_redirects=False)
        assert answer.status_code == 401 and "tovholder_field" not in answer.cookies


def _session(browser: BrowserContext, app: str) -> tuple[dict[str, str], str]:
    """Unlock in the browser; its cookies and a form token of its session."""
    page = browser.new_page()
    unlock(Hands(page), app)
    token = page.locator('form[action="/sync"] input[name="csrf"]').get_attribute("value") or ""
    return {c["name"]: c["value"] for c in browser.cookies()}, token


def test_another_site_or_host_or_a_missing_token_changes_nothing(app: FieldApp, browser: BrowserContext) -> None:
    cookies, token = _session(browser, app.url)
    assert {c["name"]: (c["httpOnly"], c["sameSite"]) for c in browser.cookies()}["tovholder_field"] == (True, "Strict")
    url = f"{app.url}/cases/new"
    form = {"csrf": token, "kind": "citizen", "lead": "benefits", "name": "Forged Person"}
    with httpx.Client(cookies=cookies, timeout=10) as http:
        held = len(http.get(f"{app.url}/cases").text)
        attempts: list[tuple[dict[str, str], dict[str, Any]]] = [
            ({"Origin": "http://evil.example"}, form),
            ({"Host": "evil.example"}, form),
            ({"Sec-Fetch-Site": "cross-site"}, form),
            ({}, {**form, "csrf": ""}),
            ({}, {k: v for k, v in form.items() if k != "csrf"}),
        ]
        for headers, body in attempts:
            answer = http.post(url, data=body, headers=headers, follow_redirects=False)
            assert answer.status_code == 403, (headers, answer.status_code)
        assert http.get(f"{app.url}/cases", headers={"Host": "localhost.evil.example"}).status_code == 403
        huge = http.post(url, data={**form, "name": "x" * 100_000}, follow_redirects=False)
        assert huge.status_code == 413
        page = http.get(f"{app.url}/cases")
        assert "Forged Person" not in page.text and len(page.text) == held
        assert page.headers["content-security-policy"].startswith("default-src 'none'")
        assert page.headers["cache-control"] == "no-store"
    with httpx.Client(timeout=10) as stranger:  # no session: the unlock page, nothing recorded
        answer = stranger.post(url, data=form, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/unlock"


def test_the_app_syncs_in_the_background_and_locks_itself_after_inactivity(
    app: FieldApp, browser: BrowserContext
) -> None:
    url, proc = start_app(app.folder, app.env, "--lock-after", "0.05", "--sync-every", "1")  # 3 s idle
    try:
        page = browser.new_page()
        unlock(Hands(page), url)
        assert page.locator("h1").inner_text() == "Sager på denne computer"
        page.goto(f"{url}/cases/{app.case}")
        page.locator("#contact-form").get_by_label("Notat").fill("Recorded, then sent by itself")
        page.get_by_role("button", name="Hurtig kontakt").click()
        page.wait_for_load_state()
        deadline = time.monotonic() + 10
        while "0 ikke sendt endnu" not in page.locator("header").inner_text():  # nobody presses Sync
            assert time.monotonic() < deadline, page.locator("header").inner_text()
            time.sleep(0.5)
            page.reload()
        time.sleep(3.5)
        page.goto(f"{url}/cases")
        assert page.locator("h1").inner_text() == "Lås op"
        unlock(Hands(page), url)
        page.get_by_role("button", name="Lås", exact=True).click()  # locked on demand
        page.wait_for_load_state()
        page.goto(f"{url}/cases/{app.case}")
        assert page.locator("h1").inner_text() == "Lås op"
    finally:
        assert "Traceback" not in stop(proc)
