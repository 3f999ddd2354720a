"""The work of each read, shared by the JSON endpoints, the pages and the commands.

Each function takes the process's `Reading` services and the caller already checked
(a `Principal`: a department's staff member or an auditor), does the read and appends
its access-log entry (rule 8), also for a refused look; the entry is committed before the
function returns what was read (`AccessLogUnwritable`, and nothing of the case, when it
cannot be). A case the department may not see is answered in the very same words as a
case that does not exist (`not_visible`).
Nothing here knows of HTTP, so the commands that act on a data folder answer exactly
as the server does.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, tzinfo
from typing import Any

from core.audit import citizen_export, exceptions, records_of_processing, replay
from core.case_index import CaseRow, cases_by_id, department_cases
from core.case_view import case_json, department_case
from core.cpr_index import search
from core.errors import CaseErased, InvalidInput, KeyNotHeld
from core.retention import due_cases, overdue_requests
from core.sealing import from_micros
from core.verify import Report
from server.errors import Forbidden, NotFound
from server.reading.service import Reading
from server.store import Principal

AUDITOR = "auditor"
MANAGEMENT = "management"
#: Who may verify the integrity of the whole log.
AUDIT_ROLES = frozenset({AUDITOR, "admin"})


def parse_moment(text: str | None, default: datetime, zone: tzinfo = UTC) -> datetime:
    """An ISO 8601 moment; one without a zone is in `zone` (UTC for the API, Copenhagen
    time on the pages), and a date alone means the end of that day there. InvalidInput
    otherwise."""
    if not text:
        return default
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise InvalidInput("as_of must be an ISO 8601 time such as 2026-03-01T12:00:00+00:00") from None
    if len(text.strip()) == 10:
        moment = moment.replace(hour=23, minute=59, second=59, microsecond=999_999)
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


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


def staff_of(who: Principal, department: str) -> Principal:
    """`who` when it is a staff member of `department`; Forbidden otherwise (also for
    management, which sees the aggregate reports only, never a case)."""
    if who.department != department or who.is_admin or who.role == MANAGEMENT:
        raise Forbidden(f"this token is not a staff token of department {department}")
    return who


def row_json(row: CaseRow) -> dict[str, Any]:
    """A row of the case index as JSON: ids, status and times, no personal data."""
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


def list_cases(r: Reading, who: Principal, department: str, purpose: str) -> list[dict[str, Any]]:
    """The cases `department` is a party to now, newest activity first."""
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
    rows = [{**row_json(row), "persons": persons[row.case_id]} for row in cases_by_id(r.ctx.log, list(persons))]
    cases = [row["case"] for row in rows] or [None]
    r.access.write([r.access.entry(who.subject, department, c, "department-search", purpose) for c in cases])
    return rows


def show_case(r: Reading, who: Principal, department: str, case_id: str, purpose: str) -> dict[str, Any]:
    """The case as `department` may see it now; NotFound when it may see nothing."""
    view = (
        department_case(r.cache, case_id, department, r.ctx.store.directory(), r.now()) if is_case_id(case_id) else None
    )
    if view is None:
        r.access.record(who.subject, department, case_id, "department-case", purpose, "refused")
        raise not_visible(case_id)
    r.access.record(who.subject, department, case_id, "department-case", purpose)
    return case_json(view)


def audit_case(r: Reading, who: Principal, case_id: str, as_of: datetime, purpose: str) -> dict[str, Any]:
    """The auditor's replay: the case and each department's view as of `as_of`."""
    try:
        result = replay(r.ctx.log, r.ctx.store.directory(), case_id, as_of) if is_case_id(case_id) else None
    except KeyNotHeld:
        result = None
    if result is None or (not result.events and not r.ctx.log.has_key(case_id)):
        r.access.record(who.subject, who.department, case_id, "audit-replay", purpose, "refused")
        raise NotFound(f"no case {case_id} is held in the log")
    r.access.record(who.subject, who.department, case_id, "audit-replay", purpose)
    return result.as_json()


def access_entries(
    r: Reading, who: Principal, case_id: str | None, limit: int, purpose: str, **only: Any
) -> list[dict[str, Any]]:
    """Who looked at what (one case, or all), newest first; the look itself is logged too.
    `only` narrows further as `AccessLog.entries` does (worker, department, since, until,
    after an entry)."""
    r.access.record(who.subject, who.department, case_id, "audit-access-log", purpose)
    return [a.as_json() for a in r.access.entries(case_id, limit=limit, **only)]


def exception_rows(r: Reading, who: Principal, case_id: str | None, purpose: str) -> list[dict[str, Any]]:
    """Every share made on a legal basis without consent (rule 3), of one case or all."""
    r.access.record(who.subject, who.department, case_id, "audit-exceptions", purpose)
    if case_id is not None and not is_case_id(case_id):
        return []
    return [row.as_json() for row in exceptions(r.ctx.log, case_id)]


#: A right-of-access request's reference, as the municipality's journal gives it:
#: letters, digits and . _ / : - after a letter or digit, at most 64 characters.
REQUEST_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:-]{0,63}")
RIGHT_OF_ACCESS = "right of access"
_UNNAMED = "a citizen's file is exported only to answer a right-of-access request: name it in request="


def request_reference(text: str | None) -> str:
    """The reference of the right-of-access request an export answers; InvalidInput when
    it is missing or not of the reference's shape (never echoed: it is the caller's text)."""
    if not text:
        raise InvalidInput(_UNNAMED)
    if not REQUEST_REFERENCE.fullmatch(text):
        raise InvalidInput(
            "request must be the right-of-access request's reference: 1 to 64 letters, digits and . _ / : -, "
            "starting with a letter or digit"
        )
    return text


def export_case(
    r: Reading, who: Principal, case_id: str, person: str | None, withhold: bool, request: str | None
) -> dict[str, Any]:
    """A citizen's own file, for the auditor who answers the right-of-access request
    `request` names. Anyone else, the case's own staff too, is refused (Forbidden), and a
    request without a well-formed reference (InvalidInput); either refusal is logged. The
    access-log entry names the request and is committed before the file is returned."""
    if who.role != AUDITOR:
        r.access.record(who.subject, who.department, case_id, "citizen-export", RIGHT_OF_ACCESS, "refused")
        raise Forbidden("a citizen's file is exported only by an auditor, to answer a right-of-access request")
    try:
        purpose = f"{RIGHT_OF_ACCESS} request {request_reference(request)}"
    except InvalidInput:
        r.access.record(who.subject, who.department, case_id, "citizen-export", RIGHT_OF_ACCESS, "refused")
        raise
    try:
        state = r.cache.get(case_id).state if is_case_id(case_id) else None
    except (KeyNotHeld, CaseErased):
        state = None
    if state is None or (person is not None and person not in state.persons):
        r.access.record(who.subject, who.department, case_id, "citizen-export", purpose, "refused")
        if state is None:
            raise not_visible(case_id)
        raise NotFound(f"person {person} is not part of case {case_id}")
    r.access.record(who.subject, who.department, case_id, "citizen-export", purpose)
    return citizen_export(r.ctx.log, case_id, r.access.entries(case_id, limit=10_000), person, withhold_staff=withhold)


def retention_report(r: Reading, now: datetime) -> dict[str, Any]:
    """Erasure requests undecided too long and cases past their retention, as of `now`."""
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


def processing_record(r: Reading) -> dict[str, Any]:
    """The record of processing activities, with the retention settings in force."""
    retention = {
        "cases_years_after_closing": dict(r.retention_years),
        "access_log_days": r.access_retention.days,
    }
    return records_of_processing(r.ctx.log, retention)


def report_json(report: Report) -> dict[str, Any]:
    """The integrity report of the whole log as JSON: each problem by case, position and
    sequence (it needs no case key, so erased cases verify too)."""
    return {
        "ok": report.ok,
        "events": report.events,
        "cases": report.cases,
        "batches": report.batches,
        "problems": [
            {"case": p.case_id, "position": p.position, "seq": p.seq, "problem": p.problem} for p in report.problems
        ],
    }
