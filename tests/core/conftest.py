"""Factories for the core tests: a case with persons of given ages, recorded by workers.

`CaseBuilder` records through `core.recording.record` (rules first, then sealing) with a
clock that ticks one minute per event, so every test sees the same dates. `rejected`
asserts that a command raises the expected domain error with a message that says what is
wrong, and that the case state is unchanged. `push` signs the sealed events per device
and appends them to a `CaseLog`, as a laptop's sync would.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core import events as ev
from core.case import CaseState
from core.departments import Directory
from core.errors import CoreError
from core.keys import CaseKey, DeviceKeys
from core.log import CaseLog, Receipt
from core.recording import Author, record
from core.sealing import SealedEvent
from core.signing import sign_batch

TODAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
E = TypeVar("E", bound=ev.CaseEvent)
DIRECTORY = Directory.default()


class Clock:
    """Device time that moves one minute per reading, from a fixed morning."""

    def __init__(self, start: datetime = TODAY) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


def born(age: int, on: date = TODAY.date()) -> date:
    """A birth date that makes a person `age` years old on `on` (born a month earlier)."""
    month = on.month - 1 or 12
    year = on.year - age - (1 if on.month == 1 else 0)
    return date(year, month, min(on.day, 28))


def worker(department: str, role: str = "caseworker", name: str | None = None) -> Author:
    """A worker of `department` on their own laptop."""
    who = name or f"w-{department}"
    return Author(who, role, department, f"laptop-{department}")


class CaseBuilder:
    """One case being recorded: its state, key, sealed events and the persons by label."""

    def __init__(self, directory: Directory = DIRECTORY, clock: Clock | None = None) -> None:
        self.case_id = ev.new_id()
        self.state = CaseState(self.case_id)
        self.key = CaseKey.generate(self.case_id)
        self.directory = directory
        self.clock = clock or Clock()
        self.events: list[ev.CaseEvent] = []
        self.sealed: list[SealedEvent] = []
        self.persons: dict[str, str] = {}
        self.lead = "children-family"

    def rec(self, cls: type[E], author: Author | None = None, **fields: Any) -> E:
        """Record an event (by the lead department's caseworker unless told otherwise)."""
        event, sealed = record(
            self.state,
            self.key,
            self.directory,
            cls,
            author or worker(self.lead),
            clock=self.clock,
            **fields,
        )
        assert isinstance(event, cls)
        self.events.append(event)
        self.sealed.append(sealed)
        return event

    def open(self, kind: str = "family", lead: str = "children-family") -> CaseBuilder:
        self.lead = lead
        self.rec(ev.CaseOpened, kind=kind, lead_department=lead, reason="intake")
        return self

    def person(self, label: str, role: str, age: int | None, **fields: Any) -> str:
        pid = ev.new_id()
        fields.setdefault("name", f"Person {label}")
        self.rec(
            ev.PersonAdded,
            person_id=pid,
            role=role,
            birth_date=None if age is None or "cpr" in fields else born(age),  # a CPR number carries its own
            persons=(pid,),
            **fields,
        )
        self.persons[label] = pid
        return pid

    def join(self, *departments: str) -> None:
        for d in departments:
            self.rec(ev.TeamMemberJoined, member_department=d)

    def contact(self, author: Author | None = None, person: str = "mother", **fields: Any) -> ev.ContactRecorded:
        fields.setdefault("kind", "home-visit")
        fields.setdefault("note", "talked about the week")
        return self.rec(
            ev.ContactRecorded,
            author,
            contact_id=ev.new_id(),
            persons=(self.persons[person],),
            **fields,
        )

    def consent(
        self,
        subject: str,
        given_by: Sequence[str],
        recipients: Sequence[str],
        categories: Sequence[str],
        author: Author | None = None,
        **fields: Any,
    ) -> ev.ConsentGiven:
        fields.setdefault("purpose", "coordinating the family's shared plan")
        fields.setdefault("valid_until", TODAY.date() + timedelta(days=180))
        return self.rec(
            ev.ConsentGiven,
            author,
            consent_id=ev.new_id(),
            subject=self.persons[subject],
            given_by=tuple(self.persons[g] for g in given_by),
            recipients=tuple(recipients),
            consent_categories=tuple(categories),
            persons=(self.persons[subject],),
            **fields,
        )


def family(ages: Mapping[str, tuple[str, int | None]] | None = None, **kw: Any) -> CaseBuilder:
    """An open family case led by children & family, with persons by label: (role, age)."""
    b = CaseBuilder(**kw).open()
    for label, (role, age) in (ages or {"mother": ("parent", 38), "father": ("parent", 41)}).items():
        b.person(label, role, age)
    return b


@pytest.fixture
def make_case() -> Callable[..., CaseBuilder]:
    """`make_case({"mother": ("parent", 38), "girl": ("child", 12)})` -> an open family case."""
    return family


def rejected(
    b: CaseBuilder,
    error: type[CoreError],
    message: str,
    cls: type[ev.CaseEvent],
    author: Author | None = None,
    **fields: Any,
) -> CoreError:
    """Assert that recording raises `error` whose message matches `message`, and that the
    case state is unchanged (nothing was recorded)."""
    before = copy.deepcopy(b.state)
    count = len(b.events)
    with pytest.raises(error, match=re.escape(message)) as info:
        b.rec(cls, author, **fields)
    assert b.state == before
    assert len(b.events) == count
    assert type(info.value) is error, f"expected {error.__name__}, got {type(info.value).__name__}"
    return info.value


# --- appending to a log, as a device's push would ---------------------------------------


class Devices:
    """Laptops with their signing keys, enrolled on a log on first use."""

    def __init__(self) -> None:
        self.keys: dict[str, DeviceKeys] = {}
        self._batch = 0

    def key(self, device_id: str) -> DeviceKeys:
        if device_id not in self.keys:
            self.keys[device_id] = DeviceKeys.generate()
        return self.keys[device_id]

    def enroll(self, log: CaseLog, device_id: str) -> Ed25519PrivateKey:
        k = self.key(device_id)
        if log.device(device_id) is None:
            log.register_device(device_id, f"worker-of-{device_id}", k.signing_public, k.agreement_public)
        return k.signing

    def push(self, log: CaseLog, sealed: Sequence[SealedEvent], keys: Sequence[CaseKey] = ()) -> list[Receipt]:
        """Append events in runs of the same device, each run one signed batch."""
        receipts: list[Receipt] = []
        run: list[SealedEvent] = []
        new_keys = list(keys)

        def flush() -> None:
            if not run:
                return
            device_id = run[0].header.device
            signing = self.enroll(log, device_id)
            self._batch += 1
            seal = sign_batch(signing, f"batch-{ev.new_id()}", device_id, [s.digest for s in run])
            receipts.extend(log.append(list(run), seal, new_keys))
            new_keys.clear()
            run.clear()

        for s in sealed:
            if run and run[0].header.device != s.header.device:
                flush()
            run.append(s)
        flush()
        return receipts

    def push_case(self, log: CaseLog, b: CaseBuilder) -> list[Receipt]:
        return self.push(log, b.sealed, [b.key])


@pytest.fixture
def devices() -> Iterator[Devices]:
    yield Devices()
