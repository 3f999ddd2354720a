"""GET /v1/audit/verify: the integrity of the whole log (chains, sequences, signatures).

Auditors and administrators only. The answer lists each problem by case, position and
sequence; it needs no case key, so erased cases verify too. `tovholder audit verify
--server URL` prints it.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.verify import Report, verify
from server.auth import principal
from server.context import ServerContext
from server.errors import Forbidden

AUDIT_ROLES = frozenset({"auditor", "admin"})


def report_json(report: Report) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "events": report.events,
        "cases": report.cases,
        "batches": report.batches,
        "problems": [
            {"case": p.case_id, "position": p.position, "seq": p.seq, "problem": p.problem} for p in report.problems
        ],
    }


async def verify_endpoint(request: Request) -> Response:
    ctx: ServerContext = request.app.state.ctx
    who = await run_in_threadpool(principal, ctx, request)
    if who.role not in AUDIT_ROLES:
        raise Forbidden("verifying the log needs an auditor's or administrator's token")
    report = await run_in_threadpool(verify, ctx.log)
    return JSONResponse(report_json(report))


routes = [Route("/v1/audit/verify", verify_endpoint, methods=["GET"])]
