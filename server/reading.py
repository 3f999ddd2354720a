"""JSON endpoints for departments and auditors: views, replay, access log, exceptions.

    GET /v1/departments/{dept}/cases            the cases the department is a party to
    GET /v1/departments/{dept}/cases/{case}     the case as the department may see it now
    POST /v1/departments/{dept}/search          cases with a person of a CPR number (JSON body)
    GET /v1/audit/cases/{case}?as_of=ISO8601    replay: the case and each view as of then
    GET /v1/audit/access-log?case=CASE          who looked at what, when, for what purpose
    GET /v1/audit/exceptions                    shares on a legal basis, without consent
    GET /v1/audit/processing                    record of processing activities
    GET /v1/audit/retention                     overdue erasure requests, cases due
    GET /v1/citizens/{case}/export              a citizen's own file (right of access)

A staff token is required (401 without a valid one). A department's routes answer 403 to
a token of another department and 404 for a case the department may not see, in the very
same words as for a case that does not exist. Audit routes are for auditors only. Every
read of a case, list or search appends an access-log entry (rule 8), also a refused one.
The purpose of a look is taken from ``?purpose=`` or the ``X-Tovholder-Purpose`` header
(a search takes it from its body, so the CPR number is never in a URL or a log line).

`Reading` holds the view services of one server process in ``ctx.extras["reading"]``.
A department's case view is answered from `server.view_cache.ViewCache` (the encoded JSON of
the view judged earlier, while it cannot have changed): on the event loop itself when
everything it needs is in memory (`remembered_case_answer`), otherwise with its token
check, view and access-log entry in one trip to the thread pool; compressed once per
judged view for clients that accept it (`server.compression`).
"""

from __future__ import annotations

import atexit
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from core.access_log import DEFAULT_RETENTION, AccessLog
from core.audit import citizen_export, exceptions, records_of_processing, replay
from core.case_cache import CaseCache
from core.case_index import CaseIndexProjection, CaseRow, case_rows, department_cases
from core.case_view import case_json, department_case
from core.cpr_index import CprIndexProjection, search
from core.errors import CaseErased, InvalidInput, KeyNotHeld
from core.projection import ProjectionRunner
from core.retention import due_cases, overdue_requests
from core.sealing import from_micros
from server.auth import principal, read_body, remembered_principal
from server.compression import MIN_SIZE, CompressedCache, CompressedParts, preferred_coding
from server.context import ServerContext
from server.errors import Forbidden, NotFound
from server.store import Principal
from server.view_cache import JudgedView, ViewCache

AUDITOR = "auditor"
SEARCH_BODY_LIMIT = 4096  # bytes; a CPR number and a purpose
PURGE_EVERY = 3600.0  # seconds between purges of the access log
T = TypeVar("T")


class Reading:
    """The view services of one server process: case index, case cache, access log."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.cache = CaseCache(ctx.log)
        self.views = ViewCache(self.cache)
        self.compressed = CompressedCache()
        self.index = ProjectionRunner(ctx.log, CaseIndexProjection(ctx.log))
        cpr = CprIndexProjection(ctx.log)
        self.cpr = ProjectionRunner(ctx.log, cpr)
        self.cpr_index = cpr.index
        self.access = AccessLog(ctx.log)
        self._index_lock = threading.Lock()
        self._purged = 0.0
        # A setting of 0 days would purge every entry at once; it means "the default".
        days = ctx.settings.access_log_days
        self.access_retention = timedelta(days=days) if days else DEFAULT_RETENTION
        self.retention_years = ctx.settings.retention_years
        ctx.metrics.gauge(
            "tovholder_view_lag_events",
            "Log head position minus the position a department view has applied.",
            self.lags,
        )
        atexit.register(self.access.close)

    @classmethod
    def of(cls, ctx: ServerContext) -> Reading:
        """The context's services, made on first use."""
        found = ctx.extras.get("reading")
        if not isinstance(found, Reading):
            found = ctx.extras["reading"] = cls(ctx)
        return found

    def now(self) -> datetime:
        return self.ctx.log.clock()

    def caught_up(self) -> None:
        """Bring the case and CPR indexes up to the log's head (cheap when nothing is
        new), and purge access-log entries past their retention at most once an hour."""
        with self._index_lock:
            self.index.catch_up()
            self.cpr.catch_up()
            if time.monotonic() - self._purged > PURGE_EVERY or not self._purged:
                self._purged = time.monotonic()
                self.access.purge(self.access_retention)

    def lags(self) -> dict[str, float]:
        """Each view's distance behind the log's head, for /metrics (0 when caught up)."""
        return {runner.projection.name: float(runner.lag()) for runner in (self.index, self.cpr)}

    def forget(self, case_id: str) -> None:
        """Drop a case's plaintext from every cache of the process (after erasure)."""
        self.cache.forget(case_id)
        self.views.forget(case_id)
        self.compressed.forget(case_id)
        self.ctx.push.forget(case_id)

    def close(self) -> None:
        self.access.close()


# --- helpers ------------------------------------------------------------------------------


def purpose_of(request: Request, default: str) -> str:
    text = request.query_params.get("purpose") or request.headers.get("x-tovholder-purpose") or default
    return " ".join(text.split())[:200]


def parse_moment(text: str | None, default: datetime) -> datetime:
    """An ISO 8601 moment (a date means its end of day, UTC); InvalidInput otherwise."""
    if not text:
        return default
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise InvalidInput("as_of must be an ISO 8601 time such as 2026-03-01T12:00:00+00:00") from None
    if len(text) == 10:
        moment = moment.replace(hour=23, minute=59, second=59, microsecond=999_999)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def is_case_id(text: str) -> bool:
    """Whether `text` could name a case: case ids are UUIDs in canonical form, and the log
    refuses to look up anything else, so other text is answered as an unknown case."""
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def not_visible(case_id: str) -> NotFound:
    """The same answer for a case that does not exist and one the department may not see."""
    return NotFound(f"no case {case_id} is visible to this department")


def department_principal(ctx: ServerContext, request: Request, department: str) -> Principal:
    return staff_of(principal(ctx, request), department)


def staff_of(who: Principal, department: str) -> Principal:
    """`who` when it is a staff member of `department`; Forbidden otherwise."""
    if who.department != department or who.is_admin:
        raise Forbidden(f"this token is not a staff token of department {department}")
    return who


def auditor(ctx: ServerContext, request: Request) -> Principal:
    who = principal(ctx, request)
    if who.role != AUDITOR:
        raise Forbidden("this needs an auditor's token")
    return who


def row_json(row: CaseRow) -> dict[str, Any]:
    return {
        "case": row.case_id,
        "kind": row.kind,
        "lead": row.lead,
        "status": row.status,
        "closed_at": from_micros(row.closed_at).isoformat() if row.closed_at else None,
        "erasure_requested_at": (
            from_micros(row.erasure_requested_at).isoformat() if row.erasure_requested_at else None
        ),
        "position": row.position,
        "events": row.seq,
    }


async def blocking(fn: Callable[..., T], *args: Any) -> T:
    return await run_in_threadpool(fn, *args)


# --- the work, callable from the pages and the command line too ---------------------------------


def list_cases(r: Reading, who: Principal, department: str, purpose: str) -> list[dict[str, Any]]:
    r.caught_up()
    rows = [row_json(row) for row in department_cases(r.ctx.log, department)]
    r.access.record(who.subject, department, None, "department-list", purpose)
    return rows


def search_cpr(r: Reading, who: Principal, department: str, cpr: str, purpose: str) -> list[dict[str, Any]]:
    """The cases the department may see with a person of this CPR number (InvalidInput,
    never echoing the number, when it is malformed). The access log gets one search
    entry per case answered, or one without a case when none was (refused for a
    malformed number): ids only, never the number."""
    r.caught_up()
    try:
        found = search(r.ctx.log, r.cache, r.cpr_index, cpr, department, r.ctx.store.directory(), r.now())
    except InvalidInput:
        r.access.record(who.subject, department, None, "department-search", purpose, "refused")
        raise
    persons = {f.case_id: list(f.person_ids) for f in found}
    marks = ",".join([r.ctx.log.tables.p] * len(persons))
    rows = [
        {**row_json(row), "persons": persons[row.case_id]}
        for row in (case_rows(r.ctx.log, f"case_id IN ({marks})", list(persons)) if persons else [])
    ]
    for row in rows:
        r.access.record(who.subject, department, row["case"], "department-search", purpose)
    if not rows:
        r.access.record(who.subject, department, None, "department-search", purpose)
    return rows


def search_body(request_body: bytes) -> tuple[str, str]:
    """(cpr, purpose) from a search's JSON body; InvalidInput that never echoes it."""
    try:
        doc = json.loads(request_body or b"null")
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or not isinstance(doc.get("cpr"), str):
        raise InvalidInput('a search body is a JSON object: {"cpr": "DDMMYY-SSSS", "purpose": "..."}')
    purpose = doc.get("purpose") or "casework"
    if not isinstance(purpose, str):
        raise InvalidInput("the purpose of a search is text")
    return doc["cpr"], " ".join(purpose.split())[:200] or "casework"


def show_case(r: Reading, who: Principal, department: str, case_id: str, purpose: str) -> dict[str, Any]:
    view = (
        department_case(r.cache, case_id, department, r.ctx.store.directory(), r.now()) if is_case_id(case_id) else None
    )
    if view is None:
        r.access.record(who.subject, department, case_id, "department-case", purpose, "refused")
        raise not_visible(case_id)
    r.access.record(who.subject, department, case_id, "department-case", purpose)
    return case_json(view)


@dataclass(frozen=True, slots=True)
class CaseAnswer:
    """A department's case view ready to send: the view judged earlier, the moment of
    reading and, when the client accepts a compressed answer, the compressed parts."""

    view: JudgedView
    at: datetime
    coding: str | None = None
    parts: CompressedParts | None = None

    def response(self) -> Response:
        middle = self.view.moment(self.at)
        headers = {"Vary": "Accept-Encoding"}
        if self.coding is None or self.parts is None:
            body = b"".join((self.view.head or b"", middle, self.view.tail))
        else:
            body = self.parts.body(middle, self.coding)
            headers["Content-Encoding"] = self.coding
        return Response(body, media_type="application/json", headers=headers)


def wants_parts(view: JudgedView, coding: str | None) -> bool:
    return coding is not None and len(view.head or b"") + len(view.tail) >= MIN_SIZE


def case_answer(
    r: Reading, who: Principal, department: str, case_id: str, purpose: str, coding: str | None = None
) -> CaseAnswer:
    """The case view (`show_case`) as encoded JSON, from the view cache when the judged
    view still holds, compressed in `coding` when it is large enough to gain by it."""
    at = r.now()
    view = r.views.view(case_id, department, r.ctx.store.directory(), at) if is_case_id(case_id) else None
    if view is None or view.head is None:
        r.access.record(who.subject, department, case_id, "department-case", purpose, "refused")
        raise not_visible(case_id)
    parts = r.compressed.make((case_id, department), view.head, view.tail) if wants_parts(view, coding) else None
    r.access.record(who.subject, department, case_id, "department-case", purpose)
    return CaseAnswer(view, at, coding, parts)


async def remembered_case_answer(
    r: Reading, request: Request, department: str, case_id: str, purpose: str, coding: str | None
) -> CaseAnswer | None:
    """`department_case_answer` from memory alone, or None to take that full path.

    It answers when the token and the departments are remembered and the view judged
    earlier (and compressed, if asked for) still holds for the case as the log ends now
    (`core.heads`, whose question is awaited). Nothing here blocks the event loop, so it
    runs there: a trip to the thread pool costs a cached read more than all the rest.
    Same answer, same access-log entry; a token of another department is refused here
    as there.
    """
    heads = r.ctx.log.heads
    directory = r.ctx.store.loaded_directory()
    who = remembered_principal(r.ctx, request)
    if heads is None or directory is None or who is None or not is_case_id(case_id):
        return None
    staff_of(who, department)
    seq = await heads.seq(case_id)
    at = r.now()
    view = r.views.holding(case_id, department, seq, directory.is_authority(department), at) if seq else None
    if view is None or view.head is None:
        return None
    parts = None
    if wants_parts(view, coding):
        parts = r.compressed.get((case_id, department), view.head)
        if parts is None:
            return None
    r.access.record(who.subject, department, case_id, "department-case", purpose)
    return CaseAnswer(view, at, coding, parts)


def department_case_answer(
    r: Reading, request: Request, department: str, case_id: str, purpose: str, coding: str | None
) -> CaseAnswer:
    """The token check and the case view of one request, for one trip to the thread pool."""
    who = department_principal(r.ctx, request, department)
    return case_answer(r, who, department, case_id, purpose, coding)


def audit_case(r: Reading, who: Principal, case_id: str, as_of: datetime, purpose: str) -> dict[str, Any]:
    try:
        result = replay(r.ctx.log, r.ctx.store.directory(), case_id, as_of) if is_case_id(case_id) else None
    except KeyNotHeld:
        result = None
    if result is None or (not result.events and not r.ctx.log.has_key(case_id)):
        r.access.record(who.subject, who.department, case_id, "audit-replay", purpose, "refused")
        raise NotFound(f"no case {case_id} is held in the log")
    r.access.record(who.subject, who.department, case_id, "audit-replay", purpose)
    return result.as_json()


def access_entries(r: Reading, who: Principal, case_id: str | None, limit: int, purpose: str) -> list[dict[str, Any]]:
    r.access.record(who.subject, who.department, case_id, "audit-access-log", purpose)
    return [a.as_json() for a in r.access.entries(case_id, limit=limit)]


def exception_rows(r: Reading, who: Principal, case_id: str | None, purpose: str) -> list[dict[str, Any]]:
    r.access.record(who.subject, who.department, case_id, "audit-exceptions", purpose)
    if case_id is not None and not is_case_id(case_id):
        return []
    return [row.as_json() for row in exceptions(r.ctx.log, case_id)]


def export_case(
    r: Reading, who: Principal, case_id: str, person: str | None, withhold: bool, purpose: str
) -> dict[str, Any]:
    try:
        state = r.cache.get(case_id).state if is_case_id(case_id) else None
    except (KeyNotHeld, CaseErased):
        state = None
    lead = state is not None and state.lead == who.department and state.is_party(who.department)
    allowed = who.role == AUDITOR or lead
    if state is None or not allowed:
        r.access.record(who.subject, who.department, case_id, "citizen-export", purpose, "refused")
        raise not_visible(case_id)
    if person is not None and person not in state.persons:
        raise NotFound(f"person {person} is not part of case {case_id}")
    r.access.record(who.subject, who.department, case_id, "citizen-export", purpose)
    return citizen_export(r.ctx.log, case_id, r.access.entries(case_id, limit=10_000), person, withhold_staff=withhold)


def retention_report(r: Reading, now: datetime) -> dict[str, Any]:
    r.caught_up()
    return {
        "as_of": now.isoformat(),
        "overdue_erasure_requests": [row_json(x) for x in overdue_requests(r.ctx.log, now)],
        "due_for_erasure": [
            {**row_json(row), "retention_ended": until.isoformat()}
            for row, until in due_cases(r.ctx.log, now, r.retention_years)
        ],
        "retention_years": dict(r.retention_years),
        "access_log_days": r.access_retention.days,
    }


# --- endpoints ------------------------------------------------------------------------------


def _ctx(request: Request) -> tuple[ServerContext, Reading]:
    ctx: ServerContext = request.app.state.ctx
    return ctx, Reading.of(ctx)


def _limit(request: Request) -> int:
    text = request.query_params.get("limit", "1000")
    if not text.isdigit() or not 1 <= int(text) <= 10_000:
        raise InvalidInput("limit is a whole number from 1 to 10000")
    return int(text)


async def department_list(request: Request) -> Response:
    ctx, r = _ctx(request)
    department = request.path_params["dept"]
    who = await blocking(department_principal, ctx, request, department)
    rows = await blocking(list_cases, r, who, department, purpose_of(request, "casework"))
    return JSONResponse({"department": department, "cases": rows})


async def department_show(request: Request) -> Response:
    _, r = _ctx(request)
    department, case_id = request.path_params["dept"], request.path_params["case"]
    purpose = purpose_of(request, "casework")
    coding = preferred_coding(request.headers.get("accept-encoding"))
    answer = await remembered_case_answer(r, request, department, case_id, purpose, coding)
    if answer is None:
        answer = await blocking(department_case_answer, r, request, department, case_id, purpose, coding)
    return answer.response()


async def department_search(request: Request) -> Response:
    ctx, r = _ctx(request)
    department = request.path_params["dept"]
    who = await blocking(department_principal, ctx, request, department)
    cpr, purpose = search_body(await read_body(request, SEARCH_BODY_LIMIT))
    rows = await blocking(search_cpr, r, who, department, cpr, purpose)
    return JSONResponse({"department": department, "cases": rows})


async def audit_replay(request: Request) -> Response:
    ctx, r = _ctx(request)
    who = await blocking(auditor, ctx, request)
    as_of = parse_moment(request.query_params.get("as_of"), r.now())
    body = await blocking(audit_case, r, who, request.path_params["case"], as_of, purpose_of(request, "audit"))
    return JSONResponse(body)


async def audit_access_log(request: Request) -> Response:
    ctx, r = _ctx(request)
    who = await blocking(auditor, ctx, request)
    case_id = request.query_params.get("case") or None
    rows = await blocking(access_entries, r, who, case_id, _limit(request), purpose_of(request, "audit"))
    return JSONResponse({"case": case_id, "entries": rows})


async def audit_exceptions(request: Request) -> Response:
    ctx, r = _ctx(request)
    who = await blocking(auditor, ctx, request)
    case_id = request.query_params.get("case") or None
    rows = await blocking(exception_rows, r, who, case_id, purpose_of(request, "audit"))
    return JSONResponse({"exceptions": rows})


async def audit_processing(request: Request) -> Response:
    ctx, r = _ctx(request)
    await blocking(auditor, ctx, request)
    retention = {
        "cases_years_after_closing": dict(r.retention_years),
        "access_log_days": r.access_retention.days,
    }
    return JSONResponse(await blocking(records_of_processing, ctx.log, retention))


async def audit_retention(request: Request) -> Response:
    ctx, r = _ctx(request)
    await blocking(auditor, ctx, request)
    now = parse_moment(request.query_params.get("as_of"), r.now())
    return JSONResponse(await blocking(retention_report, r, now))


async def citizen_file(request: Request) -> Response:
    ctx, r = _ctx(request)
    who = await blocking(principal, ctx, request)
    withhold = request.query_params.get("withhold_staff", "").lower() in ("1", "true", "yes")
    body = await blocking(
        export_case,
        r,
        who,
        request.path_params["case"],
        request.query_params.get("person") or None,
        withhold,
        purpose_of(request, "right of access"),
    )
    return JSONResponse(body)


def api_routes() -> list[BaseRoute]:
    return [
        Route("/v1/departments/{dept}/cases/{case}", department_show, methods=["GET"]),
        Route("/v1/departments/{dept}/cases", department_list, methods=["GET"]),
        Route("/v1/departments/{dept}/search", department_search, methods=["POST"]),
        Route("/v1/audit/cases/{case}", audit_replay, methods=["GET"]),
        Route("/v1/audit/access-log", audit_access_log, methods=["GET"]),
        Route("/v1/audit/exceptions", audit_exceptions, methods=["GET"]),
        Route("/v1/audit/processing", audit_processing, methods=["GET"]),
        Route("/v1/audit/retention", audit_retention, methods=["GET"]),
        Route("/v1/citizens/{case}/export", citizen_file, methods=["GET"]),
    ]


def routes(ctx: ServerContext) -> list[BaseRoute]:
    """The reading routes and the staff and auditor pages, for `server.app.create_app`."""
    from server import pages

    Reading.of(ctx)
    return [*api_routes(), *pages.routes(ctx)]
