"""Anonymous first, identified later: what a department may see of a linked history.

A drop-in centre records a person's contacts under a *pseudonymous* case (a pseudonym,
no CPR number). When the person chooses to be identified and consents, a `case.linked`
event in the identified case names the pseudonymous case, the person in each, and the
consent. A department then sees, beside the identified case, the pseudonymous history up
to the moment of linking, judged by the same rules as the case itself
(`core.visibility`): only a party to the identified case sees anything; it sees what it
recorded itself (`own`), and the rest only while the linked consent names it, is in
force (withdrawn or lapsed at 18, it shows nothing more) and covers every category of
the event (`consent`).

The history stays in its own stream, under its own key and sequence, and is shown as a
separate list named by its case: merging it into the identified case's timeline would
renumber neither chain, but would make a reader take contacts recorded before anyone
knew who the person was for the identified case's own record.

A link is honoured only when the case it names is pseudonymous and the department that
linked it was a party to that case when linking: naming another case's id gives no one
its history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from core import events as ev
from core.case import CaseState, Consent, Link, fold
from core.records import Record
from core.visibility import active_consents

#: Events of a pseudonymous case that are never shown as linked history: who the
#: pseudonym is, consents and shares of that case, erasure and conflict bookkeeping.
NOT_HISTORY = (
    ev.CaseOpened,
    ev.CaseErased,
    ev.PersonAdded,
    ev.PersonCorrected,
    ev.ConsentGiven,
    ev.ConsentWithdrawn,
    ev.SharedOnLegalBasis,
    ev.ErasureRequested,
    ev.ErasureDecided,
    ev.ConflictFlagged,
    ev.ConflictResolved,
    ev.CaseLinked,
)


class LinkedSeen(Record, kw_only=False):
    """One event of a linked history a department may see, and on which grounds."""

    link_id: str
    linked_case: str
    seq: int
    event: ev.CaseEvent
    basis: str
    grounds: tuple[str, ...] = ()


def honoured(link: Link, linked: CaseState) -> bool:
    """Whether a link may show its history: the linked case is pseudonymous and not
    erased, and the linking department was a party to it when linking."""
    return (
        linked.kind == "pseudonymous" and linked.status != "erased" and linked.is_party(link.department, link.linked_at)
    )


def linked_view(
    state: CaseState,
    histories: Mapping[str, Sequence[ev.CaseEvent]],
    department: str,
    at: datetime,
) -> list[LinkedSeen] | None:
    """The linked histories of the identified case `state` that `department` may see at
    `at`, or None when it is not a party to the case then. `histories` holds the events
    of each linked case (a missing or erased one shows nothing)."""
    if state.status == "erased" or not state.is_party(department, at):
        return None
    consents = {c.consent_id: c for c in active_consents(state, department, at)}
    seen: list[LinkedSeen] = []
    for link in state.links.values():
        events = histories.get(link.linked_case)
        if link.linked_at > at or events is None or not honoured(link, fold(link.linked_case, events)):
            continue
        seen.extend(_history(link, events, department, consents.get(link.consent_id)))
    return seen


def _history(link: Link, events: Sequence[ev.CaseEvent], department: str, consent: Consent | None) -> list[LinkedSeen]:
    seen = []
    for seq, e in enumerate(events, start=1):
        if isinstance(e, NOT_HISTORY) or e.occurred_at > link.linked_at:
            continue
        if e.department == department:
            seen.append(LinkedSeen(link.link_id, link.linked_case, seq, e, "own"))
        elif consent is not None and e.categories and set(e.categories) <= set(consent.categories):
            seen.append(LinkedSeen(link.link_id, link.linked_case, seq, e, "consent", (consent.consent_id,)))
    return seen
