"""The log's signed tree heads and proofs over HTTP: `GET /v1/log/head` and `GET /v1/log/proof`.

Asked by an enrolled device (a signed request as for sync, `server.auth`; the signed
path includes the query) or by an auditor's or administrator's bearer token. Answers
are JSON with hashes in hex:

- the head: size, root, signing time (µs), signature, and the head key's public key;
- ``?from=M&to=N``: the consistency proof that the tree of N events extends that of M,
  with both roots;
- ``?position=P&size=N``: the inclusion proof of the event at position P in the tree of
  N events, with its leaf index and leaf hash, and the root.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.errors import InvalidInput
from core.treehead import head_json
from server.auth import DEVICE, authenticate_device, principal
from server.context import ServerContext
from server.errors import Forbidden
from server.reading.queries import AUDIT_ROLES
from server.treeheads import head_signer


def _allowed(ctx: ServerContext, request: Request) -> None:
    """Unauthorized or Forbidden unless a device signed the request or an auditor or
    administrator sent their token."""
    if request.headers.get(DEVICE):
        query = request.url.query
        path = request.url.path + (f"?{query}" if query else "")
        authenticate_device(ctx, request.method, path, request.headers, b"")
        return
    if principal(ctx, request).role not in AUDIT_ROLES:
        raise Forbidden("the log's heads and proofs are for enrolled devices, auditors and administrators")


def _number(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value is None:
        return None
    if not value.isdigit() or len(value) > 18:
        raise InvalidInput(f"{name} must be a whole number of events")
    return int(value)


def _head(ctx: ServerContext) -> dict[str, Any]:
    head = head_signer(ctx).sign_now()
    return head_json(head, ctx.head_key.public_key().public_bytes_raw())


async def log_head(request: Request) -> Response:
    ctx: ServerContext = request.app.state.ctx
    await run_in_threadpool(_allowed, ctx, request)
    return JSONResponse(await run_in_threadpool(_head, ctx))


def _proof(ctx: ServerContext, request: Request) -> dict[str, Any]:
    tree = head_signer(ctx).tree
    first, second = _number(request, "from"), _number(request, "to")
    position, size = _number(request, "position"), _number(request, "size")
    if first is not None and second is not None and position is None and size is None:
        proof = tree.consistency(first, second)
        return {
            "from": first,
            "to": second,
            "from_root": tree.root(first).hex(),
            "to_root": tree.root(second).hex(),
            "proof": [p.hex() for p in proof],
        }
    if position is not None and size is not None and first is None and second is None:
        found = tree.inclusion(position, size)
        return {
            "position": position,
            "leaf": found.leaf,
            "leaf_hash": found.leaf_hash.hex(),
            "size": size,
            "root": tree.root(size).hex(),
            "proof": [p.hex() for p in found.proof],
        }
    raise InvalidInput("ask either ?from=M&to=N (consistency) or ?position=P&size=N (inclusion)")


async def log_proof(request: Request) -> Response:
    ctx: ServerContext = request.app.state.ctx
    await run_in_threadpool(_allowed, ctx, request)
    return JSONResponse(await run_in_threadpool(_proof, ctx, request))
