"""What a department takes to its next status meeting, as JSON.

    GET /v1/departments/{dept}/clashes     the open clashes of the cases it is a party to
    GET /v1/departments/{dept}/deadlines   statutory meetings due and overdue, services ending at 18

Both are judged on what the department may see of each case now (a clash it is not
involved in, or a birth date it has no consent to see, is not there). Each case that
answers something gets an access-log entry (rule 8), or one entry without a case when
none did; the entries are committed before the answer is sent.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core import events as ev
from core.case_index import department_cases
from core.case_view import DepartmentCase, department_case
from core.deadlines import DUE_WITHIN, case_deadlines, sorted_deadlines
from core.errors import InvalidInput
from server.reading.requests import department_principal, purpose_of, services
from server.reading.service import Reading
from server.store import Principal


def _views(r: Reading, department: str) -> list[DepartmentCase]:
    r.caught_up()
    directory, at = r.ctx.store.directory(), r.now()
    found = (
        department_case(r.cache, row.case_id, department, directory, at)
        for row in department_cases(r.ctx.log, department)
    )
    return [v for v in found if v is not None]


def _logged(r: Reading, who: Principal, department: str, view_name: str, purpose: str, cases: list[str]) -> None:
    entries = [r.access.entry(who.subject, department, c, view_name, purpose) for c in dict.fromkeys(cases)]
    r.access.write(entries or [r.access.entry(who.subject, department, None, view_name, purpose)])


def open_clashes(r: Reading, who: Principal, department: str, purpose: str) -> list[dict[str, Any]]:
    """The open clashes the department is involved in, oldest first, with their reasons."""
    rows: list[dict[str, Any]] = []
    for view in _views(r, department):
        for s in view.seen:
            e = s.event
            if isinstance(e, ev.ClashFlagged) and not view.partial.clashes[e.clash_id].resolved:
                rows.append(
                    {
                        "case": view.case_id,
                        "clash": e.clash_id,
                        "between": list(e.items),
                        "reason": e.reason,
                        "flagged_by": e.department,
                        "flagged_at": e.occurred_at.isoformat(),
                    }
                )
    rows.sort(key=lambda x: str(x["flagged_at"]))
    _logged(r, who, department, "department-clashes", purpose, [x["case"] for x in rows])
    return rows


def deadlines(
    r: Reading, who: Principal, department: str, purpose: str, within: timedelta, coordinator: str | None
) -> list[dict[str, Any]]:
    """The deadlines of the cases the department is a party to (only those `coordinator`
    coordinates, when named), overdue first."""
    today = r.now().date()
    found = [
        d
        for view in _views(r, department)
        for d in case_deadlines(view.partial, today, within)
        if coordinator is None or d.coordinator == coordinator
    ]
    rows = [d.as_json() for d in sorted_deadlines(found)]
    _logged(r, who, department, "department-deadlines", purpose, [x["case"] for x in rows])
    return rows


def within_of(request: Request) -> timedelta:
    text = request.query_params.get("within")
    if text is None:
        return DUE_WITHIN
    if not text.isdigit() or int(text) > 3660:
        raise InvalidInput("within is a number of days from 0 to 3660")
    return timedelta(days=int(text))


async def department_clashes(request: Request) -> Response:
    ctx, r = services(request)
    department = request.path_params["dept"]
    who = await run_in_threadpool(department_principal, ctx, request, department)
    rows = await run_in_threadpool(open_clashes, r, who, department, purpose_of(request, "status meeting"))
    return JSONResponse({"department": department, "clashes": rows})


async def department_deadlines(request: Request) -> Response:
    ctx, r = services(request)
    department = request.path_params["dept"]
    within = within_of(request)
    coordinator = request.query_params.get("coordinator")
    who = await run_in_threadpool(department_principal, ctx, request, department)
    purpose = purpose_of(request, "statutory deadlines")
    rows = await run_in_threadpool(deadlines, r, who, department, purpose, within, coordinator)
    return JSONResponse({"department": department, "within_days": within.days, "deadlines": rows})
