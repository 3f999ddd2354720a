"""Property: what a laptop holds after a sync is its department's view, and nothing more.

For random cases, consents (given, withdrawn, expired by moving the server's clock),
legal-basis shares, team joins and leaves and assignments, three field laptops of
different departments sync against the real server app (in-process over
`httpx.ASGITransport`, real SQLite, real crypto). After a final sync each laptop holds,
per case in its worker's caseload, exactly what `core.visibility.department_view` gives
its department at the server's moment plus its worker's own events, whole and byte for
byte as the server stores them; every other event is a placeholder whose chain links
check from genesis; no case outside the caseload; and the raw store files hold the
ciphertext of no event the laptop may not hold whole (so what a withdrawn or expired
consent covered is gone from the disk).
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from client.laptop import Laptop
from client.store import LaptopStore
from client.sync import Syncer, enroll_laptop
from core import events as ev
from core.case import fold
from core.chain import genesis, next_link
from core.errors import TovholderError
from core.visibility import department_view
from tests.client.conftest import FAST_SCRYPT, PASSPHRASE, Server

LEAD = "adult-social"
FIELD = {"w-job": "jobcenter", "w-health": "health", "w-drop": "drop-in"}
AUTHORITIES = ("jobcenter", "health")
CATEGORIES = ("identity", "contact", "health", "finances", "employment")
WORKERS = tuple(FIELD)
DEPARTMENT = {**FIELD, "w-lead": LEAD}


async def _no_sleep(seconds: float) -> None:
    return None


@dataclass
class Municipality:
    """One server, the lead department's office laptop and the field laptops."""

    server: Server
    office: Laptop
    laptops: dict[str, Laptop]
    cases: list[tuple[str, str]] = field(default_factory=list)  # (case, citizen)
    consents: list[tuple[int, str]] = field(default_factory=list)  # (case index, consent id)
    moved: timedelta = timedelta()

    def sync(self, laptop: Laptop) -> None:
        asyncio.run(Syncer(laptop, transport=self.server.transport, sleep=_no_sleep).sync())

    def now(self) -> datetime:
        return ev.utcnow() + self.moved


def _enroll(server: Server, folder: Path, worker: str, department: str) -> Laptop:
    code = server.worker(worker, department)
    asyncio.run(
        enroll_laptop(
            folder, "https://tovholder.test", code, PASSPHRASE, transport=server.transport, scrypt_n=FAST_SCRYPT
        )
    )
    return Laptop(LaptopStore.open(folder, PASSPHRASE))


def _open_case(town: Municipality, team: set[str], notes: list[tuple[str, ...]], consent: tuple[str, ...]) -> None:
    """A citizen case led by the office, with a team, notes and a consent to every team
    department for `consent`'s categories, assigned to every field worker (the caseload
    holds it only for those whose department is a party)."""
    office = town.office
    case = office.open_case("citizen", LEAD).case_id
    citizen = ev.new_id()
    office.record(case, ev.PersonAdded, person_id=citizen, role="citizen", name="Ali Berg", persons=(citizen,))
    for department in sorted(team):
        office.record(case, ev.TeamMemberJoined, member_department=department)
    for cats in notes:
        office.record(case, ev.ContactRecorded, contact_id=ev.new_id(), kind="phone", persons=(citizen,),
                      categories=cats, note="samtale")  # fmt: skip
    town.cases.append((case, citizen))
    for department in sorted(team):
        _office_step(town, ("consent", len(town.cases) - 1, department, consent, 60))
    town.sync(office)
    for worker in FIELD:
        town.server.ctx.caseload.assign(case, worker)


categories = st.sets(st.sampled_from(CATEGORIES), min_size=1, max_size=2).map(lambda s: tuple(sorted(s)))
case_index = st.integers(0, 1)
step = st.one_of(
    st.tuples(st.just("note"), case_index, st.sampled_from(("office", *WORKERS)), categories),
    st.tuples(st.just("consent"), case_index, st.sampled_from(tuple(FIELD.values())), categories, st.integers(1, 60)),
    st.tuples(st.just("withdraw"), st.integers(0, 7)),
    st.tuples(st.just("share"), case_index, st.sampled_from(AUTHORITIES), categories),
    st.tuples(st.just("join"), case_index, st.sampled_from(tuple(FIELD.values()))),
    st.tuples(st.just("leave"), case_index, st.sampled_from(tuple(FIELD.values()))),
    st.tuples(st.just("assign"), case_index, st.sampled_from(WORKERS)),
    st.tuples(st.just("unassign"), case_index, st.sampled_from(WORKERS)),
    st.tuples(st.just("clock"), st.integers(1, 90)),
    st.tuples(st.just("sync"), st.sampled_from(WORKERS)),
)


def _office_step(town: Municipality, op: tuple[Any, ...]) -> None:
    """One thing the lead department records on its office laptop (then pushed)."""
    kind = op[0]
    case, citizen = town.cases[op[1] % len(town.cases)] if kind != "withdraw" else ("", "")
    if kind == "consent":
        until = date.today() + timedelta(days=op[4])
        consent = town.office.record(
            case, ev.ConsentGiven, consent_id=ev.new_id(), subject=citizen, given_by=(citizen,),
            recipients=(op[2],), consent_categories=op[3], purpose="a joint plan", valid_until=until,
            persons=(citizen,),
        )  # fmt: skip
        town.consents.append((op[1] % len(town.cases), consent.consent_id))
    elif kind == "withdraw" and town.consents:
        index, consent_id = town.consents.pop(op[1] % len(town.consents))
        case, citizen = town.cases[index]
        town.office.record(case, ev.ConsentWithdrawn, consent_id=consent_id, reason="withdrawn", persons=(citizen,))
    elif kind == "share":
        town.office.record(
            case, ev.SharedOnLegalBasis, share_id=ev.new_id(), basis="forvaltningsloven-28", recipients=(op[2],),
            share_categories=op[3], reason="of substantial importance to the decision", persons=(citizen,),
        )  # fmt: skip
    elif kind == "join":
        town.office.record(case, ev.TeamMemberJoined, member_department=op[2])
    elif kind == "leave":
        town.office.record(case, ev.TeamMemberLeft, member_department=op[2])
    elif kind == "note":
        town.office.record(case, ev.ContactRecorded, contact_id=ev.new_id(), kind="phone", persons=(citizen,),
                           categories=op[3], note="samtale")  # fmt: skip
    town.sync(town.office)


def _field_note(town: Municipality, worker: str, case: str, citizen: str, cats: tuple[str, ...]) -> None:
    """A field worker records a contact on a case they hold, and pushes it."""
    laptop = town.laptops[worker]
    town.sync(laptop)
    if case not in laptop.store.held_cases():
        return
    laptop.record(case, ev.ContactRecorded, contact_id=ev.new_id(), kind="street-outreach", persons=(citizen,),
                  categories=cats, note="mødt på gaden")  # fmt: skip
    town.sync(laptop)


def _play(town: Municipality, op: tuple[Any, ...]) -> None:
    kind = op[0]
    try:
        if kind == "clock":
            town.moved += timedelta(days=op[1])
        elif kind == "sync":
            town.sync(town.laptops[op[1]])
        elif kind in ("assign", "unassign"):
            case = town.cases[op[1] % len(town.cases)][0]
            getattr(town.server.ctx.caseload, kind)(case, op[2])
        elif kind == "note" and op[2] != "office":
            case, citizen = town.cases[op[1] % len(town.cases)]
            _field_note(town, op[2], case, citizen, op[3])
        else:
            _office_step(town, op)
    except TovholderError:
        # A step the rules refuse (leaving a team one is not in, a second join ...) is
        # refused on the laptop and changes nothing; the worker moves on.
        return


def _expected(town: Municipality, worker: str) -> dict[str, set[int]]:
    """Per case the worker's laptop should hold: the sequences it should hold whole."""
    ctx, department, at = town.server.ctx, DEPARTMENT[worker], town.now()
    assigned = set(ctx.caseload.assigned(worker))
    expected: dict[str, set[int]] = {}
    for case, _ in town.cases:
        events = [ctx.log.open(le) for le in ctx.log.case_events(case)]
        state = fold(case, events)
        opener = events[0].header.author == worker
        if not (case in assigned or opener) or not state.is_party(department):
            continue
        seen = department_view(state, events, department, ctx.store.directory(), at) or []
        own = {seq for seq, e in enumerate(events, 1) if e.header.author == worker}
        expected[case] = {s.seq for s in seen} | own
    return expected


def _withdrawn_cover(town: Municipality, case: str, department: str) -> set[int]:
    """The sequences of the case that a withdrawn consent to `department` covered."""
    events = [town.server.ctx.log.open(le) for le in town.server.ctx.log.case_events(case)]
    state = fold(case, events)
    gone = [c for c in state.consents.values() if c.withdrawn_at is not None and department in c.recipients]
    return {
        seq
        for seq, e in enumerate(events, 1)
        for c in gone
        if e.categories and set(e.categories) <= set(c.categories) and c.subject in e.persons
    }


def _check(town: Municipality, worker: str, folder: Path) -> None:
    laptop, ctx = town.laptops.get(worker, town.office), town.server.ctx
    expected = _expected(town, worker)
    assert set(laptop.store.held_cases()) == set(expected)
    raw = b"".join(p.read_bytes() for p in (folder / "laptop.db", folder / "laptop.db-wal") if p.exists())
    for case, whole in expected.items():
        server = ctx.log.case_events(case)
        held = laptop.store.confirmed(case)
        assert [c.seq for c in held] == [le.seq for le in server]
        assert {c.seq for c in held if not c.placeholder} == whole
        link = genesis(case)
        for c, le in zip(held, server, strict=True):
            link = next_link(link, c.seq, c.chained)
            assert c.link == link == le.link
            if c.placeholder:
                assert le.sealed.raw not in raw
            else:
                assert c.sealed == le.sealed.raw
        # What a withdrawn consent covered is held whole only on other grounds now.
        withdrawn = _withdrawn_cover(town, case, DEPARTMENT[worker]) - whole
        assert all(c.placeholder for c in held if c.seq in withdrawn)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    teams=st.lists(st.sets(st.sampled_from(tuple(FIELD.values())), min_size=1), min_size=1, max_size=2),
    notes=st.lists(categories, min_size=1, max_size=4),
    consent=st.sets(st.sampled_from(CATEGORIES), min_size=2, max_size=4).map(lambda s: tuple(sorted(s))),
    steps=st.lists(step, min_size=4, max_size=14),
)
def test_a_laptop_holds_its_departments_view_and_its_workers_own_after_any_history(
    teams: list[set[str]], notes: list[tuple[str, ...]], consent: tuple[str, ...], steps: list[tuple[Any, ...]]
) -> None:
    with tempfile.TemporaryDirectory(prefix="tovholder-share-") as tmp:
        root = Path(tmp)
        server = Server(root / "server")
        office = _enroll(server, root / "office", "w-lead", LEAD)
        field_laptops = {w: _enroll(server, root / w, w, d) for w, d in FIELD.items()}
        town = Municipality(server, office, field_laptops)
        server.ctx.log.clock = town.now  # consents expire as the server's clock moves on
        try:
            for team in teams:
                _open_case(town, team, notes, consent)
            for laptop in field_laptops.values():
                town.sync(laptop)  # each holds what the consents let it see, then history moves on
            for op in steps:
                _play(town, op)
            town.sync(office)  # the lead's laptop holds its own cases whole, judged from headers alone
            _check(town, "w-lead", root / "office")
            for worker, laptop in field_laptops.items():
                town.sync(laptop)
                _check(town, worker, root / worker)
        finally:
            for laptop in (office, *field_laptops.values()):
                laptop.close()
            server.ctx.close()
