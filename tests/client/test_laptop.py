"""The laptop's store and bench, offline: recording, the pending-on-top view, secrecy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from client.errors import AlreadyEnrolled, NotEnrolled
from client.laptop import Laptop
from client.store import LaptopStore
from core import events as ev
from core.chain import genesis, next_link
from core.errors import CodecError, KeyNotHeld, RuleViolation, WrongPassphrase
from core.keys import DeviceKeys
from core.sealing import parse
from sync.pulled import PulledEvent

from .conftest import PASSPHRASE

NAME = "Zainab Haidari-Sørensen"
CPR = "120384-1233"
NOTE = "Sleeps at her sister's since the eviction; afraid of the landlord."


def open_citizen_case(laptop: Laptop) -> tuple[str, str]:
    opened = laptop.open_case("citizen", "jobcenter")
    person = ev.new_id()
    laptop.record(
        opened.case_id,
        ev.PersonAdded,
        person_id=person,
        role="citizen",
        name=NAME,
        cpr=CPR,
        persons=(person,),
    )
    return opened.case_id, person


def test_offline_recording_goes_to_the_outbox_and_shows_on_top(
    make_laptop: Callable[..., Laptop],
) -> None:
    laptop = make_laptop()
    case_id, person = open_citizen_case(laptop)
    goal = ev.new_id()
    laptop.record(
        case_id,
        ev.GoalAdded,
        goal_id=goal,
        text="Find a flat",
        owner="jobcenter",
        persons=(person,),
    )
    laptop.revise_goal(case_id, goal, "Find a flat near the school")
    laptop.record(
        case_id,
        ev.ContactRecorded,
        contact_id=ev.new_id(),
        kind="drop-in",
        note=NOTE,
        persons=(person,),
    )

    view = laptop.view(case_id)
    assert view.confirmed_seq == 0
    assert len(view.pending) == 5
    assert view.state.persons[person].name == NAME
    assert view.state.goals[goal].revision == 2
    assert [p.status for p in laptop.store.outbox(case_id)] == ["pending"] * 5
    # every pending event names the confirmed sequence its author had seen
    assert {parse(p.sealed).header.seen_seq for p in laptop.store.outbox(case_id)} == {0}


def test_rules_are_checked_before_anything_is_stored(make_laptop: Callable[..., Laptop]) -> None:
    laptop = make_laptop()
    case_id, _ = open_citizen_case(laptop)
    with pytest.raises(RuleViolation):
        laptop.record_decision(
            case_id,
            "serviceloven § 52",
            kind="grant",
            considerations="x",
            facts=(),
            explanation="y",
        )
    assert len(laptop.store.outbox(case_id)) == 2


def test_a_pulled_page_confirms_pending_events_and_moves_the_cursor(
    make_laptop: Callable[..., Laptop],
) -> None:
    laptop = make_laptop()
    case_id, person = open_citizen_case(laptop)
    pending = laptop.store.outbox(case_id)
    laptop.store.mark_sent([pending[0].event_id])
    link = genesis(case_id)
    page = []
    for seq, p in enumerate(pending[:1], start=1):
        link = next_link(link, seq, parse(p.sealed).digest)
        page.append(PulledEvent(10 + seq, seq, case_id, p.sealed, 0, link))
    assert laptop.store.apply_page(page, [], [], 11, 0).new == 1
    assert laptop.store.apply_page(page, [], [], 11, 0).new == 0  # a replayed page changes nothing

    view = laptop.view(case_id)
    assert view.confirmed_seq == 1
    assert len(view.pending) == 1
    assert view.state.persons[person].name == NAME
    assert laptop.store.meta("cursor") == 11


def test_a_page_overlapping_what_is_held_stores_each_event_once(make_laptop: Callable[..., Laptop]) -> None:
    laptop = make_laptop()
    case_id, _ = open_citizen_case(laptop)
    for _ in range(3):
        laptop.record(case_id, ev.ContactRecorded, contact_id=ev.new_id(), kind="drop-in", note=NOTE)
    pending = laptop.store.outbox(case_id)
    link, page = genesis(case_id), []
    for seq, p in enumerate(pending, start=1):
        link = next_link(link, seq, parse(p.sealed).digest)
        page.append(PulledEvent(10 + seq, seq, case_id, p.sealed, 0, link))
    assert laptop.store.apply_page(page[:2], [], [], 12, 0).new == 2
    # The next page repeats what is held, and one event twice (a retried answer).
    assert laptop.store.apply_page([page[3], *page[1:], page[2]], [], [], 15, 0).new == 3
    assert laptop.store.count_confirmed() == len(pending) == 5
    assert laptop.view(case_id).confirmed_seq == 5 and not laptop.store.outbox(case_id)
    # Held events before a page's first new one are where its chain continues from.
    broken = PulledEvent(16, 6, case_id, pending[0].sealed, 0, b"\1" * 32)
    with pytest.raises(CodecError):
        laptop.store.apply_page([page[4], broken], [], [], 16, 0)
    assert laptop.store.meta("cursor") == 15


def test_a_page_that_breaks_the_chain_is_refused_whole(make_laptop: Callable[..., Laptop]) -> None:
    laptop = make_laptop()
    case_id, _ = open_citizen_case(laptop)
    first = laptop.store.outbox(case_id)[0]
    with pytest.raises(CodecError):
        laptop.store.apply_page([PulledEvent(1, 1, case_id, first.sealed, 0, b"\0" * 32)], [], [], 1, 0)
    assert laptop.store.meta("cursor") == 0
    assert laptop.store.count_confirmed() == 0


def test_a_dropped_case_loses_its_events_and_key(make_laptop: Callable[..., Laptop]) -> None:
    laptop = make_laptop()
    case_id, _ = open_citizen_case(laptop)
    first = laptop.store.outbox(case_id)[0]
    link = next_link(genesis(case_id), 1, parse(first.sealed).digest)
    laptop.store.apply_page([PulledEvent(1, 1, case_id, first.sealed, 0, link)], [], [], 1, 0)
    laptop.store.apply_page([], [], [case_id], 2, 0)
    assert laptop.store.count_confirmed() == 0
    with pytest.raises(KeyNotHeld):
        laptop.view(case_id)


def test_wrong_passphrase_is_refused(make_laptop: Callable[..., Laptop], tmp_path: Path) -> None:
    make_laptop("a").close()
    with pytest.raises(WrongPassphrase, match="passphrase does not open"):
        LaptopStore.open(tmp_path / "a", "not the passphrase")
    with LaptopStore.open(tmp_path / "a", PASSPHRASE) as store:
        assert store.meta("worker") == "w-anna"


def test_a_folder_is_enrolled_once(make_laptop: Callable[..., Laptop], tmp_path: Path) -> None:
    make_laptop("a")
    with pytest.raises(AlreadyEnrolled):
        LaptopStore.create(tmp_path / "a", PASSPHRASE, DeviceKeys.generate(), {})
    with pytest.raises(NotEnrolled):
        LaptopStore.open(tmp_path / "nowhere", PASSPHRASE)


def test_the_store_on_disk_holds_no_name_cpr_or_note(make_laptop: Callable[..., Laptop], tmp_path: Path) -> None:
    laptop = make_laptop("a")
    case_id, person = open_citizen_case(laptop)
    laptop.record(
        case_id,
        ev.ContactRecorded,
        contact_id=ev.new_id(),
        kind="street-outreach",
        note=NOTE,
        persons=(person,),
    )
    assert laptop.view(case_id).state.persons[person].cpr == CPR
    raw = b"".join(p.read_bytes() for p in (tmp_path / "a").iterdir() if p.is_file())
    assert raw  # the db and its -wal are there
    for secret in (NAME, CPR, CPR.replace("-", ""), NOTE, "Sørensen", "eviction"):
        for encoding in ("utf-8", "utf-16-le"):
            assert secret.encode(encoding) not in raw, secret
    keys = laptop.store.device_keys.private_bytes()
    assert keys[:32] not in raw and keys[32:] not in raw
