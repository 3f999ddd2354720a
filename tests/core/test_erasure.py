"""Rules 7 and 10: erasure is decided (one decision per request, with its legal basis),
and done by destroying the case key: the case cannot be read, the log stays verifiable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from core import events as ev
from core.errors import CaseErased, RuleViolation, UnknownReference
from core.log import CaseLog
from core.sealing import open_sealed
from core.verify import verify
from tests.core.conftest import Devices, family, rejected, worker

MakeLog = Callable[..., CaseLog]


def test_an_erasure_request_gets_one_decision_with_its_legal_basis() -> None:
    b = family()
    b.rec(ev.ErasureRequested, request_id="r1", requested_by="citizen")
    rejected(
        b,
        RuleViolation,
        "erasure request r1 already exists",
        ev.ErasureRequested,
        request_id="r1",
        requested_by="citizen",
    )
    rejected(
        b,
        RuleViolation,
        "an erasure decision states its legal basis",
        ev.ErasureDecided,
        request_id="r1",
        granted=False,
        legal_basis=" ",
    )
    rejected(
        b,
        UnknownReference,
        "erasure request r2 is not part of the case",
        ev.ErasureDecided,
        request_id="r2",
        granted=True,
        legal_basis="GDPR art. 17",
    )
    b.rec(ev.ErasureDecided, request_id="r1", granted=False, legal_basis="arkivloven § 4")
    assert b.state.erasure_requests["r1"][1] is False
    rejected(
        b,
        RuleViolation,
        "erasure request r1 was already decided",
        ev.ErasureDecided,
        request_id="r1",
        granted=True,
        legal_basis="GDPR art. 17",
    )


def test_a_destroyed_key_makes_only_that_case_unreadable(make_log: MakeLog, devices: Devices) -> None:
    log = make_log()
    cases = [family() for _ in range(3)]
    for b in cases:
        devices.push_case(log, b)
    gone = cases[1]
    log.destroy_key(gone.case_id)
    assert log.erased(gone.case_id)
    for le in log.case_events(gone.case_id):
        with pytest.raises(CaseErased, match=f"case {gone.case_id} was erased"):
            log.open(le)
    for b in (cases[0], cases[2]):
        assert [log.open(le) for le in log.case_events(b.case_id)] == b.events
    # A fresh server process (no cached keys) cannot read it either.
    fresh = make_log(log.kek)
    with pytest.raises(CaseErased):
        fresh.case_key(gone.case_id)
    with pytest.raises(CaseErased, match="its key is not held or was destroyed"):
        open_sealed(gone.sealed[1], None)
    report = verify(fresh)
    assert report.ok, report.problems
    assert report.events == sum(len(b.sealed) for b in cases)


def test_the_wrapped_key_is_gone_from_the_database(make_log: MakeLog, devices: Devices) -> None:
    log = make_log()
    b = family()
    devices.push_case(log, b)
    t: Any = log.tables  # the key table by name, as an attacker reading the database would
    (wrapped_before,) = log.recorder.run(f"SELECT wrapped FROM {t.keys} WHERE case_id={t.p}", (b.case_id,))[0]
    assert wrapped_before is not None
    log.destroy_key(b.case_id)
    rows = log.recorder.run(f"SELECT wrapped, destroyed_at FROM {t.keys} WHERE case_id={t.p}", (b.case_id,))
    assert rows[0][0] is None and rows[0][1] is not None


def test_the_erased_header_is_recorded_after_key_destruction(make_log: MakeLog, devices: Devices) -> None:
    from core.recording import make_event
    from core.sealing import seal
    from tests.core.conftest import worker

    log = make_log()
    b = family()
    devices.push_case(log, b)
    log.destroy_key(b.case_id)
    server = worker("children-family", role="server", name="server")
    erased = make_event(ev.CaseErased, b.case_id, b.key.key_id, server, b.state.seq, clock=b.clock)
    devices.push(log, [seal(erased, None)])
    last = log.case_events(b.case_id)[-1]
    assert isinstance(log.open(last), ev.CaseErased)
    assert verify(log).ok


def test_only_a_caseworker_or_coordinator_of_the_lead_department_grants_an_erasure() -> None:
    b = family()
    b.join("jobcenter")
    b.rec(ev.ErasureRequested, request_id="r1", requested_by="citizen")
    grant: dict[str, Any] = {"request_id": "r1", "granted": True, "legal_basis": "GDPR art. 17"}
    for author, who in (
        (worker("children-family", role="outreach"), "role outreach in children-family"),
        (worker("jobcenter"), "role caseworker in jobcenter"),
    ):
        error = rejected(
            b,
            RuleViolation,
            "only a caseworker or coordinator of the lead department",
            ev.ErasureDecided,
            author,
            **grant,
        )
        assert "(children-family)" in str(error) and who in str(error)
    # A refusal keeps the case as it is: any party's worker may record one.
    b.rec(ev.ErasureRequested, request_id="r2", requested_by="citizen")
    b.rec(
        ev.ErasureDecided,
        worker("children-family", role="outreach"),
        request_id="r2",
        granted=False,
        legal_basis="arkivloven § 4",
    )
    b.rec(ev.ErasureDecided, worker("children-family", role="coordinator"), **grant)
    assert b.state.erasure_requests["r1"][1] is True
