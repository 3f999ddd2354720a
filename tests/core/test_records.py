"""An event, once made, is a value: its fields are fixed, compared and hashed as a whole.

The event classes are frozen records (`core.records`), built without per-class generated
code for a quick start-up; these tests hold them to what a frozen dataclass promised.
"""

from __future__ import annotations

import copy
import pickle
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, ClassVar, get_type_hints

import pytest

from core import events as ev
from core.records import FrozenInstanceError, Record, field

MOMENT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def header(event_id: str = "e-1", topic: str = "contact.recorded") -> ev.Header:
    return ev.Header(event_id, "c-1", topic, 1, "w-1", "outreach", "jobcenter", "dev-1", MOMENT, MOMENT, 0, "k-1")


def contact(**fields: Any) -> ev.ContactRecorded:
    return ev.ContactRecorded(header(), **{"contact_id": "ct-1", "kind": "phone", **fields})


def test_an_event_cannot_be_changed_or_lose_a_field() -> None:
    event = contact(note="a note")
    with pytest.raises(FrozenInstanceError):
        event.note = "another note"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del event.note
    with pytest.raises(FrozenInstanceError):
        event.extra = 1
    assert event.note == "a note"


def test_events_with_the_same_fields_are_equal_and_hash_alike() -> None:
    assert contact(note="x") == contact(note="x")
    assert hash(contact(note="x")) == hash(contact(note="x"))
    assert contact(note="x") != contact(note="y")
    assert len({contact(note="x"), contact(note="x"), contact(note="y")}) == 2


def test_events_of_different_kinds_are_never_equal() -> None:
    closed = ev.CaseClosed(header(topic="case.closed"), reason="")
    reopened = ev.CaseReopened(header(topic="case.reopened"), reason="")
    assert closed != reopened
    assert closed != ("not", "an", "event")


def test_an_event_is_made_only_of_its_own_fields() -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'note_text'"):
        ev.ContactRecorded(header(), contact_id="ct-1", kind="phone", note_text="x")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="missing required argument 'kind'"):
        ev.ContactRecorded(header(), contact_id="ct-1")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="positional"):
        ev.ContactRecorded(header(), "ct-1", kind="phone")  # type: ignore[call-arg, arg-type]
    with pytest.raises(TypeError, match="multiple values for argument 'header'"):
        ev.ContactRecorded(header(), header=header(), contact_id="ct-1", kind="phone")  # type: ignore[misc]


def test_an_event_takes_the_defaults_its_class_declares() -> None:
    event = contact()
    assert (event.place, event.participants, event.ongoing, event.persons, event.categories) == ("", (), True, (), ())
    financing = ev.FinancingAgreed(header(topic="financing.agreed"), activity_id="a-1")
    assert financing.shares == MappingProxyType({})
    assert ev.FinancingAgreed(header(topic="financing.agreed"), activity_id="a-2").shares is not financing.shares


def test_every_event_class_has_the_fields_its_annotations_declare_in_order() -> None:
    for cls in ev.all_event_classes():
        hints = get_type_hints(cls)
        declared = [name for name in hints if getattr(hints[name], "__origin__", None) is not ClassVar]
        assert [spec.name for spec in cls._fields] == declared, cls.TOPIC
        assert cls.__match_args__ == ("header",)


def test_an_event_survives_copying_and_pickling_unchanged() -> None:
    event = contact(note="a note", participants=("p-1",))
    assert copy.deepcopy(event) == event
    assert pickle.loads(pickle.dumps(event)) == event


def test_an_event_read_back_from_its_payload_equals_the_one_recorded() -> None:
    event = contact(note="a note", participants=("p-1",))
    assert ev.ContactRecorded.from_payload(event.header, event.payload()) == event


def test_a_payload_never_shows_its_fields_in_its_repr() -> None:
    made = ev.payload(ev.ContactRecorded, contact_id="ct-1", kind="phone", note="Jens Hansen 010203-1234")
    assert "Jens" not in repr(made) and "0102" not in repr(made)
    assert "ContactRecorded" in repr(made)


def test_a_record_class_with_a_shared_mutable_default_is_refused() -> None:
    with pytest.raises(ValueError, match="mutable default list for field tags"):

        class Tagged(Record):
            tags: list[str] = []  # noqa: RUF012 (the mistake under test)


def test_a_mutable_record_compares_by_value_and_cannot_be_a_set_member() -> None:
    class Tally(Record, frozen=False, kw_only=False):
        name: str
        scores: list[int] = field(default_factory=list)

    first, second = Tally("a"), Tally("a")
    first.scores.append(1)
    assert first != second and first.scores is not second.scores
    second.scores = [1]
    assert first == second
    with pytest.raises(TypeError, match="unhashable"):
        hash(first)
