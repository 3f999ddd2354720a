"""HTTP endpoints of the field laptops: enrollment, push and pull.

Thin: each handler checks the device's headers first (an unknown or revoked device, a bad
time or nonce is refused with 401 before a byte of the body is read), then reads the body
within the size limit and time bound, verifies the signature over it and decodes the
msgpack message with `sync.protocol`'s bounds in a worker thread (so decoding never
stalls the event loop), and hands it to the push or pull service (`server.syncing.push`,
`server.syncing.pull`) in a worker thread (the database calls block).

A pull is a look at the cases it delivers: one access-log entry per case (view
``laptop-pull``, the device, how many events went whole and on which grounds, how many
as placeholders) is committed before the answer is sent, and the pull is refused with
503 when it cannot be, as every read is. The pull judges cases from the view services'
decrypted case cache (`server.reading.service.Reading`).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections import Counter
from dataclasses import replace
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.errors import InvalidInput
from core.log import Device
from server.auth import DeviceClaim, check_device_headers, parse_json, read_body, verify_device
from server.context import ServerContext
from server.errors import Unauthorized
from server.health import storage_health
from server.reading.service import Reading
from server.store import WorkerRecord
from server.syncing.ordering import BatchOrder
from server.syncing.pull import PulledView, PullingDevice, pull_view
from server.syncing.pullproof import page_proof
from server.syncing.pullsigners import MAX_ADMIN, admin_events, admin_only, with_signers
from server.syncing.push import Worker
from server.syncing.share import ShareJudge
from server.treeheads import head_signer
from server.vocabulary import vocabulary_file
from sync.errors import LimitExceeded
from sync.protocol import (
    PullRequest,
    PushRequest,
    decode_pull,
    decode_push,
    encode_pull_response,
    encode_push_response,
)

MSGPACK = "application/msgpack"


def _ctx(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.ctx
    return ctx


def batch_order(ctx: ServerContext) -> BatchOrder:
    """The process's waiting rooms for batches pushed after another, made on first use."""
    found = ctx.extras.get("batch_order")
    if not isinstance(found, BatchOrder):
        found = ctx.extras["batch_order"] = BatchOrder(ctx.push.judged_here, ctx.push.judged)
    return found


async def _signed_body(request: Request, ctx: ServerContext) -> tuple[DeviceClaim, bytes]:
    """The device's claim from its headers (401 at once when they fail), then its body,
    read within the size limit and `BODY_SECONDS`."""
    claim = await run_in_threadpool(check_device_headers, ctx, request.method, request.url.path, request.headers)
    return claim, await read_body(request, ctx.settings.max_body_bytes)


def _verified_push(ctx: ServerContext, claim: DeviceClaim, body: bytes) -> tuple[Device, WorkerRecord, PushRequest]:
    """The signature checked, then the body decoded within the protocol's bounds: off
    the event loop, so a large or hostile body never stalls other requests."""
    device, worker = verify_device(ctx, claim, body)
    return device, worker, decode_push(body)


def _verified_pull(ctx: ServerContext, claim: DeviceClaim, body: bytes) -> tuple[Device, WorkerRecord, PullRequest]:
    device, worker = verify_device(ctx, claim, body)
    return device, worker, decode_pull(body)


async def push_endpoint(request: Request) -> Response:
    ctx = _ctx(request)
    claim, body = await _signed_body(request, ctx)
    device, worker, message = await run_in_threadpool(_verified_push, ctx, claim, body)
    del body
    if len(message.events) > ctx.settings.max_batch:
        raise LimitExceeded(f"a batch carries at most {ctx.settings.max_batch} events on this server")
    order = batch_order(ctx)
    if message.after is not None:
        await order.follow(message.after)
    answer = await run_in_threadpool(
        ctx.push.push, message, device.device_id, Worker(worker.id, worker.department, worker.role)
    )
    order.done(message.seal.batch_id)
    storage_health(ctx.extras, ctx.settings.data_dir).wrote()
    for status, n in Counter(r.status for r in answer.results).items():
        ctx.metrics.count_events(f"push_{status}", n)
    ctx.metrics.count_events("conflicts_flagged", len(answer.conflicts))
    return Response(encode_push_response(answer), media_type=MSGPACK)


async def pull_endpoint(request: Request) -> Response:
    ctx = _ctx(request)
    claim, body = await _signed_body(request, ctx)
    device, worker, message = await run_in_threadpool(_verified_pull, ctx, claim, body)
    if message.limit > ctx.settings.max_page:
        raise LimitExceeded(f"a pull page holds at most {ctx.settings.max_page} events on this server")
    who = PullingDevice(device.device_id, worker.id, device.agreement_key, worker.department)
    view = await run_in_threadpool(_logged_pull, ctx, who, message)
    answer = replace(
        view.response,
        departments=tuple(directory_of(ctx)),
        vocabularies=vocabulary_file(ctx.settings.data_dir, ctx.log, ctx.extras).current().as_json(),
    )
    storage_health(ctx.extras, ctx.settings.data_dir).wrote()
    ctx.metrics.count_events("pulled", len(answer.events))
    return Response(encode_pull_response(answer), media_type=MSGPACK)


def share_judge(ctx: ServerContext) -> ShareJudge:
    """The process's judge of laptops' shares, over the view services' case cache."""
    found = ctx.extras.get("share_judge")
    if not isinstance(found, ShareJudge):
        reading = Reading.of(ctx)
        found = ctx.extras["share_judge"] = ShareJudge(reading.cache, ctx.store.directory, reading.now)
    return found


def _logged_pull(ctx: ServerContext, who: PullingDevice, message: PullRequest) -> PulledView:
    """The pull's answer, once its looks are committed to the access log
    (AccessLogUnwritable, answered 503, when they cannot be)."""
    view = _signed_view(ctx, who, message)
    proof = page_proof(head_signer(ctx), view.envelopes, message.kept_size)
    view = replace(view, response=replace(view.response, proof=proof))
    access = Reading.of(ctx).access
    access.write(
        [
            access.entry(who.worker, who.department, look.case_id, "laptop-pull", look.purpose(who.device_id))
            for look in view.looks
        ]
    )
    return view


def _signed_view(ctx: ServerContext, who: PullingDevice, message: PullRequest) -> PulledView:
    """The pull's answer with what the laptop needs to check who signed it
    (`server.syncing.pullsigners`) when it names the administrative events it replayed."""
    view = pull_view(ctx.log, ctx.caseload, who, message, judge=share_judge(ctx))
    if message.admin_after is None:
        return view
    admin = admin_events(ctx.log, message.admin_after)  # read after the page: its devices are in
    if len(admin) > MAX_ADMIN:  # a laptop far behind replays them first, the page after
        response, envelopes = admin_only(ctx.log, message, admin)
        view = PulledView(response, (), {})
    else:
        response, envelopes = with_signers(ctx.log, view.response, view.envelopes, admin, view.response.drop)
    return replace(view, response=replace(response, server_key=ctx.server_keys.signing_public), envelopes=envelopes)


def _key(payload: dict[str, Any], name: str) -> bytes:
    value = payload.get(name)
    if not isinstance(value, str):
        raise InvalidInput(f"enrollment: field {name!r} must be a base64 string")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"enrollment: field {name!r} is not valid base64") from None
    if len(raw) != 32:
        raise InvalidInput(f"enrollment: field {name!r} must be a 32-byte public key")
    return raw


def enroll(ctx: ServerContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Redeem a one-time code for a new device; the answer the laptop stores."""
    code = payload.get("code")
    if not isinstance(code, str) or not code.strip():
        raise InvalidInput("enrollment: field 'code' must be the one-time code")
    signing, agreement = _key(payload, "signing_key"), _key(payload, "agreement_key")
    worker = ctx.store.redeem(code)
    if worker is None:
        raise Unauthorized("the enrollment code is unknown, used or expired; ask for a new one")
    device_id = "dev-" + uuid.uuid4().hex[:16]
    ctx.log.register_device(device_id, worker.id, signing, agreement)
    b64 = base64.b64encode
    return {
        "device": device_id,
        "worker": worker.id,
        "department": worker.department,
        "role": worker.role,
        "server_agreement_key": b64(ctx.server_keys.agreement_public).decode(),
        "server_signing_key": b64(ctx.server_keys.signing_public).decode(),
        "head_key": b64(ctx.head_key.public_key().public_bytes_raw()).decode(),
        "ca_cert": ctx.ca_pem,
        "departments": directory_of(ctx),
        "vocabularies": vocabulary_file(ctx.settings.data_dir, ctx.log, ctx.extras).current().as_json(),
    }


def directory_of(ctx: ServerContext) -> list[dict[str, Any]]:
    """The municipality's departments as laptops need them for the rules: a department
    added by the administrator becomes usable on every laptop at its next sync."""
    return [d.as_dict() for d in ctx.store.directory().departments.values()]


async def enroll_endpoint(request: Request) -> Response:
    ctx = _ctx(request)
    body = await read_body(request, 64 * 1024)
    payload = parse_json(body)
    answer = await run_in_threadpool(enroll, ctx, payload)
    return JSONResponse(answer, status_code=201)
