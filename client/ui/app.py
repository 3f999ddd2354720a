"""`tovholder client ui`: the field app served on 127.0.0.1, and the browser opened on it.

The Starlette application is the routes of `client.ui.pages` behind the guards of
`client.ui.guards`, over one `Desk` (the laptop's store, locked until the passphrase is
given). It listens on loopback only, on `--port` or a free one, and a background task
locks the idle desk and syncs an unlocked one every `--sync-every` seconds. Everything
it serves is in the package: templates with their own CSS, no script, no CDN.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import webbrowser
from collections.abc import AsyncIterator
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from client.errors import NotEnrolled
from client.store import store_path
from client.ui import pages
from client.ui.desk import Desk
from client.ui.guards import FormTokens, LoopbackOnly
from core.errors import InvalidInput

HOST = "127.0.0.1"


def create_app(
    folder: Path, port: int, *, lock_after: float = 600.0, sync_every: float = 60.0, browse: bool = False
) -> Starlette:
    """The app for the laptop store in `folder`, answering on `port` only; with `browse`,
    the browser is opened on its unlock page once it has started."""
    desk = Desk(folder, lock_after)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(pages.background_sync(desk, sync_every))
        if browse:  # off the event loop: a browser may take its time to start
            asyncio.get_running_loop().run_in_executor(None, webbrowser.open, f"http://{HOST}:{port}/unlock")
        try:
            yield
        finally:
            task.cancel()
            desk.lock()

    routes = [
        Route("/", pages.home),
        Route("/unlock", pages.unlock_form, methods=["GET"]),
        Route("/unlock", pages.unlock, methods=["POST"]),
        Route("/lock", pages.lock, methods=["POST"]),
        Route("/language", pages.choose_language),
        Route("/sync", pages.sync_now, methods=["POST"]),
        Route("/cases", pages.caseload),
        Route("/cases/new", pages.new_case_form, methods=["GET"]),
        Route("/cases/new", pages.new_case, methods=["POST"]),
        Route("/cases/{case}", pages.case_page),
        Route("/cases/{case}/{form}", pages.form_page, methods=["GET"]),
        Route("/cases/{case}/{form}", pages.record, methods=["POST"]),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(LoopbackOnly, port=port)], lifespan=lifespan)
    app.state.held = pages.Held(desk, FormTokens())
    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def cmd_ui(args: argparse.Namespace) -> None:
    """Serve the app on 127.0.0.1 and open the browser on it (unless --no-browser)."""
    if args.data is None:
        raise InvalidInput("say which laptop store to use: tovholder client --data DIR ui")
    if not store_path(args.data).exists():
        raise NotEnrolled(f"{args.data} holds no laptop store; run 'tovholder client init' first")
    if args.lock_after <= 0:
        raise InvalidInput("--lock-after must be more than 0 minutes")
    port = args.port or free_port()
    app = create_app(
        args.data, port, lock_after=args.lock_after * 60, sync_every=args.sync_every, browse=not args.no_browser
    )
    print(f"The field app is at http://{HOST}:{port}/unlock (Ctrl+C stops it)", flush=True)
    uvicorn.Server(uvicorn.Config(app, host=HOST, port=port, log_level="warning", access_log=False)).run()
