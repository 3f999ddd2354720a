"""The OpenAPI 3.1 document of the HTTP API, built from one table of its operations.

`OPERATIONS` has one row per operation (method, path, summary, what it answers, who may
call it, what it takes); `document` turns the table into the document served at
``/openapi.json``. The routes themselves are listed in `server.app`; a test checks that
the two lists name the same operations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

S = {"type": "string"}
I = {"type": "integer"}  # noqa: E741
B = {"type": "boolean"}
ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["status", "message"],
            "properties": {"status": I, "message": S, "cause": S},
        }
    },
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}


def _json(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _obj(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props}


def _list(items: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def _errors(*described: tuple[int, str]) -> dict[str, Any]:
    return {str(code): {"description": text, **_json(ERROR_REF)} for code, text in described}


#: The errors of the sync and admin operations.
ERRORS = _errors(
    (400, "malformed request"),
    (401, "missing, unknown or badly signed credentials"),
    (403, "credentials that may not do this"),
    (404, "no such resource"),
    (409, "conflict or stale cursor"),
    (413, "body, batch or page too large"),
    (503, "the server's storage cannot be written (cause: storage), or a lost race: retry later"),
)
#: The errors of the department views and the audit operations.
READING_ERRORS = _errors(
    (400, "malformed as_of or limit"),
    (401, "missing or unknown staff token"),
    (403, "a token of another department, or not an auditor's"),
    (404, "no such case, or one the department may not see (the same answer)"),
    (410, "the case was erased"),
)
MSGPACK = {"content": {"application/msgpack": {"schema": {"type": "string", "format": "binary"}}}}
ANY_JSON: dict[str, Any] = {"content": {"application/json": {}}}

DEPARTMENT = _obj(id=S, name=S, authority=B, legal_areas=_list(S), disability_model=B)
PLAN = _obj(department=S, legal_areas=_list(S), disability_model=B)
WORKER = _obj(id=S, department=S, role=S)
DEVICE = _obj(device=S, worker=S, enrolled_at=I, revoked_at={"type": ["integer", "null"]})
ASSIGNMENT = _obj(case=S, worker=S, assigned=B, changed=B)
ENROLLED = _obj(
    device=S,
    worker=S,
    department=S,
    role=S,
    server_agreement_key=S,
    server_signing_key=S,
    ca_cert={"type": ["string", "null"]},
)
TREE_HEAD = _obj(size=I, root=S, signed_at=I, signature=S, public_key=S)
SEARCH = _obj(
    cpr={"type": "string", "description": "DDMMYY-SSSS or ten digits"},
    purpose={"type": "string", "description": "why (access log)"},
) | {"required": ["cpr"]}
SEARCH_ERRORS = {
    **READING_ERRORS,
    **_errors((400, "malformed body or CPR number (never echoed)"), (413, "body larger than 4096 bytes")),
}

#: Parameters: (name, where, description); a path parameter is required.
Param = tuple[str, str, str]
DEPT: Param = ("dept", "path", "department id")
CASE: Param = ("case", "path", "case id")
PURPOSE: Param = ("purpose", "query", "why the case is looked at (access log)")
LIST: Param = ("list", "path", "a word list: contact-kinds, challenges or categories")
NAME: Param = ("name", "path", "a name of the list, as events store it")
VOCABULARIES = _obj(vocabularies={"type": "object"})


@dataclass(frozen=True)
class Operation:
    """One operation of the HTTP API as the document describes it."""

    method: str
    path: str
    summary: str
    answer: Mapping[str, Any] = field(default_factory=lambda: ANY_JSON)  # the success response's content
    security: str | None = None  # "bearer" (staff or admin token), "deviceSignature", or both as "a|b"
    body: Mapping[str, Any] | None = None
    status: str = "200"
    parameters: tuple[Param, ...] = ()
    errors: Mapping[str, Any] = field(default_factory=lambda: ERRORS)

    def item(self) -> dict[str, Any]:
        """The operation object of the document."""
        op: dict[str, Any] = {
            "summary": self.summary,
            "responses": {self.status: {"description": "ok", **self.answer}, **self.errors},
        }
        if self.security is not None:
            op["security"] = [{name: []} for name in self.security.split("|")]
        if self.parameters:
            op["parameters"] = [
                {"name": n, "in": where, "required": where == "path", "description": d, "schema": S}
                for n, where, d in self.parameters
            ]
        if self.body is not None:
            op["requestBody"] = {"required": True, **self.body}
        return op


def _admin(method: str, path: str, summary: str, answer: Mapping[str, Any], **kw: Any) -> Operation:
    return Operation(method, path, summary, _json(answer), "bearer", **kw)


def _reading(path: str, summary: str, *params: Param) -> Operation:
    """A GET of the department views or the audit: staff token, purpose for the access log."""
    return Operation("get", path, summary, security="bearer", parameters=(*params, PURPOSE), errors=READING_ERRORS)


def _sync(path: str, summary: str) -> Operation:
    return Operation("post", path, summary, MSGPACK, "deviceSignature", MSGPACK)


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "get",
        "/healthz",
        "liveness and the log's head; 503 while the server cannot write its storage",
        _json(_obj(status=S, head=I)),
        errors={"503": {"description": "the storage cannot be written", **_json(_obj(status=S, reason=S, head=I))}},
    ),
    Operation("get", "/metrics", "Prometheus metrics", {"content": {"text/plain": {"schema": S}}}),
    Operation("get", "/openapi.json", "this document", _json({"type": "object"})),
    Operation(
        "post",
        "/v1/enroll",
        "redeem a one-time code for a new device",
        _json(ENROLLED),
        body=_json(_obj(code=S, signing_key=S, agreement_key=S)),
        status="201",
    ),
    Operation(
        "get",
        "/v1/log/head",
        "the latest signed tree head of the log (signed first when the log grew)",
        _json(TREE_HEAD),
        "bearer|deviceSignature",
    ),
    Operation(
        "get",
        "/v1/log/proof",
        "a consistency proof (from, to) or an inclusion proof (position, size) in the log's Merkle tree",
        _json(_obj(proof=_list(S))),
        "bearer|deviceSignature",
        parameters=(
            ("from", "query", "size of the earlier tree (consistency)"),
            ("to", "query", "size of the later tree (consistency)"),
            ("position", "query", "an event's position (inclusion)"),
            ("size", "query", "size of the tree it is proved in (inclusion)"),
        ),
        errors=_errors(
            (400, "neither pair of numbers, or a tree or event the proof cannot be about"),
            (401, "missing, unknown or badly signed credentials"),
            (403, "credentials that may not do this"),
            (404, "no event is stored at that position"),
        ),
    ),
    _sync("/v1/sync/push", "push a signed batch of sealed events (msgpack; see sync/protocol.py)"),
    _sync("/v1/sync/pull", "pull the caseload after a cursor (msgpack; see sync/protocol.py)"),
    _admin("get", "/v1/admin/departments", "list departments", _obj(departments=_list(DEPARTMENT))),
    _admin(
        "post",
        "/v1/admin/departments",
        "add a department",
        _obj(department=DEPARTMENT),
        body=_json(_obj(id=S, name=S, authority=B, legal_areas=_list(S), disability_model=B)),
        status="201",
    ),
    _admin("get", "/v1/admin/plan", "the delegation plan: each department's legal areas", _obj(plan=_list(PLAN))),
    _admin(
        "put",
        "/v1/admin/plan/{dept}",
        "change a department's legal areas in the delegation plan; laptops learn it at their next sync",
        _obj(plan=PLAN),
        body=_json(_obj(legal_areas=_list(S), disability_model=B)),
        parameters=(DEPT,),
    ),
    _admin("get", "/v1/admin/vocabularies", "the word lists with their Danish and English labels", VOCABULARIES),
    _admin(
        "put",
        "/v1/admin/vocabularies/{list}/{name}",
        "label a name of a word list, or add a challenge category; laptops learn it at their next sync",
        VOCABULARIES,
        body=_json(_obj(da=S, en=S)),
        parameters=(LIST, NAME),
    ),
    _admin(
        "delete",
        "/v1/admin/vocabularies/{list}/{name}",
        "remove a challenge category; laptops learn it at their next sync",
        VOCABULARIES,
        parameters=(LIST, NAME),
    ),
    _admin("get", "/v1/admin/workers", "list workers", _obj(workers=_list(WORKER))),
    _admin(
        "post",
        "/v1/admin/workers",
        "add a worker; the answer carries their staff token, shown once",
        _obj(worker=WORKER, token=S),
        body=_json(WORKER),
        status="201",
    ),
    _admin("get", "/v1/admin/devices", "list enrolled devices", _obj(devices=_list(DEVICE))),
    _admin(
        "post",
        "/v1/admin/devices/enrollments",
        "make a one-time enrollment code for a worker's laptop",
        _obj(worker=S, code=S, expires_at=I),
        body=_json(_obj(worker=S)),
        status="201",
    ),
    _admin("post", "/v1/admin/devices/{device}/revoke", "revoke a device: it can no longer sync", DEVICE),
    _admin(
        "post",
        "/v1/admin/cases/{case}/erase",
        "archive a case to archives/CASE.json in the data folder, then destroy its key (cannot be undone)",
        _obj(case=S, archive=S, events=I, tombstone=S, position=I),
        body=_json(_obj(confirm=S)),
    ),
    _admin(
        "post",
        "/v1/admin/workers/{worker}/tokens",
        "issue a fresh token of a worker (or of admin), valid for token_lifetime_seconds",
        _obj(worker=S, token=S, expires_at=I),
    ),
    _admin(
        "post",
        "/v1/admin/workers/{worker}/tokens/revoke",
        "revoke every token of a worker (or of admin)",
        _obj(worker=S, revoked=I),
    ),
    _admin(
        "post",
        "/v1/admin/workers/{worker}/change",
        "give a worker another role or department (an event of the administrative log)",
        _obj(worker=WORKER),
        body=_json(_obj(role=S, department=S)),
    ),
    _admin(
        "post",
        "/v1/admin/workers/{worker}/disable",
        "disable a worker: their tokens and laptops are refused at once",
        _obj(worker=S, disabled=B, changed=B),
    ),
    _admin(
        "post",
        "/v1/admin/cases/{case}/assignments",
        "assign a case to a worker",
        ASSIGNMENT,
        body=_json(_obj(worker=S)),
    ),
    _admin("delete", "/v1/admin/cases/{case}/assignments/{worker}", "remove an assignment", ASSIGNMENT),
    _reading("/v1/departments/{dept}/cases", "the cases the department is a party to", DEPT),
    _reading("/v1/departments/{dept}/cases/{case}", "the case as the department may see it now", DEPT, CASE),
    _reading("/v1/departments/{dept}/clashes", "the open clashes the department is involved in", DEPT),
    _reading(
        "/v1/departments/{dept}/deadlines",
        "statutory meetings due and overdue, and services ending at 18",
        DEPT,
        ("within", "query", "days ahead a meeting counts as due (default 90)"),
        ("coordinator", "query", "only the cases this worker coordinates"),
    ),
    Operation(
        "post",
        "/v1/departments/{dept}/search",
        "the cases the department may see with a person of this CPR number "
        "(POST: the number is never in a URL or an access-log line)",
        _json(_obj(department=S, cases=_list({"type": "object"}))),
        "bearer",
        _json(SEARCH),
        parameters=(DEPT,),
        errors=SEARCH_ERRORS,
    ),
    _reading(
        "/v1/audit/cases/{case}",
        "replay: the case and each department's view as of a moment",
        CASE,
        ("as_of", "query", "ISO 8601 time or YYYY-MM-DD; default now"),
    ),
    _reading(
        "/v1/departments/{dept}/cases/{case}/linked",
        "the pseudonymous histories linked to the case, as the department may see them now",
        DEPT,
        CASE,
    ),
    _reading("/v1/monitoring", "every monitoring report (management only): counts, no personal data"),
    _reading(
        "/v1/monitoring/{report}",
        "one monitoring report: contacts, families, goals or meetings (management only)",
        ("report", "path", "contacts, families, goals or meetings"),
        ("format", "query", "json (default) or csv"),
    ),
    _reading("/v1/audit/access-log", "who looked at what, when and why", ("case", "query", "one case only")),
    _reading("/v1/audit/exceptions", "shares on a legal basis without consent", ("case", "query", "one case only")),
    _reading("/v1/audit/verify", "integrity of the whole log: chains, sequences, signatures"),
    _reading("/v1/audit/processing", "record of processing activities"),
    _reading("/v1/audit/retention", "overdue erasure requests and cases past retention", ("as_of", "query", "moment")),
    _reading(
        "/v1/citizens/{case}/export",
        "a citizen's own file and the looks at it, for an auditor answering a right-of-access request",
        CASE,
        ("request", "query", "required: the right-of-access request's reference (1-64 of A-Z a-z 0-9 . _ / : -)"),
        ("person", "query", "one person id"),
        ("withhold_staff", "query", "1 to leave out staff names"),
    ),
)

SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "staff or admin token"},
    "deviceSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Tovholder-Signature",
        "description": "base64 Ed25519 signature by the device key over "
        "METHOD\\nPATH\\nTIME\\nNONCE\\nhex(SHA-256(body)), with X-Tovholder-Device, "
        "X-Tovholder-Time (Unix seconds) and X-Tovholder-Nonce",
    },
}


def document() -> dict[str, Any]:
    """The whole document: one path item per path of `OPERATIONS`, in the table's order."""
    paths: dict[str, dict[str, Any]] = {}
    for operation in OPERATIONS:
        paths.setdefault(operation.path, {})[operation.method] = operation.item()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tovholder",
            "version": "1",
            "description": "One encrypted, immutable event history per social-work case.",
        },
        "components": {"schemas": {"Error": ERROR}, "securitySchemes": SECURITY_SCHEMES},
        "paths": paths,
    }
