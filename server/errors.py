"""Errors of the HTTP layer, and the one JSON error body of the whole API.

    TovholderError
    └── ServerError
        ├── Unauthorized         no, unknown, revoked or badly signed credentials (401)
        ├── Forbidden            known credentials that may not do this (403)
        ├── NotFound             no such resource, or one the caller may not know of (404)
        ├── RequestTimeout       a request body that did not arrive in time (408)
        ├── Conflict             the resource exists already (409)
        └── PayloadTooLarge      a body beyond the server's limit (413)

Errors of the other layers are translated once, in `status_of`: bad input is 400, a
broken rule 422, a stale cursor 409, a lost race 503, an access log that cannot be
written 503 (the read is refused), and a full disk 503 with ``"cause": "storage"``
(`server.health`). The body is always ``{"error": {"status": int, "message": str}}``
(with ``cause`` when there is one) and never carries names, CPR numbers or notes, only ids.
"""

from __future__ import annotations

from core.errors import (
    AccessLogUnwritable,
    BatchIdReused,
    CaseErased,
    CodecError,
    ConfigurationError,
    InvalidInput,
    KeyNotHeld,
    NoSuchEvent,
    RuleViolation,
    SignatureInvalid,
    TovholderError,
    UnknownReference,
    VersionConflict,
)
from sync.errors import LimitExceeded, MalformedMessage, StaleCursor


class ServerError(TovholderError):
    """Base of errors raised by the HTTP layer."""

    status = 500


class Unauthorized(ServerError):
    status = 401


class Forbidden(ServerError):
    status = 403


class NotFound(ServerError):
    status = 404


class RequestTimeout(ServerError):
    status = 408


class Conflict(ServerError):
    status = 409


class PayloadTooLarge(ServerError):
    status = 413


_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (ServerError, 0),
    (MalformedMessage, 400),
    (InvalidInput, 400),
    (CodecError, 400),
    (LimitExceeded, 413),
    (StaleCursor, 409),
    (BatchIdReused, 409),
    (SignatureInvalid, 403),
    (UnknownReference, 404),
    (RuleViolation, 422),
    (CaseErased, 410),
    (KeyNotHeld, 404),
    (NoSuchEvent, 404),
    (VersionConflict, 503),
    (AccessLogUnwritable, 503),
    (ConfigurationError, 500),
)


def status_of(exc: Exception) -> int:
    """The HTTP status that answers an error of any layer."""
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status or getattr(exc, "status", 500)
    return 500


def error_body(status: int, message: str, cause: str | None = None) -> dict[str, dict[str, object]]:
    """The one error shape of the API; `cause` names a failure a client tells apart
    (``storage``: the server's own storage cannot be written)."""
    body: dict[str, object] = {"status": status, "message": message}
    if cause is not None:
        body["cause"] = cause
    return {"error": body}
