"""What the app's pages show of the laptop's cases, read from the worker's case views.

A caseload row names a case by its persons, with what a worker looks for before a
visit: the last contact, the next statutory meeting or due date, what waits to be sent, what the last sync
brought and the conflicts waiting for the coordinator. The search matches a name, a CPR
number (with or without its dash) or a date of birth written as Danes write it or as
ISO. The case page's document is `case show`'s (`client.commands.show.case_document`)
with the meetings, the timeline in words and what the laptop may not show.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from client.commands.show import case_document
from client.laptop import CaseView
from core import events as ev
from core import words
from core.deadlines import case_deadlines
from core.errors import InvalidInput


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _birth_date(text: str) -> date | None:
    try:
        return ev.parse_date(text)
    except InvalidInput:
        return None


def matches(view: CaseView, query: str) -> bool:
    """Whether a person of the case has `query` in their name, is its CPR number, or was
    born on the date it names."""
    wanted = " ".join(query.split()).casefold()
    if not wanted:
        return True
    born, digits = _birth_date(wanted), _digits(wanted)
    for p in view.state.persons.values():
        if wanted in p.name.casefold():
            return True
        if p.cpr and len(digits) == 10 and _digits(p.cpr) == digits:
            return True
        if born is not None and p.born() == born:
            return True
    return False


def _last_contact(view: CaseView) -> datetime | None:
    moments = [e.occurred_at for e, _ in view.events if isinstance(e, ev.ContactRecorded)]
    return max(moments, default=None)


def _next_due(view: CaseView, today: date) -> tuple[date, str] | None:
    """The next date the case waits for: a statutory meeting due or overdue (`core.deadlines`),
    or an open goal's due date, today or later."""
    due = [(d.due, words.word(d.what)) for d in case_deadlines(view.state, today)]
    due += [(g.due, g.text) for g in view.state.goals.values() if g.due and not g.closed and g.due >= today]
    return min(due, default=None)


def caseload_row(view: CaseView, changed: int, today: date) -> dict[str, Any]:
    """One case of the caseload, as its row."""
    s = view.state
    return {
        "case": s.case_id,
        "kind": s.kind,
        "status": s.status,
        "names": [p.name for p in s.persons.values()],
        "last_contact": _last_contact(view),
        "next_due": _next_due(view, today),
        "pending": len(view.pending),
        "changed": changed,
        "conflicts": sum(1 for resolved in s.conflicts.values() if not resolved),
        "withheld": view.veiled + view.hidden,
    }


def _meetings(view: CaseView) -> list[dict[str, Any]]:
    return [
        {**e.payload(), "occurred_at": e.occurred_at, "pending": pending}
        for e, pending in view.events
        if isinstance(e, ev.MeetingHeld)
    ]


def _timeline(
    view: CaseView, names: dict[str, str], departments: dict[str, str], synced_from: int | None, device: str
) -> list[dict[str, Any]]:
    """The case's events in words, newest first (told once here, not per template call);
    `new` marks what the last sync brought from others (past the case sequence
    `synced_from`, recorded on another device than this laptop, `device`)."""
    seqs = view.state.event_ids
    since = -1 if synced_from is None else synced_from
    return [
        {
            "at": e.occurred_at.isoformat(),
            "when": words.when(e.occurred_at),
            "what": words.event_kind(e.header.topic),
            "by": f"{e.header.author} ({departments.get(e.department, e.department)})",
            "details": words.told(e.payload(), names),
            "pending": pending,
            "new": since >= 0 and not pending and e.header.device != device and seqs.get(e.event_id, 0) > since,
        }
        for e, pending in reversed(view.events)
    ]


def case_page(
    view: CaseView, today: date, departments: dict[str, str], synced_from: int | None = None, device: str = ""
) -> dict[str, Any]:
    """Everything the case page shows, as one document (`departments`: id -> name;
    `synced_from`: the case sequence before the last sync, when it brought anything;
    `device`: this laptop's, whose own events are not news)."""
    doc = case_document(view)
    names = {p["person"]: p["name"] for p in doc["persons"]}
    by_id = {e.event_id: e for e, _ in view.events}
    for c in doc["conflicts"]:
        c["versions"] = [
            {"kind": by_id[i].header.topic, "payload": by_id[i].payload(), "author": by_id[i].header.author}
            for i in c["events"]
            if i in by_id
        ]
        c["hidden_versions"] = sum(1 for i in c["events"] if i not in by_id)
    given = {e.consent_id: e for e, _ in view.events if isinstance(e, ev.ConsentGiven)}
    for consent in doc["consents"]:
        withdrawn = consent["withdrawn"]
        consent["in_force"] = withdrawn is None and consent["valid_until"] >= today
        shown = given.get(consent["consent"])
        consent["text"] = shown.text if shown else ""
        consent["text_sha256"] = shown.text_sha256 if shown else ""
    doc["goal_due"] = {g.goal_id: g.due for g in view.state.goals.values()}
    doc["meetings"] = _meetings(view)
    doc["names"] = names
    doc["title"] = (
        ", ".join(names.values())
        or f"{words.word(view.state.kind) if view.state.kind else words.t('withheld')} {view.state.case_id[:8]}"
    )
    doc["timeline"] = _timeline(view, names, departments, synced_from, device)
    doc["open_conflicts"] = [c for c in doc["conflicts"] if c["status"] == "open"]
    return doc
