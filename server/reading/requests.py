"""What a reading endpoint takes from a request: the services, the caller and the purpose.

A staff token is required (401 without a valid one); a department's routes answer 403
to a token of another department, and the audit routes to any token but an auditor's.
The purpose of a look is taken from ``?purpose=`` or the ``X-Tovholder-Purpose`` header.
"""

from __future__ import annotations

from starlette.requests import Request

from server.auth import principal
from server.context import ServerContext
from server.errors import Forbidden
from server.reading.queries import AUDITOR, staff_of
from server.reading.service import Reading
from server.store import Principal


def services(request: Request) -> tuple[ServerContext, Reading]:
    """The server context of the application answering `request`, and its view services."""
    ctx: ServerContext = request.app.state.ctx
    return ctx, Reading.of(ctx)


def purpose_of(request: Request, default: str) -> str:
    """Why the case is looked at, as the access log keeps it (one line of printable
    characters, at most 200: a NUL or other control character never reaches the log's
    table, where PostgreSQL would refuse the whole entry and with it the look)."""
    text = request.query_params.get("purpose") or request.headers.get("x-tovholder-purpose") or default
    printable = "".join(c for c in " ".join(text.split()) if c.isprintable())
    return printable[:200] or default


def department_principal(ctx: ServerContext, request: Request, department: str) -> Principal:
    """The caller when it holds a staff token of `department`; Unauthorized or Forbidden."""
    return staff_of(principal(ctx, request), department)


def auditor(ctx: ServerContext, request: Request) -> Principal:
    """The caller when it holds an auditor's token; Unauthorized or Forbidden."""
    who = principal(ctx, request)
    if who.role != AUDITOR:
        raise Forbidden("this needs an auditor's token")
    return who
