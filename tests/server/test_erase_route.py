"""`POST /v1/admin/cases/{case}/erase`: an administrator erases a case over HTTP, with the
checks of `admin case erase` (admin token, the case id confirmed, rule 10), and the case
is answered without a name or note at once."""

from __future__ import annotations

import dataclasses
import stat
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from core import events as ev
from core.archive import open_archive, public_key_text
from tests.core.conftest import Devices, family
from tests.server.conftest import Api

NOTE = "talked about the eviction notice"


def test_an_administrator_erases_a_case_over_http(api: Api) -> None:
    authority = X25519PrivateKey.generate()
    api.ctx.settings = dataclasses.replace(api.ctx.settings, archive_public_key=public_key_text(authority.public_key()))
    b = family({"mother": ("parent", 38)})
    b.contact(note=NOTE)
    b.rec(ev.ErasureRequested, request_id="r1", requested_by=b.persons["mother"])
    b.rec(ev.ErasureDecided, request_id="r1", granted=True, legal_basis="GDPR art. 17")
    Devices().push(api.ctx.log, b.sealed, [b.key])
    staff = {"Authorization": f"Bearer {api.ctx.store.add_worker('w-clara', 'children-family', 'caseworker')}"}
    view = f"/v1/departments/children-family/cases/{b.case_id}"
    assert NOTE in api.request("GET", view, headers=staff).text  # decrypted and kept in memory
    route = f"/v1/admin/cases/{b.case_id}/erase"

    assert api.request("POST", route, headers=staff, json={"confirm": b.case_id}).status_code == 403
    r = api.admin("POST", route, json={})
    assert r.status_code == 400 and "confirm" in r.text
    r = api.admin("POST", route, json={"confirm": b.case_id})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["case"] == b.case_id and answer["events"] == len(b.events)
    archive = Path(answer["archive"])
    assert archive.parent == api.ctx.settings.data_dir / "archives"
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    sealed = archive.read_bytes()
    assert NOTE.encode() not in sealed and NOTE in str(open_archive(sealed, authority))

    after = api.request("GET", view, headers=staff)
    assert NOTE not in after.text and "Person mother" not in after.text
    assert api.admin("POST", route, json={"confirm": b.case_id}).status_code in (400, 422)
