"""The Starlette application: composed from the route modules, with one error shape.

Every error of any layer becomes ``{"error": {"status": int, "message": str}}`` with the
status `server.errors.status_of` gives it; an unexpected error is logged by its type and
answered 500 without details, so no case data can leak into a response or a log line.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import TovholderError
from server import admin, integrity, syncing
from server.context import ServerContext
from server.errors import error_body, status_of
from server.openapi import document

log = logging.getLogger("tovholder.server")


def error_response(status: int, message: str) -> JSONResponse:
    return JSONResponse(error_body(status, message), status_code=status)


async def on_domain_error(request: Request, exc: Exception) -> Response:
    status = status_of(exc)
    if status >= 500:
        log.error("request to %s failed: %s", request.url.path, type(exc).__name__)
    return error_response(status, str(exc))


async def on_http_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        message = {404: "no such endpoint", 405: "method not allowed"}.get(exc.status_code, str(exc.detail))
        return error_response(exc.status_code, message)
    return error_response(500, "internal error")


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.error("request to %s failed unexpectedly: %s", request.url.path, type(exc).__name__)
    return error_response(500, "internal error")


async def healthz(request: Request) -> Response:
    ctx: ServerContext = request.app.state.ctx
    # Asked from the loop (core.heads); through the pool when that cannot tell.
    heads = ctx.log.heads
    head = await heads.position() if heads is not None else None
    if head is None:
        head = await run_in_threadpool(ctx.log.max_position)
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


def extra_routes(ctx: ServerContext, modules: Sequence[str] = ("server.reading",)) -> list[BaseRoute]:
    """Routes of the department views and audit, when that part of the server is installed.

    Such a module offers ``routes(ctx) -> list[BaseRoute]``.
    """
    found: list[BaseRoute] = []
    for name in modules:
        try:
            module: Any = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        factory = getattr(module, "routes", None)
        if callable(factory):
            found.extend(factory(ctx))
    return found


def create_app(ctx: ServerContext, routes: Sequence[BaseRoute] | None = None) -> Starlette:
    """The application for an opened server context."""
    # A request is matched against the routes in order: the busiest come first.
    base: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        *(extra_routes(ctx) if routes is None else routes),
        *syncing.routes,
        Route("/metrics", metrics, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        *admin.routes,
        # After the views' routes, so an audit module of theirs answers first.
        *integrity.routes,
    ]
    app = Starlette(
        routes=base,
        exception_handlers={
            TovholderError: on_domain_error,
            HTTPException: on_http_error,
            Exception: on_unexpected,
        },
    )
    app.state.ctx = ctx
    known = {r.path for r in base if isinstance(r, Route)}
    app.add_middleware(Timing, ctx=ctx, known=known)
    return app
