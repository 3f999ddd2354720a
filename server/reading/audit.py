"""JSON endpoints of auditors, and the citizen's own file.

    GET /v1/audit/cases/{case}?as_of=ISO8601    replay: the case and each view as of then
    GET /v1/audit/access-log?case=CASE          who looked at what, when, for what purpose
    GET /v1/audit/exceptions                    shares on a legal basis, without consent
    GET /v1/audit/processing                    record of processing activities
    GET /v1/audit/retention                     overdue erasure requests, cases due
    GET /v1/audit/verify                        integrity of the whole log
    GET /v1/citizens/{case}/export              a citizen's own file (right of access)

Audit routes are for auditors only, and so is a citizen's file, which answers the
right-of-access request named by ``?request=`` (400 without one); verifying the log is for
administrators too. Every look at a case appends an
access-log entry (rule 8), also a refused one. `tovholder audit ... --server URL` prints
these answers.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.errors import InvalidInput
from server.accounts import verify_accounted
from server.auth import principal
from server.errors import Forbidden
from server.reading.queries import (
    AUDIT_ROLES,
    access_entries,
    audit_case,
    exception_rows,
    export_case,
    parse_moment,
    processing_record,
    report_json,
    retention_report,
)
from server.reading.requests import auditor, purpose_of, services


def _limit(request: Request) -> int:
    text = request.query_params.get("limit", "1000")
    if not text.isdigit() or not 1 <= int(text) <= 10_000:
        raise InvalidInput("limit is a whole number from 1 to 10000")
    return int(text)


async def audit_replay(request: Request) -> Response:
    ctx, r = services(request)
    who = await run_in_threadpool(auditor, ctx, request)
    as_of = parse_moment(request.query_params.get("as_of"), r.now())
    body = await run_in_threadpool(audit_case, r, who, request.path_params["case"], as_of, purpose_of(request, "audit"))
    return JSONResponse(body)


async def audit_access_log(request: Request) -> Response:
    ctx, r = services(request)
    who = await run_in_threadpool(auditor, ctx, request)
    case_id = request.query_params.get("case") or None
    rows = await run_in_threadpool(access_entries, r, who, case_id, _limit(request), purpose_of(request, "audit"))
    return JSONResponse({"case": case_id, "entries": rows})


async def audit_exceptions(request: Request) -> Response:
    ctx, r = services(request)
    who = await run_in_threadpool(auditor, ctx, request)
    case_id = request.query_params.get("case") or None
    rows = await run_in_threadpool(exception_rows, r, who, case_id, purpose_of(request, "audit"))
    return JSONResponse({"exceptions": rows})


async def audit_processing(request: Request) -> Response:
    ctx, r = services(request)
    await run_in_threadpool(auditor, ctx, request)
    return JSONResponse(await run_in_threadpool(processing_record, r))


async def audit_retention(request: Request) -> Response:
    ctx, r = services(request)
    await run_in_threadpool(auditor, ctx, request)
    now = parse_moment(request.query_params.get("as_of"), r.now())
    return JSONResponse(await run_in_threadpool(retention_report, r, now))


async def audit_verify(request: Request) -> Response:
    ctx, _ = services(request)
    who = await run_in_threadpool(principal, ctx, request)
    if who.role not in AUDIT_ROLES:
        raise Forbidden("verifying the log needs an auditor's or administrator's token")
    report = await run_in_threadpool(verify_accounted, ctx.log, ctx.store, ctx.server_keys.signing_public)
    return JSONResponse(report_json(report))


async def citizen_file(request: Request) -> Response:
    ctx, r = services(request)
    who = await run_in_threadpool(principal, ctx, request)
    withhold = request.query_params.get("withhold_staff", "").lower() in ("1", "true", "yes")
    body = await run_in_threadpool(
        export_case,
        r,
        who,
        request.path_params["case"],
        request.query_params.get("person") or None,
        withhold,
        request.query_params.get("request"),
    )
    return JSONResponse(body)
