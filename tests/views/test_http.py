"""The reading routes and pages through the real Starlette app, in-process.

Cases are recorded with the core builders and appended to the server's own log, as a
laptop's sync would; the tests then read them with staff and auditor tokens.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from core import events as ev
from core.log import CaseLog
from core.storage import close_recorder, open_recorder
from server.app import create_app
from server.auth import TOKEN_TTL, TokenCache
from server.context import ServerContext, init_data_dir
from server.reading.service import Reading
from tests.core.conftest import CaseBuilder, Devices, family, worker


@dataclass
class Server:
    ctx: ServerContext
    tokens: dict[str, str]

    def __post_init__(self) -> None:
        self.app = create_app(self.ctx)
        self.devices = Devices()

    def get(self, path: str, who: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return self.request("GET", path, headers=headers, **kw)

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://tovholder.test") as client:
                return await client.request(method, path, **kw)

        return asyncio.run(go())

    def push(self, b: CaseBuilder) -> None:
        self.devices.push(self.ctx.log, b.sealed, [b.key])


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    url = None if database_url.startswith("sqlite") else database_url
    path, admin_token = init_data_dir(tmp_path / "server", url)
    ctx = ServerContext.open(path, {})
    tokens = {
        "admin": admin_token,
        "jobcenter": ctx.store.add_worker("anna", "jobcenter", "caseworker"),
        "health": ctx.store.add_worker("hans", "health", "caseworker"),
        "youth": ctx.store.add_worker("ulla", "youth-guidance", "caseworker"),
        "lead": ctx.store.add_worker("bo", "children-family", "coordinator"),
        "auditor": ctx.store.add_worker("ida", "children-family", "auditor"),
    }
    yield Server(ctx, tokens)
    Reading.of(ctx).close()
    ctx.close()


def recorded(s: Server) -> tuple[CaseBuilder, ev.ConsentGiven, ev.ContactRecorded]:
    b = family({"mother": ("parent", 38)})
    b.join("jobcenter", "health")
    consent = b.consent("mother", ["mother"], ["jobcenter"], ["contact"], valid_until=date(2099, 1, 1))
    visit = b.contact(note="secret note about the home")
    b.rec(ev.MeetingHeld, meeting_id="m1", kind="ssp", participants=("children-family", "health"))
    b.rec(
        ev.SharedOnLegalBasis,
        share_id="s1",
        basis="retsplejeloven-115",
        recipients=("health",),
        share_categories=("contact",),
        reason="risk of crime",
        persons=(b.persons["mother"],),
    )
    s.push(b)
    return b, consent, visit


def test_departments_see_their_cases_and_no_more(server: Server) -> None:
    b, _, visit = recorded(server)
    r = server.get("/v1/departments/jobcenter/cases", "jobcenter")
    assert r.status_code == 200, r.text
    assert [c["case"] for c in r.json()["cases"]] == [b.case_id]
    r = server.get(f"/v1/departments/jobcenter/cases/{b.case_id}", "jobcenter")
    assert r.status_code == 200
    body = r.json()
    assert visit.event_id in {e["event"] for e in body["events"]}
    assert body["consents"][0]["in_force"] is True
    health = server.get(f"/v1/departments/health/cases/{b.case_id}", "health").json()
    bases = {e["event"]: e["basis"] for e in health["events"]}
    assert bases[visit.event_id] == "legal-basis"


def test_refusals_401_403_404_with_one_error_shape(server: Server) -> None:
    b, _, _ = recorded(server)
    path = f"/v1/departments/jobcenter/cases/{b.case_id}"
    for response, status in (
        (server.get(path), 401),
        (server.request("GET", path, headers={"Authorization": "Bearer nope"}), 401),
        (server.get(path, "health"), 403),
        (server.get(f"/v1/departments/youth-guidance/cases/{b.case_id}", "youth"), 404),
        (server.get(f"/v1/departments/youth-guidance/cases/{ev.new_id()}", "youth"), 404),
        (server.get(f"/v1/audit/cases/{b.case_id}", "jobcenter"), 403),
    ):
        assert response.status_code == status, response.text
        assert response.json() == {"error": {"status": status, "message": response.json()["error"]["message"]}}
    hidden = server.get(f"/v1/departments/youth-guidance/cases/{b.case_id}", "youth").json()
    missing_id = ev.new_id()
    missing = server.get(f"/v1/departments/youth-guidance/cases/{missing_id}", "youth").json()
    assert hidden["error"]["message"].replace(b.case_id, "X") == missing["error"]["message"].replace(missing_id, "X")
    assert "secret" not in str(hidden) and "Person" not in str(hidden)


def test_every_read_is_in_the_access_log(server: Server) -> None:
    b, _, _ = recorded(server)
    server.get("/v1/departments/jobcenter/cases", "jobcenter")
    server.get(f"/v1/departments/jobcenter/cases/{b.case_id}?purpose=planning", "jobcenter")
    server.get(f"/v1/departments/youth-guidance/cases/{b.case_id}", "youth")
    server.get(f"/v1/audit/cases/{b.case_id}", "auditor")
    entries = server.get(f"/v1/audit/access-log?case={b.case_id}", "auditor").json()["entries"]
    seen = {(e["worker"], e["view"], e["outcome"]) for e in entries}
    assert ("anna", "department-case", "shown") in seen
    assert ("ulla", "department-case", "refused") in seen
    assert ("ida", "audit-replay", "shown") in seen
    assert any(e["purpose"] == "planning" for e in entries)
    everything = server.get("/v1/audit/access-log", "auditor").json()["entries"]
    assert any(e["view"] == "department-list" and e["case"] is None for e in everything)


def test_a_purpose_with_control_characters_is_logged_cleaned_and_the_look_still_answered(server: Server) -> None:
    """PostgreSQL refuses a NUL in text: a purpose carrying one must not fail the access
    log's write (and with it the look), on either backend."""
    b, _, _ = recorded(server)
    hostile = "planning%00%01 with%0Athe family"
    assert server.get(f"/v1/departments/jobcenter/cases/{b.case_id}?purpose={hostile}", "jobcenter").status_code == 200
    assert server.get(f"/v1/departments/jobcenter/deadlines?purpose={hostile}", "jobcenter").status_code == 200
    entries = server.get(f"/v1/audit/access-log?case={b.case_id}", "auditor").json()["entries"]
    assert "planning with the family" in {e["purpose"] for e in entries}


def test_audit_replay_exceptions_and_citizen_export(server: Server) -> None:
    b, consent, visit = recorded(server)
    r = server.get(f"/v1/audit/cases/{b.case_id}", "auditor", params={"as_of": "2000-01-01"})
    assert r.status_code == 200 and r.json()["events"] == []
    now = server.get(f"/v1/audit/cases/{b.case_id}", "auditor").json()
    grounds = {(e["event"]): e["grounds"] for e in now["views"]["jobcenter"]}
    assert grounds[visit.event_id] == [consent.consent_id]
    assert server.get(f"/v1/audit/cases/{b.case_id}?as_of=yesterday", "auditor").status_code == 400
    rows = server.get("/v1/audit/exceptions", "auditor").json()["exceptions"]
    assert [(x["case"], x["basis"], x["recipients"]) for x in rows] == [(b.case_id, "retsplejeloven-115", ["health"])]
    export = server.get(f"/v1/citizens/{b.case_id}/export?withhold_staff=1&request=J-2026-17", "auditor").json()
    assert visit.event_id in {e["event"] for e in export["events"]}
    assert export["access_log"] and all(a["worker"] is None for a in export["access_log"])
    assert server.get(f"/v1/citizens/{b.case_id}/export?request=J-2026-17", "jobcenter").status_code == 403
    assert server.get(f"/v1/citizens/{b.case_id}/export?request=J-2026-17", "lead").status_code == 403
    processing = server.get("/v1/audit/processing", "auditor").json()
    assert processing["recipients"]["legal-basis"] == {"health": ["contact"]}
    retention = server.get("/v1/audit/retention", "auditor").json()
    assert retention["due_for_erasure"] == [] and retention["overdue_erasure_requests"] == []


def form_token_in(html: str) -> str:
    """The CSRF token of the (first) form of a page."""
    return html.split('name="csrf" value="', 1)[1].split('"', 1)[0]


async def form_token(c: httpx.AsyncClient, path: str) -> str:
    """The CSRF token of the form on the page at `path`, as a browser would submit it."""
    return form_token_in((await c.get(path, follow_redirects=True)).text)


def test_pages_sign_in_caseload_case_and_audit(server: Server) -> None:
    b, _, _ = recorded(server)

    async def go() -> None:
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tovholder.test") as c:
            r = await c.get("/ui/cases")
            assert r.status_code == 303 and r.headers["location"] == "/ui/sign-in"
            r = await c.post("/ui/sign-in", data={"token": "wrong", "csrf": await form_token(c, "/ui/sign-in")})
            assert r.status_code == 401
            r = await c.post("/ui/sign-in", data={"token": server.tokens["jobcenter"], "csrf": form_token_in(r.text)})
            assert r.status_code == 303
            r = await c.get("/ui/cases")
            assert r.status_code == 200 and b.case_id in r.text
            assert r.headers["cache-control"] == "no-store"
            r = await c.get(f"/ui/cases/{b.case_id}")
            assert r.status_code == 200 and "secret note" in r.text and "gælder" in r.text
            r = await c.get("/ui/audit")
            assert r.status_code == 403
            await c.post("/ui/sign-out", data={"csrf": await form_token(c, "/ui/cases")})
            token = await form_token(c, "/ui/sign-in")
            r = await c.post("/ui/sign-in", data={"token": server.tokens["auditor"], "csrf": token})
            assert r.headers["location"] == "/ui/audit"
            for path in (
                f"/ui/audit/cases/{b.case_id}?as_of=2030-01-01",
                "/ui/audit/verify",
                f"/ui/audit/access-log?case={b.case_id}",
                "/ui/audit/exceptions",
                f"/ui/audit/replay?case={b.case_id}",
            ):
                r = await c.get(path)
                assert r.status_code == 200, (path, r.text)
            assert "retsplejeloven-115" in r.text

    asyncio.run(go())


def test_views_and_access_log_leave_no_plaintext_on_disk(server: Server, tmp_path: Path) -> None:
    b, _, _ = recorded(server)
    for who, dept in (("jobcenter", "jobcenter"), ("health", "health")):
        server.get(f"/v1/departments/{dept}/cases", who)
        server.get(f"/v1/departments/{dept}/cases/{b.case_id}", who)
    server.get(f"/v1/audit/cases/{b.case_id}", "auditor")
    server.get("/v1/audit/exceptions", "auditor")
    Reading.of(server.ctx).access.flush()
    files = [p for p in (tmp_path / "server").rglob("*") if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        for secret in (b"secret note", b"Person mother", b"risk of crime"):
            assert secret not in data, (path.name, secret)


def test_a_case_view_is_json_and_a_withdrawal_shows_on_the_next_read(server: Server) -> None:
    server.ctx.log.clock = lambda: datetime(2026, 6, 1, 12, tzinfo=UTC)  # no midnight between reads
    b, consent, visit = recorded(server)
    path = f"/v1/departments/jobcenter/cases/{b.case_id}"
    first = server.get(path, "jobcenter")
    assert first.status_code == 200 and first.headers["content-type"] == "application/json"
    assert visit.event_id in {e["event"] for e in first.json()["events"]}
    assert server.get(path, "jobcenter").json() == first.json()
    done = len(b.sealed)
    withdrawal = b.rec(ev.ConsentWithdrawn, worker("children-family"), consent_id=consent.consent_id)
    server.devices.push(server.ctx.log, b.sealed[done:], [])
    after = server.get(path, "jobcenter").json()
    seen = {e["event"] for e in after["events"]}
    assert visit.event_id not in seen and withdrawal.event_id in seen
    assert [c["in_force"] for c in after["consents"]] == [False]
    assert Reading.of(server.ctx).views.judged == 2


def test_a_removed_token_stops_working_within_the_ttl_and_admin_changes_forget_at_once(server: Server) -> None:
    moment = [0.0]
    server.ctx.extras["tokens"] = TokenCache(clock=lambda: moment[0])
    b, _, _ = recorded(server)
    path = f"/v1/departments/jobcenter/cases/{b.case_id}"
    assert server.get(path, "jobcenter").status_code == 200
    # Another process removes the token from the database: trusted for at most the TTL.
    store = server.ctx.store
    store.log.recorder.run(f"DELETE FROM {store.t_tokens} WHERE subject={store.p}", ("anna",), commit=True)
    assert server.get(path, "jobcenter").status_code == 200
    moment[0] += TOKEN_TTL
    assert server.get(path, "jobcenter").status_code == 401
    # A change through this process's admin routes forgets every remembered token at once.
    assert server.get(path, "lead").status_code == 403  # remembered: bo is children-family's
    store.log.recorder.run(f"DELETE FROM {store.t_tokens} WHERE subject={store.p}", ("bo",), commit=True)
    added = server.request(
        "POST",
        "/v1/admin/departments",
        json={"id": "library", "name": "Library"},
        headers={"Authorization": f"Bearer {server.tokens['admin']}"},
    )
    assert added.status_code == 201, added.text
    assert server.get(path, "lead").status_code == 401


def without_moment(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "as_of"}


def test_a_case_view_is_sent_compressed_to_clients_that_accept_it(server: Server) -> None:
    b, _, visit = recorded(server)
    path = f"/v1/departments/jobcenter/cases/{b.case_id}"
    token = {"Authorization": f"Bearer {server.tokens['jobcenter']}"}
    answers = {
        accept: server.request("GET", path, headers={**token, "Accept-Encoding": accept})
        for accept in ("identity", "deflate", "gzip", "gzip, deflate, br, zstd", "gzip;q=1, deflate;q=0.1")
    }
    encodings = {accept: r.headers.get("content-encoding") for accept, r in answers.items()}
    assert encodings == {
        "identity": None,
        "deflate": "deflate",
        "gzip": "gzip",
        "gzip, deflate, br, zstd": "deflate",
        "gzip;q=1, deflate;q=0.1": "gzip",
    }
    plain = answers["identity"].json()
    assert visit.event_id in {e["event"] for e in plain["events"]}
    for r in answers.values():
        # httpx checks the checksum of each coding (Adler-32, CRC-32) as it decodes.
        assert r.status_code == 200 and r.headers["vary"] == "Accept-Encoding"
        assert without_moment(r.json()) == without_moment(plain)
        assert datetime.fromisoformat(r.json()["as_of"]).tzinfo is not None


def test_reads_from_memory_answer_as_the_full_path_and_see_what_others_appended(server: Server) -> None:
    # On SQLite the repeated reads are answered on the event loop (core.heads), on
    # PostgreSQL through the thread pool: the same answers, the same access log.
    server.ctx.log.clock = lambda: datetime(2026, 6, 1, 12, tzinfo=UTC)  # no midnight between reads
    b, _, visit = recorded(server)
    path = f"/v1/departments/jobcenter/cases/{b.case_id}"
    reading = Reading.of(server.ctx)
    first = server.get(path, "jobcenter")
    assert first.status_code == 200 and reading.views.judged == 1
    for accept in ("identity", "deflate", "gzip", "deflate", "identity"):
        again = server.request(
            "GET", path, headers={"Authorization": f"Bearer {server.tokens['jobcenter']}", "Accept-Encoding": accept}
        )
        assert again.status_code == 200 and without_moment(again.json()) == without_moment(first.json())
    assert reading.views.judged == 1  # all answered from what was judged at the first read
    # A remembered token of another department is refused on this path too.
    assert server.get(f"/v1/departments/health/cases/{b.case_id}", "health").status_code == 200
    assert server.get(path, "health").status_code == 403
    # Another process (a second server, an administrator's command) appends to the same file.
    other = CaseLog(open_recorder(server.ctx.settings.database_url), server.ctx.log.kek)
    try:
        done = len(b.sealed)
        note = b.contact(note="recorded elsewhere")
        server.devices.push(other, b.sealed[done:], [])
    finally:
        close_recorder(other.recorder)
    after = server.get(path, "jobcenter").json()
    assert note.event_id in {e["event"] for e in after["events"]}
    assert visit.event_id in {e["event"] for e in after["events"]}
    assert reading.views.judged == 3  # jobcenter's first, health's, jobcenter's after the new event
    entries = server.get(f"/v1/audit/access-log?case={b.case_id}", "auditor").json()["entries"]
    shown = [e for e in entries if e["view"] == "department-case" and e["worker"] == "anna"]
    assert len(shown) == 7 and {e["outcome"] for e in shown} == {"shown"}
