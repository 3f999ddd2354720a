"""Every look is logged before it is seen (rule 8), on each backend.

- A real `tovholder server run` answers case reads and is killed with SIGKILL right after
  the last answer: the reopened data folder holds an access-log entry for every answer.
- When the access log cannot be written (a trigger makes its table refuse inserts, as a
  read-only table would), every way of reading a case is refused with 503 and shows
  nothing of the case: the JSON case view (its fast, cached path too, compressed or
  not), the CPR search and the HTML page.
- Reads that arrive together share commits.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from core.access_log import AccessLog
from server.app import create_app
from server.context import ServerContext, init_data_dir
from server.reading.service import Reading
from tests.core.conftest import CaseBuilder, Devices
from tests.integration.conftest import Server
from tests.views.conftest import World

CPR = "170385-4821"
NOTE = "a note only the lead department may read"


def with_case(ctx: ServerContext) -> CaseBuilder:
    """A family case led by children & family, its mother with a CPR number, in the log."""
    b = CaseBuilder().open()
    b.person("mother", "parent", 38, cpr=CPR)
    b.contact(note=NOTE)
    Devices().push(ctx.log, b.sealed, [b.key])
    return b


def case_reads(ctx: ServerContext, case_id: str) -> int:
    entries = AccessLog(ctx.log, background=False).entries(case_id)
    return sum(1 for a in entries if a.view == "department-case" and a.outcome == "shown")


@dataclass
class Folder:
    path: Path
    case_id: str
    token: str


@pytest.fixture
def folder(database_url: str, tmp_path: Path) -> Iterator[Folder]:
    url = None if database_url.startswith("sqlite") else database_url
    path, _ = init_data_dir(tmp_path / "server", url)
    ctx = ServerContext.open(path, {})
    try:
        token = ctx.store.add_worker("bo", "children-family", "caseworker")
        b = with_case(ctx)
    finally:
        ctx.close()
    yield Folder(path, b.case_id, token)


@pytest.mark.slow
def test_every_answered_read_survives_a_sigkill(folder: Folder, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOVHOLDER_", "SQLITE_"))}
    server = Server(folder.path, {**env, "HOME": str(tmp_path)})
    server.start()
    try:
        path = f"/v1/departments/children-family/cases/{folder.case_id}"
        headers = {"Authorization": f"Bearer {folder.token}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=10) as http:
            answered = [http.get(path).status_code for _ in range(5)]
        server.kill()  # at once: no shutdown handler, no flush
    finally:
        server.kill()
    assert answered == [200] * 5
    ctx = ServerContext.open(folder.path, {})
    try:
        assert case_reads(ctx, folder.case_id) == 5
    finally:
        ctx.close()


def refuse_inserts(ctx: ServerContext, table: str) -> None:
    """Make the access-log table refuse every insert, as a read-only table would."""
    run = ctx.log.recorder.run
    if ctx.log.tables.p == "?":
        run(
            f"CREATE TRIGGER access_log_read_only BEFORE INSERT ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'the access log is read-only'); END",
            commit=True,
        )
        return
    schema = table.rsplit(".", 1)[0]
    run(
        f"CREATE FUNCTION {schema}.read_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'the access log is read-only'; END $$",
        commit=True,
    )
    run(
        f"CREATE TRIGGER access_log_read_only BEFORE INSERT ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {schema}.read_only()",
        commit=True,
    )


def test_a_read_that_cannot_be_logged_is_refused_and_shows_nothing(folder: Folder) -> None:
    ctx = ServerContext.open(folder.path, {})
    app = create_app(ctx)
    case_path = f"/v1/departments/children-family/cases/{folder.case_id}"
    bearer = {"Authorization": f"Bearer {folder.token}"}

    async def reads() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tovholder.test") as c:
            # Warm every cache the fast path answers from, while the log can be written.
            for coding in ("gzip", "identity"):
                r = await c.get(case_path, headers={**bearer, "Accept-Encoding": coding})
                assert r.status_code == 200 and NOTE in r.text
            form = await c.get("/ui/sign-in")
            token = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            r = await c.post("/ui/sign-in", data={"token": folder.token, "csrf": token})
            assert r.status_code == 303
            refuse_inserts(ctx, Reading.of(ctx).access.table)
            return [
                await c.get(case_path, headers={**bearer, "Accept-Encoding": "gzip"}),
                await c.get(case_path, headers={**bearer, "Accept-Encoding": "identity"}),
                await c.post(
                    "/v1/departments/children-family/search", headers=bearer, json={"cpr": CPR, "purpose": "casework"}
                ),
                await c.get("/v1/departments/children-family/cases", headers=bearer),
                await c.get(f"/ui/cases/{folder.case_id}"),
            ]

    try:
        answers = asyncio.run(reads())
        assert case_reads(ctx, folder.case_id) == 2  # the two warm-up reads only
    finally:
        Reading.of(ctx).close()
        ctx.close()
    for r in answers:
        assert r.status_code == 503, r.text
        assert "access log cannot be written" in r.text
        assert folder.case_id not in r.text and NOTE not in r.text and "mother" not in r.text.lower()
    assert answers[0].json() == answers[2].json()  # the one JSON error body of the API


def test_reads_that_arrive_together_share_commits(world: World) -> None:
    log = AccessLog(world.log)
    start = threading.Barrier(8)

    def reader(n: int) -> None:
        start.wait()
        for i in range(25):
            log.record(f"w{n}", "jobcenter", f"case-{i % 5}", "department-case", "casework")

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert log._count() == 200  # each committed before its `record` returned
    assert log.commits < 200
    log.close()
