"""Rule 10 at push: a granted erasure is accepted only from a caseworker or coordinator of
the case's lead department, even when a laptop skipped its own check."""

from __future__ import annotations

from core import events as ev
from core.recording import make_event
from core.sealing import seal
from tests.sync.conftest import Laptop, World


def _decide(laptop: Laptop, case_id: str, request_id: str) -> ev.CaseEvent:
    state, key = laptop.cases[case_id]
    # Built without the laptop's rules, as a tampered or outdated laptop would send it.
    return make_event(
        ev.ErasureDecided,
        case_id,
        key.key_id,
        laptop.author,
        state.seq,
        request_id=request_id,
        granted=True,
        legal_basis="GDPR art. 17",
    )


def test_an_outreach_workers_grant_is_rejected_and_a_caseworkers_accepted(world: World) -> None:
    outreach = world.laptop("w-out", role="outreach")
    case_id, opened = outreach.open_case(lead="jobcenter")
    requested = outreach.record(case_id, ev.ErasureRequested, request_id="r1", requested_by="citizen")
    first = world.service.push(
        outreach.batch([opened, requested], (outreach.grant(case_id),)), outreach.device_id, outreach.worker
    )
    assert [r.status for r in first.results] == ["accepted", "accepted"]

    _, key = outreach.cases[case_id]
    grant = seal(_decide(outreach, case_id, "r1"), key)
    refused = world.service.push(outreach.batch([grant]), outreach.device_id, outreach.worker).results[0]
    assert refused.status == "rejected"
    assert "only a caseworker or coordinator of the lead department (jobcenter) may grant an erasure" in (
        refused.reason or ""
    )
    assert len(world.log.case_events(case_id)) == 2

    caseworker = world.laptop("w-case")
    world.hand(caseworker, case_id)
    granted = seal(_decide(caseworker, case_id, "r1"), key)
    answer = world.service.push(caseworker.batch([granted]), caseworker.device_id, caseworker.worker).results[0]
    assert answer.status == "accepted", answer.reason
