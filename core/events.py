"""The event catalogue: every fact a case can hold, as typed, immutable events.

An event has a *header* that stays readable (what the log needs to route, order and
attribute it: ids, type, author, device, department, times) and a *payload* that is only
ever stored sealed under the case key (names, CPR numbers, notes, and everything else
about the persons). Each class has a stable ``TOPIC`` and ``class_version``; renaming a
class never changes what is stored.

The information categories are what consent is judged against (rule 2): an event is
shown to another department only when a consent or a legal basis covers every category
it carries.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import (
    Any,
    ClassVar,
    Concatenate,
    Generic,
    NamedTuple,
    ParamSpec,
    TypeVar,
    cast,
)

from core.errors import CodecError, InvalidField, InvalidInput
from core.records import MISSING, Record, field

CATEGORIES: tuple[str, ...] = (
    "identity",
    "contact",
    "plan",
    "health",
    "addiction",
    "finances",
    "employment",
    "education",
    "family",
    "decision",
)
SPECIAL_CATEGORIES: frozenset[str] = frozenset({"health", "addiction"})
PERSON_ROLES = ("citizen", "parent", "child", "guardian", "trusted-adult")
CUSTODY_ROLES = frozenset({"parent", "guardian"})
CONTACT_KINDS = ("home-visit", "drop-in", "street-outreach", "phone", "meeting", "digital")
MEETING_KINDS = (
    "assessment",
    "analysis",
    "status",
    "network",
    "ssd",
    "ssp",
    "statutory-16",
    "statutory-17.5",
    "statutory-18",
)
#: What a statutory meeting of the transition to adult life goes through (the checklist).
MEETING_CHECKLIST = (
    "young-person-heard",
    "housing",
    "education-or-work",
    "finances",
    "health",
    "network",
    "support-after-18",
)
DECISION_KINDS = ("grant", "refusal", "sanction", "payment-stop", "allowance", "one-off-payment")
ROLES = ("outreach", "caseworker", "coordinator", "auditor", "admin", "management", "server")
#: `pseudonymous`: a person known by a pseudonym only (no CPR number, no birth date), as a
#: drop-in centre keeps them until they choose to be identified; `tally`: a centre's
#: anonymous counts of contacts, with no person at all.
CASE_KINDS = ("citizen", "family", "pseudonymous", "tally")


def new_id() -> str:
    """A fresh random id (UUID4, as text) for a case, person, consent, goal ..."""
    return str(uuid.uuid4())


def new_event_id() -> str:
    """A fresh, time-ordered id for an event (UUID version 7, RFC 9562).

    48 bits of milliseconds then 74 random bits: ids made later sort later, so the log's
    idempotency index grows at its end instead of scattering writes over the whole
    B-tree. It reveals no more than the header's recorded time, which is readable anyway.
    """
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & (2**48 - 1)) << 80 | 0x7 << 76 | ((rand >> 62) & 0xFFF) << 64 | 0b10 << 62 | (rand & (2**62 - 1))
    return str(uuid.UUID(int=value))


def check_categories(categories: tuple[str, ...], what: str = "categories") -> tuple[str, ...]:
    """Return the categories if every one is in the catalogue, else raise InvalidInput."""
    unknown = [c for c in categories if c not in CATEGORIES]
    if unknown:
        raise InvalidInput(f"unknown information {what} {', '.join(sorted(unknown))}; use {', '.join(CATEGORIES)}")
    return categories


class Header(NamedTuple):
    """The readable part of an event: enough to route, order and attribute it.

    A named tuple: immutable, and built once per event read on the replay path.
    """

    event_id: str
    case_id: str
    topic: str
    class_version: int
    author: str
    role: str
    department: str
    device: str
    occurred_at: datetime
    recorded_at: datetime
    seen_seq: int
    key_id: str


class CaseEvent(Record):
    """Base of all case events. Subclasses add payload fields and a stable TOPIC."""

    TOPIC: ClassVar[str] = ""
    class_version: ClassVar[int] = 1
    DEFAULT_CATEGORIES: ClassVar[tuple[str, ...]] = ("plan",)
    _codec: ClassVar[tuple[tuple[str, Any, Any], ...]] = ()
    _defaults: ClassVar[dict[str, Any]] = {}

    # Positional, so that `payload(cls, ...)` can be typed as "the constructor after the header".
    header: Header = field(kw_only=False)
    persons: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    # -- convenience accessors for the header --------------------------------------------
    @property
    def event_id(self) -> str:
        return self.header.event_id

    @property
    def case_id(self) -> str:
        return self.header.case_id

    @property
    def department(self) -> str:
        return self.header.department

    @property
    def occurred_at(self) -> datetime:
        return self.header.occurred_at

    def payload(self) -> dict[str, Any]:
        """The sealed part as plain msgpack-able values."""
        return {name: enc(getattr(self, name)) for name, enc, _ in self._codec}

    @classmethod
    def from_payload(cls, header: Header, payload: dict[str, Any]) -> CaseEvent:
        """Rebuild an event from its header and decoded payload; raise CodecError if malformed.

        Replay builds one of these per event, so it fills the instance directly (as the
        eventsourcing library's mapper does) instead of going through the frozen
        record's ``__init__``; required fields are still required.
        """
        values = dict(cls._defaults)
        try:
            for name, _, dec in cls._codec:
                if name in payload:
                    values[name] = dec(payload[name])
                elif name not in values:
                    raise KeyError(name)
        except (TypeError, ValueError, KeyError) as exc:
            raise CodecError(f"payload of a {cls.TOPIC} event is malformed") from exc
        values["header"] = header
        event = object.__new__(cls)
        event.__dict__.update(values)
        return event


def _identity(v: Any) -> Any:
    return v


def _tuple(v: Any) -> tuple[Any, ...]:
    if not isinstance(v, (list, tuple)):
        raise TypeError("expected a list")
    return tuple(v)


def _enc_date(v: date | None) -> str | None:
    return None if v is None else v.isoformat()


def _dec_date(v: str | None) -> date | None:
    return None if v is None else date.fromisoformat(v)


def _dict(v: Any) -> MappingProxyType[str, Any]:
    if not isinstance(v, dict):
        raise TypeError("expected a map")
    return MappingProxyType(dict(v))


_REGISTRY: dict[str, type[CaseEvent]] = {}


def _codec_for(annotation: Any) -> tuple[Any, Any]:
    """The payload encoder and decoder for a field, from its annotation as written.

    The catalogue's annotations are strings (``from __future__ import annotations``) of a
    few shapes, read here as text rather than evaluated with ``get_type_hints``, which
    would cost every command a measurable part of its start-up.
    """
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", repr(annotation))
    kinds = {part.strip() for part in text.split("|")}
    if "date" in kinds:
        return _enc_date, _dec_date
    if any(k.startswith("tuple[") for k in kinds):
        return list, _tuple
    if any(k.startswith("MappingProxyType[") for k in kinds):
        return dict, _dict
    return _identity, _identity


def catalogue(cls: type[CaseEvent]) -> type[CaseEvent]:
    """Register an event class under its TOPIC and prepare its payload codec."""
    if not cls.TOPIC or cls.TOPIC in _REGISTRY:
        raise TypeError(f"{cls.__name__} needs a unique TOPIC")
    fields = [f for f in cls._fields if f.name != "header"]
    cls._codec = tuple((f.name, *_codec_for(f.type)) for f in fields)
    cls._defaults = {
        f.name: f.default if f.factory is MISSING else f.factory()
        for f in fields
        if f.default is not MISSING or f.factory is not MISSING
    }
    _REGISTRY[cls.TOPIC] = cls
    return cls


def check_fields(cls: type[CaseEvent], names: Iterable[str]) -> None:
    """InvalidField (an InvalidInput) naming the first field that an event of `cls` does
    not have, or the first one it needs that is not among `names`."""
    given = set(names)
    known = {name for name, _, _ in cls._codec}
    unknown = sorted(given - known)
    if unknown:
        raise InvalidField(
            f"a {cls.TOPIC} event has no field {unknown[0]!r}; its fields are {', '.join(sorted(known))}"
        )
    missing = [name for name, _, _ in cls._codec if name not in given and name not in cls._defaults]
    if missing:
        raise InvalidField(f"a {cls.TOPIC} event needs the field {missing[0]!r}")


E = TypeVar("E", bound="CaseEvent")
P = ParamSpec("P")


class Payload(Record, Generic[E]):
    """What a command says of a new event: its kind and its fields, before it has a header.

    Built with `payload`, which mypy checks against the event class's own fields.
    """

    kind: type[E] = field(kw_only=False)
    fields: Mapping[str, Any] = field(kw_only=False, repr=False)  # names, notes: never in a log line


def payload(cls: Callable[Concatenate[Header, P], E], /, *args: P.args, **fields: P.kwargs) -> Payload[E]:
    """The typed payload of a new event of `cls`: a misspelt or missing field is a mypy
    error here, and at run time an InvalidInput naming the field."""
    kind = cast(type[E], cls)
    if args:
        raise InvalidField(f"the fields of a {kind.TOPIC} event are given by name")
    check_fields(kind, fields)
    return Payload(kind, fields)


def event_class(topic: str) -> type[CaseEvent]:
    """The event class stored under a topic; CodecError when the topic is unknown."""
    try:
        return _REGISTRY[topic]
    except KeyError:
        raise CodecError(f"unknown event type {topic!r}") from None


def all_event_classes() -> tuple[type[CaseEvent], ...]:
    return tuple(_REGISTRY.values())


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- the case -------------------------------------------------------------------------


@catalogue
class CaseOpened(CaseEvent):
    TOPIC = "case.opened"
    DEFAULT_CATEGORIES = ("identity",)
    kind: str  # citizen | family
    lead_department: str
    reason: str = ""


@catalogue
class CaseClosed(CaseEvent):
    TOPIC = "case.closed"
    reason: str = ""


@catalogue
class CaseReopened(CaseEvent):
    TOPIC = "case.reopened"
    reason: str = ""


@catalogue
class CaseTransferred(CaseEvent):
    """From the child system to the adult system at 18, or between departments."""

    TOPIC = "case.transferred"
    from_department: str
    to_department: str
    reason: str = ""


@catalogue
class CaseErased(CaseEvent):
    """Header only: the case key was destroyed. Recorded by the server, never sealed."""

    TOPIC = "case.erased"
    DEFAULT_CATEGORIES = ()


# --- persons and team -----------------------------------------------------------------


@catalogue
class PersonAdded(CaseEvent):
    TOPIC = "person.added"
    DEFAULT_CATEGORIES = ("identity",)
    person_id: str
    role: str
    name: str
    cpr: str | None = None
    birth_date: date | None = None


@catalogue
class PersonCorrected(CaseEvent):
    TOPIC = "person.corrected"
    DEFAULT_CATEGORIES = ("identity",)
    person_id: str
    role: str | None = None
    name: str | None = None
    cpr: str | None = None
    birth_date: date | None = None


@catalogue
class CoordinatorAssigned(CaseEvent):
    TOPIC = "coordinator.assigned"
    worker: str
    coordinator_department: str
    reason: str = "intake"  # intake | handover | cover


@catalogue
class TeamMemberJoined(CaseEvent):
    TOPIC = "team.joined"
    member_department: str
    worker: str | None = None
    member_role: str = "caseworker"


@catalogue
class TeamMemberLeft(CaseEvent):
    TOPIC = "team.left"
    member_department: str
    worker: str | None = None


# --- consent, legal bases, erasure ------------------------------------------------------


@catalogue
class ConsentGiven(CaseEvent):
    TOPIC = "consent.given"
    DEFAULT_CATEGORIES = ()
    consent_id: str
    subject: str
    given_by: tuple[str, ...]
    recipients: tuple[str, ...]
    consent_categories: tuple[str, ...]
    purpose: str
    valid_until: date
    child_view: str | None = None
    # Added later, so older consents read with these empty: the words shown to the citizen
    # when they consented, and their SHA-256 (hex), so the text can be shown to match.
    text: str = ""
    text_sha256: str = ""


@catalogue
class ConsentWithdrawn(CaseEvent):
    """A consent withdrawn whole, or (added later) for some recipients or categories only:
    the rest of the consent stays in force."""

    TOPIC = "consent.withdrawn"
    DEFAULT_CATEGORIES = ()
    consent_id: str
    reason: str = ""
    from_recipients: tuple[str, ...] = ()
    from_categories: tuple[str, ...] = ()


@catalogue
class SharedOnLegalBasis(CaseEvent):
    """A disclosure without consent, under serviceloven § 49 a, retsplejeloven § 115 or
    forvaltningsloven § 28. It covers what was recorded up to the moment of sharing."""

    TOPIC = "share.legal-basis"
    DEFAULT_CATEGORIES = ()
    share_id: str
    basis: str
    recipients: tuple[str, ...]
    share_categories: tuple[str, ...]
    reason: str
    meeting_id: str | None = None
    purpose: str = "prevention"


@catalogue
class ChildAtRiskReported(CaseEvent):
    """An underretning: everyone who works with children must notify the municipality of
    a child at risk (barnets lov § 133), a drop-in worker or a housing-social worker as
    much as a teacher. It is not a share on a legal basis: it discloses what it says to
    the receiving authority only, and it is listed in the auditor's exceptions report."""

    TOPIC = "child.reported"
    DEFAULT_CATEGORIES = ()
    report_id: str
    child: str
    to_department: str
    reason: str


@catalogue
class ErasureRequested(CaseEvent):
    TOPIC = "erasure.requested"
    DEFAULT_CATEGORIES = ()
    request_id: str
    requested_by: str
    reason: str = ""


@catalogue
class ErasureDecided(CaseEvent):
    TOPIC = "erasure.decided"
    DEFAULT_CATEGORIES = ()
    request_id: str
    granted: bool
    legal_basis: str
    reason: str = ""


# --- the work -------------------------------------------------------------------------


@catalogue
class ContactRecorded(CaseEvent):
    TOPIC = "contact.recorded"
    DEFAULT_CATEGORIES = ("contact",)
    contact_id: str
    kind: str
    place: str = ""
    participants: tuple[str, ...] = ()
    challenges: tuple[str, ...] = ()
    ongoing: bool = True
    note: str = ""


@catalogue
class ContactsTallied(CaseEvent):
    """An anonymous tally: how many contacts a centre had on one day, per challenge.

    Names no person; it lives in a case of kind `tally`, so the monitoring reports can
    count the contacts of those who never registered."""

    TOPIC = "contacts.tallied"
    DEFAULT_CATEGORIES = ("contact",)
    day: date
    counts: MappingProxyType[str, int] = field(default_factory=lambda: MappingProxyType({}))
    kind: str = "drop-in"


@catalogue
class CaseLinked(CaseEvent):
    """A pseudonymous case's history linked to this (identified) case, by the person's
    consent: the departments the consent names see what it covers of that history."""

    TOPIC = "case.linked"
    DEFAULT_CATEGORIES = ("contact",)
    link_id: str
    linked_case: str
    linked_person: str
    person_id: str
    consent_id: str


@catalogue
class MeetingHeld(CaseEvent):
    TOPIC = "meeting.held"
    meeting_id: str
    kind: str
    participants: tuple[str, ...] = ()  # departments taking part
    chair: str = ""
    minute_taker: str = ""
    minutes: str = ""
    # Added later, so older meetings read with these empty.
    present: tuple[str, ...] = ()  # persons of the case present (the citizen, the young person)
    companions: tuple[str, ...] = ()  # the adults a person brings (their own words: names or roles)
    experts: tuple[str, ...] = ()  # outside experts taking part
    checklist: tuple[str, ...] = ()  # items of MEETING_CHECKLIST gone through


@catalogue
class AssessmentRecorded(CaseEvent):
    TOPIC = "assessment.recorded"
    DEFAULT_CATEGORIES = ("family",)
    development: str
    parenting_capacity: str
    family_environment: str
    summary: str


@catalogue
class GoalAdded(CaseEvent):
    TOPIC = "goal.added"
    goal_id: str
    text: str
    owner: str
    parent_goal: str | None = None
    due: date | None = None
    set_by_citizen: bool = False
    phase: str = ""  # "aftercare": a goal of the plan after 18 (added later; older goals read "")


@catalogue
class GoalRevised(CaseEvent):
    TOPIC = "goal.revised"
    goal_id: str
    text: str
    base_revision: int
    due: date | None = None


@catalogue
class GoalClosed(CaseEvent):
    TOPIC = "goal.closed"
    goal_id: str
    reason: str = ""


@catalogue
class ActivityAdded(CaseEvent):
    TOPIC = "activity.added"
    activity_id: str
    goal_id: str
    activity_department: str
    kind: str
    starts: date | None = None
    ends: date | None = None


@catalogue
class ActivityStarted(CaseEvent):
    TOPIC = "activity.started"
    activity_id: str
    on: date | None = None


@catalogue
class ActivityEnded(CaseEvent):
    TOPIC = "activity.ended"
    activity_id: str
    on: date | None = None


@catalogue
class ProgressRecorded(CaseEvent):
    TOPIC = "progress.recorded"
    goal_id: str
    score: int
    note: str = ""


@catalogue
class ReferralMade(CaseEvent):
    TOPIC = "referral.made"
    referral_id: str
    from_department: str
    to_department: str
    reason: str


@catalogue
class ReferralOutcome(CaseEvent):
    TOPIC = "referral.outcome"
    referral_id: str
    arrived: bool
    note: str = ""


@catalogue
class DecisionMade(CaseEvent):
    TOPIC = "decision.made"
    DEFAULT_CATEGORIES = ("decision",)
    decision_id: str
    legal_basis: str
    legal_area: str
    kind: str
    considerations: str
    facts: tuple[str, ...]
    explanation: str
    amount: int | None = None  # in øre
    effective_from: date | None = None
    effective_to: date | None = None
    appeal_deadline: date | None = None


@catalogue
class FinancingAgreed(CaseEvent):
    TOPIC = "financing.agreed"
    DEFAULT_CATEGORIES = ("finances",)
    activity_id: str
    shares: MappingProxyType[str, int] = field(default_factory=lambda: MappingProxyType({}))
    granted_by: str = ""
    paid_by: str = ""


@catalogue
class ConflictFlagged(CaseEvent):
    """Added by the server when concurrent events clash under a domain rule."""

    TOPIC = "conflict.flagged"
    conflict_id: str
    rule: str
    events: tuple[str, ...]
    description: str = ""


@catalogue
class ConflictResolved(CaseEvent):
    TOPIC = "conflict.resolved"
    conflict_id: str
    resolution: str


@catalogue
class ClashFlagged(CaseEvent):
    """A worker's flag that two parts of the work (goals, activities, decisions) pull
    against each other: not the sync clash of `conflict.flagged`, which only the server
    records."""

    TOPIC = "clash.flagged"
    clash_id: str
    items: tuple[str, ...]  # two goal, activity or decision ids
    reason: str


@catalogue
class ClashResolved(CaseEvent):
    TOPIC = "clash.resolved"
    clash_id: str
    resolution: str


@catalogue
class AftercareStarted(CaseEvent):
    """The aftercare phase (efterværn) of a young person who has turned 18: from here the
    plan has goals of its own phase, until the date it ends."""

    TOPIC = "aftercare.started"
    person: str
    until: date
    legal_basis: str = "barnets lov § 114"
    reason: str = ""


#: A date as Danes write it: day, month and a four-digit year, with - . or / between.
DANISH_DATE = re.compile(r"(\d{1,2})[-./](\d{1,2})[-./](\d{4})")


def parse_date(text: str, what: str = "date") -> date:
    """A date written YYYY-MM-DD or as Danes write it (01-06-2027, 1.6.2027), or
    InvalidInput saying which field was wrong."""
    danish = DANISH_DATE.fullmatch(text.strip()) if isinstance(text, str) else None
    try:
        if danish:
            return date(int(danish[3]), int(danish[2]), int(danish[1]))
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise InvalidInput(f"{what} must be a date written YYYY-MM-DD or DD-MM-YYYY") from None
