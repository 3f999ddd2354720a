"""The municipality's word lists changed by an administrator (over HTTP, and on the data
folder while the server runs) reach a laptop in one sync and hold offline; the tally, the
contacts and the monitoring use the one list, Danish labels included."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx
import pytest

from core import events as ev
from core.adminlog import ADMIN_TOPIC

from .conftest import Server, Staff, add_worker, admin, client, enroll, tovholder

pytestmark = pytest.mark.slow


def admin_events(server: Server) -> list[bytes]:
    """The administrative log's events as stored (their payloads are in the clear)."""
    with sqlite3.connect(server.folder / "log.db") as db:
        rows = db.execute("SELECT * FROM stored_events WHERE topic=?", (ADMIN_TOPIC,)).fetchall()
    return [b"".join(v for v in row if isinstance(v, bytes)) for row in rows]


def tally(folder: Path, env: dict[str, str], case: str, *counts: str) -> tuple[int, str]:
    argv = [a for c in counts for a in ("--count", c)]
    done = tovholder(
        "client", "--data", str(folder), "tally", "record", case, "--day", ev.utcnow().date().isoformat(), *argv,
        "--json", env=env, check=False,
    )  # fmt: skip
    return done.returncode, done.stderr


def test_a_challenge_category_added_over_http_reaches_a_laptop_in_one_sync_and_its_danish_label_holds_offline(
    server: Server, env: dict[str, str], staff: Staff, tmp_path: Path
) -> None:
    centre = tmp_path / "centre"
    enroll(server, env, centre, "w-dina", "drop-in", "outreach")
    management = add_worker(server, "w-maja", "benefits", "management")
    case = client(centre, env, "case", "open", "--kind", "tally", "--lead", "drop-in")["case"]
    status, said = tally(centre, env, case, "ludomani=5")
    assert status != 0 and "not a challenge category" in said and "ludomani" not in said

    headers = {"Authorization": f"Bearer {env['TOVHOLDER_TOKEN']}"}
    url = f"{server.url}/v1/admin/vocabularies"
    before = len(admin_events(server))
    for path, body, refused in (
        ("challenges/other", {"da": "andet", "en": "other"}, 400),  # the reports' own bucket
        ("categories/gossip", {"da": "sladder", "en": "gossip"}, 400),  # the catalogue's, fixed
        ("challenges/gambling", {"da": "Økonomi", "en": "gambling"}, 400),  # a label of finances
        ("challenges/gambling", {"da": "", "en": "gambling"}, 400),
        ("lists/gambling", {"da": "ludomani", "en": "gambling"}, 400),
    ):
        assert httpx.put(f"{url}/{path}", headers=headers, json=body).status_code == refused
    assert httpx.delete(f"{url}/challenges/gambling", headers=headers).status_code == 404
    assert httpx.put(f"{url}/challenges/gambling", json={"da": "ludomani", "en": "gambling"}).status_code == 401
    assert len(admin_events(server)) == before  # nothing refused was changed or logged

    answer = httpx.put(f"{url}/challenges/gambling", headers=headers, json={"da": "ludomani", "en": "gambling"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["vocabularies"]["challenges"]["gambling"] == {"da": "ludomani", "en": "gambling"}
    # On the data folder, while the server runs: the server reads the replaced file.
    admin(server, "vocabulary", "set", "challenges", "debt", "--da", "gæld", "--en", "debt")
    logged = admin_events(server)[before:]
    assert len(logged) == 2 and b"vocabulary.set" in logged[0] and b"ludomani" in logged[0]

    client(centre, env, "sync")
    server.kill()
    status, said = tally(centre, env, case, "ludomani=5", "Gæld=6", "økonomi=7")
    assert status == 0, said
    citizen = client(centre, env, "case", "open", "--kind", "pseudonymous", "--lead", "drop-in")["case"]
    person = client(centre, env, "person", "add", citizen, "--role", "citizen", "--name", "Rød hue")["person"]
    client(centre, env, "contact", "record", citizen, "--kind", "værested", "--person", person,
           "--challenges", "ludomani,gæld")  # fmt: skip
    assert tally(centre, env, case, "ludomani=1", "gambling=2")[0] != 0  # one challenge, counted twice

    server.start()
    assert not client(centre, env, "sync")["rejected"]
    rows = {r[2]: r[3:] for r in staff.get(management, "/v1/monitoring/contacts")["rows"] if r[0] == "drop-in"}
    assert rows["gambling"][1] == 5 and rows["debt"][1] == 6 and rows["finances"][1] == 7
    assert "other" not in rows


def test_a_removed_challenge_category_is_refused_after_the_next_sync_and_counted_as_other(
    server: Server, env: dict[str, str], staff: Staff, tmp_path: Path
) -> None:
    centre = tmp_path / "centre"
    enroll(server, env, centre, "w-dina", "drop-in", "outreach")
    management = add_worker(server, "w-maja", "benefits", "management")
    case = client(centre, env, "case", "open", "--kind", "tally", "--lead", "drop-in")["case"]
    assert tally(centre, env, case, "tandpleje=8")[0] == 0
    assert not client(centre, env, "sync")["rejected"]
    rows = {r[2]: r[3:] for r in staff.get(management, "/v1/monitoring/contacts")["rows"] if r[0] == "drop-in"}
    assert rows["dental"][1] == 8
    removed = tovholder(
        "admin", "vocabulary", "remove", "challenges", "dental", "--server", server.url, "--json", env=env
    )
    assert "dental" not in json.loads(removed.stdout)["vocabularies"]["challenges"]
    assert b"vocabulary.removed" in admin_events(server)[-1]
    client(centre, env, "sync")
    assert tally(centre, env, case, "tandpleje=2")[0] != 0
    rows = {r[2]: r[3:] for r in staff.get(management, "/v1/monitoring/contacts")["rows"] if r[0] == "drop-in"}
    assert "dental" not in rows and rows["other"][1] == 8


def test_a_laptop_enrolled_after_a_change_knows_the_new_label_before_its_first_sync(
    server: Server, env: dict[str, str], tmp_path: Path
) -> None:
    admin(server, "vocabulary", "set", "challenges", "gambling", "--da", "ludomani", "--en", "gambling")
    centre = tmp_path / "centre"
    enroll(server, env, centre, "w-dina", "drop-in", "outreach")
    server.kill()
    case = client(centre, env, "case", "open", "--kind", "tally", "--lead", "drop-in")["case"]
    status, said = tally(centre, env, case, "ludomani=3")
    assert status == 0, said
