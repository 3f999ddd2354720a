"""An administrator's change made beside a running server takes effect in it at once.

A `tovholder server run` subprocess serves laptops and staff while `tovholder admin ...
--dir DIR` acts on the same database from another process: a revoked laptop's very next
push and pull are refused, a revoked token or a disabled worker's token and laptop are
refused at the next request, and an erased case is answered without any name or note by
the server that had its key and its decrypted events in memory, and its key is granted to
no laptop assigned to it afterwards. No sleep, no restart. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from client.errors import DeviceRefused
from client.laptop import Laptop
from client.store import LaptopStore
from client.sync import enroll_laptop
from core import events as ev
from core import merkle
from server.context import ServerContext
from tests.client.conftest import FAST_SCRYPT
from tests.conftest import BACKENDS
from tests.core.conftest import CaseBuilder, Devices, family

from .conftest import PASSPHRASE, Server, add_worker, admin, laptop_of, sync, tovholder

pytestmark = pytest.mark.slow
NAME = "Mona Lindqvist"
NOTE = "talked about the eviction notice"


def erasable_case(server: Server) -> CaseBuilder:
    """A family case with a name, a note and a granted erasure, appended to the server's
    log by another process (as a sync would)."""
    b = family({"mother": ("parent", 38)})
    b.person("girl", "child", 12, name=NAME)
    b.contact(note=NOTE)
    b.rec(ev.ErasureRequested, request_id="r1", requested_by=b.persons["mother"])
    b.rec(ev.ErasureDecided, request_id="r1", granted=True, legal_basis="GDPR art. 17")
    other = ServerContext.open(server.folder, {})
    try:
        Devices().push(other.log, b.sealed, [b.key])
    finally:
        other.close()
    return b


def test_a_device_revoked_through_the_data_folder_is_refused_at_once(live: Server, tmp_path: Path) -> None:
    add_worker(live, "w-anna", "jobcenter")
    with laptop_of(live, tmp_path / "laptop", "w-anna") as laptop:
        case = laptop.open_case("citizen", "jobcenter").case_id
        sync(laptop)  # pushed and pulled: the server now remembers the device
        laptop.record(case, ev.ContactRecorded, contact_id=ev.new_id(), kind="phone", note=NOTE, persons=())

        admin(live, "device", "revoke", laptop.device_id)

        with pytest.raises(DeviceRefused, match="revoked"):
            sync(laptop, "push")
        with pytest.raises(DeviceRefused, match="revoked"):
            sync(laptop, "pull")
        assert laptop.view(case).pending, "the refused event stays in the outbox"


def test_a_case_erased_through_the_data_folder_is_unreadable_at_once(live: Server, tmp_path: Path) -> None:
    reader = add_worker(live, "w-clara", "children-family")
    auditor = add_worker(live, "w-audit", "children-family", "auditor")
    add_worker(live, "w-bo", "children-family")
    b = erasable_case(live)
    routes = {
        reader: f"/v1/departments/children-family/cases/{b.case_id}",
        auditor: f"/v1/audit/cases/{b.case_id}",
    }
    exports = {auditor: f"/v1/citizens/{b.case_id}/export?request=J-2026-17"}
    with httpx.Client(base_url=live.url, timeout=30) as http:

        def answers() -> list[httpx.Response]:
            return [
                http.get(path, headers={"Authorization": f"Bearer {token}"})
                for token, path in [*routes.items(), *exports.items()]
            ]

        before = answers()  # the server now holds the key and the decrypted case
        assert all(r.status_code == 200 for r in before), [r.text for r in before]
        assert all(NOTE in r.text for r in before[:2]) and NAME in before[0].text

        admin(live, "case", "erase", b.case_id, "--yes", "--archive", str(tmp_path / "archive.json"))

        for r in answers():
            assert NAME not in r.text and NOTE not in r.text and "Person mother" not in r.text, r.text
        # An erased case has no party left, so no worker can be assigned it any more.
        with pytest.raises(SystemExit):
            admin(live, "case", "assign", b.case_id, "--worker", "w-bo")
        with laptop_of(live, tmp_path / "laptop-bo", "w-bo") as laptop:
            assert b.case_id not in sync(laptop, "pull")


def test_a_revoked_token_and_a_disabled_worker_are_refused_at_once(live: Server, tmp_path: Path) -> None:
    first = add_worker(live, "w-anna", "jobcenter")
    with (
        laptop_of(live, tmp_path / "laptop", "w-anna") as laptop,
        httpx.Client(base_url=live.url, timeout=30) as http,
    ):

        def status(token: str) -> int:
            r = http.get("/v1/departments/jobcenter/cases", headers={"Authorization": f"Bearer {token}"})
            return r.status_code

        sync(laptop)
        assert status(first) == 200  # the server now remembers the token

        assert admin(live, "token", "revoke", "--worker", "w-anna")["revoked"] == 1
        assert status(first) == 401
        fresh = admin(live, "worker", "token", "w-anna")["token"]
        assert status(fresh) == 200

        assert admin(live, "worker", "disable", "w-anna")["changed"] is True
        assert status(fresh) == 401
        with pytest.raises(DeviceRefused, match="disabled"):
            sync(laptop, "pull")


@pytest.mark.parametrize("database_url", [b for b in BACKENDS if b == "postgres"], indirect=True)
def test_what_an_administrator_does_on_one_instance_holds_on_the_other_at_once(
    live: Server, second: Server, tmp_path: Path
) -> None:
    """Revocation, token revocation and erasure made over HTTP on one instance take effect
    on the other instance's very next request: no cache there answers past the change."""
    admin_token = live.env["TOVHOLDER_TOKEN"]
    on_first = httpx.Client(base_url=live.url, timeout=30, headers={"Authorization": f"Bearer {admin_token}"})
    on_second = httpx.Client(base_url=second.url, timeout=30)
    reader = add_worker(live, "w-clara", "children-family")
    add_worker(live, "w-anna", "jobcenter")
    b = erasable_case(live)
    view = f"/v1/departments/children-family/cases/{b.case_id}"
    staff = {"Authorization": f"Bearer {reader}"}
    code = admin(live, "device", "enroll", "--worker", "w-anna")["code"]
    asyncio.run(enroll_laptop(tmp_path / "laptop", second.url, code, PASSPHRASE, scrypt_n=FAST_SCRYPT))
    with (
        on_first,
        on_second,
        Laptop(LaptopStore.open(tmp_path / "laptop", PASSPHRASE)) as laptop,
    ):
        case = laptop.open_case("citizen", "jobcenter").case_id
        sync(laptop)  # through the second instance, which now remembers the device
        read = on_second.get(view, headers=staff)  # the second instance holds the key and the case
        assert read.status_code == 200 and NOTE in read.text and NAME in read.text

        erased = on_first.post(f"/v1/admin/cases/{b.case_id}/erase", json={"confirm": b.case_id})
        assert erased.status_code == 200, erased.text
        after = on_second.get(view, headers=staff)
        assert NOTE not in after.text and NAME not in after.text, after.text

        assert on_first.post("/v1/admin/workers/w-clara/tokens/revoke").status_code == 200
        assert on_second.get("/v1/departments/children-family/cases", headers=staff).status_code == 401

        assert on_first.post(f"/v1/admin/devices/{laptop.device_id}/revoke").status_code == 200
        laptop.record(case, ev.ContactRecorded, contact_id=ev.new_id(), kind="phone", note=NOTE, persons=())
        with pytest.raises(DeviceRefused, match="revoked"):
            sync(laptop, "push")
        assert laptop.view(case).pending, "the refused event stays in the outbox"


@pytest.mark.parametrize("database_url", [b for b in BACKENDS if b == "postgres"], indirect=True)
def test_two_instances_appending_at_once_grow_one_tree_that_extends_every_head_either_signed(
    live: Server, second: Server, tmp_path: Path
) -> None:
    """Laptops pushing through both instances at the same time: one tree of every event,
    each once, and every head either instance signed is one an auditor can verify."""
    auth = {"Authorization": f"Bearer {live.env['TOVHOLDER_TOKEN']}"}
    for worker in ("w-anna", "w-bo"):
        add_worker(live, worker, "jobcenter")
    heads: list[dict[str, Any]] = []

    def work(instance: Server, worker: str) -> None:
        with laptop_of(instance, tmp_path / worker, worker) as laptop, httpx.Client(base_url=instance.url) as http:
            for _ in range(3):
                case = laptop.open_case("citizen", "jobcenter").case_id
                sync(laptop, "push")
                for _ in range(2):
                    laptop.record(case, ev.ContactRecorded, contact_id=ev.new_id(), kind="phone", note=NOTE, persons=())
                    sync(laptop, "push")
                    heads.append(http.get("/v1/log/head", headers=auth).json())

    threads = [threading.Thread(target=work, args=pair) for pair in ((live, "w-anna"), (second, "w-bo"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(heads) == 2 * 3 * 2, "a push or a head failed in a thread"
    exported = tmp_path / "heads.json"
    tovholder("audit", "heads", "export", str(exported), "--dir", str(live.folder), env=live.env)
    done = tovholder("audit", "verify", "--heads", str(exported), "--dir", str(live.folder), "--json", env=live.env)
    report = json.loads(done.stdout)
    assert report["ok"] is True and report["heads"] >= len({h["size"] for h in heads}), report
    with httpx.Client(base_url=second.url, headers=auth) as http:
        last = http.get("/v1/log/head").json()
        assert last["size"] == report["events"]
        for head in heads:
            proof = http.get("/v1/log/proof", params={"from": head["size"], "to": last["size"]}).json()
            assert proof["from_root"] == head["root"] and proof["to_root"] == last["root"]
            hashes = [bytes.fromhex(p) for p in proof["proof"]]
            first, second_root = bytes.fromhex(head["root"]), bytes.fromhex(last["root"])
            assert merkle.verify_consistency(head["size"], last["size"], first, second_root, hashes)
