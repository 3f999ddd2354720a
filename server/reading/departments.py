"""JSON endpoints of the department views.

    GET /v1/departments/{dept}/cases            the cases the department is a party to
    GET /v1/departments/{dept}/cases/{case}     the case as the department may see it now
    POST /v1/departments/{dept}/search          cases with a person of a CPR number (JSON body)

A department's routes answer 403 to a token of another department and 404 for a case
the department may not see, in the very same words as for a case that does not exist.
Every read of a case, list or search appends an access-log entry (rule 8), also a refused
one, and is answered only once that entry is committed (503 when it cannot be). A search
takes its purpose from its body, so the CPR number is never in a URL or a log line.

A case view is answered from the view cache (`server.view_cache`: the encoded JSON of the
view judged earlier, while it cannot have changed): on the event loop itself when
everything it needs is in memory (`remembered_case_answer`), otherwise with its token
check, view and access-log entry in one trip to the thread pool; compressed once per
judged view for clients that accept it (`server.compression`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.errors import InvalidInput
from server.auth import read_body, remembered_principal
from server.compression import MIN_SIZE, CompressedParts, preferred_coding
from server.reading.queries import is_case_id, list_cases, not_visible, search_cpr, staff_of
from server.reading.requests import department_principal, purpose_of, services
from server.reading.service import Reading
from server.store import Principal
from server.view_cache import JudgedView

SEARCH_BODY_LIMIT = 4096  # bytes; a CPR number and a purpose


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
    """The case view (`server.reading.queries.show_case`) as encoded JSON, from the view
    cache when the judged view still holds, compressed in `coding` when it is large
    enough to gain by it."""
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
    Same answer, same access-log entry (awaited: committed before the answer is sent); a
    token of another department is refused here as there.
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
    await r.access.record_async(who.subject, department, case_id, "department-case", purpose)
    return CaseAnswer(view, at, coding, parts)


def department_case_answer(
    r: Reading, request: Request, department: str, case_id: str, purpose: str, coding: str | None
) -> CaseAnswer:
    """The token check and the case view of one request, for one trip to the thread pool."""
    who = department_principal(r.ctx, request, department)
    return case_answer(r, who, department, case_id, purpose, coding)


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


async def department_list(request: Request) -> Response:
    ctx, r = services(request)
    department = request.path_params["dept"]
    who = await run_in_threadpool(department_principal, ctx, request, department)
    rows = await run_in_threadpool(list_cases, r, who, department, purpose_of(request, "casework"))
    return JSONResponse({"department": department, "cases": rows})


async def department_show(request: Request) -> Response:
    _, r = services(request)
    department, case_id = request.path_params["dept"], request.path_params["case"]
    purpose = purpose_of(request, "casework")
    coding = preferred_coding(request.headers.get("accept-encoding"))
    answer = await remembered_case_answer(r, request, department, case_id, purpose, coding)
    if answer is None:
        answer = await run_in_threadpool(department_case_answer, r, request, department, case_id, purpose, coding)
    return answer.response()


async def department_search(request: Request) -> Response:
    ctx, r = services(request)
    department = request.path_params["dept"]
    who = await run_in_threadpool(department_principal, ctx, request, department)
    cpr, purpose = search_body(await read_body(request, SEARCH_BODY_LIMIT))
    rows = await run_in_threadpool(search_cpr, r, who, department, cpr, purpose)
    return JSONResponse({"department": department, "cases": rows})
