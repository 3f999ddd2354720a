"""Staff and admin tokens expire after `token_lifetime_seconds`, can be revoked, and a
worker who left can be disabled, over HTTP as through the data folder."""

from __future__ import annotations

import time

from tests.server.conftest import Api


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_tokens_expire_after_their_lifetime_and_a_fresh_one_can_be_issued(api: Api) -> None:
    staff = api.ctx.store.add_worker("w-anna", "jobcenter", "caseworker")
    lifetime = api.ctx.settings.token_lifetime_seconds
    assert lifetime == 12 * 3600
    # Twelve hours and a second later (the store's clock moved, the tokens not yet used):
    api.ctx.store.wallclock = lambda: time.time() + lifetime + 1
    assert api.request("GET", "/v1/departments/jobcenter/cases", headers=bearer(staff)).status_code == 401
    assert api.admin("GET", "/v1/admin/workers").status_code == 401
    admin_token = api.ctx.store.issue_token("admin")  # `admin worker token admin --dir DIR`
    r = api.request("POST", "/v1/admin/workers/w-anna/tokens", headers=bearer(admin_token))
    assert r.status_code == 201, r.text
    assert r.json()["expires_at"] > time.time() + 2 * lifetime - 60  # issued on the moved clock
    fresh = r.json()["token"]
    assert api.request("GET", "/v1/departments/jobcenter/cases", headers=bearer(fresh)).status_code == 200


def test_an_administrator_revokes_tokens_and_disables_a_worker_over_http(api: Api) -> None:
    laptop = api.enroll("w-bo")
    staff = laptop.staff_token
    assert api.request("GET", "/v1/departments/jobcenter/cases", headers=bearer(staff)).status_code == 200
    r = api.admin("POST", "/v1/admin/workers/w-bo/tokens/revoke")
    assert r.status_code == 200 and r.json() == {"worker": "w-bo", "revoked": 1}
    assert api.request("GET", "/v1/departments/jobcenter/cases", headers=bearer(staff)).status_code == 401
    assert api.admin("POST", "/v1/admin/workers/w-nobody/tokens/revoke").status_code == 404

    fresh = api.admin("POST", "/v1/admin/workers/w-bo/tokens").json()["token"]
    r = api.admin("POST", "/v1/admin/workers/w-bo/disable")
    assert r.status_code == 200 and r.json() == {"worker": "w-bo", "disabled": True, "changed": True}
    assert api.request("GET", "/v1/departments/jobcenter/cases", headers=bearer(fresh)).status_code == 401
    r = laptop.post("/v1/sync/pull", b"\x80")
    assert r.status_code == 401 and "disabled" in r.text
    assert api.admin("POST", "/v1/admin/workers/w-bo/tokens").status_code == 404
    assert api.admin("POST", "/v1/admin/workers/w-bo/disable").json()["changed"] is False


def test_a_remembered_token_is_refused_the_second_its_lifetime_ends(api: Api) -> None:
    store = api.ctx.store
    staff = store.add_worker("w-anna", "jobcenter", "caseworker")
    rows = store.log.recorder.run(f"SELECT created_at FROM {store.t_tokens} WHERE subject={store.p}", ("w-anna",))
    expires = int(rows[0][0]) + api.ctx.settings.token_lifetime_seconds
    # A second before the end: answered, and remembered by the process's token cache.
    store.wallclock = lambda: expires - 1
    assert api.request("GET", "/v1/departments/jobcenter/cases", headers=bearer(staff)).status_code == 200
    # The token's last second has passed, though the cache's own few seconds have not.
    store.wallclock = lambda: expires
    assert api.request("GET", "/v1/departments/jobcenter/cases", headers=bearer(staff)).status_code == 401
