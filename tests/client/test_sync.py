"""The sync loop against the real server endpoints, in-process over httpx.ASGITransport.

The app is the server's own (`server.app.create_app`), so what is tested is the real
enrollment, push and pull code. Faults are injected at the transport (a dropped
connection, a lost answer), never inside our own parts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from client.errors import DeviceRefused, ServerUnreachable
from client.laptop import Laptop
from client.store import LaptopStore
from client.sync import Backoff, Syncer
from core import events as ev
from core.errors import KeyNotHeld

from .conftest import PASSPHRASE, Flaky, Server


async def no_sleep(seconds: float) -> None:
    return None


def sync(laptop: Laptop, server: Server, **kw: Any) -> Any:
    syncer = Syncer(laptop, transport=server.transport, sleep=no_sleep, **kw)
    return asyncio.run(syncer.sync())


def test_offline_work_is_pushed_once_and_comes_back_confirmed(server: Server, enrolled: Callable[..., Laptop]) -> None:
    laptop = enrolled("anna", "jobcenter")
    case = laptop.open_case("citizen", "jobcenter").case_id
    person = ev.new_id()
    laptop.record(case, ev.PersonAdded, person_id=person, role="citizen", name="Ali Berg", persons=(person,))
    for _ in range(5):
        laptop.record(case, ev.ContactRecorded, contact_id=ev.new_id(), kind="drop-in", persons=(person,))
    report = sync(laptop, server, batch_size=3, page_size=2)
    assert report.pushed == 7 and not report.rejected
    assert laptop.store.outbox(statuses=("pending", "sent", "rejected")) == []
    view = laptop.view(case)
    assert view.confirmed_seq == 7 and view.pending == []
    server_copy = [(le.seq, le.sealed.raw, le.link) for le in server.ctx.log.case_events(case)]
    assert [(c.seq, c.sealed, c.link) for c in laptop.store.confirmed(case)] == server_copy

    # A second sync pushes nothing and changes nothing.
    again = sync(laptop, server)
    assert again.pushed == 0 and again.pulled == 0


class Overtaking(Flaky):
    """Reports each body as written at once, as a socket does, so the laptop sends its next
    batch while the server works; and holds the first push back, so that the second
    batch reaches the server first."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        trace = request.extensions.get("trace")
        if trace is not None:
            await trace("http11.send_request_body.complete", {})
        if request.url.path == "/v1/sync/push":
            self.count += 1
            self.paths.append(f"push {self.count} sent")
            if self.count == 1:
                await asyncio.sleep(0.3)
        return await self.inner.handle_async_request(request)


def test_batches_on_the_way_at_once_are_judged_in_the_laptops_order(
    server: Server, enrolled: Callable[..., Laptop]
) -> None:
    laptop = enrolled("anna", "jobcenter")
    case = laptop.open_case("citizen", "jobcenter").case_id  # its key travels in batch 1
    recorded = [laptop.store.outbox(case)[0].event_id]
    for _ in range(6):
        recorded.append(laptop.record(case, ev.ContactRecorded, contact_id=ev.new_id(), kind="drop-in").event_id)
    wire = Overtaking(server.transport.inner)
    report = asyncio.run(Syncer(laptop, transport=wire, sleep=no_sleep, batch_size=3).sync())
    assert wire.paths[:2] == ["push 1 sent", "push 2 sent"]  # both on the way at once
    assert report.pushed == 7 and not report.rejected
    assert [le.sealed.event_id for le in server.ctx.log.case_events(case)] == recorded
    assert laptop.view(case).confirmed_seq == 7


def test_a_dropped_line_is_retried_and_a_resent_batch_is_stored_once(
    server: Server, enrolled: Callable[..., Laptop]
) -> None:
    laptop = enrolled("anna", "jobcenter")
    case = laptop.open_case("citizen", "jobcenter").case_id
    server.transport.count = 0
    server.transport.fail_on = {1, 2}
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    asyncio.run(Syncer(laptop, transport=server.transport, sleep=sleep).sync())
    assert slept == [0.5, 1.0]
    assert len(server.ctx.log.case_events(case)) == 1

    # The answer to a push is lost after the server stored it: the retry is a duplicate.
    laptop.record(case, ev.ContactRecorded, contact_id=ev.new_id(), kind="phone")
    pending = laptop.store.outbox(case)[0]

    class LoseAnswer(Flaky):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await self.inner.handle_async_request(request)
            self.count += 1
            if self.count == 1:
                raise httpx.ReadError("connection reset after sending", request=request)
            return response

    report = asyncio.run(Syncer(laptop, transport=LoseAnswer(server.transport), sleep=no_sleep).sync())
    assert report.duplicates == 1
    assert [le.sealed.event_id for le in server.ctx.log.case_events(case)].count(pending.event_id) == 1
    assert laptop.view(case).confirmed_seq == 2


def test_a_sync_cut_off_mid_pull_resumes_and_ends_identical(server: Server, enrolled: Callable[..., Laptop]) -> None:
    anna = enrolled("anna", "jobcenter")
    case = anna.open_case("citizen", "jobcenter").case_id
    for _ in range(20):
        anna.record(case, ev.ContactRecorded, contact_id=ev.new_id(), kind="drop-in")
    sync(anna, server)
    bo = enrolled("bo", "jobcenter")
    server.ctx.caseload.assign(case, "w-bo")
    server.transport.count = 0
    server.transport.fail_on = {4}
    with pytest.raises(ServerUnreachable):
        sync(bo, server, page_size=3, backoff=Backoff(attempts=1))
    cursor = bo.store.meta("cursor")
    assert 0 < bo.store.count_confirmed() < 21 and cursor > 0
    server.transport.fail_on = set()
    sync(bo, server, page_size=3)
    server_copy = [(le.seq, le.sealed.raw, le.link) for le in server.ctx.log.case_events(case)]
    assert [(c.seq, c.sealed, c.link) for c in bo.store.confirmed(case)] == server_copy
    assert bo.view(case).confirmed_seq == 21


def test_a_revoked_device_is_refused_and_keeps_its_outbox(server: Server, enrolled: Callable[..., Laptop]) -> None:
    anna = enrolled("anna", "jobcenter")
    case = anna.open_case("citizen", "jobcenter").case_id
    sync(anna, server)
    anna.record(case, ev.ContactRecorded, contact_id=ev.new_id(), kind="drop-in")
    server.ctx.log.revoke_device(anna.device_id)
    with pytest.raises(DeviceRefused, match="revoked"):
        sync(anna, server)
    assert len(anna.store.outbox(case, statuses=("pending",))) == 1


def test_offline_session_converges_and_the_goal_clash_is_flagged(
    server: Server, enrolled: Callable[..., Laptop]
) -> None:
    office = enrolled("office", "jobcenter", "coordinator")
    case = office.open_case("citizen", "jobcenter").case_id
    person = ev.new_id()
    office.record(case, ev.PersonAdded, person_id=person, role="citizen", name="Ali Berg", persons=(person,))
    office.record(case, ev.TeamMemberJoined, member_department="benefits")
    # Benefits holds what the citizen's consent lets it see (the rest are placeholders).
    office.record(
        case,
        ev.ConsentGiven,
        consent_id=ev.new_id(),
        subject=person,
        given_by=(person,),
        recipients=("benefits",),
        consent_categories=("identity", "plan", "contact", "decision"),
        purpose="a joint job and housing plan",
        valid_until=date.today() + timedelta(days=300),
    )
    goal = ev.new_id()
    office.record(case, ev.GoalAdded, goal_id=goal, text="A job", owner="jobcenter", persons=(person,))
    sync(office, server)
    field = [enrolled("a", "jobcenter"), enrolled("b", "benefits"), enrolled("c", "jobcenter")]
    for laptop in field:
        server.ctx.caseload.assign(case, laptop.author.worker)
        sync(laptop, server)
    a, b, c = field
    for laptop in field:
        for _ in range(2):
            laptop.record(case, ev.ContactRecorded, contact_id=ev.new_id(), kind="drop-in", persons=(person,))
    a.record(
        case,
        ev.ReferralMade,
        referral_id=ev.new_id(),
        from_department="jobcenter",
        to_department="addiction",
        reason="asks for help with alcohol",
        persons=(person,),
    )
    fact = b.view(case).pending[-1]
    b.record_decision(
        case,
        "aktivloven § 81",
        kind="one-off-payment",
        considerations="rent",
        facts=(fact,),
        explanation="You get help with the rent.",
        amount=450000,
        persons=(person,),
    )
    c.record(
        case,
        ev.GoalAdded,
        goal_id=ev.new_id(),
        text="Stay housed",
        owner="jobcenter",
        parent_goal=goal,
        persons=(person,),
    )
    c.revise_goal(case, goal, "A part-time job")
    office.revise_goal(case, goal, "A job with support")
    sync(office, server)
    reports = [sync(laptop, server) for laptop in field]
    assert sum(r.pushed for r in reports) == 10 and not any(r.rejected for r in reports)
    assert len(reports[2].conflicts) == 1
    for laptop in [office, *field]:
        sync(laptop, server)
    server_copy = [(le.seq, le.sealed.digest, le.link) for le in server.ctx.log.case_events(case)]
    assert len(server_copy) == 5 + 10 + 1 + 1  # office, field, revision, conflict
    for laptop in [office, *field]:
        # Every laptop holds the whole chain; what it may not see, as placeholders only.
        assert [(x.seq, x.chained, x.link) for x in laptop.store.confirmed(case)] == server_copy
        view = laptop.view(case)
        assert view.pending == [] and view.state.goals[goal].revision == 3
        # The goal clash is between jobcenter's revisions: benefits is not told of it.
        involved = laptop.author.department == "jobcenter"
        assert list(view.state.conflicts.values()) == ([False] if involved else [])


def test_an_unassigned_case_disappears_with_its_key(server: Server, enrolled: Callable[..., Laptop]) -> None:
    anna = enrolled("anna", "jobcenter")
    case = anna.open_case("citizen", "jobcenter").case_id
    sync(anna, server)
    bo = enrolled("bo", "jobcenter")
    server.ctx.caseload.assign(case, "w-bo")
    assert sync(bo, server).granted == [case]
    assert bo.view(case).confirmed_seq == 1
    server.ctx.caseload.unassign(case, "w-bo")
    assert sync(bo, server).dropped == [case]
    assert bo.store.held_cases() == [] and bo.store.count_confirmed() == 0
    with pytest.raises(KeyNotHeld):
        bo.view(case)


def test_a_laptop_at_the_head_reports_a_granted_case_once_though_the_grant_comes_again(
    server: Server, enrolled: Callable[..., Laptop]
) -> None:
    anna = enrolled("anna", "jobcenter")
    case = anna.open_case("citizen", "jobcenter").case_id
    sync(anna, server)
    bo = enrolled("bo", "jobcenter")
    sync(bo, server)  # at the head: the case comes by back-fill, the cursor does not move
    server.ctx.caseload.assign(case, "w-bo")
    assert sync(bo, server).granted == [case]
    # The server cannot know the answer was applied until the cursor passes it, so it
    # sends the grant again; the laptop holds the key already and reports nothing new.
    again = sync(bo, server)
    assert again.granted == [] and again.pulled == 0
    assert sync(bo, server).granted == []
    assert list(bo.store.case_keys(case)) == [server.ctx.log.case_key(case).key_id]


def test_departments_added_on_the_server_reach_laptops_at_enrollment_and_sync(
    server: Server, enrolled: Callable[..., Laptop], tmp_path: Path
) -> None:
    from core.departments import Department
    from core.errors import RuleViolation

    server.ctx.store.add_department(Department("night-shelter", "Natvarmestue", authority=False))
    laptop = enrolled("anna", "jobcenter")
    assert not laptop.directory.is_authority("night-shelter")
    assert "night-shelter" in laptop.directory
    case = laptop.open_case("citizen", "jobcenter").case_id
    with pytest.raises(RuleViolation, match="unknown department"):
        laptop.record(case, ev.TeamMemberJoined, member_department="street-team")

    server.ctx.store.add_department(Department("street-team", "Gadeteam"))
    sync(laptop, server)
    laptop.record(case, ev.TeamMemberJoined, member_department="street-team")
    reopened = Laptop(LaptopStore.open(tmp_path / "anna", PASSPHRASE))
    try:
        assert "street-team" in reopened.directory  # kept in the store for offline use
    finally:
        reopened.close()
