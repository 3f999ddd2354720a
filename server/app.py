"""The Starlette application: every route of the server listed once, with one error shape.

Every error of any layer becomes ``{"error": {"status": int, "message": str}}`` with the
status `server.errors.status_of` gives it; an unexpected error is logged by its type and
answered 500 without details, so no case data can leak into a response or a log line.
"""

from __future__ import annotations

import logging
import time

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import TovholderError
from server import monitoring, pages, proofs
from server.admin import routes as admin
from server.context import ServerContext
from server.errors import error_body, status_of
from server.freshness import Freshness, listen_for_changes
from server.health import STORAGE, StorageHealth, storage_failure, storage_health, storage_sentence
from server.openapi import document
from server.reading import audit, departments, followup, linked
from server.reading.service import Reading
from server.sessions import sessions
from server.syncing import endpoints as syncing
from server.treeheads import head_signer

log = logging.getLogger("tovholder.server")


def error_response(status: int, message: str, cause: str | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, message, cause), status_code=status)


def _health(request: Request) -> StorageHealth:
    ctx: ServerContext = request.app.state.ctx
    return storage_health(ctx.extras, ctx.settings.data_dir)


def storage_failed(request: Request, failure: str) -> Response:
    """503 with the reason: the storage refused a write; remembered for /healthz."""
    _health(request).failed(failure)
    log.error("request to %s failed: the storage cannot be written: %s", request.url.path, failure)
    return error_response(503, storage_sentence(failure), STORAGE)


async def on_domain_error(request: Request, exc: Exception) -> Response:
    failure = storage_failure(exc)
    if failure is not None:
        return storage_failed(request, failure)
    status = status_of(exc)
    if status >= 500:
        log.error("request to %s failed: %s", request.url.path, type(exc).__name__)
    return error_response(status, str(exc))


async def on_http_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        if request.url.path == "/ui" or request.url.path.startswith("/ui/"):
            return await pages.no_such_page(request, exc.status_code)  # a page, with a way back
        message = {404: "no such endpoint", 405: "method not allowed"}.get(exc.status_code, str(exc.detail))
        return error_response(exc.status_code, message)
    return error_response(500, "internal error")


async def on_unexpected(request: Request, exc: Exception) -> Response:
    failure = storage_failure(exc)
    if failure is not None:
        return storage_failed(request, failure)
    log.error("request to %s failed unexpectedly: %s", request.url.path, type(exc).__name__)
    return error_response(500, "internal error")


async def healthz(request: Request) -> Response:
    ctx: ServerContext = request.app.state.ctx
    # Asked from the loop (core.heads); through the pool when that cannot tell.
    heads = ctx.log.heads
    head = await heads.position() if heads is not None else None
    if head is None:
        head = await run_in_threadpool(ctx.log.max_position)
    failure = await run_in_threadpool(_health(request).failure)
    if failure is not None:
        return JSONResponse({"status": "storage failing", "reason": storage_sentence(failure), "head": head}, 503)
    return JSONResponse({"status": "ok", "head": head})


async def metrics(request: Request) -> Response:
    ctx: ServerContext = request.app.state.ctx
    # Gauges such as a view's lag query the database: keep that off the event loop.
    text = await run_in_threadpool(ctx.metrics.render)
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4")


async def openapi(request: Request) -> Response:
    return JSONResponse(document())


class Timing:
    """Counts and times every request by its route template (unknown paths as 'other')."""

    def __init__(self, app: ASGIApp, ctx: ServerContext, known: set[str]) -> None:
        self.app, self.ctx, self.known = app, ctx, known

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            # Label by the matched route's template (the router leaves it in the scope), so a
            # department's case reads count under one label and no case id becomes a label.
            matched = getattr(scope.get("route"), "path", None)
            path = matched if isinstance(matched, str) else scope["path"]
            route = path if path in self.known else "other"
            self.ctx.metrics.observe(route, status, time.perf_counter() - started)


#: Every route of the server. A request is matched against them in order: the busiest first.
ROUTES: list[BaseRoute] = [
    Route("/healthz", healthz, methods=["GET"]),
    # Department views (server.reading.departments)
    Route("/v1/departments/{dept}/cases/{case}", departments.department_show, methods=["GET"]),
    Route("/v1/departments/{dept}/cases/{case}/linked", linked.department_linked, methods=["GET"]),
    Route("/v1/departments/{dept}/cases", departments.department_list, methods=["GET"]),
    Route("/v1/departments/{dept}/search", departments.department_search, methods=["POST"]),
    Route("/v1/departments/{dept}/clashes", followup.department_clashes, methods=["GET"]),
    Route("/v1/departments/{dept}/deadlines", followup.department_deadlines, methods=["GET"]),
    # Audit and the citizen's own file (server.reading.audit)
    Route("/v1/audit/cases/{case}", audit.audit_replay, methods=["GET"]),
    Route("/v1/audit/access-log", audit.audit_access_log, methods=["GET"]),
    Route("/v1/audit/exceptions", audit.audit_exceptions, methods=["GET"]),
    Route("/v1/audit/processing", audit.audit_processing, methods=["GET"]),
    Route("/v1/audit/retention", audit.audit_retention, methods=["GET"]),
    Route("/v1/audit/verify", audit.audit_verify, methods=["GET"]),
    Route("/v1/citizens/{case}/export", audit.citizen_file, methods=["GET"]),
    # Pages for staff and auditors (server.pages)
    Route("/ui", pages.home, methods=["GET"]),
    Route("/ui/sign-in", pages.sign_in_form, methods=["GET"]),
    Route("/ui/sign-in", pages.sign_in, methods=["POST"]),
    Route("/ui/sign-out", pages.sign_out, methods=["POST"]),
    Route("/ui/language", pages.choose_language, methods=["GET"]),
    Route("/ui/cases", pages.caseload, methods=["GET"]),
    Route("/ui/cases/{case}", pages.case_page, methods=["GET"]),
    Route("/ui/cases/{case}/{action}", pages.case_action, methods=["POST"]),
    Route("/ui/audit", pages.audit_home, methods=["GET"]),
    Route("/ui/audit/replay", pages.audit_case_page, methods=["GET"]),
    Route("/ui/audit/cases/{case}", pages.audit_case_page, methods=["GET"]),
    Route("/ui/audit/verify", pages.audit_verify, methods=["GET"]),
    Route("/ui/audit/access-log", pages.audit_access, methods=["GET"]),
    Route("/ui/audit/exceptions", pages.audit_exceptions, methods=["GET"]),
    Route("/ui/monitoring", pages.monitoring_page, methods=["GET"]),
    Route("/v1/monitoring", monitoring.monitoring_all, methods=["GET"]),
    Route("/v1/monitoring/{report}", monitoring.monitoring_report, methods=["GET"]),
    # Enrollment, push and pull of the field laptops (server.syncing.endpoints)
    Route("/v1/sync/push", syncing.push_endpoint, methods=["POST"]),
    Route("/v1/sync/pull", syncing.pull_endpoint, methods=["POST"]),
    Route("/v1/enroll", syncing.enroll_endpoint, methods=["POST"]),
    Route("/v1/log/head", proofs.log_head, methods=["GET"]),
    Route("/v1/log/proof", proofs.log_proof, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
    Route("/openapi.json", openapi, methods=["GET"]),
    # The administrator (server.admin.routes)
    Route("/v1/admin/departments", admin.list_departments, methods=["GET"]),
    Route("/v1/admin/departments", admin.add_department, methods=["POST"]),
    Route("/v1/admin/plan", admin.show_plan, methods=["GET"]),
    Route("/v1/admin/plan/{dept}", admin.set_plan, methods=["PUT"]),
    Route("/v1/admin/vocabularies", admin.show_vocabularies, methods=["GET"]),
    Route("/v1/admin/vocabularies/{list}/{name}", admin.set_vocabulary, methods=["PUT"]),
    Route("/v1/admin/vocabularies/{list}/{name}", admin.remove_vocabulary, methods=["DELETE"]),
    Route("/v1/admin/workers", admin.list_workers, methods=["GET"]),
    Route("/v1/admin/workers", admin.add_worker, methods=["POST"]),
    Route("/v1/admin/workers/{worker}/tokens", admin.issue_worker_token, methods=["POST"]),
    Route("/v1/admin/workers/{worker}/tokens/revoke", admin.revoke_worker_tokens, methods=["POST"]),
    Route("/v1/admin/workers/{worker}/change", admin.change_worker_route, methods=["POST"]),
    Route("/v1/admin/workers/{worker}/disable", admin.disable_worker, methods=["POST"]),
    Route("/v1/admin/devices", admin.list_devices, methods=["GET"]),
    Route("/v1/admin/devices/enrollments", admin.enroll_device, methods=["POST"]),
    Route("/v1/admin/devices/{device}/revoke", admin.revoke_device, methods=["POST"]),
    Route("/v1/admin/cases/{case}/assignments", admin.assign_case, methods=["POST"]),
    Route("/v1/admin/cases/{case}/assignments/{worker}", admin.unassign_case, methods=["DELETE"]),
    Route("/v1/admin/cases/{case}/erase", admin.erase, methods=["POST"]),
]


def create_app(ctx: ServerContext) -> Starlette:
    """The application for an opened server context."""
    # Made before the first request, so requests arriving together share them, and the
    # views' lag is in /metrics from the start.
    Reading.of(ctx)
    sessions(ctx)
    app = Starlette(
        routes=ROUTES,
        exception_handlers={
            TovholderError: on_domain_error,
            HTTPException: on_http_error,
            Exception: on_unexpected,
        },
    )
    app.state.ctx = ctx
    known = {r.path for r in ROUTES if isinstance(r, Route)}
    listen_for_changes(ctx)
    head_signer(ctx)  # signs tree heads in the background from now on
    # Inside the timing: a request's time includes the look at the generations.
    app.add_middleware(Freshness, ctx=ctx)
    app.add_middleware(Timing, ctx=ctx, known=known)
    return app
