"""A citizen's own file leaves the server only to answer a right-of-access request.

Against a `tovholder server run` subprocess over real HTTP: the staff of the department
that leads the case (a caseworker, the coordinator), another department and the
administrator are refused with 403 and nothing of the case; an auditor who names no
request, or a malformed one, is refused with 400; an auditor who names the request gets
the file, and the access-log entry that names the request is on disk before the answer
arrives (the server is killed right after it and the entry read from the database). The
`audit export` command takes the same rules.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from server.context import ServerContext
from tests.core.conftest import CaseBuilder, Devices, family

from .conftest import Server, add_worker, tovholder

pytestmark = pytest.mark.slow
NAME = "Mona Lindqvist"
CPR = "010115-1234"
NOTE = "talked about the methadone dose"
REQUEST = "J-2026-0417"


@dataclass
class Setting:
    """The live server, the case and the staff tokens by role."""

    server: Server
    case: CaseBuilder
    tokens: dict[str, str]
    http: httpx.Client

    def export(self, who: str, **params: str) -> httpx.Response:
        return self.http.get(
            f"/v1/citizens/{self.case.case_id}/export",
            params=params,
            headers={"Authorization": f"Bearer {self.tokens[who]}"},
        )

    def looks(self) -> list[tuple[str | None, str, str]]:
        """(worker, purpose, outcome) of every citizen-export entry of the case, read from
        the database file itself."""
        with sqlite3.connect(self.server.folder / "log.db") as db:
            rows = db.execute(
                "SELECT worker, purpose, outcome FROM access_log WHERE case_id=? AND view='citizen-export' ORDER BY at",
                (self.case.case_id,),
            ).fetchall()
        return [(w, p, o) for w, p, o in rows]


@pytest.fixture
def setting(server: Server, env: dict[str, str]) -> Iterator[Setting]:
    b = family({"mother": ("parent", 38)})
    b.person("girl", "child", 12, name=NAME, cpr=CPR)
    b.contact(note=NOTE, person="girl")
    other = ServerContext.open(server.folder, {})
    try:
        Devices().push(other.log, b.sealed, [b.key])
    finally:
        other.close()
    tokens = {
        "caseworker": add_worker(server, "w-karen", "children-family"),
        "coordinator": add_worker(server, "w-kim", "children-family", "coordinator"),
        "jobcenter": add_worker(server, "w-jens", "jobcenter"),
        "auditor": add_worker(server, "w-ida", "children-family", "auditor"),
        "admin": env["TOVHOLDER_TOKEN"],
    }
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield Setting(server, b, tokens, http)


def holds_nothing_of_the_case(answer: httpx.Response) -> bool:
    text = answer.text
    return all(secret not in text for secret in (NAME, CPR, NOTE, "Person mother"))


@pytest.mark.parametrize("who", ["caseworker", "coordinator", "jobcenter", "admin"])
def test_the_lead_departments_staff_and_everyone_but_an_auditor_are_refused_the_file(
    setting: Setting, who: str
) -> None:
    for params in ({"request": REQUEST}, {}):
        answer = setting.export(who, **params)
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["message"] == (
            "a citizen's file is exported only by an auditor, to answer a right-of-access request"
        )
        assert holds_nothing_of_the_case(answer)
    worker = None if who == "admin" else {"caseworker": "w-karen", "coordinator": "w-kim", "jobcenter": "w-jens"}[who]
    assert setting.looks() == [(worker or "admin", "right of access", "refused")] * 2


@pytest.mark.parametrize("request_reference", [None, "", "a" * 65, "J 17", "../../etc", "J-17\nforged entry"])
def test_an_auditor_who_names_no_well_formed_request_is_refused_with_400(
    setting: Setting, request_reference: str | None
) -> None:
    params = {} if request_reference is None else {"request": request_reference}
    answer = setting.export("auditor", **params)
    assert answer.status_code == 400, answer.text
    assert "right-of-access request" in answer.json()["error"]["message"]
    assert holds_nothing_of_the_case(answer)
    assert setting.looks() == [("w-ida", "right of access", "refused")]


def test_an_auditor_who_names_the_request_gets_the_file_and_the_log_names_it_before_the_answer(
    setting: Setting,
) -> None:
    answer = setting.export("auditor", request=REQUEST)
    assert answer.status_code == 200, answer.text
    own = answer.json()
    girl = next(p for p in own["persons"] if p["name"] == NAME)
    assert girl["cpr"] == CPR
    assert NOTE in {e["payload"].get("note") for e in own["events"]}
    # The entry is committed before the answer left: a crash right after loses nothing.
    setting.server.kill()
    assert setting.looks() == [("w-ida", f"right of access request {REQUEST}", "shown")]


def test_the_export_command_needs_a_request_and_an_auditors_token(setting: Setting, env: dict[str, str]) -> None:
    case, url = setting.case.case_id, setting.server.url
    as_caseworker = {**env, "TOVHOLDER_TOKEN": setting.tokens["caseworker"]}
    refused = tovholder("audit", "export", case, "--server", url, "--request", REQUEST, env=as_caseworker, check=False)
    assert refused.returncode != 0 and "only by an auditor" in refused.stderr
    assert NAME not in refused.stdout + refused.stderr
    as_auditor = {**env, "TOVHOLDER_TOKEN": setting.tokens["auditor"]}
    unnamed = tovholder("audit", "export", case, "--server", url, env=as_auditor, check=False)
    assert unnamed.returncode == 2 and "--request" in unnamed.stderr
    done = tovholder("audit", "export", case, "--server", url, "--request", REQUEST, env=as_auditor)
    assert NAME in done.stdout
    assert setting.looks() == [
        ("w-karen", "right of access", "refused"),
        ("w-ida", f"right of access request {REQUEST}", "shown"),
    ]
