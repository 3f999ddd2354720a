"""A real server and a real browser: `tovholder server run` on loopback, headless Chromium.

The data folder is filled in-process before the server starts (a case recorded with the
core builders and appended as a laptop's sync would, in two pushes a moment apart), then
`tovholder server run` serves it on a free port. The browser is the system's Chromium
(`/usr/bin/chromium`, or ``CHROMIUM_PATH``) driven by Playwright; `.ci/run` installs
it. When it cannot be started the tests fail with the reason: a browser test that quietly
skips proves nothing.
"""

from __future__ import annotations

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
from typing import TYPE_CHECKING

import httpx
import pytest

from core import events as ev
from server.context import ServerContext, init_data_dir
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


@dataclass
class Site:
    """The running server, what was recorded, and the staff tokens to sign in with."""

    url: str
    case_id: str
    between: datetime  # after the first push, before the second
    events: int  # in both cases
    tokens: dict[str, str]
    hansen: str  # the Hansen family's case


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
    return b


def _prefill(folder: Path) -> tuple[str, datetime, int, dict[str, str], str]:
    """Record a family case: the jobcenter joins under the mother's consent to contact
    information; one contact it may see, one about health that it may not."""
    path, _ = init_data_dir(folder)
    ctx = ServerContext.open(path, {})
    try:
        tokens = {
            "jobcenter": ctx.store.add_worker("anna", "jobcenter", "caseworker"),
            "auditor": ctx.store.add_worker("ida", "children-family", "auditor"),
            "children-family": ctx.store.add_worker("karen", "children-family", "caseworker"),
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
        return b.case_id, between, len(b.sealed) + len(hansen.sealed), tokens, hansen.case_id
    finally:
        ctx.close()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("browser") / "srv"
    case_id, between, events, tokens, hansen = _prefill(folder)
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
        yield Site(url, case_id, between, events, tokens, hansen)
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
