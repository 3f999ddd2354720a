"""The OpenAPI 3.1 document of the HTTP API, written by hand next to the routes it describes."""

from __future__ import annotations

from typing import Any

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["status", "message"],
            "properties": {"status": {"type": "integer"}, "message": {"type": "string"}},
        }
    },
}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _obj(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props}


S = {"type": "string"}
I = {"type": "integer"}  # noqa: E741
B = {"type": "boolean"}
ERRORS = {
    str(code): {"description": desc, **_json({"$ref": "#/components/schemas/Error"})}
    for code, desc in (
        (400, "malformed request"),
        (401, "missing, unknown or badly signed credentials"),
        (403, "credentials that may not do this"),
        (404, "no such resource"),
        (409, "conflict or stale cursor"),
        (413, "body, batch or page too large"),
    )
}
DEVICE_AUTH: list[dict[str, list[str]]] = [{"deviceSignature": []}]
ADMIN_AUTH: list[dict[str, list[str]]] = [{"bearer": []}]
MSGPACK = {"content": {"application/msgpack": {"schema": {"type": "string", "format": "binary"}}}}


def _op(
    summary: str,
    ok: dict[str, Any],
    *,
    security: list[Any] | None = None,
    body: dict[str, Any] | None = None,
    status: str = "200",
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {status: {"description": "ok", **ok}, **ERRORS},
    }
    if security is not None:
        op["security"] = security
    if body is not None:
        op["requestBody"] = {"required": True, **body}
    return op


def document() -> dict[str, Any]:
    """The whole document, with the reading routes' paths when that module is installed."""
    doc = _document()
    try:
        from server.reading import openapi_paths
    except ImportError:
        return doc
    doc["paths"].update(openapi_paths())
    return doc


def _document() -> dict[str, Any]:
    department = _obj(id=S, name=S, authority=B, legal_areas={"type": "array", "items": S}, disability_model=B)
    worker = _obj(id=S, department=S, role=S)
    device = _obj(device=S, worker=S, enrolled_at=I, revoked_at={"type": ["integer", "null"]})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tovholder",
            "version": "1",
            "description": "One encrypted, immutable event history per social-work case.",
        },
        "components": {
            "schemas": {"Error": ERROR},
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "staff or admin token",
                },
                "deviceSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Tovholder-Signature",
                    "description": "base64 Ed25519 signature by the device key over "
                    "METHOD\\nPATH\\nTIME\\nNONCE\\nhex(SHA-256(body)), with X-Tovholder-Device, "
                    "X-Tovholder-Time (Unix seconds) and X-Tovholder-Nonce",
                },
            },
        },
        "paths": {
            "/healthz": {"get": _op("liveness and the log's head", _json(_obj(status=S, head=I)))},
            "/metrics": {"get": _op("Prometheus metrics", {"content": {"text/plain": {"schema": S}}})},
            "/openapi.json": {"get": _op("this document", _json({"type": "object"}))},
            "/v1/enroll": {
                "post": _op(
                    "redeem a one-time code for a new device",
                    _json(
                        _obj(
                            device=S,
                            worker=S,
                            department=S,
                            role=S,
                            server_agreement_key=S,
                            server_signing_key=S,
                            ca_cert={"type": ["string", "null"]},
                        )
                    ),
                    body=_json(_obj(code=S, signing_key=S, agreement_key=S)),
                    status="201",
                )
            },
            "/v1/sync/push": {
                "post": _op(
                    "push a signed batch of sealed events (msgpack; see sync/protocol.py)",
                    MSGPACK,
                    security=DEVICE_AUTH,
                    body=MSGPACK,
                )
            },
            "/v1/sync/pull": {
                "post": _op(
                    "pull the caseload after a cursor (msgpack; see sync/protocol.py)",
                    MSGPACK,
                    security=DEVICE_AUTH,
                    body=MSGPACK,
                )
            },
            "/v1/admin/departments": {
                "get": _op(
                    "list departments",
                    _json(_obj(departments={"type": "array", "items": department})),
                    security=ADMIN_AUTH,
                ),
                "post": _op(
                    "add a department",
                    _json(_obj(department=department)),
                    security=ADMIN_AUTH,
                    body=_json(_obj(id=S, name=S, authority=B)),
                    status="201",
                ),
            },
            "/v1/admin/workers": {
                "get": _op(
                    "list workers",
                    _json(_obj(workers={"type": "array", "items": worker})),
                    security=ADMIN_AUTH,
                ),
                "post": _op(
                    "add a worker; the answer carries their staff token, shown once",
                    _json(_obj(worker=worker, token=S)),
                    security=ADMIN_AUTH,
                    body=_json(worker),
                    status="201",
                ),
            },
            "/v1/admin/devices": {
                "get": _op(
                    "list enrolled devices",
                    _json(_obj(devices={"type": "array", "items": device})),
                    security=ADMIN_AUTH,
                )
            },
            "/v1/admin/devices/enrollments": {
                "post": _op(
                    "make a one-time enrollment code for a worker's laptop",
                    _json(_obj(worker=S, code=S, expires_at=I)),
                    security=ADMIN_AUTH,
                    body=_json(_obj(worker=S)),
                    status="201",
                )
            },
            "/v1/admin/devices/{device}/revoke": {
                "post": _op("revoke a device: it can no longer sync", _json(device), security=ADMIN_AUTH)
            },
            "/v1/admin/cases/{case}/assignments": {
                "post": _op(
                    "assign a case to a worker",
                    _json(_obj(case=S, worker=S, assigned=B, changed=B)),
                    security=ADMIN_AUTH,
                    body=_json(_obj(worker=S)),
                )
            },
            "/v1/admin/cases/{case}/assignments/{worker}": {
                "delete": _op(
                    "remove an assignment",
                    _json(_obj(case=S, worker=S, assigned=B, changed=B)),
                    security=ADMIN_AUTH,
                )
            },
        },
    }
