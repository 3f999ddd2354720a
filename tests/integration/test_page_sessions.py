"""A staff page session lives no longer than the token it was opened with.

Over real HTTP against `tovholder server run` subprocesses: a worker signed in to the
pages is sent back to the sign-in page at the very next request once the token is
revoked through the data folder, or through the admin route of another server process on
the same database; and the second the token's lifetime ends, both the page session and
the token itself (remembered by the server a moment before) are refused.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from .conftest import Server, add_worker, admin, in_process

pytestmark = pytest.mark.slow
LIFETIME = 5  # seconds a token lives on the short-lived server


def browser(server: Server, staff_token: str) -> httpx.Client:
    """A browser signed in to the pages with `staff_token`, as a person does it."""
    b = httpx.Client(base_url=server.url, timeout=30)
    form = b.get("/ui/sign-in").text
    csrf = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    r = b.post("/ui/sign-in", data={"token": staff_token, "csrf": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/ui/cases", r.text
    return b


def caseload(b: httpx.Client) -> str:
    """Which caseload the browser's session shows, or "signed out"."""
    r = b.get("/ui/cases")
    if r.status_code == 303 and r.headers["location"] == "/ui/sign-in":
        return "signed out"
    assert r.status_code == 200, r.text
    return "jobcenter" if "Sager i Jobcenter" in r.text else "health" if "Sager i Sundhed" in r.text else "?"


def test_a_session_ends_at_the_next_request_when_its_token_is_revoked_through_the_data_folder(
    server: Server,
) -> None:
    anna = browser(server, add_worker(server, "w-anna", "jobcenter"))
    bo = browser(server, add_worker(server, "w-bo", "health"))
    cy = browser(server, add_worker(server, "w-cy", "jobcenter"))
    with closing(anna), closing(bo), closing(cy):
        assert (caseload(anna), caseload(bo), caseload(cy)) == ("jobcenter", "health", "jobcenter")
        admin(server, "token", "revoke", "--worker", "w-anna")
        assert caseload(anna) == "signed out"
        assert caseload(bo) == "health" and caseload(cy) == "jobcenter", "only the revoked token's sessions end"
        admin(server, "worker", "disable", "w-cy")
        assert caseload(cy) == "signed out"
        assert caseload(bo) == "health"


def test_a_session_on_one_server_ends_when_another_server_on_the_database_revokes_the_token(
    server: Server, env: dict[str, str]
) -> None:
    other = Server(server.folder, env)  # a second instance behind the same load balancer
    other.start()
    try:
        anna = browser(server, add_worker(server, "w-anna", "jobcenter"))
        with closing(anna), httpx.Client(base_url=other.url, timeout=30) as http:
            assert caseload(anna) == "jobcenter"
            r = http.post(
                "/v1/admin/workers/w-anna/tokens/revoke", headers={"Authorization": f"Bearer {env['TOVHOLDER_TOKEN']}"}
            )
            assert r.status_code == 200 and r.json()["revoked"] == 1, r.text
            assert caseload(anna) == "signed out"
    finally:
        other.kill()


@pytest.fixture
def short_lived(tmp_path: Path, env: dict[str, str]) -> Iterator[Server]:
    """A server whose staff tokens live `LIFETIME` seconds."""
    folder = tmp_path / "short"
    env["TOVHOLDER_TOKEN"] = in_process("server", "init", str(folder), "--json")["admin_token"]
    s = Server(folder, {**env, "TOVHOLDER_TOKEN_LIFETIME_SECONDS": str(LIFETIME)})
    s.start()
    yield s
    s.kill()


def test_a_session_and_a_remembered_token_end_the_second_the_token_expires(short_lived: Server) -> None:
    token = add_worker(short_lived, "w-anna", "jobcenter")
    with sqlite3.connect(short_lived.folder / "log.db") as db:
        (issued,) = db.execute("SELECT created_at FROM admin_tokens WHERE subject='w-anna'").fetchone()
    expires = int(issued) + LIFETIME
    headers = {"Authorization": f"Bearer {token}"}
    anna = browser(short_lived, token)
    with closing(anna):
        assert caseload(anna) == "jobcenter"
        # Read with the token itself, so the server remembers it (for up to 5 s).
        assert anna.get("/v1/departments/jobcenter/cases", headers=headers).status_code == 200
        while time.time() < expires:  # wait for the token's last second to pass
            time.sleep(0.05)
        assert caseload(anna) == "signed out"
        assert anna.get("/v1/departments/jobcenter/cases", headers=headers).status_code == 401
