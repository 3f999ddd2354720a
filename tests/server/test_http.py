"""The HTTP API in-process: auth refusals, malformed and oversized requests, one error shape."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import httpx
import msgpack

from core import events as ev
from core.signing import sign_batch
from server.syncing.ordering import BatchOrder
from sync.protocol import (
    PullRequest,
    PushRequest,
    decode_pull_response,
    decode_push_response,
    encode_pull,
    encode_push,
)
from tests.server.conftest import Api, SignedLaptop


def _opened(dev: SignedLaptop) -> tuple[str, bytes]:
    laptop = dev.laptop
    case_id, opened = laptop.open_case()
    note = laptop.record(case_id, ev.ContactRecorded, contact_id="c1", kind="drop-in")
    return case_id, encode_push(laptop.batch([opened, note], (laptop.grant(case_id),)))


def _error(response: httpx.Response, status: int) -> str:
    r = response
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["status"] == status
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return str(body["error"]["message"])


def test_push_then_pull_over_http(api: Api) -> None:
    dev = api.enroll("anna")
    before = api.ctx.log.max_position()  # the administrative log's events of the start and enrollment
    case_id, body = _opened(dev)
    r = dev.post("/v1/sync/push", body)
    assert r.status_code == 200 and r.headers["content-type"] == "application/msgpack"
    assert [x.status for x in decode_push_response(r.content).results] == ["accepted", "accepted"]
    page = decode_pull_response(dev.post("/v1/sync/pull", encode_pull(PullRequest(after=0))).content)
    assert [e.case_id for e in page.events] == [case_id, case_id] and page.next == page.head
    again = dev.post("/v1/sync/push", body)
    assert [x.status for x in decode_push_response(again.content).results] == [
        "duplicate",
        "duplicate",
    ]
    metrics = api.request("GET", "/metrics").text
    assert 'tovholder_requests_total{route="/v1/sync/push",status="200"} 2' in metrics
    assert "tovholder_request_seconds_sum" in metrics
    assert api.request("GET", "/healthz").json()["head"] == before + 2


def test_unsigned_unknown_forged_skewed_and_nonce_reusing_requests_are_refused(api: Api) -> None:
    dev = api.enroll("anna")
    before = api.ctx.log.max_position()
    _, body = _opened(dev)
    assert "X-Tovholder-Device" in _error(api.request("POST", "/v1/sync/push", content=body), 401)
    headers = dev.headers("POST", "/v1/sync/push", body)
    forged = {**headers, "X-Tovholder-Device": "dev-nobody"}
    assert "not enrolled" in _error(api.request("POST", "/v1/sync/push", content=body, headers=forged), 401)
    tampered = dev.headers("POST", "/v1/sync/push", body + b"x")
    assert "signature" in _error(api.request("POST", "/v1/sync/push", content=body, headers=tampered), 401)
    import time

    assert "clock" in _error(dev.post("/v1/sync/push", body, now=time.time() - 3600), 401)
    assert api.request("POST", "/v1/sync/push", content=body, headers=headers).status_code == 200
    # The same nonce on another request is refused; the copy of a request is answered again.
    _, other = _opened(dev)
    reused = dev.headers("POST", "/v1/sync/push", other, nonce=headers["X-Tovholder-Nonce"])
    assert "nonce was used before" in _error(api.request("POST", "/v1/sync/push", content=other, headers=reused), 401)
    copy = api.request("POST", "/v1/sync/push", content=body, headers=headers)
    assert [r.status for r in decode_push_response(copy.content).results] == ["duplicate", "duplicate"]
    assert api.ctx.log.max_position() == before + 2


def test_a_revoked_device_is_refused_at_once(api: Api) -> None:
    dev = api.enroll("anna")
    _, body = _opened(dev)
    r = api.admin("POST", f"/v1/admin/devices/{dev.laptop.device_id}/revoke")
    assert r.status_code == 200 and r.json()["revoked_at"]
    before = api.ctx.log.max_position()
    assert "revoked" in _error(dev.post("/v1/sync/push", body), 401)
    assert api.ctx.log.max_position() == before


def test_malformed_oversized_and_forged_batches_store_nothing(api: Api) -> None:
    dev = api.enroll("anna")
    other = api.enroll("bo")
    before = api.ctx.log.max_position()
    assert "msgpack" in _error(dev.post("/v1/sync/push", b"\xc1not msgpack"), 400)
    assert "batch" in _error(dev.post("/v1/sync/push", msgpack.packb({"v": 1, "batch": []})), 400)
    assert "version" in _error(dev.post("/v1/sync/pull", msgpack.packb({"v": 9})), 400)
    assert "limit" in _error(dev.post("/v1/sync/pull", msgpack.packb({"v": 1, "after": 0, "limit": "x"})), 400)
    huge = b"\0" * (api.ctx.settings.max_body_bytes + 1)
    _error(dev.post("/v1/sync/push", huge), 413)
    # A batch signed by another device's key, sent by this device.
    laptop = dev.laptop
    case_id, opened = laptop.open_case()
    seal = sign_batch(other.laptop.keys.signing, "b1", laptop.device_id, [opened.digest])
    forged = encode_push(PushRequest(seal, (opened.raw,), (laptop.grant(case_id),)))
    _error(dev.post("/v1/sync/push", forged), 403)
    # Another device's genuine batch, replayed by this device.
    _, theirs = _opened(other)
    _error(dev.post("/v1/sync/push", theirs), 403)
    assert api.ctx.log.max_position() == before
    beyond = PullRequest(after=before + 7)
    assert "beyond" in _error(dev.post("/v1/sync/pull", encode_pull(beyond)), 409)


def test_admin_endpoints_need_an_admin_token(api: Api) -> None:
    dev = api.enroll("anna")
    payload = {"id": "night-shelter", "name": "Natvarmestue", "authority": False}
    _error(api.request("POST", "/v1/admin/departments", json=payload), 401)
    wrong = {"Authorization": "Bearer nonsense"}
    _error(api.request("POST", "/v1/admin/departments", json=payload, headers=wrong), 401)
    staff = {"Authorization": f"Bearer {dev.staff_token}"}
    _error(api.request("POST", "/v1/admin/departments", json=payload, headers=staff), 403)
    r = api.admin("POST", "/v1/admin/departments", json=payload)
    assert r.status_code == 201 and r.json()["department"]["authority"] is False
    _error(api.admin("POST", "/v1/admin/departments", json=payload), 409)
    _error(
        api.admin(
            "POST",
            "/v1/admin/workers",
            json={"id": "x", "department": "nope", "role": "caseworker"},
        ),
        400,
    )
    r = api.admin(
        "POST",
        "/v1/admin/workers",
        json={"id": "cai", "department": "night-shelter", "role": "outreach"},
    )
    assert r.status_code == 201 and r.json()["token"]
    code = api.admin("POST", "/v1/admin/devices/enrollments", json={"worker": "cai"}).json()["code"]
    assert len(code) == 14
    _error(api.admin("POST", "/v1/admin/cases/not-a-uuid/assignments", json={"worker": "cai"}), 400)
    _error(api.admin("POST", "/v1/admin/departments", content=b"{"), 400)
    assert {d["id"] for d in api.admin("GET", "/v1/admin/departments").json()["departments"]} >= {
        "jobcenter",
        "night-shelter",
    }


def test_enrollment_codes_work_once(api: Api) -> None:
    api.ctx.store.add_worker("anna", "jobcenter", "caseworker")
    code, _ = api.ctx.store.enrollment_code("anna", 600)
    keys = {"signing_key": "A" * 43 + "=", "agreement_key": "A" * 43 + "="}
    assert api.request("POST", "/v1/enroll", json={"code": code, **keys}).status_code == 201
    assert "used" in _error(api.request("POST", "/v1/enroll", json={"code": code, **keys}), 401)
    _error(api.request("POST", "/v1/enroll", json={"code": "x", "signing_key": "short"}), 400)


def test_every_error_has_the_one_shape(api: Api) -> None:
    _error(api.request("GET", "/v1/nowhere"), 404)
    _error(api.request("GET", "/v1/sync/push"), 405)
    spec = api.request("GET", "/openapi.json").json()
    assert spec["openapi"].startswith("3.") and "/v1/sync/push" in spec["paths"]


def test_a_batch_waits_for_the_batch_it_follows_and_is_refused_when_that_never_comes(api: Api) -> None:
    dev = api.enroll("anna")
    before = api.ctx.log.max_position()
    laptop = dev.laptop
    case_id, opened = laptop.open_case()
    first = laptop.batch([opened], (laptop.grant(case_id),))
    note = laptop.record(case_id, ev.ContactRecorded, contact_id="c1", kind="drop-in")
    second = laptop.batch([note])
    api.ctx.extras["batch_order"] = BatchOrder(api.ctx.push.judged_here, api.ctx.push.judged, wait=0.5)
    follows = replace(second, after=first.seal.batch_id)

    # Never sent: the batch that follows it waits, then is refused, and nothing is stored.
    refused = dev.post("/v1/sync/push", encode_push(follows))
    assert "push again from that batch" in _error(refused, 409)
    assert api.ctx.log.max_position() == before

    # Sent at once, the follower first: it waits for the first and lands after it.
    api.ctx.extras["batch_order"] = BatchOrder(api.ctx.push.judged_here, api.ctx.push.judged, wait=30)

    async def both() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=api.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tovholder.test") as client:

            async def push(request: PushRequest, delay: float) -> httpx.Response:
                await asyncio.sleep(delay)
                body = encode_push(request)
                headers = dev.headers("POST", "/v1/sync/push", body)
                return await client.post("/v1/sync/push", content=body, headers=headers)

            return list(await asyncio.gather(push(follows, 0), push(first, 0.1)))

    answers = asyncio.run(both())
    assert [r.status_code for r in answers] == [200, 200]
    results = [decode_push_response(r.content).results[0] for r in answers]
    assert [(x.status, x.seq) for x in results] == [("accepted", 2), ("accepted", 1)]
    # Following a batch judged before (here, or stored by any instance) does not wait.
    assert dev.post("/v1/sync/push", encode_push(follows)).status_code == 200


def test_a_malformed_after_is_refused_and_stores_nothing(api: Api) -> None:
    dev = api.enroll("anna")
    before = api.ctx.log.max_position()
    _, body = _opened(dev)
    message = msgpack.unpackb(body)
    for after in (7, "", "x" * 201, b"batch"):
        bad = msgpack.packb({**message, "after": after})
        assert "after" in _error(dev.post("/v1/sync/push", bad), 400)
    assert api.ctx.log.max_position() == before
