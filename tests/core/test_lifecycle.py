"""A case starts with `case opened`; a closed case takes only reopening, erasure and
audit events; an erased case takes nothing; persons are added once, with sane details."""

from __future__ import annotations

from core import events as ev
from core.errors import InvalidInput, RuleViolation, UnknownReference
from tests.core.conftest import CaseBuilder, family, rejected, worker


def test_nothing_is_recorded_before_the_case_is_opened() -> None:
    b = CaseBuilder()
    rejected(
        b,
        UnknownReference,
        f"case {b.case_id} has not been opened",
        ev.ContactRecorded,
        contact_id="c",
        kind="phone",
    )
    b.open()
    assert b.state.status == "open"
    assert b.state.lead == "children-family"
    assert b.state.is_party("children-family")


def test_a_case_is_opened_once_with_a_known_kind_and_lead() -> None:
    b = CaseBuilder().open()
    rejected(
        b,
        RuleViolation,
        f"case {b.case_id} is already open",
        ev.CaseOpened,
        kind="family",
        lead_department="children-family",
    )
    rejected(
        CaseBuilder(),
        InvalidInput,
        "a case is of kind citizen or family",
        ev.CaseOpened,
        kind="household",
        lead_department="children-family",
    )
    rejected(
        CaseBuilder(),
        RuleViolation,
        "unknown department 'police'",
        ev.CaseOpened,
        kind="family",
        lead_department="police",
    )


def test_a_closed_case_takes_nothing_but_reopening() -> None:
    b = family()
    rejected(b, RuleViolation, f"case {b.case_id} is not closed", ev.CaseReopened)
    b.rec(ev.CaseClosed, reason="goals reached")
    assert b.state.status == "closed"
    assert b.state.closed_at is not None
    rejected(
        b,
        RuleViolation,
        f"case {b.case_id} is closed; reopen it before recording",
        ev.ContactRecorded,
        contact_id="c",
        kind="phone",
    )
    rejected(b, RuleViolation, f"case {b.case_id} is closed", ev.CaseClosed)
    b.rec(ev.ErasureRequested, request_id="r1", requested_by="citizen")
    b.rec(ev.CaseReopened, reason="new concern")
    assert b.state.status == "open"
    assert b.state.closed_at is None
    b.contact(kind="phone")


def test_an_erased_case_takes_nothing_more() -> None:
    b = family()
    server = worker("children-family", role="server", name="server")
    b.rec(ev.CaseErased, server)
    assert b.state.status == "erased"
    rejected(
        b,
        RuleViolation,
        f"case {b.case_id} was erased; nothing more can be recorded",
        ev.CaseReopened,
    )


def test_erasure_and_conflict_flags_are_the_servers_own() -> None:
    b = family()
    rejected(b, RuleViolation, "case.erased is recorded by the server only", ev.CaseErased)
    rejected(
        b,
        RuleViolation,
        "conflict.flagged is recorded by the server only",
        ev.ConflictFlagged,
        conflict_id="x",
        rule="r",
        events=(),
    )


def test_persons_are_added_once_with_a_role_and_a_name() -> None:
    b = family({"mother": ("parent", 38)})
    pid = b.persons["mother"]
    rejected(
        b,
        RuleViolation,
        f"person {pid} is already part of case",
        ev.PersonAdded,
        person_id=pid,
        role="parent",
        name="Again",
    )
    rejected(
        b,
        InvalidInput,
        "a person's role is one of citizen",
        ev.PersonAdded,
        person_id="p2",
        role="uncle",
        name="X",
    )
    rejected(
        b,
        InvalidInput,
        "a person needs a name",
        ev.PersonAdded,
        person_id="p2",
        role="child",
        name="  ",
    )
    rejected(
        b,
        InvalidInput,
        "a CPR number is ten digits, DDMMYY-SSSS",
        ev.PersonAdded,
        person_id="p2",
        role="child",
        name="X",
        cpr="12345",
    )
    rejected(
        b,
        InvalidInput,
        "a CPR number starts with a valid date of birth",
        ev.PersonAdded,
        person_id="p2",
        role="child",
        name="X",
        cpr="321399-1234",
    )
    b.rec(ev.PersonAdded, person_id="p2", role="child", name="X", cpr="010115-1234")


def test_a_citizen_case_has_one_citizen() -> None:
    b = CaseBuilder().open(kind="citizen", lead="jobcenter")
    b.person("anna", "citizen", 30)
    rejected(
        b,
        RuleViolation,
        "a citizen case has one citizen; open a family case for several",
        ev.PersonAdded,
        person_id="p2",
        role="citizen",
        name="B",
    )


def test_a_correction_is_a_new_event_and_keeps_the_history() -> None:
    b = family({"mother": ("parent", 38)})
    pid = b.persons["mother"]
    b.rec(ev.PersonCorrected, person_id=pid, name="Corrected Name", persons=(pid,))
    assert b.state.persons[pid].name == "Corrected Name"
    added = [e for e in b.events if isinstance(e, ev.PersonAdded)]
    assert added[0].name == "Person mother"  # the original event is untouched
    rejected(
        b,
        UnknownReference,
        "person ghost is not part of case",
        ev.PersonCorrected,
        person_id="ghost",
        name="X",
    )
    rejected(b, InvalidInput, "a person's role is one of", ev.PersonCorrected, person_id=pid, role="boss")


def test_events_name_only_persons_of_the_case() -> None:
    b = family()
    rejected(
        b,
        UnknownReference,
        "person ghost is not part of case",
        ev.ContactRecorded,
        contact_id="c",
        kind="phone",
        persons=("ghost",),
    )


def test_unknown_categories_are_refused() -> None:
    b = family()
    rejected(
        b,
        InvalidInput,
        "unknown information categories rumours",
        ev.ContactRecorded,
        contact_id="c",
        kind="phone",
        categories=("contact", "rumours"),
    )


def test_a_transfer_moves_the_lead() -> None:
    b = family()
    rejected(
        b,
        RuleViolation,
        "the case is led by children-family, not jobcenter",
        ev.CaseTransferred,
        from_department="jobcenter",
        to_department="adult-social",
    )
    rejected(
        b,
        RuleViolation,
        "a case is transferred to another department",
        ev.CaseTransferred,
        from_department="children-family",
        to_department="children-family",
    )
    b.rec(
        ev.CaseTransferred,
        from_department="children-family",
        to_department="adult-social",
        reason="18",
    )
    assert b.state.lead == "adult-social"
    assert b.state.is_party("adult-social")
