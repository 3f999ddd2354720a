"""Before each request, drop whatever an administrator's change made anywhere has outdated.

`Freshness` wraps the application: before a request is answered it reads the generation
of each kind of change (`core.generations`, one small query asked from the event loop
through `core.heads`, through the pool when that cannot tell) and, when one moved since
this process's caches were built, drops those caches first. `listen_for_changes` says
what each kind outdates in a server process:

- devices: the log's device cache (`core.log`), so a revoked laptop is refused at once;
- erasures: the unwrapped case keys (`core.log`) and every decrypted case, judged view
  and compressed answer of an erased case (`server.reading`, `server.syncing.push`);
- accounts (workers and tokens): the token cache (`server.auth`) and every page session
  whose token was revoked or whose worker was disabled (`server.sessions`);
- departments: the directory (`server.store`).

So a device revoked or a case erased through HTTP, by `tovholder admin ... --dir` in
another process, or by another server instance on the same PostgreSQL, takes effect
here before the next answer.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from core.generations import ACCOUNTS, DEPARTMENTS, ERASURES
from server.auth import forget_tokens
from server.context import ServerContext
from server.reading.service import Reading
from server.sessions import end_revoked


def forget_erased(ctx: ServerContext) -> None:
    """Drop the plaintext of every erased case from the process's caches."""
    reading = ctx.extras.get("reading")
    for case_id in ctx.log.recorder.erased_cases():
        if isinstance(reading, Reading):
            reading.forget(case_id)
        else:
            ctx.push.forget(case_id)


def listen_for_changes(ctx: ServerContext) -> None:
    """Register what each kind of change outdates in this server process."""
    generations = ctx.log.generations
    generations.listen(ERASURES, lambda: forget_erased(ctx))
    generations.listen(ACCOUNTS, lambda: forget_tokens(ctx))
    generations.listen(ACCOUNTS, lambda: end_revoked(ctx))
    generations.listen(DEPARTMENTS, ctx.store.forget_directory)


async def refresh(ctx: ServerContext) -> None:
    """Drop the caches outdated by changes committed anywhere since they were built."""
    heads = ctx.log.heads
    current = await heads.generations() if heads is not None else None
    if current is None:
        current = await run_in_threadpool(ctx.log.recorder.generations)
    if ctx.log.generations.moved(current):
        # Dropping may ask the database (which cases were erased): off the event loop.
        await run_in_threadpool(ctx.log.generations.observe, current)


class Freshness:
    """Refresh the process's caches (`refresh`) before every HTTP request is answered."""

    def __init__(self, app: ASGIApp, ctx: ServerContext) -> None:
        self.app, self.ctx = app, ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await refresh(self.ctx)
        await self.app(scope, receive, send)
