"""A real server and a real browser: `tovholder server run` on loopback, headless Chromium.

The data folder is filled in-process before the server starts (a case recorded with the
core builders and appended as a laptop's sync would, in two pushes a moment apart), then
`tovholder server run` serves it on a free port. The browser is the system's Chromium
(`/usr/bin/chromium`, or ``CHROMIUM_PATH``) driven by Playwright; `.ci/run` installs
it. When it cannot be started the tests fail with the reason: a browser test that quietly
skips proves nothing.
"""

from __future__ import annotations

import copy
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import httpx
import pytest

from core import events as ev
from core.recording import Author, record
from core.signing import sign_batch
from server.context import ServerContext, init_data_dir
from server.syncing.push import Worker
from sync.protocol import PushRequest
from tests.core.conftest import CaseBuilder, Devices, family

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext

pytestmark = pytest.mark.slow

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VISIBLE_NOTE = "Talked about the job search"
HIDDEN_NOTE = "Saw the doctor about her back"
#: The Hansen family's case: a coordinator, a plan, and a consent the mother withdrew.
MOTHER = "Mette Hansen"
CHILD = "Emil Hansen"
MOTHER_CPR = "0101881234"
WITHDRAWN_NOTE = "Talked about the internship"
GOAL = "Emil goes to school every day"
SUB_GOAL = "Emil gets up by himself"
SHARE_REASON = "Emil's absence worries the school and the family department alike"
#: Two revisions of Emil's sub-goal made at once on two laptops: the server flags the conflict.
OFFICE_REVISION = "Emil gets up by himself on school days"
FIELD_REVISION = "Emil gets up by himself, with an alarm clock he chose"


@dataclass
class Site:
    """The running server, what was recorded, and the staff tokens to sign in with."""

    url: str
    case_id: str
    between: datetime  # after the first push, before the second
    events: int  # in both cases
    tokens: dict[str, str]
    hansen: str  # the Hansen family's case
    folder: Path  # the server's data folder
    code: str  # a one-time code for enrolling Karen's laptop


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _hansen() -> CaseBuilder:
    """The Hansen family: the jobcenter on the team under the mother's consent to her
    identity, and one to contact information that she later withdrew; a coordinator; a goal for Emil with a sub-goal."""
    b = CaseBuilder().open()
    b.person("mother", "parent", None, name=MOTHER, cpr=MOTHER_CPR)
    b.person("child", "child", 12, name=CHILD)
    b.join("jobcenter")
    b.rec(ev.CoordinatorAssigned, worker="karen", coordinator_department="children-family", reason="intake")
    b.consent("mother", ["mother"], ["jobcenter"], ["identity"], valid_until=date(2099, 1, 1))
    given = b.consent("mother", ["mother"], ["jobcenter"], ["contact"], valid_until=date(2099, 1, 1))
    b.contact(note=WITHDRAWN_NOTE)
    child = (b.persons["child"],)
    b.rec(ev.GoalAdded, goal_id="g1", text=GOAL, owner="children-family", due=date(2026, 6, 30), persons=child)
    b.rec(ev.GoalAdded, goal_id="g2", text=SUB_GOAL, owner="children-family", parent_goal="g1", persons=child)
    b.rec(ev.ConsentWithdrawn, consent_id=given.consent_id, reason="changed her mind")
    b.join("school")
    b.rec(ev.ActivityAdded, activity_id="a1", goal_id="g1", activity_department="school", kind="school-mentor")
    shares = MappingProxyType({"children-family": 50, "school": 30, "jobcenter": 20})
    b.rec(ev.FinancingAgreed, activity_id="a1", shares=shares, granted_by="children-family", paid_by="children-family")
    b.rec(ev.MeetingHeld, meeting_id="ssd1", kind="ssd", participants=("children-family", "school"), persons=child)
    b.rec(
        ev.SharedOnLegalBasis,
        share_id="s1",
        basis="serviceloven-49a",
        recipients=("school",),
        share_categories=("family",),
        reason=SHARE_REASON,
        meeting_id="ssd1",
        persons=child,
    )
    return b


def _conflict(ctx: ServerContext, devices: Devices, b: CaseBuilder) -> None:
    """Revise Emil's sub-goal from the same revision on two laptops at once, pushed through the
    push service as their sync would: the second is flagged as a conflict."""
    before = copy.deepcopy(b.state)
    office = b.rec(ev.GoalRevised, goal_id="g2", text=OFFICE_REVISION, base_revision=1)
    karen = Author("karen", "caseworker", "children-family", "laptop-karen")
    field = record(
        before,
        b.key,
        b.directory,
        ev.GoalRevised,
        karen,
        clock=b.clock,
        goal_id="g2",
        text=FIELD_REVISION,
        base_revision=1,
    )[1]
    for sealed, who in (
        (b.sealed[-1], Worker("w-children-family", "children-family", "caseworker")),
        (field, Worker("karen", "children-family", "caseworker")),
    ):
        device = sealed.header.device
        signing = devices.enroll(ctx.log, device)
        seal = sign_batch(signing, ev.new_id(), device, [sealed.digest])
        answer = ctx.push.push(PushRequest(seal, (sealed.raw,)), device, who)
        assert [r.status for r in answer.results] == ["accepted"], answer
    assert office is not None and answer.conflicts, "the second revision was not flagged"


def _prefill(folder: Path) -> tuple[str, datetime, int, dict[str, str], str, str]:
    """Record a family case: the jobcenter joins under the mother's consent to contact
    information; one contact it may see, one about health that it may not."""
    path, _ = init_data_dir(folder)
    ctx = ServerContext.open(path, {})
    try:
        tokens = {
            "jobcenter": ctx.store.add_worker("anna", "jobcenter", "caseworker"),
            "auditor": ctx.store.add_worker("ida", "children-family", "auditor"),
            "children-family": ctx.store.add_worker("karen", "children-family", "caseworker"),
            "colleague": ctx.store.add_worker("lars", "children-family", "caseworker"),
            "management": ctx.store.add_worker("mona", "children-family", "management"),
        }
        b = family({"mother": ("parent", 38)})
        b.join("jobcenter")
        devices = Devices()
        devices.push(ctx.log, b.sealed, [b.key])
        time.sleep(0.05)
        between = ctx.log.clock()
        time.sleep(0.05)
        first = len(b.sealed)
        b.consent("mother", ["mother"], ["jobcenter"], ["contact"], valid_until=date(2099, 1, 1))
        b.contact(note=VISIBLE_NOTE)
        b.contact(note=HIDDEN_NOTE, categories=("health",))
        b.rec(ev.MeetingHeld, meeting_id="m1", kind="network", participants=("children-family", "jobcenter"))
        devices.push(ctx.log, b.sealed[first:])
        hansen = _hansen()
        devices.push(ctx.log, hansen.sealed, [hansen.key])
        for who in ("karen", "lars"):  # assigned by an administrator: their caseload
            ctx.caseload.assign(hansen.case_id, who)
        _conflict(ctx, devices, hansen)
        code, _ = ctx.store.enrollment_code("karen", 3600)
        events = len(b.sealed) + len(hansen.sealed) + 2  # Karen's revision and the server's flag
        return b.case_id, between, events, tokens, hansen.case_id, code
    finally:
        ctx.close()


def running_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A data folder filled with the two cases and a server running on it: the `site`
    the reading tests share (they change nothing); a module whose tests change the cases
    makes it a fixture of its own (``pytest.fixture(scope="module", name="site")``)."""
    folder = tmp_path_factory.mktemp("browser") / "srv"
    case_id, between, events, tokens, hansen, code = _prefill(folder)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOVHOLDER_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tovholder", "server", "run", str(folder), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            pytest.fail(f"the server did not start: {err}")
        time.sleep(0.1)
    try:
        yield Site(url, case_id, between, events, tokens, hansen, folder, code)
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> str:
    """Stop a server or app process (SIGTERM, then SIGKILL after 10 s); what it wrote to stderr."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if not proc.stderr:
        return ""
    with proc.stderr:
        return proc.stderr.read().decode(errors="replace")


site = pytest.fixture(scope="session", name="site")(running_site)


def chromium_path() -> str:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """One headless Chromium for the module's tests (closed after them: Playwright's
    synchronous driver keeps an event loop running while it is open); fails, never skips,
    when Chromium or its driver is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.fail(f"the browser tests need Playwright (pip install -e '.[test]'): {exc}")
    executable = chromium_path()
    if not Path(executable).exists():
        pytest.fail(
            f"no Chromium at {executable}: install it with `apt-get install chromium chromium-driver` "
            "(.ci/run does) or point CHROMIUM_PATH at one"
        )
    with sync_playwright() as p:
        try:
            launched = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        except Exception as exc:  # whatever the driver raises, the reason is what matters
            first = (str(exc).splitlines() or [type(exc).__name__])[0]
            pytest.fail(f"Chromium at {executable} could not be launched: {first}", pytrace=False)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def browser(chromium: Browser) -> Iterator[BrowserContext]:
    """A fresh browser context for each test: no cookie, session or storage of another."""
    context = chromium.new_context()
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()


#: Where the README's screenshots go: written there with TOVHOLDER_TEST_SCREENSHOTS=1 (read
#: before the tests clean the environment), else made and checked in a folder of the test
#: run's own, so a test run leaves the working tree as it found it.
README_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
REFRESH = os.environ.get("TOVHOLDER_TEST_SCREENSHOTS") == "1"


def screenshot_folder(scratch: Path) -> Path:
    """The folder a test writes the README's screenshots to: docs/images when asked, else `scratch`."""
    images = README_IMAGES if REFRESH else scratch
    images.mkdir(parents=True, exist_ok=True)
    return images
