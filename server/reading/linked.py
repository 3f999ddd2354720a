"""The linked histories of an identified case, as one department may see them now.

    GET /v1/departments/{dept}/cases/{case}/linked

The contacts and work recorded under a pseudonymous case before the person was
identified, linked to this case by a `case.linked` event and the consent it names, judged
at the moment of reading by `core.linked` (party to this case; own work, or the linked
consent in force, naming the department and covering the event's categories). Kept
apart from the case's own timeline and not cached: a linked case can grow, and a
consent be withdrawn, without the identified case changing. Every read is in the access
log (`department-linked`), a refused one too; 404 in the same words as for a case the
department may not see.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.case_cache import CachedCase
from core.case_view import event_json
from core.errors import CaseErased, KeyNotHeld
from core.linked import linked_view
from server.reading.queries import is_case_id, not_visible
from server.reading.requests import department_principal, purpose_of, services
from server.reading.service import Reading
from server.store import Principal

VIEW = "department-linked"


def _case(r: Reading, case_id: str) -> CachedCase | None:
    """The case in memory; None for text that is no case id, an unknown or erased case."""
    if not is_case_id(case_id):
        return None
    try:
        return r.cache.get(case_id)
    except (KeyNotHeld, CaseErased):
        return None


def linked_history(r: Reading, who: Principal, department: str, case_id: str, purpose: str) -> dict[str, Any]:
    """The linked histories of a case that `department` may see now; NotFound when it may
    see nothing of the case. The look is logged either way."""
    at = r.now()
    case = _case(r, case_id)
    seen = None
    if case is not None:
        histories = {}
        for link in case.state.links.values():
            linked = _case(r, link.linked_case)
            if linked is not None:
                histories[link.linked_case] = linked.events
        seen = linked_view(case.state, histories, department, at)
    if case is None or seen is None:
        r.access.record(who.subject, department, case_id, VIEW, purpose, "refused")
        raise not_visible(case_id)
    r.access.record(who.subject, department, case_id, VIEW, purpose)
    shown = {s.link_id for s in seen}
    return {
        "case": case_id,
        "department": department,
        "as_of": at.isoformat(),
        "links": [
            {"link": k.link_id, "linked_case": k.linked_case, "person": k.person_id, "consent": k.consent_id}
            for k in case.state.links.values()
            if k.link_id in shown
        ],
        "events": [
            {
                "linked_case": s.linked_case,
                "seq": s.seq,
                "basis": s.basis,
                "grounds": list(s.grounds),
                **event_json(s.event),
            }
            for s in seen
        ],
    }


async def department_linked(request: Request) -> Response:
    ctx, r = services(request)
    department, case_id = request.path_params["dept"], request.path_params["case"]
    who = await run_in_threadpool(department_principal, ctx, request, department)
    body = await run_in_threadpool(linked_history, r, who, department, case_id, purpose_of(request, "casework"))
    return JSONResponse(body)
